"""The simulated Nova: services, the boot flow hop by hop, states, failures.

Checked against the facts of ``/work/shared/reference/openstack-messaging.md`` section 3
(method names, namespaces, versions, cast or call, routing keys, states).
Most cases run on the embedded broker with ``Timings.zero()``; the flow and the
topology are also checked on RabbitMQ (``broker`` fixture).
"""

from __future__ import annotations

import json
import logging
import re
import threading

import pytest
from helpers import eventually
from nova_helpers import FAST, listen

import course.broker
from course import rpc, topology
from course.openstack.nova import Database, NovaCloud, Timings, make_service, run_service
from course.openstack.nova import objects as nova_objects
from course.openstack.nova.base import NovaObjectSerializer
from course.openstack.nova.context import make_context
from course.openstack.nova.db import PLACEMENT_DB
from course.openstack.nova.exception import InstanceInvalidState
from course.transport_url import parse_transport_url

BOOT_STATES = [("building", "scheduling"), ("building", None), ("building", "networking"),
               ("building", "block_device_mapping"), ("building", "spawning"), ("active", None)]


#: Every test stops its clouds: no service thread may outlive it.
pytestmark = pytest.mark.usefixtures("stops_its_threads")


def rpc_hops(hops):
    return [h for h in hops if h.kind != "http"]


def queue_shape(name):
    """reply_<uuid> -> reply_*, T_fanout_<uuid> -> T_fanout_*."""
    return re.sub(r"_[0-9a-f]{32}$", "_*", name)


# --------------------------------------------------------------------------- the boot


def expected_boot(ctl="controller", cmp="compute1"):
    """Section 3.2: (kind, sender, exchange, routing key, method, receiver, ns, version)."""
    api, cond, sched = f"nova-api:{ctl}", f"nova-conductor:{ctl}", f"nova-scheduler:{ctl}"
    comp = f"nova-compute:{cmp}"

    def call(method):
        return [("call", comp, "nova", "conductor", method, cond, None, "3.0"),
                ("reply", cond, "", "reply_*", "", comp, None, None)]

    return [
        ("cast", api, "nova", "conductor", "schedule_and_build_instances", cond,
         "compute_task", "1.17"),
        ("call", cond, "nova", "scheduler", "select_destinations", sched, None, "4.5"),
        ("reply", sched, "", "reply_*", "", cond, None, None),
        ("cast", cond, "nova", f"compute.{cmp}", "build_and_run_instance", comp, None, "6.0"),
        *call("object_class_action_versions"),  # InstanceActionEvent.event_start
        *call("object_action"),  # (building, None)
        *call("object_action"),  # resource claim: host and node
        *call("object_action"),  # (building, networking)
        *call("object_action"),  # (building, block_device_mapping)
        *call("object_action"),  # (building, spawning)
        *call("object_action"),  # (active, None)
        ("fanout", comp, "scheduler_fanout", "", "update_instance_info", sched, None, "4.2"),
        *call("object_class_action_versions"),  # InstanceActionEvent.event_finish
    ]


def hop_tuple(hop):
    body = hop.body or {}
    return (hop.kind, hop.sender, hop.exchange, queue_shape(hop.routing_key), hop.method,
            hop.receiver, body.get("namespace"), body.get("version"))


def test_boot_follows_novas_hops(broker, clouds):
    cloud = clouds(broker.url)
    vm = cloud.boot("vm1")
    assert vm.wait(20) == "ACTIVE"
    assert vm.host == "compute1"
    hops = vm.hops
    assert [hop_tuple(h) for h in rpc_hops(hops)] == expected_boot()
    # hop 0 is the REST request; Glance, Placement and Neutron are HTTP, never the bus
    http = [(h.sender, h.receiver, h.method.split("?")[0]) for h in hops if h.kind == "http"]
    assert http[:2] == [("openstack", "nova-api:controller", "POST /v2.1/servers"),
                        ("nova-api:controller", "glance", http[1][2])]
    kinds = [h.kind for h in hops]
    select = kinds.index("call")
    assert [h.receiver for h in hops[select + 1:select + 3]] == ["placement", "placement"]
    assert [h.method.split(" ")[0] for h in hops[select + 1:select + 3]] == ["GET", "PUT"]
    assert {h.receiver for h in hops if h.kind == "http"} == {
        "nova-api:controller", "glance", "placement", "neutron"}
    # every hop of the request was delivered, and carries the request id
    assert all(h.receiver for h in hops)
    assert vm.request_id.startswith("req-")
    assert all(h.body.get("_context_request_id") == vm.request_id
               for h in rpc_hops(hops) if h.kind != "reply")


