"""The simulated Nova against upstream Nova master (2026.1 and after), fact by fact.

Each test names the upstream file it pins (``openstack/nova`` master, commit
``00a030403f``; ``oslo.versionedobjects`` ``55608f05``): what is asserted is what the
lab really did, read from the trace (hops, message bodies) and the broker's topology.
"""

from __future__ import annotations

import logging
import threading
import uuid

import pytest
from helpers import eventually
from nova_helpers import listen

from course import topology
from course.openstack.nova.context import CELL1, make_context, target_cell
from course.openstack.nova.objects import Service as ServiceRecord
from course.openstack.nova.rpcapi import ComputeAPI
from course.trace import hops as hops_of

#: Every test stops its clouds: no service thread may outlive it.
pytestmark = pytest.mark.usefixtures("stops_its_threads")


def step(hop):
    """A hop as (kind, what): the object and method of a conductor call, the HTTP request."""
    if hop.kind == "http":
        return "http", hop.method.split("?")[0]
    args = hop.body.get("args", {})
    if hop.method == "object_action":
        return hop.kind, f"{args['objinst']['nova_object.name']}.{args['objmethod']}"
    if hop.method == "object_class_action_versions":
        return hop.kind, f"{args['objname']}.{args['objmethod']}"
    return hop.kind, hop.method


def sent_by(cloud, service, since=0):
    """The requests (no replies) ``service`` sent since event number ``since``."""
    return [h for h in hops_of(cloud.trace.events[since:])
            if h.sender == service and h.kind != "reply"]


def node_of(cloud, host):
    return next(iter(cloud.compute(host).driver.get_nodenames_by_uuid()))


def queue(url, name):
    return topology.snapshot(url).queues.get(name)


def external_event(cloud, vm, name="network-changed"):
    return cloud.api.server_external_events(
        [{"name": name, "server_uuid": vm.uuid, "tag": str(uuid.uuid4())}])


def casts(cloud, method="external_instance_event"):
    return [h for h in cloud.trace.hops if h.method == method]


def hop_of(cloud, method, **want):
    """The last hop of ``method`` whose attributes have the values in ``want``."""
    found = [h for h in cloud.trace.hops if h.method == method
             and all(getattr(h, k) == v for k, v in want.items())]
    return found[-1] if found else None


# --------------------------------------------------------------------- 1. compute-alt


def test_each_compute_runs_a_second_rpc_server_on_compute_alt(broker, clouds):
    # nova/cmd/compute.py: Service.create(topic=RPC_TOPIC, topic_alt=RPC_TOPIC_ALT);
    # nova/service.py Service.start: a 2nd rpc server on Target(topic_alt, server=host)
    clouds(broker.url)
    topo = broker.topology()
    assert topo.queues["compute-alt"].consumers == 2  # both computes, round-robin
    for host in ("compute1", "compute2"):
        assert topo.queues[f"compute-alt.{host}"].consumers == 1
        assert ("nova", f"compute-alt.{host}", f"compute-alt.{host}") in {
            (b.exchange, b.queue, b.routing_key) for b in topo.bindings}
    assert topo.exchanges["compute-alt_fanout"].type == "fanout"
    fanout = [b.queue for b in topo.bindings if b.exchange == "compute-alt_fanout"]
    assert len(fanout) == 2 and all(q.startswith("compute-alt_fanout_") for q in fanout)


