"""The embedded broker: AMQP 0-9-1 semantics, in the kernel's own process.

This module is the broker itself, with no kombu in it: vhosts, exchanges,
queues, bindings, consumers, unacknowledged messages, and the rules RabbitMQ
applies to them.  ``course.kombu_transport`` puts a kombu transport in front of
it, so learners use the ordinary kombu API.

Where kombu's stock ``memory://`` transport differs from RabbitMQ, this broker
follows RabbitMQ (see ``tests/test_conformance_*.py``, which run the same cases
on both):

* routing, through :mod:`course.routing` (topic ``#`` matches zero or more words,
  ``*`` exactly one; headers ``x-match`` all and any);
* a message a consumer has not acknowledged goes back to its own queue,
  flagged ``redelivered``, when the channel or the connection closes, or on
  ``reject(requeue=True)`` and ``recover``; it keeps its place in the queue;
* channel errors with RabbitMQ's codes and texts (404, 405, 406, 403), after
  which the channel is closed;
* message TTL, ``x-message-ttl``, ``x-expires``, ``auto_delete``, ``exclusive``;
* priority queues (``x-max-priority``): higher priorities first, first in first out
  within one, a message's priority capped at the queue's maximum;
* ``mandatory`` messages that route nowhere are returned to their publisher;
* per-consumer prefetch (``basic_qos``), round-robin between consumers.

Consumers are pushed their messages, as RabbitMQ does: a delivery goes into
its connection's inbox and wakes the thread waiting there (a condition
variable, no polling).  One lock guards the whole broker, so every operation is
atomic and thread-safe; callbacks always run outside it.
"""

from __future__ import annotations

import threading
import time
import uuid
from bisect import insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from amqp import exceptions as amqp_errors
from amqp.protocol import queue_declare_ok_t

from . import routing

#: The exchanges every RabbitMQ vhost has from the start.
BUILTIN_EXCHANGES = {
    "": "direct",
    "amq.direct": "direct",
    "amq.fanout": "fanout",
    "amq.topic": "topic",
    "amq.headers": "headers",
    "amq.match": "headers",
}
#: Deliveries handed to a reader per wake-up (fewer lock round trips under load).
DELIVERY_BATCH = 64
#: Routing decisions remembered per exchange (cleared when bindings change).
ROUTE_CACHE_SIZE = 4096

#: Queue arguments RabbitMQ compares when a queue is declared again.
EQUIVALENCE_ARGUMENTS = (
    "x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
    "x-max-length", "x-max-length-bytes", "x-max-priority", "x-overflow", "x-queue-mode",
    "x-queue-type", "x-single-active-consumer", "x-delivery-limit",
)

# AMQP method signatures (class id, method id), so errors read like RabbitMQ's.
EXCHANGE_DECLARE, EXCHANGE_DELETE = (40, 10), (40, 20)
QUEUE_DECLARE, QUEUE_BIND, QUEUE_PURGE, QUEUE_DELETE, QUEUE_UNBIND = (
    (50, 10), (50, 20), (50, 30), (50, 40), (50, 50))
BASIC_QOS, BASIC_CONSUME, BASIC_PUBLISH, BASIC_GET = (60, 10), (60, 20), (60, 40), (60, 70)
BASIC_ACK, BASIC_REJECT, BASIC_RECOVER, BASIC_NACK = (60, 80), (60, 90), (60, 110), (60, 120)


def _now() -> float:
    return time.monotonic()


# --------------------------------------------------------------------------- records


@dataclass(eq=False)
class Payload:
    """What a publisher sent; shared, never modified, by every queue it reaches."""

    body: Any
    content_type: str | None
    content_encoding: str | None
    headers: dict
    properties: dict
    exchange: str
    routing_key: str


@dataclass(eq=False)
class Entry:
    """One message sitting in one queue, ordered by priority (a priority queue's higher
    first), then by ``seq``, its place in the queue."""

    seq: int
    payload: Payload
    expires_at: float | None
    redelivered: bool = False
    priority: int = 0

    def __lt__(self, other: Entry) -> bool:
        return (-self.priority, self.seq) < (-other.priority, other.seq)


@dataclass(eq=False)
class Binding:
    queue: str
    routing_key: str
    arguments: dict


