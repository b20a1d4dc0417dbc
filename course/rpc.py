"""OpenStack's RPC, as oslo.messaging does it on RabbitMQ, written on kombu so you can read it.

Every OpenStack service talks to the others through oslo.messaging.  This module
keeps oslo.messaging's public names (``get_transport``, ``Target``,
``get_rpc_server``, ``get_rpc_client``, ``prepare``, ``cast``, ``call``,
``get_notifier``...) and its wire conventions, so a real oslo.messaging client or
server on the same broker cannot tell the difference.  What it declares:

=================  ===================================  ============================  =========
what               exchange (type)                      queue                         key
=================  ===================================  ============================  =========
RPC to any server  control exchange, e.g. nova (topic)  ``T``, e.g. ``compute``       ``T``
RPC to one server  the same                             ``T.H``, e.g. ``compute.c1``  ``T.H``
fanout RPC         ``T_fanout`` (fanout, auto-delete)   ``T_fanout_<uuid>``, one per  ``T``
                                                        server
replies to call()  the default exchange ``""``          ``reply_<uuid>``, one per     the queue
                                                        process
notifications      control exchange (topic)             ``<topic>.<priority>``        the same
=================  ===================================  ============================  =========

Reply and fanout queues expire after ``rabbit_transient_queues_ttl`` (30 min) unused;
topic queues never do.  Nothing is exclusive.  Read from the top: a cast is
:meth:`RPCClient.cast` then :meth:`Transport.publish`; a call adds the
:class:`ReplyWaiter`; the server side is :class:`RPCServer` (acknowledge, dispatch,
reply); notifications are :class:`Notifier` and :class:`NotificationListener`.
"""

from __future__ import annotations

import functools
import json
import logging
import queue as queue_module
import sys
import threading
import time
import traceback
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import kombu

from . import broker
from .errors import BrokerUnreachable, CourseError
from .i18n import _
from .trace import Trace
from .transport_url import TransportURL, mask_url, parse_transport_url
from .wire import (
    SECRET_CONTEXT_KEYS,
    deserialize_msg,
    pack_context,
    serialize_msg,
    unpack_context,
)

LOG = logging.getLogger(__name__)

#: The options of ``[DEFAULT]`` and ``[oslo_messaging_rabbit]`` this module honours, with
#: oslo.messaging's defaults.  A transport_url query (``?rabbit_transient_queues_ttl=60``)
#: or ``get_transport(..., options=...)`` overrides them.
DEFAULTS: dict[str, Any] = {
    "rpc_response_timeout": 60,
    "rabbit_transient_queues_ttl": 1800,
    "amqp_durable_queues": False,
    "amqp_auto_delete": False,
    "rabbit_qos_prefetch_count": 0,
    "kombu_missing_consumer_retry_timeout": 60,
    "rabbit_retry_interval": 1,
    "rabbit_retry_backoff": 2,
    "rabbit_interval_max": 30,
    "executor_thread_pool_size": 64,
}

#: Duplicates are detected among the last 16 ``_unique_id`` values seen (oslo's _MsgIdCache).
DUPLICATE_WINDOW = 16
#: On RabbitMQ, how often a waiting consumer looks whether it was asked to stop (the
#: embedded broker wakes it at once instead).
STOP_CHECK_SECONDS = 0.25


# --------------------------------------------------------------------------- errors


class MessagingException(CourseError):
    """Base class of the errors oslo.messaging raises."""


class MessagingTimeout(MessagingException):
    """No reply came back in time: the callee is down, slow, or its queue has no consumer."""


class MessageDeliveryFailure(MessagingException):
    """The message could not be handed to the broker."""


class MessageUndeliverable(MessagingException):
    """A ``mandatory`` message reached no queue (a reply whose caller has gone)."""


class InvalidTarget(MessagingException, ValueError):
    """A target that cannot be used this way (a call to a fanout target, no topic)."""


class RemoteError(MessagingException):
    """The remote method raised an exception the caller may not rebuild.

    As in oslo.messaging: ``exc_type`` is the remote class name, ``value`` its message and
    ``traceback`` the remote traceback, a list of lines.
    """

    def __init__(self, exc_type: str | None = None, value: str | None = None,
                 traceback: list[str] | None = None) -> None:
        self.exc_type, self.value, self.traceback = exc_type, value, traceback
        super().__init__(f"Remote error: {exc_type} {value}\n{traceback}.")

    def _render_traceback_(self) -> list[str]:
        return [f"RemoteError: {self.exc_type}: {self.value}"]


class RPCVersionCapError(MessagingException):
    """The client would send a version newer than its ``version_cap`` allows."""

    def __init__(self, version: str, version_cap: str) -> None:
        self.version, self.version_cap = version, version_cap
        super().__init__(f"Requested message version, {version} is incompatible.  It needs to "
                         f"be equal in major version and less than or equal in minor version "
                         f"as the specified version cap {version_cap}.")


# The dispatcher's errors travel to the caller under the module name of oslo.messaging's
# own classes (``remote_module``), so the failure on the wire reads exactly as a real
# server's would.


class NoSuchMethod(MessagingException, AttributeError):
    """Raised on the server: no endpoint has this method."""

    remote_module = "oslo_messaging.rpc.dispatcher"

    def __init__(self, method: str) -> None:
        self.method = method
        super().__init__(f"Endpoint does not support RPC method {method}")


class UnsupportedVersion(MessagingException):
    """Raised on the server: no endpoint speaks this version in this namespace."""

    remote_module = "oslo_messaging.rpc.dispatcher"

    def __init__(self, version: str, method: str | None = None) -> None:
        self.version, self.method = version, method
        text = f"Endpoint does not support RPC version {version}"
        super().__init__(f"{text}. Attempted method: {method}" if method else text)


