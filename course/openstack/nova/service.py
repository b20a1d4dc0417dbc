"""What every Nova service shares: start-up, the service record and its heartbeat,
the ping endpoint, notifications (``nova/service.py``, ``nova/baserpc.py``,
``nova/servicegroup/drivers/db.py``, ``nova/rpc.py``).

Start-up follows ``nova/service.py``: ``Service.__init__`` waits for a conductor
(nova-compute only), ``Service.create`` refuses to run beside too old a nova-compute
(``raise_if_old_compute``), then ``Service.start`` looks the service record up, runs
the manager's ``init_host``, creates the record (or updates its version), runs
``pre_start_hook`` and only then starts the RPC server(s), the heartbeat and the
periodic tasks.  On nova-compute each of these record reads and writes is a conductor
call.

A Nova service is a :class:`~course.openstack.service.Service` on the control
exchange ``nova`` whose RPC server carries its manager plus ``BaseRPCAPI``
(namespace ``baseapi``), with Nova's object serializer.  Services with a database
(api, conductor, scheduler) read and write it directly; nova-compute has none and
goes through the conductor.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ... import rpc
from ...trace import Trace
from ..service import Service as BaseService
from . import exception
from .base import NovaObjectSerializer
from .conf import (
    DEFAULT_AZ,
    INTERNAL_AZ,
    Notifications,
    Timings,
    notification_settings,
)
from .context import CELL1, RequestContext, get_admin_context
from .db import Database, open_database
from .objects import Service as ServiceRecord
from .versions import (
    OLDEST_SUPPORTED_SERVICE_LEVEL,
    OLDEST_SUPPORTED_SERVICE_VERSION,
    PAYLOAD_VERSIONS,
    SERVICE_VERSION,
)

LOG = logging.getLogger(__name__)


class BaseRPCAPI:
    """``nova/baserpc.py``: every Nova RPC server answers ``ping`` in namespace ``baseapi``."""

    target = rpc.Target(namespace="baseapi", version="1.1")

    def __init__(self, service_name: str) -> None:
        self.service_name = service_name

    def ping(self, context: RequestContext, arg: Any) -> dict:
        return {"service": self.service_name, "arg": arg}

    def get_backdoor_port(self, context: RequestContext) -> None:
        return None


def raise_if_old_compute(ctxt: RequestContext) -> None:
    """``nova/utils.py:raise_if_old_compute`` (in ``Service.create``): no service runs beside
    a nova-compute older than the oldest supported release; on nova-compute itself the
    question goes to the conductor."""
    version = ServiceRecord.get_minimum_version(ctxt, "nova-compute")
    if 0 < version < OLDEST_SUPPORTED_SERVICE_LEVEL:
        raise exception.TooOldComputeService(
            oldest_supported_version=OLDEST_SUPPORTED_SERVICE_VERSION, scope="cell",
            min_service_level=version, oldest_supported_service=OLDEST_SUPPORTED_SERVICE_LEVEL)


def service_is_up(record: ServiceRecord, service_down_time: float) -> bool:
    """``nova/servicegroup/drivers/db.py:is_up``: heard from within ``service_down_time``."""
    if record.forced_down:
        return False
    last = record.last_seen_up or 0
    return abs(time.time() - last) <= service_down_time


class NovaService(BaseService):
    """One Nova process: ``binary`` on ``host``, with its manager as RPC endpoint."""

    control_exchange = "nova"
    # nova/rpc.py: nova.exception may cross the bus and be raised again by the caller.
    allowed_remote_exmods = (exception.__name__,)
    service_name = ""  # the manager's name: conductor, scheduler, compute
    #: Whether this binary opens the database itself (nova-compute does not).
    uses_database = True
    #: Whether it keeps a service record with a heartbeat (nova-api does not).
    reports_state = True

    def __init__(self, host: str, url: str | None = None, trace: Trace | None = None, *,
                 database: Database | str | None = None, timings: Timings | None = None,
                 notifications: bool | str | Notifications = False,
                 cell: str = CELL1, messaging: dict | None = None) -> None:
        self.timings = timings or Timings()
        #: ``[oslo_messaging_rabbit]`` and the RPC timeout, for every transport it opens.
        self.messaging = {"rpc_response_timeout": self.timings.rpc_response_timeout,
                          **(messaging or {})}
        # a database service given none gets a private in-memory one (alone, for a test)
        self.db = (open_database(database) or Database()) if self.uses_database else None
        self._own_db = self.db is not None and not isinstance(database, Database)
        #: ``[database] connection``: the cell database used unless a context targets another.
        self.cell = cell
        serializer = NovaObjectSerializer(self.db, cell)
        super().__init__(host, url, trace, options=self.messaging, serializer=serializer)
        self.backend: Any = self.db
        self.notification_settings = notification_settings(notifications)
        #: None when nothing reaches the bus, else ``[notifications] notification_format``.
        self.notification_format = (self.notification_settings.notification_format
                                    if self.notification_settings.senders() else None)
        self.service_ref: ServiceRecord | None = None
        self.model_disconnected = False
        self._abort = threading.Event()
        self._notifiers = self._make_notifiers()
        #: transport_url -> transport to another cell's broker (``CELL_CACHE``).
        self._cell_transports: dict[str, rpc.Transport] = {}
        self._cell_lock = threading.Lock()

    # -- contexts, start and stop ------------------------------------------------------------

    def context(self) -> RequestContext:
        """A new admin context whose objects go where this service's objects go."""
        ctxt = get_admin_context(self.backend)
        ctxt.cell = self.cell
        return ctxt

    def cell_client(self, ctxt: RequestContext, client: rpc.RPCClient) -> rpc.RPCClient:
        """``nova/rpc.py:get_cell_client``: ``client`` on the broker of the cell ``ctxt``
        targets (``target_cell`` with a CellMapping), else ``client`` itself.

        Like ``nova/context.py:set_target_cell``, one transport per cell is opened at
        first use and kept (``CELL_CACHE``); a cell on this service's own broker (the
        single-cell case) reuses this service's transport: the same messages on the same
        broker, without a second connection.
        """
        mapping = ctxt.cell_mapping
        url = mapping.transport_url if mapping is not None else None
        if not url or url.startswith("none:") or url == self.transport.url:
            return client
        with self._cell_lock:
            transport = self._cell_transports.get(url)
            if transport is None:
                transport = self._cell_transports[url] = rpc.get_transport(
                    url, self.control_exchange, service=self.name, trace=self.trace,
                    options=self.messaging, allowed_remote_exmods=self.allowed_remote_exmods,
                    gate=self.gate)
        return rpc.RPCClient(transport, client.target, client.timeout, client.version_cap,
                             client.serializer, client.call_monitor_timeout)

    def endpoints(self) -> list[Any]:
        return [*self.managers(), BaseRPCAPI(self.service_name)]

    def managers(self) -> list[Any]:
        return []

    def pre_start(self, ctxt: RequestContext) -> None:
        """``Service.__init__``'s work before anything else (nova-compute pings the
        conductor until one answers)."""

    def init_host(self, ctxt: RequestContext, service_ref: ServiceRecord | None) -> None:
        """The manager's ``init_host``, before the service record is created."""

    def pre_start_hook(self, ctxt: RequestContext, service_ref: ServiceRecord) -> None:
        """The manager's ``pre_start_hook``: the record exists, no RPC server yet."""

    def start(self) -> NovaService:
        """``nova/service.py``: ``Service.create`` then ``Service.start``, in their order;
        the RPC server(s), the heartbeat (``servicegroup_api.join``) and the periodic
        tasks come last."""
        if self.running:
            return self
        self._abort.clear()
        ctxt = self.context()
        self.pre_start(ctxt)
        if self._abort.is_set():
            return self
        if self.reports_state and self.topic:
            raise_if_old_compute(ctxt)
            record = ServiceRecord.get_by_host_and_binary(ctxt, self.host, self.binary)
            self.init_host(ctxt, record)
            self.service_ref = (self._update_service_ref(record) if record is not None
                                else self._create_service_ref(ctxt))
            self.pre_start_hook(ctxt, self.service_ref)
        super().start()
        return self

    def on_start(self) -> None:
        if self.reports_state and self.service_ref is not None:
            self.every(self.timings.report_interval, self.report_state, "report_state")
        self.periodic_tasks()

    def periodic_tasks(self) -> None:
        """Start this binary's periodic tasks (local timers, ``every()``)."""

    def stop(self) -> NovaService:
        self._abort.set()
        super().stop()
        return self

    def transports(self) -> list[rpc.Transport]:
        with self._cell_lock:
            return [self.transport, *self._cell_transports.values()]

    def cleanup(self) -> None:
        super().cleanup()
        with self._cell_lock:
            transports, self._cell_transports = list(self._cell_transports.values()), {}
        for transport in transports:
            transport.cleanup()
        if self._own_db and self.db is not None:
            self.db.close()

    def _create_service_ref(self, ctxt: RequestContext) -> ServiceRecord:
        """``nova/service.py:_create_service_ref`` (the version comes with the object)."""
        record = ServiceRecord(ctxt, host=self.host, binary=self.binary, topic=self.topic,
                               report_count=0, disabled=False, forced_down=False,
                               availability_zone=self.availability_zone)
        record.create()
        return record

    def _update_service_ref(self, record: ServiceRecord) -> ServiceRecord:
        """``nova/service.py:_update_service_ref``: an upgraded binary saves its version."""
        if record.version != SERVICE_VERSION:
            LOG.info("Updating service version for %s on %s from %s to %s", record.binary,
                     record.host, record.version, SERVICE_VERSION)
            record.version = SERVICE_VERSION
            record.save()
        return record

    @property
    def availability_zone(self) -> str:
        return DEFAULT_AZ if self.binary == "nova-compute" else INTERNAL_AZ

    # -- servicegroup heartbeat -----------------------------------------------------------

    def report_state(self) -> None:
        """``nova/servicegroup/drivers/db.py:_report_state``: one more report, saved.

        On nova-compute the save is a conductor call; if it times out, the compute
        logs that it lost the conductor (once) and tries again next time.
        """
        record = self.service_ref
        if record is None:
            return
        try:
            record.report_count = (record.report_count or 0) + 1
            record.save()
            if self.model_disconnected:
                self.model_disconnected = False
                LOG.info("Recovered from being unable to report status.")
        except rpc.MessagingTimeout:
            if not self.model_disconnected:
                self.model_disconnected = True
                LOG.warning("Lost connection to nova-conductor for reporting service status.")
        except Exception:  # the reporting thread must never die
            LOG.exception("Unexpected error while reporting service status")
            self.model_disconnected = True

    # -- notifications ------------------------------------------------------------------

    def _make_notifiers(self) -> dict[str, list[rpc.Notifier]]:
        """``nova/rpc.py:init``: a versioned and a legacy notifier, one per bus driver."""
        publishers = {
            # nova/notifications/objects/base.py: publisher "<binary>:<host>"
            "versioned": f"{self.binary}:{self.host}",
            # nova/rpc.py get_notifier(service): publisher "<service>.<host>"
            "legacy": f"{self.service_name}.{self.host}"}
        return {family: [rpc.get_notifier(self.transport, publisher_id=publishers[family],
                                          driver=driver, topics=topics) for driver in drivers]
                for family, (drivers, topics) in self.notification_settings.senders().items()}

    def notify(self, ctxt: RequestContext, event_type: str, payload_name: str, payload: dict,
               priority: str = "info", legacy_event_type: str | None = None,
               legacy_payload: dict | None = None, legacy_service: str | None = None) -> None:
        """Send a versioned and/or legacy notification, as configured; never fail the caller.

        The legacy one is published by ``<legacy_service>.<host>`` (``nova/rpc.py
        get_notifier(service)``; default: this manager's service name).
        """
        sends = []
        if "versioned" in self._notifiers:
            versioned = {"nova_object.name": payload_name, "nova_object.namespace": "nova",
                         "nova_object.version": PAYLOAD_VERSIONS[payload_name],
                         "nova_object.data": payload}
            sends += [(notifier, event_type, versioned)
                      for notifier in self._notifiers["versioned"]]
        for legacy in self._notifiers.get("legacy", ()):
            if legacy_service is not None:
                legacy = legacy.prepare(publisher_id=f"{legacy_service}.{self.host}")
            sends.append((legacy, legacy_event_type or event_type,
                          payload if legacy_payload is None else legacy_payload))
        for notifier, name, body in sends:
            try:
                getattr(notifier, priority)(ctxt, name, body)
            except rpc.MessagingException as error:
                LOG.warning("Could not send notification %s: %s", name, error)
