"""The base of every simulated OpenStack service: a binary, a host, a transport, RPC servers.

A service starts like ``nova/service.py`` starts one: an RPC server on
``Target(topic=<topic>, server=<host>)`` (so queues ``<topic>``,
``<topic>.<host>`` and ``<topic>_fanout_<uuid>``), then its periodic tasks.
Stopping it stops consuming: the queues stay, and what is sent meanwhile waits
in them, exactly as when a real service process is down.  Pausing it freezes it instead
(``kill -STOP``): its connections stay open but silent, so the broker closes them once
they miss their AMQP heartbeats; resuming it lets it find that out and reconnect.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

from .. import rpc
from ..errors import CourseError, ServiceStopped
from ..i18n import _
from ..trace import Trace

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class HTTPCall:
    """An interaction that is HTTP in real OpenStack: recorded, never sent over the bus."""

    caller: str
    callee: str
    method: str
    path: str


class Service:
    """One process of an OpenStack binary on a host.

    Subclasses set ``binary``, ``topic`` (None for API-only services such as nova-api),
    ``control_exchange`` and ``endpoints()``; they may add periodic tasks with
    :meth:`every` in :meth:`on_start`.
    """

    binary = "service"
    topic: str | None = None
    control_exchange = "openstack"
    #: Modules whose exceptions may cross the bus and be raised again on the caller's side
    #: (``allowed_remote_exmods``; Nova allows ``nova.exception``).
    allowed_remote_exmods: tuple[str, ...] = ()

    def __init__(self, host: str, url: str | None = None, trace: Trace | None = None,
                 options: dict | None = None, serializer: Any = None) -> None:
        self.host = host
        self.trace = trace
        #: Paused or not (:meth:`pause`): every transport of this process shares it.
        self.gate = rpc.Gate()
        self.transport = rpc.get_transport(url, self.control_exchange, service=self.name,
                                           trace=trace, options=options,
                                           allowed_remote_exmods=self.allowed_remote_exmods,
                                           gate=self.gate)
        self.serializer = serializer
        self._servers: list[rpc.RPCServer] = []
        self._timers: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.running = False

    @property
    def name(self) -> str:
        """How the trace and diagrams name this process: ``nova-compute:compute1``."""
        return f"{self.binary}:{self.host}"

    @property
    def state(self) -> str:
        """"running", "paused" or "stopped"."""
        if not self.running:
            return "stopped"
        return "paused" if self.gate.paused else "running"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.state}>"

    # -- what subclasses provide -------------------------------------------------------

    def endpoints(self) -> list[Any]:
        return []

    def targets(self) -> list[rpc.Target]:
        """The RPC servers to run; most services have one, on (topic, host)."""
        return [rpc.Target(topic=self.topic, server=self.host)] if self.topic else []

    def listeners(self) -> list[tuple[rpc.Target, list[Any]]]:
        """Each RPC server with its endpoints; override when topics have different ones
        (neutron-server answers ``q-plugin`` and ``q-reports-plugin`` differently)."""
        endpoints = self.endpoints()
        return [(target, endpoints) for target in self.targets()]

    def on_start(self) -> None:
        """Called once the RPC servers consume: start periodic tasks here."""

    def on_stop(self) -> None:
        """Called after the RPC servers stopped consuming."""

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> Service:
        if self.running:
            return self
        self._stopping.clear()
        self._servers = [rpc.get_rpc_server(self.transport, target, endpoints,
                                            serializer=self.serializer)
                         for target, endpoints in self.listeners()]
        for server in self._servers:
            server.start()
        self.running = True
        self.on_start()
        return self

    def pause(self) -> Service:
        """Freeze the process, like ``kill -STOP``: its consumers take and ack nothing, its
        periodic tasks wait, its connections send no AMQP heartbeat, but they stay open
        (on RabbitMQ and on the embedded broker alike, the broker closes them once they
        miss their heartbeats: ``heartbeat_timeout_threshold``)."""
        if not self.running:
            raise ServiceStopped(_("{service} is stopped: start it before pausing it.",
                                   service=self.name))
        self.gate.pause()
        for transport in self.transports():
            transport.nudge()
        return self

    def resume(self) -> Service:
        """Let the process go on, like ``kill -CONT``: it finds what the broker did
        meanwhile (a connection closed for missed heartbeats), reconnects with oslo's
        waits, declares its queues again and consumes what waited (redelivered)."""
        self.gate.resume()
        return self

    def transports(self) -> list[rpc.Transport]:
        """Every transport of this process (Nova's super-conductor has one per cell)."""
        return [self.transport]

    def _thaw_to_stop(self) -> None:
        """Stopping a paused process: its consumers stop without taking anything more,
        then its other threads (workers, timers) go on to their end."""
        if not self.gate.paused:
            return
        self._stopping.set()
        for server in self._servers:
            server.stop()
        self.gate.resume()

    def stop(self) -> Service:
        """Like killing the process's consumers: its queues stay, messages wait in them."""
        if not self.running:
            return self
        self._thaw_to_stop()
        self.running = False
        self._stopping.set()
        self.stop_consuming()
        for timer in self._timers:
            if timer is not threading.current_thread():
                timer.join(5)
        self._timers.clear()
        self.on_stop()
        return self

    def stop_consuming(self) -> None:
        """Stop the RPC servers alone (requests wait in the queues), and let the requests
        being handled finish; the timers (the heartbeat) go on until :meth:`stop`."""
        for server in self._servers:
            server.stop()
        for server in self._servers:
            server.wait()

    def cleanup(self) -> None:
        """Stop, and close the transport's connections (the process exits)."""
        self.stop()
        self.transport.cleanup()

    # -- helpers for subclasses ------------------------------------------------------------

    def every(self, interval: float, task: Callable[[], None], name: str = "") -> None:
        """Run ``task`` every ``interval`` seconds until the service stops (a local timer,
        like oslo.service's periodic tasks: the timer itself sends nothing)."""
        if interval <= 0:
            return

        def loop() -> None:
            self.gate.enlist()
            while not self._stopping.wait(interval):
                self.gate.hold(self._stopping)  # a paused process runs no periodic task
                if self._stopping.is_set():
                    return
                try:
                    task()
                except Exception as error:  # a periodic task never kills its service
                    LOG.warning("%s: periodic task %s failed: %s", self.name,
                                name or task.__name__, error)

        thread = threading.Thread(target=loop, name=f"{self.name} {name or task.__name__}",
                                  daemon=True)
        self._timers.append(thread)
        thread.start()

    def client(self, topic: str, **target: Any) -> rpc.RPCClient:
        """An RPC client of this process (its transport, so its reply queue)."""
        return rpc.get_rpc_client(self.transport, rpc.Target(topic=topic, **target),
                                  serializer=self.serializer)

    def http(self, callee: str, method: str, path: str, request_id: str = "") -> HTTPCall:
        """Note an HTTP interaction (Placement, Neutron, Glance...): off the bus, but traced."""
        record_http(self.trace, self, callee, method, path, request_id)
        return HTTPCall(self.name, callee, method, path)


def request_context(project_id: str | None = "demo", user_id: str | None = "demo",
                    is_admin: bool = False, **fields: object) -> dict:
    """A request context as oslo.context writes it into ``_context_*`` entries: a fresh
    request id each time; each project adds its own ``fields``."""
    return {"request_id": f"req-{uuid.uuid4()}", "user_id": user_id, "project_id": project_id,
            "is_admin": is_admin, "roles": ["admin"] if is_admin else ["member", "reader"],
            **fields}


def cleanup_together(services: Iterable[Service]) -> None:
    """Stop services and close their connections in parallel (on RabbitMQ each takes a
    moment to notice it must stop)."""
    services = list(services)
    if len(services) < 2:
        for service in services:
            service.cleanup()
        return
    with ThreadPoolExecutor(len(services), thread_name_prefix="cleanup") as pool:
        for future in [pool.submit(service.cleanup) for service in services]:
            future.result()


def record_http(trace: Trace | None, caller: Service | str, callee: str, method: str,
                path: str, request_id: str = "") -> None:
    """Record an HTTP request in the trace: it never goes through the broker."""
    if isinstance(caller, Service):
        trace = caller.trace if caller.trace is not None else trace
        caller = caller.name
    if trace is not None:
        trace.record("http", "http", caller, method=f"{method} {path}", peer=callee,
                     request_id=request_id)


def coerce_timings(cls: Any, value: Any) -> Any:
    """A service's timings from None (defaults), "zero", a dict of changes or an instance."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if value == "zero":
        return cls.zero()
    if isinstance(value, dict):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise CourseError(_("Unknown timing {name}: use one of {names}.",
                                name=unknown[0], names=", ".join(sorted(known))))
        return cls(**value)
    raise CourseError(_("Timings must be None, \"zero\", a dict or {cls}.", cls=cls.__name__))