class ExpectedException(Exception):
    """Wraps an exception an endpoint raises on purpose: the caller gets the inner one, and
    the server does not log it as a failure (see :func:`expected_exceptions`)."""

    def __init__(self) -> None:
        self.exc_info = sys.exc_info()


def expected_exceptions(*exceptions: type[BaseException]) -> Callable:
    """Decorator for endpoint methods: these exceptions are part of the method's contract."""

    def outer(func: Callable) -> Callable:
        @functools.wraps(func)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except exceptions:
                raise ExpectedException() from None
        return inner

    return outer


class NotificationResult:
    HANDLED = "handled"
    REQUEUE = "requeue"


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """Where a message goes (client side) or what a server listens to, as in oslo.messaging."""

    exchange: str | None = None
    topic: str | None = None
    namespace: str | None = None
    version: str | None = None
    server: str | None = None
    fanout: bool | None = None
    legacy_namespaces: tuple[str, ...] = ()

    def __call__(self, **changes: Any) -> Target:
        return replace(self, **changes)

    @property
    def accepted_namespaces(self) -> list[str | None]:
        return [self.namespace, *self.legacy_namespaces]


@functools.lru_cache(maxsize=1024)
def version_is_compatible(implemented: str | None, requested: str | None) -> bool:
    """Same major version, and a minor (then revision) no newer than the server's."""
    if implemented is None:
        return True
    if requested is None:
        return False
    want = [int(p) for p in requested.split(".")] + [0, 0]
    have = [int(p) for p in implemented.split(".")] + [0, 0]
    return want[0] == have[0] and tuple(want[1:3]) <= tuple(have[1:3])


class NoOpSerializer:
    """Turns arguments and contexts into JSON-able values and back (Nova's turns objects)."""

    def serialize_entity(self, ctxt: dict, entity: Any) -> Any:
        return entity

    def deserialize_entity(self, ctxt: dict, entity: Any) -> Any:
        return entity

    def serialize_context(self, ctxt: Any) -> dict:
        return dict(ctxt or {})

    def deserialize_context(self, ctxt: dict) -> dict:
        return ctxt


def serialize_remote_exception(error: BaseException) -> str:
    """The ``failure`` of a reply: what the caller needs to raise the error again."""
    cls = type(error)
    data = {
        "class": cls.__name__.removesuffix("_Remote"),
        "module": getattr(cls, "remote_module", cls.__module__).removesuffix("_Remote"),
        "message": str(error),
        "tb": traceback.format_exception(cls, error, error.__traceback__),
        "args": [a if isinstance(a, (str, int, float, bool, type(None))) else str(a)
                 for a in error.args],
        "kwargs": getattr(error, "kwargs", {}),
    }
    return json.dumps(data)


def deserialize_remote_exception(data: str, allowed_modules: Iterable[str]) -> Exception:
    """Rebuild the remote exception when its module is allowed (Python's built-in
    exceptions always are), else a :class:`RemoteError`."""
    failure = json.loads(data)
    trace = failure.get("tb", [])
    message = failure.get("message", "") + "\n" + "\n".join(trace)
    name, module = failure.get("class"), failure.get("module")
    if module in ("exceptions", "builtins"):
        module = "builtins"
    elif module not in allowed_modules:
        return RemoteError(name, failure.get("message"), trace)
    try:
        __import__(module)
        cls = getattr(sys.modules[module], name)
        if not issubclass(cls, Exception):
            raise TypeError(name)
        error = cls(*failure.get("args", []), **failure.get("kwargs", {}))
    except (AttributeError, TypeError, ImportError) as problem:
        LOG.warning("Failed to rebuild remote exception due to error: %s", problem)
        return RemoteError(name, failure.get("message"), trace)
    # The same class with "_Remote" added, whose text carries the remote traceback.
    remote_type = type(f"{name}_Remote", (type(error),), {"__str__": lambda self: message})
    remote_type.__module__ = f"{module}_Remote"
    try:
        error.__class__ = remote_type
    except TypeError:  # built-in exceptions keep their class: the text goes in args[0]
        error.args = (message, *error.args[1:])
    return error


# --------------------------------------------------------------------------- the transport


