"""Pictures of what really happened: topologies from a snapshot, message flows from the trace.

Nothing here is a hard-coded drawing.  A **topology diagram** reads a
:class:`~course.topology.Topology` (and, when given, the trace: a snapshot alone
does not know who publishes or who consumed); a **flow diagram** reads the
hops of a :class:`~course.trace.Trace`.  Both use the visual vocabulary of the
RabbitMQ tutorials, drawn left to right::

    P (publisher) ──▶ X (exchange) ──routing key──▶ queue [ready | unacked | consumers] ──▶ C

Every diagram is a display object, like scikit-learn's ``*Display`` classes:

* in a notebook it shows itself as SVG (``_repr_mimebundle_``), with its text
  rendering as the ``text/plain`` fallback;
* ``.ascii()`` is the same picture for a terminal, ``.source`` its DOT text;
* ``.save("x.svg")`` (or ``.png``, ``.pdf``, ``.dot``, ``.txt``) writes it.

Without Graphviz's ``dot`` program a notebook still runs: the diagram shows its
text rendering under a one-line notice that says how to install Graphviz.

Lessons reach this module through ``lab.topology().diagram()``,
``lab.topology().ascii()`` and ``lab.trace.diagram()``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz

from . import routing
from .errors import CourseError
from .i18n import _
from .topology import Topology, UnknownExchange
from .trace import KINDS, UUID_HEX, Hop
from .trace import short_ids as short_ids_in

#: Queues (or services) alike in name and bindings are drawn as one node from this many on.
GROUP_THRESHOLD = 5
#: Hops a flow diagram draws at most; the others are counted in a note.
FLOW_LIMIT = 150
FONT = "Helvetica"

#: Exchange type -> (Graphviz shape, fill colour, border colour).  The default exchange
#: ``""`` has a type of its own here, since it routes by queue name without bindings.
EXCHANGE_STYLES = {
    "direct": ("ellipse", "#d9ead3", "#38761d"),
    "topic": ("hexagon", "#cfe2f3", "#1f4e79"),
    "fanout": ("trapezium", "#fff2cc", "#b45f06"),
    "headers": ("parallelogram", "#ead1dc", "#741b47"),
    "default": ("octagon", "#eeeeee", "#666666"),
}
OTHER_EXCHANGE_STYLE = ("box3d", "#f3f3f3", "#666666")
QUEUE_FILL, QUEUE_FILL_WAITING, QUEUE_BORDER = "#fde9e9", "#f4a6a6", "#990000"
PUBLISHER_FILL, CONSUMER_FILL, SERVICE_BORDER = "#e3eefb", "#e2f3df", "#444444"
HIGHLIGHT = "#d62728"  # nodes on the path, and edges that several kinds took
DIM = "#bbbbbb"

#: Hop kind -> (line style, colour, arrowhead), shared by flow diagrams, highlighted
#: topology paths and the legends.
KIND_STYLES = {
    "cast": ("solid", "#1f77b4", "vee"),
    "call": ("bold", "#2ca02c", "normal"),
    "reply": ("dashed", "#2ca02c", "vee"),
    "fanout": ("solid", "#9467bd", "veevee"),
    "notify": ("dotted", "#ff7f0e", "vee"),
    "http": ("dashed", "#7f7f7f", "onormal"),
}
#: Hop kind -> the line a text rendering draws for it.
KIND_LINES = {"cast": "─", "call": "━", "reply": "┄", "fanout": "═", "notify": "┈",
              "http": "╌"}



class GraphvizMissing(CourseError, RuntimeError):
    """Graphviz's ``dot`` program is not installed, so no picture can be made."""


def install_notice() -> str:
    """The one line shown above a text rendering when ``dot`` is missing."""
    return _("Graphviz's `dot` program was not found, so here is the text version of the "
             "diagram; to see the picture, install Graphviz (`apt-get install graphviz`, or "
             "`conda install graphviz`) and run the cell again.")


