"""The simulated Nova against upstream Nova master (2026.1 and after), fact by fact.

Each test names the upstream file it pins (``openstack/nova`` master, commit
``00a030403f``; ``oslo.versionedobjects`` ``55608f05``): what is asserted is what the
lab really did, read from the trace (hops, message bodies) and the broker's topology.
"""

# ruff: noqa: F811 -- the fixtures imported from test_nova are the tests' parameters

from __future__ import annotations

from helpers import eventually
from test_nova import clouds, listen, no_leaked_threads, url  # noqa: F401 (fixtures)

from course.trace import hops as hops_of


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


def hop_of(cloud, method, **want):
    """The last hop of ``method`` whose attributes have the values in ``want``."""
    found = [h for h in cloud.trace.hops if h.method == method
             and all(getattr(h, k) == v for k, v in want.items())]
    return found[-1] if found else None


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
