"""The flow model drawn by Graphviz: lifelines and arrows at computed positions.

Each hop has a row of its own, its label in a white box above its arrow, so labels
never overlap each other and stay readable across the lifelines they cross.  Every node
is pinned (``neato`` with ``pos=...!``), so Graphviz draws the layout computed here.
"""

from __future__ import annotations

from ..i18n import _
from .flow import FlowModel, empty_note
from .graph import _attrs, _q
from .style import FONT, KIND_STYLES, SERVICE_BORDER, kind_legend

#: Helvetica's advance widths (1/1000 em) for the narrow and wide characters; 556 otherwise.
_WIDTHS = {**dict.fromkeys(" ./:,;!|'[]ijlft", 278), **dict.fromkeys("ijl", 222),
           **dict.fromkeys("()-r", 333), **dict.fromkeys("cksvxyz", 500),
           **dict.fromkeys("mMW", 833), "w": 722, **dict.fromkeys("ABEKPSVXY", 667),
           **dict.fromkeys("CDHNRUw", 722), **dict.fromkeys("GOQ", 778), "I": 278}


def _text_width(text: str, size: float) -> float:
    """How wide Helvetica (or a metric twin: Arial, Liberation Sans) writes ``text``."""
    return max((sum(_WIDTHS.get(c, 556) for c in line) for line in text.split("\n")),
               default=0) * size / 1000


def _left_label(name: str, text: str, left: float, y: float, **attrs: object) -> str:
    """A text node whose left edge is at ``left``: a fixed-size box, its text left-justified."""
    width = _text_width(text, float(str(attrs.get("fontsize", 10)))) * 1.15 + 12
    extra = "".join(f", {k}={_q(str(v))}" for k, v in attrs.items())
    return (f"  {name} [shape=plaintext, fixedsize=true, margin=0, width={width / 72:.2f}, "
            f"height=0.2, "
            f'label={_q(text)[:-1]}\\l", pos="{left + width / 2:.0f},{y:.0f}!"{extra}];')


#: Flow layout, in points: the height of one hop's row, the header's height.
ROW, HEAD = 36.0, 28.0


def flow_dot(model: FlowModel, title: str, legend: bool) -> str:
    """Lifelines and arrows at computed positions (neato with pinned nodes, through ``dot``)."""
    hops = [a.hop for a in model.arrows]
    texts = [(a.what, a.where) for a in model.arrows]
    lanes, more = model.lanes, model.more
    if not hops:
        return (f"digraph flow {{\n  empty [shape=plaintext, fontname={_q(FONT)}, "
                f"label={_q(empty_note(model))}];\n}}\n")
    waiting = _("(waiting)")
    names = [lane or waiting for lane in lanes]
    step = max([_text_width(n, 10) * 1.1 + 44 for n in names] + [110.0])
    x = [i * step for i in range(len(lanes))] or [0.0]
    bottom = -(HEAD / 2 + ROW * (len(hops) + 1))
    lines = ["digraph flow {",
             f"  graph [layout=neato, inputscale=72, splines=line, overlap=true, "
             f"outputorder=edgesfirst, fontname={_q(FONT)}, fontsize=12, labelloc=t, "
             f"label={_q(title)}];",
             f"  node [fontname={_q(FONT)}, fontsize=10, pin=true];",
             f"  edge [fontname={_q(FONT)}, fontsize=9];"]
    for i, name in enumerate(names):
        style = dict(shape="box", style="rounded,filled", fillcolor="#e3eefb",
                     color=SERVICE_BORDER, height=HEAD / 72, label=name, margin="0.04,0.02",
                     width=(step - 16) / 72, fixedsize="true")
        if not lanes[i]:
            style.update(style="rounded,dashed", fillcolor="#ffffff", color="#999999")
        for end, y in (("h", 0.0), ("f", bottom)):
            lines.append(f"  {end}{i}{_attrs(pos=f'{x[i]:.0f},{y:.0f}!', **style)}")
        lines.append(f"  h{i} -> f{i} [arrowhead=none, style=dashed, color=\"#aaaaaa\"];")
    index = {lane: i for i, lane in enumerate(lanes)}
    point = 'shape=point, width=0.01, height=0.01, color="#999999"'
    for r, (hop, (what, where)) in enumerate(zip(hops, texts, strict=True), 1):
        style, color, arrow = KIND_STYLES.get(hop.kind, KIND_STYLES["cast"])
        s, t = x[index[hop.sender]], x[index[hop.receiver or ""]]
        y = -(HEAD / 2 + ROW * r)
        label = f"{hop.number}. {hop.kind} {what}".rstrip() + f"\n{where}"
        mid = (s + t) / 2 if s != t else s + 14 + _text_width(label, 9) / 2
        lines.append(f"  a{r} [{point}, pos=\"{s:.0f},{y:.0f}!\"];")
        if s == t:  # a message to itself: a loop on its lifeline
            lines.append(f"  a{r} -> a{r}" + _attrs(style=style, color=color, arrowhead=arrow))
        else:
            lines.append(f"  b{r} [{point}, pos=\"{t:.0f},{y:.0f}!\"];")
            lines.append(f"  a{r} -> b{r}" + _attrs(
                style=style, color=color, arrowhead=arrow,
                penwidth=2 if hop.kind in ("call", "http") else 1.2,
                tooltip=f"{hop.kind}: {hop.sender} → {hop.receiver or waiting}"))
        lines.append(f"  l{r}" + _attrs(
            shape="plaintext", label=label, fontsize=9, fontcolor=color, style="filled",
            fillcolor="white", margin="0.02,0", height=0.1, width=0.1,
            pos=f"{mid:.0f},{y + 13:.0f}!"))
    y = bottom - HEAD
    if more:
        note = _("… {count} more hops not drawn", count=more)
        lines.append(_left_label("more", note, x[0] - 40, y))
        y -= 24
    if legend:
        kinds = list(dict.fromkeys(h.kind for h in hops))
        for j, kind in enumerate(kinds):
            style, color, arrow = KIND_STYLES.get(kind, KIND_STYLES["cast"])
            text = kind_legend(kind)
            ky = y - j * 18
            lines.append(f"  k{j}a [{point}, pos=\"{x[0] - 40:.0f},{ky:.0f}!\"];")
            lines.append(f"  k{j}b [{point}, pos=\"{x[0] + 20:.0f},{ky:.0f}!\"];")
            lines.append(f"  k{j}a -> k{j}b" + _attrs(style=style, color=color,
                                                      arrowhead=arrow))
            lines.append(_left_label(f"k{j}t", text, x[0] + 26, ky, fontsize=9,
                                     fontcolor=color))
    lines.append("}")
    return "\n".join(lines) + "\n"

