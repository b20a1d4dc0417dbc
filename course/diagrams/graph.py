"""The topology model drawn by Graphviz: ``dot``, left to right, as the RabbitMQ tutorials.

Publishers on the left, then each broker's exchanges and queues (a cluster each when
there are several), consumers on the right, and a legend drawn as a small sample
topology.  Highlighted hops are thick and numbered; what they did not use is greyed out.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import graphviz

from ..i18n import _
from .base import dot_name, dot_text, hop_numbers
from .model import Cluster, Edge, Node, TopologyModel
from .style import (
    CONSUMER_FILL,
    DIM,
    DIM_TEXT,
    FONT,
    HIGHLIGHT,
    KIND_STYLES,
    PUBLISHER_FILL,
    QUEUE_BORDER,
    QUEUE_FILL,
    QUEUE_FILL_WAITING,
    SERVICE_BORDER,
    exchange_style,
    exchange_words,
    kind_line,
    kind_style,
    queue_counts,
)

#: Tooltips list this many members of a group at most.
TOOLTIP_MEMBERS = 20


def topology_graph(model: TopologyModel, title: str = "", legend: bool = True
                   ) -> graphviz.Digraph:
    """The whole picture: publishers, brokers, consumers, their edges, and the legend."""
    graph = graphviz.Digraph(
        "topology", engine="dot",
        graph_attr=dict(rankdir="LR", fontname=FONT, fontsize="12", nodesep="0.2",
                        ranksep="0.5", labelloc="t", label=dot_text(title)),
        node_attr=dict(fontname=FONT, fontsize="10", height="0.35"),
        edge_attr=dict(fontname=FONT, fontsize="9", arrowsize="0.7"))
    for node in model.publishers.values():
        _node(graph, node, model)
    for index, cluster in enumerate(model.clusters):
        _cluster(graph, index, cluster, model)
    for node in model.consumers.values():
        _node(graph, node, model)
    for edge in model.flows:
        _edge(graph, edge, "", edge.hops, model)
    if legend:
        graph.subgraph(_legend(model))
    return graph


def _cluster(graph: graphviz.Digraph, index: int, cluster: Cluster,
             model: TopologyModel) -> None:
    """One broker's exchanges and queues (boxed and titled when there are several), then
    its bindings, one arrow per routing key."""
    if len(model.clusters) > 1:
        with graph.subgraph(name=f"cluster_{index}") as box:
            box.attr(label=dot_text(cluster.title), style="rounded", color="#666666")
            for node in cluster.exchanges + cluster.queues:
                _node(box, node, model)
    else:
        for node in cluster.exchanges + cluster.queues:
            _node(graph, node, model)
    for edge in cluster.bindings:
        for arrow in model.arrows(edge):
            _edge(graph, edge, arrow.label, arrow.hops, model)


def _node(graph: graphviz.Digraph, node: Node, model: TopologyModel) -> None:
    """A node drawn for its role; thick and red on the highlighted path, grey off it."""
    if node.hops:
        pen = {"penwidth": "3", "color": HIGHLIGHT}
    elif model.dimmed(node):
        pen = {"color": DIM, "fontcolor": DIM_TEXT}
    else:
        pen = {}
    if node.role == "queue":
        attrs = _queue_attrs(node, model, pen.get("color", QUEUE_BORDER))
    elif node.role == "exchange":
        attrs = _exchange_attrs(node) | pen
    else:
        attrs = _service_attrs(node, model) | pen
    graph.node(dot_name(node.id), **attrs)


def _tooltip(node: Node) -> str:
    """The full names a node stands for (a group's members), or its own name."""
    if not node.members:
        return dot_text(node.name)
    more = "\n…" if node.count > TOOLTIP_MEMBERS else ""
    return dot_text("\n".join(node.members[:TOOLTIP_MEMBERS]) + more)


def _queue_attrs(node: Node, model: TopologyModel, border: str) -> dict[str, str]:
    table = queue_table(node.label(model.short_ids),
                        queue_counts(node.ready, node.unacked, node.consumers),
                        waiting=node.waiting, border=border, width=3 if node.hops else 1,
                        fontcolor=DIM_TEXT if model.dimmed(node) else "")
    return {"shape": "plain", "label": table, "tooltip": _tooltip(node)}


def _exchange_attrs(node: Node) -> dict[str, str]:
    shape, fill, border = exchange_style(node.type)
    default = node.type == "default"
    label = node.name if default else f"{node.name}\n({node.type})"
    return {"shape": shape, "style": "filled,dashed" if default else "filled",
            "fillcolor": fill, "color": border, "label": dot_text(label),
            "tooltip": dot_text(exchange_words(node.type))}


def _service_attrs(node: Node, model: TopologyModel) -> dict[str, str]:
    publisher = node.role == "publisher"
    letter = "P" if publisher else "C"
    return {"shape": "box", "style": "rounded,filled",
            "fillcolor": PUBLISHER_FILL if publisher else CONSUMER_FILL,
            "color": SERVICE_BORDER, "label": dot_text(f"{letter}  {node.label(model.short_ids)}"),
            "tooltip": _tooltip(node)}


def queue_table(name: str, cells: Sequence[str], *, waiting: bool = False,
                border: str = QUEUE_BORDER, width: int = 1, fontcolor: str = "") -> str:
    """A queue drawn as the tutorials' record: its name over ready | unacked | consumers.

    An HTML-like table rather than a ``record`` shape: Graphviz lays those out more
    reliably, and the ready cell can turn red when messages wait.
    """
    def font(text: str, bold: bool = False) -> str:
        text = html.escape(text, quote=True)
        text = f"<B>{text}</B>" if bold else text
        return f'<FONT COLOR="{fontcolor}">{text}</FONT>' if fontcolor else text

    red = f' BGCOLOR="{QUEUE_FILL_WAITING}"'
    row = "".join(f"<TD{red if waiting and i == 0 else ''}>{font(cell)}</TD>"
                  for i, cell in enumerate(cells))
    return (f'<<TABLE BORDER="{width}" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" '
            f'COLOR="{border}" BGCOLOR="{QUEUE_FILL}">'
            f'<TR><TD COLSPAN="{len(cells)}">{font(name, bold=True)}</TD></TR>'
            f"<TR>{row}</TR></TABLE>>")


def _edge(graph: graphviz.Digraph, edge: Edge, label: str, hops: set[int] | frozenset[int],
          model: TopologyModel) -> None:
    """An arrow; on the highlighted path, thick, numbered and in its hops' kind colour
    (red when several kinds took it)."""
    attrs: dict[str, str] = {}
    if hops:
        kinds = sorted(edge.kinds)
        color = kind_style(kinds[0])[1] if len(kinds) == 1 else HIGHLIGHT
        label = "\n".join(x for x in (label, hop_numbers(hops)) if x)
        attrs.update(penwidth="3", color=color, fontcolor=color)
    elif model.dimmed(edge):
        attrs.update(color=DIM, fontcolor="#999999")
    else:
        attrs.update(color="#555555" if edge.role == "binding" else "#777777")
    if label:
        attrs["label"] = dot_text(label)
    tooltip = f"{model.node(edge.tail).name} → {model.node(edge.head).name}"
    graph.edge(dot_name(edge.tail), dot_name(edge.head), tooltip=dot_text(tooltip), **attrs)


def _legend(model: TopologyModel) -> graphviz.Digraph:
    """A small topology of samples, P → X → queue → C, in the learner's language.

    Its columns line up with the diagram's; the exchange types drawn are stacked in
    the X column.  When hops are highlighted, a last column gives the colour of each kind.
    """
    legend = graphviz.Digraph(
        name="cluster_legend",
        graph_attr=dict(label=dot_text(_("Legend")), style="rounded", color="#999999",
                        fontsize="10"),
        node_attr=dict(fontsize="9", height="0.3"), edge_attr=dict(fontsize="8"))
    if model.publishers:
        legend.node("legend_p", label=dot_text(_("P publisher (from the trace)")),
                    **_legend_service(PUBLISHER_FILL))
    first = _legend_exchanges(legend, model)
    _legend_queue(legend, model)
    if model.publishers:
        sample = (dict(label=dot_text(_("#n: hop n, highlighted")), color=HIGHLIGHT,
                       penwidth="3", fontcolor=HIGHLIGHT) if model.highlighted
                  else dict(label=dot_text(_("publishes")), color="#777777"))
        legend.edge("legend_p", first or "legend_q", **sample)
    if first:
        legend.edge(first, "legend_q", label=dot_text(_("binding: routing key")))
    last = "legend_q"
    if model.consumers:
        legend.node("legend_c", label=dot_text(_("C consumer (from the trace)")),
                    **_legend_service(CONSUMER_FILL))
        legend.edge("legend_q", "legend_c", label=dot_text(_("consumes")), color="#777777")
        last = "legend_c"
    if model.highlighted:
        _legend_kinds(legend, model, last)
    return legend


def _legend_service(fill: str) -> dict[str, str]:
    return {"shape": "box", "style": "rounded,filled", "fillcolor": fill,
            "color": SERVICE_BORDER}


def _legend_exchanges(legend: graphviz.Digraph, model: TopologyModel) -> str:
    """One sample of each exchange type drawn, stacked; the first one's name ("" if none)."""
    types = sorted({x.type for c in model.clusters for x in c.exchanges},
                   key=lambda t: (t == "default", t))
    names = [f"legend_x{i}" for i in range(len(types))]
    for name, type_ in zip(names, types, strict=True):
        shape, fill, border = exchange_style(type_)
        legend.node(name, label=dot_text(exchange_words(type_)), shape=shape, fillcolor=fill,
                    color=border, style="filled,dashed" if type_ == "default" else "filled")
    _same_rank(legend, names)
    return names[0] if names else ""


def _legend_queue(legend: graphviz.Digraph, model: TopologyModel) -> None:
    """A sample queue; and what red means, when some queue has messages waiting."""
    waiting = any(q.waiting for c in model.clusters for q in c.queues)
    legend.node("legend_q", shape="plain", label=queue_table(
        _("queue"), [_("ready"), _("unacked"), _("consumers")], waiting=waiting))
    if waiting:
        legend.node("legend_w", label=dot_text(_("red: messages waiting")), shape="box",
                    style="filled", fillcolor=QUEUE_FILL_WAITING, color=QUEUE_BORDER)
        _same_rank(legend, ["legend_q", "legend_w"])


def _legend_kinds(legend: graphviz.Digraph, model: TopologyModel, after: str) -> None:
    """The colour of each highlighted kind, in a column after ``after``."""
    keys = [(f"{kind_line(k) * 3} {k}", KIND_STYLES[k][1]) for k in model.kinds]
    keys.append(("━━━ " + _("several kinds"), HIGHLIGHT))
    rows = "".join(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{color}">{html.escape(text)}</FONT>'
                   f"</TD></TR>" for text, color in keys)
    legend.node("legend_k", shape="plain",
                label=f'<<TABLE BORDER="0" CELLPADDING="1">{rows}</TABLE>>')
    legend.edge(after, "legend_k", style="invis")


def _same_rank(graph: graphviz.Digraph, names: list[str]) -> None:
    """Put these nodes in one column (``{ rank=same; ... }``)."""
    if len(names) > 1:
        with graph.subgraph() as same:
            same.attr(rank="same")
            for name in names:
                same.node(name)