def test_every_message_of_a_boot_has_its_request_id(url, clouds):
    cloud = clouds(url)
    start = len(cloud.trace.events)
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE"
    published = [e for e in cloud.trace.events[start:] if e.action == "publish"]
    assert published and {e.request_id for e in published} == {vm.request_id}
    other = cloud.boot("vm2")
    assert other.request_id != vm.request_id


def test_state_history_of_a_boot(url, clouds):
    cloud = clouds(url)
    vm = cloud.boot("vm1")
    assert vm.status == "BUILD" or vm.status == "ACTIVE"  # 202: returns before the build
    assert vm.wait(5) == "ACTIVE"
    assert vm.history == BOOT_STATES
    assert vm.cell == "cell1"
    assert vm.vm_state == "active" and vm.task_state is None
    ctxt = make_context(cloud.db, is_admin=True)
    mapping = nova_objects.InstanceMapping.get_by_instance_uuid(ctxt, vm.uuid)
    assert mapping.cell_mapping.name == "cell1"
    with pytest.raises(Exception, match="BuildRequest not found"):
        nova_objects.BuildRequest.get_by_instance_uuid(ctxt, vm.uuid)
    [action] = vm.actions
    assert action["action"] == "create" and action["request_id"] == vm.request_id
    [event] = action["events"]
    assert event["event"] == "compute__do_build_and_run_instance"
    assert event["result"] == "Success" and event["host"] == "compute1"


def test_messages_look_like_novas(url, clouds):
    cloud = clouds(url)
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE"
    hops = {h.method: h for h in reversed(vm.hops) if h.method}
    first_save = next(h for h in vm.hops if h.method == "object_action")
    body = first_save.body
    objinst = body["args"]["objinst"]
    assert set(objinst) == {"nova_object.name", "nova_object.namespace", "nova_object.version",
                            "nova_object.data", "nova_object.changes"}
    assert (objinst["nova_object.name"], objinst["nova_object.namespace"]) == ("Instance", "nova")
    assert objinst["nova_object.changes"] == ["task_state", "vm_state"]
    assert body["args"]["objmethod"] == "save" and body["args"]["args"] == []
    assert body["args"]["kwargs"] == {"expected_task_state": ["scheduling", None]}
    assert body["version"] == "3.0" and "namespace" not in body
    assert body["_reply_q"].startswith("reply_") and body["_msg_id"]
    cast = hops["schedule_and_build_instances"].body
    assert "_reply_q" not in cast and cast["namespace"] == "compute_task"
    assert cast["args"]["build_requests"][0]["nova_object.name"] == "BuildRequest"
    select = hops["select_destinations"].body
    assert select["_timeout"] == FAST.rpc_response_timeout  # the call monitor
    assert select["args"]["return_alternates"] is True
    assert select["args"]["spec_obj"]["nova_object.name"] == "RequestSpec"
    build = hops["build_and_run_instance"].body
    assert build["args"]["instance"]["nova_object.data"]["task_state"] == "scheduling"
    assert [s["nova_object.data"]["service_host"] for s in build["args"]["host_list"]] == [
        "compute2"]  # the alternate
    assert build["args"]["filter_properties"]["retry"] == {
        "num_attempts": 1, "hosts": [["compute1", "compute1"]]}


def test_scheduler_spreads_and_returns_alternates(url, clouds):
    cloud = clouds(url, computes=("compute1", "compute2", "compute3"))
    first = cloud.boot("vm1")
    assert first.wait(5) == "ACTIVE"
    reply = next(h for h in first.hops if h.kind == "reply" and h.sender.startswith(
        "nova-scheduler"))
    [selections] = reply.body["result"]
    assert [s["nova_object.data"]["service_host"] for s in selections] == [
        "compute1", "compute2", "compute3"]  # max_attempts 3: the host and two alternates
    second = cloud.boot("vm2")  # one after the other: two schedulers' views would race
    assert second.wait(5) == "ACTIVE"
    third = cloud.boot("vm3", flavor="m1.small")
    assert third.wait(5) == "ACTIVE"
    assert {first.host, second.host, third.host} == {"compute1", "compute2", "compute3"}
    allocations = cloud.db.list(PLACEMENT_DB, "allocations")
    assert sorted(a["consumer"] for a in allocations) == sorted(
        [first.uuid, second.uuid, third.uuid])


