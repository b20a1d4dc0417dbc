"""Binder: repo2docker accepts binder/, and binder/start gives the course a RabbitMQ of the
notebook user's own, or says why not and leaves the lessons on the embedded broker."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import NOT_INSTALLED
from helpers import eventually, unavailable

from course import proxy, rabbitmq

ROOT = Path(__file__).resolve().parent.parent
START = ROOT / "binder" / "start"
#: What the command after binder/start runs: the course on whatever broker it was given.
PROBE = """
import json, os
import course
from course import broker
conn = broker.connect()
conn.close()
lab = course.Lab()
described = {}
for lang in ("en", "fr"):
    course.set_language(lang)
    described[lang] = lab.describe()
lab.stop()
print(json.dumps({"env": {k: v for k, v in os.environ.items() if k.startswith("COURSE_")},
                  "user": os.getuid(), "described": described}))
"""


@dataclass
class User:
    """The notebook user: who runs binder/start (``prefix``), its HOME, and a Python it may
    run with the course and this environment's packages on ``pythonpath``."""

    prefix: list[str]
    home: Path
    python: str
    pythonpath: str

    def run(self, command: list[str], timeout: float = 90, **env: str):
        environment = {"HOME": str(self.home), "PATH": os.environ["PATH"],
                       "PYTHONPATH": self.pythonpath, "PYTHONDONTWRITEBYTECODE": "1",
                       "COURSE_PYTHON": self.python, **env}
        return subprocess.run(
            [*self.prefix, "env", "-i", *(f"{k}={v}" for k, v in environment.items()),
             *command], cwd=self.home, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def user():
    """Not root when the tests run as root (as in CI): ``nobody``, with a HOME it owns, as
    Binder's jovyan.  This environment's Python may sit where nobody cannot go (/root):
    then the system's Python of the same version, with this environment's packages."""
    home = Path(tempfile.mkdtemp(prefix="course-binder-home-"))  # not under pytest's 0700
    pythonpath = str(ROOT)
    prefix: list[str] = []
    python = sys.executable
    opened = []
    if os.getuid() == 0:
        opened = let_others_through(ROOT, Path(sysconfig.get_paths()["purelib"]),
                                    Path(sys.executable).resolve())
        nobody = pwd.getpwnam("nobody")
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        prefix = ["runuser", "-u", "nobody", "--"]
        if subprocess.run([*prefix, python, "-c", ""], capture_output=True).returncode:
            python = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
            pythonpath += os.pathsep + sysconfig.get_paths()["purelib"]
        if subprocess.run([*prefix, "env", f"PYTHONPATH={pythonpath}", python, "-c",
                           "import course"], capture_output=True).returncode:
            shutil.rmtree(home)
            restore(opened)
            unavailable(f"no Python with the course that user nobody may run (tried {python})")
    try:
        yield User(prefix, home, python, pythonpath)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        restore(opened)


def let_others_through(*paths: Path) -> list[tuple[Path, int]]:
    """Let other users traverse (x) the folders above ``paths`` that stop them, and list
    (r) the folders ``paths`` name, which Python's import system must read: a fresh clone
    may be the 0700 folder of ``mktemp -d`` itself.  :func:`restore` undoes it."""
    opened = []
    for path in paths:
        wanted = [(folder, stat.S_IXOTH) for folder in reversed(path.parents)]
        if path.is_dir():
            wanted.append((path, stat.S_IXOTH | stat.S_IROTH))
        for folder, bits in wanted:
            mode = folder.stat().st_mode
            if mode & bits != bits:
                folder.chmod(stat.S_IMODE(mode) | bits)
                opened.append((folder, mode))
    return opened


def restore(opened: list[tuple[Path, int]]) -> None:
    for folder, mode in reversed(opened):
        folder.chmod(stat.S_IMODE(mode))


def probe(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the image ---------------------------------------------------------------------------------


def test_repo2docker_accepts_the_repository():
    command = shutil.which("repo2docker") or shutil.which(
        "repo2docker", path=str(Path(sys.executable).parent))
    if command is None:
        unavailable("repo2docker is not installed: pip install -e '.[test]' "
                    "(or pip install jupyter-repo2docker)")
    result = subprocess.run([command, "--no-build", "--debug", str(ROOT)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    dockerfile = result.stdout + result.stderr
    assert "apt-get install --yes --no-install-recommends graphviz rabbitmq-server" in dockerfile
    assert 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile
    assert "./binder/postBuild" in dockerfile
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile


def test_binder_files():
    requirements = (ROOT / "binder" / "requirements.txt").read_text().split("\n")
    assert {"-e .", "jupyterlab-language-pack-fr-FR"} <= set(requirements)
    assert any(line.startswith("jupyter-server-proxy") for line in requirements)
    start = START.read_text().rstrip().splitlines()
    assert start[0] == "#!/bin/bash" and start[-1] == 'exec "$@"'
    assert "set -euo pipefail" in (ROOT / "binder" / "postBuild").read_text()
    for script in (START, ROOT / "binder" / "postBuild"):
        assert os.access(script, os.X_OK)
        listed = subprocess.run(["git", "ls-files", "-s", str(script)], cwd=ROOT,
                                capture_output=True, text=True)
        if listed.stdout:  # committed: with mode 755, as Binder needs
            assert listed.stdout.startswith("100755 "), listed.stdout


def test_postbuild_writes_jupyterlab_overrides(tmp_path):
    subprocess.run([str(ROOT / "binder" / "postBuild")], check=True, timeout=30,
                   env={**os.environ, "NB_PYTHON_PREFIX": str(tmp_path)})
    overrides = json.loads(
        (tmp_path / "share/jupyter/lab/settings/overrides.json").read_text())
    assert overrides["@jupyterlab/notebook-extension:tracker"] == {"autoStartDefaultKernel": True}
    assert overrides["@jupyterlab/apputils-extension:notification"] == {
        "fetchNews": "false", "checkForUpdates": False}
    assert overrides["@jupyterlab/extensionmanager-extension:plugin"] == {"enabled": False}


# -- binder/start ------------------------------------------------------------------------------


@pytest.mark.rabbitmq
def test_start_runs_a_node_as_the_notebook_user_and_the_course_uses_it(user):
    if rabbitmq.find_server() is None:
        unavailable(NOT_INSTALLED)
    base = user.home / ".rabbitmq"
    state = None
    try:
        seen = probe(user.run([str(START), user.python, "-c", PROBE]))
        env = seen["env"]
        assert env["COURSE_TRANSPORT_URL"].startswith("rabbit://guest:guest@127.0.0.1:")
        assert env["COURSE_MANAGEMENT_URL"].startswith("http://127.0.0.1:")
        assert "COURSE_BROKER_NOTICE" not in env
        assert seen["described"]["en"].startswith("Broker: RabbitMQ at rabbit://guest:****@")
        state = json.loads((base / rabbitmq.STATE_FILE).read_text())
        assert state["env"]["HOME"] == str(base)
        if user.prefix:  # the node runs as the notebook user, not as root
            assert seen["user"] != 0
            assert os.stat(f"/proc/{state['pid']}").st_uid == seen["user"]
        node = rabbitmq.RabbitMQNode.attach(base)
        assert node is not None  # still running after the command ended
    finally:
        stopped = user.run([user.python, "-m", "course.rabbitmq", "stop", "--base", str(base)])
    assert stopped.returncode == 0, stopped.stderr
    assert state is not None
    assert eventually(lambda: rabbitmq._Detached(state["pid"]).poll() is not None, 10)
    assert not base.exists()


def test_without_rabbitmq_start_still_runs_the_command_and_says_why(user):
    started = time.monotonic()
    seen = probe(user.run([str(START), user.python, "-c", PROBE], COURSE_RABBITMQ_DIRS=""))
    assert time.monotonic() - started < 20  # no waiting for a broker that cannot come
    env = seen["env"]
    assert "COURSE_TRANSPORT_URL" not in env and "COURSE_MANAGEMENT_URL" not in env
    assert env["COURSE_BROKER_NOTICE"] == "RabbitMQ is not installed in this environment."
    assert seen["described"] == {
        "en": "Broker: the embedded broker, inside this Python process.\n\n"
              "No RabbitMQ in this session: RabbitMQ is not installed in this environment. "
              "The lessons use the embedded broker instead.",
        "fr": "Courtier\u00a0: le courtier intégré, dans ce processus Python.\n\n"
              "Pas de RabbitMQ dans cette session\u00a0: RabbitMQ n’est pas installé dans cet "
              "environnement. Les leçons utilisent le courtier intégré à la place.",
    }


def test_a_start_command_that_fails_still_runs_the_command(user):
    result = user.run([str(START), "sh", "-c", 'echo "notice=$COURSE_BROKER_NOTICE"'],
                      COURSE_PYTHON="false")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "notice=RabbitMQ could not be started.\n"
    assert "the lessons use the embedded broker" in result.stderr


def test_the_lab_shows_the_notice_only_on_the_embedded_broker(monkeypatch, french):
    import course

    monkeypatch.setenv("COURSE_BROKER_NOTICE", "RabbitMQ did not start in time.")
    monkeypatch.delenv("COURSE_TRANSPORT_URL", raising=False)
    with course.Lab() as lab:
        assert lab.describe().endswith(
            "Pas de RabbitMQ dans cette session\u00a0: RabbitMQ n’a pas démarré à temps. "
            "Les leçons utilisent le courtier intégré à la place.")
    monkeypatch.delenv("COURSE_BROKER_NOTICE")
    with course.Lab() as lab:
        assert "RabbitMQ" not in lab.describe()


# -- the management UI in JupyterLab -------------------------------------------------------------


def test_the_proxy_entry(monkeypatch):
    monkeypatch.setenv("COURSE_TRANSPORT_URL", "rabbit://guest:guest@127.0.0.1:5999/")
    monkeypatch.setenv("COURSE_MANAGEMENT_URL", "http://127.0.0.1:16001")
    entry = proxy.rabbitmq()
    assert entry["port"] == 16001 and entry["command"] == []
    assert entry["launcher_entry"] == {"enabled": True, "title": "RabbitMQ"}
    assert entry["request_headers_override"] == {"Authorization": "Basic Z3Vlc3Q6Z3Vlc3Q="}
    monkeypatch.delenv("COURSE_MANAGEMENT_URL")  # no node: no launcher entry
    assert proxy.rabbitmq()["launcher_entry"]["enabled"] is False
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'rabbitmq = "course.proxy:rabbitmq"' in pyproject


def test_the_binder_badges_open_lesson_00_of_each_language():
    """The README's Binder links open JupyterLab (labpath) on lessons that exist."""
    import re
    from urllib.parse import parse_qs, urlparse

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = dict(re.findall(r"^\[(binder-\w\w)\]: (\S+)$", readme, flags=re.M))
    assert set(links) == {"binder-en", "binder-fr"}
    for name, link in links.items():
        url = urlparse(link)
        assert url.netloc == "mybinder.org" and url.path.startswith("/v2/gh/")
        labpath = parse_qs(url.query)["labpath"][0]
        assert labpath == f"notebooks/{name[-2:]}/00-welcome.ipynb"
        assert (ROOT / labpath).is_file()
