"""The base of every simulated OpenStack project a lab starts: Nova, Neutron, Cinder, Keystone.

A :class:`Cloud` is a set of :class:`~course.openstack.service.Service` processes on
one broker, sharing one trace.  What a lesson or a failure lab does with any of them
is the same, so it is written once here: start and stop (also as a context manager),
list the services, find one by binary and host, and snapshot the broker it runs on.
"""

from __future__ import annotations

from typing import Any

from .. import topology
from ..errors import CourseError
from ..i18n import _
from ..trace import Trace
from .service import Service


class NotFound(CourseError, KeyError):
    """What an OpenStack API answers 404 for: no such service, network, port, volume..."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class APIUnavailable(CourseError):
    """The API process of a project is stopped, so its (HTTP) API does not answer."""


class Cloud:
    """One OpenStack project's services on one broker, with one trace.

    Subclasses give :attr:`services` and the :meth:`start` / :meth:`stop` of their
    deployment order.  A stopped cloud is not started again (its processes have
    exited): create a new one, as a new deployment would.
    """

    def __init__(self, url: str | None = None, trace: Trace | None = None) -> None:
        self.url = url
        self.trace = trace if trace is not None else Trace()
        self._stopped = False

    @property
    def services(self) -> list[Service]:
        raise NotImplementedError

    def start(self) -> Cloud:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _check_startable(self) -> None:
        if self._stopped:
            raise CourseError(_("This cloud was stopped: create a new one to start again."))

    def service(self, binary: str, host: str | None = None) -> Service:
        """The process ``binary`` on ``host`` (without a host: the first one of that
        binary), for failure labs: ``cloud.service("nova-compute", "compute1").stop()``."""
        for service in self.services:
            if service.binary == binary and host in (None, service.host):
                return service
        raise NotFound(_("No service {binary} on host {host} in this cloud.",
                         binary=binary, host=host or "?"))

    def topology(self, **options: Any) -> topology.Topology:
        """What the broker this cloud runs on holds now (as ``course.topology.snapshot``)."""
        return topology.snapshot(self.url, **options)

    def __enter__(self) -> Cloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
