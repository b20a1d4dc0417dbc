"""The topology model: what a topology diagram shows, before any drawing.

Nodes (exchanges, queues, and the publishers and consumers seen in the trace), edges
(bindings labelled with their routing keys, publish and consume arrows), one cluster per
broker, and the hops highlighted on each.  The Graphviz and the text renderings both draw
this model, so they always agree; tests and exercises read it rather than the pictures.

Node ids say what a node is: ``x:<exchange>``, ``q:<queue>`` (or ``q:<pattern>`` for a
group), ``P:<service>`` and ``C:<service>``; with several brokers, exchanges and queues
are prefixed with the broker's index (``0/q:compute``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .. import routing
from ..i18n import _
from ..trace import Hop
from .base import short


@dataclass
class Node:
    """An exchange, a queue (or a group of alike queues) or a service (or a group)."""

    id: str
    role: str  # exchange | queue | publisher | consumer
    name: str  # the name, or the pattern of a group; the default exchange's label
    type: str = ""  # exchange type; "default" for ""
    members: list[str] = field(default_factory=list)  # grouped queues or services
    ready: int = 0
    unacked: int = 0
    consumers: int = 0
    hops: set[int] = field(default_factory=set)  # highlighted hops through it

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def waiting(self) -> bool:
        """Messages wait in this queue (nobody took them yet)."""
        return self.ready > 0

    def label(self, short_ids: bool) -> str:
        name = short(self.name, short_ids)
        return f"{name} ×{self.count}" if self.count > 1 else name


@dataclass
class Edge:
    """A binding (exchange -> queue), or a publish or consume arrow of the trace."""

    tail: str
    head: str
    role: str  # binding | publish | consume
    hops: set[int] = field(default_factory=set)  # highlighted hops along it
    kinds: set[str] = field(default_factory=set)  # their kinds (cast, call...)
    #: Bindings only: routing key -> the queues bound with it, and the hops that took it.
    keys: dict[str, set[str]] = field(default_factory=dict)
    key_hops: dict[str, set[int]] = field(default_factory=dict)

    def mark(self, hop: Hop, number: int, exchange_type: str = "") -> None:
        """Highlight hop ``number``; on a binding, only the keys that route its message."""
        self.hops.add(number)
        self.kinds.add(hop.kind)
        if self.keys:
            keys = [k for k in self.keys if key_routes(exchange_type, k, hop.routing_key)]
            for key in keys or self.keys:
                self.key_hops.setdefault(key, set()).add(number)


def key_routes(exchange_type: str, binding_key: str, routing_key: str) -> bool:
    """Does a binding with ``binding_key`` take a message published with ``routing_key``?
    (Headers bindings are drawn as taking every message: a hop has no headers.)"""
    rule = {"default": "direct", "headers": "fanout"}.get(exchange_type, exchange_type)
    return routing.matches(rule, binding_key, routing_key)


@dataclass(frozen=True)
class Arrow:
    """One arrow drawn for a binding edge: its label and the highlighted hops on it."""

    label: str
    hops: frozenset[int]


@dataclass
class Cluster:
    """One broker (or virtual host): its exchanges, queues and bindings."""

    title: str
    exchanges: list[Node]
    queues: list[Node]
    bindings: list[Edge]


@dataclass
class TopologyModel:
    """Everything a topology diagram draws."""

    clusters: list[Cluster]
    publishers: dict[str, Node]  # by node name
    consumers: dict[str, Node]
    flows: list[Edge]  # publish and consume edges
    highlighted: bool
    short_ids: bool
    kinds: list[str] = field(default_factory=list)  # of the highlighted hops, in KINDS order

    @cached_property
    def by_id(self) -> dict[str, Node]:
        """Every node by id (read once the model is built)."""
        found = {n.id: n for c in self.clusters for n in c.exchanges + c.queues}
        found.update((n.id, n) for n in [*self.publishers.values(), *self.consumers.values()])
        return found

    def node(self, id: str) -> Node:
        return self.by_id[id]

    def edges(self) -> list[Edge]:
        """Bindings of every cluster, then the publish and consume edges."""
        return [e for c in self.clusters for e in c.bindings] + self.flows

    def edge(self, tail: str, head: str) -> Edge | None:
        """The edge from node ``tail`` to node ``head``, if the diagram has one."""
        return next((e for e in self.edges() if (e.tail, e.head) == (tail, head)), None)

    def dimmed(self, item: Node | Edge) -> bool:
        """Greyed out: hops are highlighted, and none went through this node or edge."""
        return self.highlighted and not item.hops

    def arrows(self, edge: Edge) -> list[Arrow]:
        """The arrows of a binding edge, each with its routing key.

        A single queue gets one arrow per key, as in the tutorials; a group gets one
        arrow, labelled with its shared key or its own pattern (``compute.<host>``).
        """
        queue = self.node(edge.head)
        keys = sorted(edge.keys)
        if queue.count == 1:
            return [Arrow(short(k, self.short_ids), frozenset(edge.key_hops.get(k, ())))
                    for k in keys]
        if len(keys) == 1:
            label = short(keys[0], self.short_ids)
        elif all(edge.keys[k] == {k} for k in keys):
            label = short(queue.name, self.short_ids)
        else:
            label = _("{count} routing keys", count=len(keys))
        return [Arrow(label, frozenset(edge.hops))]
