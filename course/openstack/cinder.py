"""Cinder on the bus: cinder-api, cinder-scheduler and cinder-volume on exchange ``openstack``.

**Why ``openstack`` and not ``cinder``?**  oslo.messaging's default control exchange
is ``openstack`` (``oslo_messaging/transport.py``).  Nova, Neutron, Glance, Heat and
Keystone replace it with their own name through ``set_transport_defaults``; Cinder
defines ``cinder/rpc.py:set_defaults(control_exchange)`` but nothing calls it, so
unless ``cinder.conf`` sets ``[DEFAULT] control_exchange``, Cinder's RPC and
notifications use ``openstack``.  (Ceilometer still hears Cinder's notifications: they
go to the queue ``notifications.info``, whichever exchange it is bound to.)

Topics are the binaries' names (``cinder/common/constants.py``).  A volume service's
host is ``hostname@backend`` (``#pool`` is added for a volume's place).  cinder-volume
runs two RPC servers (``cinder/service.py:Service.start``):

* ``Target(topic='cinder-volume', server='node1@lvm')`` → queues ``cinder-volume``,
  ``cinder-volume.node1@lvm``, ``cinder-volume_fanout_<uuid>``;
* ``Target(topic='cinder-volume.node1@lvm', server='node1')`` → queues
  ``cinder-volume.node1@lvm`` (the same queue again), ``cinder-volume.node1@lvm.node1``,
  ``cinder-volume.node1@lvm_fanout_<uuid>``.

Creating a volume (``cinder/volume/flows/api/create_volume.py``):
cinder-api **casts** ``create_volume`` to ``cinder-scheduler``; the scheduler picks a
backend from the capabilities the volume services fan out to
``cinder-scheduler_fanout`` and **casts** ``create_volume`` to topic
``cinder-volume.node1@lvm`` with server ``node1`` (``cinder/volume/rpcapi.py:_get_cctxt``),
so routing key ``cinder-volume.node1@lvm.node1``.  No call anywhere: the API returns
at once, and the volume's status (``creating`` → ``available``) is written to the
database by the services themselves (cinder-volume has database access, unlike
nova-compute).  The services' heartbeat goes to the database too, not to RabbitMQ.

Start with :class:`CinderCloud`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .. import rpc
from ..errors import CourseError
from ..i18n import _
from ..trace import Trace
from .cloud import APIUnavailable, Cloud, NotFound
from .service import Service, cleanup_together, coerce_timings, record_http
from .service import request_context as service_context

LOG = logging.getLogger(__name__)

#: oslo.messaging's default: Cinder never sets its own (see the module's docstring).
CONTROL_EXCHANGE = "openstack"

# cinder/common/constants.py
SCHEDULER_BINARY = "cinder-scheduler"
VOLUME_BINARY = "cinder-volume"
BACKUP_BINARY = "cinder-backup"
API_BINARY = "cinder-api"
SCHEDULER_TOPIC = SCHEDULER_BINARY
VOLUME_TOPIC = VOLUME_BINARY
BACKUP_TOPIC = BACKUP_BINARY

#: ``cinder/scheduler/rpcapi.py`` and ``cinder/volume/rpcapi.py``: what clients send by
#: default (``RPC_DEFAULT_VERSION``) and what the managers implement.
RPC_DEFAULT_VERSION = "3.0"
SCHEDULER_RPC_API_VERSION = "3.12"
VOLUME_RPC_API_VERSION = "3.20"

STATUS_CREATING = "creating"
STATUS_AVAILABLE = "available"
STATUS_ERROR = "error"


def extract_host(host: str | None, level: str = "backend",
                 default_pool_name: bool = False) -> str | None:
    """``cinder/volume/volume_utils.py:extract_host``: ``node1@lvm#pool`` → ``node1``
    (level ``host``), ``node1@lvm`` (``backend``) or ``pool`` (``pool``)."""
    if host is None:
        return None
    if level == "host":
        return host.split("#")[0].split("@")[0]
    if level == "backend":
        return host.split("#")[0]
    if level == "pool":
        if "#" in host:
            return host.split("#")[1]
        return "_pool0" if default_pool_name else None
    raise ValueError(level)


# --------------------------------------------------------------------------- timings


@dataclass(frozen=True)
class CinderTimings:
    """Cinder's clocks.  ``CinderTimings.zero()`` (``timings="zero"``) removes the waits:
    capabilities are then only sent when the scheduler asks for them (at its start)."""

    #: ``[DEFAULT] periodic_interval``: how often ``_publish_service_capabilities`` runs
    #: (``cinder/manager.py:SchedulerDependentManager``). 0: never on its own.
    capabilities_interval: float = 60.0
    #: Simulated: how long the driver takes to create a volume (lvcreate, rbd create).
    create_volume: float = 0.2
    #: ``[DEFAULT] rpc_response_timeout``.
    rpc_response_timeout: float = 60.0

    @classmethod
    def zero(cls) -> CinderTimings:
        return cls(capabilities_interval=0, create_volume=0)

    @classmethod
    def coerce(cls, value: CinderTimings | dict | str | None) -> CinderTimings:
        return coerce_timings(cls, value)


# --------------------------------------------------------------------------- helpers


def request_context(project_id: str | None = "demo", user_id: str | None = "demo",
                    is_admin: bool = False) -> dict:
    """A Cinder request context (``cinder/context.py``): read_deleted too."""
    return service_context(project_id, user_id, is_admin, read_deleted="no",
                           timestamp=datetime.now(timezone.utc).isoformat())


class CinderUnavailable(APIUnavailable):
    """cinder-api is stopped."""


@dataclass(eq=False)
class Volume:
    """A volume: ``history`` is its statuses as written to the database; ``wait()``
    returns ``available`` or ``error``."""

    id: str
    name: str
    size: int
    volume_type: str | None = None
    project_id: str = "demo"
    host: str | None = None  # node1@lvm#lvm once scheduled
    request_id: str = ""
    status: str = STATUS_CREATING
    history: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self.history = [self.status]

    def __repr__(self) -> str:
        return f"<Volume {self.name} {self.size} GB {self.status} host={self.host or '-'}>"

    def _set_status(self, status: str, **changes: Any) -> None:
        with self._cond:
            for name, value in changes.items():
                setattr(self, name, value)
            if status != self.status:
                self.status = status
                self.history.append(status)
            self._cond.notify_all()

    def wait(self, timeout: float = 10.0) -> str:
        """Wait until the volume is ``available`` or in ``error``; return its status."""
        with self._cond:
            self._cond.wait_for(lambda: self.status in (STATUS_AVAILABLE, STATUS_ERROR),
                                timeout)
            return self.status

    def as_dict(self) -> dict:
        """What travels in the messages (real Cinder sends an oslo.versionedobjects
        ``Volume``: the same fields inside ``versioned_object.data``)."""
        return {"id": self.id, "display_name": self.name, "size": self.size,
                "status": self.status, "host": self.host, "project_id": self.project_id,
                "volume_type": self.volume_type}


class _Database:
    """The Cinder database, shared by the three services (each has access to it)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.volumes: dict[str, Volume] = {}

    def volume(self, volume_id: str) -> Volume | None:
        with self.lock:
            return self.volumes.get(volume_id)