def test_queues_exchanges_and_reply_queues(broker, clouds):
    cloud = clouds(broker.url)
    names = lambda topo: sorted(queue_shape(q) for q in topo.queues)  # noqa: E731
    before = broker.topology()
    # only the computes called at start-up (ping, service record): two reply queues;
    # each compute runs two RPC servers, compute and compute-alt (nova/service.py)
    assert names(before) == sorted([
        "compute", "compute.compute1", "compute.compute2", "compute_fanout_*",
        "compute_fanout_*", "compute-alt", "compute-alt.compute1", "compute-alt.compute2",
        "compute-alt_fanout_*", "compute-alt_fanout_*", "conductor", "conductor.controller",
        "conductor_fanout_*", "reply_*", "reply_*", "scheduler", "scheduler.controller",
        "scheduler_fanout_*"])
    vm = cloud.boot("vm1")
    assert vm.wait(20) == "ACTIVE"
    assert vm.console_log(length=1) == "LAST LINE"  # nova-api's first call()
    topo = broker.topology()
    replies = [q for q in topo.queues if q.startswith("reply_")]
    assert len(replies) == 4  # compute1, compute2, conductor (select_destinations), api
    assert {topo.exchanges[e].type for e in ("nova", "conductor_fanout", "scheduler_fanout",
                                             "compute_fanout", "compute-alt_fanout")} == {
        "topic", "fanout"}
    assert topo.exchanges["nova"].type == "topic"
    assert topo.queues["compute"].consumers == 2
    for name in ("compute.compute1", "conductor", "scheduler", "scheduler.controller"):
        assert topo.queues[name].consumers == 1
        assert topo.queues[name].messages == 0
    assert not any(q.startswith("notifications") or q.startswith("versioned")
                   for q in topo.queues)  # notifications are off by default
    fanout = [b for b in topo.bindings if b.exchange == "scheduler_fanout"]
    assert len(fanout) == 1 and fanout[0].queue.startswith("scheduler_fanout_")


# --------------------------------------------------------------------------- notifications


def test_versioned_notifications(url, clouds):
    cloud = clouds(url, notifications=True)
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE"
    assert topology.snapshot(url).queues["versioned_notifications.info"].messages == 4
    collector, listener, transport = listen(url, "versioned_notifications")
    try:
        assert eventually(lambda: len(collector.got) == 4)
    finally:
        listener.stop()
        transport.cleanup()
    assert collector.got == [
        ("nova-scheduler:controller", "scheduler.select_destinations.start", vm.request_id),
        ("nova-scheduler:controller", "scheduler.select_destinations.end", vm.request_id),
        ("nova-compute:compute1", "instance.create.start", vm.request_id),
        ("nova-compute:compute1", "instance.create.end", vm.request_id)]
    notify = [h for h in vm.hops if h.kind == "notify"]
    assert {(h.exchange, h.routing_key) for h in notify} == {
        ("nova", "versioned_notifications.info")}


def test_unversioned_notifications(url, clouds):
    cloud = clouds(url, notifications="unversioned")
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE"
    collector, listener, transport = listen(url, "notifications")
    try:
        assert eventually(lambda: len(collector.got) == 4)
    finally:
        listener.stop()
        transport.cleanup()
    assert [p for p, _e, _r in collector.got] == ["scheduler.controller"] * 2 + [
        "compute.compute1"] * 2
    assert collector.got[2][1] == "compute.instance.create.start"
    assert "versioned_notifications.info" not in topology.snapshot(url).queues


def test_wrong_notification_setting_is_refused():
    with pytest.raises(ValueError):
        NovaCloud(notifications="sometimes")


# --------------------------------------------------------------------------- failures of a build


