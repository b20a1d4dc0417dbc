"""course.diagrams: pictures drawn from what really happened (snapshots and the trace).

Every topology and trace here is real: services built with ``course.rpc`` exchange
messages on the embedded broker (and, for a few cases, on RabbitMQ through the
``broker`` fixture), then the diagrams are drawn from the snapshot and the trace.
"""

from __future__ import annotations

import re
import threading
import time

import kombu
import pytest

import course
from course import broker as course_broker
from course import diagrams, rpc, topology, views
from course.diagrams import (
    FlowDiagram,
    FlowModel,
    GraphvizMissing,
    Text,
    TopologyDiagram,
    TopologyModel,
    flow_diagram,
    topology_diagram,
)
from course.diagrams.base import dot_name
from course.trace import Trace, TraceView

# -- a small Nova-like cloud on course.rpc ---------------------------------------------


class MiniNova:
    """nova-api, -conductor, -scheduler and computes, speaking the boot flow's messages.

    The flow is the real one in miniature: user --HTTP--> api --cast--> conductor
    --call--> scheduler (--HTTP--> placement) ; conductor --cast--> compute.<host> ;
    compute --call--> conductor (state saves) ; compute --fanout--> scheduler ; compute
    --notify--> notifications.info (nobody listens).  Each compute calls the conductor
    once at start-up, as nova-compute does, so each has a reply queue.
    """

    def __init__(self, computes=("c1", "c2"), url=None, trace=None):
        self.url = url
        self.trace = trace if trace is not None else views.Trace()
        self.computes = tuple(computes)
        self.transports = {}
        self.servers = []
        self.done = threading.Event()
        conductor = self._transport("nova-conductor:ctl")
        scheduler = self._transport("nova-scheduler:sch")
        mini = self

        class Conductor:
            def schedule_and_build_instances(self, ctxt, name):
                host = rpc.get_rpc_client(conductor, rpc.Target(topic="scheduler")).call(
                    ctxt, "select_destinations", name=name)
                rpc.get_rpc_client(conductor, rpc.Target(topic="compute")).prepare(
                    server=host).cast(ctxt, "build_and_run_instance", name=name)

            def object_action(self, ctxt, state):
                return state

        class Scheduler:
            def select_destinations(self, ctxt, name):
                mini.trace.record("http", "http", "nova-scheduler:sch",
                                  method="GET /allocation_candidates", peer="placement",
                                  request_id=ctxt.get("request_id", ""))
                return mini.computes[0]

            def update_instance_info(self, ctxt, name):
                pass

        class Compute:
            def __init__(self, transport):
                self.transport = transport

            def build_and_run_instance(self, ctxt, name):
                client = rpc.get_rpc_client(self.transport, rpc.Target(topic="conductor"))
                client.call(ctxt, "object_action", state="spawning")
                rpc.get_rpc_client(self.transport, rpc.Target(topic="scheduler")).prepare(
                    fanout=True).cast(ctxt, "update_instance_info", name=name)
                rpc.get_notifier(self.transport, publisher_id="compute").info(
                    ctxt, "instance.create.end", {"name": name})
                mini.done.set()

        self.servers.append(rpc.get_rpc_server(
            conductor, rpc.Target(topic="conductor", server="ctl"), [Conductor()]))
        self.servers.append(rpc.get_rpc_server(
            scheduler, rpc.Target(topic="scheduler", server="sch"), [Scheduler()]))
        for host in self.computes:
            transport = self._transport(f"nova-compute:{host}")
            self.servers.append(rpc.get_rpc_server(
                transport, rpc.Target(topic="compute", server=host), [Compute(transport)]))
        self.api = self._transport("nova-api:api")
        for server in self.servers:
            server.start()
        for host in self.computes:
            rpc.get_rpc_client(self.transports[f"nova-compute:{host}"],
                               rpc.Target(topic="conductor")).call({}, "object_action",
                                                                   state="ping")

    def _transport(self, service):
        transport = rpc.get_transport(self.url, "nova", service=service, trace=self.trace)
        self.transports[service] = transport
        return transport

    def boot(self, name="vm1"):
        """The boot's hops, as a TraceView of its request."""
        self.done.clear()
        ctxt = {"request_id": f"req-{name}"}
        self.trace.record("http", "http", "user", method="POST /servers", peer="nova-api:api",
                          request_id=ctxt["request_id"])
        rpc.get_rpc_client(self.api, rpc.Target(topic="conductor")).cast(
            ctxt, "schedule_and_build_instances", name=name)
        assert self.done.wait(5)
        deadline = time.monotonic() + 5  # until the fanout and the notification are traced
        while time.monotonic() < deadline:
            kinds = [h.kind for h in self.trace.for_request(ctxt["request_id"]).hops]
            if "notify" in kinds and all(h.receiver for h in self.trace.hops
                                         if h.kind == "fanout"):
                break
            time.sleep(0.01)
        return self.trace.for_request(ctxt["request_id"])

    def topology(self, **kw):
        return views.Topology.of(topology.snapshot(self.url, **kw), self.trace)

    def stop(self):
        for server in self.servers:
            server.stop()
        for transport in self.transports.values():
            transport.cleanup()


