"""A small Nova cloud to boot, break and watch, and each service runnable on its own.

:class:`NovaCloud` starts nova-conductor and nova-scheduler on the controller, one
nova-compute per compute host and nova-api, all in this process, each with its own
transport (so its own connections and ``reply_<uuid>`` queue), on one broker and
one database, as a single-cell DevStack would run them::

    with NovaCloud() as cloud:
        vm = cloud.boot("vm1")          # returns at once, like the API's 202
        vm.wait()                       # "ACTIVE" or "ERROR"
        vm.history                      # [("building", "scheduling"), ..., ("active", None)]

``NovaCloud(cells={"cell1": [...], "cell2": [...]})`` is cells v2 with a broker per
cell (:mod:`.cells`): the API broker carries nova-api, nova-scheduler and the
super-conductor; each cell's conductor and computes use the cell's own broker.

:func:`make_service` builds one service from ``(binary, host, url, database,
timings)`` and :func:`run_service` runs it until interrupted: one process per
service on one RabbitMQ; api, conductor and scheduler share the database file
(like MySQL on the controller), computes need none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ...broker import configured_url
from ...errors import CourseError
from ...i18n import _
from ...trace import Trace, TraceView
from ...transport_url import mask_url
from ..cloud import Cloud, NotFound
from .api import APIService
from .cells import CELL1_NAME, cell_db_name, cell_url, list_cells, setup_cells
from .compute import ComputeService
from .conductor import ConductorService
from .conf import Notifications, Timings, notification_format
from .context import CELL0, CELL1, make_context, target_cell
from .db import Database
from .objects import InstanceAction, InstanceMapping, discover_hosts
from .scheduler import SchedulerService
from .service import NovaService

SERVICES: dict[str, type[NovaService]] = {
    "nova-api": APIService, "nova-conductor": ConductorService,
    "nova-scheduler": SchedulerService, "nova-compute": ComputeService}
#: Statuses ``Server.wait()`` stops at by default.
FINAL = ("ACTIVE", "ERROR")


def make_service(binary: str, host: str, url: str | None = None,
                 database: Database | str | None = None, timings: Timings | None = None, *,
                 trace: Trace | None = None, notifications: bool | str | Notifications = False,
                 resources: dict | None = None, cell: str = CELL1,
                 track_instance_changes: bool = True,
                 messaging: dict | None = None) -> NovaService:
    """One Nova service, not started.  ``database``: a path (or ``file:`` URI) or a
    :class:`Database`; for nova-compute it only gives access to Placement.  ``cell``:
    the cell database of its ``[database] connection``.  ``track_instance_changes``:
    ``[filter_scheduler] track_instance_changes`` (nova-compute's fanouts to the
    schedulers).  ``messaging``: its ``[oslo_messaging_rabbit]`` settings
    (``{"rabbit_quorum_queue": True}``)."""
    if binary not in SERVICES:
        raise ValueError(_("Unknown Nova service {binary}: choose one of {choices}.",
                           binary=binary, choices=", ".join(SERVICES)))
    kwargs: dict[str, Any] = dict(database=database, timings=timings,
                                  notifications=notifications, cell=cell, messaging=messaging)
    if binary == "nova-compute":
        kwargs.update(resources=resources, track_instance_changes=track_instance_changes)
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
        mapping = InstanceMapping.get_by_instance_uuid(ctxt, self.uuid).cell_mapping
        if mapping is not None:
            ctxt = target_cell(ctxt, mapping)
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
    a progress bar).  ``cells``: cell name -> its computes (instead of ``computes``),
    each cell on ``cell_urls[name]`` (default :func:`.cells.cell_url`).
    ``track_instance_changes``: ``[filter_scheduler]``'s option.  ``messaging``: every
    service's ``[oslo_messaging_rabbit]`` settings (``{"rabbit_quorum_queue": True}``),
    as in nova.conf.  ``starting``: told ``(done, total)`` while the computes start.
    Unlike the other
    projects' clouds, a stopped Nova cloud can be started again: it starts afresh, with
    a new database.
    """

    def __init__(self, url: str | None = None, trace: Trace | None = None,
                 computes: Iterable[str] = ("compute1", "compute2"),
                 controller: str = "controller", timings: Timings | None = None,
                 notifications: bool | str | Notifications = False, database: str | None = None,
                 resources: dict | None = None, api_only: bool = False,
                 progress: Callable[[int, int], None] | None = None,
                 cells: Mapping[str, Iterable[str]] | None = None,
                 cell_urls: Mapping[str, str] | None = None,
                 track_instance_changes: bool = True, messaging: dict | None = None,
                 starting: Callable[[int, int], None] | None = None) -> None:
        super().__init__(url, trace)
        #: cell name -> its computes; None for a single-cell cloud (cell1 on ``url``).
        self.cells = ({name: list(hosts) for name, hosts in cells.items()}
                      if cells is not None else None)
        if self.cells is not None:
            if not self.cells:
                raise CourseError(_("A multi-cell cloud needs at least one cell."))
            if "cell0" in self.cells:
                raise CourseError(_("cell0 is Nova's own cell for the instances that could "
                                    "not be scheduled: name your cells otherwise."))
        self.compute_hosts = (list(computes) if self.cells is None
                              else [h for hosts in self.cells.values() for h in hosts])
        #: cell name -> transport_url of its broker (single cell: the cloud's broker).
        self.cell_urls = ({CELL1_NAME: configured_url(url)} if self.cells is None else
                          {name: (cell_urls or {}).get(name) or cell_url(url, name)
                           for name in self.cells})
        self.controller = controller
        self.timings = timings or Timings()
        notification_format(notifications)  # refuse a wrong value now
        self.notifications = notifications
        self.database = database
        self.resources = resources
        self.api_only = api_only
        self.progress = progress
        self.track_instance_changes = track_instance_changes
        self.messaging = dict(messaging or {})
        self.starting = starting
        self.db: Database | None = None
        self._services: dict[tuple[str, str], NovaService] = {}
        self._servers: dict[str, Server] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "running" if self.db is not None else "stopped"
        cells = "" if self.cells is None else " cells " + ", ".join(
            f"{name} {mask_url(self.cell_urls[name])}" for name in self.cells)
        return (f"<NovaCloud {mask_url(configured_url(self.url))}{cells} {state}: "
                f"{', '.join(s.name for s in self._services.values())}>")

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> NovaCloud:
        """Start the services in the order a deployment does: conductor(s), scheduler,
        computes (each waits for its conductor), host discovery, then the API.

        With ``cells``, the conductor on the API broker is the super-conductor (its
        ``[database] connection`` is cell0, as the top-level services' is), and each
        cell gets its own conductor, named after the cell (``nova-conductor:cell1``),
        on the cell's broker with the cell's database, beside the cell's computes.
        """
        with self._lock:
            if self.db is not None:
                return self
            self.db = Database(self.database)
            setup_cells(self.db, self.url, self.cell_urls)
            top = CELL1 if self.cells is None else CELL0
            try:
                if not self.api_only:
                    self._start("nova-conductor", self.controller, cell=top)
                    self._start("nova-scheduler", self.controller, cell=top)
                    for name in self.cells or {}:
                        self._start("nova-conductor", name, self.cell_urls[name],
                                    cell=cell_db_name(name))
                    self._start_computes()
                discover_hosts(make_context(self.db, is_admin=True))
                self._start("nova-api", self.controller, cell=top)
            except BaseException:
                self._stop_all()
                raise
        return self

    def cell_of(self, host: str) -> str:
        """The cell a compute host belongs to (cell1 in a single-cell cloud)."""
        for name, hosts in (self.cells or {CELL1_NAME: self.compute_hosts}).items():
            if host in hosts:
                return name
        raise NotFound(_("No compute host {host} in this cloud.", host=host))

    def _start_computes(self) -> None:
        """Start the computes one after the other (so their service records keep the order
        of ``computes``), telling ``starting`` how many are up."""
        report = self.starting or (lambda done, total: None)
        report(0, len(self.compute_hosts))
        for done, host in enumerate(self.compute_hosts, 1):
            self._compute(host).start()
            report(done, len(self.compute_hosts))

    def _compute(self, host: str) -> NovaService:
        cell = self.cell_of(host)
        return self._make("nova-compute", host, self.cell_urls[cell], cell=cell_db_name(cell))

    def _make(self, binary: str, host: str, url: str | None = None, *, cell: str = CELL1,
              resources: dict | None = None) -> NovaService:
        """One service of this cloud, not started yet."""
        service = make_service(binary, host, url or self.url, self.db.path, self.timings,
                               trace=self.trace, notifications=self.notifications,
                               resources=resources or self.resources, cell=cell,
                               track_instance_changes=self.track_instance_changes,
                               messaging=self.messaging)
        self._services[(binary, host)] = service
        return service

    def _start(self, binary: str, host: str, url: str | None = None, *, cell: str = CELL1,
               resources: dict | None = None) -> NovaService:
        return self._make(binary, host, url, cell=cell, resources=resources).start()

    def restart(self, binary: str, host: str | None = None) -> NovaService:
        """``systemctl restart``: the process of ``binary`` on ``host`` exits (its
        connections close; its reply queue stays until ``x-expires`` removes it, as
        oslo's does) and a new process starts, with new queue names unless
        ``use_queue_manager`` is set.  Returns the new service."""
        old = self.service(binary, host)
        with self._lock:
            old.cleanup()
            if binary == "nova-compute":
                return self._compute(old.host).start()
            return self._start(binary, old.host, old.transport.url, cell=old.cell)

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

    def list_cells(self) -> str:
        """``nova-manage cell_v2 list_cells``: each cell's broker and database, passwords
        masked."""
        if self.db is None:
            raise RuntimeError(_("The cloud is not started: call start() first."))
        return list_cells(self.db)

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
