"""The topology model drawn by Graphviz (``dot``, left to right, as the RabbitMQ tutorials)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..i18n import _
from .base import hop_numbers as _numbers
from .model import Edge, Node, TopologyModel
from .style import (
    CONSUMER_FILL,
    DIM,
    EXCHANGE_STYLES,
    FONT,
    HIGHLIGHT,
    KIND_LINES,
    KIND_STYLES,
    OTHER_EXCHANGE_STYLE,
    PUBLISHER_FILL,
    QUEUE_BORDER,
    QUEUE_FILL,
    QUEUE_FILL_WAITING,
    SERVICE_BORDER,
)


def _q(text: str) -> str:
    """A DOT quoted string; newlines become centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**attrs: object) -> str:
    parts = [f"{k}={_q(str(v))}" for k, v in attrs.items() if v is not None and v != ""]
    return f" [{', '.join(parts)}]" if parts else ""




def _html(text: str) -> str:
    return html.escape(text, quote=True)


def _queue_table(name: str, cells: Sequence[str], *, waiting: bool = False,
                 border: str = QUEUE_BORDER, width: int = 1, fontcolor: str = "") -> str:
    """A queue drawn as the tutorials' record: its name over ready | unacked | consumers.

    An HTML-like table rather than a ``record`` shape: Graphviz lays those out more
    reliably, and the ready cell can turn red when messages wait.
    """
    def font(text: str, bold: bool = False) -> str:
        text = _html(text)
        text = f"<B>{text}</B>" if bold else text
        return f'<FONT COLOR="{fontcolor}">{text}</FONT>' if fontcolor else text
    row = "".join(
        f'<TD{" BGCOLOR=" + chr(34) + QUEUE_FILL_WAITING + chr(34) if waiting and i == 0 else ""}'
        f">{font(cell)}</TD>" for i, cell in enumerate(cells))
    return (f'<<TABLE BORDER="{width}" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" '
            f'COLOR="{border}" BGCOLOR="{QUEUE_FILL}">'
            f'<TR><TD COLSPAN="{len(cells)}">{font(name, bold=True)}</TD></TR>'
            f"<TR>{row}</TR></TABLE>>")


def _node_dot(node: Node, model: TopologyModel, indent: str = "  ") -> str:
    dim = model.highlighted and not node.hops
    pen: dict[str, object] = {"penwidth": 3, "color": HIGHLIGHT} if node.hops else {}
    if dim:
        pen = {"color": DIM, "fontcolor": "#888888"}
    tooltip = "\n".join(node.members[:20]) + ("\n…" if node.count > 20 else "") \
        if node.members else node.name
    if node.role == "queue":
        counts = [_("ready {count}", count=node.ready),
                  _("unacked {count}", count=node.unacked),
                  _("consumers {count}", count=node.consumers)]
        table = _queue_table(node.label(model.short_ids), counts, waiting=node.ready > 0,
                             border=str(pen.get("color", QUEUE_BORDER)),
                             width=3 if node.hops else 1,
                             fontcolor="#888888" if dim else "")
        return f"{indent}{_q(node.id)} [shape=plain, label={table}, tooltip={_q(tooltip)}]"
    if node.role == "exchange":
        shape, fill, border = EXCHANGE_STYLES.get(node.type, OTHER_EXCHANGE_STYLE)
        label = node.name if node.type == "default" else f"{node.name}\n({node.type})"
        attrs = dict(shape=shape, style="filled,dashed" if node.type == "default" else "filled",
                     fillcolor=fill, color=border, label=label,
                     tooltip=_("{type} exchange", type=node.type) if node.type != "default"
                     else _("default exchange"))
    else:
        fill = PUBLISHER_FILL if node.role == "publisher" else CONSUMER_FILL
        letter = "P" if node.role == "publisher" else "C"
        attrs = dict(shape="box", style="rounded,filled", fillcolor=fill, color=SERVICE_BORDER,
                     label=f"{letter}  {node.label(model.short_ids)}", tooltip=tooltip)
    attrs.update(pen)
    return f"{indent}{_q(node.id)}{_attrs(**attrs)}"


def _edge_dot(edge: Edge, label: str, model: TopologyModel, hops: set[int] | None = None) -> str:
    attrs: dict[str, object] = {}
    hops = edge.hops if hops is None else hops
    if hops:
        kinds = sorted(edge.kinds)
        color = KIND_STYLES.get(kinds[0], KIND_STYLES["cast"])[1] if len(kinds) == 1 \
            else HIGHLIGHT
        label = "\n".join(x for x in (label, _numbers(hops)) if x)
        attrs.update(penwidth=3, color=color, fontcolor=color)
    elif model.highlighted:
        attrs.update(color=DIM, fontcolor="#999999")
    elif edge.role == "binding":
        attrs.update(color="#555555")
    else:
        attrs.update(color="#777777")
    return f"  {_q(edge.tail)} -> {_q(edge.head)}{_attrs(label=label, **attrs)}"