class Text(str):
    """A string that shows itself as text in a notebook and at a prompt, not as a repr."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


# --------------------------------------------------------------------------- display


class Diagram:
    """A picture with two renderings: Graphviz (``.source``, SVG, PNG) and text (``.ascii()``)."""

    #: The Graphviz layout; ``dot`` runs it (``dot -K<engine>``), so only ``dot`` is needed.
    engine = "dot"

    def __init__(self, source: str, text: str, summary: str = "") -> None:
        #: The DOT text given to Graphviz.
        self.source = source
        self._text = text
        self._summary = summary
        self._svg: str | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._summary}>"

    def __str__(self) -> str:
        return self._text

    def ascii(self) -> Text:
        """The diagram as text, for a terminal (and where ``dot`` is missing)."""
        return Text(self._text)

    def pipe(self, format: str = "svg") -> bytes:
        """The picture rendered by ``dot`` in ``format`` (svg, png, pdf...)."""
        try:
            return graphviz.Source(self.source, engine=self.engine).pipe(format=format,
                                                                         quiet=True)
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

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """SVG for notebooks, text for everything else; text and a notice without ``dot``."""
        try:
            return {"image/svg+xml": self.svg(), "text/plain": self._text}
        except GraphvizMissing as missing:
            return {"text/plain": f"{missing}\n\n{self._text}"}


class TopologyDiagram(Diagram):
    """Exchanges, bindings and queues of one or more brokers, with the services around them.

    Build it with :func:`topology_diagram`, ``Topology.diagram()`` or
    :meth:`from_broker`.
    """

    @classmethod
    def from_topology(cls, topology: Any, **options: Any) -> TopologyDiagram:
        return topology_diagram(topology, **options)

    @classmethod
    def from_broker(cls, url: str | None = None, *, management_url: str | None = None,
                    **options: Any) -> TopologyDiagram:
        """Snapshot the broker named by ``url`` (as ``course.topology.snapshot``) and draw it."""
        from .topology import snapshot

        return topology_diagram(snapshot(url, management_url=management_url), **options)


class FlowDiagram(Diagram):
    """A message sequence diagram: services as lifelines, one numbered arrow per hop.

    Build it with :func:`flow_diagram` or ``lab.trace.diagram()``.
    """

    engine = "neato"  # with every node pinned where the flow layout puts it

    @classmethod
    def from_trace(cls, trace: Any, **options: Any) -> FlowDiagram:
        return flow_diagram(trace, **options)


# --------------------------------------------------------------------------- helpers


def hops_of(records: Any) -> list[Hop]:
    """Hops from a Trace, a TraceView, one Hop or an iterable of hops."""
    if records is None:
        return []
    if isinstance(records, Hop):
        return [records]
    if hasattr(records, "hops"):
        return list(records.hops)
    return list(records)


def _short(name: str, short_ids: bool) -> str:
    """``reply_4f2a…`` for ``reply_<32 hex digits>``: the full name stays in the tooltip."""
    return short_ids_in(name) if short_ids else name


def _q(text: str) -> str:
    """A DOT quoted string; newlines become centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**attrs: object) -> str:
    parts = [f"{k}={_q(str(v))}" for k, v in attrs.items() if v is not None and v != ""]
    return f" [{', '.join(parts)}]" if parts else ""


def _numbers(numbers: Iterable[int]) -> str:
    """``#2, #5-#7`` for hops 2, 5, 6, 7; long lists are cut short."""
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


def _exchange_kind(name: str, type_: str) -> str:
    return "default" if name == "" else type_


def _exchange_name(name: str) -> str:
    return name or _("(AMQP default)")


def _key_routes(exchange_type: str, binding_key: str, routing_key: str) -> bool:
    """Does a binding with ``binding_key`` take a message published with ``routing_key``?
    (Headers bindings are drawn as taking every message: a hop has no headers.)"""
    if exchange_type in ("default", "headers"):
        exchange_type = "direct" if exchange_type == "default" else "fanout"
    return routing.matches(exchange_type, binding_key, routing_key)


def _routed(topology: Topology, exchange: str, key: str) -> list[str]:
    """The queues the broker's bindings send ``key`` to: where an unconsumed message waits."""
    try:
        return topology.route(exchange, key)
    except UnknownExchange:  # deleted since (an auto-delete fanout exchange, say)
        return []


