"""The broker: its vhosts, its connections and channels, one lock around everything,
waiting for deliveries, and its whole life (describe, reset, stop, start)."""

from __future__ import annotations

import errno
import threading
from collections import deque
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any

from amqp import exceptions as amqp_errors

from .deadletter import DeadLettering
from .declarations import Declarations
from .delivery import Messaging
from .heartbeats import Heartbeats, negotiate
from .model import DELIVERY_BATCH, WAKE, Channel, Connection, Delivery, VHost, clock
from .policies import Policies

#: The user a fresh RabbitMQ has (``guest``/``guest``, allowed from loopback only).
DEFAULT_USERS = {"guest": "guest"}


class Broker(Declarations, Messaging, DeadLettering, Policies, Heartbeats):
    """Every vhost of the embedded broker, and every open connection to it."""

    def __init__(self) -> None:
        #: Re-entrant only so that a finalizer run inside one of this thread's operations is
        #: found out (:meth:`_inside`) and put off, never so that operations nest.
        self.lock = threading.RLock()
        #: Name -> vhost: only those ``add_vhost`` made, and the default ``/`` (RabbitMQ's).
        self.vhosts: dict[str, VHost] = {"/": VHost("/")}
        self.connections: list[Connection] = []
        self._seq = count(1)
        self._expiry_check = float("inf")  # earliest moment an x-expires queue may be due
        self._death_check = float("inf")  # earliest moment a message may expire to a DLX
        self._orphans: deque[Connection | Channel] = deque()
        self.stopped = False  # between stop() and start(): connections are refused
        #: User name -> password, as ``rabbitmqctl add_user`` keeps them; RabbitMQ's default.
        self.users: dict[str, str] = dict(DEFAULT_USERS)
        self._heartbeats_init()

    # -- connections and channels ------------------------------------------------------

    def forget(self, conn: Connection) -> None:
        """A connection object was garbage-collected without being closed.

        Called from a finalizer, which may run in the middle of any operation of
        this very thread: so it only takes note, and the next operation closes it.
        """
        self._orphans.append(conn)

    def _inside(self) -> bool:
        """Whether this thread holds the lock already: then a finalizer (``__del__``, say
        oslo's ``ConnectionContext``) closes a connection or a channel in the middle of one
        of this thread's operations, and the close must wait for the next operation
        rather than for the lock its own thread holds, or change state half-way."""
        return self.lock._is_owned()  # type: ignore[attr-defined]

    def _reap(self) -> None:
        while self._orphans:
            orphan = self._orphans.popleft()
            if isinstance(orphan, Channel):
                self._close_channel(orphan)
            else:
                self._close_connection(orphan)

    def add_user(self, name: str, password: str) -> None:
        """``rabbitmqctl add_user name password`` (or change the password of ``name``)."""
        with self.lock:
            self.users[name] = password

    def add_vhost(self, name: str) -> None:
        """``rabbitmqctl add_vhost name`` (``PUT /api/vhosts/<name>``: one that exists
        stays as it is); every user may use it, as the course's only users are its own."""
        with self.lock:
            self.vhosts.setdefault(name or "/", VHost(name or "/"))

    def connect(self, vhost: str = "/", name: str = "", userid: str = "guest",
                password: str = "guest", heartbeat: float = 0) -> Connection:
        """A new connection; refused as RabbitMQ refuses a wrong user name or password
        (403, at login) and then a vhost that does not exist (530, at connection.open).
        ``heartbeat`` is the timeout the client asks for (kombu's ``heartbeat``)."""
        with self.lock:
            self._reap()
            if self.stopped:
                raise ConnectionRefusedError(111, "Connection refused")
            if self.users.get(userid) != password:
                raise amqp_errors.AccessRefused(
                    "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
                    "For details see the broker logfile.", (0, 0), reply_code=403)
            conn = Connection(self._vhost(vhost), self.lock, name, negotiate(heartbeat))
            self.connections.append(conn)
            if conn.heartbeat:
                self._watch(conn)
            return conn

    def _vhost(self, name: str) -> VHost:
        """The vhost ``name``, or RabbitMQ's refusal of one that does not exist."""
        name = name or "/"
        if name not in self.vhosts:
            raise amqp_errors.NotAllowed(f"NOT_ALLOWED - vhost {name} not found", (10, 40),
                                         "Connection.open", reply_code=530)
        return self.vhosts[name]

    def open_channel(self, conn: Connection) -> Channel:
        with self.lock:
            self._reap()
            self._check_open(conn)
            conn.last_heard = clock()
            channel = Channel(conn, next(conn._numbers))
            conn.channels[channel.number] = channel
            return channel

    def close_channel(self, channel: Channel) -> None:
        if self._inside():
            self._orphans.append(channel)
            return
        with self.lock:
            self._reap()
            self._close_channel(channel)

    def close_connection(self, conn: Connection) -> None:
        """Like a TCP close: unacked messages go back, exclusive queues go away."""
        if self._inside():
            self._orphans.append(conn)
            return
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
        if conn.heartbeat:
            self._unwatch(conn)

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
            if conn.close_reason:  # closed by the broker: what the client's socket says
                conn.reset_seen = True
                raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
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
            channel.connection.last_heard = clock()  # any method counts, as in RabbitMQ
            self._expire_queues()
            self._expire_messages()
            try:
                return operation(channel, *args)
            except amqp_errors.ChannelError:
                self._close_channel(channel)
                raise

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
        deadline = None if timeout is None else clock() + timeout
        with self.lock:
            self._reap()
            while True:
                self._check_open(conn)
                if conn.inbox:
                    inbox = conn.inbox
                    return [inbox.popleft() for _i in range(min(len(inbox), DELIVERY_BATCH))]
                now = clock()
                remaining = None if deadline is None else deadline - now
                if remaining is not None and remaining <= 0:
                    return []
                if self._death_check < float("inf"):  # wake up to dead-letter on time
                    due = max(self._death_check - now, 0.0)
                    if remaining is None or due < remaining:
                        conn.wakeup.wait(due)
                        self._expire_messages()
                        continue
                conn.wakeup.wait(remaining)

    # -- looking at it ----------------------------------------------------------------------

    def describe(self, vhost: str = "/") -> dict[str, list[dict]]:
        """Exchanges, queues and bindings shaped like RabbitMQ's management API JSON."""
        with self.lock:
            self._reap()
            self._expire_queues()
            vh = self.vhosts.get(vhost or "/") or VHost(vhost or "/")
            now = clock()
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
                               "messages": ready + q.unacked, "consumers": len(q.consumers),
                               "policy": q.policy,
                               "effective_policy_definition": dict(q.policy_definition)})
            bindings = [{"source": "", "vhost": vh.name, "destination": q, "destination_type":
                         "queue", "routing_key": q, "arguments": {}} for q in vh.queues]
            for e in vh.exchanges.values():
                bindings += [{"source": e.name, "vhost": vh.name, "destination": b.queue,
                              "destination_type": "queue", "routing_key": b.routing_key,
                              "arguments": dict(b.arguments)} for b in e.bindings]
            return {"exchanges": exchanges, "queues": queues, "bindings": bindings}

    def reset(self, vhosts: Iterable[str] = ()) -> None:
        """Forget everything, like restarting a broker that keeps nothing on disk: only
        the default vhost ``/``, the (empty) ``vhosts`` a deployment defines, and user
        ``guest`` are left.

        Open connections are closed: their next call fails as after a broker restart.
        """
        with self.lock:
            self._reap()
            for conn in list(self.connections):
                self._close_connection(conn)
            self.vhosts = {name: VHost(name) for name in ("/", *vhosts)}
            self.users = dict(DEFAULT_USERS)
            self.stopped = False
            self._expiry_check = float("inf")
            self._death_check = float("inf")

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