def test_external_events_are_cast_to_compute_alt(url, clouds):
    # nova/api/openstack/compute/server_external_events.py create; nova/compute/api.py
    # external_instance_event; nova/compute/rpcapi.py external_instance_event uses
    # prepare_for_alt_rpcserver; nova/compute/manager.py external_instance_event
    cloud = clouds(url, computes=("compute1",))
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE"
    answer = cloud.api.server_external_events([
        {"name": "network-changed", "server_uuid": vm.uuid, "tag": "port-1"},
        {"name": "network-vif-plugged", "server_uuid": str(uuid.uuid4())}])
    assert answer["status_code"] == 207
    assert [(e["status"], e["code"]) for e in answer["events"]] == [
        ("completed", 200), ("failed", 404)]
    cast = eventually(lambda: hop_of(cloud, "external_instance_event",
                                     receiver="nova-compute:compute1"))
    assert (cast.kind, cast.sender, cast.exchange, cast.routing_key, cast.queue) == (
        "cast", "nova-api:controller", "nova", "compute-alt.compute1", "compute-alt.compute1")
    assert cast.body["version"] == "6.0"
    [event] = cast.body["args"]["events"]
    assert (event["nova_object.name"], event["nova_object.version"]) == (
        "InstanceExternalEvent", "1.5")
    assert event["nova_object.data"]["name"] == "network-changed"
    # Neutron's request, then the compute refreshing the network info: HTTP both
    request = [step(h) for h in cloud.trace.for_request(cast.request_id).hops]
    assert request[0] == ("http", "POST /v2.1/os-server-external-events")
    assert eventually(lambda: ("http", "GET /v2.0/ports") in [
        step(h) for h in cloud.trace.for_request(cast.request_id).hops])


def test_external_events_fall_back_to_compute_for_an_older_compute(url, clouds):
    # nova/compute/rpcapi.py prepare_for_alt_rpcserver: compute.<host> unless the client may
    # send 6.5; the cap is [upgrade_levels] compute, or (auto) the oldest compute's service
    # version (_determine_version_cap, nova/objects/service.py SERVICE_VERSION_HISTORY)
    cloud = clouds(url, computes=("compute1",))
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE"
    api = cloud.api

    def route(upgrade_level):
        """Where nova-api casts an event with that ``[upgrade_levels] compute``."""
        api.compute_rpcapi = ComputeAPI(api, upgrade_level=upgrade_level)
        before = len(casts(cloud))
        assert external_event(cloud, vm)["status_code"] == 200
        [cast] = eventually(lambda: [h for h in casts(cloud)[before:] if h.receiver])
        assert cast.receiver == "nova-compute:compute1"
        return cast.routing_key

    assert route(None) == "compute-alt.compute1"
    assert route("flamingo") == "compute.compute1"  # pinned to 6.4
    assert route("auto") == "compute-alt.compute1"  # every compute at 73
    ctxt = target_cell(make_context(cloud.db, is_admin=True), CELL1)
    record = ServiceRecord.get_by_host_and_binary(ctxt, "compute1", "nova-compute")
    record.version = 70  # a Flamingo nova-compute: no compute-alt server
    record.save()
    assert route("auto") == "compute.compute1"


def test_graceful_stop_finishes_the_build_through_compute_alt(url, clouds):
    # nova/service.py Service.stop: stop the 'compute' rpc server, let the manager finish
    # what is in progress (the 'compute-alt' rpc server still serves), then stop that one
    cloud = clouds(url, computes=("compute1",))
    compute = cloud.compute("compute1")
    gate, spawn = threading.Event(), compute.driver.spawn

    def held_spawn(instance):
        gate.wait(10)
        spawn(instance)

    compute.driver.spawn = held_spawn
    vm = cloud.boot("vm1")
    assert eventually(lambda: ("building", "spawning") in vm.history)
    stopper = threading.Thread(target=compute.stop)
    stopper.start()
    try:
        assert eventually(lambda: queue(url, "compute.compute1").consumers == 0
                          and queue(url, "compute-alt.compute1").consumers == 1)
        assert external_event(cloud, vm)["status_code"] == 200
        assert eventually(lambda: hop_of(cloud, "external_instance_event",
                                         receiver="nova-compute:compute1"))
    finally:
        gate.set()
        stopper.join(10)
    assert not stopper.is_alive()
    assert vm.wait(5) == "ACTIVE"
    assert eventually(lambda: queue(url, "compute-alt.compute1").consumers == 0)


# --------------------------------------------------------------------- 2. start-up order