def _group_threshold(group: bool | int) -> int:
    if group is True:
        return GROUP_THRESHOLD
    if group is False or group is None:
        return 0
    return max(int(group), 2)


# --------------------------------------------------------------------------- topology model


@dataclass
class _Node:
    id: str
    role: str  # exchange | queue | publisher | consumer
    name: str  # the name, or the pattern of a group
    type: str = ""  # exchange type; "default" for ""
    members: list[str] = field(default_factory=list)
    ready: int = 0
    unacked: int = 0
    consumers: int = 0
    hops: set[int] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.members)

    def label(self, short_ids: bool) -> str:
        name = _short(self.name, short_ids)
        return f"{name} ×{self.count}" if self.count > 1 else name


@dataclass
class _Edge:
    tail: str
    head: str
    role: str  # binding | publish | consume
    hops: set[int] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    #: Bindings only: routing key -> the queues bound with it, and the hops that took it.
    keys: dict[str, set[str]] = field(default_factory=dict)
    key_hops: dict[str, set[int]] = field(default_factory=dict)

    def mark(self, hop: Hop, number: int, exchange_type: str = "") -> None:
        """Highlight hop ``number``; on a binding, only the keys that route its message."""
        self.hops.add(number)
        self.kinds.add(hop.kind)
        if self.keys:
            keys = [k for k in self.keys if _key_routes(exchange_type, k, hop.routing_key)]
            for key in keys or self.keys:
                self.key_hops.setdefault(key, set()).add(number)


@dataclass
class _Cluster:
    title: str
    exchanges: list[_Node]
    queues: list[_Node]
    bindings: list[_Edge]


@dataclass
class _Model:
    clusters: list[_Cluster]
    publishers: dict[str, _Node]
    consumers: dict[str, _Node]
    flows: list[_Edge]  # publish and consume edges
    highlighted: bool
    short_ids: bool
    kinds: list[str] = field(default_factory=list)  # of the highlighted hops, in KINDS order


def _queue_pattern(name: str, queues: Mapping[str, Any]) -> str:
    """What a queue's name has in common with its like: ``compute.<host>``, ``reply_<uuid>``."""
    if UUID_HEX.search(name):
        return UUID_HEX.sub("<uuid>", name)
    topics = [t for t in queues if name.startswith(t + ".") and t != name]
    if topics:
        return max(topics, key=len) + ".<host>"
    if "." in name:
        return name.split(".", 1)[0] + ".*"
    return name


def _service_groups(names: Iterable[str], threshold: int) -> dict[str, str]:
    """Service name -> the name of its node: ``nova-compute:<host>`` for many computes."""
    by_binary: dict[str, set[str]] = {}
    for name in names:
        binary, sep, _host = name.partition(":")
        if sep:
            by_binary.setdefault(binary, set()).add(name)
    grouped = {n: f"{b}:<host>" for b, members in by_binary.items()
               if threshold and len(members) >= threshold for n in members}
    return {n: grouped.get(n, n) for n in names}


