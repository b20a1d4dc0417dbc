"""The errors oslo.messaging raises, and how a server's exception crosses the bus.

A failure travels in the reply as JSON (class, module, message, traceback); the caller
rebuilds the exception when its module is allowed (``allowed_remote_exmods``), else it
gets a :class:`RemoteError`.

The messages are oslo.messaging's own, in English in every language (:func:`upstream`):
they are the lines learners will find in a real service's log, and the dispatcher's
travel on the wire as a reply's ``failure``.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import CourseError
from ..i18n import upstream

LOG = logging.getLogger(__name__)


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
        super().__init__(upstream(f"Remote error: {exc_type} {value}\n{traceback}."))

    def _render_traceback_(self) -> list[str]:
        return [f"RemoteError: {self.exc_type}: {self.value}"]


class RPCVersionCapError(MessagingException):
    """The client would send a version newer than its ``version_cap`` allows."""

    def __init__(self, version: str, version_cap: str) -> None:
        self.version, self.version_cap = version, version_cap
        super().__init__(upstream(
            f"Requested message version, {version} is incompatible.  It needs to be equal in "
            f"major version and less than or equal in minor version as the specified version "
            f"cap {version_cap}."))


# The dispatcher's errors travel to the caller under the module name of oslo.messaging's
# own classes (``remote_module``), so the failure on the wire reads exactly as a real
# server's would.


class NoSuchMethod(MessagingException, AttributeError):
    """Raised on the server: no endpoint has this method."""

    remote_module = "oslo_messaging.rpc.dispatcher"

    def __init__(self, method: str) -> None:
        self.method = method
        super().__init__(upstream(f"Endpoint does not support RPC method {method}"))


class UnsupportedVersion(MessagingException):
    """Raised on the server: no endpoint speaks this version in this namespace."""

    remote_module = "oslo_messaging.rpc.dispatcher"

    def __init__(self, version: str, method: str | None = None) -> None:
        self.version, self.method = version, method
        text = upstream(f"Endpoint does not support RPC version {version}")
        super().__init__(upstream(f"{text}. Attempted method: {method}") if method else text)


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
