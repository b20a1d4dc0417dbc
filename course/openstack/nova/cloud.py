"""A small Nova cloud to boot, break and watch, and each service runnable on its own.

:class:`NovaCloud` starts nova-conductor and nova-scheduler on the controller, one
nova-compute per compute host and nova-api, all in this process, each with its own
transport (so its own connections and ``reply_<uuid>`` queue), on one broker and
one database, as a single-cell DevStack would run them::

    with NovaCloud() as cloud:
        vm = cloud.boot("vm1")          # returns at once, like the API's 202
        vm.wait()                       # "ACTIVE" or "ERROR"
        vm.history                      # [("building", "scheduling"), ..., ("active", None)]

:func:`make_service` builds one service from ``(binary, host, url, database,
timings)`` and :func:`run_service` runs it until interrupted: one process per
service on one RabbitMQ; api, conductor and scheduler share the database file
(like MySQL on the controller), computes need none.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ...broker import configured_url
from ...i18n import _
from ...trace import Trace, TraceView
from ...transport_url import mask_url
from ..cloud import Cloud
from .api import APIService
from .compute import ComputeService
from .conductor import ConductorService
from .conf import Notifications, Timings, notification_format
from .context import CELL0, make_context
from .db import Database
from .objects import CELL0_UUID, CellMapping, InstanceAction, InstanceMapping, discover_hosts
from .scheduler import SchedulerService
from .service import NovaService

SERVICES: dict[str, type[NovaService]] = {
    "nova-api": APIService, "nova-conductor": ConductorService,
    "nova-scheduler": SchedulerService, "nova-compute": ComputeService}
#: cell1's uuid, fixed so that every process of a lab agrees on it.
CELL1_UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, "course:nova:cell1"))
#: Statuses ``Server.wait()`` stops at by default.
FINAL = ("ACTIVE", "ERROR")


def setup_cells(db: Database, url: str | None = None) -> None:
    """``nova-manage cell_v2 map_cell0`` and ``create_cell --name cell1`` (idempotent).

    cell0 has no message queue (``none:///``); the password of cell1's transport_url
    is masked here (Nova stores it as written).
    """
    ctxt = make_context(db, is_admin=True)
    CellMapping(ctxt, uuid=CELL0_UUID, name="cell0", transport_url="none:///",
                database_connection=f"sqlite:///{db.path}#nova_cell0", disabled=False).create()
    CellMapping(ctxt, uuid=CELL1_UUID, name="cell1", transport_url=mask_url(configured_url(url)),
                database_connection=f"sqlite:///{db.path}#nova_cell1", disabled=False).create()


def make_service(binary: str, host: str, url: str | None = None,
                 database: Database | str | None = None, timings: Timings | None = None, *,
                 trace: Trace | None = None, notifications: bool | str | Notifications = False,
                 resources: dict | None = None) -> NovaService:
    """One Nova service, not started.  ``database``: a path (or ``file:`` URI) or a
    :class:`Database`; for nova-compute it only gives access to Placement."""
    if binary not in SERVICES:
        raise ValueError(_("Unknown Nova service {binary}: choose one of {choices}.",
                           binary=binary, choices=", ".join(SERVICES)))
    kwargs: dict[str, Any] = dict(database=database, timings=timings,
                                  notifications=notifications)
    if binary == "nova-compute":
        kwargs["resources"] = resources
    service = SERVICES[binary](host, url, trace, **kwargs)
    if service.db is not None:
        setup_cells(service.db, url)
    return service


def run_service(binary: str, host: str, url: str | None = None,
                database: Database | str | None = None, timings: Timings | None = None, *,
                stop: threading.Event | None = None, **kwargs: Any) -> None:
    """Run one service until ``stop`` is set or Ctrl-C, then clean up (one process each)."""
    service = make_service(binary, host, url, database, timings, **kwargs)
    try:
        service.start()
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        service.cleanup()


class Server:
    """A server booted through nova-api; every property reads the API's answer anew."""

    def __init__(self, cloud: NovaCloud, uuid: str, name: str,
                 request_id: str | None) -> None:
        self.cloud = cloud
        self.uuid = uuid
        self.name = name
        self.request_id = request_id
        self.request_ids = [request_id] if request_id else []

    def __repr__(self) -> str:
        show = self.show()
        host = show.get("OS-EXT-SRV-ATTR:host")
        return f"<Server {self.name} {show['status']}{f' on {host}' if host else ''}>"

    def show(self) -> dict:
        return self.cloud.api.show_server(self.uuid)

    @property
    def status(self) -> str:
        """BUILD, ACTIVE, SHUTOFF, ERROR or DELETED (``openstack server show``)."""
        return self.show()["status"]

    @property
    def vm_state(self) -> str | None:
        return self.show()["OS-EXT-STS:vm_state"]

    @property
    def task_state(self) -> str | None:
        return self.show()["OS-EXT-STS:task_state"]

    @property
    def host(self) -> str | None:
        return self.show()["OS-EXT-SRV-ATTR:host"]

    @property
    def cell(self) -> str | None:
        """cell1 once scheduled; cell0 when no host was found; None while scheduling."""
        return self.show()["cell"]

    @property
    def history(self) -> list[tuple[str | None, str | None]]:
        """Each (vm_state, task_state) written to the cell database, in order."""
        return self.cloud.db.states(self.uuid)

    @property
    def actions(self) -> list[dict]:
        """``openstack server event list``: one action per request, with its events."""
        ctxt = make_context(self.cloud.db, is_admin=True)
        if self.cell == "cell0":
            ctxt.cell = CELL0
        return [a._values() for a in InstanceAction.list_for(ctxt, self.uuid)]

    @property
    def hops(self) -> list:
        """The messages of this server's boot request, from the trace."""
        return self.trace().hops

    def trace(self, request_id: str | None = None) -> TraceView:
        return self.cloud.trace.for_request(request_id or self.request_id or "")

    def wait(self, timeout: float = 30.0, status: str | Iterable[str] | None = None) -> str:
        """Wait until the status is ACTIVE or ERROR (or ``status``); return the status
        reached, or the current one when ``timeout`` runs out.

        Once the status is reached, it also waits (a second at most) for the last
        messages of the request to arrive (the compute still reports to the conductor
        and the scheduler after the VM is ACTIVE), so that the trace is complete.
        """
        wanted = FINAL if status is None else ((status,) if isinstance(status, str)
                                               else tuple(status))
        deadline = time.monotonic() + timeout
        while True:
            current = self.status
            if current in wanted:
                self._settle(min(deadline, time.monotonic() + 1.0))
                return current
            if time.monotonic() >= deadline:
                return current
            time.sleep(0.01)

    def _settle(self, deadline: float, quiet: float = 0.02) -> None:
        """Until every message of the latest request was delivered and none came for
        ``quiet`` seconds (notifications may wait for a listener: not counted)."""
        request = self.request_ids[-1] if self.request_ids else ""
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            view = self.cloud.trace.for_request(request)
            if len(view) != last:
                last, since = len(view), time.monotonic()
            elif (time.monotonic() - since >= quiet
                  and all(h.receiver for h in view.hops if h.kind != "notify")):
                return
            time.sleep(0.005)

    def console_log(self, length: int | None = None) -> str:
        """``openstack console log show``: nova-api **calls** the compute and waits."""
        return self.cloud.api.get_console_output(self.uuid, length)

    def stop(self) -> Server:
        self.request_ids.append(self.cloud.api.stop_server(self.uuid))
        return self

    def start(self) -> Server:
        self.request_ids.append(self.cloud.api.start_server(self.uuid))
        return self

    def delete(self) -> Server:
        self.request_ids.append(self.cloud.api.delete_server(self.uuid))
        return self


class NovaCloud(Cloud):
    """nova-api, nova-conductor, nova-scheduler and nova-computes on one broker.

    ``url``: the transport_url (None: ``$COURSE_TRANSPORT_URL`` or the embedded
    broker).  ``trace``: where messages are recorded (a new Trace if None).
    ``notifications``: False (Nova's default: none sent), True (versioned),
    "versioned", "unversioned" or "both", or a :class:`~.conf.Notifications` (driver,
    topics and format as nova.conf gives them).  ``database``: a file shared with other
    processes, or None for a private in-memory one.  ``resources``: each
    hypervisor's size (vcpus, memory_mb, local_gb).  ``api_only``: start nova-api
    alone, for a lab whose other services run in other processes
    (``python -m course serve``) on the same broker and database file.
    ``progress``: told ``(done, total)`` while :meth:`boot_many` waits (a lab passes
    a progress bar).  Unlike the other projects' clouds, a stopped Nova cloud can be
    started again: it starts afresh, with a new database.
    """

    def __init__(self, url: str | None = None, trace: Trace | None = None,
                 computes: Iterable[str] = ("compute1", "compute2"),
                 controller: str = "controller", timings: Timings | None = None,
                 notifications: bool | str | Notifications = False, database: str | None = None,
                 resources: dict | None = None, api_only: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> None:
        super().__init__(url, trace)
        self.compute_hosts = list(computes)
        self.controller = controller
        self.timings = timings or Timings()
        notification_format(notifications)  # refuse a wrong value now
        self.notifications = notifications
        self.database = database
        self.resources = resources
        self.api_only = api_only
        self.progress = progress
        self.db: Database | None = None
        self._services: dict[tuple[str, str], NovaService] = {}
        self._servers: dict[str, Server] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "running" if self.db is not None else "stopped"
        return (f"<NovaCloud {mask_url(configured_url(self.url))} {state}: "
                f"{', '.join(s.name for s in self._services.values())}>")

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> NovaCloud:
        """Start the services in the order a deployment does: conductor, scheduler,
        computes (each waits for a conductor), host discovery, then the API."""
        with self._lock:
            if self.db is not None:
                return self
            self.db = Database(self.database)
            setup_cells(self.db, self.url)
            try:
                if not self.api_only:
                    self._start("nova-conductor", self.controller)
                    self._start("nova-scheduler", self.controller)
                    for host in self.compute_hosts:
                        self._start("nova-compute", host)
                discover_hosts(make_context(self.db, is_admin=True))
                self._start("nova-api", self.controller)
            except BaseException:
                self._stop_all()
                raise
        return self

    def _start(self, binary: str, host: str, resources: dict | None = None) -> NovaService:
        service = make_service(binary, host, self.url, self.db.path, self.timings,
                               trace=self.trace, notifications=self.notifications,
                               resources=resources or self.resources)
        self._services[(binary, host)] = service
        service.start()
        return service

    def stop(self) -> None:
        """Stop every service, close its connections, forget the in-memory database."""
        with self._lock:
            self._stop_all()

    def _stop_all(self) -> None:
        order = {"nova-api": 0, "nova-compute": 1, "nova-scheduler": 2, "nova-conductor": 3}
        for service in sorted(self._services.values(), key=lambda s: order[s.binary]):
            service._abort.set()
        for service in sorted(self._services.values(), key=lambda s: order[s.binary]):
            try:
                service.cleanup()
            except Exception:  # stop the others anyway
                pass
        self._services.clear()
        if self.db is not None:
            self.db.close()
            self.db = None

    # -- services --------------------------------------------------------------------------

    @property
    def services(self) -> list[NovaService]:
        return list(self._services.values())

    def compute(self, host: str) -> ComputeService:
        return self.service("nova-compute", host)  # type: ignore[return-value]

    @property
    def api(self) -> APIService:
        if self.db is None:
            raise RuntimeError(_("The cloud is not started: call start() first."))
        return self._services[("nova-api", self.controller)]  # type: ignore[return-value]

    def service_list(self) -> list[dict]:
        """``openstack compute service list``: binary, host, zone, status, state up/down."""
        return self.api.list_services()

    # -- servers ---------------------------------------------------------------------------

    def boot(self, name: str, flavor: str = "m1.tiny", image: str = "cirros") -> Server:
        """``openstack server create``: returns at once (202), the build goes on."""
        answer = self.api.create_server(name, flavor=flavor, image=image)
        server = Server(self, answer["id"], name, answer["request_id"])
        self._servers[server.uuid] = server
        return server

    def boot_many(self, count: int, prefix: str = "vm", flavor: str = "m1.tiny",
                  image: str = "cirros", timeout: float = 120.0,
                  progress: Callable[[int, int], None] | None = None) -> list[Server]:
        """Boot ``count`` servers at once and wait until each is ACTIVE or ERROR (or
        ``timeout`` runs out), telling ``progress`` (default: the cloud's) ``(done,
        total)`` at the start and each time one more is done."""
        report = progress or self.progress or (lambda done, total: None)
        servers = [self.boot(f"{prefix}{n}", flavor, image) for n in range(1, count + 1)]
        deadline = time.monotonic() + timeout
        pending = list(servers)
        report(0, count)
        while pending and time.monotonic() < deadline:
            still = [s for s in pending if s.status not in FINAL]
            if len(still) != len(pending):
                pending = still
                report(count - len(pending), count)
            else:
                time.sleep(0.01)
        return servers

    @property
    def servers(self) -> list[Server]:
        """Every server of the cloud, also those booted by another process."""
        ctxt = make_context(self.db, is_admin=True)
        for mapping in InstanceMapping.get_all(ctxt):
            if mapping.instance_uuid not in self._servers:
                found = self.api.show_server(mapping.instance_uuid)
                self._servers[mapping.instance_uuid] = Server(
                    self, mapping.instance_uuid, found.get("name", ""), None)
        return list(self._servers.values())