@pytest.fixture
def embedded():
    course_broker.reset()
    yield
    course_broker.reset()


@pytest.fixture
def nova(embedded):
    cloud = MiniNova()
    try:
        yield cloud
    finally:
        cloud.stop()


@pytest.fixture
def english():
    course.set_language("en")
    yield
    course.set_language("en")


def normalize(text):
    """Reply and fanout queues have random names: compare them as <id>."""
    return re.sub(r"[0-9a-f]{8}…", "<id>…", re.sub(r"[0-9a-f]{32}", "<uuid>", text))


def statement(diagram, node_id):
    """The DOT statement that declares one node of the model (to check how it is drawn)."""
    name = f'"{dot_name(node_id)}" ['
    return next(line.strip() for line in diagram.source.splitlines()
                if line.strip().startswith(name))


def labels(model, tail, head):
    """The routing keys written on the arrows of one binding edge."""
    return [arrow.label for arrow in model.arrows(model.edge(tail, head))]


# -- topology diagrams -------------------------------------------------------------------


def test_topology_diagram_draws_what_the_broker_holds(nova, english):
    view = nova.boot()
    d = nova.topology().diagram(trace=nova.trace)
    assert isinstance(d, TopologyDiagram)
    model = d.model
    assert isinstance(model, TopologyModel) and not model.highlighted
    # One node per exchange, with its type; the default exchange drawn because replies use it.
    assert model.node("x:nova").type == "topic"
    assert model.node("x:compute_fanout").type == "fanout"
    assert model.node("x:").type == "default" and model.node("x:").name == "(AMQP default)"
    # Bindings labelled with their routing keys.
    assert labels(model, "x:nova", "q:compute.c1") == ["compute.c1"]
    assert labels(model, "x:nova", "q:compute") == ["compute"]
    fanout_queue = next(q for q in nova.topology().queues if q.startswith("scheduler_fanout_"))
    assert labels(model, "x:scheduler_fanout", f"q:{fanout_queue}") == ["scheduler"]
    # Queues with their counts; the notification nobody listens to waits.
    notifications = model.node("q:notifications.info")
    assert (notifications.ready, notifications.consumers, notifications.waiting) == (1, 0, True)
    compute = model.node("q:compute")
    assert (compute.ready, compute.consumers, compute.waiting) == (0, 2, False)
    # Publishers and consumers come from the trace.
    assert model.edge("P:nova-api:api", "x:nova").role == "publish"
    assert model.edge("q:compute.c1", "C:nova-compute:c1").role == "consume"
    assert model.edge("q:scheduler", "C:nova-scheduler:sch")
    # c2 took nothing from compute.c2, only its start-up reply.
    assert model.edge("q:compute.c2", "C:nova-compute:c2") is None
    c2_replies = nova.transports["nova-compute:c2"].reply_waiter().queue_name
    assert model.edge(f"q:{c2_replies}", "C:nova-compute:c2")
    # Graphviz draws what the model says: shapes by type, queues as records, red when waiting.
    assert "shape=hexagon" in statement(d, "x:nova") and "(topic)" in statement(d, "x:nova")
    assert "shape=trapezium" in statement(d, "x:compute_fanout")
    assert "shape=octagon" in statement(d, "x:")
    waiting = statement(d, "q:notifications.info")
    assert "<B>notifications.info</B>" in waiting and "ready 1</TD>" in waiting
    assert diagrams.QUEUE_FILL_WAITING in waiting
    assert diagrams.QUEUE_FILL_WAITING not in statement(d, "q:compute")
    # The legend, in the diagram's own vocabulary.
    assert "subgraph cluster_legend" in d.source and "label=Legend" in d.source
    for word in ("topic exchange", "fanout exchange", "default exchange",
                 "binding: routing key", "P publisher (from the trace)",
                 "red: messages waiting"):
        assert word in d.source
    assert len(view.hops) == 10