def _notifier(service: Service, publisher_id: str, enabled: bool) -> rpc.Notifier:
    return rpc.get_notifier(service.transport, publisher_id=publisher_id,
                            driver="messagingv2" if enabled else "noop")


# --------------------------------------------------------------------------- services


class CinderAPI(Service):
    """cinder-api: a WSGI service with no RPC server, only RPC clients."""

    binary = API_BINARY
    topic = None
    control_exchange = CONTROL_EXCHANGE

    def __init__(self, host: str, db: _Database, url: str | None = None,
                 trace: Trace | None = None, options: dict | None = None) -> None:
        super().__init__(host, url, trace, options)
        self.db = db
        #: ``cinder/scheduler/rpcapi.py:SchedulerAPI``.
        self.scheduler_rpcapi = self.client(SCHEDULER_TOPIC, version=RPC_DEFAULT_VERSION)

    def create_volume(self, ctxt: dict, size: int, name: str, volume_type: str | None = None,
                      extra_specs: dict | None = None) -> Volume:
        if not self.running:
            raise CinderUnavailable(_("{service} is stopped: its API does not answer.",
                                      service=self.name))
        volume = Volume(str(uuid.uuid4()), name, size, volume_type, ctxt["project_id"],
                        request_id=ctxt["request_id"])
        with self.db.lock:
            self.db.volumes[volume.id] = volume
        request_spec = {"volume_id": volume.id, "volume_properties": {"size": size},
                        "volume_type": {"name": volume_type, "extra_specs": extra_specs or {}}
                        if volume_type else None}
        self.scheduler_rpcapi.cast(ctxt, "create_volume", volume=volume.as_dict(),
                                   snapshot_id=None, image_id=None, request_spec=request_spec,
                                   filter_properties={}, backup_id=None)
        return volume


