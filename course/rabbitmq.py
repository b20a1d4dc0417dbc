"""A private RabbitMQ node: started in a folder of its own, on loopback, on free ports.

Tests, the benchmark and Binder use it to run a real broker without root and
without touching any system-wide RabbitMQ: every file the node writes (data,
logs, Erlang cookie) lives in its own folder, and its Erlang port mapper
(``epmd``) listens on a private port too, so stopping the node leaves nothing
behind.  Nothing listens on any address but 127.0.0.1.

    with RabbitMQNode.start() as node:
        conn = course.broker.connect(node.url)

Binder's ``binder/start`` runs one for the whole session, as the notebook user, through
the command line (the node keeps running after the command returns)::

    eval "$(python -m course.rabbitmq start --base "$HOME/.rabbitmq")"   # export lines
    python -m course.rabbitmq stop --base "$HOME/.rabbitmq"

``start`` prints shell ``export`` lines for ``COURSE_TRANSPORT_URL`` and
``COURSE_MANAGEMENT_URL``; when no node starts it prints one for ``COURSE_BROKER_NOTICE``
instead (a one-line reason, which ``course.Lab().describe()`` shows translated) and
exits with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from base64 import b64encode
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from . import broker
from .errors import CourseError
from .i18n import N_, _, format_seconds, language

#: Where Debian and Ubuntu install the server scripts (``/usr/sbin`` only wraps them).
SERVER_DIRS = ("/usr/lib/rabbitmq/bin", "/usr/sbin", "/usr/local/sbin", "/opt/rabbitmq/sbin")

INSTALL_HINT = "apt-get install rabbitmq-server"

#: The variable ``start`` sets when no node started: why, in one line (a msgid of the catalog).
NOTICE_ENV_VAR = broker.NOTICE_ENV_VAR
#: Erlang's flags that make a node's distribution port listen on 127.0.0.1 only.
LOOPBACK_DISTRIBUTION = "-kernel inet_dist_use_interface {127,0,0,1}"
#: The file of a node's folder that tells ``stop`` (and a second ``start``) which node runs.
STATE_FILE = "node.json"
#: The variable :meth:`RabbitMQNode.exports` sets to the node's folder, where a lab finds the
#: node again to stop and start it (``course.outage``).
NODE_ENV_VAR = "COURSE_RABBITMQ_NODE"

NOT_INSTALLED = N_("RabbitMQ is not installed in this environment.")
STOPPED_WHILE_STARTING = N_("RabbitMQ stopped while starting.")
NOT_IN_TIME = N_("RabbitMQ did not start in time.")
#: What binder/start says when the command itself failed (it writes the same words).
COULD_NOT_START = N_("RabbitMQ could not be started.")


class RabbitMQUnavailable(CourseError):
    """The RabbitMQ server program is not installed, or the node did not start.

    ``reason``: the same in one short sentence without fields, for ``$COURSE_BROKER_NOTICE``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


#: Folders (separated by ``os.pathsep``) to search instead of SERVER_DIRS and $PATH: a
#: RabbitMQ installed elsewhere (conda-forge's), or none at all (an empty value).
DIRS_ENV_VAR = "COURSE_RABBITMQ_DIRS"


def find_server() -> Path | None:
    """The ``rabbitmq-server`` script, or None when RabbitMQ is not installed."""
    chosen = os.environ.get(DIRS_ENV_VAR)
    folders = SERVER_DIRS if chosen is None else [f for f in chosen.split(os.pathsep) if f]
    for folder in folders:
        path = Path(folder) / "rabbitmq-server"
        if path.is_file() and os.access(path, os.X_OK):
            return path
    if chosen is not None:
        return None
    found = shutil.which("rabbitmq-server")
    return Path(found) if found else None


