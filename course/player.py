"""The step-through player: one message at a time, where it is and what it says.

    player = lab.trace.for_request(vm.request_id).player()
    player                      # Play, Step back / Step forward and a slider in a notebook
    player.next(); player.go(8); player.step

At each step (one hop of the flow) the player shows:

* the topology diagram with the hop's path highlighted (publisher → exchange →
  queue → consumer), drawn from a snapshot of the broker;
* the depth of every queue the flow touched *at that moment*, worked out from the
  trace: a message is ready in a queue from its publish to its delivery; a message
  nobody consumed waits in the queues the broker's bindings route it to;
* the message itself, decoded: the oslo 2.0 envelope opened, the request context
  summarised, secrets masked.

Without widgets (nbval, a terminal, a static HTML export) the player shows itself as
the hop table with the current step marked, the queue depths and the decoded message,
in text and in HTML.  Without Graphviz's ``dot`` the diagram is its text version.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Callable
from typing import Any

from .diagrams import hop_texts, hops_of, kind_meaning, topology_diagram
from .display import in_notebook
from .i18n import _, get_language
from .topology import Topology, UnknownExchange, snapshot
from .trace import Hop, format_hops, short_ids
from .wire import ENVELOPE_VERSION, context_summary, mask, split_message

#: Milliseconds between two steps when playing.
INTERVAL = 1200
CURRENT = "#fff3c4"  # background of the current row


# --------------------------------------------------------------------------- the player


class Player:
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
                 topology: Topology | Callable[[], Topology] | None = None,
                 interval: int = INTERVAL, start: int = 1) -> None:
        if request_id and hasattr(trace, "for_request"):
            trace = trace.for_request(request_id)
        hops = [h for h in hops_of(trace) if (http or h.kind != "http")
                and (not request_id or h.request_id == request_id)]
        #: The hops stepped through, numbered from 1 like the steps.
        self.hops: list[Hop] = [dataclasses.replace(h, number=i)
                                for i, h in enumerate(hops, 1)]
        self.topology: Topology = _snapshot(topology)
        self.interval = interval
        self._texts = hop_texts(self.hops, short_ids=True)
        self._queues = [self._queues_of(h) for h in self.hops]
        self._svg: dict[tuple[int, str], str] = {}
        self._widgets: dict[str, Any] = {}
        self._syncing = False
        self._step = 0
        self.go(start)

    # -- where we are ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.hops)

    @property
    def step(self) -> int:
        """The current step: 1 to ``len(player)`` (0 when the flow is empty)."""
        return self._step

    @step.setter
    def step(self, number: int) -> None:
        self.go(number)

    @property
    def hop(self) -> Hop | None:
        """The hop of the current step."""
        return self.hops[self._step - 1] if self._step else None

    def go(self, number: int) -> Player:
        """Show step ``number`` (negative counts from the end: -1 is the last)."""
        if number < 0:
            number += len(self.hops) + 1
        self._step = min(max(number, 1), len(self.hops)) if self.hops else 0
        self._sync()
        return self

    def next(self) -> Player:
        """One step forward (stays on the last one)."""
        return self.go(self._step + 1)

    def previous(self) -> Player:
        """One step back (stays on the first one)."""
        return self.go(self._step - 1 or 1)

    # -- what the step shows ---------------------------------------------------------------

    def _queues_of(self, hop: Hop) -> list[str]:
        """Where the hop's message is (or waits): its queue, else where it is routed."""
        if hop.kind == "http":
            return []
        if hop.queue:
            return [hop.queue]
        try:
            return self.topology.route(hop.exchange, hop.routing_key)
        except UnknownExchange:  # deleted since (an auto-delete fanout exchange, say)
            return []

    def depths(self, step: int | None = None) -> dict[str, int]:
        """Ready messages in each queue the flow touched, at the moment of ``step``.

        A message is ready from its publish to its delivery (for ever when nobody took
        it); the message of the step itself counts as being in its queue.
        """
        step = self._step if step is None else step
        result = {q: 0 for queues in self._queues for q in queues}
        if not step:
            return result
        now = self.hops[step - 1].published
        for number, (hop, queues) in enumerate(zip(self.hops, self._queues, strict=True), 1):
            waiting = hop.published <= now and (hop.delivered is None or hop.delivered > now)
            if number == step or waiting:
                for q in queues:
                    result[q] += 1
        return result

    def message(self, step: int | None = None) -> dict[str, Any]:
        """The decoded message of ``step``: route, message (secrets masked), context summary."""
        step = self._step if step is None else step
        if not step:
            return {}
        hop = self.hops[step - 1]
        message, context = split_message(hop.body or {})
        queues = ", ".join(self._queues[hop.number - 1])
        waiting = _("waiting in {queues}", queues=queues) if queues else \
            _("(routed to no queue)")
        route = {_("kind"): hop.kind, _("from"): hop.sender}
        if hop.kind == "http":
            message = {"method": hop.method, **message}
        else:
            route.update({"exchange": hop.exchange_label, "routing key": hop.routing_key,
                          "queue": hop.queue or waiting})
        route[_("to")] = hop.receiver or _("(nobody yet)")
        decoded: dict[str, Any] = {"route": route, "message": mask(message)}
        if context:
            decoded["context"] = context_summary(context)
        return decoded

    def diagram(self, step: int | None = None) -> Any:
        """The topology at ``step``: queue depths of that moment, the hop highlighted."""
        step = self._step if step is None else step
        depths = self.depths(step)
        queues = {name: dataclasses.replace(q, messages_ready=depths[name],
                                            messages_unacknowledged=0)
                  if name in depths else q for name, q in self.topology.queues.items()}
        at_step = dataclasses.replace(self.topology, queues=queues)
        highlight = [self.hops[step - 1]] if step else []
        return topology_diagram(at_step, trace=self.hops, highlight=highlight)

    def caption(self, step: int | None = None) -> str:
        """One line: which hop, what it carries, and its path."""
        step = self._step if step is None else step
        if not step:
            return _("No message in this trace yet.")
        hop = self.hops[step - 1]
        what, where = self._texts[step - 1]
        if hop.kind == "http":
            path = f"{hop.sender} ─HTTP─▶ {hop.receiver}"
        else:
            queue = hop.queue or ", ".join(self._queues[step - 1]) or "∅"
            receiver = hop.receiver or _("(waiting)")
            path = f"{hop.sender} ─▶ {where} ─▶ {queue} ─▶ {receiver}"
        head = _("Step {step} of {count}", step=step, count=len(self.hops))
        return short_ids(f"{head} · {hop.kind} {what} · {path}".replace("  ", " "))

    # -- static renderings -----------------------------------------------------------------

    def text(self) -> str:
        """The hop table (▶ on the current step), the queue depths and the decoded message."""
        if not self._step:
            return self.caption()
        lines = format_hops(self.hops).splitlines()
        table = [("▶ " if i == self._step else "  ") + line for i, line in enumerate(lines)]
        out = [self.caption(), "", *table, "", _("Queue depths (ready messages) at this step:")]
        depths = self.depths()
        width = max(len(short_ids(q)) for q in depths) if depths else 0
        for q, n in depths.items():
            mark = "  ◀" if q in self._queues[self._step - 1] else ""
            out.append(f"  {short_ids(q).ljust(width)}  {n:>3}{mark}")
        decoded = self.message()
        out += ["", _("Message of step {step}:", step=self._step), *_pairs(decoded["route"])]
        out.append(self._note())
        out.append(_json(decoded["message"]))
        if "context" in decoded:
            out += [_("Context (summary):"), *_pairs(decoded["context"])]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Player: step {self._step} of {len(self.hops)}>"

    def _note(self) -> str:
        """Under the route: the envelope was opened, or HTTP is not the broker."""
        return kind_meaning("http") if self.hop and self.hop.kind == "http" \
            else _envelope_note()

    def _diagram_html(self) -> str:
        """The SVG of this step (computed once), or the text version under the notice."""
        if not self._step:
            return ""
        key = (self._step, get_language())
        if key not in self._svg:
            bundle = self.diagram()._repr_mimebundle_()
            svg = bundle.get("image/svg+xml")
            self._svg[key] = _inline_svg(svg) if svg else \
                f"<pre style='font-size:11px'>{html.escape(bundle['text/plain'])}</pre>"
        return self._svg[key]

    def _depths_html(self) -> str:
        current = self._queues[self._step - 1] if self._step else []
        rows = "".join(
            f"<tr{_bg(q in current)}><td><code title='{html.escape(q)}'>"
            f"{html.escape(short_ids(q))}</code></td><td style='text-align:right'>{n}</td></tr>"
            for q, n in self.depths().items())
        title, ready = html.escape(_("Queue depths at this step")), html.escape(_("ready"))
        return (f"<table><caption>{title}</caption>"
                f"<thead><tr><th>queue</th><th>{ready}</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")

    def _message_html(self) -> str:
        if not self._step:
            return ""
        decoded = self.message()
        title = _("Message of step {step}:", step=self._step)
        parts = [f"<b>{html.escape(title)}</b>",
                 _table(decoded["route"])]
        parts.append(f"<div><small>{html.escape(self._note())}</small></div>")
        parts.append("<pre style='max-height:24em;overflow:auto;font-size:11px;margin:0'>"
                     f"{html.escape(_json(decoded['message']))}</pre>")
        if "context" in decoded:
            context = _("Context (summary):")
            parts += [f"<b>{html.escape(context)}</b>",
                      _table(decoded["context"])]
        return "".join(parts)

    def _hops_html(self) -> str:
        head = ["#", _("kind"), _("from"), "exchange", "routing key", "queue", _("to"),
                _("method")]
        rows = []
        for hop, (what, _where) in zip(self.hops, self._texts, strict=True):
            cells = [str(hop.number), hop.kind, hop.sender,
                     "HTTP" if hop.kind == "http" else hop.exchange_label, hop.routing_key,
                     hop.queue or ("" if hop.kind == "http" else _("(waiting)")),
                     hop.receiver, what]
            rows.append(f"<tr{_bg(hop.number == self._step)}>" + "".join(
                f"<td>{html.escape(short_ids(c))}</td>" for c in cells) + "</tr>")
        header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        return (f"<table style='font-size:12px'><thead><tr>{header}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")

    def html(self) -> str:
        """The static rendering as HTML: caption, hop table, diagram, depths, message."""
        if not self._step:
            return f"<p>{html.escape(self.caption())}</p>"
        return (f"<div><p><b>{html.escape(self.caption())}</b></p>{self._hops_html()}"
                f"{self._diagram_html()}{self._panels_html()}</div>")

    def _panels_html(self) -> str:
        return ("<div style='display:flex;gap:2em;align-items:flex-start'>"
                f"<div>{self._depths_html()}</div>"
                f"<div style='min-width:0;flex:1'>{self._message_html()}</div></div>")

    # -- widgets -----------------------------------------------------------------------

    def widget(self) -> Any:
        """Play, Step back / Step forward and a slider over the diagram and the panels."""
        import ipywidgets

        if "box" in self._widgets:
            return self._widgets["box"]
        w = self._widgets
        w["caption"] = ipywidgets.HTML()
        w["diagram"] = ipywidgets.HTML()
        w["panels"] = ipywidgets.HTML()
        if not self.hops:
            w["box"] = ipywidgets.VBox([w["caption"]])
            self._sync()
            return w["box"]
        count = len(self.hops)
        w["play"] = ipywidgets.Play(value=self._step, min=1, max=count, interval=self.interval,
                                    tooltip=_("Play"), show_repeat=False)
        w["slider"] = ipywidgets.IntSlider(value=self._step, min=1, max=count,
                                           description=_("Step"), continuous_update=False)
        back = ipywidgets.Button(description=_("◀ Step back"), tooltip=_("Step back"))
        forward = ipywidgets.Button(description=_("Step forward ▶"), tooltip=_("Step forward"))
        back.on_click(lambda _button: self.previous())
        forward.on_click(lambda _button: self.next())
        ipywidgets.jslink((w["play"], "value"), (w["slider"], "value"))
        w["slider"].observe(self._on_slider, names="value")
        controls = ipywidgets.HBox([w["play"], back, w["slider"], forward])
        w["box"] = ipywidgets.VBox([controls, w["caption"], w["diagram"], w["panels"]])
        self._sync()
        return w["box"]

    def _on_slider(self, change: dict) -> None:
        if not self._syncing:
            self.go(change["new"])

    def _sync(self) -> None:
        """Make the widgets (if shown) follow the current step."""
        w = self._widgets
        if "box" not in w:
            return
        self._syncing = True
        try:
            for name in ("slider", "play"):
                if name in w:
                    w[name].value = self._step
            w["caption"].value = f"<b>{html.escape(self.caption())}</b>"
            w["diagram"].value = self._diagram_html()
            w["panels"].value = self._panels_html() if self._step else ""
        finally:
            self._syncing = False

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        bundle = {"text/plain": self.text(), "text/html": self.html()}
        if in_notebook():
            bundle.update(self.widget()._repr_mimebundle_())
            bundle["text/plain"] = self.text()
        return bundle


# --------------------------------------------------------------------------- helpers


def _snapshot(topology: Topology | Callable[[], Topology] | None) -> Topology:
    if isinstance(topology, Topology):
        return topology
    return topology() if topology is not None else snapshot()


def _envelope_note() -> str:
    return _("Envelope {version} opened: the message travels as a JSON string in "
             "oslo.message.", version=ENVELOPE_VERSION)


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