class SchedulerManager:
    """``cinder/scheduler/manager.py``: the endpoint of ``cinder-scheduler``."""

    target = rpc.Target(version=SCHEDULER_RPC_API_VERSION)

    def __init__(self, scheduler: CinderScheduler) -> None:
        self.scheduler = scheduler

    def update_service_capabilities(self, ctxt: dict, service_name: str, host: str,
                                    capabilities: dict, cluster_name: str | None = None,
                                    timestamp: str | None = None, **kwargs: Any) -> None:
        with self.scheduler.lock:
            self.scheduler.backends[host] = capabilities
            self.scheduler.received_from.append(host)

    def create_volume(self, ctxt: dict, volume: dict, request_spec: dict | None = None,
                      filter_properties: dict | None = None, **kwargs: Any) -> None:
        self.scheduler.schedule_create_volume(ctxt, volume, request_spec or {})

    def get_pools(self, ctxt: dict, filters: dict | None = None, **kwargs: Any) -> list[dict]:
        with self.scheduler.lock:
            return [{"name": f"{backend}#{pool['pool_name']}", "capabilities": pool}
                    for backend, caps in sorted(self.scheduler.backends.items())
                    for pool in caps.get("pools", [])]


class CinderScheduler(Service):
    """cinder-scheduler: RPC server on ``cinder-scheduler``; picks a backend.

    Its filter scheduler keeps what volume services report with
    ``update_service_capabilities`` (fanout), filters (capacity, the volume type's
    ``volume_backend_name``) and weighs (most free space first), then casts
    ``create_volume`` to the chosen backend (``cinder/scheduler/filter_scheduler.py``).
    Once started, it asks every volume service for its capabilities: a fanout cast
    ``publish_service_capabilities`` to ``cinder-volume_fanout``
    (``SchedulerManager.init_host_with_rpc``).
    """

    binary = SCHEDULER_BINARY
    topic = SCHEDULER_TOPIC
    control_exchange = CONTROL_EXCHANGE

    def __init__(self, host: str, db: _Database, url: str | None = None,
                 trace: Trace | None = None, notifications: bool = False,
                 options: dict | None = None) -> None:
        super().__init__(host, url, trace, options)
        self.db = db
        self.lock = threading.Lock()
        #: Capabilities by backend (``node1@lvm``), as last reported.
        self.backends: dict[str, dict] = {}
        #: Every backend that reported, in order (once per report).
        self.received_from: list[str] = []
        #: ``cinder/volume/rpcapi.py:VolumeAPI``.
        self.volume_rpcapi = self.client(VOLUME_TOPIC, version=RPC_DEFAULT_VERSION)
        self.notifier = _notifier(self, f"scheduler.{host}", notifications)

    def endpoints(self) -> list[Any]:
        return [SchedulerManager(self)]

    def on_start(self) -> None:
        self.request_service_capabilities()

    def request_service_capabilities(self) -> None:
        """``VolumeAPI.publish_service_capabilities``: fanout to every volume service."""
        ctxt = request_context(project_id=None, user_id=None, is_admin=True)
        self.volume_rpcapi.prepare(fanout=True).cast(ctxt, "publish_service_capabilities")

    def _candidates(self, size: int, extra_specs: dict) -> list[tuple[str, dict]]:
        wanted = extra_specs.get("volume_backend_name")
        with self.lock:
            found = []
            for backend, caps in self.backends.items():
                if wanted and caps.get("volume_backend_name") != wanted:
                    continue  # CapabilitiesFilter
                for pool in caps.get("pools", []):
                    if pool["free_capacity_gb"] >= size:  # CapacityFilter
                        found.append((f"{backend}#{pool['pool_name']}", pool))
            # CapacityWeigher: the most free space first
            return sorted(found, key=lambda c: (-c[1]["free_capacity_gb"], c[0]))

    def schedule_create_volume(self, ctxt: dict, volume: dict, request_spec: dict) -> None:
        db_volume = self.db.volume(volume["id"])
        volume_type = request_spec.get("volume_type") or {}
        candidates = self._candidates(volume["size"], volume_type.get("extra_specs") or {})
        if not candidates:
            LOG.warning("Failed to schedule_create_volume: No valid backend was found.")
            if db_volume is not None:
                db_volume._set_status(STATUS_ERROR)
            self.notifier.error(ctxt, "scheduler.create_volume", {
                "request_spec": request_spec, "volume_id": volume["id"], "state": "error",
                "method": "create_volume", "reason": "No valid backend was found."})
            return
        host, pool = candidates[0]
        with self.lock:
            pool["free_capacity_gb"] -= volume["size"]  # consume_from_volume
        if db_volume is not None:  # driver.volume_update_db: host and scheduled_at
            db_volume._set_status(db_volume.status, host=host)
        volume = dict(volume, host=host)
        # VolumeAPI._get_cctxt(host): topic cinder-volume.<host@backend>, server <host>
        backend = extract_host(host)
        cctxt = self.volume_rpcapi.prepare(topic=f"{VOLUME_TOPIC}.{backend}",
                                           server=extract_host(backend, "host"))
        cctxt.cast(ctxt, "create_volume", request_spec=request_spec,
                   filter_properties={}, allow_reschedule=True, volume=volume)