@dataclass(eq=False)
class Exchange:
    name: str
    type: str
    durable: bool = False
    auto_delete: bool = False
    internal: bool = False
    arguments: dict = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)
    _routes: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def bind(self, queue: str, routing_key: str, arguments: dict) -> None:
        if not any(b.queue == queue and b.routing_key == routing_key
                   and b.arguments == arguments for b in self.bindings):
            self.bindings.append(Binding(queue, routing_key, arguments))
            self._routes.clear()

    def unbind(self, queue: str, routing_key: str | None = None,
               arguments: dict | None = None) -> bool:
        """Remove one binding (or every binding of ``queue`` when no key is given)."""
        kept = [b for b in self.bindings if not (
            b.queue == queue and (routing_key is None or (
                b.routing_key == routing_key and b.arguments == (arguments or {}))))]
        removed = len(kept) != len(self.bindings)
        self.bindings = kept
        self._routes.clear()
        return removed

    def route(self, routing_key: str, headers: dict) -> list[str]:
        """Names of the queues a message reaches, each once, in binding order (the
        routing rule is :mod:`course.routing`'s; only headers routing is not cached)."""
        if self.type == "headers":
            return routing.route(self.type, self.bindings, routing_key, headers)
        routes = self._routes.get(routing_key)
        if routes is None:
            if len(self._routes) > ROUTE_CACHE_SIZE:
                self._routes.clear()
            routes = self._routes[routing_key] = routing.route(self.type, self.bindings,
                                                               routing_key)
        return routes


@dataclass(eq=False)
class Consumer:
    channel: Channel
    tag: str
    queue: Queue
    no_ack: bool
    limit: int  # prefetch for this consumer, 0 = unlimited
    unacked: int = 0

    def can_take(self) -> bool:
        if self.no_ack:
            return True
        if self.limit and self.unacked >= self.limit:
            return False
        return self.channel.global_room()


@dataclass(eq=False)
class Queue:
    name: str
    vhost: VHost
    durable: bool = False
    auto_delete: bool = False
    owner: Connection | None = None  # set for exclusive queues
    arguments: dict = field(default_factory=dict)
    messages: deque[Entry] = field(default_factory=deque)
    consumers: list[Consumer] = field(default_factory=list)
    unacked: int = 0
    had_consumer: bool = False
    last_used: float = field(default_factory=_now)
    _next: int = 0  # round-robin position

    @property
    def exclusive(self) -> bool:
        return self.owner is not None

    @property
    def message_ttl(self) -> float | None:
        ttl = self.arguments.get("x-message-ttl")
        return None if ttl is None else ttl / 1000.0

    @property
    def expires(self) -> float | None:
        ttl = self.arguments.get("x-expires")
        return None if ttl is None else ttl / 1000.0

    def drop_expired(self, now: float) -> None:
        """Expired messages leave from the head of the queue, as in RabbitMQ."""
        messages = self.messages
        while messages and messages[0].expires_at is not None and messages[0].expires_at < now:
            messages.popleft()

    def ready(self, now: float | None = None) -> int:
        self.drop_expired(_now() if now is None else now)
        return len(self.messages)

    @property
    def max_priority(self) -> int | None:
        return self.arguments.get("x-max-priority")

    def priority_of(self, properties: dict) -> int:
        """A message's priority in this queue: 0 without one, capped at ``x-max-priority``;
        always 0 in a queue that is not a priority queue."""
        top = self.max_priority
        return 0 if top is None else min(properties.get("priority") or 0, top)

    def put(self, entry: Entry) -> None:
        """Queue a new message: at the tail, or after every message of higher or equal
        priority in a priority queue."""
        if self.max_priority is None or not self.messages or not entry < self.messages[-1]:
            self.messages.append(entry)
        else:
            insort(self.messages, entry)

    def put_back(self, entry: Entry) -> None:
        """Requeue at the message's original place (normally the head)."""
        entry.redelivered = True
        if not self.messages or entry < self.messages[0]:
            self.messages.appendleft(entry)
        else:
            insort(self.messages, entry)


@dataclass(eq=False)
class Delivery:
    """A message on its way to a consumer: sits in the connection's inbox until drained."""

    channel: Channel
    consumer_tag: str
    delivery_tag: int
    entry: Entry
    queue: str
    redelivered: bool


#: Put in an inbox to wake its reader without a message (see Broker.wake).
WAKE = Delivery(None, "", 0, None, "", False)  # type: ignore[arg-type]


@dataclass(eq=False)
class Unacked:
    entry: Entry
    queue: Queue
    consumer: Consumer | None


class Channel:
    """Broker-side channel: its consumers, prefetch and unacknowledged messages."""

    def __init__(self, connection: Connection, number: int) -> None:
        self.connection = connection
        self.number = number
        self.consumers: dict[str, Consumer] = {}
        self.unacked: dict[int, Unacked] = {}
        self.prefetch = 0  # applies to consumers created afterwards (RabbitMQ semantics)
        self.global_prefetch = 0
        self.consumer_unacked = 0
        self.closed = False
        self._tags = count(1)
        self._consumer_tags = count(1)

    def global_room(self) -> bool:
        return not self.global_prefetch or self.consumer_unacked < self.global_prefetch

    def next_tag(self) -> int:
        return next(self._tags)