def test_without_a_trace_no_service_is_guessed(nova):
    nova.boot()
    d = topology_diagram(topology.snapshot(nova.url))
    assert d.model.publishers == {} and d.model.consumers == {} and d.model.flows == []
    assert "publisher" not in d.source  # nor in the legend


def test_every_exchange_type_has_its_shape_on_both_brokers(broker, english):
    """The same declarations on the embedded broker and on RabbitMQ draw the same picture."""
    conn = broker.connect()
    channel = conn.channel()
    declared = {"to_direct": ("direct", "k.direct"), "to_topic": ("topic", "k.*"),
                "to_fanout": ("fanout", ""), "to_headers": ("headers", "")}
    for queue, (kind, key) in declared.items():
        exchange = kombu.Exchange(f"x_{kind}", kind, durable=False)
        kombu.Queue(queue, exchange, routing_key=key, durable=False)(channel).declare()
    producer = kombu.Producer(channel, serializer="json")
    for _ in range(2):
        producer.publish({"n": 1}, exchange="x_direct", routing_key="k.direct")
    d = topology_diagram(broker.topology())
    for kind, shape in (("direct", "ellipse"), ("topic", "hexagon"), ("fanout", "trapezium"),
                        ("headers", "parallelogram")):
        assert d.model.node(f"x:x_{kind}").type == kind
        assert f"shape={shape}" in statement(d, f"x:x_{kind}"), kind
        assert f"{kind} exchange" in d.source
    assert labels(d.model, "x:x_topic", "q:to_topic") == ["k.*"]
    assert d.model.node("q:to_direct").ready == 2
    assert "X x_direct (direct)" in d.ascii()
    assert re.search(r"└─ k\.direct ─▶ to_direct +\[ready 2 \| unacked 0 \| consumers 0\]",
                     d.ascii())


def test_ascii_topology_of_a_fixed_topology(embedded, english):
    """RabbitMQ tutorials 3 and 4 declared with kombu, printed exactly."""
    with course_broker.connect() as conn:
        channel = conn.channel()
        logs = kombu.Exchange("logs", "fanout", durable=False)
        direct = kombu.Exchange("direct_logs", "direct", durable=False)
        for name in ("audit", "screen"):
            kombu.Queue(name, logs, durable=False)(channel).declare()
        kombu.Queue("errors", direct, routing_key="error", durable=False)(channel).declare()
        for key in ("error", "info", "warning"):
            kombu.Queue("all", direct, routing_key=key, durable=False)(channel).declare()
        kombu.Queue("orphan", durable=False)(channel).declare()
        producer = kombu.Producer(channel, serializer="json")
        producer.publish({"text": "disk full"}, exchange="direct_logs", routing_key="error")
        producer.publish({"text": "hello"}, exchange="logs", routing_key="")
        d = topology_diagram(topology.snapshot())
    text = d.ascii()
    assert isinstance(text, Text)
    assert text == """\
Exchanges ─ routing key ─▶ queues [ready | unacked | consumers] ─▶ consumers:
  X direct_logs (direct)
    ├─ error, info, warning ─▶ all     [ready 1 | unacked 0 | consumers 0]
    └─ error                ─▶ errors  [ready 1 | unacked 0 | consumers 0]
  X logs (fanout)
    ├─ ""                   ─▶ audit   [ready 1 | unacked 0 | consumers 0]
    └─ ""                   ─▶ screen  [ready 1 | unacked 0 | consumers 0]
  X (AMQP default)
    └─ orphan               ─▶ orphan  [ready 0 | unacked 0 | consumers 0]
P publisher · X exchange (type) · queue [ready | unacked | consumers] ─▶ consumer"""
    # One arrow per binding, as the tutorials draw them; the default exchange binds orphan.
    assert labels(d.model, "x:direct_logs", "q:all") == ["error", "info", "warning"]
    assert labels(d.model, "x:", "q:orphan") == ["orphan"]
    arrow = f'"{dot_name("x:direct_logs")}" -> "{dot_name("q:all")}"'
    assert d.source.count(arrow) == 3


