"""What lesson 06's checks read: the trace of the running lab, and answers made readable."""

from __future__ import annotations

from typing import Any

from ...i18n import N_
from ...openstack.neutron import NeutronCloud
from .. import evidence
from ..core import NotYet

#: The port-update topic of ``neutron_lib/agent/topics.py`` and its fanout exchange.
SHARED = "q-agent-notifier-port-update"
FANOUT = f"{SHARED}_fanout"

NOT_SECONDS = N_("Write a number of seconds, e.g. `2.5`; this answer is {kind}.")
NOT_NUMBERS = N_("Write a set of whole numbers, e.g. `{{1, 4}}`; this answer is {kind}.")


def port_update_queues() -> set[str]:
    """The queues the last ``port_update`` fanout was delivered to (the trace)."""
    hops = [h for h in evidence.lab().trace.hops
            if h.method == "port_update" and h.kind == "fanout"]
    if not hops:
        return set()
    last = hops[-1].unique_id
    return {h.queue for h in hops if h.unique_id == last and h.queue}


def bound_queues() -> set[str]:
    """The queues bound to the port-update fanout exchange now: the agents', and on a
    RabbitMQ those a process left when it exited without deleting them (they expire after
    ``rabbit_transient_queues_ttl``; their consumer counts come from the management API,
    which lags, so nothing here tells them apart): each gets a copy of every fanout."""
    view = evidence.topology()
    if FANOUT not in view.exchanges:
        return set()
    return set(view.route(FANOUT, ""))


def down_agents(net: NeutronCloud) -> list[tuple[str, str]]:
    """(binary, host) of the agents neutron-server lists down now or found dead."""
    now = [(a.binary, a.host) for a in net.agents() if not a.alive]
    return now or list(net.server.dead_agents)


def volume_cast(backend: str) -> Any:
    """The ``create_volume`` cast cinder-scheduler sent to ``backend``, the last one."""
    found = None
    for hop in evidence.lab().trace.hops:
        if hop.method == "create_volume" and hop.sender.startswith("cinder-scheduler:"):
            host = (hop.body.get("args", {}).get("volume") or {}).get("host") or ""
            if host.split("#")[0] == backend:
                found = hop
    return found


def answer_seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise NotYet(NOT_SECONDS, kind=evidence.kind(value))
    if isinstance(value, (int, float)) and value == value and abs(value) != float("inf"):
        return float(value)
    if isinstance(value, str):
        try:
            return answer_seconds(float(value.strip().removesuffix("s").replace(",", ".")))
        except ValueError:
            pass
    raise NotYet(NOT_SECONDS, kind=evidence.kind(value))


def answer_numbers(value: Any) -> set[int]:
    items = [value] if isinstance(value, (int, str)) else value
    try:
        numbers = set()
        for item in items:
            if isinstance(item, bool):
                raise TypeError
            if isinstance(item, str) and item.strip().isdigit():
                item = int(item.strip())
            if not isinstance(item, int):
                raise TypeError
            numbers.add(item)
    except TypeError:
        raise NotYet(NOT_NUMBERS, kind=evidence.kind(value)) from None
    if isinstance(value, dict):
        raise NotYet(NOT_NUMBERS, kind=evidence.kind(value))
    return numbers
