"""Cells v2 with a broker per cell: the API broker (nova-api, nova-scheduler, the
super-conductor) and one vhost per cell (its conductor and computes), on both brokers."""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest
from helpers import eventually
from nova_helpers import FAST

import course
from course.lab import API_BROKER, CellBrokerMissing, UnknownBroker
from course.openstack.nova import NovaCloud
from course.openstack.nova.cells import cell_url
from course.openstack.nova.context import make_context
from course.openstack.nova.objects import CellMapping
from course.topology import same_broker

CELLS = {"cell1": ["compute1", "compute2"], "cell2": ["compute3"]}


@pytest.fixture(params=["embedded", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)],
                ids=["embedded", "rabbitmq"])
def lab(request):
    """A lab on a fresh vhost; on RabbitMQ it creates the cells' vhosts (and removes them)."""
    if request.param == "embedded":
        with course.Lab() as made:
            yield made
        return
    node = request.getfixturevalue("rabbitmq_node")
    vhost = f"test-{uuid.uuid4().hex[:12]}"
    made = course.Lab(node.add_vhost(vhost), management_url=node.management_url,
                      add_vhost=node.add_vhost)
    try:
        yield made
    finally:
        made.stop()
        for name in (vhost, *(f"{vhost}-{cell}" for cell in CELLS)):
            with contextlib.suppress(Exception):
                node.delete_vhost(name)


def boot_three(cloud, stopped=None):
    """vm1, vm2, vm3: the weighers spread them on compute1, compute2 (cell1) and compute3
    (cell2).  ``stopped``: a compute stopped before the boots."""
    if stopped:
        cloud.compute(stopped).stop()
    vms = []
    for n in (1, 2, 3):  # one scheduled after the other: each sees the claims before it
        vms.append(cloud.boot(f"vm{n}"))
        assert eventually(lambda: vms[-1].cell is not None, timeout=20)
    for vm in vms if stopped is None else vms[:2]:
        assert vm.wait(20) == "ACTIVE"
    return vms


def hop(view, method):
    return next(h for h in view.hops if h.method == method)


def test_a_cast_to_a_cell2_compute_waits_on_cell2s_broker(lab):
    cloud = lab.nova(cells=CELLS, timings=FAST)
    vm3 = boot_three(cloud, stopped="compute3")[2]
    assert (vm3.cell, vm3.status) == ("cell2", "BUILD")
    # The cast waits in compute.compute3 on cell2's vhost; the API vhost has no compute
    # queue at all, cell1's has its own computes' only.
    assert eventually(lambda: lab.topology(cell="cell2").queues["compute.compute3"]
                      .messages == 1, timeout=10)
    assert lab.topology(cell="cell2").queues["compute.compute3"].consumers == 0
    assert not [q for q in lab.topology(cell=API_BROKER).queues if q.startswith("compute")]
    cell1 = lab.topology(cell="cell1").queues
    assert "compute.compute3" not in cell1
    assert (cell1["compute.compute1"].messages, cell1["compute.compute1"].consumers) == (0, 1)
    build = hop(vm3.trace(), "build_and_run_instance")
    assert (build.routing_key, build.queue, build.receiver) == ("compute.compute3", "", "")
    assert same_broker(build.broker, lab.brokers["cell2"])


def test_a_boot_in_cell2_crosses_the_api_broker_then_cell2s(lab):
    cloud = lab.nova(cells=CELLS, timings=FAST)
    api, cell1, cell2 = (str(course.broker.parse_transport_url(lab.brokers[name]))
                         for name in (API_BROKER, "cell1", "cell2"))
    vms = boot_three(cloud)
    vm3 = vms[2]
    assert [(vm.host, vm.cell) for vm in vms] == [
        ("compute1", "cell1"), ("compute2", "cell1"), ("compute3", "cell2")]

    view = vm3.trace()
    first = hop(view, "schedule_and_build_instances")
    assert (first.sender, first.receiver, first.broker) == (
        "nova-api:controller", "nova-conductor:controller", api)
    select = hop(view, "select_destinations")
    assert (select.sender, select.receiver, select.broker) == (
        "nova-conductor:controller", "nova-scheduler:controller", api)
    build = hop(view, "build_and_run_instance")
    assert (build.sender, build.routing_key, build.queue, build.receiver, build.broker) == (
        "nova-conductor:controller", "compute.compute3", "compute.compute3",
        "nova-compute:compute3", cell2)
    # every state save of the compute is a call to cell2's own conductor, on cell2's broker
    saves = [h for h in view.hops if h.method == "object_action"]
    assert len(saves) >= 5
    assert {(h.receiver, h.broker) for h in saves} == {("nova-conductor:cell2", cell2)}
    assert vm3.history[-1] == ("active", None)
    # the hop table says which broker each hop crossed, once there are several
    assert "broker" in view.table().splitlines()[0] and cell2 in view.table()
    assert cell1 not in {h.broker for h in view.hops}


