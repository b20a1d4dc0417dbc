"""Policies: an operator's rules for a vhost's queues (``rabbitmqctl set_policy``), on
either broker.

Operators cap or expire OpenStack's queues with policies, never by declaring the queues
with other arguments: oslo.messaging declares ``notifications.info`` with none, and a
declaration with ``x-max-length`` would make its next one fail (406 PRECONDITION_FAILED,
inequivalent arg).  On RabbitMQ a policy is written through the management API
(``PUT /api/policies/<vhost>/<name>``, what ``rabbitmqctl set_policy`` does), which
RabbitMQ applies to the matching queues a moment later; on the embedded broker it is
applied at once, by the same rules (:mod:`course.embedded.policies`).

It lives here, not in :mod:`course.broker`, because on RabbitMQ it goes through the
management API that :mod:`course.topology` already speaks, and the broker layer stays
AMQP only.
"""

from __future__ import annotations

from typing import Any

from amqp import exceptions as amqp_errors

from . import embedded
from .broker import configured_url, is_embedded
from .errors import CourseError
from .i18n import _
from .topology import ManagementAPIError, management_client
from .transport_url import parse_transport_url


class PolicyError(CourseError, ValueError):
    """A policy the broker refuses, or one that does not exist."""


def set_policy(url: str | None, name: str, pattern: str, definition: dict[str, Any], *,
               apply_to: str = "queues", priority: int = 0,
               management_url: str | None = None) -> None:
    """Set (or replace) the policy ``name`` of the vhost ``url`` names: the queues (with
    ``apply_to="queues"``) whose name ``pattern`` matches behave by ``definition``, such
    as ``{"max-length": 1000}``; of several matching policies, the highest ``priority``
    applies."""
    if not isinstance(name, str) or not name:
        raise PolicyError(_("A policy needs a name: a non-empty string."))
    url = configured_url(url)
    if is_embedded(url):
        try:
            embedded.BROKER.set_policy(parse_transport_url(url).vhost or "/", name, pattern,
                                       definition, apply_to, priority)
        except embedded.PolicyNotHonoured as error:
            raise PolicyError(_("The embedded broker does not implement the policy key "
                                "{key}: leave it out, or use RabbitMQ.", key=error.key)) from None
        except embedded.PolicyInvalid as error:
            raise PolicyError(_("RabbitMQ would refuse policy {name}: {reason}.",
                                name=name, reason=str(error))) from None
        except amqp_errors.NotAllowed:
            vhost = parse_transport_url(url).vhost or "/"
            raise PolicyError(_("There is no vhost {vhost} on the embedded broker: "
                                "`course.broker.add_vhost({name})` makes it.", vhost=vhost,
                                name=repr(vhost))) from None
        return
    api = management_client(url, management_url=management_url)
    try:
        api.request("PUT", "policies", name, {"pattern": pattern, "definition": definition,
                                              "priority": priority, "apply-to": apply_to})
    except ManagementAPIError as error:
        if not error.reason:
            raise
        reason = error.reason.removeprefix("Validation failed").strip()
        raise PolicyError(_("RabbitMQ refuses policy {name}: {reason}.", name=name,
                            reason=reason)) from None


def clear_policy(url: str | None, name: str, *, management_url: str | None = None) -> None:
    """Remove the policy ``name``: its queues go back to their own arguments (or to the
    next matching policy)."""
    url = configured_url(url)
    if is_embedded(url):
        vhost = parse_transport_url(url).vhost or "/"
        if not embedded.BROKER.clear_policy(vhost, name):
            raise PolicyError(_("There is no policy {name} in vhost {vhost}.", name=name,
                                vhost=vhost))
        return
    api = management_client(url, management_url=management_url)
    if not any(p["name"] == name for p in api.get("policies")):
        raise PolicyError(_("There is no policy {name} in vhost {vhost}.", name=name,
                            vhost=api.vhost))
    api.request("DELETE", "policies", name)


def policies(url: str | None = None, *, management_url: str | None = None) -> list[dict]:
    """The vhost's policies, as ``GET /api/policies/<vhost>`` lists them (``name``,
    ``pattern``, ``apply-to``, ``definition``, ``priority``), sorted by name."""
    url = configured_url(url)
    if is_embedded(url):
        found = embedded.BROKER.policies(parse_transport_url(url).vhost or "/")
    else:
        found = management_client(url, management_url=management_url).get("policies")
    return sorted(found, key=lambda p: p["name"])
