"""course.diagrams: pictures drawn from what really happened (snapshots and the trace).

Every topology and trace here is real: the course's Nova (``course.Lab().nova(...)``)
boots a server on the embedded broker (and, for a few cases, on RabbitMQ through the
``broker`` fixture), then the diagrams are drawn from the snapshot and the trace, and
the tests read what each diagram shows (``diagram.model``) and, for styles, its
Graphviz source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
from course.openstack.nova import NovaCloud, Timings
from course.trace import Hop, Trace, TraceView

# -- a real Nova, booting a server -------------------------------------------------------


@dataclass
class Boot:
    """A server booted on a lab: its request's hops, the compute it went to, the other one."""

    lab: course.Lab
    view: TraceView
    host: str
    idle: str

    @property
    def hops(self) -> list[Hop]:
        return self.view.hops

    def number(self, kind: str, method: str = "") -> int:
        """The number of the first hop of this kind (and method)."""
        return next(h.number for h in self.hops
                    if h.kind == kind and (not method or h.method == method))

    def numbers(self, kind: str) -> set[int]:
        return {h.number for h in self.hops if h.kind == kind}


def boot(lab: course.Lab, cloud: NovaCloud, hosts: list[str]) -> Boot:
    """Boot vm1 and wait until it is ACTIVE and its last messages are traced."""
    vm = cloud.boot("vm1")
    assert vm.wait(timeout=10) == "ACTIVE"
    idle = next((h for h in hosts if h != vm.host), "")
    return Boot(lab, lab.trace.for_request(vm.request_id), vm.host, idle)


@pytest.fixture
def embedded():
    course_broker.reset()
    yield
    course_broker.reset()


@pytest.fixture
def lab():
    with course.Lab() as running:
        yield running


@pytest.fixture
def booted(lab):
    """Two computes that send versioned notifications (nobody listens: they wait), one VM."""
    hosts = ["compute1", "compute2"]
    cloud = lab.nova(computes=hosts, timings=Timings.zero(), notifications=True)
    return boot(lab, cloud, hosts)


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


def test_topology_diagram_draws_what_the_broker_holds(booted):
    host, idle = booted.host, booted.idle
    snap = booted.lab.topology()
    d = snap.diagram()  # with the lab's trace
    assert isinstance(d, TopologyDiagram)
    model = d.model
    assert isinstance(model, TopologyModel) and not model.highlighted
    # One node per exchange, with its type; the default exchange drawn because replies use it.
    assert model.node("x:nova").type == "topic"
    assert model.node("x:compute_fanout").type == "fanout"
    assert model.node("x:").type == "default" and model.node("x:").name == "(AMQP default)"
    # Bindings labelled with their routing keys.
    assert labels(model, "x:nova", f"q:compute.{host}") == [f"compute.{host}"]
    assert labels(model, "x:nova", "q:compute") == ["compute"]
    fanout_queue = next(q for q in snap.queues if q.startswith("scheduler_fanout_"))
    assert labels(model, "x:scheduler_fanout", f"q:{fanout_queue}") == ["scheduler"]
    # Queues with their counts; the notifications nobody listens to wait.
    notifications = model.node("q:versioned_notifications.info")
    assert notifications.ready == len(booted.numbers("notify")) == 4
    assert (notifications.consumers, notifications.waiting) == (0, True)
    compute = model.node("q:compute")
    assert (compute.ready, compute.consumers, compute.waiting) == (0, 2, False)
    # Publishers and consumers come from the trace.
    assert model.edge("P:nova-api:controller", "x:nova").role == "publish"
    assert model.edge(f"q:compute.{host}", f"C:nova-compute:{host}").role == "consume"
    assert model.edge("q:scheduler", "C:nova-scheduler:controller")
    # The idle compute took nothing from its queue, only the reply to its start-up call.
    assert model.edge(f"q:compute.{idle}", f"C:nova-compute:{idle}") is None
    replies = {h.queue for h in booted.lab.trace.hops
               if h.kind == "reply" and h.receiver == f"nova-compute:{idle}"}
    assert len(replies) == 1
    assert model.edge(f"q:{replies.pop()}", f"C:nova-compute:{idle}")
    # Graphviz draws what the model says: shapes by type, queues as records, red when waiting.
    assert "shape=hexagon" in statement(d, "x:nova") and "(topic)" in statement(d, "x:nova")
    assert "shape=trapezium" in statement(d, "x:compute_fanout")
    assert "shape=octagon" in statement(d, "x:")
    waiting = statement(d, "q:versioned_notifications.info")
    assert "<B>versioned_notifications.info</B>" in waiting and "ready 4</TD>" in waiting
    assert diagrams.QUEUE_FILL_WAITING in waiting
    assert diagrams.QUEUE_FILL_WAITING not in statement(d, "q:compute")
    # The legend, in the diagram's own vocabulary.
    assert "subgraph cluster_legend" in d.source and "label=Legend" in d.source
    for word in ("topic exchange", "fanout exchange", "default exchange",
                 "binding: routing key", "P publisher (from the trace)",
                 "red: messages waiting"):
        assert word in d.source