def test_reschedule_goes_to_the_alternate_without_the_scheduler(url, clouds):
    cloud = clouds(url, notifications=True)
    cloud.compute("compute1").driver.fail(1)
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE"
    assert vm.host == "compute2"
    methods = [(h.kind, h.method, h.routing_key) for h in rpc_hops(vm.hops)
               if h.kind in ("cast", "call") and h.method != "object_action"
               and h.method != "object_class_action_versions"]
    assert methods == [
        ("cast", "schedule_and_build_instances", "conductor"),
        ("call", "select_destinations", "scheduler"),  # once only
        ("cast", "build_and_run_instance", "compute.compute1"),
        ("cast", "build_instances", "conductor"),
        ("cast", "build_and_run_instance", "compute.compute2")]
    reschedule = next(h for h in vm.hops if h.method == "build_instances").body
    assert (reschedule["namespace"], reschedule["version"]) == ("compute_task", "1.19")
    [[alternate]] = reschedule["args"]["host_lists"]
    assert alternate["nova_object.data"]["service_host"] == "compute2"
    assert reschedule["args"]["filter_properties"]["retry"]["exc_reason"]
    history = vm.history
    assert history[:5] == BOOT_STATES[:5]
    assert history[5] == ("building", "scheduling")  # back to the conductor
    assert history[6:] == BOOT_STATES[1:]
    # the conductor claimed the alternate in Placement (HTTP), compute1 gave its claim back
    http = [(h.sender, h.method.split(" ")[0]) for h in vm.hops if h.receiver == "placement"]
    assert ("nova-compute:compute1", "DELETE") in http
    assert ("nova-conductor:controller", "PUT") in http
    [allocation] = cloud.db.list(PLACEMENT_DB, "allocations")
    assert allocation["consumer"] == vm.uuid
    collector, listener, transport = listen(url, "versioned_notifications")
    try:
        assert eventually(lambda: len(collector.got) == 6)
    finally:
        listener.stop()
        transport.cleanup()
    assert sorted(collector.got) == sorted([
        ("nova-scheduler:controller", "scheduler.select_destinations.start", vm.request_id),
        ("nova-scheduler:controller", "scheduler.select_destinations.end", vm.request_id),
        ("nova-compute:compute1", "instance.create.start", vm.request_id),
        ("nova-compute:compute1", "instance.create.error", vm.request_id),  # .error queue
        ("nova-compute:compute2", "instance.create.start", vm.request_id),
        ("nova-compute:compute2", "instance.create.end", vm.request_id)])


def test_reschedules_run_out(url, clouds):
    cloud = clouds(url)
    for host in ("compute1", "compute2"):
        cloud.compute(host).driver.fail(-1)
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ERROR"
    assert vm.cell == "cell1"  # it had a cell: not buried in cell0
    assert vm.history[-1] == ("error", None)
    assert [h.method for h in vm.hops].count("select_destinations") == 1
    assert [h.method for h in vm.hops].count("build_instances") == 2
    assert cloud.db.list(PLACEMENT_DB, "allocations") == []


def test_no_valid_host_buries_the_instance_in_cell0(url, clouds):
    cloud = clouds(url)
    vm = cloud.boot("big", flavor="m1.xlarge")  # 16 GB on 8 GB hypervisors
    assert vm.wait(5) == "ERROR"
    assert vm.cell == "cell0"
    assert vm.history == [("building", "scheduling"), ("error", None)]
    methods = [h.method for h in vm.hops]
    assert "build_and_run_instance" not in methods
    reply = next(h for h in vm.hops if h.kind == "reply")
    failure = json.loads(reply.body["failure"])
    assert failure["class"] == "NoValidHost"
    assert failure["module"] == "course.openstack.nova.exception"
    assert vm.actions[0]["action"] == "create"
    # deleting an instance of cell0 is done by the API alone: nothing on the bus
    before = len(rpc_hops(cloud.trace.hops))
    vm.delete()
    assert vm.status == "DELETED"
    assert len(rpc_hops(cloud.trace.hops)) == before


def test_unknown_flavor_and_image(url, clouds):
    cloud = clouds(url)
    with pytest.raises(Exception, match="Flavor m9.huge could not be found"):
        cloud.boot("vm", flavor="m9.huge")
    with pytest.raises(Exception, match="Image windows could not be found"):
        cloud.boot("vm", image="windows")


# --------------------------------------------------------------------------- server actions