def test_a_restarted_compute_starts_in_the_order_of_service_start(url, clouds):
    # nova/service.py: Service.__init__ (wait_until_ready), Service.create
    # (utils.raise_if_old_compute), Service.start (get_by_host_and_binary, manager.init_host,
    # _update_service_ref or _create_service_ref, manager.pre_start_hook, then the rpc
    # servers); nova/compute/manager.py init_host (_get_nodes, InstanceList.get_by_host,
    # _error_out_instances_whose_build_was_interrupted, _update_scheduler_instance_info)
    # and pre_start_hook (update_available_resource)
    cloud = clouds(url, computes=("compute1",))
    vm1 = cloud.boot("vm1")
    assert vm1.wait(5) == "ACTIVE"
    compute = cloud.compute("compute1")
    compute.stop()
    vm2 = cloud.boot("vm2")  # its build waits in compute.compute1
    assert eventually(lambda: queue(url, "compute.compute1").messages == 1)
    ctxt = target_cell(make_context(cloud.db, is_admin=True), CELL1)
    record = ServiceRecord.get_by_host_and_binary(ctxt, "compute1", "nova-compute")
    record.version = 72  # written by the previous release: the new one saves 73
    record.save()
    since = len(cloud.trace.events)
    compute.start()
    assert vm2.wait(5, status="ACTIVE") == "ACTIVE"
    node = node_of(cloud, "compute1")
    sent = sent_by(cloud, "nova-compute:compute1", since)
    assert [step(h) for h in sent[:13]] == [
        ("call", "ping"),
        ("call", "Service.get_minimum_version"),
        ("call", "Service.get_by_host_and_binary"),
        ("call", "ComputeNodeList.get_all_by_uuids"),
        ("call", "InstanceList.get_by_host"),
        ("http", f"GET /resource_providers/{node}/allocations"),
        ("call", "InstanceList.get_by_filters"),  # vm2 holds resources here, unclaimed:
        ("call", "Instance.save"),  # ERROR
        ("fanout", "update_instance_info"),
        ("call", "Service.save"),
        ("call", "ComputeNode.get_by_host_and_nodename"),
        ("http", f"PUT /resource_providers/{node}/inventories"),
        ("call", "InstanceActionEvent.event_start"),  # consuming at last: vm2's build
    ]
    assert [i["nova_object.data"]["uuid"] for i in sent[8].body["args"]["instance_info"][
        "nova_object.data"]["objects"]] == [vm1.uuid]
    assert sent[8].receiver == "nova-scheduler:controller"
    saved = sent[9].body["args"]["objinst"]
    assert saved["nova_object.changes"] == ["version"]
    assert saved["nova_object.data"]["version"] == 73  # nova/objects/service.py
    # the build that waited was delivered only after pre_start_hook
    events = cloud.trace.events[since:]
    inventory = next(e for e in events if e.action == "http" and "inventories" in e.method)
    delivered = next(e for e in events if e.action == "deliver"
                     and e.method == "build_and_run_instance")
    assert delivered.seq > inventory.seq


def test_a_new_compute_creates_its_records_before_it_consumes(url, clouds):
    # nova/service.py Service.start and _create_service_ref; nova/compute/manager.py
    # init_host (no instance: no fanout), pre_start_hook; nova/compute/resource_tracker.py
    cloud = clouds(url, computes=("compute3",))  # a first start: no records yet
    sent = sent_by(cloud, "nova-compute:compute3", 0)
    assert [step(h) for h in sent] == [
        ("call", "ping"),
        ("call", "Service.get_minimum_version"),
        ("call", "Service.get_by_host_and_binary"),
        ("call", "ComputeNodeList.get_all_by_uuids"),
        ("call", "InstanceList.get_by_host"),
        ("call", "Service.create"),
        ("call", "ComputeNode.get_by_host_and_nodename"),
        ("call", "ComputeNode.create"),
        ("http", f"PUT /resource_providers/{node_of(cloud, 'compute3')}/inventories")]
    assert sent[5].body["args"]["objinst"]["nova_object.data"]["version"] == 73
    assert queue(url, "compute-alt.compute3").consumers == 1


# --------------------------------------------------------------------- 3. build_instances


def rescheduled(url, clouds):
    """A cloud whose compute1 failed one spawn: the VM ended ACTIVE on compute2."""
    cloud = clouds(url)
    cloud.compute("compute1").driver.fail(1)
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE" and vm.host == "compute2"
    return cloud, vm