def test_without_a_trace_no_service_is_guessed(booted):
    d = topology_diagram(topology.snapshot(booted.lab.url))
    assert d.model.publishers == {} and d.model.consumers == {} and d.model.flows == []
    assert d.model.node("q:conductor").consumers == 1  # the snapshot's own figures stay
    assert "publisher" not in d.source  # nor in the legend


def test_every_exchange_type_has_its_shape_on_both_brokers(broker):
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


def test_ascii_topology_of_a_fixed_topology(embedded):
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


def test_ascii_topology_with_services_and_highlight(booted):
    host = booted.host
    cast = booted.number("cast", "build_and_run_instance")
    text = normalize(booted.lab.topology().ascii(highlight=booted.view))
    assert "Publishers (from the trace):" in text
    first = booted.number("cast", "schedule_and_build_instances")
    assert f"  P nova-api:controller       ──▶ nova ◀ #{first}\n" in text
    assert (f"    ├─ compute.{host}             ─▶ compute.{host}              "
            f"[ready 0 | unacked 0 | consumers 1] ─▶ nova-compute:{host}  ◀ #{cast}\n") in text
    notes = ", ".join(f"#{n}" for n in sorted(booted.numbers("notify")))
    assert ("    └─ versioned_notifications.info ─▶ versioned_notifications.info  "
            f"[ready 4 | unacked 0 | consumers 0]  ◀ {notes}\n") in text
    assert text.endswith("◀ #n: hop n of the highlighted messages")


def test_highlighting_a_path(booted):
    host, idle, snap = booted.host, booted.idle, booted.lab.topology()
    cast = booted.number("cast", "build_and_run_instance")
    d = topology_diagram(snap, trace=booted.lab.trace, highlight=booted.view)
    model = d.model
    assert model.highlighted and model.kinds == ["cast", "call", "reply", "fanout", "notify"]
    path = [model.edge("P:nova-conductor:controller", "x:nova"),
            model.edge("x:nova", f"q:compute.{host}"),
            model.edge(f"q:compute.{host}", f"C:nova-compute:{host}")]
    for edge in path:
        assert cast in edge.hops
    # The binding and the consumer took the cast only; the conductor also called the
    # scheduler through that exchange.
    assert path[1].kinds == path[2].kinds == {"cast"} and path[1].hops == {cast}
    assert path[0].kinds == {"cast", "call"}
    assert path[0].hops == {cast, booted.number("call", "select_destinations")}
    for node in ("P:nova-conductor:controller", "x:nova", f"q:compute.{host}",
                 f"C:nova-compute:{host}"):
        assert cast in model.node(node).hops
    # What the request did not use is greyed out.
    assert model.dimmed(model.edge("x:nova", f"q:compute.{idle}"))
    assert model.dimmed(model.node("x:compute_fanout"))
    assert model.dimmed(model.node(f"q:compute.{idle}"))
    assert not model.dimmed(model.node(f"q:compute.{host}"))
    # The notifications nobody consumed are highlighted in the queue where they wait.
    notify = booted.numbers("notify")
    assert all(h.queue == "" for h in booted.hops if h.kind == "notify")
    assert model.edge("x:nova", "q:versioned_notifications.info").hops == notify
    assert model.edge("x:nova", "q:versioned_notifications.info").kinds == {"notify"}
    # Graphviz draws the path thick, numbered and in the cast's colour; the rest grey.
    drawn = next(line for line in d.source.splitlines()
                 if f'"{dot_name("x:nova")}" -> "{dot_name(f"q:compute.{host}")}"' in line)
    assert "penwidth=3" in drawn and f"#{cast}" in drawn
    assert diagrams.KIND_STYLES["cast"][1] in drawn
    assert 'BORDER="3"' in statement(d, f"q:compute.{host}")
    assert diagrams.DIM in statement(d, "x:compute_fanout")
    assert "#n: hop n, highlighted" in d.source

    # Without a trace, the highlighted hops themselves name their services.
    hop = next(h for h in booted.hops if h.number == cast)
    one = topology_diagram(snap, highlight=hop).model
    assert one.edge("P:nova-conductor:controller", "x:nova").hops == {cast}
    assert one.edge(f"q:compute.{host}", f"C:nova-compute:{host}").hops == {cast}
    assert list(one.publishers) == ["nova-conductor:controller"]
    assert list(one.consumers) == [f"nova-compute:{host}"]