def _build_model(topologies: list[tuple[str, Topology, list[Hop]]], highlight: list[Hop],
                 threshold: int, short_ids: bool) -> _Model:
    marked = {(h.unique_id, h.queue): h.number for h in highlight if h.kind != "http"}
    several = len(topologies) > 1
    brokers_of = _brokers_of_hops(topologies)
    services: list[str] = []
    for _title, _topology, hops in topologies:
        services += [h.sender for h in hops if h.kind != "http"]
        services += [h.receiver for h in hops if h.kind != "http" and h.receiver]
    service_node = _service_groups(dict.fromkeys(services), threshold)
    publishers: dict[str, _Node] = {}
    consumers: dict[str, _Node] = {}
    flows: dict[tuple[str, str], _Edge] = {}
    clusters = []

    def service(name: str, role: str) -> _Node:
        nodes = publishers if role == "publisher" else consumers
        group = service_node[name]
        node = nodes.get(group)
        if node is None:
            node = nodes[group] = _Node(f"{role[0].upper()}:{group}", role, group)
        if name not in node.members:
            node.members.append(name)
        return node

    def flow(tail: str, head: str, role: str, hop: Hop, number: int | None) -> None:
        edge = flows.setdefault((tail, head), _Edge(tail, head, role))
        if number is not None:
            edge.mark(hop, number)

    for index, (title, topology, hops) in enumerate(topologies):
        prefix = f"{index}/" if several else ""
        # Queues, grouped by pattern and by the exchanges they are bound to.
        bound_to: dict[str, set[str]] = {q: set() for q in topology.queues}
        for b in topology.bindings:
            if b.exchange != "":
                bound_to[b.queue].add(b.exchange)
        groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for name in topology.queues:
            key = (_queue_pattern(name, topology.queues), tuple(sorted(bound_to[name])))
            groups.setdefault(key, []).append(name)
        queue_node: dict[str, _Node] = {}
        qnodes: list[_Node] = []
        for (pattern, _exchanges), members in groups.items():
            if threshold and len(members) >= threshold and pattern not in members:
                chunks = [members]
            else:
                chunks = [[m] for m in members]
                pattern = ""
            for chunk in chunks:
                name = pattern or chunk[0]
                node = _Node(f"{prefix}q:{name}", "queue", name, members=list(chunk))
                for member in chunk:
                    q = topology.queues[member]
                    node.ready += q.messages_ready
                    node.unacked += q.messages_unacknowledged
                    node.consumers += q.consumers
                    queue_node[member] = node
                qnodes.append(node)
        qnodes.sort(key=lambda n: n.name)

        # Which hops went through this broker, and where each one went.
        routes: list[tuple[Hop, list[str], int | None]] = []
        routed: dict[tuple[str, str], list[str]] = {}
        for hop in hops:
            if index not in brokers_of.get((hop.unique_id, hop.queue), ()):
                continue
            if hop.queue:
                queues = [hop.queue] if hop.queue in topology.queues else []
            else:
                route = (hop.exchange, hop.routing_key)
                if route not in routed:
                    routed[route] = _routed(topology, *route)
                queues = routed[route]
            routes.append((hop, queues, marked.get((hop.unique_id, hop.queue))))

        # Exchanges; the default one when a queue has no other binding or a hop used it.
        unbound = [q for q in topology.queues if not bound_to[q]]
        names = [n for n in topology.exchanges if n != ""]
        if unbound or any(hop.exchange == "" for hop, _q, _n in routes):
            names.append("")
        xnodes = {}
        for name in names:
            found = topology.exchanges.get(name)
            type_ = _exchange_kind(name, found.type if found else "direct")
            xnodes[name] = _Node(f"{prefix}x:{name}", "exchange", _exchange_name(name), type_)

        bindings: dict[tuple[str, str], _Edge] = {}
        for b in topology.bindings:
            if b.exchange != "":
                _bind(bindings, xnodes[b.exchange], queue_node[b.queue], b.queue, b.routing_key)
        for q in unbound:
            _bind(bindings, xnodes[""], queue_node[q], q, q)

        for hop, queues, number in routes:
            x = xnodes[hop.exchange]
            publisher = service(hop.sender, "publisher")
            flow(publisher.id, x.id, "publish", hop, number)
            for q in queues:
                edge = _bind(bindings, x, queue_node[q], q, q) if hop.exchange == "" else \
                    bindings.get((x.id, queue_node[q].id))
                if number is not None:
                    x.hops.add(number)
                    queue_node[q].hops.add(number)
                    publisher.hops.add(number)
                    if edge is not None:
                        edge.mark(hop, number, x.type)
                if hop.receiver and hop.queue == q:
                    consumer = service(hop.receiver, "consumer")
                    flow(queue_node[q].id, consumer.id, "consume", hop, number)
                    if number is not None:
                        consumer.hops.add(number)
            if number is not None and not queues:
                x.hops.add(number)
                publisher.hops.add(number)

        clusters.append(_Cluster(title, sorted(xnodes.values(), key=_exchange_order), qnodes,
                                 sorted(bindings.values(), key=lambda e: (e.tail, e.head))))
    return _Model(clusters, dict(sorted(publishers.items())), dict(sorted(consumers.items())),
                  sorted(flows.values(), key=lambda e: (e.role, e.tail, e.head)),
                  bool(marked), short_ids,
                  [k for k in KINDS if any(h.kind == k for h in highlight)])


