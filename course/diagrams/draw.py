"""The diagrams lessons get: a model, drawn once by Graphviz and once as text.

:func:`topology_diagram` and :func:`flow_diagram` build a model from the records
(:mod:`.build`, :mod:`.flow`), then render it as a ``graphviz.Digraph`` (:mod:`.graph`,
:mod:`.flow_graph`) and as text (:mod:`.text`); the :class:`~.base.Diagram` they return
keeps the model as ``.model``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..topology import snapshot
from .base import Diagram
from .build import Topologies, topology_model
from .flow import FLOW_LIMIT, flow_model
from .flow_graph import flow_graph
from .graph import topology_graph
from .text import flow_text, topology_text


class TopologyDiagram(Diagram):
    """Exchanges, bindings and queues of one or more brokers, with the services around them.

    Build it with :func:`topology_diagram`, ``Topology.diagram()`` or
    :meth:`from_broker`.
    """

    @classmethod
    def from_broker(cls, url: str | None = None, *, management_url: str | None = None,
                    **options: Any) -> TopologyDiagram:
        """Snapshot the broker named by ``url`` (as ``course.topology.snapshot``) and draw it:
        an operator's own RabbitMQ, read-only."""
        return topology_diagram(snapshot(url, management_url=management_url), **options)


class FlowDiagram(Diagram):
    """A message sequence diagram: services as lifelines, one numbered arrow per hop,
    laid out by ``neato`` with every node pinned where the flow layout puts it.

    Build it with :func:`flow_diagram` or ``lab.trace.diagram()``.
    """


def topology_diagram(topology: Topologies, *, trace: Any = None, highlight: Any = None,
                     group: bool | int = True, short_ids: bool = True, legend: bool = True,
                     title: str = "") -> TopologyDiagram:
    """Draw exchanges, bindings (labelled with their routing keys) and queues.

    topology: a snapshot, or a list or dict of them (several brokers or vhosts: one
        cluster each, the dict's keys as titles).
    trace: a Trace, TraceView or hops: adds the publishers (left) and the consumers
        (right) that really sent and took messages.  A dict, keyed like ``topology``,
        gives each broker its own trace.
    highlight: hops (a Hop, a list, a TraceView) whose path
        publisher → exchange → queue → consumer is drawn thick, numbered like the flow
        diagram; the rest is greyed out.
    group: ``True`` draws alike queues (``compute.<host>``, ``compute_fanout_<uuid>``,
        ``reply_<uuid>``) and services (``nova-compute:<host>``) as one node once there
        are :data:`~.grouping.GROUP_THRESHOLD` of them, with summed counts; a number sets
        that threshold; ``False`` draws every one.
    short_ids: write 32-digit ids as their first 8 digits and "…" (full names in the
        SVG tooltips).
    legend: add a legend (a small sample topology) in the learner's language.
    title: a title above the picture.
    returns: a :class:`TopologyDiagram`; its ``model`` is the
        :class:`~.model.TopologyModel` drawn.
    """
    model = topology_model(topology, trace=trace, highlight=highlight, group=group,
                           short_ids=short_ids)
    queues = sum(len(c.queues) for c in model.clusters)
    members = sum(n.count for c in model.clusters for n in c.queues)
    summary = f"{len(model.clusters)} broker(s), {members} queues, {queues} queue nodes"
    return TopologyDiagram(topology_graph(model, title, legend),
                           topology_text(model, title, legend), summary, model)


def flow_diagram(trace: Any, *, participants: Sequence[str] = (), limit: int = FLOW_LIMIT,
                 short_ids: bool = True, legend: bool = True, title: str = "") -> FlowDiagram:
    """Draw the hops of a trace as a sequence diagram, one numbered arrow per hop.

    trace: a Trace, a TraceView (``trace.for_request(...)``), a Hop or a list of hops.
    participants: service names to put first, left to right (the others follow in the
        order they appear).
    limit: hops drawn at most (the first ones); a note counts the others.
    short_ids, legend, title: as for :func:`course.diagrams.topology_diagram`.
    returns: a :class:`FlowDiagram`; each kind (cast, call, reply, fanout, notify,
        http) has its own line style, colour and arrowhead, as the legend says.
    """
    model = flow_model(trace, participants=participants, limit=limit, short_ids=short_ids)
    summary = f"{len(model.arrows)} hops, {len(model.lanes)} lifelines"
    return FlowDiagram(flow_graph(model, title, legend), flow_text(model, title, legend),
                       summary, model)


