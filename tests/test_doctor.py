"""``python -m course doctor``: every check passes here, and each can fail, said plainly."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import course.doctor
from course import rabbitmq
from course.__main__ import main
from course.doctor import checks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def embedded_by_default(monkeypatch):
    monkeypatch.delenv("COURSE_TRANSPORT_URL", raising=False)
    monkeypatch.delenv("COURSE_MANAGEMENT_URL", raising=False)
    monkeypatch.delenv("COURSE_LANG", raising=False)


def lines(out: str, mark: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.strip().startswith(mark)]


def test_this_machine_is_ready_on_the_embedded_broker(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "✔ Broker embedded://: the embedded broker, inside this process" in out
    assert f"✔ Python {sys.version_info.major}.{sys.version_info.minor}" in out
    for package in ("kombu", "babel", "jupyterlab", "markdown-it-py"):
        assert any(line.startswith(f"✔ {package} ") for line in out.splitlines()), package
    assert "✔ Notebooks: built and translated" in out
    assert not lines(out, "✘")


def test_a_missing_dot_is_a_warning_with_the_apt_hint(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "! Graphviz `dot`: not on PATH: diagrams fall back to text (ASCII)" in out
    fixes = out.partition("What to fix:")[2]
    assert "! Graphviz `dot`: `apt-get install graphviz`" in fixes


def test_an_unreachable_broker_is_missing_quickly_and_masked(capsys):
    url = f"rabbit://u:secret@127.0.0.1:{rabbitmq.free_port()}/"
    started = time.monotonic()
    assert main(["doctor", "--transport-url", url]) == 1
    assert time.monotonic() - started < 5
    out = capsys.readouterr().out
    assert "secret" not in out
    (broker,) = [line for line in lines(out, "✘") if "Broker" in line and "refused" in line]
    assert broker.startswith("✘ Broker rabbit://u:****@127.0.0.1:")
    assert "start RabbitMQ or correct the transport_url" in out.partition("What to fix:")[2]
    assert "management API" not in out  # nothing to ask a broker that does not answer


def test_the_environment_names_the_broker(capsys, monkeypatch):
    monkeypatch.setenv("COURSE_TRANSPORT_URL",
                       f"rabbit://u:secret@127.0.0.1:{rabbitmq.free_port()}/")
    assert main(["doctor"]) == 1
    assert "✘ Broker rabbit://u:****@" in capsys.readouterr().out
    assert main(["doctor", "--transport-url", "embedded://"]) == 0


@pytest.mark.rabbitmq
def test_a_real_rabbitmq_shows_its_version_and_management_api(rabbitmq_node, capsys,
                                                              monkeypatch):
    monkeypatch.setenv("COURSE_MANAGEMENT_URL", rabbitmq_node.management_url)
    version = rabbitmq_node.api("GET", "/api/overview")["rabbitmq_version"]
    assert main(["doctor", "--transport-url", rabbitmq_node.url]) == 0
    out = capsys.readouterr().out
    assert f"✔ Broker rabbit://guest:****@127.0.0.1:{rabbitmq_node.amqp_port}/: " \
           f"RabbitMQ {version}" in out
    assert f"✔ RabbitMQ management API: {rabbitmq_node.management_url}" in out
    assert rabbitmq_node.password not in out.replace("guest:****", "")


@pytest.mark.rabbitmq
def test_an_unreachable_management_api_is_a_warning(rabbitmq_node, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_MANAGEMENT_URL", f"http://127.0.0.1:{rabbitmq.free_port()}")
    assert main(["doctor", "--transport-url", rabbitmq_node.url]) == 0
    out = capsys.readouterr().out
    assert lines(out, "! RabbitMQ management API: ")
    assert "`rabbitmq-plugins enable rabbitmq_management`" in out.partition("What to fix:")[2]


def test_french_output(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["doctor", "--lang", "fr"]) == 0
    out = capsys.readouterr().out
    assert "✔ Courtier embedded://\u00a0: le courtier intégré, dans ce processus" in out
    assert "! Graphviz `dot`\u00a0: absent du PATH" in out
    assert "À corriger\u00a0:" in out
    for english in ("What to fix", "Broker", "the course needs", "not on PATH"):
        assert english not in out


def test_stale_notebooks_in_a_copy_of_the_repository(tmp_path):
    root = tmp_path / "repo"
    for folder in ("notebooks", "locales"):
        shutil.copytree(ROOT / folder, root / folder)
    readme = root / "notebooks" / "fr" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nRetouché à la main.\n",
                      encoding="utf-8")
    report = course.doctor.run(root=root)
    (found,) = [c for c in report.checks if c.what == "Notebooks"]
    assert found.status == checks.WARNING
    assert "notebooks/fr/README.md" in found.detail
    assert "! Notebooks: `make notebooks`" in report.text().partition("What to fix:")[2]
    assert report.exit_status == 0


def test_without_gettext_the_notebooks_cannot_be_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    found = checks.notebooks(ROOT)
    assert (found.status, found.fix) == (checks.WARNING, "`apt-get install gettext`")


def test_an_installed_wheel_has_no_notebooks_to_check(tmp_path):
    assert checks.notebooks(tmp_path) == checks.Check("Notebooks", checks.OK,
                                                      "not a source checkout")


def test_an_old_python_is_missing():
    found = checks.python_version("3.9.18", ">=3.10")
    assert (found.what, found.status) == ("Python 3.9.18", checks.MISSING)
    assert "`make lab`" in found.fix


def test_a_package_missing_or_too_old_is_missing():
    modules = checks._modules_of_distributions()
    absent = checks._package("no-such-course-package", ">=1", modules)
    assert (absent.status, absent.fix) == (checks.MISSING,
                                           "`pip install 'no-such-course-package>=1'`")
    old = checks._package("kombu", ">=999", modules)
    assert old.status == checks.MISSING and old.detail == "the course needs >=999"
    assert checks._package("kombu", ">=5.3", modules).status == checks.OK


def test_a_package_that_fails_to_import_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    found = checks._package("tqdm", ">=4.66", checks._modules_of_distributions())
    assert found.status == checks.MISSING and "`import tqdm` fails" in found.detail


def test_the_course_not_installed_is_missing():
    (found,) = checks.packages("no-such-course-distribution")
    assert found.status == checks.MISSING and "`pip install -e .`" in found.fix


@pytest.mark.parametrize("with_packaging", [True, False])
def test_versions_compare_with_or_without_packaging(monkeypatch, with_packaging):
    if not with_packaging:
        monkeypatch.setitem(sys.modules, "packaging.specifiers", None)
    cases = {("5.4.2", ">=5.3"): True, ("5.2.9", ">=5.3"): False, ("8.1.9", ">=8"): True,
             ("3.10.0", ">=3.10"): True, ("3.9.18", ">=3.10"): False,
             ("4.66.0", ">=4.66,<5"): True, ("5.0", ">=4.66,<5"): False,
             ("1.2.3", "==1.2.*" if with_packaging else "==1.2"): True, ("2.0", ""): True}
    assert {case: checks.satisfies(*case) for case in cases} == cases


def test_the_language_pack_either_way(monkeypatch):
    monkeypatch.setattr(checks, "LANGUAGE_PACK", "no_such_language_pack")
    monkeypatch.setattr(checks.metadata, "entry_points", lambda group: [])
    missing = checks.language_pack()
    assert missing.status == checks.WARNING
    assert missing.fix == "`pip install jupyterlab-language-pack-fr-FR`"
    monkeypatch.setattr(checks, "LANGUAGE_PACK", "json")  # any importable module
    assert checks.language_pack().status == checks.OK


def test_in_a_notebook_the_report_is_html_and_text(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    bundle = course.doctor.run(lang="fr")._repr_mimebundle_()
    assert "<table class='course-doctor'>" in bundle["text/html"]
    assert "<code>apt-get install graphviz</code>" in bundle["text/html"]
    assert "À corriger" in bundle["text/plain"]  # the language of the run, shown later


def test_the_exit_status_counts_missing_only():
    ok, warning, missing = (checks.Check("x", status, "") for status in
                            (checks.OK, checks.WARNING, checks.MISSING))
    assert checks.exit_status([ok, warning]) == 0
    assert checks.exit_status([ok, warning, missing]) == 1


def test_a_lesson_can_leave_the_notebooks_build_out():
    from course import doctor

    assert len(doctor.run(notebooks=False).checks) == len(doctor.run().checks) - 1


def test_jupyterlab_and_nbformat_are_found_not_imported():
    """Lesson 00 runs the doctor in a kernel, which imports neither (they would cost
    seconds): they are located instead, and missing when they cannot be."""
    code = ("import sys; from course.doctor import checks; found = checks.packages(); "
            "print(sorted(set(sys.modules) & {'jupyterlab', 'nbformat'}), "
            "[c.status for c in found if c.what.split()[0] in ('jupyterlab', 'nbformat')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out == "[] ['ok', 'ok']\n"


def test_a_server_side_package_that_cannot_be_found_is_missing(monkeypatch):
    monkeypatch.setattr(checks.importlib.util, "find_spec", lambda name: None)
    found = checks._package("jupyterlab", ">=4", checks._modules_of_distributions())
    assert found.status == checks.MISSING and "`import jupyterlab` fails" in found.detail