def test_the_api_broker_never_carries_build_and_run_instance(lab):
    cloud = lab.nova(cells=CELLS, timings=FAST)
    boot_three(cloud)
    api = lab.brokers[API_BROKER]
    builds = [h for h in lab.trace.hops if h.method == "build_and_run_instance"]
    assert len(builds) == 3
    assert not [h for h in builds if same_broker(h.broker, api)]
    # nor any call of a compute: the super-conductor answers none
    on_api = {h.method for h in lab.trace.hops if h.broker and same_broker(h.broker, api)}
    assert on_api == {"schedule_and_build_instances", "select_destinations", ""}  # "": replies
    assert not [h for h in lab.trace.hops if h.receiver == "nova-conductor:controller"
                and h.method == "object_action"]


def test_a_compute_in_a_cell_cannot_reach_the_scheduler(lab):
    """The "upcall": update_instance_info is a fanout on the compute's own broker; no
    scheduler listens there, so the broker routes it to no queue and drops it."""
    cloud = lab.nova(cells=CELLS, timings=FAST)
    vm = cloud.boot("vm1")
    assert vm.wait(20) == "ACTIVE"
    fanout = hop(vm.trace(), "update_instance_info")
    assert fanout.kind == "fanout" and fanout.exchange == "scheduler_fanout"
    assert same_broker(fanout.broker, lab.brokers["cell1"])
    assert (fanout.queue, fanout.receiver) == ("", "")
    cell1 = lab.topology(cell="cell1")
    assert "scheduler_fanout" in cell1.exchanges  # declared by the compute that published
    assert cell1.route("scheduler_fanout") == []  # ...and bound to nothing: the message is lost
    scheduler = cloud.service("nova-scheduler")
    assert "compute1" not in scheduler.manager.instance_info


def test_single_cell_the_scheduler_hears_the_compute(lab):
    """The contrast: one broker for everything, the same fanout reaches the scheduler."""
    cloud = lab.nova(computes=["compute1"], timings=FAST)
    vm = cloud.boot("vm1")
    assert vm.wait(20) == "ACTIVE"
    fanout = hop(vm.trace(), "update_instance_info")
    assert fanout.receiver == "nova-scheduler:controller"
    assert lab.brokers == {} and isinstance(lab.topology(), course.views.Topology)
    scheduler = cloud.service("nova-scheduler")
    assert eventually(lambda: vm.uuid in scheduler.manager.instance_info.get("compute1", {}))


def test_track_instance_changes_off_sends_no_upcall(lab):
    """What Nova's cells guide asks for: ``[filter_scheduler] track_instance_changes=False``."""
    cloud = lab.nova(cells=CELLS, timings=FAST, track_instance_changes=False)
    vm = cloud.boot("vm1")
    assert vm.wait(20) == "ACTIVE"
    assert not [h for h in lab.trace.hops if h.method.endswith("_instance_info")]


def test_cell_mappings_hold_each_cells_broker_masked_when_shown(lab):
    cloud = lab.nova(cells=CELLS, timings=FAST)
    mappings = {c.name: c for c in CellMapping.get_all(make_context(cloud.db, is_admin=True))}
    assert set(mappings) == {"cell0", "cell1", "cell2"}
    assert mappings["cell0"].transport_url == "none:///"
    for name in CELLS:
        # stored as written (the super-conductor connects with it)...
        assert mappings[name].transport_url == lab.brokers[name]
        assert mappings[name].db_name == f"nova_{name}"
    table = cloud.list_cells()
    assert table.splitlines()[0].split() == ["Name", "UUID", "Transport", "URL", "Database",
                                             "Connection", "Disabled"]
    assert [line.split()[0] for line in table.splitlines()[1:]] == ["cell0", "cell1", "cell2"]
    if not lab.embedded:  # ...and shown with the password masked
        for text in (table, repr(mappings["cell1"]), repr(cloud)):
            assert "guest:****@" in text and "guest:guest" not in text


@pytest.mark.rabbitmq
@pytest.mark.parametrize("lab", ["rabbitmq"], indirect=True)  # embedded: no password
def test_passwords_stay_out_of_the_trace_and_the_diagram(lab):
    cloud = lab.nova(cells=CELLS, timings=FAST)
    assert cloud.boot("vm1").wait(20) == "ACTIVE"
    assert {h.broker for h in lab.trace.hops if h.kind != "http"} == {
        str(course.broker.parse_transport_url(url)) for url in lab.brokers.values()}
    assert all("guest:****@" in h.broker for h in lab.trace.hops if h.kind != "http")
    assert not [h for h in lab.trace.hops if "guest:guest" in json.dumps(h.body, default=str)]
    diagram = lab.topology().diagram()
    assert "guest:****@" in diagram.source and "guest:guest" not in diagram.source
    assert "guest:guest" not in diagram.ascii()


