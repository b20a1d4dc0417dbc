"""AMQP heartbeats as RabbitMQ 3.10 enforces them: a connection that negotiated a heartbeat
timeout T and then says nothing (no method, no heartbeat frame) is closed, with the reason
RabbitMQ logs: "missed heartbeats from client, timeout: Ts".

RabbitMQ's receiver (``rabbit_heartbeat``) looks every T seconds from the connection's
start whether anything arrived, and closes at the second look in a row that found nothing:
measured on 3.10.8 with T = 2, a client silent from 0.3 s, 1.9 s or 2.5 s after it
connected was closed 6.0, 6.0 and 8.0 s after connecting (2T to 3T of silence; its docs say
"after two missed heartbeats").  This broker closes at the same moments.

One thread watches every such connection: it sleeps on the broker's lock until the next
moment one may be due, and ends when none is left.  Closing is what a TCP close does
(unacked messages back to their queues, exclusive queues deleted), under the lock, with no
callback; the client finds out at its next call (``Connection reset by peer``).
"""

from __future__ import annotations

import math
import threading

from .model import Connection, clock

#: What RabbitMQ proposes in ``connection.tune`` (its ``heartbeat`` setting, 60 s).
SERVER_HEARTBEAT = 60


def negotiate(client: float) -> int:
    """py-amqp's rule: none if the client asks for none, else the smaller of the two."""
    return 0 if not client or client <= 0 else min(int(client), SERVER_HEARTBEAT)


def close_at(conn: Connection) -> float:
    """When the receiver's second silent look in a row happens."""
    period = conn.heartbeat
    looks = max(1, math.ceil((conn.last_heard - conn.opened) / period))
    return conn.opened + period * (looks + 2)


class Heartbeats:
    """The broker's part: watch the connections that negotiated heartbeats."""

    lock: threading.Lock
    connections: list[Connection]

    def _heartbeats_init(self) -> None:
        self._heartbeat_due = threading.Condition(self.lock)
        self._watcher: threading.Thread | None = None

    def _watch(self, conn: Connection) -> None:
        """A new connection with heartbeats (under the lock)."""
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch_heartbeats, daemon=True,
                                             name="embedded broker heartbeats")
            self._watcher.start()
        self._heartbeat_due.notify()

    def _unwatch(self, conn: Connection) -> None:
        """A connection with heartbeats closed (under the lock): the watcher may end."""
        self._heartbeat_due.notify()

    def heartbeat(self, conn: Connection) -> None:
        """A heartbeat frame from the client: the broker heard from it."""
        with self.lock:
            self._check_open(conn)  # type: ignore[attr-defined]
            conn.last_heard = clock()

    def _watch_heartbeats(self) -> None:
        with self.lock:
            while True:
                self._reap()  # type: ignore[attr-defined]
                watched = [c for c in self.connections if c.heartbeat and not c.closed]
                if not watched:
                    self._watcher = None
                    return
                now = clock()
                for conn in watched:
                    if close_at(conn) <= now:
                        conn.close_reason = ("missed heartbeats from client, timeout: "
                                             f"{conn.heartbeat}s")
                        self._close_connection(conn)  # type: ignore[attr-defined]
                due = [close_at(c) for c in self.connections if c.heartbeat and not c.closed]
                if due:
                    self._heartbeat_due.wait(max(min(due) - now, 0.0))