def _legend_dot(model: TopologyModel) -> list[str]:
    """A small topology of samples, P → X → queue → C, in the learner's language.

    Its columns line up with the diagram's; the exchange types drawn are stacked in
    the X column.  When hops are highlighted, a last column gives the colour of each kind.
    """
    legend_title = _("Legend")
    lines = ["  subgraph cluster_legend {",
             f"    label={_q(legend_title)}; style=\"rounded\"; color=\"#999999\"; "
             "fontsize=10;",
             "    node [fontsize=9, height=0.3]; edge [fontsize=8];"]
    if model.publishers:
        lines.append("    legend_p" + _attrs(
            label=_("P publisher (from the trace)"), shape="box", style="rounded,filled",
            fillcolor=PUBLISHER_FILL, color=SERVICE_BORDER))
    types = sorted({x.type for c in model.clusters for x in c.exchanges},
                   key=lambda t: (t == "default", t))
    for i, type_ in enumerate(types):
        shape, fill, border = EXCHANGE_STYLES.get(type_, OTHER_EXCHANGE_STYLE)
        text = _("default exchange") if type_ == "default" else _("{type} exchange",
                                                                   type=type_)
        lines.append(f"    legend_x{i}" + _attrs(
            label=text, shape=shape, fillcolor=fill, color=border,
            style="filled,dashed" if type_ == "default" else "filled"))
    if len(types) > 1:
        lines.append("    { rank=same; " + "; ".join(f"legend_x{i}" for i in range(len(types)))
                     + "; }")
    waiting = any(q.ready for c in model.clusters for q in c.queues)
    table = _queue_table(_("queue"), [_("ready"), _("unacked"), _("consumers")],
                         waiting=waiting)
    lines.append(f"    legend_q [shape=plain, label={table}]")
    if waiting:
        lines.append("    legend_w" + _attrs(
            label=_("red: messages waiting"), shape="box", style="filled",
            fillcolor=QUEUE_FILL_WAITING, color=QUEUE_BORDER))
        lines.append("    { rank=same; legend_q; legend_w; }")
    first = "legend_x0" if types else "legend_q"
    if model.publishers:
        sample = (dict(label=_("#n: hop n, highlighted"), color=HIGHLIGHT, penwidth=3,
                       fontcolor=HIGHLIGHT) if model.highlighted
                  else dict(label=_("publishes"), color="#777777"))
        lines.append(f"    legend_p -> {first}{_attrs(**sample)}")
    if types:
        binding = _attrs(label=_("binding: routing key"))
        lines.append(f"    legend_x0 -> legend_q{binding}")
    last = "legend_q"
    if model.consumers:
        lines.append("    legend_c" + _attrs(
            label=_("C consumer (from the trace)"), shape="box", style="rounded,filled",
            fillcolor=CONSUMER_FILL, color=SERVICE_BORDER))
        consumes = _attrs(label=_("consumes"), color="#777777")
        lines.append(f"    legend_q -> legend_c{consumes}")
        last = "legend_c"
    if model.highlighted:
        keys = [(f"{KIND_LINES.get(k, '─') * 3} {k}", KIND_STYLES[k][1]) for k in model.kinds]
        keys.append(("━━━ " + _("several kinds"), HIGHLIGHT))
        rows = "".join(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{color}">{_html(text)}</FONT>'
                       f"</TD></TR>" for text, color in keys)
        lines.append(f'    legend_k [shape=plain, label=<<TABLE BORDER="0" CELLPADDING="1">'
                     f"{rows}</TABLE>>]")
        lines.append(f"    {last} -> legend_k [style=invis]")
    lines.append("  }")
    return lines


def topology_dot(model: TopologyModel, title: str, legend: bool) -> str:
    lines = ["digraph topology {",
             f"  graph [rankdir=LR, fontname={_q(FONT)}, fontsize=12, nodesep=0.2, "
             f"ranksep=0.5, labelloc=t, label={_q(title)}];",
             f"  node [fontname={_q(FONT)}, fontsize=10, height=0.35];",
             f"  edge [fontname={_q(FONT)}, fontsize=9, arrowsize=0.7];"]
    for node in model.publishers.values():
        lines.append(_node_dot(node, model))
    for index, cluster in enumerate(model.clusters):
        inside = len(model.clusters) > 1
        if inside:
            lines += [f"  subgraph cluster_{index} {{",
                      f"    label={_q(cluster.title)}; style=\"rounded\"; color=\"#666666\";"]
        for node in cluster.exchanges + cluster.queues:
            lines.append(_node_dot(node, model, "    " if inside else "  "))
        if inside:
            lines.append("  }")
        for edge in cluster.bindings:
            for arrow in model.arrows(edge):
                lines.append(_edge_dot(edge, arrow.label, model, set(arrow.hops)))
    for node in model.consumers.values():
        lines.append(_node_dot(node, model))
    for edge in model.flows:
        lines.append(_edge_dot(edge, "", model))
    if legend:
        lines += _legend_dot(model)
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- topology: text
