"""AMQP heartbeats as oslo.messaging sends them (``impl_rabbit.py``, reference §1.4).

A connection asks RabbitMQ for ``heartbeat_timeout_threshold`` seconds (kombu's
``heartbeat``): each side must then hear from the other within that time, or it closes the
connection ("missed heartbeats from client").  A sending connection is idle between
publishes, so a thread of its own (oslo's "Rabbit-heartbeat") checks it every
threshold/rate/2 seconds: ``heartbeat_check`` sends a heartbeat when one is due and raises
when the broker has been silent too long.  A listening connection checks inside its
consume loop (``course.rpc.consumer``).

Both brokers negotiate the heartbeat and close a connection that misses them (the embedded
broker as RabbitMQ 3.10 does: :mod:`course.embedded.heartbeats`); a process paused
(:mod:`.gate`) sends none.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import kombu

from .gate import Gate

LOG = logging.getLogger(__name__)


def threshold(conf: dict[str, Any]) -> float:
    """The heartbeat a new connection asks for (0 or less: none, as oslo)."""
    return max(conf["heartbeat_timeout_threshold"], 0)


def interval(conf: dict[str, Any]) -> float:
    """How often oslo looks at a connection's heartbeats: threshold/rate/2 seconds."""
    return conf["heartbeat_timeout_threshold"] / conf["heartbeat_rate"] / 2.0


def enabled(conf: dict[str, Any], conn: kombu.Connection) -> bool:
    """oslo's ``_heartbeat_supported_and_enabled``."""
    return conf["heartbeat_timeout_threshold"] > 0 and conn.supports_heartbeats


def check(conf: dict[str, Any], conn: kombu.Connection) -> None:
    """Send a heartbeat if one is due; raise if the broker missed too many."""
    conn.heartbeat_check(rate=conf["heartbeat_rate"])


class HeartbeatThread:
    """oslo's heartbeat thread for one sending connection: under the connection's lock,
    every threshold/rate/2 seconds, a check and a brief drain (to read the broker's
    heartbeats); ``on_error`` drops a connection found dead, so the next publish
    reconnects."""

    def __init__(self, conf: dict[str, Any], conn: kombu.Connection, lock: threading.Lock,
                 on_error: Callable[[], None], name: str, gate: Gate) -> None:
        self.conf, self.conn, self.lock, self.on_error = conf, conn, lock, on_error
        self.gate = gate
        self.interval = interval(conf)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name} heartbeat",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.gate.enlist()
        while not self._stop.wait(self.interval):
            self.gate.hold(self._stop)  # a paused process sends no heartbeat
            with self.lock:
                if self._stop.is_set():
                    return
                try:
                    check(self.conf, self.conn)
                    try:
                        self.conn.drain_events(timeout=0.001)
                    except TimeoutError:
                        pass
                except Exception as error:  # the connection is gone: the next publish
                    LOG.info("A recoverable connection/channel error occurred, "
                             "trying to reconnect: %s", error)
                    self.on_error()
                    return

    def stop(self) -> None:
        """Stop checking; the thread ends as soon as it holds the lock (the caller may hold
        it now, so it is not waited for)."""
        self._stop.set()
        self.gate.wake()
