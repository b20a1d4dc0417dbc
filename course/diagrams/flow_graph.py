"""The flow model drawn by Graphviz: lifelines and arrows at computed positions.

Each hop has a row of its own, its label in a white box above its arrow, so labels
never overlap each other and stay readable across the lifelines they cross.  Every node
is pinned (``neato`` with ``pos="x,y!"``), so Graphviz draws the layout computed here
rather than one of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import graphviz

from .base import dot_text
from .flow import FlowArrow, FlowModel, empty_note, lane_name, more_note
from .style import FONT, PUBLISHER_FILL, SERVICE_BORDER, kind_legend, kind_style

#: Flow layout, in points: the height of one hop's row, the header's height.
ROW, HEAD = 36.0, 28.0
#: Helvetica's advance widths (1/1000 em) for the narrow and wide characters; 556 otherwise.
_WIDTHS = {**dict.fromkeys(" ./:,;!|'[]ijlft", 278), **dict.fromkeys("ijl", 222),
           **dict.fromkeys("()-r", 333), **dict.fromkeys("cksvxyz", 500),
           **dict.fromkeys("mMW", 833), "w": 722, **dict.fromkeys("ABEKPSVXY", 667),
           **dict.fromkeys("CDHNRUw", 722), **dict.fromkeys("GOQ", 778), "I": 278}
#: The invisible ends of an arrow.
POINT = {"shape": "point", "width": "0.01", "height": "0.01", "color": "#999999"}


def text_width(text: str, size: float) -> float:
    """How wide Helvetica (or a metric twin: Arial, Liberation Sans) writes ``text``."""
    return max((sum(_WIDTHS.get(c, 556) for c in line) for line in text.split("\n")),
               default=0) * size / 1000


def _pos(x: float, y: float) -> str:
    """A pinned position, in points."""
    return f"{x:.0f},{y:.0f}!"


@dataclass(frozen=True)
class _Layout:
    """Where the lifelines stand: their x, their spacing, and the y of their feet."""

    x: list[float]
    step: float
    bottom: float

    @classmethod
    def of(cls, model: FlowModel) -> _Layout:
        names = [lane_name(lane) for lane in model.lanes]
        step = max([text_width(n, 10) * 1.1 + 44 for n in names] + [110.0])
        return cls([i * step for i in range(len(names))] or [0.0], step,
                   -(HEAD / 2 + ROW * (len(model.arrows) + 1)))


def flow_graph(model: FlowModel, title: str = "", legend: bool = True) -> graphviz.Digraph:
    """Lifelines, one row per hop, the note of hops not drawn, and the legend of kinds."""
    if not model.arrows:  # a sentence, in Graphviz's default size
        graph = graphviz.Digraph("flow", engine="neato")
        graph.node("empty", label=dot_text(empty_note(model)), shape="plaintext", fontname=FONT)
        return graph
    graph = graphviz.Digraph(
        "flow", engine="neato",
        graph_attr=dict(layout="neato", inputscale="72", splines="line", overlap="true",
                        outputorder="edgesfirst", fontname=FONT, fontsize="12", labelloc="t",
                        label=dot_text(title)),
        node_attr=dict(fontname=FONT, fontsize="10", pin="true"),
        edge_attr=dict(fontname=FONT, fontsize="9"))
    layout = _Layout.of(model)
    _lifelines(graph, model, layout)
    for row, arrow in enumerate(model.arrows, 1):
        _arrow(graph, row, arrow, layout)
    y = layout.bottom - HEAD
    if model.more:
        _left_label(graph, "more", more_note(model), layout.x[0] - 40, y)
        y -= 24
    if legend:
        _legend(graph, model, layout.x[0], y)
    return graph


def _lifelines(graph: graphviz.Digraph, model: FlowModel, layout: _Layout) -> None:
    """Each service's name at the top and at the bottom, a dashed line between them; the
    waiting room's box dashed."""
    for i, lane in enumerate(model.lanes):
        style = dict(shape="box", style="rounded,filled", fillcolor=PUBLISHER_FILL,
                     color=SERVICE_BORDER, height=f"{HEAD / 72}",
                     label=dot_text(lane_name(lane)), margin="0.04,0.02",
                     width=f"{(layout.step - 16) / 72}", fixedsize="true")
        if not lane:
            style.update(style="rounded,dashed", fillcolor="#ffffff", color="#999999")
        graph.node(f"h{i}", pos=_pos(layout.x[i], 0.0), **style)
        graph.node(f"f{i}", pos=_pos(layout.x[i], layout.bottom), **style)
        graph.edge(f"h{i}", f"f{i}", arrowhead="none", style="dashed", color="#aaaaaa")


def _arrow(graph: graphviz.Digraph, row: int, arrow: FlowArrow, layout: _Layout) -> None:
    """Row ``row``: the hop's arrow (a loop for a message to itself) and its label above."""
    hop = arrow.hop
    style, color, head = kind_style(hop.kind)
    s, t = layout.x[arrow.tail], layout.x[arrow.head]
    y = -(HEAD / 2 + ROW * row)
    graph.node(f"a{row}", pos=_pos(s, y), **POINT)
    if s == t:
        graph.edge(f"a{row}", f"a{row}", style=style, color=color, arrowhead=head)
        mid = s + 14 + text_width(arrow.label, 9) / 2
    else:
        graph.node(f"b{row}", pos=_pos(t, y), **POINT)
        receiver = lane_name(hop.receiver)
        graph.edge(f"a{row}", f"b{row}", style=style, color=color, arrowhead=head,
                   penwidth="2" if hop.kind in ("call", "http") else "1.2",
                   tooltip=dot_text(f"{hop.kind}: {hop.sender} → {receiver}"))
        mid = (s + t) / 2
    graph.node(f"l{row}", label=dot_text(arrow.label), shape="plaintext", fontsize="9",
               fontcolor=color, style="filled", fillcolor="white", margin="0.02,0",
               height="0.1", width="0.1", pos=_pos(mid, y + 13))


def _legend(graph: graphviz.Digraph, model: FlowModel, left: float, top: float) -> None:
    """One sample arrow per kind drawn, and what it means, from ``top`` down."""
    for j, kind in enumerate(model.kinds):
        style, color, head = kind_style(kind)
        y = top - j * 18
        graph.node(f"k{j}a", pos=_pos(left - 40, y), **POINT)
        graph.node(f"k{j}b", pos=_pos(left + 20, y), **POINT)
        graph.edge(f"k{j}a", f"k{j}b", style=style, color=color, arrowhead=head)
        _left_label(graph, f"k{j}t", kind_legend(kind), left + 26, y, fontsize="9",
                    fontcolor=color)


def _left_label(graph: graphviz.Digraph, name: str, text: str, left: float, y: float,
                **attrs: str) -> None:
    """A text node whose left edge is at ``left``: a fixed-size box, its text left-justified."""
    width = text_width(text, float(attrs.get("fontsize", 10))) * 1.15 + 12
    graph.node(name, label=dot_text(text, end="\\l"), shape="plaintext", fixedsize="true",
               margin="0", width=f"{width / 72:.2f}", height="0.2",
               pos=_pos(left + width / 2, y), **attrs)