def test_ascii_topology_with_services_and_highlight(nova, english):
    view = nova.boot()
    text = normalize(nova.topology().ascii(trace=nova.trace, highlight=view))
    assert "Publishers (from the trace):" in text
    assert "  P nova-api:api       ──▶ nova ◀ #2" in text
    assert ("    ├─ compute.c1         ─▶ compute.c1                  "
            "[ready 0 | unacked 0 | consumers 1] ─▶ nova-compute:c1  ◀ #6") in text
    assert "notifications.info          [ready 1 | unacked 0 | consumers 0]  ◀ #10" in text
    assert text.endswith("◀ #n: hop n of the highlighted messages")


def test_highlighting_a_path(nova, english):
    view = nova.boot()
    cast = next(h for h in view.hops if h.method == "build_and_run_instance")
    d = topology_diagram(nova.topology(), trace=nova.trace, highlight=view)
    model = d.model
    assert model.highlighted and model.kinds == ["cast", "call", "reply", "fanout", "notify"]
    path = [model.edge("P:nova-conductor:ctl", "x:nova"),
            model.edge("x:nova", "q:compute.c1"),
            model.edge("q:compute.c1", "C:nova-compute:c1")]
    for edge in path:
        assert cast.number in edge.hops
    # The binding and the consumer took the cast only; the publisher's edge carried calls too.
    assert path[1].kinds == path[2].kinds == {"cast"} and path[1].hops == {cast.number}
    assert path[0].kinds == {"cast", "call"}
    for node in ("P:nova-conductor:ctl", "x:nova", "q:compute.c1", "C:nova-compute:c1"):
        assert cast.number in model.node(node).hops
    # What the request did not use is greyed out.
    assert model.dimmed(model.edge("x:nova", "q:compute.c2"))
    assert model.dimmed(model.node("x:compute_fanout"))
    assert not model.dimmed(model.node("q:compute.c1"))
    # The notification nobody consumed is highlighted in the queue where it waits.
    notify = next(h for h in view.hops if h.kind == "notify")
    assert notify.queue == ""
    assert model.edge("x:nova", "q:notifications.info").hops == {notify.number}
    # Graphviz draws the path thick, numbered and in the cast's colour; the rest grey.
    drawn = next(line for line in d.source.splitlines()
                 if f'"{dot_name("x:nova")}" -> "{dot_name("q:compute.c1")}"' in line)
    assert "penwidth=3" in drawn and f"#{cast.number}" in drawn
    assert diagrams.KIND_STYLES["cast"][1] in drawn
    assert "BORDER=\"3\"" in statement(d, "q:compute.c1")
    assert diagrams.DIM in statement(d, "x:compute_fanout")
    assert "#n: hop n, highlighted" in d.source

    # Without a trace, the highlighted hops themselves name their services.
    one = topology_diagram(nova.topology(), highlight=cast).model
    assert one.edge("P:nova-conductor:ctl", "x:nova").hops == {cast.number}
    assert one.edge("q:compute.c1", "C:nova-compute:c1").hops == {cast.number}
    assert list(one.publishers) == ["nova-conductor:ctl"]
    assert list(one.consumers) == ["nova-compute:c1"]


