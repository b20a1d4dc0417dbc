"""Small helpers shared by test modules."""

from __future__ import annotations

import importlib
import os
import time

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