class Connection:
    """Broker-side connection: an inbox of deliveries and the condition that wakes its reader."""

    def __init__(self, vhost: VHost, lock: threading.Lock, name: str = "") -> None:
        self.vhost = vhost
        self.name = name
        self.inbox: deque[Delivery] = deque()
        self.wakeup = threading.Condition(lock)
        self.channels: dict[int, Channel] = {}
        self.closed = False
        self._numbers = count(1)


@dataclass(eq=False)
class VHost:
    name: str
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, kind in BUILTIN_EXCHANGES.items():
            self.exchanges[name] = Exchange(name, kind, durable=True)


# --------------------------------------------------------------------------- errors


def _error(cls: type[amqp_errors.AMQPError], text: str, method: tuple[int, int]) -> Exception:
    return cls(text, method, reply_code=cls.code)


def _not_found(kind: str, name: str, vhost: VHost, method: tuple[int, int]) -> Exception:
    return _error(amqp_errors.NotFound,
                  f"NOT_FOUND - no {kind} '{name}' in vhost '{vhost.name}'", method)


def _yes_no(value: object) -> str:
    """A value as RabbitMQ writes it in an error text (Erlang's true and false)."""
    return "true" if value is True else "false" if value is False else str(value)


# --------------------------------------------------------------------------- broker