def _passes_through(hop: Hop, topology: Topology, several: bool) -> bool:
    """Could this hop have gone through this broker?  (Its exchange and queue are there.)"""
    if hop.kind == "http" or (hop.exchange and hop.exchange not in topology.exchanges):
        return False
    return not (several and hop.queue and hop.queue not in topology.queues)


def _brokers_of_hops(topologies: list[tuple[str, Topology, list[Hop]]]
                     ) -> dict[tuple[str, str], set[int]]:
    """(unique_id, queue) -> the brokers (indexes) each hop went through.

    A trace does not say which broker carried a message.  A hop whose exchange and queue
    exist on one broker only went through it, and that locates its sender and receiver
    there; a hop to a queue every broker has (``conductor`` in each cell) is then put
    where its services are located.
    """
    several = len(topologies) > 1
    candidates: dict[tuple[str, str], set[int]] = {}
    services: dict[tuple[str, str], tuple[str, str]] = {}
    for index, (_title, topology, hops) in enumerate(topologies):
        for hop in hops:
            if _passes_through(hop, topology, several):
                key = (hop.unique_id, hop.queue)
                candidates.setdefault(key, set()).add(index)
                services[key] = (hop.sender, hop.receiver)
    located: dict[str, set[int]] = {}
    for key, found in candidates.items():
        if len(found) == 1:
            for service in services[key]:
                if service:
                    located.setdefault(service, set()).update(found)
    for key, found in candidates.items():
        for service in services[key]:
            narrower = found & located.get(service, set())
            if narrower:
                found = narrower
        candidates[key] = found
    return candidates


def _bind(bindings: dict[tuple[str, str], _Edge], exchange: _Node, queue: _Node, name: str,
          key: str) -> _Edge:
    """The edge exchange -> queue node, with this queue's routing key added to it."""
    edge = bindings.setdefault((exchange.id, queue.id), _Edge(exchange.id, queue.id, "binding"))
    edge.keys.setdefault(key, set()).add(name)
    return edge


def _exchange_order(node: _Node) -> tuple[bool, str]:
    return (node.type == "default", node.name)


def _binding_labels(edge: _Edge, queue: _Node, short_ids: bool) -> list[tuple[str, set[int]]]:
    """(routing key, highlighted hops) for each arrow of a binding edge.

    A single queue gets one arrow per key, as in the tutorials; a group gets one arrow,
    labelled with its shared key or its own pattern (``compute.<host>``).
    """
    keys = sorted(edge.keys)
    if queue.count == 1:
        return [(_short(k, short_ids), edge.key_hops.get(k, set())) for k in keys]
    if len(keys) == 1:
        label = _short(keys[0], short_ids)
    elif all(edge.keys[k] == {k} for k in keys):
        label = _short(queue.name, short_ids)
    else:
        label = _("{count} routing keys", count=len(keys))
    return [(label, edge.hops)]


# --------------------------------------------------------------------------- topology: DOT


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


def _node_dot(node: _Node, model: _Model, indent: str = "  ") -> str:
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


def _edge_dot(edge: _Edge, label: str, model: _Model, hops: set[int] | None = None) -> str:
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


def _legend_dot(model: _Model) -> list[str]:
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


def _topology_dot(model: _Model, title: str, legend: bool) -> str:
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
        queues = {n.id: n for n in cluster.queues}
        for edge in cluster.bindings:
            for label, hops in _binding_labels(edge, queues[edge.head], model.short_ids):
                lines.append(_edge_dot(edge, label, model, hops))
    for node in model.consumers.values():
        lines.append(_node_dot(node, model))
    for edge in model.flows:
        lines.append(_edge_dot(edge, "", model))
    if legend:
        lines += _legend_dot(model)
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- topology: text