def test_a_reschedule_carries_no_block_devices(url, clouds):
    # nova/conductor/rpcapi.py ComputeTaskAPI.build_instances: version 1.19, no
    # block_device_mapping nor legacy_bdm; nova/conductor/manager.py build_instances
    # reads BlockDeviceMappingList.get_by_instance_uuid from the cell database
    cloud, vm = rescheduled(url, clouds)
    reschedule = hop_of(cloud, "build_instances")
    assert (reschedule.body["namespace"], reschedule.body["version"]) == ("compute_task",
                                                                         "1.19")
    assert not {"block_device_mapping", "legacy_bdm"} & set(reschedule.body["args"])
    again = hop_of(cloud, "build_and_run_instance", routing_key="compute.compute2")
    bdms = again.body["args"]["block_device_mapping"]
    assert bdms["nova_object.name"] == "BlockDeviceMappingList"
    [bdm] = bdms["nova_object.data"]["objects"]
    assert bdm["nova_object.data"]["instance_uuid"] == vm.uuid


# --------------------------------------------------------------------- 4. compute_task


def test_a_buried_instance_is_notified_by_compute_task(url, clouds):
    # nova/conductor/manager.py _bury_in_cell0 -> _set_vm_state_and_notify;
    # nova/scheduler/utils.py set_vm_state_and_notify: rpc.get_notifier('compute_task'),
    # nova/rpc.py get_notifier: publisher_id '<service>.<host>';
    # nova/compute/utils.py notify_about_compute_task_error: source nova-conductor
    cloud = clouds(url, notifications="both")
    vm = cloud.boot("big", flavor="m1.xlarge")
    assert vm.wait(5) == "ERROR"
    legacy, listener, transport = listen(url, "notifications")
    versioned, vlistener, vtransport = listen(url, "versioned_notifications")
    try:
        assert eventually(lambda: ("compute_task.controller", "compute_task.build_instances",
                                   vm.request_id) in legacy.got)
        assert eventually(lambda: ("nova-conductor:controller",
                                   "compute_task.build_instances.error",
                                   vm.request_id) in versioned.got)
    finally:
        for running, used in ((listener, transport), (vlistener, vtransport)):
            running.stop()
            used.cleanup()
    payload = legacy.payloads["compute_task.build_instances"]
    assert set(payload) == {"request_spec", "instance_properties", "instance_id", "state",
                            "method", "reason"}
    assert (payload["instance_id"], payload["state"], payload["method"]) == (
        vm.uuid, "error", "build_instances")
    assert "No valid host was found" in payload["reason"]
    error = versioned.payloads["compute_task.build_instances.error"]
    assert (error["nova_object.name"], error["nova_object.version"]) == (
        "ComputeTaskPayload", "1.0")
    routes = {(h.sender, h.routing_key) for h in vm.hops if h.kind == "notify"
              and h.sender.startswith("nova-conductor")}
    assert routes == {("nova-conductor:controller", "notifications.error"),
                      ("nova-conductor:controller", "versioned_notifications.error")}


# --------------------------------------------------------------------- 5. versions