class Broker:
    """Every vhost of the embedded broker, and every open connection to it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.vhosts: dict[str, VHost] = {}
        self.connections: list[Connection] = []
        self._seq = count(1)
        self._expiry_check = float("inf")  # earliest moment an x-expires queue may be due
        self._orphans: deque[Connection] = deque()
        self.stopped = False  # between stop() and start(): connections are refused

    # -- connections and channels ------------------------------------------------------

    def forget(self, conn: Connection) -> None:
        """A connection object was garbage-collected without being closed.

        Called from a finalizer, which may run in the middle of any operation of
        this very thread: so it only takes note, and the next operation closes it.
        """
        self._orphans.append(conn)

    def _reap(self) -> None:
        while self._orphans:
            self._close_connection(self._orphans.popleft())

    def connect(self, vhost: str = "/", name: str = "") -> Connection:
        with self.lock:
            self._reap()
            if self.stopped:
                raise ConnectionRefusedError(111, "Connection refused")
            conn = Connection(self._vhost(vhost), self.lock, name)
            self.connections.append(conn)
            return conn

    def _vhost(self, name: str) -> VHost:
        name = name or "/"
        if name not in self.vhosts:
            self.vhosts[name] = VHost(name)
        return self.vhosts[name]

    def open_channel(self, conn: Connection) -> Channel:
        with self.lock:
            self._reap()
            self._check_open(conn)
            channel = Channel(conn, next(conn._numbers))
            conn.channels[channel.number] = channel
            return channel

    def close_channel(self, channel: Channel) -> None:
        with self.lock:
            self._reap()
            self._close_channel(channel)

    def close_connection(self, conn: Connection) -> None:
        """Like a TCP close: unacked messages go back, exclusive queues go away."""
        with self.lock:
            self._reap()
            self._close_connection(conn)

    def _close_connection(self, conn: Connection) -> None:
        if conn.closed:
            return
        for channel in list(conn.channels.values()):
            self._close_channel(channel)
        conn.closed = True
        for queue in [q for q in conn.vhost.queues.values() if q.owner is conn]:
            self._delete_queue(queue)
        if conn in self.connections:
            self.connections.remove(conn)
        conn.wakeup.notify_all()

    def _close_channel(self, channel: Channel) -> None:
        if channel.closed:
            return
        channel.closed = True
        for consumer in list(channel.consumers.values()):
            self._cancel(consumer)
        conn = channel.connection
        conn.inbox = deque(d for d in conn.inbox if d.channel is not channel)
        self._requeue(channel, list(channel.unacked))
        conn.channels.pop(channel.number, None)

    def _check_open(self, conn: Connection) -> None:
        if conn.closed:
            raise amqp_errors.RecoverableConnectionError("connection already closed")

    def _check_channel(self, channel: Channel) -> None:
        self._check_open(channel.connection)
        if channel.closed:
            raise amqp_errors.RecoverableConnectionError("channel already closed")

    def run(self, channel: Channel, operation: Callable[..., Any], *args: Any) -> Any:
        """Run one AMQP method under the lock; a channel error closes the channel, as in AMQP."""
        with self.lock:
            self._reap()
            self._check_channel(channel)
            self._expire_queues()
            try:
                return operation(channel, *args)
            except amqp_errors.ChannelError:
                self._close_channel(channel)
                raise

    # -- exchanges -------------------------------------------------------------------

    def exchange_declare(self, channel: Channel, name: str, type: str, durable: bool,
                         auto_delete: bool, internal: bool, arguments: dict,
                         passive: bool) -> None:
        vhost = channel.connection.vhost
        existing = vhost.exchanges.get(name)
        if passive:
            if existing is None:
                raise _not_found("exchange", name, vhost, EXCHANGE_DECLARE)
            return
        if existing is None:
            if name.startswith("amq."):
                raise _error(amqp_errors.AccessRefused,
                             f"ACCESS_REFUSED - exchange name '{name}' contains reserved "
                             "prefix 'amq.*'", EXCHANGE_DECLARE)
            if type not in routing.EXCHANGE_TYPES:
                raise _error(amqp_errors.CommandInvalid,
                             f"COMMAND_INVALID - invalid exchange type '{type}'", EXCHANGE_DECLARE)
            vhost.exchanges[name] = Exchange(name, type, durable, auto_delete, internal,
                                             dict(arguments))
            return
        for what, wanted, current in (("type", type, existing.type),
                                      ("durable", durable, existing.durable),
                                      ("auto_delete", auto_delete, existing.auto_delete),
                                      ("internal", internal, existing.internal)):
            if wanted != current:
                raise _error(amqp_errors.PreconditionFailed,
                             f"PRECONDITION_FAILED - inequivalent arg '{what}' for exchange "
                             f"'{name}' in vhost '{vhost.name}': received '{_yes_no(wanted)}' "
                             f"but current is '{_yes_no(current)}'", EXCHANGE_DECLARE)

    def exchange_delete(self, channel: Channel, name: str, if_unused: bool) -> None:
        vhost = channel.connection.vhost
        exchange = vhost.exchanges.get(name)
        if name == "" or name.startswith("amq."):
            raise _error(amqp_errors.AccessRefused,
                         f"ACCESS_REFUSED - operation not permitted on exchange '{name}'",
                         EXCHANGE_DELETE)
        if exchange is None:
            return  # RabbitMQ treats deleting a missing exchange as success
        if if_unused and exchange.bindings:
            raise _error(amqp_errors.PreconditionFailed,
                         f"PRECONDITION_FAILED - exchange '{name}' in vhost '{vhost.name}' "
                         "in use", EXCHANGE_DELETE)
        del vhost.exchanges[name]

    # -- queues ----------------------------------------------------------------------

    def _queue(self, channel: Channel, name: str, method: tuple[int, int]) -> Queue:
        vhost = channel.connection.vhost
        queue = vhost.queues.get(name)
        if queue is None:
            raise _not_found("queue", name, vhost, method)
        if queue.owner is not None and queue.owner is not channel.connection:
            raise _error(amqp_errors.ResourceLocked,
                         f"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue "
                         f"'{name}' in vhost '{vhost.name}'. It could be originally declared "
                         "on another connection or the exclusive property value does not "
                         "match that of the original declaration.", method)
        return queue

    def queue_declare(self, channel: Channel, name: str, passive: bool, durable: bool,
                      exclusive: bool, auto_delete: bool, arguments: dict) -> queue_declare_ok_t:
        vhost = channel.connection.vhost
        generated = not name
        name = name or f"amq.gen-{uuid.uuid4().hex[:22]}"
        if passive:
            queue = self._queue(channel, name, QUEUE_DECLARE)
        elif name in vhost.queues:
            queue = self._queue(channel, name, QUEUE_DECLARE)
            self._check_equivalent(queue, durable, exclusive, auto_delete, arguments)
        else:
            if name.startswith("amq.") and not generated:
                raise _error(amqp_errors.AccessRefused,
                             f"ACCESS_REFUSED - queue name '{name}' contains reserved prefix "
                             "'amq.*'", QUEUE_DECLARE)
            _check_queue_arguments(name, vhost, arguments)
            queue = Queue(name, vhost, durable, auto_delete,
                          channel.connection if exclusive else None, dict(arguments))
            vhost.queues[name] = queue
        queue.last_used = _now()
        self._schedule_expiry(queue)
        return queue_declare_ok_t(name, queue.ready(), len(queue.consumers))

    def _check_equivalent(self, queue: Queue, durable: bool, exclusive: bool,
                          auto_delete: bool, arguments: dict) -> None:
        vhost = queue.vhost.name
        if exclusive != queue.exclusive:
            raise _error(amqp_errors.ResourceLocked,
                         f"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue "
                         f"'{queue.name}' in vhost '{vhost}'. It could be originally declared "
                         "on another connection or the exclusive property value does not "
                         "match that of the original declaration.", QUEUE_DECLARE)
        for what, wanted, current in (("durable", durable, queue.durable),
                                      ("auto_delete", auto_delete, queue.auto_delete)):
            if wanted != current:
                raise _error(amqp_errors.PreconditionFailed,
                             f"PRECONDITION_FAILED - inequivalent arg '{what}' for queue "
                             f"'{queue.name}' in vhost '{vhost}': received '{_yes_no(wanted)}' "
                             f"but current is '{_yes_no(current)}'", QUEUE_DECLARE)
        for key in EQUIVALENCE_ARGUMENTS:
            wanted, current = arguments.get(key), queue.arguments.get(key)
            if wanted == current:
                continue
            if wanted is None or current is None:  # one side lacks it: say its type
                received, now = _describe_arg(wanted), _describe_arg(current)
            else:
                received, now = f"'{_yes_no(wanted)}'", f"'{_yes_no(current)}'"
            raise _error(amqp_errors.PreconditionFailed,
                         f"PRECONDITION_FAILED - inequivalent arg '{key}' for queue "
                         f"'{queue.name}' in vhost '{vhost}': received {received} but "
                         f"current is {now}", QUEUE_DECLARE)

    def queue_bind(self, channel: Channel, queue_name: str, exchange_name: str,
                   routing_key: str, arguments: dict) -> None:
        vhost = channel.connection.vhost
        if exchange_name == "":
            raise _error(amqp_errors.AccessRefused,
                         "ACCESS_REFUSED - operation not permitted on the default exchange",
                         QUEUE_BIND)
        queue = self._queue(channel, queue_name, QUEUE_BIND)
        exchange = vhost.exchanges.get(exchange_name)
        if exchange is None:
            raise _not_found("exchange", exchange_name, vhost, QUEUE_BIND)
        if exchange.type == "headers":
            _check_x_match(arguments)
        exchange.bind(queue.name, routing_key, dict(arguments))

    def queue_unbind(self, channel: Channel, queue_name: str, exchange_name: str,
                     routing_key: str, arguments: dict) -> None:
        vhost = channel.connection.vhost
        queue = self._queue(channel, queue_name, QUEUE_UNBIND)
        exchange = vhost.exchanges.get(exchange_name)
        if exchange is None:
            raise _not_found("exchange", exchange_name, vhost, QUEUE_UNBIND)
        if exchange.unbind(queue.name, routing_key, arguments):
            self._maybe_auto_delete_exchange(exchange)

    def queue_purge(self, channel: Channel, name: str) -> int:
        queue = self._queue(channel, name, QUEUE_PURGE)
        purged = queue.ready()
        queue.messages.clear()
        return purged

    def queue_delete(self, channel: Channel, name: str, if_unused: bool, if_empty: bool) -> int:
        vhost = channel.connection.vhost
        if name not in vhost.queues:
            return 0  # RabbitMQ treats deleting a missing queue as success
        queue = self._queue(channel, name, QUEUE_DELETE)
        if if_unused and queue.consumers:
            raise _error(amqp_errors.PreconditionFailed,
                         f"PRECONDITION_FAILED - queue '{name}' in vhost '{vhost.name}' in use",
                         QUEUE_DELETE)
        if if_empty and queue.ready():
            raise _error(amqp_errors.PreconditionFailed,
                         f"PRECONDITION_FAILED - queue '{name}' in vhost '{vhost.name}' not "
                         "empty", QUEUE_DELETE)
        count_ = queue.ready()
        self._delete_queue(queue)
        return count_

    def _delete_queue(self, queue: Queue) -> None:
        """Gone for good: its messages, its bindings, its consumers."""
        vhost = queue.vhost
        if vhost.queues.get(queue.name) is not queue:
            return
        del vhost.queues[queue.name]
        for consumer in list(queue.consumers):
            consumer.channel.consumers.pop(consumer.tag, None)
        queue.consumers.clear()
        queue.messages.clear()
        for exchange in list(vhost.exchanges.values()):
            if exchange.unbind(queue.name):
                self._maybe_auto_delete_exchange(exchange)

    def _maybe_auto_delete_exchange(self, exchange: Exchange) -> None:
        if exchange.auto_delete and not exchange.bindings:
            for vhost in self.vhosts.values():
                if vhost.exchanges.get(exchange.name) is exchange:
                    del vhost.exchanges[exchange.name]

    # -- x-expires --------------------------------------------------------------------

    def _schedule_expiry(self, queue: Queue) -> None:
        if queue.expires is not None and not queue.consumers:
            self._expiry_check = min(self._expiry_check, queue.last_used + queue.expires)

    def _expire_queues(self) -> None:
        """Delete the x-expires queues left unused too long (checked lazily, on each call)."""
        now = _now()
        if now < self._expiry_check:
            return
        self._expiry_check = float("inf")
        for vh in list(self.vhosts.values()):
            for queue in list(vh.queues.values()):
                if queue.expires is None or queue.consumers:
                    continue
                if now >= queue.last_used + queue.expires:
                    self._delete_queue(queue)
                else:
                    self._schedule_expiry(queue)

    # -- publishing ---------------------------------------------------------------------

    def publish(self, channel: Channel, payload: Payload, mandatory: bool) -> bool:
        """Route a message; False when it reached no queue (returned if mandatory)."""
        vhost = channel.connection.vhost
        exchange = vhost.exchanges.get(payload.exchange)
        if exchange is None:
            raise _not_found("exchange", payload.exchange, vhost, BASIC_PUBLISH)
        if exchange.internal:
            raise _error(amqp_errors.AccessRefused,
                         f"ACCESS_REFUSED - cannot publish to internal exchange "
                         f"'{payload.exchange}' in vhost '{vhost.name}'", BASIC_PUBLISH)
        if exchange.name == "":
            names = routing.route_default(payload.routing_key, vhost.queues)
        else:
            names = exchange.route(payload.routing_key, payload.headers)
        now = _now()
        ttl = _message_ttl(payload.properties)
        for name in names:
            queue = vhost.queues[name]
            expires = [t for t in (ttl, queue.message_ttl) if t is not None]
            entry = Entry(next(self._seq), payload, now + min(expires) if expires else None,
                          priority=queue.priority_of(payload.properties))
            queue.put(entry)
            self._dispatch(queue, now)  # a TTL of 0 still reaches a waiting consumer
        return bool(names) or not mandatory

    # -- consuming ----------------------------------------------------------------------

    def basic_qos(self, channel: Channel, prefetch_count: int, global_: bool) -> None:
        if global_:
            channel.global_prefetch = prefetch_count
            for consumer in list(channel.consumers.values()):
                self._dispatch(consumer.queue)
        else:
            channel.prefetch = prefetch_count

    def basic_consume(self, channel: Channel, queue_name: str, tag: str, no_ack: bool,
                      exclusive: bool) -> str:
        queue = self._queue(channel, queue_name, BASIC_CONSUME)
        if tag in channel.consumers:
            raise _error(amqp_errors.NotAllowed,
                         f"NOT_ALLOWED - attempt to reuse consumer tag '{tag}'", BASIC_CONSUME)
        if exclusive and queue.consumers:
            raise _error(amqp_errors.AccessRefused,
                         f"ACCESS_REFUSED - queue '{queue.name}' in vhost "
                         f"'{queue.vhost.name}' in exclusive use", BASIC_CONSUME)
        tag = tag or f"amq.ctag-{channel.number}-{next(channel._consumer_tags)}"
        consumer = Consumer(channel, tag, queue, no_ack, channel.prefetch)
        channel.consumers[tag] = consumer
        queue.consumers.append(consumer)
        queue.had_consumer = True
        self._dispatch(queue)
        return tag

    def basic_cancel(self, channel: Channel, tag: str) -> None:
        consumer = channel.consumers.get(tag)
        if consumer is not None:
            self._cancel(consumer)

    def _cancel(self, consumer: Consumer) -> None:
        queue = consumer.queue
        consumer.channel.consumers.pop(consumer.tag, None)
        if consumer in queue.consumers:
            queue.consumers.remove(consumer)
        queue.last_used = _now()
        if queue.auto_delete and queue.had_consumer and not queue.consumers:
            self._delete_queue(queue)
        else:
            self._schedule_expiry(queue)

    def basic_get(self, channel: Channel, name: str, no_ack: bool) -> Delivery | None:
        queue = self._queue(channel, name, BASIC_GET)
        queue.last_used = _now()
        self._schedule_expiry(queue)
        queue.drop_expired(_now())
        if not queue.messages:
            return None
        entry = queue.messages.popleft()
        return self._deliver(channel, None, queue, entry, no_ack)

    def _dispatch(self, queue: Queue, now: float | None = None) -> None:
        """Push ready messages to consumers with room, round-robin, waking their readers."""
        if not queue.consumers or not queue.messages:
            return
        now = _now() if now is None else now
        while queue.messages and queue.consumers:
            consumers = queue.consumers
            for step in range(len(consumers)):
                consumer = consumers[(queue._next + step) % len(consumers)]
                if consumer.can_take():
                    queue._next = (queue._next + step + 1) % len(consumers)
                    break
            else:
                return
            queue.drop_expired(now)
            if not queue.messages:
                return
            delivery = self._deliver(consumer.channel, consumer, queue,
                                     queue.messages.popleft(), consumer.no_ack)
            conn = consumer.channel.connection
            conn.inbox.append(delivery)
            conn.wakeup.notify()

    def _deliver(self, channel: Channel, consumer: Consumer | None, queue: Queue,
                 entry: Entry, no_ack: bool) -> Delivery:
        tag = channel.next_tag()
        if not no_ack:
            channel.unacked[tag] = Unacked(entry, queue, consumer)
            queue.unacked += 1
            if consumer is not None:
                consumer.unacked += 1
                channel.consumer_unacked += 1
        return Delivery(channel, consumer.tag if consumer else "", tag, entry, queue.name,
                        entry.redelivered)

    # -- acknowledgements ---------------------------------------------------------------

    def _settle(self, channel: Channel, tag: int, multiple: bool,
                method: tuple[int, int]) -> list[int]:
        if multiple:
            tags = [t for t in channel.unacked if t <= tag or tag == 0]
        elif tag in channel.unacked:
            tags = [tag]
        else:
            tags = []
        if not tags and not (multiple and tag == 0):
            raise _error(amqp_errors.PreconditionFailed,
                         f"PRECONDITION_FAILED - unknown delivery tag {tag}", method)
        return tags

    def _release(self, channel: Channel, tag: int) -> Unacked:
        record = channel.unacked.pop(tag)
        record.queue.unacked -= 1
        if record.consumer is not None:
            record.consumer.unacked -= 1
            channel.consumer_unacked -= 1
        return record

    def basic_ack(self, channel: Channel, tag: int, multiple: bool) -> None:
        queues = {self._release(channel, t).queue for t in self._settle(channel, tag, multiple,
                                                                         BASIC_ACK)}
        for queue in queues:
            self._dispatch(queue)

    def basic_reject(self, channel: Channel, tag: int, requeue: bool,
                     multiple: bool = False) -> None:
        tags = self._settle(channel, tag, multiple, BASIC_NACK if multiple else BASIC_REJECT)
        if requeue:
            self._requeue(channel, tags)
        else:
            for queue in {self._release(channel, t).queue for t in tags}:
                self._dispatch(queue)

    def basic_recover(self, channel: Channel, requeue: bool) -> None:
        if not requeue:
            raise _error(amqp_errors.NotImplemented,
                         "NOT_IMPLEMENTED - requeue=false", BASIC_RECOVER)
        self._requeue(channel, list(channel.unacked))

    def _requeue(self, channel: Channel, tags: list[int]) -> None:
        touched = []
        for tag in sorted(tags, key=lambda t: channel.unacked[t].entry.seq, reverse=True):
            record = self._release(channel, tag)
            if record.queue.vhost.queues.get(record.queue.name) is record.queue:
                record.queue.put_back(record.entry)
                touched.append(record.queue)
        for queue in dict.fromkeys(touched):
            self._dispatch(queue)

    def discard(self, delivery: Delivery) -> None:
        """A delivery reached a consumer that was cancelled meanwhile: requeue it (as py-amqp)."""
        with self.lock:
            self._reap()
            channel = delivery.channel
            if not channel.closed and delivery.delivery_tag in channel.unacked:
                self._requeue(channel, [delivery.delivery_tag])

    # -- waiting --------------------------------------------------------------------------

    def give_back(self, conn: Connection, deliveries: list[Delivery]) -> None:
        """Deliveries taken in a batch but not handed out yet go back to the inbox's front."""
        with self.lock:
            conn.inbox.extendleft(reversed(deliveries))

    def wake(self, conn: Connection) -> None:
        """Make the thread waiting on this connection return, with no message."""
        with self.lock:
            conn.inbox.append(WAKE)
            conn.wakeup.notify_all()

    def next_deliveries(self, conn: Connection, timeout: float | None) -> list[Delivery]:
        """The deliveries waiting for this connection (at least one, at most a batch);
        an empty list once ``timeout`` seconds have passed with none."""
        deadline = None if timeout is None else _now() + timeout
        with self.lock:
            self._reap()
            while True:
                self._check_open(conn)
                if conn.inbox:
                    inbox = conn.inbox
                    return [inbox.popleft() for _i in range(min(len(inbox), DELIVERY_BATCH))]
                remaining = None if deadline is None else deadline - _now()
                if remaining is not None and remaining <= 0:
                    return []
                conn.wakeup.wait(remaining)

    # -- looking at it ----------------------------------------------------------------------

    def describe(self, vhost: str = "/") -> dict[str, list[dict]]:
        """Exchanges, queues and bindings shaped like RabbitMQ's management API JSON."""
        with self.lock:
            self._reap()
            self._expire_queues()
            vh = self.vhosts.get(vhost or "/") or VHost(vhost or "/")
            now = _now()
            exchanges = [{"name": e.name, "vhost": vh.name, "type": e.type, "durable": e.durable,
                          "auto_delete": e.auto_delete, "internal": e.internal,
                          "arguments": dict(e.arguments)} for e in vh.exchanges.values()]
            queues = []
            for q in vh.queues.values():
                ready = q.ready(now)
                queues.append({"name": q.name, "vhost": vh.name, "durable": q.durable,
                               "auto_delete": q.auto_delete, "exclusive": q.exclusive,
                               "arguments": dict(q.arguments), "messages_ready": ready,
                               "messages_unacknowledged": q.unacked,
                               "messages": ready + q.unacked, "consumers": len(q.consumers)})
            bindings = [{"source": "", "vhost": vh.name, "destination": q, "destination_type":
                         "queue", "routing_key": q, "arguments": {}} for q in vh.queues]
            for e in vh.exchanges.values():
                bindings += [{"source": e.name, "vhost": vh.name, "destination": b.queue,
                              "destination_type": "queue", "routing_key": b.routing_key,
                              "arguments": dict(b.arguments)} for b in e.bindings]
            return {"exchanges": exchanges, "queues": queues, "bindings": bindings}

    def reset(self) -> None:
        """Forget everything, like restarting a broker that keeps nothing on disk.

        Open connections are closed: their next call fails as after a broker restart.
        """
        with self.lock:
            self._reap()
            for conn in list(self.connections):
                self._close_connection(conn)
            self.vhosts.clear()
            self.stopped = False
            self._expiry_check = float("inf")

    def stop(self) -> None:
        """Like stopping RabbitMQ: every connection is dropped (unacked messages go back to
        their queues) and new ones are refused until :meth:`start`."""
        with self.lock:
            self._reap()
            for conn in list(self.connections):
                self._close_connection(conn)
            self.stopped = True

    def start(self) -> None:
        """Like starting RabbitMQ again: what was on disk comes back, the rest is gone.

        Durable exchanges and queues survive, with the bindings between them, and in
        durable queues the persistent messages (``delivery_mode`` 2); transient
        exchanges, queues and messages are lost (OpenStack's, by default).
        """
        with self.lock:
            for vhost in self.vhosts.values():
                for name, exchange in list(vhost.exchanges.items()):
                    if not exchange.durable:
                        del vhost.exchanges[name]
                for queue in list(vhost.queues.values()):
                    if queue.durable:
                        queue.messages = deque(e for e in queue.messages
                                               if e.payload.properties.get("delivery_mode") == 2)
                    else:
                        self._delete_queue(queue)
            self.stopped = False