def test_many_similar_queues_are_grouped(embedded, english):
    cloud = MiniNova([f"compute{i}" for i in range(100)])
    try:
        cloud.boot()
        snap = cloud.topology()
        assert len(snap.queues) > 300
        started = time.perf_counter()
        d = topology_diagram(cloud.topology(), trace=cloud.trace)
        svg = d.svg()
        elapsed = time.perf_counter() - started
        expanded = snap.diagram(trace=cloud.trace, group=False)
        high = snap.diagram(trace=cloud.trace, group=200)
    finally:
        cloud.stop()
    assert elapsed <= 2.0, f"snapshot + diagram + dot took {elapsed:.2f} s"
    model = d.model
    group = model.node("q:compute.<host>")
    assert (group.count, group.consumers) == (100, 100)
    assert group.label(short_ids=True) == "compute.<host> ×100"
    assert group.members[:2] == ["compute.compute0", "compute.compute1"]
    assert model.node("q:compute_fanout_<uuid>").count == 100
    assert model.node("q:reply_<uuid>").count == 101
    assert labels(model, "x:nova", "q:compute.<host>") == ["compute.<host>"]
    assert model.edge("q:reply_<uuid>", "C:nova-compute:<host>")
    assert model.publishers["nova-compute:<host>"].count == 100
    assert "q:compute.compute1" not in model.by_id
    queues = model.clusters[0].queues
    assert len(queues) < 30 and sum(q.count for q in queues) == len(snap.queues)
    # Drawn as the model says: one node, its members in its tooltip.
    assert "compute.&lt;host&gt; ×100" in svg
    assert "compute.compute0\\ncompute.compute1\\n" in statement(d, "q:compute.<host>")
    assert ("├─ compute.<host>     ─▶ compute.<host> ×100         "
            "[ready 0 | unacked 0 | consumers 100] ─▶ nova-compute:<host> ×100") in d.ascii()
    # Expanded: every queue its own node.
    for big in (expanded, high):
        nodes = big.model.clusters[0].queues
        assert len(nodes) == len(snap.queues) and all(n.count == 1 for n in nodes)
        assert len([n for n in nodes if re.fullmatch(r"compute\.compute\d+", n.name)]) == 100
        assert "×100" not in big.source


def test_several_brokers_as_clusters(embedded, english):
    trace = views.Trace()
    cells = {"cell1": MiniNova(["a1"], "embedded:///cell1", trace),
             "cell2": MiniNova(["b1", "b2"], "embedded:///cell2", trace)}
    try:
        d = topology_diagram({name: c.topology() for name, c in cells.items()}, trace=trace)
        unnamed = topology_diagram([c.topology() for c in cells.values()])
    finally:
        for cloud in cells.values():
            cloud.stop()
    model = d.model
    assert [c.title for c in model.clusters] == ["cell1", "cell2"]
    assert {"0/q:compute.a1", "1/q:compute.b2"} <= set(model.by_id)
    assert "0/q:compute.b1" not in model.by_id
    # The start-up call of a1 went through cell1's broker only.
    assert model.edge("P:nova-compute:a1", "0/x:nova")
    assert model.edge("P:nova-compute:a1", "1/x:nova") is None
    assert "subgraph cluster_0" in d.source and "subgraph cluster_1" in d.source
    assert "label=cell1" in d.source and "label=cell2" in d.source
    text = d.ascii()
    assert "== cell1 ==" in text and "== cell2 ==" in text
    assert [c.title for c in unnamed.model.clusters] == ["embedded, virtual host cell1",
                                                          "embedded, virtual host cell2"]


# -- flow diagrams -----------------------------------------------------------------------