def test_many_similar_queues_are_grouped(lab):
    hosts = [f"compute{i}" for i in range(100)]
    booted = boot(lab, lab.nova(computes=hosts, timings=Timings.zero()), hosts)
    snap = lab.topology()  # (how long drawing it takes: python -m course.bench)
    d = snap.diagram()
    svg = d.svg()
    assert len(snap.queues) > 300
    model = d.model
    group = model.node("q:compute.<host>")
    assert (group.count, group.consumers) == (100, 100)
    assert group.label(short_ids=True) == "compute.<host> ×100"
    assert group.members[:2] == ["compute.compute0", "compute.compute1"]
    assert model.node("q:compute_fanout_<uuid>").count == 100
    assert model.node("q:reply_<uuid>").count == 101  # every compute's, and the conductor's
    assert labels(model, "x:nova", "q:compute.<host>") == ["compute.<host>"]
    assert model.edge("q:compute.<host>", "C:nova-compute:<host>")  # the VM's host took it
    assert model.edge("q:reply_<uuid>", "C:nova-compute:<host>")
    assert model.publishers["nova-compute:<host>"].count == 100
    assert f"q:compute.{booted.host}" not in model.by_id
    queues = model.clusters[0].queues
    assert len(queues) < 15 and sum(q.count for q in queues) == len(snap.queues)
    # Drawn as the model says: one node, its members in its tooltip.
    assert "compute.&lt;host&gt; ×100" in svg
    assert "compute.compute0\\ncompute.compute1\\n" in statement(d, "q:compute.<host>")
    lines = {" ".join(line.split()) for line in d.ascii().splitlines()}  # columns aside
    assert ("├─ compute.<host> ─▶ compute.<host> ×100 [ready 0 | unacked 0 | consumers 100] "
            "─▶ nova-compute:<host> ×100") in lines
    assert ("└─ reply_<uuid> ─▶ reply_<uuid> ×101 [ready 0 | unacked 0 | consumers 101] "
            "─▶ nova-compute:<host> ×100, nova-conductor:controller") in lines
    # Expanded: every queue its own node.
    for big in (snap.diagram(group=False), snap.diagram(group=200)):
        nodes = big.model.clusters[0].queues
        assert len(nodes) == len(snap.queues) and all(n.count == 1 for n in nodes)
        assert len([n for n in nodes if re.fullmatch(r"compute\.compute\d+", n.name)]) == 100
        assert "×100" not in big.source


def test_several_brokers_as_clusters(embedded):
    """Two cells, one broker each (cells v2), traced together: each hop is drawn on the
    broker it went through."""
    trace = views.Trace()
    cells = {"cell1": NovaCloud(course_broker.add_vhost("cell1"), trace, computes=["a1"],
                                controller="ctl1", timings=Timings.zero()),
             "cell2": NovaCloud(course_broker.add_vhost("cell2"), trace, computes=["b1", "b2"],
                                controller="ctl2", timings=Timings.zero())}
    try:
        for cloud in cells.values():
            cloud.start()
        snaps = {name: topology.snapshot(cloud.url) for name, cloud in cells.items()}
    finally:
        for cloud in cells.values():
            cloud.stop()
    d = topology_diagram(snaps, trace=trace)
    model = d.model
    assert [c.title for c in model.clusters] == ["cell1", "cell2"]
    assert {"0/q:compute.a1", "0/q:conductor", "1/q:compute.b2", "1/q:conductor"} <= set(
        model.by_id)
    assert "0/q:compute.b1" not in model.by_id
    # a1's start-up calls went to the conductor of its own cell, whose queue both cells have.
    assert model.edge("P:nova-compute:a1", "0/x:nova")
    assert model.edge("P:nova-compute:a1", "1/x:nova") is None
    assert model.edge("0/q:conductor", "C:nova-conductor:ctl1")
    assert model.edge("1/q:conductor", "C:nova-conductor:ctl1") is None
    assert model.edge("1/q:conductor", "C:nova-conductor:ctl2")
    assert "subgraph cluster_0" in d.source and "subgraph cluster_1" in d.source
    assert "label=cell1" in d.source and "label=cell2" in d.source
    text = d.ascii()
    assert "== cell1 ==" in text and "== cell2 ==" in text
    unnamed = topology_diagram(list(snaps.values()))
    assert [c.title for c in unnamed.model.clusters] == ["embedded, virtual host cell1",
                                                          "embedded, virtual host cell2"]


