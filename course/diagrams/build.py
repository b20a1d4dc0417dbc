"""Building the topology model from snapshots and the trace: :func:`topology_model`.

Each broker's snapshot gives its exchanges, queues and bindings; the trace adds who
published to which exchange and who consumed from which queue (a snapshot alone does
not know); the highlighted hops mark their path publisher → exchange → queue →
consumer, numbered like the flow diagram.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..display import exchange_label
from ..i18n import _
from ..topology import Topology
from ..trace import KINDS, Hop
from .base import hop_queues, hops_of
from .grouping import (
    PerBroker,
    bound_exchanges,
    brokers_of_hops,
    group_threshold,
    queue_nodes,
    service_groups,
)
from .model import Cluster, Edge, Node, TopologyModel

#: One snapshot, or several brokers (or vhosts): a list, or a dict by title.
Topologies = Topology | Sequence[Topology] | Mapping[Any, Topology]


def topology_model(topology: Topologies, *, trace: Any = None, highlight: Any = None,
                   group: bool | int = True, short_ids: bool = True) -> TopologyModel:
    """What :func:`course.diagrams.topology_diagram` draws (same arguments)."""
    highlighted = [h for h in hops_of(highlight) if h.kind != "http"]
    brokers = []
    for key, (title, snap) in _titled(topology):
        hops = hops_of(trace.get(key) if isinstance(trace, Mapping) else trace)
        seen = {(h.unique_id, h.queue) for h in hops}
        hops += [h for h in highlighted if (h.unique_id, h.queue) not in seen]
        brokers.append((title, snap, hops))
    return _Builder(brokers, highlighted, group_threshold(group), short_ids).model()


def _titled(topology: Topologies) -> list[tuple[Any, tuple[str, Topology]]]:
    """(key in ``topology``, (title, snapshot)) for each broker: a dict's keys are titles."""
    if isinstance(topology, Topology):
        items = [(None, "", topology)]
    elif isinstance(topology, Mapping):
        items = [(k, str(k), t) for k, t in topology.items()]
    else:
        items = [(i, "", t) for i, t in enumerate(topology)]
    return [(key, (title or _cluster_title(t), t)) for key, title, t in items]


def _cluster_title(topology: Topology) -> str:
    return _("{source}, virtual host {vhost}", source=topology.source or "?",
             vhost=topology.vhost)


@dataclass
class _Route:
    """One hop on one broker: the queues its message is in, its number if highlighted."""

    hop: Hop
    queues: list[str]
    number: int | None