class VolumeManager:
    """``cinder/volume/manager.py``: the endpoint of both cinder-volume RPC servers."""

    target = rpc.Target(version=VOLUME_RPC_API_VERSION)

    def __init__(self, service: CinderVolume) -> None:
        self.service = service

    def create_volume(self, ctxt: dict, volume: dict, request_spec: dict | None = None,
                      filter_properties: dict | None = None, allow_reschedule: bool = True,
                      **kwargs: Any) -> None:
        self.service.create_volume(ctxt, volume)

    def publish_service_capabilities(self, ctxt: dict, **kwargs: Any) -> None:
        self.service.publish_service_capabilities()


class CinderVolume(Service):
    """cinder-volume for one backend: host ``node1@lvm``, two RPC servers (see the module).

    Its periodic ``_publish_service_capabilities`` fans ``update_service_capabilities``
    out to ``cinder-scheduler_fanout`` (``cinder/scheduler/rpcapi.py``), version 3.3.
    Creating a volume sends ``volume.create.start`` and ``volume.create.end`` (publisher
    ``volume.<host>``) when notifications are enabled
    (``cinder/volume/flows/manager/create_volume.py``).
    """

    binary = VOLUME_BINARY
    topic = VOLUME_TOPIC
    control_exchange = CONTROL_EXCHANGE

    def __init__(self, host: str, db: _Database, backend: str | None = None,
                 capacity_gb: float = 100, url: str | None = None, trace: Trace | None = None,
                 timings: CinderTimings | None = None, notifications: bool = False,
                 options: dict | None = None) -> None:
        if "@" not in host:
            raise CourseError(_("A volume service's host is hostname@backend, not {host}.",
                                host=host))
        self.timings = timings or CinderTimings()
        options = {"rpc_response_timeout": self.timings.rpc_response_timeout, **(options or {})}
        super().__init__(host, url, trace, options)
        self.db = db
        self.backend = backend or host.split("@", 1)[1]
        self.capacity_gb = capacity_gb
        self.allocated_gb = 0.0
        self._lock = threading.Lock()
        self.scheduler_rpcapi = self.client(SCHEDULER_TOPIC, version=RPC_DEFAULT_VERSION)
        self.notifications = notifications
        self._notifiers: dict[str, rpc.Notifier] = {}

    def targets(self) -> list[rpc.Target]:
        return [rpc.Target(topic=VOLUME_TOPIC, server=self.host),
                rpc.Target(topic=f"{VOLUME_TOPIC}.{self.host}",
                           server=extract_host(self.host, "host"))]

    def endpoints(self) -> list[Any]:
        return [VolumeManager(self)]

    def on_start(self) -> None:
        self.every(self.timings.capabilities_interval, self.publish_service_capabilities,
                   "_publish_service_capabilities")

    def capabilities(self) -> dict:
        """What the driver's ``get_volume_stats`` reports (an LVM-like driver)."""
        free = self.capacity_gb - self.allocated_gb
        return {"volume_backend_name": self.backend, "vendor_name": "Open Source",
                "driver_version": "3.0.0", "storage_protocol": "iSCSI",
                "pools": [{"pool_name": self.backend, "total_capacity_gb": self.capacity_gb,
                           "free_capacity_gb": free, "allocated_capacity_gb": self.allocated_gb,
                           "reserved_percentage": 0, "thin_provisioning_support": False}]}

    def publish_service_capabilities(self) -> None:
        ctxt = request_context(project_id=None, user_id=None, is_admin=True)
        cctxt = self.scheduler_rpcapi.prepare(fanout=True, version="3.3")
        cctxt.cast(ctxt, "update_service_capabilities", service_name="volume",
                   host=self.host, capabilities=self.capabilities(), cluster_name=None,
                   timestamp=datetime.now(timezone.utc).isoformat())

    def _notify(self, ctxt: dict, volume: Volume | dict, suffix: str) -> None:
        """``volume_utils.notify_about_volume_usage``: publisher ``volume.<volume host>``."""
        data = volume.as_dict() if isinstance(volume, Volume) else volume
        publisher = f"volume.{data.get('host') or self.host}"
        notifier = self._notifiers.get(publisher)
        if notifier is None:
            notifier = self._notifiers[publisher] = _notifier(self, publisher,
                                                              self.notifications)
        notifier.info(ctxt, f"volume.{suffix}", {
            "volume_id": data["id"], "tenant_id": data.get("project_id"),
            "display_name": data.get("display_name"), "size": data["size"],
            "status": data["status"], "host": data.get("host"),
            "volume_type": data.get("volume_type")})

    def create_volume(self, ctxt: dict, volume: dict) -> None:
        db_volume = self.db.volume(volume["id"])
        self._notify(ctxt, db_volume or volume, "create.start")
        if self.timings.create_volume > 0:
            time.sleep(self.timings.create_volume)
        with self._lock:
            full = self.allocated_gb + volume["size"] > self.capacity_gb
            if not full:
                self.allocated_gb += volume["size"]
        if full:
            if db_volume is not None:
                db_volume._set_status(STATUS_ERROR)
            return
        if db_volume is not None:
            db_volume._set_status(STATUS_AVAILABLE, host=volume.get("host"))
        self._notify(ctxt, db_volume or dict(volume, status=STATUS_AVAILABLE), "create.end")