def test_stop_start_delete(url, clouds):
    cloud = clouds(url)
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE"
    with pytest.raises(InstanceInvalidState):
        vm.start()
    assert vm.stop().wait(5, status="SHUTOFF") == "SHUTOFF"
    assert vm.start().wait(5, status="ACTIVE") == "ACTIVE"
    assert eventually(lambda: vm.task_state is None)
    assert vm.delete().wait(5, status="DELETED") == "DELETED"
    assert vm.history == BOOT_STATES + [
        ("active", "powering-off"), ("stopped", None), ("stopped", "powering-on"),
        ("active", None), ("active", "deleting"), ("deleted", None)]
    casts = [(h.method, h.routing_key, h.body["version"], h.body["_context_request_id"])
             for h in cloud.trace.hops if h.kind == "cast" and h.sender.startswith("nova-api")]
    assert casts[1:] == [("stop_instance", "compute.compute1", "6.0", vm.request_ids[1]),
                         ("start_instance", "compute.compute1", "6.0", vm.request_ids[2]),
                         ("terminate_instance", "compute.compute1", "6.0", vm.request_ids[3])]
    fanouts = [h.method for h in cloud.trace.hops if h.kind == "fanout"]
    assert fanouts == ["update_instance_info", "delete_instance_info"]
    assert cloud.db.list(PLACEMENT_DB, "allocations") == []
    assert [a["action"] for a in vm.actions] == ["create", "stop", "start", "delete"]
    assert vm.uuid in [s.uuid for s in cloud.servers]


def test_console_log_is_a_call_to_the_compute(url, clouds):
    cloud = clouds(url)
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE"
    assert vm.console_log() == "FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE"
    call = [h for h in cloud.trace.hops if h.method == "get_console_output"][-1]
    assert (call.kind, call.sender, call.routing_key) == (
        "call", "nova-api:controller", "compute.compute1")


# --------------------------------------------------------------------------- services


def test_service_list_heartbeats_and_down(url, clouds):
    timings = FAST.replace(report_interval=0.05, service_down_time=0.6)
    cloud = clouds(url, timings=timings)
    rows = cloud.service_list()
    assert [(r["binary"], r["host"], r["zone"], r["state"]) for r in rows] == [
        ("nova-conductor", "controller", "internal", "up"),
        ("nova-scheduler", "controller", "internal", "up"),
        ("nova-compute", "compute1", "nova", "up"),
        ("nova-compute", "compute2", "nova", "up")]
    assert eventually(lambda: all(r["report_count"] >= 2 for r in cloud.service_list()))
    # a compute's heartbeat is a conductor call (Service.save); the others write the DB
    beats = [h for h in cloud.trace.hops if h.method == "object_action"
             and h.body["args"]["objinst"]["nova_object.name"] == "Service"
             and h.body["args"]["objmethod"] == "save"]
    assert beats and {h.sender for h in beats} == {"nova-compute:compute1",
                                                   "nova-compute:compute2"}
    assert all(h.body["args"]["objinst"]["nova_object.changes"] == ["report_count"]
               for h in beats)
    compute1 = cloud.service("nova-compute", "compute1")
    compute1.stop()
    state = lambda: {r["host"]: r["state"] for r in cloud.service_list()}  # noqa: E731
    assert eventually(lambda: state()["compute1"] == "down", timeout=3)
    assert state()["compute2"] == "up"
    compute1.start()
    assert eventually(lambda: state()["compute1"] == "up", timeout=3)


def test_stopped_compute_keeps_its_casts_waiting(broker, clouds):
    cloud = clouds(broker.url, computes=("compute1",))
    cloud.service("nova-compute", "compute1").stop()
    vm = cloud.boot("vm1")

    def waiting():
        queue = broker.topology().queues["compute.compute1"]
        return queue.messages == 1 and queue.consumers == 0

    assert eventually(waiting, timeout=10)
    assert vm.status == "BUILD" and vm.history == BOOT_STATES[:1]
    cloud.service("nova-compute", "compute1").start()
    assert vm.wait(20, status="ACTIVE") == "ACTIVE"
    # nova/compute/manager.py init_host, _error_out_instances_whose_build_was_interrupted:
    # before it consumes, the compute finds the VM holding resources on its node in
    # Placement, still BUILDING and not on its host, and puts it in ERROR; then the cast
    # that waited is consumed and the build goes on from there.
    assert vm.history == BOOT_STATES[:1] + [("error", None)] + BOOT_STATES[1:]


