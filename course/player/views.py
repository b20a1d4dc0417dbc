"""The player as a display object, and its static renderings (text and HTML).

:class:`Player` is the state (:class:`~.state.Steps`) shown the course's way
(:class:`~course.display.Display`): the hop table with the current step marked, the
topology diagram of that moment with the hop's path highlighted, the queue depths and
the decoded message; in a notebook, the widgets of :mod:`.controls` on top.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..diagrams import TopologyDiagram, kind_meaning, topology_diagram
from ..display import Display
from ..i18n import _, get_language
from ..trace import format_hops, hop_cells, hop_header, short_ids
from ..wire import ENVELOPE_VERSION
from .state import Steps, TopologySource

#: Milliseconds between two steps when playing.
INTERVAL = 1200
CURRENT = "#fff3c4"  # background of the current row


class Player(Steps, Display):
    """Steps through the hops of a flow; drive it from Python or with its widgets.

    trace: a Trace, a TraceView (``trace.for_request(id)``) or a list of hops.
    request_id: keep only the hops of this request.
    http: also step through the HTTP requests (not on the broker); ``False`` skips them.
    topology: the broker's topology to draw: a :class:`~course.topology.Topology`, a
        function that returns one (``lab.topology``: a lab's trace passes it), or
        ``None`` for a snapshot of the configured broker, taken now.
    interval: milliseconds between two steps when playing.
    start: the step shown first (1 is the first hop; -1 the last).
    """

    def __init__(self, trace: Any, *, request_id: str | None = None, http: bool = True,
                 topology: TopologySource = None, interval: int = INTERVAL,
                 start: int = 1) -> None:
        super().__init__(trace, request_id=request_id, http=http, topology=topology,
                         start=start)
        self.interval = interval
        self._pictures: dict[tuple[int, str], str] = {}
        self._widget: Any = None

    def __repr__(self) -> str:
        return f"<Player: step {self.step} of {len(self.hops)}>"

    def diagram(self, step: int | None = None) -> TopologyDiagram:
        """The topology at ``step``: queue depths of that moment, the hop highlighted."""
        step = self.step if step is None else step
        highlight = [self.hops[step - 1]] if step else []
        return topology_diagram(self.topology_at(step), trace=self.hops, highlight=highlight)

    # -- renderings ----------------------------------------------------------------------

    def text(self) -> str:
        """The hop table (▶ on the current step), the queue depths and the decoded message."""
        return text(self)

    def html(self) -> str:
        """The static rendering as HTML: caption, hop table, diagram, depths, message."""
        if not self.step:
            return f"<p>{html.escape(self.caption())}</p>"
        return (f"<div><p><b>{html.escape(self.caption())}</b></p>{self.hops_html()}"
                f"{self.diagram_html()}{self.panels_html()}</div>")

    def rich(self) -> dict[str, str]:
        return {"text/html": self.html()}

    def hops_html(self) -> str:
        """The hop table (the trace's own columns), the current row marked."""
        return _hops_html(self)

    def panels_html(self) -> str:
        """The queue depths and the decoded message, side by side ("" with no step)."""
        return _panels_html(self)

    def diagram_html(self) -> str:
        """The SVG of this step (computed once per language), or the text version under
        the notice when ``dot`` is missing."""
        if not self.step:
            return ""
        key = (self.step, get_language())
        if key not in self._pictures:
            bundle = self.diagram()._repr_mimebundle_()
            svg = bundle.get("image/svg+xml")
            self._pictures[key] = _inline_svg(svg) if svg else \
                f"<pre style='font-size:11px'>{html.escape(bundle['text/plain'])}</pre>"
        return self._pictures[key]

    def widget(self) -> Any:
        """Play, Step back / Step forward and a slider over the diagram and the panels
        (one widget per player, following it however it is moved)."""
        from .controls import PlayerWidget

        if self._widget is None:
            self._widget = PlayerWidget(self)
        return self._widget


def text(player: Player) -> str:
    """The player as text: caption, hop table, queue depths, decoded message."""
    if not player.step:
        return player.caption()
    lines = format_hops(player.hops).splitlines()
    table = [("▶ " if i == player.step else "  ") + line for i, line in enumerate(lines)]
    out = [player.caption(), "", *table, "", _("Queue depths (ready messages) at this step:")]
    depths = player.depths()
    width = max(len(short_ids(q)) for q in depths) if depths else 0
    for q, n in depths.items():
        mark = "  ◀" if q in player.where() else ""
        out.append(f"  {short_ids(q).ljust(width)}  {n:>3}{mark}")
    decoded = player.message()
    out += ["", _("Message of step {step}:", step=player.step), *_pairs(decoded["route"])]
    out.append(note(player))
    out.append(_json(decoded["message"]))
    if "context" in decoded:
        out += [_("Context (summary):"), *_pairs(decoded["context"])]
    return "\n".join(out)


def note(player: Steps) -> str:
    """Under the route: the envelope was opened, or HTTP is not the broker."""
    if player.hop and player.hop.kind == "http":
        return kind_meaning("http")
    return _("Envelope {version} opened: the message travels as a JSON string in "
             "oslo.message.", version=ENVELOPE_VERSION)


def _hops_html(player: Steps) -> str:
    rows = []
    for hop, (what, _where) in zip(player.hops, player.texts, strict=True):
        rows.append(f"<tr{_bg(hop.number == player.step)}>" + "".join(
            f"<td>{html.escape(short_ids(c))}</td>" for c in hop_cells(hop, method=what))
            + "</tr>")
    header = "".join(f"<th>{html.escape(h)}</th>" for h in hop_header())
    return (f"<table style='font-size:12px'><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _panels_html(player: Steps) -> str:
    if not player.step:
        return ""
    return ("<div style='display:flex;gap:2em;align-items:flex-start'>"
            f"<div>{_depths_html(player)}</div>"
            f"<div style='min-width:0;flex:1'>{_message_html(player)}</div></div>")


def _depths_html(player: Steps) -> str:
    current = player.where()
    rows = "".join(
        f"<tr{_bg(q in current)}><td><code title='{html.escape(q)}'>"
        f"{html.escape(short_ids(q))}</code></td><td style='text-align:right'>{n}</td></tr>"
        for q, n in player.depths().items())
    title, queue, ready = (html.escape(text) for text in (
        _("Queue depths at this step"), _("queue"), _("ready")))
    return (f"<table><caption>{title}</caption>"
            f"<thead><tr><th>{queue}</th><th>{ready}</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _message_html(player: Steps) -> str:
    decoded = player.message()
    title = _("Message of step {step}:", step=player.step)
    parts = [f"<b>{html.escape(title)}</b>", _table(decoded["route"]),
             f"<div><small>{html.escape(note(player))}</small></div>",
             "<pre style='max-height:24em;overflow:auto;font-size:11px;margin:0'>"
             f"{html.escape(_json(decoded['message']))}</pre>"]
    if "context" in decoded:
        parts += [f"<b>{html.escape(_('Context (summary):'))}</b>", _table(decoded["context"])]
    return "".join(parts)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)


def _pairs(fields: dict[str, Any]) -> list[str]:
    width = max((len(k) for k in fields), default=0)
    return [f"  {k.ljust(width)}  {short_ids(_cell(v))}" for k, v in fields.items()]


def _table(fields: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                   f"<td><code>{html.escape(_cell(v))}</code></td></tr>"
                   for k, v in fields.items())
    return f"<table style='font-size:12px'>{rows}</table>"


def _bg(current: bool) -> str:
    return f" style='background:{CURRENT};font-weight:bold'" if current else ""


def _inline_svg(svg: str) -> str:
    """Graphviz's SVG without its XML prologue, scaled down to the width of the output."""
    svg = svg[svg.find("<svg"):]
    svg = svg.replace("<svg ", "<svg style='max-width:100%;height:auto' ", 1)
    return f"<div style='overflow-x:auto'>{svg}</div>"
