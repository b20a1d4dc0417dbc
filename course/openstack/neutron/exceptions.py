"""What Neutron's API answers when it cannot: 404 (the base's ``NotFound``), 409, or
nothing at all."""

from __future__ import annotations

from ...errors import CourseError
from ..cloud import APIUnavailable, NotFound


class NeutronUnavailable(APIUnavailable):
    """neutron-server is stopped: its API does not answer either."""


class RouterInUse(CourseError):
    """``neutron_lib/exceptions/l3.py:RouterInUse`` (409): a router with interfaces
    cannot be deleted; remove them first."""


__all__ = ["NeutronUnavailable", "NotFound", "RouterInUse"]