def test_stopped_conductor_times_out_compute_calls(url, clouds, caplog):
    timings = FAST.replace(report_interval=0.05, rpc_response_timeout=0.3)
    cloud = clouds(url, timings=timings, computes=("compute1",))
    compute = cloud.compute("compute1")
    conductor = cloud.service("nova-conductor")
    caplog.set_level(logging.INFO, logger="course.openstack.nova")
    conductor.stop()
    with pytest.raises(rpc.MessagingTimeout):
        compute.conductor_api.ping(compute.context(), "1.21 GigaWatts")
    assert eventually(lambda: "Lost connection to nova-conductor for reporting service status."
                    in caplog.text, timeout=3)
    vm = cloud.boot("vm1")  # the API's cast waits in the conductor queue
    assert eventually(lambda: topology.snapshot(url).queues["conductor"].messages >= 1)
    assert vm.status == "BUILD"
    conductor.start()
    assert vm.wait(5) == "ACTIVE"
    assert eventually(lambda: "Recovered from being unable to report status." in caplog.text)


def test_conductor_lost_during_a_build(url, clouds, caplog):
    timings = FAST.replace(build_time=0.3, rpc_response_timeout=0.3)
    cloud = clouds(url, timings=timings, computes=("compute1",))
    vm = cloud.boot("vm1")
    assert eventually(lambda: ("building", "spawning") in vm.history)
    cloud.service("nova-conductor").stop()
    assert vm.wait(1.5) == "BUILD"
    assert any(isinstance(r.exc_info and r.exc_info[1], rpc.MessagingTimeout)
               for r in caplog.records)
    cloud.service("nova-conductor").start()  # the compute's calls have expired meanwhile
    assert vm.wait(0.5) == "BUILD"
    assert vm.history[-1] == ("building", "spawning")


def test_compute_start_waits_for_a_conductor(url, clouds):
    cloud = clouds(url, computes=("compute1",), timings=FAST.replace(ping_timeout=0.1))
    compute, conductor = cloud.compute("compute1"), cloud.service("nova-conductor")
    compute.stop()
    conductor.stop()
    start = len(cloud.trace.events)
    starter = threading.Thread(target=compute.start)
    starter.start()
    assert eventually(lambda: len([e for e in cloud.trace.events[start:]
                                 if e.method == "ping" and e.action == "publish"]) >= 2)
    assert not compute.running
    conductor.start()
    starter.join(5)
    assert compute.running
    pings = [h for h in cloud.trace.hops if h.method == "ping"]
    assert {(h.kind, h.routing_key, h.body["namespace"], h.body["version"],
             h.body["args"]["arg"]) for h in pings} == {
        ("call", "conductor", "baseapi", "1.0", "1.21 GigaWatts")}
    answered = {h.msg_id for h in cloud.trace.hops if h.kind == "reply"}
    assert [p.msg_id in answered for p in pings][-1]


def test_broker_restart_loses_what_waited_in_queues(url, clouds):
    cloud = clouds(url, computes=("compute1",), timings=FAST.replace(ping_timeout=0.2))
    compute = cloud.compute("compute1")
    compute.stop()
    vm = cloud.boot("vm1")
    assert eventually(lambda: topology.snapshot(url).queues["compute.compute1"].messages == 1)
    # a RabbitMQ restart: nothing is durable, the cast is gone (the vhost is defined again)
    course.broker.reset([parse_transport_url(url).vhost])
    compute.start()  # reconnects, declares compute.compute1 again: empty
    # nova/compute/manager.py init_host: a VM holding resources on this node but never
    # claimed here would stay BUILD for ever; the compute puts it in ERROR at start-up.
    assert vm.wait(5.0) == "ERROR"
    assert vm.history == BOOT_STATES[:1] + [("error", None)]
    assert topology.snapshot(url).queues["compute.compute1"].messages == 0


def test_broker_gone_during_a_build(url, clouds, caplog):
    timings = FAST.replace(build_time=0.2, rpc_response_timeout=0.5)
    cloud = clouds(url, timings=timings, computes=("compute1",))
    driver = cloud.compute("compute1").driver
    spawn = driver.spawn

    def spawn_then_lose_the_broker(instance):
        spawn(instance)
        course.broker.reset([parse_transport_url(url).vhost])  # every connection closed

    driver.spawn = spawn_then_lose_the_broker
    vm = cloud.boot("vm1")
    assert vm.wait(2.0) == "BUILD"  # the (active, None) save never reached the conductor
    assert ("active", None) not in vm.history
    failures = [r.exc_info[1] for r in caplog.records if r.exc_info]
    # the first save could not even be published; the next one was published on a new
    # connection, to a broker where the conductor had not declared its queue again yet
    assert any(isinstance(error, rpc.MessageDeliveryFailure) for error in failures)
    assert any(isinstance(error, rpc.MessagingTimeout) for error in failures)