def free_port() -> int:
    """A TCP port nobody listens on right now, on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RabbitMQNode:
    """A private node (:meth:`start` runs one); ``stop()`` (or leaving the ``with`` block)
    removes it, :meth:`halt` only stops it (``course.cluster`` starts it again)."""

    folder: Path
    amqp_port: int
    management_port: int
    env: dict[str, str] = field(repr=False)
    process: subprocess.Popen | _Detached | None = field(default=None, repr=False)
    user: str = "guest"
    password: str = field(default="guest", repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        """transport_url of the default vhost, as OpenStack would write it."""
        return f"rabbit://{self.user}:{self.password}@127.0.0.1:{self.amqp_port}/"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def vhost_url(self, vhost: str) -> str:
        path = quote(vhost, safe="")
        return f"rabbit://{self.user}:{self.password}@127.0.0.1:{self.amqp_port}/{path}"

    # -- starting and stopping ------------------------------------------------

    @classmethod
    def start(cls, timeout: float = 60.0, *, folder: Path | None = None,
              amqp_port: int = 0, management_port: int = 0) -> RabbitMQNode:
        """Start a node and wait until its AMQP port and management API answer.

        ``folder``: where it keeps everything (a new temporary folder by default; ``stop()``
        deletes it either way); ``amqp_port``, ``management_port``: 0 for free ports.
        """
        require_server()
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="course-rabbitmq-"))
        else:
            _claim(folder)
        node = cls.prepare(folder, amqp_port=amqp_port, management_port=management_port)
        try:
            node.launch(timeout)
        except BaseException:
            node.stop()
            raise
        return node

    @classmethod
    def prepare(cls, folder: Path, *, amqp_port: int = 0, management_port: int = 0,
                epmd_port: int = 0, name: str | None = None, cookie: str | None = None,
                join: str | None = None) -> RabbitMQNode:
        """A node configured in the empty ``folder``, not running yet (:meth:`launch` runs it).

        A cluster's nodes share ``epmd_port`` (how Erlang nodes find each other) and
        ``cookie`` (what lets them in); ``name`` is the part before ``@localhost``; ``join``:
        the node this one joins when it first starts (a cluster's first node; peer discovery
        through ``classic_config``, which a node with data of its own skips).
        """
        amqp_port, management_port = amqp_port or free_port(), management_port or free_port()
        (folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{amqp_port}\n"
            "management.tcp.ip = 127.0.0.1\n"
            f"management.tcp.port = {management_port}\n"
            "loopback_users = none\n"
            "log.console = false\n"
            "log.file.level = warning\n"
            # Queue counts in the management API refresh every 5 s by default: too slow
            # for a lesson or a test that looks right after publishing.
            "collect_statistics_interval = 250\n"
            + ("" if join is None else "cluster_formation.peer_discovery_backend = classic_config\n"
               f"cluster_formation.classic_config.nodes.1 = {join}\n")
        )
        # The management agent keeps one sample every 5 s by default: unacked counts read
        # through the API would then lag that much behind what just happened.
        (folder / "advanced.config").write_text(
            "[{rabbitmq_management_agent, [{sample_retention_policies,\n"
            "  [{global, [{605, 1}]}, {basic, [{605, 1}]}, {detailed, [{10, 1}]}]}]}].\n")
        (folder / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (folder / "rabbitmq-env.conf").write_text("")
        if cookie is not None:  # else Erlang writes a random one into HOME
            path = folder / ".erlang.cookie"
            path.write_text(cookie)
            path.chmod(0o400)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))},
            "HOME": str(folder),
            "RABBITMQ_NODENAME": f"{name or 'course-' + uuid.uuid4().hex[:8]}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(amqp_port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(folder / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_PID_FILE": str(folder / "rabbitmq.pid"),
            # Erlang distribution (the nodes' and rabbitmqctl's own port) on loopback too.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": LOOPBACK_DISTRIBUTION,
            "RABBITMQ_CTL_ERL_ARGS": LOOPBACK_DISTRIBUTION,
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(epmd_port or free_port()),
        }
        return cls(folder, amqp_port, management_port, env)

    @property
    def name(self) -> str:
        """The Erlang node name (``course-…@localhost``), as RabbitMQ's texts write it."""
        return self.env["RABBITMQ_NODENAME"]

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self, timeout: float = 60.0) -> None:
        """Run the prepared node (or run it again after :meth:`halt`, with the data it kept)
        and wait until it answers; a node that does not answer in time is halted.  A node
        running already is left as it is (a second server would fail on the same name and
        leave this record pointing at it)."""
        if self.running:
            return
        log = (self.folder / "server.out").open("ab")
        self.process = subprocess.Popen(
            [str(require_server())], env=self.env, cwd=self.folder, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.halt()
            raise

    def wait_ready(self, timeout: float) -> None:
        """Return once the AMQP port and the management API answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RabbitMQUnavailable(_(
                    "RabbitMQ stopped while starting; its log is in {folder}.",
                    folder=str(self.folder)), STOPPED_WHILE_STARTING)
            try:
                self.api("GET", "/api/overview", timeout=1)
                # The management API answers a little before AMQP is accepted.
                with socket.create_connection(("127.0.0.1", self.amqp_port), timeout=1):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise RabbitMQUnavailable(_(
            "RabbitMQ did not start within {duration}; its log is in {folder}.",
            duration=format_seconds(timeout, 0), folder=str(self.folder)), NOT_IN_TIME)

    def save(self) -> None:
        """Write what :meth:`attach` needs into the node's folder (for another process)."""
        state = {"pid": self.process.pid, "amqp_port": self.amqp_port,
                 "management_port": self.management_port, "user": self.user,
                 "password": self.password, "env": self.env}
        path = self.folder / STATE_FILE
        path.write_text(json.dumps(state))
        path.chmod(0o600)

    @classmethod
    def attach(cls, folder: Path) -> RabbitMQNode | None:
        """The node :meth:`save` recorded in ``folder``, if it still runs."""
        try:
            state = json.loads((folder / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None
        process = _Detached(state["pid"])
        if process.poll() is not None:
            return None
        return cls(folder, state["amqp_port"], state["management_port"], state["env"],
                   process, state["user"], state["password"])

    def exports(self) -> str:
        """Shell lines that point the course at this node (no password in the API's URL:
        course.topology takes the transport_url's), and name its folder, where a failure
        lesson finds it to stop and start it (:meth:`attach`)."""
        return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in (
            ("COURSE_TRANSPORT_URL", self.url), ("COURSE_MANAGEMENT_URL", self.management_url),
            (NODE_ENV_VAR, str(self.folder))))

    def halt(self, timeout: float = 20.0) -> None:
        """Stop the node's Erlang VM cleanly (SIGTERM), keeping its folder and data."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)  # RabbitMQ shuts down cleanly on SIGTERM
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def kill(self, timeout: float = 10.0) -> None:
        """Kill the node's Erlang VM at once (SIGKILL), as a crash or a power cut would:
        what it confirmed is on disk, the rest is gone; :meth:`launch` recovers it."""
        if self.running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """Stop the node and its port mapper, then delete its folder."""
        if self._stopped:
            return
        self._stopped = True
        self.halt()
        stop_epmd(self.env)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RabbitMQNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- management HTTP API ----------------------------------------------------

    def api(self, method: str, path: str, body: object = None, timeout: float = 10) -> object:
        """One call to the management API; JSON in and out."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.management_url + path, data=data, method=method)
        token = b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def add_vhost(self, vhost: str) -> str:
        """Create a vhost the node's user may use fully; return its transport_url."""
        name = quote(vhost, safe="")
        self.api("PUT", f"/api/vhosts/{name}", {})
        self.api("PUT", f"/api/permissions/{name}/{self.user}",
                 {"configure": ".*", "write": ".*", "read": ".*"})
        return self.vhost_url(vhost)

    def delete_vhost(self, vhost: str) -> None:
        self.api("DELETE", f"/api/vhosts/{quote(vhost, safe='')}")


def require_server() -> Path:
    """The ``rabbitmq-server`` script, or why there is none."""
    server = find_server()
    if server is None:
        raise RabbitMQUnavailable(_(
            "RabbitMQ is not installed. Install it with `{command}` to run the "
            "course on a real broker.", command=INSTALL_HINT), NOT_INSTALLED)
    return server


def stop_epmd(env: dict[str, str]) -> None:
    """Stop the Erlang port mapper of ``env``'s ``ERL_EPMD_PORT`` (its nodes stopped)."""
    epmd = shutil.which("epmd")
    if not epmd:
        return
    deadline = time.monotonic() + 10
    while True:  # it refuses while a node killed a moment ago is still registered
        done = subprocess.run([epmd, "-kill"], env=env, capture_output=True, text=True,
                              timeout=10)
        if "living nodes" not in done.stdout + done.stderr or time.monotonic() > deadline:
            return
        time.sleep(0.1)


def _claim(folder: Path) -> None:
    """Make ``folder`` the node's own: new or empty, or the folder of an earlier node,
    never one holding anything else (``stop()`` deletes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()) and not (folder / STATE_FILE).exists():
        raise RabbitMQUnavailable(_(
            "{folder} holds other files: give a new folder for the RabbitMQ node.",
            folder=str(folder)), N_("The RabbitMQ node's folder holds other files."))
    for entry in folder.iterdir():  # what an earlier node left: start afresh
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


class _Detached:
    """The part of ``subprocess.Popen`` that ``stop()`` uses, for a node started by another
    process (the ``start`` command): it is not our child, so we cannot wait() for it."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
            with open(f"/proc/{self.pid}/stat") as f:  # a zombie nobody reaped yet is gone
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return 0
        except (ProcessLookupError, FileNotFoundError):
            return 0
        except (PermissionError, OSError):
            pass
        return None

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.1)
        return 0


# -- the command line (binder/start) ----------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.rabbitmq",
        description="Start or stop a private RabbitMQ node that outlives the command.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start a node; print export lines for a shell")
    stop = commands.add_parser("stop", help="stop the node of --base and delete its folder")
    for command in (start, stop):
        command.add_argument("--base", type=Path, required=True,
                             help="the node's own folder (data, logs, Erlang cookie)")
    start.add_argument("--amqp-port", type=int, default=0, help="0: a free port")
    start.add_argument("--management-port", type=int, default=0, help="0: a free port")
    start.add_argument("--timeout", type=float, default=30.0,
                       help="seconds to wait for the node to answer")
    args = parser.parse_args(argv)
    with language("en"):  # a log's words; the notice is translated where it is shown
        if args.command == "stop":
            node = RabbitMQNode.attach(args.base)
            if node is not None:
                node.stop()
            return 0
        node = RabbitMQNode.attach(args.base)  # started already (start run twice)
        try:
            if node is None:
                node = RabbitMQNode.start(args.timeout, folder=args.base,
                                          amqp_port=args.amqp_port,
                                          management_port=args.management_port)
                node.save()
        except RabbitMQUnavailable as error:
            print(error, file=sys.stderr)
            print(f"export {NOTICE_ENV_VAR}={shlex.quote(error.reason)}")
            return 1
        print(node.exports(), end="")
        return 0


if __name__ == "__main__":
    sys.exit(main())