def test_the_diagram_draws_one_cluster_per_broker(lab):
    cloud = lab.nova(cells=CELLS, timings=FAST)
    boot_three(cloud)
    topologies = lab.topology()
    assert list(topologies) == [API_BROKER, "cell1", "cell2"]
    diagram = topologies.diagram()
    model = diagram.model
    assert [c.title.split(" — ")[0] for c in model.clusters] == [API_BROKER, "cell1", "cell2"]
    assert [c.title.split(" — ")[1] for c in model.clusters] == [
        topologies[name].broker for name in topologies]
    clusters = [n for n in diagram.source.split("subgraph ")[1:] if n.startswith("cluster_")]
    assert len([c for c in clusters if not c.startswith("cluster_legend")]) == 3
    queues = [{q.name for q in c.queues} for c in model.clusters]
    assert "compute.<host>" not in queues[0] and "compute.compute3" not in queues[0]
    assert {"conductor", "scheduler"} <= queues[0]
    assert {"conductor", "compute.compute3"} <= queues[2]
    # the trace places each consumer on its own broker: compute3 consumes from cell2 only
    consume = [e for e in model.flows if e.role == "consume"
               and e.head == "C:nova-compute:compute3"]
    assert consume and all(e.tail.startswith("2/") for e in consume)
    assert not [e for e in model.flows if e.role == "consume"
                and e.head == "C:nova-conductor:cell2" and not e.tail.startswith("2/")]
    one = lab.topology(cell="cell2").diagram()
    assert len(one.model.clusters) == 1 and "compute.compute3" in one.source


@pytest.mark.rabbitmq
def test_a_cell_vhost_the_lab_cannot_make_is_said_clearly(rabbitmq_node):
    vhost = f"test-{uuid.uuid4().hex[:12]}"
    url = rabbitmq_node.add_vhost(vhost)
    try:
        with course.Lab(url, management_url=rabbitmq_node.management_url) as lab:
            with pytest.raises(CellBrokerMissing) as error:
                lab.nova(cells={"cell1": ["compute1"]}, timings=FAST)
            message = str(error.value)
            assert f"{vhost}-cell1" in message and "add_vhost" in message
            assert "guest:guest" not in message and lab.clouds == []
    finally:
        rabbitmq_node.delete_vhost(vhost)


def test_an_unknown_broker_name_is_refused():
    with course.Lab() as lab:
        with pytest.raises(UnknownBroker, match="choose one of api"):
            lab.topology(cell="cell9")
        lab.nova(cells={"cell1": ["compute1"]}, timings=FAST)
        with pytest.raises(UnknownBroker, match="api, cell1"):
            lab.topology(cell="cell9")


def test_cell0_is_not_a_name_for_a_cell():
    with pytest.raises(course.errors.CourseError, match="cell0"):
        NovaCloud(cells={"cell0": ["compute1"]})


@pytest.mark.parametrize(("url", "expected"), [
    ("embedded://", "embedded:///cell1"),
    ("embedded:///lab", "embedded:///lab-cell1"),
    ("rabbit://nova:s%2Fecret@ctl:5672/", "rabbit://nova:s%2Fecret@ctl:5672/cell1"),
    ("rabbit://a:b@h1:5672,a:b@h2:5672/nova?heartbeat_timeout_threshold=30",
     "rabbit://a:b@h1:5672,a:b@h2:5672/nova-cell1?heartbeat_timeout_threshold=30"),
])
def test_each_cell_gets_a_vhost_of_the_same_broker(url, expected):
    assert cell_url(url, "cell1") == expected


def test_nova_api_reaches_a_cells_compute_on_that_cells_broker(lab):
    """Stop and console log: nova-api targets the instance's cell, so its cast and its
    call go to the compute over the cell's broker (a transport opened for that cell)."""
    cloud = lab.nova(cells={"cell2": ["compute3"]}, timings=FAST)
    vm = cloud.boot("vm1")
    assert vm.wait(20) == "ACTIVE" and vm.cell == "cell2"
    assert vm.console_log().startswith("FAKE CONSOLE OUTPUT")  # the call was answered
    assert vm.stop().wait(20, status="SHUTOFF") == "SHUTOFF"
    for method in ("get_console_output", "stop_instance"):
        sent = next(h for h in lab.trace.hops if h.method == method)
        assert (sent.sender, sent.receiver) == ("nova-api:controller", "nova-compute:compute3")
        assert same_broker(sent.broker, lab.brokers["cell2"])