def _message_ttl(properties: dict) -> float | None:
    expiration = properties.get("expiration")
    if expiration in (None, ""):
        return None
    try:
        return max(int(expiration), 0) / 1000.0
    except (TypeError, ValueError):
        raise _error(amqp_errors.PreconditionFailed,
                     f"PRECONDITION_FAILED - invalid expiration '{expiration}'",
                     BASIC_PUBLISH) from None


def _describe_arg(value: object) -> str:
    if value is None:
        return "none"
    return f"the value '{_yes_no(value)}' of type '{_amqp_type(value)}'"


def _amqp_type(value: object) -> str:
    """The AMQP field type py-amqp sends a Python value as (what RabbitMQ names)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "signedint" if -2**31 <= value < 2**31 else "long"
    if isinstance(value, float):
        return "double"
    return {str: "longstr", bytes: "longstr", dict: "table", list: "array",
            type(None): "void"}.get(type(value), type(value).__name__)


def _check_x_match(arguments: dict) -> None:
    """RabbitMQ refuses a headers binding whose ``x-match`` it does not know."""
    if "x-match" not in arguments:
        return
    mode = arguments["x-match"]
    if not isinstance(mode, str):
        raise _error(amqp_errors.PreconditionFailed,
                     f"PRECONDITION_FAILED - Invalid x-match field type {_amqp_type(mode)} "
                     f"(value {_yes_no(mode)}); expected longstr", QUEUE_BIND)
    if mode not in routing.X_MATCH:
        raise _error(amqp_errors.PreconditionFailed,
                     f'PRECONDITION_FAILED - Invalid x-match field value <<"{mode}">>; '
                     "expected all, any, all-with-x, or any-with-x", QUEUE_BIND)


#: The integer queue arguments RabbitMQ checks when a queue is created: the smallest
#: value it accepts and the largest (``x-max-priority``: at most 255 priorities).
INTEGER_ARGUMENTS = {"x-expires": (1, None), "x-message-ttl": (0, None),
                     "x-max-priority": (0, 255)}


def _check_queue_arguments(name: str, vhost: VHost, arguments: dict) -> None:
    """The argument checks RabbitMQ makes when a queue is created."""
    for key, (lowest, highest) in INTEGER_ARGUMENTS.items():
        if key not in arguments:
            continue
        value = arguments[key]
        if isinstance(value, bool) or not isinstance(value, int):
            problem = f'"expected integer, got {_amqp_type(value)}"'
        elif value < 0:
            problem = f"{{value_negative,{value}}}"
        elif value < lowest:
            problem = f"{{value_zero,{value}}}"
        elif highest is not None and value > highest:
            problem = f"{{max_value_exceeded,{value}}}"
        else:
            continue
        raise _error(amqp_errors.PreconditionFailed,
                     f"PRECONDITION_FAILED - invalid arg '{key}' for queue '{name}' in "
                     f"vhost '{vhost.name}': {problem}", QUEUE_DECLARE)


#: The one embedded broker of this process; every ``embedded://`` connection reaches it.
BROKER = Broker()


def describe(vhost: str = "/") -> dict[str, list[dict]]:
    """The embedded broker's topology, with the management API's field names."""
    return BROKER.describe(vhost)


def vhosts() -> list[str]:
    with BROKER.lock:
        return sorted(BROKER.vhosts)