# -- flow diagrams -----------------------------------------------------------------------


def test_flow_diagram_numbers_hops_and_styles_each_kind(booted):
    d = booted.view.diagram()
    assert isinstance(d, FlowDiagram) and d.engine == "neato" and "layout=neato" in d.source
    model = d.model
    assert isinstance(model, FlowModel)
    assert [a.hop for a in model.arrows] == booted.hops
    kinds = [h.kind for h in booted.hops]
    assert set(kinds) == set(model.kinds) == {"http", "cast", "call", "reply", "fanout",
                                              "notify"}
    labels = {a.hop.number: a.label for a in model.arrows}
    first = booted.number("cast", "schedule_and_build_instances")
    select = booted.number("call", "select_destinations")
    build = booted.number("cast", "build_and_run_instance")
    answer = next(h.number for h in booted.hops if h.kind == "reply" and h.number > select)
    last = max(booted.numbers("notify"))
    assert labels[first] == f"{first}. cast schedule_and_build_instances\nnova ▸ conductor"
    assert labels[select] == f"{select}. call select_destinations\nnova ▸ scheduler"
    assert labels[answer].startswith(
        f"{answer}. reply (answers #{select})\n(AMQP default) ▸ reply_")
    assert labels[build] == (f"{build}. cast build_and_run_instance\n"
                             f"nova ▸ compute.{booted.host}")
    assert labels[last] == (f"{last}. notify instance.create.end\n"
                            "nova ▸ versioned_notifications.info")
    assert labels[1] == "1. http POST /v2.1/servers\nHTTP"
    # Lifelines in the order services first appear; the waiting room last.
    assert model.lanes == ["openstack", "nova-api:controller", "glance",
                           "nova-conductor:controller", "nova-scheduler:controller",
                           "placement", f"nova-compute:{booted.host}", "neutron", ""]
    notify = model.arrows[last - 1]
    assert model.lanes[notify.tail] == f"nova-compute:{booted.host}"
    assert model.lanes[notify.head] == ""
    # Graphviz: each hop's arrow in its kind's style, each label where the layout puts it.
    for row, arrow in enumerate(model.arrows, 1):
        style, colour, head = diagrams.KIND_STYLES[arrow.hop.kind]
        drawn = next(line for line in d.source.splitlines()
                     if line.strip().startswith(f"a{row} -> "))
        assert f"style={style}" in drawn and f"arrowhead={head}" in drawn
        assert colour in drawn
    assert len({diagrams.KIND_STYLES[k] for k in kinds}) == 6, "every kind looks different"
    assert re.search(r'^\s*h0 \[.*label=openstack .*pos="0,0!"', d.source, re.M)
    assert "fanout: one copy to every server of the topic" in d.source  # the legend


def test_ascii_flow_is_a_sequence_diagram(embedded):
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


def test_flow_limit_and_lists_of_hops(booted):
    hops = booted.hops
    short = flow_diagram(hops, limit=3)
    assert len(short.model.arrows) == 3 and short.model.more == len(hops) - 3
    assert f"… {len(hops) - 3} more hops not drawn" in short.source
    assert f"… {len(hops) - 3} more hops not drawn" in short.ascii()
    cast = next(h for h in hops if h.kind == "cast")
    one = flow_diagram(cast)  # one Hop: its number stays the trace's
    assert [a.label.splitlines()[0] for a in one.model.arrows] == [
        f"{cast.number}. cast schedule_and_build_instances"]
    assert one.model.lanes == ["nova-api:controller", "nova-conductor:controller"]
    assert "a1 -> b1" in one.source and "a2 " not in one.source
    empty = flow_diagram(Trace())
    assert empty.model.arrows == [] and empty.model.lanes == []
    assert empty.ascii() == "No message in this trace yet." and "<svg" in empty.svg()


