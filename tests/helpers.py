"""Small helpers shared by test modules."""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def eventually(predicate, timeout=5.0, interval=0.02):
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return its last value.

    Brokers apply some changes a moment after the call that asked for them (RabbitMQ's
    counts, a consumer thread that has to wake up): tests wait for them this way.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@contextlib.contextmanager
def no_leaked_threads(timeout: float = 10.0) -> Iterator[None]:
    """Fail if a thread started inside the block still runs ``timeout`` seconds after it.

    A test stops what it starts (services, their consumers, timers and loops); a thread
    left behind would keep consuming in the next test.  The conftest's
    ``stops_its_threads`` fixture wraps a test in it.
    """
    before = set(threading.enumerate())
    yield

    def leaked() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in before and t.is_alive()]

    if not eventually(lambda: not leaked(), timeout):
        pytest.fail(f"threads left running: {[t.name for t in leaked()]}")


@contextlib.contextmanager
def embedded_vhost(prefix: str = "test") -> Iterator[str]:
    """The URL of a fresh vhost of the embedded broker (made as ``rabbitmqctl add_vhost``
    makes one), forgotten afterwards with everything else."""
    from course import broker  # here, not at the top: conftest imports this module

    yield broker.add_vhost(f"{prefix}-{uuid.uuid4().hex[:12]}")
    broker.reset()


def delivered(trace, request_id: str | None = None, timeout: float = 5.0) -> list:
    """The hops of a trace (or of one request), once every message sent was taken from
    one of its queues (a fanout's other copies may still wait: see :func:`receivers`).
    A delivery is recorded before the endpoint runs: to see what a service did with a
    message, wait for that itself with :func:`eventually`."""
    def view() -> list:
        return trace.for_request(request_id).hops if request_id else trace.hops

    eventually(lambda: all(h.receiver for h in view()), timeout)
    return view()


def receivers(trace, method: str, request_id: str | None = None) -> list[str]:
    """Who has taken a copy of ``method`` so far, sorted.  A fanout's copies are taken
    one by one, and :func:`delivered` cannot know how many queues it reached: wait for
    them with ``eventually(lambda: receivers(...) == [...])``."""
    hops = trace.for_request(request_id).hops if request_id else trace.hops
    return sorted(h.receiver for h in hops if h.method == method and h.receiver)


def hop_route(hop) -> tuple:
    """(kind, exchange, routing key, method, sender, receiver): where a hop went."""
    return (hop.kind, hop.exchange, hop.routing_key, hop.method, hop.sender, hop.receiver)


def notifications(trace) -> list[tuple]:
    """(exchange, routing key, event type, publisher) of every notification sent."""
    return [(h.exchange, h.routing_key, h.body["event_type"], h.body["publisher_id"])
            for h in trace.hops if h.kind == "notify"]


def unavailable(reason: str) -> None:
    """A tool the tests need is missing: skip with ``reason`` (how to get it), except in
    CI, where a missing tool is a failure: a skip must never hide it there."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason, allow_module_level=True)


def require(module: str, reason: str):
    """Import ``module`` for a test, or say how to install it (see :func:`unavailable`)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        unavailable(reason)


def _processes(part: str):
    """(pid, the bytes of ``/proc/<pid>/<part>``) of every process this user may read."""
    for path in Path("/proc").glob(f"[0-9]*/{part}"):
        try:
            yield int(path.parent.name), path.read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            pass


def processes_in(folder) -> list[int]:
    """Pids of the processes whose command line names ``folder`` (a RabbitMQ node's
    ``-home``): what a stopped node or cluster must not leave running."""
    return [pid for pid, cmdline in _processes("cmdline") if str(folder).encode() in cmdline]


def processes_marked(name: str, value: str) -> list[str]:
    """The command lines of the processes whose environment has ``name=value``: what a
    test session started (its nodes and kernels inherit its environment) and left running."""
    marker = f"{name}={value}".encode()
    marked = {pid for pid, environ in _processes("environ") if marker in environ.split(b"\0")}
    return [cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
            for pid, cmdline in _processes("cmdline") if pid in marked]


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
