"""The models as text, for a terminal and where Graphviz is missing.

A topology::

    Publishers (from the trace):
      P nova-api:api ──▶ nova ◀ #2
    Exchanges ─ routing key ─▶ queues [ready | unacked | consumers] ─▶ consumers:
      X nova (topic)
        ├─ compute.c1 ─▶ compute.c1  [ready 0 | unacked 0 | consumers 1] ─▶ nova-compute:c1

A flow: lifelines in columns, one arrow per hop (each kind its own line), the method and
the route on the right.
"""

from __future__ import annotations

from ..i18n import _
from .base import hop_numbers
from .flow import FlowArrow, FlowModel, empty_note, lane_name, more_note
from .model import Cluster, Edge, Node, TopologyModel
from .style import kind_legend, kind_line, queue_counts


def topology_text(model: TopologyModel, title: str = "", legend: bool = True) -> str:
    """Each broker's publishers, then its exchanges with their bindings as branches."""
    out: list[str] = [title] if title else []
    for cluster in model.clusters:
        if len(model.clusters) > 1:
            out.append(f"== {cluster.title} ==")
        out += _publishers(model, cluster)
        out.append(_("Exchanges ─ routing key ─▶ queues [ready | unacked | consumers] ─▶ "
                     "consumers:"))
        out += _exchanges(model, cluster)
    if legend:
        out.append(_("P publisher · X exchange (type) · queue [ready | unacked | consumers]"
                     " ─▶ consumer"))
        if model.highlighted:
            out.append(_("◀ #n: hop n of the highlighted messages"))
    return "\n".join(out)


def _mark(hops: set[int] | frozenset[int]) -> str:
    return f"  ◀ {hop_numbers(hops)}" if hops else ""


def _publishers(model: TopologyModel, cluster: Cluster) -> list[str]:
    """``P service ──▶ exchange ◀ #n · exchange``: who published to this broker."""
    xids = {x.id for x in cluster.exchanges}
    pubs = [(p, [e for e in model.flows if e.tail == p.id and e.head in xids])
            for p in model.publishers.values()]
    pubs = [(p, edges) for p, edges in pubs if edges]
    if not pubs:
        return []
    width = max(len(p.label(model.short_ids)) for p, _e in pubs)
    lines = [_("Publishers (from the trace):")]
    for p, edges in pubs:
        targets = " · ".join(model.node(e.head).name + _mark(e.hops).replace("  ", " ")
                             for e in edges)
        lines.append(f"  P {p.label(model.short_ids).ljust(width)} ──▶ {targets}")
    return lines


def _exchanges(model: TopologyModel, cluster: Cluster) -> list[str]:
    """Every exchange, its bindings below it as branches ``├─ key ─▶ queue [counts]``."""
    rows: dict[str, list[tuple[str, Node, Edge]]] = {}
    for edge in cluster.bindings:
        key = ", ".join(arrow.label or '""' for arrow in model.arrows(edge))
        rows.setdefault(edge.tail, []).append((key, model.node(edge.head), edge))
    every = [row for branch in rows.values() for row in branch]
    widths = (max((len(k) for k, _n, _e in every), default=0),
              max((len(n.label(model.short_ids)) for _k, n, _e in every), default=0))
    out = []
    for x in cluster.exchanges:
        kind = "" if x.type == "default" else f" ({x.type})"
        out.append(f"  X {x.name}{kind}{_mark(x.hops)}")
        branches = rows.get(x.id, [])
        if not branches:
            out.append("    " + _("(no bindings)"))
        for i, row in enumerate(branches):
            out.append(_branch(model, row, i == len(branches) - 1, widths))
    return out


def _branch(model: TopologyModel, row: tuple[str, Node, Edge], last: bool,
            widths: tuple[int, int]) -> str:
    """One binding: key, queue and its counts, the consumers that took from it."""
    key, queue, edge = row
    counts = " | ".join(queue_counts(queue.ready, queue.unacked, queue.consumers))
    line = (f"    {'└─' if last else '├─'} {key.ljust(widths[0])} ─▶ "
            f"{queue.label(model.short_ids).ljust(widths[1])}  [{counts}]")
    takers = [e for e in model.flows if e.role == "consume" and e.tail == queue.id]
    if takers:
        line += " ─▶ " + ", ".join(model.node(e.head).label(model.short_ids) for e in takers)
    return line + _mark(edge.hops | {n for e in takers for n in e.hops})


def flow_text(model: FlowModel, title: str = "", legend: bool = True) -> str:
    """Lifelines in columns, one arrow per hop, its method and route on the right.

    Service names are written on two lines (``nova-compute`` over ``:c1``) so that the
    columns stay narrow.
    """
    if not model.arrows:
        return empty_note(model)
    heads = [lane_name(lane).partition(":") for lane in model.lanes]
    heads = [(binary, sep + host) for binary, sep, host in heads]
    width = max([len(part) for head in heads for part in head] + [8]) + 2
    centre = [i * width + width // 2 for i in range(len(model.lanes))]
    digits = len(str(max(a.hop.number for a in model.arrows)))
    pad = " " * (digits + 1)
    lifelines = (pad + "".join(_lifelines(centre, width * len(centre)))).rstrip()
    out = [title] if title else []
    out += [(pad + "".join(head[line].center(width) for head in heads)).rstrip()
            for line in range(2)]
    out.append(lifelines)
    what_width = max(len(a.what) for a in model.arrows)
    for arrow in model.arrows:
        row = _lifelines(centre, width * len(centre))
        _draw_arrow(row, arrow, centre)
        out.append(f"{str(arrow.hop.number).rjust(digits)} " + "".join(row).rstrip()
                   + f"  {arrow.what.ljust(what_width)}  {arrow.where}".rstrip())
    out.append(lifelines)
    if model.more:
        out.append(more_note(model))
    if legend:
        out += [f"{kind_line(k) * 3} " + kind_legend(k) for k in model.kinds]
    return "\n".join(out)


def _lifelines(centre: list[int], width: int) -> list[str]:
    row = [" "] * width
    for c in centre:
        row[c] = "│"
    return row


def _draw_arrow(row: list[str], arrow: FlowArrow, centre: list[int]) -> None:
    """Write one hop's arrow (or its loop, for a message to itself) into ``row``."""
    kind, line = arrow.hop.kind, kind_line(arrow.hop.kind)
    s, t = centre[arrow.tail], centre[arrow.head]
    if s == t:
        loop = f"├{line}↺ {kind}"
        row[s:s + len(loop)] = loop
        return
    lo, hi = min(s, t), max(s, t)
    span = hi - lo - 2  # between the two lifelines, less the arrowhead
    if t > s:
        text = (line * 2 + kind).ljust(span, line)[:span] + "▶"
    else:
        text = "◀" + (kind + line * 2).rjust(span, line)[-span:]
    row[lo + 1:hi] = text