def test_mimebundle_svg_and_text(booted):
    for d in (booted.lab.topology().diagram(), booted.lab.trace.diagram()):
        bundle = d._repr_mimebundle_()
        assert set(bundle) == {"image/svg+xml", "text/plain"}
        assert "<svg" in bundle["image/svg+xml"]
        assert bundle["text/plain"] == d.ascii() == str(d)
        assert repr(d).startswith(f"<{type(d).__name__}: ")


def test_save_in_every_format(booted, tmp_path):
    d = booted.lab.topology().diagram()
    assert d.save(tmp_path / "t.png").read_bytes().startswith(b"\x89PNG")
    assert "<svg" in d.save(tmp_path / "t.svg").read_text()
    assert d.save(tmp_path / "t.dot").read_text() == d.source
    assert d.save(tmp_path / "t.txt").read_text() == d.ascii() + "\n"
    assert booted.view.diagram().save(tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")


def test_without_dot_the_text_shows_with_a_notice(booted, monkeypatch, tmp_path):
    d = booted.lab.topology().diagram()
    flow = booted.view.diagram()
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


def test_public_names(booted):
    snap = booted.lab.topology()
    assert isinstance(snap.diagram(), TopologyDiagram)
    assert snap.ascii() == snap.diagram().ascii()
    assert isinstance(booted.lab.trace.diagram(), FlowDiagram)
    assert isinstance(booted.view, TraceView) and isinstance(booted.view.diagram(), FlowDiagram)
    from_broker = TopologyDiagram.from_broker()  # an operator's broker, read-only
    assert isinstance(from_broker, TopologyDiagram)
    assert from_broker.source == topology_diagram(topology.snapshot()).source


def test_french_labels(booted, french):
    d = booted.lab.topology().diagram(highlight=booted.view)
    flow = booted.view.diagram()
    src, text = d.source, d.ascii()
    assert 'label="Légende"' in src
    assert "exchange de type topic" in src and "exchange par défaut" in src  # the glossary's
    assert "échange" not in src
    assert "prêts 4" in statement(d, "q:versioned_notifications.info")
    assert d.model.node("x:").name == "(AMQP par défaut)"
    assert "consommateurs" in src and "non acquittés" in src
    assert "Producteurs (d’après la trace)\u00a0:" in text
    assert "[prêts 0 | non acquittés 0 | consommateurs 1]" in text
    assert "(AMQP par défaut)" in text
    assert "cast\u00a0: aucune réponse attendue" in flow.source
    assert f"(répond à #{booted.number('call', 'select_destinations')})" in flow.ascii()
    # Identifiers stay as they are.
    assert "schedule_and_build_instances" in flow.source
    assert f"compute.{booted.host}" in src
    notice = diagrams.install_notice()
    assert "introuvable" in notice and "apt-get install graphviz" in notice


def test_a_flow_on_rabbitmq(broker):
    """The same cloud on RabbitMQ: same hops, same picture."""
    trace = views.Trace()
    with NovaCloud(broker.url, trace, computes=["compute1"], timings=Timings.zero()) as cloud:
        vm = cloud.boot("vm1")
        assert vm.wait(timeout=10) == "ACTIVE"
        view = trace.for_request(vm.request_id)
        d = topology_diagram(broker.topology(), trace=trace, highlight=view)
    assert [h.kind for h in view.hops if h.kind != "http"] == [
        "cast", "call", "reply", "cast", *["call", "reply"] * 7, "fanout", "call", "reply"]
    cast = next(h for h in view.hops if h.method == "build_and_run_instance")
    assert d.model.edge("x:nova", "q:compute.compute1").hops == {cast.number}
    assert d.model.edge("q:compute.compute1", "C:nova-compute:compute1").kinds == {"cast"}
    assert d.model.node("q:compute.compute1").consumers == 1
    assert "<svg" in d.svg()
