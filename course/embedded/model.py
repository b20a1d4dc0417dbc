"""The embedded broker's data model: vhosts, exchanges, queues, bindings, consumers,
channels, connections and the messages in their queues (no rule beyond a record's own)."""

from __future__ import annotations

import threading
import time
from bisect import insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from .. import routing

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


def clock() -> float:
    return time.monotonic()


def body_size(body: Any) -> int:
    """A body's size in bytes, as it would travel on the wire."""
    if isinstance(body, bytes | bytearray | memoryview):
        return len(body)
    return len(str(body).encode("utf-8"))


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
    #: A quorum queue counts the deliveries that came back (``x-delivery-count``); None
    #: in a classic queue, which does not.
    delivery_count: int | None = None

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
    """A queue, its messages and consumers; its arguments (checked by
    :mod:`.arguments` before it is made) are read into attributes when it is made and
    when a policy changes (:meth:`configure`)."""

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
    last_used: float = field(default_factory=clock)
    _next: int = 0  # round-robin position
    #: Called with (queue, entry, reason) for a message that dies in a queue with a
    #: dead-letter exchange (set by the broker); None: dead messages are dropped.
    dead_letter: Callable[[Queue, Entry, str], None] | None = field(default=None, repr=False)

    #: The policy the queue follows (:mod:`.policies`), and its definition.
    policy: str | None = None
    policy_definition: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.configure(self.arguments)

    def configure(self, args: dict) -> None:
        """Read the arguments the queue behaves by: its own, with its policy's resolved
        (:func:`.policies.resolve`)."""
        self.kind: str = args.get("x-queue-type") or "classic"
        ttl = args.get("x-message-ttl")
        self.message_ttl: float | None = None if ttl is None else ttl / 1000.0
        ttl = args.get("x-expires")
        self.expires: float | None = None if ttl is None else ttl / 1000.0
        self.max_priority: int | None = args.get("x-max-priority")
        self.dlx: str | None = args.get("x-dead-letter-exchange")
        self.dlrk: str | None = args.get("x-dead-letter-routing-key")
        self.max_length: int | None = args.get("x-max-length")
        self.max_length_bytes: int | None = args.get("x-max-length-bytes")
        self.overflow: str = args.get("x-overflow") or "drop-head"
        #: Whether a length limit applies (the publish path looks at nothing else).
        self.limited = self.max_length is not None or self.max_length_bytes is not None
        self.delivery_limit: int | None = args.get("x-delivery-limit")
        #: The count a new message starts with: 0 in a quorum queue, None in a classic one.
        self.first_count: int | None = 0 if self.kind == "quorum" else None
        self.single_active: bool = args.get("x-single-active-consumer") is True

    @property
    def exclusive(self) -> bool:
        return self.owner is not None

    def drop_expired(self, now: float) -> None:
        """Expired messages leave from the head of the queue, as in RabbitMQ (to the
        dead-letter exchange, if the queue has one)."""
        messages = self.messages
        while messages and messages[0].expires_at is not None and messages[0].expires_at < now:
            entry = messages.popleft()
            if self.dead_letter is not None:
                self.dead_letter(self, entry, "expired")

    def ready_bytes(self) -> int:
        """The body bytes of the ready messages (what ``x-max-length-bytes`` limits)."""
        return sum(body_size(e.payload.body) for e in self.messages)

    def ready(self, now: float | None = None) -> int:
        self.drop_expired(clock() if now is None else now)
        return len(self.messages)

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
        #: Set when a queue refused a message this channel published (reject-publish):
        #: the kombu transport turns it into basic.nack for a publisher in confirm mode.
        self.nacked = False
        self._tags = count(1)
        self._consumer_tags = count(1)

    def global_room(self) -> bool:
        return not self.global_prefetch or self.consumer_unacked < self.global_prefetch

    def next_tag(self) -> int:
        return next(self._tags)


class Connection:
    """Broker-side connection: an inbox of deliveries and the condition that wakes its reader;
    its negotiated ``heartbeat`` (0: none) and when the broker last heard from it."""

    def __init__(self, vhost: VHost, lock: threading.Lock, name: str = "",
                 heartbeat: int = 0) -> None:
        self.vhost = vhost
        self.name = name
        self.inbox: deque[Delivery] = deque()
        self.wakeup = threading.Condition(lock)
        self.channels: dict[int, Channel] = {}
        self.closed = False
        self.heartbeat = heartbeat
        self.opened = self.last_heard = clock()
        #: Why the broker closed it ("missed heartbeats from client, timeout: 60s"); empty
        #: when the client closed it.
        self.close_reason = ""
        #: The client used it since the broker closed it, so it knows (as py-amqp does
        #: after a failed write).
        self.reset_seen = False
        self._numbers = count(1)


@dataclass(eq=False)
class VHost:
    name: str
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    policies: dict[str, Any] = field(default_factory=dict)  # name -> policies.Policy

    def __post_init__(self) -> None:
        for name, kind in BUILTIN_EXCHANGES.items():
            self.exchanges[name] = Exchange(name, kind, durable=True)
