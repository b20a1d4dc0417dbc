"""Keeping a big topology readable, and saying which broker each hop went through.

* Look-alike queues (``compute.<host>``, ``reply_<uuid>``, bound to the same exchanges)
  and services (``nova-compute:<host>``) become one node from a threshold on, with
  summed counts: a hundred computes draw as one row, not a hundred.
* A trace does not say which broker carried a message; with several brokers (cells),
  :func:`brokers_of_hops` works it out from where each hop's exchange and queue exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..topology import Topology, same_broker
from ..trace import UUID_HEX, Hop
from .model import Node

#: Queues (or services) alike in name and bindings are drawn as one node from this many on.
GROUP_THRESHOLD = 5

#: (title, snapshot, the hops it may have carried) for each broker of a diagram.
PerBroker = Sequence[tuple[str, Topology, list[Hop]]]


def group_threshold(group: bool | int | None) -> int:
    """``group=`` of a diagram as a threshold: 0 never groups."""
    if group is True:
        return GROUP_THRESHOLD
    if group is False or group is None:
        return 0
    return max(int(group), 2)


def queue_pattern(name: str, queues: Mapping[str, Any]) -> str:
    """What a queue's name has in common with its like: ``compute.<host>``, ``reply_<uuid>``."""
    if UUID_HEX.search(name):
        return UUID_HEX.sub("<uuid>", name)
    topics = [t for t in queues if name.startswith(t + ".") and t != name]
    if topics:
        return max(topics, key=len) + ".<host>"
    if "." in name:
        return name.split(".", 1)[0] + ".*"
    return name


def service_groups(names: Iterable[str], threshold: int) -> dict[str, str]:
    """Service name -> the name of its node: ``nova-compute:<host>`` for many computes."""
    names = list(dict.fromkeys(names))
    by_binary: dict[str, set[str]] = {}
    for name in names:
        binary, sep, _host = name.partition(":")
        if sep:
            by_binary.setdefault(binary, set()).add(name)
    grouped = {n: f"{b}:<host>" for b, members in by_binary.items()
               if threshold and len(members) >= threshold for n in members}
    return {n: grouped.get(n, n) for n in names}


def bound_exchanges(topology: Topology) -> dict[str, set[str]]:
    """Queue -> the exchanges it is bound to (the default exchange left out)."""
    bound: dict[str, set[str]] = {q: set() for q in topology.queues}
    for b in topology.bindings:
        if b.exchange != "":
            bound[b.queue].add(b.exchange)
    return bound


def queue_nodes(topology: Topology, prefix: str, threshold: int
                ) -> tuple[dict[str, Node], list[Node]]:
    """(queue name -> its node, the nodes sorted by name).

    Queues alike in name and in the exchanges they are bound to share a node once
    there are ``threshold`` of them (unless one of them has the pattern as its name).
    """
    bound = bound_exchanges(topology)
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for name in topology.queues:
        key = (queue_pattern(name, topology.queues), tuple(sorted(bound[name])))
        groups.setdefault(key, []).append(name)
    nodes: list[Node] = []
    for (pattern, _exchanges), members in groups.items():
        if threshold and len(members) >= threshold and pattern not in members:
            nodes.append(_queue_node(topology, prefix, pattern, members))
        else:
            nodes += [_queue_node(topology, prefix, member, [member]) for member in members]
    nodes.sort(key=lambda n: n.name)
    return {member: node for node in nodes for member in node.members}, nodes


def _queue_node(topology: Topology, prefix: str, name: str, members: list[str]) -> Node:
    """One node for ``members``, their counts summed."""
    queues = [topology.queues[m] for m in members]
    return Node(f"{prefix}q:{name}", "queue", name, members=list(members),
                ready=sum(q.messages_ready for q in queues),
                unacked=sum(q.messages_unacknowledged for q in queues),
                consumers=sum(q.consumers for q in queues))


def passes_through(hop: Hop, topology: Topology, several: bool) -> bool:
    """Could this hop have gone through this broker?  (The trace says which broker it
    crossed; hops recorded without it: its exchange and queue are there.)"""
    if hop.kind == "http" or (hop.exchange and hop.exchange not in topology.exchanges):
        return False
    if hop.broker and topology.broker and not same_broker(hop.broker, topology.broker):
        return False
    return not (several and hop.queue and hop.queue not in topology.queues)


def brokers_of_hops(brokers: PerBroker) -> dict[tuple[str, str], set[int]]:
    """(unique_id, queue) -> the brokers (indexes) each hop went through.

    A hop whose exchange and queue exist on one broker only went through it, and that
    locates its sender and receiver there; a hop to a queue every broker has
    (``conductor`` in each cell) is then put where its services are located.
    """
    several = len(brokers) > 1
    candidates: dict[tuple[str, str], set[int]] = {}
    services: dict[tuple[str, str], tuple[str, str]] = {}
    for index, (_title, topology, hops) in enumerate(brokers):
        for hop in hops:
            if passes_through(hop, topology, several):
                key = (hop.unique_id, hop.queue)
                candidates.setdefault(key, set()).add(index)
                services[key] = (hop.sender, hop.receiver)
    located = _located(candidates, services)
    for key, found in candidates.items():
        for service in services[key]:
            narrower = found & located.get(service, set())
            if narrower:
                found = narrower
        candidates[key] = found
    return candidates


def _located(candidates: Mapping[tuple[str, str], set[int]],
             services: Mapping[tuple[str, str], tuple[str, str]]) -> dict[str, set[int]]:
    """Service -> the brokers it surely used: those of its hops that only one broker had."""
    located: dict[str, set[int]] = {}
    for key, found in candidates.items():
        if len(found) == 1:
            for service in services[key]:
                if service:
                    located.setdefault(service, set()).update(found)
    return located
