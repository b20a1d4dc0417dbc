"""What lesson 07's checks read: the running Nova, its notifications in the trace, the
broker's queues and policies, and answers made readable."""

from __future__ import annotations

from typing import Any

from ...i18n import N_
from ...openstack.nova import NovaCloud
from .. import evidence
from ..core import NotYet

VERSIONED = "versioned_notifications.info"
LEGACY = "notifications.info"
NOT_RECEIVED = N_("Write `received` as a list of `(publisher_id, event_type)` pairs (or of "
                  "event types); this answer is {kind}.")


def nova() -> NovaCloud:
    return evidence.cloud(NovaCloud, "cloud = lab.nova(...)")


def notifications(request_id: str | None = None) -> list[dict]:
    """The bodies of the notifications the trace shows published (of one request)."""
    return [h.body for h in evidence.lab().trace.hops
            if h.kind == "notify" and (request_id is None or h.request_id == request_id)]


def event_types(answer: Any) -> list[tuple[str, str]]:
    """``(publisher_id, event_type)`` pairs from a list of pairs or of event types."""
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__iter__"):
        raise NotYet(NOT_RECEIVED, kind=evidence.kind(answer))
    pairs = []
    for item in list(answer):
        if isinstance(item, str):
            pairs.append(("", item))
        elif (isinstance(item, (tuple, list)) and len(item) == 2
              and all(isinstance(x, str) or x is None for x in item)):
            pairs.append((item[0] or "", item[1] or ""))
        else:
            raise NotYet(NOT_RECEIVED, kind=evidence.kind(answer))
    return pairs


def queue_state(name: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of a queue now, None when it does not exist."""
    queue = evidence.topology().queues.get(name)
    return None if queue is None else (queue.messages_ready, queue.consumers)


def policy_named(name: str) -> dict | None:
    return next((p for p in evidence.lab().policies() if p["name"] == name), None)