# --------------------------------------------------------------------------- one service each


def test_each_service_runs_alone_on_a_shared_database(tmp_path, url):
    path = str(tmp_path / "nova.sqlite")
    made = [make_service(binary, host, url, None if binary == "nova-compute" else path, FAST)
            for binary, host in (("nova-conductor", "ctl"), ("nova-scheduler", "ctl"),
                                 ("nova-compute", "cmp1"), ("nova-api", "ctl"))]
    conductor, scheduler, compute, api = made
    try:
        for service in made:
            service.start()
        assert compute.db is None  # it reaches the database through the conductor only
        assert scheduler.discover_hosts_in_cells() == ["cmp1"]
        answer = api.create_server("vm1")
        assert answer["status_code"] == 202
        assert eventually(lambda: api.show_server(answer["id"])["status"] == "ACTIVE")
        assert api.show_server(answer["id"])["OS-EXT-SRV-ATTR:host"] == "cmp1"
        # Placement was not reachable from that compute: its requests are traced only
        assert Database(path).list(PLACEMENT_DB, "allocations")
    finally:
        for service in reversed(made):
            service.cleanup()


def test_run_service_until_stopped(url):
    stop = threading.Event()
    runner = threading.Thread(target=run_service, args=("nova-conductor", "ctl", url),
                              kwargs={"timings": FAST, "stop": stop})
    runner.start()
    assert eventually(lambda: "conductor.ctl" in topology.snapshot(url).queues)
    stop.set()
    runner.join(5)
    assert not runner.is_alive()
    assert topology.snapshot(url).queues["conductor.ctl"].consumers == 0
    with pytest.raises(ValueError, match="nova-network"):
        make_service("nova-network", "ctl", url)


# --------------------------------------------------------------------------- small parts


def test_database_is_shared_and_thread_safe(tmp_path):
    memory = Database()
    other = Database(memory.path)  # a second connection to the same in-memory store
    memory.put("nova_api", "things", "a", {"n": 0})
    assert other.get("nova_api", "things", "a") == {"n": 0}

    def bump(db):
        for _ in range(50):
            db.update("nova_api", "things", "a", lambda r: {"n": r["n"] + 1})

    workers = [threading.Thread(target=bump, args=(db,)) for db in (memory, other) * 2]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert memory.get("nova_api", "things", "a") == {"n": 200}
    other.close()
    memory.close()
    path = str(tmp_path / "file.sqlite")
    Database(path).put("nova_cell1", "instances", "x", {"uuid": "x"})
    assert Database(path).list("nova_cell1", "instances") == [{"uuid": "x"}]


def test_serializer_round_trip():
    serializer = NovaObjectSerializer()
    ctxt = serializer.deserialize_context({"request_id": "req-1"})
    instance = nova_objects.Instance(ctxt, uuid="u1", vm_state="building", task_state=None)
    instance.obj_reset_changes()
    instance.task_state = "networking"
    build_request = nova_objects.BuildRequest(ctxt, instance_uuid="u1", instance=instance)
    primitive = serializer.serialize_entity(ctxt, [build_request])
    json.dumps(primitive)
    assert primitive[0]["nova_object.data"]["instance"]["nova_object.changes"] == ["task_state"]
    [back] = serializer.deserialize_entity(ctxt, primitive)
    assert isinstance(back.instance, nova_objects.Instance)
    assert back.instance.task_state == "networking"
    assert back.instance.obj_what_changed() == {"task_state"}


def test_timings():
    zero = Timings.zero()
    assert zero.build_time == 0 and zero.report_interval == 0
    nova = Timings.nova()
    assert (nova.report_interval, nova.service_down_time, nova.rpc_response_timeout,
            nova.long_rpc_timeout) == (10, 60, 60, 1800)
    lesson = Timings()
    assert lesson.service_down_time / lesson.report_interval >= 3