def _topology_text(model: _Model, title: str, legend: bool) -> str:
    short = model.short_ids
    out: list[str] = [title] if title else []
    nodes = {n.id: n for c in model.clusters for n in c.exchanges + c.queues}
    nodes.update((n.id, n) for n in [*model.publishers.values(), *model.consumers.values()])
    consumed: dict[str, list[_Edge]] = {}
    published: dict[str, list[_Edge]] = {}
    for edge in model.flows:
        (consumed if edge.role == "consume" else published).setdefault(
            edge.tail, []).append(edge)

    def mark(hops: set[int]) -> str:
        return f"  ◀ {_numbers(hops)}" if hops else ""

    for cluster in model.clusters:
        if len(model.clusters) > 1:
            out.append(f"== {cluster.title} ==")
        xids = {x.id for x in cluster.exchanges}
        pubs = [(p, [e for e in published.get(p.id, []) if e.head in xids])
                for p in model.publishers.values()]
        pubs = [(p, edges) for p, edges in pubs if edges]
        if pubs:
            out.append(_("Publishers (from the trace):"))
            width = max(len(p.label(short)) for p, _e in pubs)
            for p, edges in pubs:
                targets = " · ".join(nodes[e.head].name + mark(e.hops).replace("  ", " ")
                                     for e in edges)
                out.append(f"  P {p.label(short).ljust(width)} ──▶ {targets}")
        out.append(_("Exchanges ─ routing key ─▶ queues [ready | unacked | consumers] ─▶ "
                     "consumers:"))
        queues = {n.id: n for n in cluster.queues}
        rows_by_x: dict[str, list[tuple[str, _Node, _Edge]]] = {}
        for edge in cluster.bindings:
            labels = _binding_labels(edge, queues[edge.head], short)
            key = ", ".join(label or '""' for label, _hops in labels)
            rows_by_x.setdefault(edge.tail, []).append((key, queues[edge.head], edge))
        all_rows = [r for rows in rows_by_x.values() for r in rows]
        kw = max((len(k) for k, _n, _e in all_rows), default=0)
        qw = max((len(n.label(short)) for _k, n, _e in all_rows), default=0)
        for x in cluster.exchanges:
            kind = "" if x.type == "default" else f" ({x.type})"
            out.append(f"  X {x.name}{kind}{mark(x.hops)}")
            rows = rows_by_x.get(x.id, [])
            if not rows:
                out.append("    " + _("(no bindings)"))
            for i, (key, queue, edge) in enumerate(rows):
                branch = "└─" if i == len(rows) - 1 else "├─"
                counts = " | ".join([_("ready {count}", count=queue.ready),
                                     _("unacked {count}", count=queue.unacked),
                                     _("consumers {count}", count=queue.consumers)])
                line = (f"    {branch} {key.ljust(kw)} ─▶ {queue.label(short).ljust(qw)}"
                        f"  [{counts}]")
                takers = consumed.get(queue.id, [])
                if takers:
                    line += " ─▶ " + ", ".join(nodes[e.head].label(short) for e in takers)
                hops = edge.hops | {n for e in takers for n in e.hops}
                out.append(line + mark(hops))
    if legend:
        out.append(_("P publisher · X exchange (type) · queue [ready | unacked | consumers]"
                     " ─▶ consumer"))
        if model.highlighted:
            out.append(_("◀ #n: hop n of the highlighted messages"))
    return "\n".join(out)


