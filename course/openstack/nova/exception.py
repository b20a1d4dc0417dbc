"""Nova's exceptions (``nova/exception.py``), the few the lab raises.

A ``NovaException`` keeps its keyword arguments in ``kwargs``, so an exception raised
by nova-scheduler crosses the bus (as the reply's ``failure``) and is rebuilt as the
same class in the conductor: this module is in every Nova transport's
``allowed_remote_exmods``, as ``nova.exception`` is in real Nova (``nova/rpc.py``).
The messages are Nova's own, in English, as an operator reads them in the logs.
"""

from __future__ import annotations

from typing import Any


class NovaException(Exception):
    msg_fmt = "An unknown exception occurred."
    code = 500

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if not message:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = self.msg_fmt
        super().__init__(message)

    def format_message(self) -> str:
        return str(self.args[0])


class NotFound(NovaException):
    msg_fmt = "Resource could not be found."
    code = 404


class NoValidHost(NovaException):
    msg_fmt = "No valid host was found. %(reason)s"


class MaxRetriesExceeded(NoValidHost):
    msg_fmt = "Exceeded maximum number of retries. %(reason)s"


class RescheduledException(NovaException):
    msg_fmt = "Build of instance %(instance_uuid)s was re-scheduled: %(reason)s"


class UnexpectedTaskStateError(NovaException):
    msg_fmt = ("Conflict updating instance %(instance_uuid)s. "
               "Expected: %(expected)s. Actual: %(actual)s")
    code = 409


class InstanceInvalidState(NovaException):
    msg_fmt = ("Cannot '%(method)s' instance %(instance_uuid)s while it is in "
               "%(attr)s %(state)s")
    code = 409


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s could not be found."


class BuildRequestNotFound(NotFound):
    msg_fmt = "BuildRequest not found for instance %(uuid)s"


class InstanceMappingNotFound(NotFound):
    msg_fmt = "Instance %(uuid)s has no mapping to a cell."


class HostMappingNotFound(NotFound):
    msg_fmt = "Host '%(name)s' is not mapped to any cell"


class ComputeHostNotFound(NotFound):
    msg_fmt = "Compute host %(host)s could not be found."


class ServiceNotFound(NotFound):
    msg_fmt = "Service %(service_id)s could not be found."


class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s could not be found."


class ImageNotFound(NotFound):
    msg_fmt = "Image %(image_id)s could not be found."


class TooOldComputeService(NovaException):
    msg_fmt = ("Current Nova version does not support computes older than "
               "%(oldest_supported_version)s but the minimum compute service "
               "level in your %(scope)s is %(min_service_level)d and the "
               "oldest supported service level is "
               "%(oldest_supported_service)d.")