def test_versions_of_objects_payloads_and_manifests(url, clouds):
    # nova/notifications/objects/instance.py (InstanceCreatePayload 1.13,
    # InstanceActionPayload 1.9), request_spec.py (RequestSpecPayload 1.1);
    # nova/objects/request_spec.py (RequestSpec 1.15), block_device.py (1.21);
    # oslo_versionedobjects/base.py remotable + obj_tree_get_versions
    cloud = clouds(url, notifications=True, computes=("compute1",))
    vm = cloud.boot("vm1")
    assert vm.wait(5) == "ACTIVE"
    assert vm.stop().wait(5, status="SHUTOFF") == "SHUTOFF"
    collector, listener, transport = listen(url, "versioned_notifications")
    try:
        assert eventually(lambda: "instance.power_off.end" in collector.payloads)
    finally:
        listener.stop()
        transport.cleanup()
    versions = {event: (p["nova_object.name"], p["nova_object.version"])
                for event, p in collector.payloads.items()}
    assert versions["scheduler.select_destinations.start"] == ("RequestSpecPayload", "1.1")
    assert versions["instance.create.end"] == ("InstanceCreatePayload", "1.13")
    assert versions["instance.power_off.start"] == ("InstanceActionPayload", "1.9")
    select = hop_of(cloud, "select_destinations")
    assert select.body["args"]["spec_obj"]["nova_object.version"] == "1.15"
    build = hop_of(cloud, "schedule_and_build_instances")
    assert build.body["args"]["block_device_mapping"][0]["nova_object.version"] == "1.21"
    # object_class_action_versions names every object the answer may hold
    manifests = {step(h)[1]: h.body["args"]["object_versions"]
                 for h in sent_by(cloud, "nova-compute:compute1")
                 if h.method == "object_class_action_versions"}
    assert manifests["InstanceActionEvent.event_start"] == {"InstanceActionEvent": "1.4"}
    assert manifests["Service.get_by_host_and_binary"] == {
        "Service": "1.22", "ComputeNode": "1.19", "HVSpec": "1.2", "PciDevicePoolList": "1.1",
        "PciDevicePool": "1.1"}
    instances = manifests["InstanceList.get_by_host"]
    assert len(instances) == 35
    assert {k: instances[k] for k in ("InstanceList", "Instance", "Flavor", "ServiceList",
                                      "MigrationContext", "InstanceNUMACell", "KeyPair")} == {
        "InstanceList": "2.6", "Instance": "2.8", "Flavor": "1.2", "ServiceList": "1.19",
        "MigrationContext": "1.2", "InstanceNUMACell": "1.6", "KeyPair": "1.4"}


# --------------------------------------------------------------------- 6. NoValidHost


def test_no_valid_host_is_an_expected_exception_of_the_scheduler(url, clouds, caplog):
    # nova/scheduler/manager.py: @messaging.expected_exceptions(exception.NoValidHost) on
    # select_destinations; oslo_messaging/rpc/server.py: no error log, no traceback
    caplog.set_level(logging.DEBUG)
    cloud = clouds(url)
    vm = cloud.boot("big", flavor="m1.xlarge")
    assert vm.wait(5) == "ERROR"
    reply = next(h for h in vm.hops if h.kind == "reply"
                 and h.sender == "nova-scheduler:controller")
    assert '"class": "NoValidHost"' in reply.body["failure"]
    assert not [r for r in caplog.records if r.getMessage().startswith(
        "nova-scheduler:controller: exception during message handling")]
    assert not [r for r in caplog.records
                if r.exc_info and type(r.exc_info[1]).__name__ == "NoValidHost"]
    # oslo_messaging/rpc/server.py: LOG.debug('Expected exception during message handling')
    assert [r.levelname for r in caplog.records if r.getMessage().startswith(
        "Expected exception during message handling (")] == ["DEBUG"]


# --------------------------------------------------------------------- 7. a failed spawn


def test_a_failed_spawn_reads_its_allocations_then_aborts_its_claim(url, clouds):
    # nova/compute/manager.py _build_and_run_instance: get_allocations_for_consumer, then
    # rt.instance_claim around the spawn; nova/compute/claims.py Claim.__exit__ -> abort;
    # nova/compute/resource_tracker.py abort_instance_claim, _unset_instance_host_and_node
    cloud, vm = rescheduled(url, clouds)
    steps = [(step(h), h) for h in sent_by(cloud, "nova-compute:compute1")
             if h.request_id == vm.request_id]
    names = [s for s, _h in steps]
    read = names.index(("http", f"GET /allocations/{vm.uuid}"))
    assert names[read + 1] == ("call", "Instance.save")
    assert steps[read + 1][1].body["args"]["objinst"]["nova_object.changes"] == [
        "host", "launched_on", "node"]  # the claim
    saves = [h.body["args"]["objinst"] for s, h in steps if s == ("call", "Instance.save")]
    spawning = next(n for n, b in enumerate(saves)
                    if b["nova_object.data"]["task_state"] == "spawning")
    abort = saves[spawning + 1]
    assert abort["nova_object.changes"] == ["host", "node"]
    assert (abort["nova_object.data"]["host"], abort["nova_object.data"]["node"]) == (
        None, None)
    assert saves[spawning + 2]["nova_object.data"]["task_state"] == "scheduling"
    assert ("http", f"GET /allocations/{vm.uuid}") in [
        step(h) for h in sent_by(cloud, "nova-compute:compute2")]