def topology_diagram(topology: Topology | Sequence[Topology] | Mapping[str, Topology], *,
                     trace: Any = None, highlight: Any = None, group: bool | int = True,
                     short_ids: bool = True, legend: bool = True,
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
        are :data:`GROUP_THRESHOLD` of them, with summed counts; a number sets that
        threshold; ``False`` draws every one.
    short_ids: write 32-digit ids as their first 8 digits and "…" (full names in the
        SVG tooltips).
    legend: add a legend (a small sample topology) in the learner's language.
    title: a title above the picture.
    returns: a :class:`TopologyDiagram`.
    """
    if isinstance(topology, Topology):
        items = [("", topology)]
    elif isinstance(topology, Mapping):
        items = [(str(k), t) for k, t in topology.items()]
    else:
        items = [("", t) for t in topology]
    items = [(title_ or _cluster_title(t), t) for title_, t in items]
    highlight_hops = [h for h in hops_of(highlight) if h.kind != "http"]
    per_cluster = []
    for key, (cluster_title, t) in zip(_keys(topology), items, strict=True):
        records = trace.get(key) if isinstance(trace, Mapping) else trace
        hops = hops_of(records)
        seen = {(h.unique_id, h.queue) for h in hops}
        hops += [h for h in highlight_hops if (h.unique_id, h.queue) not in seen]
        per_cluster.append((cluster_title, t, hops))
    model = _build_model(per_cluster, highlight_hops, _group_threshold(group), short_ids)
    queues = sum(len(t.queues) for _t, t in items)
    summary = f"{len(items)} broker(s), {queues} queues, " \
              f"{sum(len(c.queues) for c in model.clusters)} queue nodes"
    return TopologyDiagram(_topology_dot(model, title, legend),
                           _topology_text(model, title, legend), summary)


def _keys(topology: Any) -> list[Any]:
    if isinstance(topology, Topology):
        return [None]
    if isinstance(topology, Mapping):
        return list(topology)
    return list(range(len(topology)))


def _cluster_title(topology: Topology) -> str:
    return _("{source}, virtual host {vhost}", source=topology.source or "?",
             vhost=topology.vhost)


# --------------------------------------------------------------------------- flows


def _participants(hops: list[Hop], order: Sequence[str] = ()) -> list[str]:
    """Lifelines in the order they first appear (``order`` first); "" is the waiting room."""
    names = list(dict.fromkeys(order))
    for hop in hops:
        for name in (hop.sender, hop.receiver or ""):
            if name not in names:
                names.append(name)
    if "" in names:  # messages nobody took yet: a lifeline of their own, on the right
        names.remove("")
        names.append("")
    return names


def hop_texts(hops: list[Hop], short_ids: bool) -> list[tuple[str, str]]:
    """For each hop (what: method, event type or "reply to #n"; where: exchange ▸ key)."""
    calls = {h.msg_id: h.number for h in hops if h.kind == "call" and h.msg_id}
    texts = []
    for hop in hops:
        what = hop.method or str((hop.body or {}).get("event_type", ""))
        if hop.kind == "reply" and hop.msg_id in calls:
            what = _("(answers #{number})", number=str(calls[hop.msg_id]))
        where = "HTTP" if hop.kind == "http" else \
            f"{_exchange_name(hop.exchange)} ▸ {_short(hop.routing_key, short_ids)}"
        texts.append((what, where))
    return texts


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


def _flow_dot(hops: list[Hop], texts: list[tuple[str, str]], lanes: list[str], title: str,
              legend: bool, more: int) -> str:
    """Lifelines and arrows at computed positions (neato with pinned nodes, through ``dot``).

    Each hop has a row of its own, its label in a white box above its arrow, so labels
    never overlap each other and stay readable across the lifelines they cross.
    """
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
            text = _("{kind}: {meaning}", kind=kind, meaning=kind_meaning(kind))
            ky = y - j * 18
            lines.append(f"  k{j}a [{point}, pos=\"{x[0] - 40:.0f},{ky:.0f}!\"];")
            lines.append(f"  k{j}b [{point}, pos=\"{x[0] + 20:.0f},{ky:.0f}!\"];")
            lines.append(f"  k{j}a -> k{j}b" + _attrs(style=style, color=color,
                                                      arrowhead=arrow))
            lines.append(_left_label(f"k{j}t", text, x[0] + 26, ky, fontsize=9,
                                     fontcolor=color))
    lines.append("}")
    return "\n".join(lines) + "\n"


def kind_meaning(kind: str) -> str:
    return {
        "cast": _("no reply awaited"),
        "call": _("the caller waits for the reply"),
        "reply": _("the answer to a call"),
        "fanout": _("one copy to every server of the topic"),
        "notify": _("a notification"),
        "http": _("HTTP, not through the broker"),
    }.get(kind, kind)


def _flow_text(hops: list[Hop], texts: list[tuple[str, str]], lanes: list[str], title: str,
               legend: bool, more: int) -> str:
    """Lifelines in columns, one arrow per hop, its method and route on the right.

    Service names are written on two lines (``nova-compute`` over ``:c1``) so that the
    columns stay narrow.
    """
    heads = [lane.partition(":") if lane else (_("(waiting)"), "", "") for lane in lanes]
    heads = [(binary, sep + host) for binary, sep, host in heads]
    width = max([len(part) for head in heads for part in head] + [8]) + 2
    centre = [i * width + width // 2 for i in range(len(lanes))]
    digits = len(str(max((h.number for h in hops), default=0)))
    pad = " " * (digits + 1)

    def lifelines() -> list[str]:
        row = [" "] * (width * len(lanes))
        for c in centre:
            row[c] = "│"
        return row

    out = [title] if title else []
    for line in range(2):
        out.append((pad + "".join(head[line].center(width) for head in heads)).rstrip())
    out.append((pad + "".join(lifelines())).rstrip())
    index = {lane: i for i, lane in enumerate(lanes)}
    what_width = max((len(what) for what, _where in texts), default=0)
    for hop, (what, where) in zip(hops, texts, strict=True):
        row = lifelines()
        line = KIND_LINES.get(hop.kind, "─")
        s, t = centre[index[hop.sender]], centre[index[hop.receiver or ""]]
        if s == t:  # a message to itself
            loop = f"├{line}↺ {hop.kind}"
            row[s:s + len(loop)] = loop
        else:
            lo, hi = min(s, t), max(s, t)
            span = hi - lo - 2  # between the two lifelines, less the arrowhead
            if t > s:
                arrow = (line * 2 + hop.kind).ljust(span, line)[:span] + "▶"
            else:
                arrow = "◀" + (hop.kind + line * 2).rjust(span, line)[-span:]
            row[lo + 1:hi] = arrow
        out.append(f"{str(hop.number).rjust(digits)} " + "".join(row).rstrip()
                   + f"  {what.ljust(what_width)}  {where}".rstrip())
    out.append((pad + "".join(lifelines())).rstrip())
    if more:
        out.append(_("… {count} more hops not drawn", count=more))
    if legend:
        kinds = list(dict.fromkeys(h.kind for h in hops))
        for k in kinds:
            out.append(f"{KIND_LINES.get(k, '─') * 3} "
                       + _("{kind}: {meaning}", kind=k, meaning=kind_meaning(k)))
    return "\n".join(out)


def flow_diagram(trace: Any, *, participants: Sequence[str] = (), limit: int = FLOW_LIMIT,
                 short_ids: bool = True, legend: bool = True, title: str = "") -> FlowDiagram:
    """Draw the hops of a trace as a sequence diagram, one numbered arrow per hop.

    trace: a Trace, a TraceView (``trace.for_request(...)``), a Hop or a list of hops.
    participants: service names to put first, left to right (the others follow in the
        order they appear).
    limit: hops drawn at most (the first ones); a note counts the others.
    short_ids, legend, title: as for :func:`topology_diagram`.
    returns: a :class:`FlowDiagram`; each kind (cast, call, reply, fanout, notify,
        http) has its own line style, colour and arrowhead, as the legend says.
    """
    hops = hops_of(trace)
    more = max(0, len(hops) - limit)
    hops = hops[:limit]
    lanes = _participants(hops, participants)
    summary = f"{len(hops)} hops, {len(lanes)} lifelines"
    if not hops:
        empty = _("… {count} more hops not drawn", count=more) if more else \
            _("No message in this trace yet.")
        return FlowDiagram(f"digraph flow {{\n  empty [shape=plaintext, fontname={_q(FONT)}, "
                           f"label={_q(empty)}];\n}}\n", empty, summary)
    texts = hop_texts(hops, short_ids)
    return FlowDiagram(_flow_dot(hops, texts, lanes, title, legend, more),
                       _flow_text(hops, texts, lanes, title, legend, more), summary)