# --------------------------------------------------------------------------- the facade


class CinderCloud(Cloud):
    """cinder-api and cinder-scheduler on a controller, one cinder-volume per
    ``host@backend``; every message on exchange ``openstack``.

    >>> with CinderCloud(volume_hosts=["node1"], backends=["lvm"], timings="zero") as cinder:
    ...     volume = cinder.create_volume(1)
    ...     volume.wait(), volume.history
    ('available', ['creating', 'available'])
    """

    def __init__(self, url: str | None = None, trace: Trace | None = None,
                 volume_hosts: Iterable[str] = ("storage1",),
                 backends: Iterable[str] = ("lvm",), capacity_gb: float = 100,
                 timings: CinderTimings | dict | str | None = None,
                 controller: str = "controller", notifications: bool = False,
                 options: dict | None = None) -> None:
        super().__init__(url, trace)
        self.timings = CinderTimings.coerce(timings)
        self.db = _Database()
        options = {"rpc_response_timeout": self.timings.rpc_response_timeout, **(options or {})}
        common = dict(url=url, trace=self.trace, options=options)
        self.api = CinderAPI(controller, self.db, **common)
        self.scheduler = CinderScheduler(controller, self.db, notifications=notifications,
                                         **common)
        self.backends = list(dict.fromkeys(backends))
        self.volumes = {
            f"{host}@{backend}": CinderVolume(f"{host}@{backend}", self.db, backend,
                                              capacity_gb, timings=self.timings,
                                              notifications=notifications, **common)
            for host in dict.fromkeys(volume_hosts) for backend in self.backends}
        #: Volume types, as ``openstack volume type create --property
        #: volume_backend_name=<backend>`` makes them: one per backend.
        self.volume_types = {backend: {"volume_backend_name": backend}
                             for backend in self.backends}

    def __repr__(self) -> str:
        return f"<CinderCloud backends={sorted(self.volumes)}>"

    @property
    def services(self) -> list[Service]:
        return [self.api, self.scheduler, *self.volumes.values()]

    def start(self, timeout: float = 10.0) -> CinderCloud:
        """Start the volume services, then the scheduler (which asks them for their
        capabilities), then the API; return once the scheduler knows every backend."""
        self._check_startable()
        for volume in self.volumes.values():
            volume.start()
        self.scheduler.start()
        self.api.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not set(self.volumes) <= set(
                self.scheduler.backends):
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop every process and close its connections (in parallel)."""
        self._stopped = True
        cleanup_together(reversed(self.services))

    def create_volume(self, size: int = 1, name: str | None = None,
                      volume_type: str | None = None,
                      caller: Service | str | None = None) -> Volume:
        """``openstack volume create --size <size>``: returns at once (202, ``creating``);
        ``volume.wait()`` waits for ``available`` or ``error``."""
        if volume_type is not None and volume_type not in self.volume_types:
            raise NotFound(_("No volume type {name}: choose one of {names}.",
                             name=volume_type, names=", ".join(self.volume_types)))
        ctxt = request_context()
        record_http(self.trace, caller or "openstack", self.api.name, "POST",
                     f"/v3/{ctxt['project_id']}/volumes", ctxt["request_id"])
        return self.api.create_volume(ctxt, size, name or f"volume-{len(self.db.volumes) + 1}",
                                      volume_type, self.volume_types.get(volume_type or ""))


__all__ = [
    "CONTROL_EXCHANGE", "SCHEDULER_TOPIC", "VOLUME_TOPIC", "CinderAPI", "CinderCloud",
    "CinderScheduler", "CinderTimings", "CinderUnavailable", "CinderVolume", "NotFound",
    "Volume", "extract_host", "request_context",
]