class Transport:
    """One process's link to the broker: a sending connection and, once it calls, a reply queue.

    ``service`` names the process in the trace ("nova-compute:cmp1").
    """

    def __init__(self, url: str | None = None, control_exchange: str = "openstack",
                 service: str = "", trace: Trace | None = None,
                 allowed_remote_exmods: Iterable[str] = (),
                 options: dict | None = None) -> None:
        self.url = broker.configured_url(url)
        self.parsed: TransportURL = parse_transport_url(self.url)
        self.control_exchange = control_exchange
        self.service = service or "client"
        self.trace = trace
        self.allowed_remote_exmods = tuple(allowed_remote_exmods)
        self.conf = {**DEFAULTS, **self.parsed.query, **(options or {})}
        self._lock = threading.Lock()  # one sending connection, shared by every thread
        self._conn: kombu.Connection | None = None
        self._producer: kombu.Producer | None = None
        self._declared: set[str] = set()  # exchanges and queues declared on this connection
        self._exchanges: dict[str, kombu.Exchange] = {}
        self._reply_waiter: ReplyWaiter | None = None
        self._reply_lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return (f"<Transport {mask_url(self.url)} exchange={self.control_exchange!r} "
                f"service={self.service!r}>")

    @functools.cached_property
    def is_embedded(self) -> bool:
        return broker.is_embedded(self.parsed)

    def connect(self, timeout: float = 5.0) -> kombu.Connection:
        return broker.connect(self.url, timeout=timeout)

    # -- exchanges every publisher declares before it publishes --------------------------

    def control_exchange_for(self, target: Target) -> kombu.Exchange:
        """The topic exchange of RPC and notifications: the target's, else ``nova``..."""
        name = target.exchange or self.control_exchange
        if name not in self._exchanges:  # built once: a kombu.Exchange is not free
            self._exchanges[name] = kombu.Exchange(
                name, "topic", durable=self.conf["amqp_durable_queues"],
                auto_delete=self.conf["amqp_auto_delete"])
        return self._exchanges[name]

    @staticmethod
    @functools.cache
    def fanout_exchange(topic: str) -> kombu.Exchange:
        return kombu.Exchange(f"{topic}_fanout", "fanout", durable=False, auto_delete=True)

    def transient_queue_arguments(self) -> dict:
        ttl = self.conf["rabbit_transient_queues_ttl"]
        return {"x-expires": ttl * 1000} if ttl else {}

    # -- publishing ----------------------------------------------------------------------

    def publish(self, exchange: kombu.Exchange | None, routing_key: str, msg: dict, kind: str,
                *, expiration: float | None = None, mandatory: bool = False,
                declare_queue: kombu.Queue | None = None, envelope: bool = True,
                deadline: float | None = None, request_id: str | None = None) -> None:
        """Hand one message to the broker; reconnect and retry until ``deadline``.

        ``exchange`` None is the default exchange (replies).  ``declare_queue`` is
        declared first (notifications: the publisher creates the queue, so nothing is
        lost before a listener starts).  A ``mandatory`` message that reaches no queue
        raises :class:`MessageUndeliverable`.
        """
        if self.trace is not None:
            self.trace.record(
                "publish", kind, self.service, exchange=exchange.name if exchange else "",
                routing_key=routing_key, method=msg.get("method", ""),
                request_id=msg.get("_context_request_id", "") if request_id is None
                else request_id, msg_id=msg.get("_msg_id", ""), unique_id=msg["_unique_id"],
                body=msg)
        body = serialize_msg(msg) if envelope else msg
        deadline = deadline or time.monotonic() + self.conf["rpc_response_timeout"]
        delay = self.conf["rabbit_retry_interval"]
        while True:
            try:
                with self._lock:
                    self._publish_once(exchange, routing_key, body, expiration, mandatory,
                                       declare_queue)
                return
            except MessageUndeliverable:
                if self.trace is not None:
                    self.trace.record("return", kind, self.service, routing_key=routing_key,
                                      msg_id=msg.get("_msg_id", ""),
                                      unique_id=msg["_unique_id"])
                raise
            except (*broker.connection_errors(), BrokerUnreachable) as error:
                with self._lock:
                    self._drop_connection()
                if self._closed or time.monotonic() + delay > deadline:
                    raise MessageDeliveryFailure(_(
                        "Could not send to the broker at {url}: {error}",
                        url=mask_url(self.url), error=mask_url(str(error)))) from None
                LOG.warning("AMQP server is unreachable: %s. Trying again in %s seconds.",
                            mask_url(str(error)), delay)
                time.sleep(delay)
                delay = min(delay + self.conf["rabbit_retry_backoff"],
                            self.conf["rabbit_interval_max"])
            except Exception:  # a channel error (406, 404...): the broker closed the channel
                with self._lock:
                    self._drop_connection()
                raise

    def _publish_once(self, exchange: kombu.Exchange | None, routing_key: str, body: dict,
                      expiration: float | None, mandatory: bool,
                      declare_queue: kombu.Queue | None) -> None:
        if self._producer is None:
            self._conn = self.connect()
            self._producer = kombu.Producer(self._conn.default_channel, on_return=_on_return)
            self._declared.clear()
        channel = self._producer.channel
        if exchange is not None and exchange.name not in self._declared:
            exchange(channel).declare()
            self._declared.add(exchange.name)
        if declare_queue is not None and declare_queue.name not in self._declared:
            declare_queue(channel).declare()
            self._declared.add(declare_queue.name)
        # kombu turns ``expiration`` (seconds) into the AMQP property, in milliseconds.
        self._producer.publish(body, exchange=exchange.name if exchange else "",
                               routing_key=routing_key, mandatory=mandatory,
                               expiration=expiration, serializer="json")

    def _drop_connection(self) -> None:
        self._producer = None
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # a connection the broker already dropped
                LOG.debug("closing a broken connection failed", exc_info=True)
            self._conn = None

    # -- replies -----------------------------------------------------------------------

    def reply_waiter(self) -> ReplyWaiter:
        """The process's one reply queue, created at its first call() and then reused."""
        waiter = self._reply_waiter
        if waiter is not None:
            return waiter
        with self._reply_lock:
            if self._reply_waiter is None:
                waiter = ReplyWaiter(self)
                waiter.start()  # raises at once if the broker is unreachable
                self._reply_waiter = waiter
            return self._reply_waiter

    def cleanup(self) -> None:
        """Close everything this transport opened (oslo: ``transport.cleanup()``).

        The reply queue itself stays on the broker until ``x-expires`` removes it.
        """
        self._closed = True
        with self._reply_lock:
            waiter, self._reply_waiter = self._reply_waiter, None
        if waiter is not None:
            waiter.stop()
        with self._lock:
            self._drop_connection()


def _on_return(exception: Exception, exchange: str, routing_key: str, message: Any) -> None:
    raise MessageUndeliverable(_("No queue {queue} for this message: it was returned.",
                                 queue=routing_key))


def get_transport(url: str | None = None, control_exchange: str = "openstack",
                  **kwargs: Any) -> Transport:
    """A transport to the broker the transport_url names (None: $COURSE_TRANSPORT_URL or
    the embedded broker).  Nova uses ``control_exchange="nova"``."""
    return Transport(url, control_exchange, **kwargs)


get_rpc_transport = get_transport
get_notification_transport = get_transport


# --------------------------------------------------------------------------- consuming


