"""A process frozen and thawed, like ``kill -STOP`` / ``kill -CONT`` on a nova-compute (or an
eventlet hub blocked in a long C call): its threads stop where they are, its TCP connections
stay open, and it sends nothing, not even an AMQP heartbeat.

One :class:`Gate` per simulated process.  The threads that are the process's own (its
consumer loops, heartbeat threads, periodic tasks, the workers running its endpoints) wait
at it while it is paused; a thread that is not (a notebook cell calling through the
service's transport) is never held.
"""

from __future__ import annotations

import threading


class Gate:
    """Open while the process runs; :meth:`pause` holds its threads at :meth:`hold`."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._own = threading.local()

    @property
    def paused(self) -> bool:
        return self._paused

    def enlist(self) -> None:
        """The calling thread is one of the process's: :meth:`hold` holds it when paused."""
        self._own.member = True

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def hold(self, stop: threading.Event | None = None) -> None:
        """Return at once when open or when the caller is not the process's; else once
        resumed, or once ``stop`` is set and :meth:`wake` called (stopping a paused
        process must not need it resumed first)."""
        if not self._paused or not getattr(self._own, "member", False):
            return
        with self._cond:
            self._cond.wait_for(lambda: not self._paused or (stop is not None
                                                             and stop.is_set()))

    def wake(self) -> None:
        """Make the held threads look again at their ``stop`` event."""
        with self._cond:
            self._cond.notify_all()