class _Builder:
    """Nodes and edges for every broker; services are shared by the brokers they use."""

    def __init__(self, brokers: PerBroker, highlighted: list[Hop], threshold: int,
                 short_ids: bool) -> None:
        self.brokers = brokers
        self.highlighted = highlighted
        self.marked = {(h.unique_id, h.queue): h.number for h in highlighted}
        self.threshold = threshold
        self.short_ids = short_ids
        self.located = brokers_of_hops(brokers)
        self.service_node = service_groups(
            (name for _title, _snap, hops in brokers for h in hops if h.kind != "http"
             for name in (h.sender, h.receiver) if name), threshold)
        self.publishers: dict[str, Node] = {}
        self.consumers: dict[str, Node] = {}
        self.flows: dict[tuple[str, str], Edge] = {}

    def model(self) -> TopologyModel:
        clusters = [self.cluster(i, *broker) for i, broker in enumerate(self.brokers)]
        kinds = {h.kind for h in self.highlighted}
        return TopologyModel(clusters, dict(sorted(self.publishers.items())),
                             dict(sorted(self.consumers.items())),
                             sorted(self.flows.values(), key=lambda e: (e.role, e.tail, e.head)),
                             bool(self.marked), self.short_ids, [k for k in KINDS if k in kinds])

    def cluster(self, index: int, title: str, topology: Topology, hops: list[Hop]) -> Cluster:
        """One broker: its exchanges, queues and bindings, and the hops through them."""
        prefix = f"{index}/" if len(self.brokers) > 1 else ""
        queue_node, queues = queue_nodes(topology, prefix, self.threshold)
        routes = self.routes(index, topology, hops)
        unbound = [q for q, exchanges in bound_exchanges(topology).items() if not exchanges]
        exchanges = _exchange_nodes(topology, prefix,
                                    bool(unbound) or any(r.hop.exchange == "" for r in routes))
        bindings: dict[tuple[str, str], Edge] = {}
        for b in topology.bindings:
            if b.exchange != "":
                _bind(bindings, exchanges[b.exchange], queue_node[b.queue], b.queue,
                      b.routing_key)
        for q in unbound:
            _bind(bindings, exchanges[""], queue_node[q], q, q)
        for route in routes:
            self.follow(route, exchanges[route.hop.exchange], queue_node, bindings)
        return Cluster(title, sorted(exchanges.values(), key=_exchange_order), queues,
                       sorted(bindings.values(), key=lambda e: (e.tail, e.head)))

    def routes(self, index: int, topology: Topology, hops: list[Hop]) -> list[_Route]:
        """The hops that went through broker ``index``, and where each one went."""
        cache: dict[tuple[str, str], list[str]] = {}
        routes = []
        for hop in hops:
            key = (hop.unique_id, hop.queue)
            if index in self.located.get(key, ()):
                queues = [q for q in hop_queues(hop, topology, cache) if q in topology.queues]
                routes.append(_Route(hop, queues, self.marked.get(key)))
        return routes

    def follow(self, route: _Route, exchange: Node, queue_node: Mapping[str, Node],
               bindings: dict[tuple[str, str], Edge]) -> None:
        """A hop's path: publisher → exchange → queues (→ the consumer that took it)."""
        hop, number = route.hop, route.number
        publisher = self.service(hop.sender, "publisher")
        self.flow(publisher, exchange, "publish", hop, number)
        if number is not None:
            exchange.hops.add(number)
            publisher.hops.add(number)
        for q in route.queues:
            queue = queue_node[q]
            edge = _bind(bindings, exchange, queue, q, q) if hop.exchange == "" else \
                bindings.get((exchange.id, queue.id))
            if number is not None:
                queue.hops.add(number)
                if edge is not None:
                    edge.mark(hop, number, exchange.type)
            if hop.receiver and hop.queue == q:
                consumer = self.service(hop.receiver, "consumer")
                self.flow(queue, consumer, "consume", hop, number)
                if number is not None:
                    consumer.hops.add(number)

    def service(self, name: str, role: str) -> Node:
        """The publisher or consumer node of a service (of its group, if grouped)."""
        nodes = self.publishers if role == "publisher" else self.consumers
        group = self.service_node[name]
        node = nodes.get(group)
        if node is None:
            node = nodes[group] = Node(f"{role[0].upper()}:{group}", role, group)
        if name not in node.members:
            node.members.append(name)
        return node

    def flow(self, tail: Node, head: Node, role: str, hop: Hop, number: int | None) -> None:
        edge = self.flows.setdefault((tail.id, head.id), Edge(tail.id, head.id, role))
        if number is not None:
            edge.mark(hop, number)


def _exchange_nodes(topology: Topology, prefix: str, default: bool) -> dict[str, Node]:
    """Exchange name -> node; the default exchange ``""`` too when ``default`` (a queue is
    bound to no other exchange, or a hop used it)."""
    names = [n for n in topology.exchanges if n != ""] + ([""] if default else [])
    nodes = {}
    for name in names:
        found = topology.exchanges.get(name)
        type_ = "default" if name == "" else (found.type if found else "direct")
        nodes[name] = Node(f"{prefix}x:{name}", "exchange", exchange_label(name), type_)
    return nodes


def _bind(bindings: dict[tuple[str, str], Edge], exchange: Node, queue: Node, name: str,
          key: str) -> Edge:
    """The edge exchange -> queue node, with this queue's routing key added to it."""
    edge = bindings.setdefault((exchange.id, queue.id), Edge(exchange.id, queue.id, "binding"))
    edge.keys.setdefault(key, set()).add(name)
    return edge


def _exchange_order(node: Node) -> tuple[bool, str]:
    return (node.type == "default", node.name)