def test_flow_diagram_numbers_hops_and_styles_each_kind(nova, english):
    view = nova.boot()
    d = view.diagram()
    assert isinstance(d, FlowDiagram) and d.engine == "neato" and "layout=neato" in d.source
    model = d.model
    assert isinstance(model, FlowModel)
    assert [a.hop for a in model.arrows] == view.hops
    kinds = [h.kind for h in view.hops]
    assert set(kinds) == set(model.kinds) == {"http", "cast", "call", "reply", "fanout",
                                              "notify"}
    labels = [a.label for a in model.arrows]
    assert "2. cast schedule_and_build_instances\nnova ▸ conductor" in labels
    assert "3. call select_destinations\nnova ▸ scheduler" in labels
    assert labels[4].startswith("5. reply (answers #3)\n(AMQP default) ▸ reply_")
    assert "10. notify instance.create.end\nnova ▸ notifications.info" in labels
    # Lifelines in the order services first appear; the waiting room last.
    assert model.lanes == ["user", "nova-api:api", "nova-conductor:ctl", "nova-scheduler:sch",
                           "placement", "nova-compute:c1", ""]
    notify = model.arrows[-1]
    assert model.lanes[notify.tail] == "nova-compute:c1" and model.lanes[notify.head] == ""
    # Graphviz: each hop's row pinned, its arrow in its kind's style.
    for row, arrow in enumerate(model.arrows, 1):
        style, colour, head = diagrams.KIND_STYLES[arrow.hop.kind]
        drawn = next(line for line in d.source.splitlines()
                     if line.strip().startswith(f"a{row} -> "))
        assert f"style={style}" in drawn and f"arrowhead={head}" in drawn
        assert colour in drawn
    assert len({diagrams.KIND_STYLES[k] for k in kinds}) == 6, "every kind looks different"
    assert re.search(r'^\s*h0 \[.*label=user .*pos="0,0!"', d.source, re.M)
    assert "fanout: one copy to every server of the topic" in d.source  # the legend


def test_ascii_flow_is_a_sequence_diagram(embedded, english):
    trace = views.Trace()
    a = rpc.get_transport(None, "nova", service="nova-conductor:ctl", trace=trace)
    b = rpc.get_transport(None, "nova", service="nova-compute:c1", trace=trace)

    class Endpoint:
        def ping(self, ctxt, arg):
            return arg

    server = rpc.get_rpc_server(b, rpc.Target(topic="compute", server="c1"), [Endpoint()])
    server.start()
    try:
        client = rpc.get_rpc_client(a, rpc.Target(topic="compute"))
        client.prepare(server="c1").cast({}, "ping", arg=1)
        assert client.call({}, "ping", arg=2) == 2
    finally:
        server.stop()
        a.cleanup()
        b.cleanup()
    text = normalize(trace.diagram().ascii())
    assert text == """\
   nova-conductor   nova-compute
        :ctl            :c1
          │               │
1         │──cast────────▶│  ping          nova ▸ compute.c1
2         │━━call━━━━━━━━▶│  ping          nova ▸ compute
3         │◀┄┄┄┄┄┄┄reply┄┄│  (answers #2)  (AMQP default) ▸ reply_<id>…
          │               │
─── cast: no reply awaited
━━━ call: the caller waits for the reply
┄┄┄ reply: the answer to a call"""


def test_flow_limit_and_lists_of_hops(nova, english):
    view = nova.boot()
    short = flow_diagram(view.hops, limit=3)
    assert len(short.model.arrows) == 3 and short.model.more == 7
    assert "… 7 more hops not drawn" in short.source
    assert "… 7 more hops not drawn" in short.ascii()
    one = flow_diagram(view.hops[1])  # one Hop: its number stays the trace's
    assert [a.label.splitlines()[0] for a in one.model.arrows] == [
        "2. cast schedule_and_build_instances"]
    assert "a1 -> b1" in one.source and "a2 " not in one.source
    empty = flow_diagram(Trace())
    assert empty.model.arrows == [] and empty.model.lanes == []
    assert empty.ascii() == "No message in this trace yet." and "<svg" in empty.svg()


# -- display objects ---------------------------------------------------------------------


def test_mimebundle_svg_and_text(nova):
    nova.boot()
    for d in (nova.topology().diagram(trace=nova.trace), nova.trace.diagram()):
        bundle = d._repr_mimebundle_()
        assert set(bundle) == {"image/svg+xml", "text/plain"}
        assert "<svg" in bundle["image/svg+xml"]
        assert bundle["text/plain"] == d.ascii() == str(d)
        assert repr(d).startswith(f"<{type(d).__name__}: ")