class ConsumerThread:
    """A thread consuming some queues on its own connection, reconnecting like oslo does.

    ``start()`` returns once the queues are declared and consumed, so that a message
    sent right after it is not lost; it raises at once if the broker is unreachable.
    """

    def __init__(self, transport: Transport, queues: list[kombu.Queue],
                 on_message: Callable[[kombu.Queue, dict, kombu.Message], None],
                 name: str, prefetch: int = 0, delete_on_stop: Iterable[str] = ()) -> None:
        self.transport = transport
        self.queues = queues
        self.on_message = on_message
        self.name = name
        self.prefetch = prefetch
        self.delete_on_stop = tuple(delete_on_stop)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._conn: kombu.Connection | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        delay = self.transport.conf["rabbit_retry_interval"]
        first = True
        while not self._stop.is_set():
            try:
                self._consume()
                delay = self.transport.conf["rabbit_retry_interval"]
            except Exception as error:  # a consumer thread must not die
                if first and not self._ready.is_set():
                    self._error = error if isinstance(error, CourseError) else BrokerUnreachable(
                        mask_url(f"{type(error).__name__}: {error}"))
                    self._ready.set()
                    return
                if self._stop.is_set():
                    break
                LOG.warning("%s: AMQP server unreachable: %s. Trying again in %s seconds.",
                            self.name, mask_url(str(error)), delay)
                self._stop.wait(delay)
                delay = min(delay + self.transport.conf["rabbit_retry_backoff"],
                            self.transport.conf["rabbit_interval_max"])
            first = False
        self._ready.set()

    def _consume(self) -> None:
        conn = self._conn = self.transport.connect()
        consumers: dict[str, kombu.Consumer] = {}
        try:
            channel = conn.channel()
            if self.prefetch:
                channel.basic_qos(0, self.prefetch, False)
            for queue in self.queues:
                queue(channel).declare()  # the queue, its exchange and its binding
                if queue.name not in consumers:  # a listener pool: one queue, many keys
                    consumers[queue.name] = kombu.Consumer(
                        channel, [queue(channel)], accept=["json"], auto_declare=False,
                        callbacks=[lambda body, message, q=queue: self._deliver(q, body,
                                                                                message)])
            for consumer in consumers.values():
                consumer.consume()
            self._ready.set()
            while not self._stop.is_set():
                try:
                    conn.drain_events(timeout=None if self.transport.is_embedded
                                      else STOP_CHECK_SECONDS)
                except TimeoutError:
                    pass
        finally:
            if self._stop.is_set():
                self._close(conn, consumers.values())
            else:  # lost: the next connection declares the same queues again
                self._close(conn, (), delete=False)
            self._conn = None

    def _deliver(self, queue: kombu.Queue, body: dict, message: kombu.Message) -> None:
        try:
            self.on_message(queue, body, message)
        except Exception:  # one bad message must not stop the consumer
            LOG.exception("%s: failed to handle a message from %s", self.name, queue.name)
            if not message.acknowledged:
                message.reject()  # dropped, as oslo's Consumer does: never redelivered

    def _close(self, conn: kombu.Connection, consumers: Iterable[kombu.Consumer],
               delete: bool = True) -> None:
        """Cancel the consumers (once this returns, the broker counts them gone), delete
        the queues to delete (the fanout queue), close the connection."""
        try:
            if conn.connected:
                for consumer in consumers:
                    consumer.cancel()
                if delete and self.delete_on_stop:
                    channel = conn.channel()
                    for name in self.delete_on_stop:
                        channel.queue_delete(name)
            conn.close()
        except Exception:  # the broker may be gone already
            LOG.debug("closing %s failed", self.name, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None and self.transport.is_embedded:
            broker.wake(conn)  # unblock drain_events at once
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


class _DuplicateFilter:
    """oslo's _MsgIdCache: the last 16 ``_unique_id`` values seen, to drop redeliveries."""

    def __init__(self) -> None:
        self._seen: deque[str] = deque(maxlen=DUPLICATE_WINDOW)
        self._lock = threading.Lock()

    def __contains__(self, unique_id: str | None) -> bool:
        return unique_id in self._seen

    def add(self, unique_id: str | None) -> None:
        with self._lock:
            if unique_id and unique_id not in self._seen:
                self._seen.append(unique_id)

    def is_duplicate(self, unique_id: str | None) -> bool:
        """Seen already?  If not, remember it."""
        with self._lock:
            if unique_id in self._seen:
                return True
            if unique_id:
                self._seen.append(unique_id)
            return False


class _ObsoleteReplyQueues:
    """oslo's ObsoleteReplyQueuesCache: reply queues found gone, so that the next replies
    to them are dropped at once instead of being retried for a minute each."""

    SIZE = 200
    TTL = 60.0

    def __init__(self) -> None:
        self._gone: OrderedDict[str, float] = OrderedDict()  # queue -> forgotten at
        self._lock = threading.Lock()

    def add(self, reply_q: str) -> None:
        with self._lock:
            self._gone[reply_q] = time.monotonic() + self.TTL
            self._gone.move_to_end(reply_q)
            while len(self._gone) > self.SIZE:
                self._gone.popitem(last=False)

    def __contains__(self, reply_q: str) -> bool:
        with self._lock:
            until = self._gone.get(reply_q)
            if until is not None and until < time.monotonic():
                del self._gone[reply_q]
                until = None
            return until is not None


# --------------------------------------------------------------------------- calls


class ReplyWaiter:
    """The reply queue ``reply_<uuid>`` of one process, and the callers waiting on it.

    Every call() of the process names this queue in ``_reply_q``; the server publishes
    its reply to the default exchange with that routing key, and the reply is matched
    to its caller by ``_msg_id`` (not by AMQP's correlation_id).
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.queue_name = f"reply_{uuid.uuid4().hex}"
        self._waiters: dict[str, queue_module.SimpleQueue] = {}  # msg_id -> its replies
        self._requests: dict[str, str] = {}  # msg_id -> request id, for the trace
        self._duplicates = _DuplicateFilter()
        queue = kombu.Queue(self.queue_name, exchange=None, routing_key=self.queue_name,
                            durable=False, auto_delete=False,
                            queue_arguments=transport.transient_queue_arguments())
        self._consumer = ConsumerThread(transport, [queue], self._on_reply,
                                        name=f"{transport.service} replies")

    def start(self) -> None:
        self._consumer.start()

    def stop(self) -> None:
        self._consumer.stop()

    def _on_reply(self, queue: kombu.Queue, body: dict, message: kombu.Message) -> None:
        message.ack()
        reply = deserialize_msg(body)
        msg_id, unique_id = reply.get("_msg_id"), reply.get("_unique_id")
        trace = self.transport.trace
        if trace is not None:
            trace.record("deliver", "reply", self.transport.service, queue=queue.name,
                         routing_key=queue.name, msg_id=msg_id or "",
                         request_id=self._requests.get(msg_id, ""), unique_id=unique_id or "")
        if self._duplicates.is_duplicate(unique_id):
            if trace is not None:
                trace.record("drop", "reply", self.transport.service, queue=queue.name,
                             msg_id=msg_id or "", unique_id=unique_id or "")
            return
        waiter = self._waiters.get(msg_id)
        if waiter is None:
            LOG.info("No calling thread waiting for msg_id %s", msg_id)
            return
        waiter.put(reply)

    def listen(self, msg_id: str, request_id: str = "") -> None:
        self._waiters[msg_id] = queue_module.SimpleQueue()
        self._requests[msg_id] = request_id

    def unlisten(self, msg_id: str) -> None:
        self._waiters.pop(msg_id, None)
        self._requests.pop(msg_id, None)

    def wait(self, msg_id: str, timeout: float, call_monitor_timeout: float | None) -> Any:
        """The result, once a reply says ``ending``.  A call-monitor heartbeat (``ending``
        false, no result) only proves the server is still working: it renews the monitor."""
        deadline = time.monotonic() + timeout
        monitor = None if not call_monitor_timeout else time.monotonic() + call_monitor_timeout
        result = None
        while True:
            limit = deadline if monitor is None else min(deadline, monitor)
            try:
                reply = self._waiters[msg_id].get(timeout=max(0.0, limit - time.monotonic()))
            except queue_module.Empty:
                # oslo's own words (ReplyWaiters.get in _drivers/amqpdriver.py), in English
                # in every language: it is the line learners will find in a caller's log.
                raise MessagingTimeout(
                    f"Timed out waiting for a reply to message ID {msg_id}") from None
            if reply.get("failure"):
                raise deserialize_remote_exception(reply["failure"],
                                                   self.transport.allowed_remote_exmods)
            if reply.get("result") is not None:
                result = reply["result"]
            if reply.get("ending", False):
                return result
            if call_monitor_timeout:
                monitor = time.monotonic() + call_monitor_timeout


# --------------------------------------------------------------------------- clients


class RPCClient:
    """Sends casts and calls to a target; ``prepare()`` returns a copy with changes."""

    def __init__(self, transport: Transport, target: Target, timeout: float | None = None,
                 version_cap: str | None = None, serializer: Any = None,
                 call_monitor_timeout: float | None = None) -> None:
        self.transport = transport
        self.target = target
        self.timeout = timeout
        self.version_cap = version_cap
        self.serializer = serializer or NoOpSerializer()
        self.call_monitor_timeout = call_monitor_timeout

    def prepare(self, exchange: str | None = None, topic: str | None = None,
                namespace: str | None = None, version: str | None = None,
                server: str | None = None, fanout: bool | None = None,
                timeout: float | None = None, version_cap: str | None = None,
                call_monitor_timeout: float | None = None) -> RPCClient:
        changes = {k: v for k, v in dict(exchange=exchange, topic=topic, namespace=namespace,
                                          version=version, server=server,
                                          fanout=fanout).items() if v is not None}
        return RPCClient(self.transport, self.target(**changes),
                         self.timeout if timeout is None else timeout,
                         version_cap or self.version_cap, self.serializer,
                         call_monitor_timeout or self.call_monitor_timeout)

    def can_send_version(self, version: str | None = None) -> bool:
        """May this client send ``version`` (default: the target's) under its version_cap?"""
        return version_is_compatible(self.version_cap,
                                     self.target.version if version is None else version)

    def _message(self, ctxt: dict, method: str, kwargs: dict) -> dict:
        msg: dict[str, Any] = {"method": method, "args": {
            name: self.serializer.serialize_entity(ctxt, value) for name, value in kwargs.items()}}
        if self.target.namespace is not None:
            msg["namespace"] = self.target.namespace
        if self.target.version is not None:
            msg["version"] = self.target.version
        if self.version_cap and not version_is_compatible(self.version_cap,
                                                          msg.get("version")):
            raise RPCVersionCapError(msg.get("version"), self.version_cap)
        return msg

    @functools.cached_property
    def _route(self) -> tuple[kombu.Exchange, str]:
        """Where the target's messages go: (exchange, routing key)."""
        target = self.target
        if not target.topic:
            raise InvalidTarget(_("A target needs a topic to send a message."))
        if target.fanout:  # impl_rabbit.fanout_send publishes with no routing key
            return Transport.fanout_exchange(target.topic), ""
        key = f"{target.topic}.{target.server}" if target.server else target.topic
        return self.transport.control_exchange_for(target), key

    def cast(self, ctxt: dict, method: str, **kwargs: Any) -> None:
        """Publish and return at once: nobody answers, nothing tells you if it ran."""
        msg = self._message(ctxt, method, kwargs)
        msg["_unique_id"] = uuid.uuid4().hex
        pack_context(msg, self.serializer.serialize_context(ctxt))
        exchange, key = self._route
        self.transport.publish(exchange, key, msg, "fanout" if self.target.fanout else "cast")

    def call(self, ctxt: dict, method: str, **kwargs: Any) -> Any:
        """Publish, then wait for the reply on this process's reply queue."""
        if self.target.fanout:
            raise InvalidTarget(_("A call cannot be a fanout: nobody would know which reply "
                                  "to wait for."))
        timeout = self.timeout if self.timeout is not None else \
            self.transport.conf["rpc_response_timeout"]
        msg = self._message(ctxt, method, kwargs)
        exchange, key = self._route
        waiter = self.transport.reply_waiter()
        msg_id = uuid.uuid4().hex
        msg.update(_msg_id=msg_id, _reply_q=waiter.queue_name,
                   _timeout=self.call_monitor_timeout, _unique_id=uuid.uuid4().hex)
        context = self.serializer.serialize_context(ctxt)
        pack_context(msg, context)
        waiter.listen(msg_id, str(context.get("request_id") or ""))
        try:
            # The request expires when the caller gives up: nobody would read the reply.
            self.transport.publish(exchange, key, msg, "call", expiration=timeout,
                                   deadline=time.monotonic() + timeout)
            result = waiter.wait(msg_id, timeout, self.call_monitor_timeout)
        finally:
            waiter.unlisten(msg_id)
        return self.serializer.deserialize_entity(ctxt, result)


def get_rpc_client(transport: Transport, target: Target, **kwargs: Any) -> RPCClient:
    return RPCClient(transport, target, **kwargs)


# --------------------------------------------------------------------------- servers


class RPCServer:
    """Listens on ``T``, ``T.server`` and ``T_fanout_<uuid>``; runs endpoint methods.

    Requests are acknowledged *before* the method runs (at-most-once, as in
    oslo.messaging): a server that dies mid-way loses the request, and the caller
    gets a MessagingTimeout.
    """

    def __init__(self, transport: Transport, target: Target, endpoints: list[Any],
                 serializer: Any = None, workers: int | None = None) -> None:
        if not (target.topic and target.server):
            raise ValueError(_("An RPC server needs a target with a topic and a server."))
        self.transport = transport
        self.target = target
        self.endpoints = endpoints
        self.serializer = serializer or NoOpSerializer()
        self.workers = workers or transport.conf["executor_thread_pool_size"]
        self._duplicates = _DuplicateFilter()
        self._obsolete_reply_queues = _ObsoleteReplyQueues()
        self._executor: ThreadPoolExecutor | None = None
        self._consumer: ConsumerThread | None = None
        self.fanout_queue = ""

    def _queues(self) -> list[kombu.Queue]:
        topic, server = self.target.topic, self.target.server
        exchange = self.transport.control_exchange_for(self.target)
        durable = self.transport.conf["amqp_durable_queues"]
        auto_delete = self.transport.conf["amqp_auto_delete"]
        self.fanout_queue = f"{topic}_fanout_{uuid.uuid4().hex}"
        return [
            kombu.Queue(topic, exchange, routing_key=topic, durable=durable,
                        auto_delete=auto_delete),
            kombu.Queue(f"{topic}.{server}", exchange, routing_key=f"{topic}.{server}",
                        durable=durable, auto_delete=auto_delete),
            kombu.Queue(self.fanout_queue, Transport.fanout_exchange(topic), routing_key=topic,
                        durable=False, auto_delete=False,
                        queue_arguments=self.transport.transient_queue_arguments()),
        ]

    def start(self) -> None:
        if self._consumer is not None and self._consumer.running:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers,
                                                thread_name_prefix=self.transport.service)
        queues = self._queues()
        self._consumer = ConsumerThread(
            self.transport, queues, self._on_request,
            name=f"{self.transport.service} rpc {self.target.topic}",
            prefetch=self.transport.conf["rabbit_qos_prefetch_count"],
            delete_on_stop=[self.fanout_queue])
        self._consumer.start()

    def stop(self) -> None:
        """Stop consuming: from now on, requests wait in the queues (fanout queue deleted)."""
        if self._consumer is not None:
            self._consumer.stop()

    def wait(self) -> None:
        """Wait for the requests already being handled to finish."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    @property
    def running(self) -> bool:
        return self._consumer is not None and self._consumer.running

    def _on_request(self, queue: kombu.Queue, body: dict, message: kombu.Message) -> None:
        message.ack()  # acknowledged before dispatch: at-most-once
        msg = deserialize_msg(body)
        unique_id = msg.pop("_unique_id", None)
        trace = self.transport.trace
        if trace is not None:
            kind = "call" if "_reply_q" in msg else (
                "fanout" if queue.name == self.fanout_queue else "cast")
            fields = dict(queue=queue.name, routing_key=message.delivery_info.get("routing_key",
                                                                                 ""),
                          method=msg.get("method", ""),
                          request_id=msg.get("_context_request_id", ""),
                          msg_id=msg.get("_msg_id", ""), unique_id=unique_id or "")
            trace.record("deliver", kind, self.transport.service, **fields)
            trace.record("ack", kind, self.transport.service, **fields)
        if self._duplicates.is_duplicate(unique_id):
            LOG.info("%s: ignoring duplicate message %s", self.transport.service, unique_id)
            if trace is not None:
                trace.record("drop", kind, self.transport.service, **fields)
            return
        if self._executor is not None:
            self._executor.submit(self._handle, msg)

    def _handle(self, msg: dict) -> None:
        reply_q, msg_id = msg.pop("_reply_q", None), msg.pop("_msg_id", None)
        client_timeout = msg.pop("_timeout", None)
        ctxt = self.serializer.deserialize_context(unpack_context(msg))
        monitor = None
        if reply_q and client_timeout:
            monitor = _CallMonitor(self, reply_q, msg_id, client_timeout, ctxt)
        try:
            result, failure = self.dispatch(ctxt, msg), None
        except ExpectedException as expected:  # part of the method's contract: no alarm
            result, failure = None, expected.exc_info[1]
        except Exception as error:  # the caller gets it as a failure, as with oslo
            LOG.info("%s: exception during message handling", self.transport.service,
                     exc_info=not isinstance(error, (NoSuchMethod, UnsupportedVersion)))
            result, failure = None, error
        finally:
            if monitor is not None:
                monitor.stop()
        if reply_q and msg_id:  # a cast has nobody to answer
            self.reply(reply_q, msg_id, result, failure, ctxt)

    def dispatch(self, ctxt: dict, msg: dict) -> Any:
        """Find the endpoint by namespace and version, as oslo's RPCDispatcher does.

        An endpoint without a ``target`` attribute serves the default namespace, version 1.0.
        """
        method, namespace = msg.get("method"), msg.get("namespace")
        version = msg.get("version", "1.0")
        compatible = False
        for endpoint in self.endpoints:
            target = getattr(endpoint, "target", None) or Target()
            if namespace not in target.accepted_namespaces or not version_is_compatible(
                    target.version or "1.0", version):
                continue
            if method and not method.startswith("_") and hasattr(endpoint, method):
                args = {name: self.serializer.deserialize_entity(ctxt, value)
                        for name, value in msg.get("args", {}).items()}
                result = getattr(endpoint, method)(ctxt, **args)
                return self.serializer.serialize_entity(ctxt, result)
            compatible = True
        if compatible:
            raise NoSuchMethod(method)
        raise UnsupportedVersion(version, method=method)

    def reply(self, reply_q: str, msg_id: str, result: Any = None,
              failure: BaseException | None = None, ctxt: dict | None = None) -> None:
        """Publish the reply to the default exchange, ``mandatory``: while the reply queue is
        missing, retry every 0.25 s for ``kombu_missing_consumer_retry_timeout`` seconds,
        then give up and remember the queue as gone."""
        if reply_q in self._obsolete_reply_queues:
            LOG.warning("%s doesn't exist, drop reply to %s", reply_q, msg_id)
            return
        timeout = self.transport.conf["kombu_missing_consumer_retry_timeout"]
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.send_reply(reply_q, msg_id, result, failure, ctxt)
                return
            except MessageUndeliverable:
                if time.monotonic() >= deadline:
                    self._obsolete_reply_queues.add(reply_q)
                    LOG.warning("The reply %s failed to send after %s seconds due to a "
                                "missing queue (%s). Abandoning...", msg_id, timeout, reply_q)
                    return
                LOG.debug("The reply %s could not be sent due to a missing queue (%s). "
                          "Retrying...", msg_id, reply_q)
                time.sleep(0.25)
            except MessageDeliveryFailure:
                LOG.warning("The reply %s could not be sent: the broker is unreachable.",
                            msg_id)
                return

    def send_reply(self, reply_q: str, msg_id: str, result: Any = None,
                   failure: BaseException | None = None, ctxt: dict | None = None,
                   ending: bool = True) -> None:
        """One reply message: the result or the failure; ``ending`` false for a heartbeat."""
        msg = {"result": result,
               "failure": serialize_remote_exception(failure) if failure else None,
               "ending": ending, "_msg_id": msg_id, "_unique_id": uuid.uuid4().hex}
        self.transport.publish(None, reply_q, msg, "reply", mandatory=True,
                               request_id=str((ctxt or {}).get("request_id") or ""))


class _CallMonitor:
    """While a call runs, a heartbeat reply (``ending`` false, no result) every
    client_timeout/2 seconds, so that the caller knows the server is still at it."""

    def __init__(self, server: RPCServer, reply_q: str, msg_id: str, client_timeout: Any,
                 ctxt: dict) -> None:
        self._done = threading.Event()
        try:
            interval = int(client_timeout) / 2
        except (TypeError, ValueError):
            interval = 0
        if interval < 1:
            LOG.warning("Client provided an invalid timeout value of %r", client_timeout)
            return
        threading.Thread(target=self._beat, args=(server, reply_q, msg_id, interval, ctxt),
                         name=f"{server.transport.service} call monitor", daemon=True).start()

    def _beat(self, server: RPCServer, reply_q: str, msg_id: str, interval: float,
              ctxt: dict) -> None:
        while not self._done.wait(interval):
            try:
                server.send_reply(reply_q, msg_id, ctxt=ctxt, ending=False)
            except MessagingException as error:  # the caller or the broker is gone
                LOG.debug("Call-monitor heartbeat failed: %s", error)
                return

    def stop(self) -> None:
        self._done.set()


def get_rpc_server(transport: Transport, target: Target, endpoints: list[Any],
                   serializer: Any = None, **kwargs: Any) -> RPCServer:
    return RPCServer(transport, target, endpoints, serializer, **kwargs)


# --------------------------------------------------------------------------- notifications


class Notifier:
    """Sends notifications to ``<topic>.<priority>`` queues on the control exchange."""

    PRIORITIES = ("audit", "debug", "info", "warn", "error", "critical", "sample")

    def __init__(self, transport: Transport, publisher_id: str | None = None,
                 driver: str = "messagingv2", topics: Iterable[str] = ("notifications",),
                 serializer: Any = None) -> None:
        if driver not in ("messagingv2", "messaging", "noop"):
            raise ValueError(_("Unknown notification driver {driver}: use messagingv2, "
                               "messaging or noop.", driver=driver))
        self.transport = transport
        self.publisher_id = publisher_id
        self.driver = driver
        self.topics = tuple(topics)
        self.serializer = serializer or NoOpSerializer()

    def prepare(self, publisher_id: str | None = None) -> Notifier:
        return Notifier(self.transport, publisher_id or self.publisher_id, self.driver,
                        self.topics, self.serializer)

    def is_enabled(self) -> bool:
        return self.driver != "noop"

    def _notify(self, ctxt: dict, event_type: str, payload: Any, priority: str) -> None:
        if not self.is_enabled():
            return
        safe = {k: v for k, v in dict(ctxt or {}).items() if k not in SECRET_CONTEXT_KEYS}
        message = {"message_id": str(uuid.uuid4()), "publisher_id": self.publisher_id,
                   "event_type": event_type, "priority": priority.upper(),
                   "payload": self.serializer.serialize_entity(ctxt, payload),
                   "timestamp": str(datetime.now(timezone.utc).replace(tzinfo=None))}
        for topic in self.topics:
            key = f"{topic}.{priority.lower()}"
            exchange = self.transport.control_exchange_for(Target())
            queue = kombu.Queue(key, exchange, routing_key=key,
                                durable=self.transport.conf["amqp_durable_queues"],
                                auto_delete=self.transport.conf["amqp_auto_delete"])
            msg = dict(message, _unique_id=uuid.uuid4().hex)
            pack_context(msg, self.serializer.serialize_context(safe))
            try:
                self.transport.publish(exchange, key, msg, "notify", declare_queue=queue,
                                       envelope=self.driver == "messagingv2")
            except Exception:  # as oslo: a notification never fails its sender
                LOG.exception("Could not send notification to %s. Payload=%s", key, payload)

    def audit(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "audit")

    def debug(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "debug")

    def info(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "info")

    def warn(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "warn")

    warning = warn

    def error(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "error")

    def critical(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "critical")

    def sample(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "sample")


def get_notifier(transport: Transport, publisher_id: str | None = None,
                 **kwargs: Any) -> Notifier:
    return Notifier(transport, publisher_id, **kwargs)


@dataclass
class NotificationListener:
    """Consumes ``<topic>.<priority>`` for the priorities its endpoints have methods for.

    Unlike RPC, a notification is acknowledged *after* the endpoint ran, and an endpoint
    may ask for it to be requeued (``allow_requeue``); an endpoint that raises asks for a
    requeue too.  With a ``pool``, every priority is read from one queue named after it.
    """

    transport: Transport
    targets: list[Target]
    endpoints: list[Any]
    pool: str | None = None
    allow_requeue: bool = False
    serializer: Any = None
    _consumer: ConsumerThread | None = field(default=None, repr=False)
    _duplicates: _DuplicateFilter = field(default_factory=_DuplicateFilter, repr=False)

    def __post_init__(self) -> None:
        self.serializer = self.serializer or NoOpSerializer()

    def _queues(self) -> list[kombu.Queue]:
        queues = []
        for target in self.targets:
            exchange = self.transport.control_exchange_for(target)
            for priority in Notifier.PRIORITIES:
                if any(hasattr(e, priority) for e in self.endpoints):
                    key = f"{target.topic}.{priority}"
                    queues.append(kombu.Queue(
                        self.pool or key, exchange, routing_key=key,
                        durable=self.transport.conf["amqp_durable_queues"],
                        auto_delete=self.transport.conf["amqp_auto_delete"]))
        return queues

    def start(self) -> None:
        self._consumer = ConsumerThread(self.transport, self._queues(), self._on_message,
                                        name=f"{self.transport.service} notifications")
        self._consumer.start()

    def stop(self) -> None:
        if self._consumer is not None:
            self._consumer.stop()

    def wait(self) -> None:
        """Nothing is handled in the background once stopped."""

    def _on_message(self, queue: kombu.Queue, body: dict, message: kombu.Message) -> None:
        msg = deserialize_msg(body)
        unique_id = msg.pop("_unique_id", None)
        trace = self.transport.trace
        fields = dict(queue=queue.name, routing_key=message.delivery_info.get("routing_key", ""),
                      request_id=msg.get("_context_request_id", ""), unique_id=unique_id or "")
        if trace is not None:
            trace.record("deliver", "notify", self.transport.service, **fields)
        if unique_id in self._duplicates:  # handled and acknowledged already
            message.ack()
            if trace is not None:
                trace.record("drop", "notify", self.transport.service, **fields)
            return
        result = self.dispatch(msg)
        if result == NotificationResult.REQUEUE and self.allow_requeue:
            message.requeue()
            action = "requeue"
        else:
            message.ack()
            self._duplicates.add(unique_id)
            action = "ack"
        if trace is not None:
            trace.record(action, "notify", self.transport.service, **fields)

    def dispatch(self, msg: dict) -> str:
        """Every endpoint with a method for the priority, in order, until one asks for a
        requeue (as oslo's NotificationDispatcher)."""
        ctxt = self.serializer.deserialize_context(unpack_context(msg))
        priority = str(msg.get("priority", "")).lower()
        payload = self.serializer.deserialize_entity(ctxt, msg.get("payload"))
        metadata = {"message_id": msg.get("message_id"), "timestamp": msg.get("timestamp")}
        for endpoint in self.endpoints:
            handler = getattr(endpoint, priority, None) if priority in Notifier.PRIORITIES \
                else None
            if handler is None:
                continue
            try:
                result = handler(ctxt, msg.get("publisher_id"), msg.get("event_type"), payload,
                                 metadata)
            except Exception:
                LOG.exception("%s: notification endpoint raised", self.transport.service)
                result = NotificationResult.REQUEUE
            if result == NotificationResult.REQUEUE:
                return result
        return NotificationResult.HANDLED


def get_notification_listener(transport: Transport, targets: list[Target],
                              endpoints: list[Any], *, serializer: Any = None,
                              allow_requeue: bool = False,
                              pool: str | None = None) -> NotificationListener:
    return NotificationListener(transport, targets, endpoints, pool, allow_requeue, serializer)


__all__ = [
    "DEFAULTS", "ExpectedException", "InvalidTarget", "MessageDeliveryFailure",
    "MessageUndeliverable", "MessagingException", "MessagingTimeout", "NoSuchMethod",
    "NotificationResult", "Notifier", "RPCClient", "RPCServer", "RPCVersionCapError",
    "RemoteError", "Target", "Transport", "UnsupportedVersion", "expected_exceptions",
    "get_notification_listener", "get_notification_transport", "get_notifier",
    "get_rpc_client", "get_rpc_server", "get_rpc_transport", "get_transport",
]
