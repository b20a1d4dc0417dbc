"""What Neutron's API answers when it cannot: 404 (the base's ``NotFound``), or nothing."""

from __future__ import annotations

from ..cloud import APIUnavailable, NotFound


class NeutronUnavailable(APIUnavailable):
    """neutron-server is stopped: its API does not answer either."""


__all__ = ["NeutronUnavailable", "NotFound"]
