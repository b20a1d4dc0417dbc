"""Small helpers shared by test modules."""

from __future__ import annotations

import time


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