def test_save_in_every_format(nova, tmp_path):
    nova.boot()
    d = nova.topology().diagram(trace=nova.trace)
    assert d.save(tmp_path / "t.png").read_bytes().startswith(b"\x89PNG")
    assert "<svg" in d.save(tmp_path / "t.svg").read_text()
    assert d.save(tmp_path / "t.dot").read_text() == d.source
    assert d.save(tmp_path / "t.txt").read_text() == d.ascii() + "\n"
    assert nova.trace.diagram().save(tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")


def test_without_dot_the_text_shows_with_a_notice(nova, monkeypatch, tmp_path):
    nova.boot()
    d = nova.topology().diagram(trace=nova.trace)
    flow = nova.trace.diagram()
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    for diagram in (d, flow):
        bundle = diagram._repr_mimebundle_()
        assert list(bundle) == ["text/plain"]
        notice, _, rest = bundle["text/plain"].partition("\n\n")
        assert "apt-get install graphviz" in notice and "conda install graphviz" in notice
        assert "\n" not in notice
        assert rest == diagram.ascii()
    with pytest.raises(GraphvizMissing, match="apt-get install graphviz"):
        d.save(tmp_path / "t.png")
    assert d.save(tmp_path / "t.txt").exists()
    assert d.save(tmp_path / "t.dot").read_text() == d.source


def test_text_shows_itself_as_text():
    text = Text("a\nb")
    assert repr(text) == "a\nb" and text == "a\nb"
    from IPython.lib.pretty import pretty

    assert pretty(text) == "a\nb"


def test_public_names(nova):
    view = nova.boot()
    snap = nova.topology()
    assert isinstance(snap.diagram(), TopologyDiagram)
    assert snap.ascii() == snap.diagram().ascii()
    assert isinstance(nova.trace.diagram(), FlowDiagram)
    assert isinstance(view, TraceView) and isinstance(view.diagram(), FlowDiagram)
    from_broker = TopologyDiagram.from_broker()
    assert from_broker.source == topology_diagram(topology.snapshot()).source


def test_french_labels(nova):
    view = nova.boot()
    snap = nova.topology()
    course.set_language("fr")
    try:
        d = snap.diagram(trace=nova.trace, highlight=view)
        flow = view.diagram()
        src, text = d.source, d.ascii()
        assert 'label="Légende"' in src
        assert "échange topic" in src and "échange par défaut" in src
        assert "prêts 1" in statement(d, "q:notifications.info")
        assert d.model.node("x:").name == "(AMQP par défaut)"
        assert "consommateurs" in src and "non acquittés" in src
        assert "Producteurs (d’après la trace)\u00a0:" in text
        assert "[prêts 0 | non acquittés 0 | consommateurs 1]" in text
        assert "(AMQP par défaut)" in text
        assert "cast\u00a0: aucune réponse attendue" in flow.source
        assert "(répond à #3)" in flow.ascii()
        # Identifiers stay as they are.
        assert "schedule_and_build_instances" in flow.source and "compute.c1" in src
        course.set_language("en")
        nodot = diagrams.install_notice()
        course.set_language("fr")
        assert diagrams.install_notice() != nodot
        assert "apt-get install graphviz" in diagrams.install_notice()
    finally:
        course.set_language("en")


def test_a_flow_on_rabbitmq(broker, english):
    """The same cloud on RabbitMQ: same hops, same picture."""
    cloud = MiniNova(["c1"], broker.url)
    try:
        view = cloud.boot()
        d = topology_diagram(broker.topology(), trace=cloud.trace, highlight=view)
    finally:
        cloud.stop()
    assert [h.kind for h in view.hops] == ["http", "cast", "call", "http", "reply", "cast",
                                           "call", "reply", "fanout", "notify"]
    cast = next(h for h in view.hops if h.method == "build_and_run_instance")
    assert d.model.edge("x:nova", "q:compute.c1").hops == {cast.number}
    assert d.model.node("q:compute.c1").consumers == 1
    assert "<svg" in d.svg()
