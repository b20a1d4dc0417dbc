"""What every diagram is: a display object with a Graphviz and a text rendering.

Also the few readings of the records that topology and flow diagrams (and the player)
share: hops from whatever a lesson passes, where a hop's message is, hop numbers as
``#2, #5–#7``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import graphviz

from ..display import Display, RenderingUnavailable, Text
from ..i18n import _
from ..topology import Topology, UnknownExchange
from ..trace import Hop
from ..trace import short_ids as short_ids_in


class GraphvizMissing(RenderingUnavailable):
    """Graphviz's ``dot`` program is not installed, so no picture can be made."""


def install_notice() -> str:
    """The one line shown above a text rendering when ``dot`` is missing."""
    return _("Graphviz's `dot` program was not found, so here is the text version of the "
             "diagram; to see the picture, install Graphviz (`apt-get install graphviz`, or "
             "`conda install graphviz`) and run the cell again.")


class Diagram(Display):
    """A picture with two renderings: Graphviz (``.graph``, SVG, PNG) and text (``.ascii()``).

    ``model`` is what the picture shows, before any drawing: tests and exercises read it.
    """

    def __init__(self, graph: graphviz.Digraph, text: str, summary: str = "",
                 model: Any = None) -> None:
        #: The Graphviz graph; ``dot`` lays it out with ``graph.engine`` (``dot -K<engine>``).
        self.graph = graph
        self.model = model
        self._text = text
        self._summary = summary
        self._svg: str | None = None

    @property
    def source(self) -> str:
        """The DOT text given to Graphviz."""
        return self.graph.source

    @property
    def engine(self) -> str:
        """The Graphviz layout: ``dot``, or ``neato`` with pinned nodes."""
        return self.graph.engine

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._summary}>"

    def text(self) -> str:
        return self._text

    def ascii(self) -> Text:
        """The diagram as text, for a terminal (and where ``dot`` is missing)."""
        return Text(self._text)

    def rich(self) -> dict[str, str]:
        """SVG for notebooks; without ``dot``, :class:`GraphvizMissing` (text shows instead)."""
        return {"image/svg+xml": self.svg()}

    def pipe(self, format: str = "svg") -> bytes:
        """The picture rendered by ``dot`` in ``format`` (svg, png, pdf...)."""
        try:
            return self.graph.pipe(format=format, quiet=True)
        except graphviz.ExecutableNotFound:
            raise GraphvizMissing(install_notice()) from None

    def svg(self) -> str:
        """The SVG text (computed once)."""
        if self._svg is None:
            self._svg = self.pipe("svg").decode("utf-8")
        return self._svg

    def save(self, path: str | Path, format: str | None = None) -> Path:
        """Write the diagram; the format comes from the suffix: .svg, .png, .pdf, .dot or .txt.

        .dot (or .gv) writes the DOT source and .txt the text rendering: neither needs ``dot``.
        """
        path = Path(path)
        format = (format or path.suffix.lstrip(".") or "svg").lower()
        if format in ("dot", "gv"):
            path.write_text(self.source, encoding="utf-8")
        elif format == "txt":
            path.write_text(self._text + "\n", encoding="utf-8")
        elif format == "svg":
            path.write_text(self.svg(), encoding="utf-8")
        else:
            path.write_bytes(self.pipe(format))
        return path


def dot_text(text: str, end: str = "") -> str:
    """``text`` as a Graphviz string: taken literally (backslashes, ``<...>``), its newlines
    centred line breaks; ``end`` is added as written (``\\l``: left-justify the line)."""
    return graphviz.nohtml(text.replace("\\", "\\\\").replace("\n", "\\n") + end)


def dot_name(id: str) -> str:
    """A node id as a Graphviz node name: ``graphviz`` reads ``a:b`` in an edge as node ``a``,
    port ``b``, so colons (and the ``%`` that escapes them) are written ``%3A`` (``%25``)."""
    return dot_text(id.replace("%", "%25").replace(":", "%3A"))


def hops_of(records: Any) -> list[Hop]:
    """Hops from a Trace, a TraceView, one Hop or an iterable of hops."""
    if records is None:
        return []
    if isinstance(records, Hop):
        return [records]
    if hasattr(records, "hops"):
        return list(records.hops)
    return list(records)


def short(name: str, short_ids: bool) -> str:
    """``reply_4f2a…`` for ``reply_<32 hex digits>``: the full name stays in the tooltip."""
    return short_ids_in(name) if short_ids else name


def hop_numbers(numbers: Iterable[int]) -> str:
    """``#2, #5–#7`` for hops 2, 5, 6, 7; long lists are cut short."""
    numbers = sorted(set(numbers))
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [f"#{r[0]}" if len(r) == 1 else f"#{r[0]}–#{r[-1]}" for r in runs]
    if len(parts) > 4:
        parts = parts[:3] + [f"… ({len(numbers)})"]
    return ", ".join(parts)


def routed(topology: Topology, exchange: str, routing_key: str) -> list[str]:
    """The queues the broker's bindings send ``routing_key`` to; [] when the exchange is
    gone (deleted since: an auto-delete fanout exchange, say)."""
    try:
        return topology.route(exchange, routing_key)
    except UnknownExchange:
        return []


def hop_queues(hop: Hop, topology: Topology,
               cache: dict[tuple[str, str], list[str]] | None = None) -> list[str]:
    """Where a hop's message is: the queue it was taken from, else where it waits (the
    queues its exchange routes it to); none for HTTP.  ``cache`` keeps routes asked once."""
    if hop.kind == "http":
        return []
    if hop.queue:
        return [hop.queue]
    route = (hop.exchange, hop.routing_key)
    if cache is None:
        return routed(topology, *route)
    if route not in cache:
        cache[route] = routed(topology, *route)
    return cache[route]
