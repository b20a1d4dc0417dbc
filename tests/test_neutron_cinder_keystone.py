"""Neutron, Cinder and Keystone on the bus: what they declare, what they send, to whom.

Most cases run on the embedded broker (fast); the ``broker`` cases run on both the
embedded broker and a private RabbitMQ.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

import course
from course import i18n, rpc
from course.openstack import cinder as cinder_mod
from course.openstack import keystone as keystone_mod
from course.openstack import neutron as neutron_mod
from course.openstack.cinder import CinderCloud, extract_host
from course.openstack.keystone import Keystone
from course.openstack.neutron import NeutronCloud, get_topic_name

L2_TOPICS = ["q-agent-notifier-port-update", "q-agent-notifier-port-delete",
             "q-agent-notifier-network-update", "q-agent-notifier-network-delete",
             "q-agent-notifier-tunnel-update"]
OVS = "neutron-openvswitch-agent"
FAST = {"report_interval": 0, "agent_down_time": 0, "send_events_interval": 0,
        "port_wiring": 0, "rpc_response_timeout": 5}


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Every test stops what it starts: no thread of ours survives it."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
        if not left:
            return
        time.sleep(0.02)
    pytest.fail(f"threads left running: {left}")


@pytest.fixture
def url():
    """A fresh vhost of the embedded broker."""
    yield f"embedded:///test-{uuid.uuid4().hex[:12]}"
    course.broker.reset()


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def delivered(trace, request_id=None):
    """The hops of a trace (or of one request), once every message sent was consumed."""
    def view():
        return trace.for_request(request_id).hops if request_id else trace.hops

    wait_until(lambda: all(h.receiver for h in view()))
    return view()


def hop_tuple(hop):
    return (hop.kind, hop.exchange, hop.routing_key, hop.method, hop.sender, hop.receiver)


def notifications(trace):
    return [(h.exchange, h.routing_key, h.body["event_type"], h.body["publisher_id"])
            for h in trace.hops if h.kind == "notify"]


# --------------------------------------------------------------------------- Neutron


def test_topic_names():
    assert get_topic_name("q-agent-notifier", "port", "update") == "q-agent-notifier-port-update"
    assert get_topic_name("q-agent-notifier", "port", "update", "cmp1") == \
        "q-agent-notifier-port-update.cmp1"
    assert neutron_mod.CONTROL_EXCHANGE == "neutron"
    assert neutron_mod.DHCP == "q-dhcp-notifer"  # sic


def test_neutron_declares_a_fanout_queue_per_agent_and_topic(url):
    with NeutronCloud(url, network_nodes=["network1"], compute_hosts=["compute1", "compute2"],
                      timings=FAST) as net:
        topo = net.topology()
    hosts = ["network1", "compute1", "compute2"]
    assert topo.exchanges["neutron"].type == "topic"
    for topic in L2_TOPICS:
        assert topo.exchanges[f"{topic}_fanout"].type == "fanout"
        assert topo.queues[topic].consumers == len(hosts)  # shared, normally empty
        for host in hosts:
            assert topo.queues[f"{topic}.{host}"].consumers == 1
        fanouts = [q for q in topo.queues if q.startswith(f"{topic}_fanout_")]
        assert len(fanouts) == len(hosts)  # one per agent process
        bound = {b.queue for b in topo.bindings if b.exchange == f"{topic}_fanout"}
        assert bound == set(fanouts)
    for queue in ("q-plugin", "q-plugin.controller", "q-reports-plugin", "q-l3-plugin",
                  "dhcp_agent", "dhcp_agent.network1", "l3_agent", "l3_agent.network1"):
        assert topo.queues[queue].consumers == 1, queue
    assert "dhcp_agent.compute1" not in topo.queues
    assert not [q for q in topo.queues if q.startswith("nova") or "external" in q]


def test_port_create_schedules_the_network_to_a_dhcp_agent(url):
    with NeutronCloud(url, compute_hosts=["compute1"], timings=FAST) as net:
        network = net.create_network("private")
        assert not [h for h in net.trace.hops if h.kind != "http" and h.sender.startswith(
            "neutron-server") and h.method.startswith("network_create")]  # nothing yet
        port = net.create_port(network.id, device_id="vm1")
        hops = delivered(net.trace, port.request_id)
        assert [hop_tuple(h) for h in hops] == [
            ("http", "", "", "POST /v2.0/ports", "openstack", "neutron-server:controller"),
            ("cast", "neutron", "dhcp_agent.network1", "network_create_end",
             "neutron-server:controller", "neutron-dhcp-agent:network1"),
            ("cast", "neutron", "dhcp_agent.network1", "port_create_end",
             "neutron-server:controller", "neutron-dhcp-agent:network1"),
        ]
        assert hops[1].queue == "dhcp_agent.network1"
        # told network_create_end, the DHCP agent asks for the network
        dhcp = net.dhcp_agents["network1"]
        assert wait_until(lambda: network.id in dhcp.networks)
        calls = [h for h in net.trace.hops if h.method == "get_network_info"]
        assert [(c.kind, c.exchange, c.routing_key, c.sender) for c in calls] == [
            ("call", "neutron", "q-plugin", "neutron-dhcp-agent:network1")]
        # no port_update at creation: ML2 binds without notifying the agents
        assert not [h for h in net.trace.hops if h.method == "port_update"]


def test_port_update_is_a_fanout_to_every_l2_agent(url):
    with NeutronCloud(url, network_nodes=["network1"], compute_hosts=["compute1", "compute2"],
                      timings=FAST) as net:
        port = net.create_port(device_id="vm1")
        net.update_port(port.id, host="compute1")
        hops = delivered(net.trace, port.requests[-1])
        fanout = [h for h in hops if h.kind == "fanout"]
        assert {(h.exchange, h.routing_key, h.method, h.sender) for h in fanout} == {
            ("q-agent-notifier-port-update_fanout", "", "port_update",
             "neutron-server:controller")}  # fanout_send: no routing key
        assert sorted(h.receiver for h in fanout) == [
            f"{OVS}:compute1", f"{OVS}:compute2", f"{OVS}:network1"]
        assert len({h.queue for h in fanout}) == 3  # one fanout queue each
        assert all(h.queue.startswith("q-agent-notifier-port-update_fanout_") for h in fanout)
        assert len({h.unique_id for h in fanout}) == 1  # one message, three copies
        assert [hop_tuple(h) for h in hops if h.kind == "cast"] == [
            ("cast", "neutron", "dhcp_agent.network1", "port_update_end",
             "neutron-server:controller", "neutron-dhcp-agent:network1")]
        for agent in net.l2_agents.values():
            assert [m for m, _ in agent.received] == ["port_update"]
        assert port.host == "compute1" and port.vif_type == "ovs"
        # nothing plugged yet: no agent acted on it
        assert not [h for h in net.trace.hops if h.method == "get_devices_details_list"]

        net.update_network(port.network_id, name="renamed")
        net.delete_port(port.id)
        # three topics, three queues per agent: no order between them
        assert wait_until(lambda: all(
            sorted(m for m, _ in a.received) == ["network_update", "port_delete", "port_update"]
            for a in net.l2_agents.values()))
        kinds = {(h.kind, h.exchange, h.method) for h in net.trace.hops
                 if h.method in ("network_update", "port_delete")}
        assert kinds == {("fanout", "q-agent-notifier-network-update_fanout", "network_update"),
                         ("fanout", "q-agent-notifier-port-delete_fanout", "port_delete")}


def test_plugged_port_becomes_active_and_nova_hears_over_http(url):
    events = []
    with NeutronCloud(url, compute_hosts=["compute1", "compute2"], timings=FAST) as net:
        net.set_nova_callback(events.extend)
        before = len(net.trace.events)
        port = net.wire_port("compute1", device_id="vm1", caller="nova-compute:compute1")
        assert port.wait(5) == "ACTIVE"
        assert port.history == ["DOWN", "BUILD", "ACTIVE"]
        assert wait_until(lambda: events)
        assert events == [{"name": "network-vif-plugged", "server_uuid": "vm1",
                           "tag": port.id, "status": "completed"}]
        assert wait_until(lambda: port.id in net.l2_agents["compute1"].wired)  # got the reply
        wait_until(lambda: all(h.receiver for h in net.trace.hops))
        hops = course.trace.hops(net.trace.events[before:])
        agent = f"{OVS}:compute1"
        server = "neutron-server:controller"
        wiring = [hop_tuple(h) for h in hops if agent in (h.sender, h.receiver)
                  and h.kind in ("call", "reply")]
        reply_q = wiring[1][2]
        assert reply_q.startswith("reply_")
        assert wiring == [
            ("call", "neutron", "q-plugin", "get_devices_details_list", agent, server),
            ("reply", "", reply_q, "", server, agent),
            ("call", "neutron", "q-plugin", "update_device_list", agent, server),
            ("reply", "", reply_q, "", server, agent),
        ]
        to_nova = [(h.number, hop_tuple(h)) for h in hops if h.receiver == "nova-api"]
        assert [t for _, t in to_nova] == [
            ("http", "", "", "POST /v2.1/os-server-external-events", server, "nova-api")]
        update = next(h.number for h in hops if h.method == "update_device_list")
        assert to_nova[0][0] > update  # once the agent said the port is up
        # Nova's requests to Neutron were HTTP too, named after their caller
        https = [(h.sender, h.method.split()[0], h.receiver) for h in hops if h.kind == "http"]
        assert ("nova-compute:compute1", "POST", server) in https
        assert ("nova-compute:compute1", "PUT", server) in https
        # and none of it is on the broker
        topo = net.topology()
        assert not [e for e in topo.exchanges if "nova" in e]
        assert not [q for q in topo.queues if "nova" in q]
        assert not [e for e in net.trace.events if e.action == "publish"
                    and "external" in (e.method + e.routing_key)]


def test_router_interface_casts_to_its_l3_agent_which_calls_back(url):
    with NeutronCloud(url, network_nodes=["network1", "network2"], compute_hosts=[],
                      timings=FAST) as net:
        router = net.create_router("router1")
        assert not [h for h in net.trace.hops if h.method == "routers_updated"]
        net.add_router_interface(router.id)
        l3 = net.l3_agents[router.host]
        assert wait_until(lambda: router.id in l3.routers)
        hops = delivered(net.trace)
        updated = [hop_tuple(h) for h in hops if h.method == "routers_updated"]
        assert updated == [("cast", "neutron", f"l3_agent.{router.host}", "routers_updated",
                            "neutron-server:controller", f"neutron-l3-agent:{router.host}")]
        sync = [hop_tuple(h) for h in hops if h.method == "sync_routers"]
        assert sync == [("call", "neutron", "q-l3-plugin", "sync_routers",
                         f"neutron-l3-agent:{router.host}", "neutron-server:controller")]
        started = [h.method for h in hops if h.sender.startswith("neutron-l3-agent")]
        assert started.count("get_router_ids") == 2  # each agent's full sync at start


def test_report_state_calls_and_dead_agents():
    url = f"embedded:///test-{uuid.uuid4().hex[:12]}"
    timings = {"report_interval": 0.05, "agent_down_time": 0.6, "send_events_interval": 0,
               "port_wiring": 0, "rpc_response_timeout": 2}
    try:
        with NeutronCloud(url, network_nodes=["network1"],
                          compute_hosts=["compute1", "compute2"], timings=timings) as net:
            agent = net.service(OVS, "compute2")
            assert agent.last_report in ("new", "alive")

            def reports(sender):
                return [h for h in net.trace.hops
                        if h.method == "report_state" and h.sender == sender]

            assert wait_until(lambda: all(len(reports(a.name)) >= 3
                                          for a in net.agent_services))
            hop = reports(agent.name)[0]
            assert (hop.kind, hop.exchange, hop.routing_key, hop.receiver) == (
                "call", "neutron", "q-reports-plugin", "neutron-server:controller")
            state = hop.body["args"]["agent_state"]["agent_state"]
            assert state["binary"] == OVS and state["host"] == "compute2"
            assert state.get("start_flag") is True

            agent.stop()
            assert wait_until(lambda: not {(a.binary, a.host): a.alive
                                           for a in net.agents()}[(OVS, "compute2")], 2)
            alive = {(a.binary, a.host): a.alive for a in net.agents()}
            assert sum(alive.values()) == len(alive) - 1
            assert wait_until(lambda: (OVS, "compute2") in net.server.dead_agents, 2)
            # ML2 cannot bind a port to a host whose agent is dead
            port = net.create_port(host="compute2")
            assert port.vif_type == "binding_failed"

            restarted = len(net.trace.events)
            agent.start()
            assert wait_until(lambda: all(a.alive for a in net.agents()), 2)

            def answers():
                return [h.body.get("result") for h in
                        course.trace.hops(net.trace.events[restarted:])
                        if h.kind == "reply" and h.receiver == agent.name]

            assert wait_until(lambda: len(answers()) >= 2, 2)
            assert answers()[:2] == ["revived", "alive"]  # agents_db.py: AGENT_REVIVED
    finally:
        course.broker.reset()


def test_neutron_notifications_when_enabled(url):
    with NeutronCloud(url, compute_hosts=["compute1"], timings=FAST,
                      notifications=True) as net:
        net.create_port(device_id="vm1")
        events = notifications(net.trace)
        assert ("neutron", "notifications.info", "port.create.start", "network.controller") \
            in events
        assert ("neutron", "notifications.info", "port.create.end", "network.controller") \
            in events
        assert [e[2] for e in events] == ["network.create.start", "network.create.end",
                                          "port.create.start", "port.create.end"]
        queue = net.topology().queues["notifications.info"]
        assert (queue.messages, queue.consumers) == (4, 0)  # the publisher created it


def test_neutron_sends_no_notification_by_default_and_refuses_when_stopped(url):
    with NeutronCloud(url, compute_hosts=["compute1"], timings=FAST) as net:
        port = net.create_port()
        dhcp = net.dhcp_agents["network1"]
        assert wait_until(lambda: port.network_id in dhcp.networks)  # its call answered
        assert not notifications(net.trace)
        assert "notifications.info" not in net.topology().queues
        net.service("neutron-server", "controller").stop()
        with pytest.raises(neutron_mod.NeutronUnavailable, match="neutron-server:controller"):
            net.create_port()
        with pytest.raises(neutron_mod.NotFound):
            net.service("nova-compute", "compute1")


def test_neutron_timings():
    assert neutron_mod.NeutronTimings().report_interval == 30
    assert neutron_mod.NeutronTimings().agent_down_time == 75
    assert neutron_mod.NeutronTimings.coerce("zero").report_interval == 0
    assert neutron_mod.NeutronTimings.coerce({"report_interval": 1}).report_interval == 1
    with pytest.raises(course.errors.CourseError, match="report_intervall"):
        neutron_mod.NeutronTimings.coerce({"report_intervall": 1})


# --------------------------------------------------------------------------- Cinder


def test_extract_host():
    assert extract_host("node1@lvm#pool") == "node1@lvm"
    assert extract_host("node1@lvm#pool", "host") == "node1"
    assert extract_host("node1@lvm#pool", "pool") == "pool"
    assert extract_host("node1@lvm", "pool") is None
    assert extract_host("node1@lvm", "pool", default_pool_name=True) == "_pool0"


def test_cinder_topology_on_exchange_openstack(url):
    with CinderCloud(url, volume_hosts=["node1", "node2"], backends=["lvm"],
                     timings="zero") as cinder:
        topo = cinder.topology()
    assert cinder_mod.CONTROL_EXCHANGE == "openstack"
    assert topo.exchanges["openstack"].type == "topic"
    assert "cinder" not in topo.exchanges
    queues = topo.queues
    assert queues["cinder-volume"].consumers == 2  # both backends, round robin
    for host in ("node1", "node2"):
        # served by both RPC servers of the volume service: as T.H of the first one and
        # as T of the second one
        assert queues[f"cinder-volume.{host}@lvm"].consumers == 2
        assert queues[f"cinder-volume.{host}@lvm.{host}"].consumers == 1
        assert len([q for q in queues if q.startswith(f"cinder-volume.{host}@lvm_fanout_")]) == 1
    assert len([q for q in queues if q.startswith("cinder-volume_fanout_")]) == 2
    assert queues["cinder-scheduler"].consumers == 1
    assert queues["cinder-scheduler.controller"].consumers == 1
    assert len([q for q in queues if q.startswith("cinder-scheduler_fanout_")]) == 1
    assert topo.exchanges["cinder-scheduler_fanout"].type == "fanout"
    assert not [q for q in queues if q.startswith("cinder-api")]  # no RPC server


def test_create_volume_is_two_casts(url):
    with CinderCloud(url, volume_hosts=["node1"], backends=["lvm"], timings="zero") as cinder:
        volume = cinder.create_volume(1, name="data")
        assert volume.wait(5) == "available"
        assert volume.history == ["creating", "available"]
        assert volume.host == "node1@lvm#lvm"
        hops = delivered(cinder.trace, volume.request_id)
        assert [hop_tuple(h) for h in hops] == [
            ("http", "", "", "POST /v3/demo/volumes", "openstack", "cinder-api:controller"),
            ("cast", "openstack", "cinder-scheduler", "create_volume",
             "cinder-api:controller", "cinder-scheduler:controller"),
            ("cast", "openstack", "cinder-volume.node1@lvm.node1", "create_volume",
             "cinder-scheduler:controller", "cinder-volume:node1@lvm"),
        ]
        assert hops[2].queue == "cinder-volume.node1@lvm.node1"
        assert hops[2].body["args"]["volume"]["host"] == "node1@lvm#lvm"
        assert not [h for h in cinder.trace.hops if h.kind in ("call", "reply")]


def test_volume_types_pick_the_backend_and_the_scheduler_can_fail(url):
    with CinderCloud(url, volume_hosts=["node1"], backends=["lvm", "ceph"], capacity_gb=10,
                     timings="zero", notifications=True) as cinder:
        volume = cinder.create_volume(2, volume_type="ceph")
        assert volume.wait(5) == "available" and volume.host == "node1@ceph#ceph"
        keys = [h.routing_key for h in cinder.trace.for_request(volume.request_id).hops
                if h.kind == "cast"]
        assert keys == ["cinder-scheduler", "cinder-volume.node1@ceph.node1"]
        too_big = cinder.create_volume(50)
        assert too_big.wait(5) == "error"
        assert too_big.history == ["creating", "error"]
        def errors():
            return [e for e in notifications(cinder.trace) if e[2] == "scheduler.create_volume"]

        assert wait_until(errors)  # sent just after the status is saved
        assert errors() == [("openstack", "notifications.error", "scheduler.create_volume",
                           "scheduler.controller")]
        with pytest.raises(cinder_mod.NotFound, match="gold"):
            cinder.create_volume(1, volume_type="gold")


def test_a_stopped_volume_service_keeps_its_casts_waiting(url):
    with CinderCloud(url, volume_hosts=["node1"], backends=["lvm"], timings="zero") as cinder:
        service = cinder.service("cinder-volume", "node1@lvm")
        service.stop()
        volume = cinder.create_volume(1)
        queue = "cinder-volume.node1@lvm.node1"
        assert wait_until(lambda: cinder.topology().queues[queue].messages == 1)
        assert volume.status == "creating"
        assert cinder.topology().queues[queue].consumers == 0
        service.start()
        assert volume.wait(5) == "available"


def test_capabilities_fan_out_to_the_scheduler(url):
    timings = {"capabilities_interval": 0.05, "create_volume": 0}
    with CinderCloud(url, volume_hosts=["node1", "node2"], backends=["lvm"],
                     timings=timings) as cinder:
        scheduler = cinder.scheduler
        assert wait_until(lambda: len(scheduler.received_from) >= 8)
        hops = delivered(cinder.trace)
        asked = [h for h in hops if h.method == "publish_service_capabilities"]
        assert {(h.kind, h.exchange, h.routing_key, h.sender) for h in asked} == {
            ("fanout", "cinder-volume_fanout", "", "cinder-scheduler:controller")}
        assert sorted(h.receiver for h in asked) == ["cinder-volume:node1@lvm",
                                                     "cinder-volume:node2@lvm"]
        updates = [h for h in hops if h.method == "update_service_capabilities"]
        assert {(h.kind, h.exchange, h.routing_key, h.receiver) for h in updates} == {
            ("fanout", "cinder-scheduler_fanout", "",
             "cinder-scheduler:controller")}
        assert {h.sender for h in updates} == {"cinder-volume:node1@lvm",
                                               "cinder-volume:node2@lvm"}
        assert len(updates) >= 6  # periodic, not only when asked
        body = updates[0].body
        assert body["version"] == "3.3"
        assert body["args"]["capabilities"]["volume_backend_name"] == "lvm"
        # a call, for once: the scheduler's get_pools
        pools = cinder.api.scheduler_rpcapi.prepare(timeout=5).call({}, "get_pools")
        assert sorted(p["name"] for p in pools) == ["node1@lvm#lvm", "node2@lvm#lvm"]


def test_cinder_notifications(url):
    with CinderCloud(url, volume_hosts=["node1"], backends=["lvm"], timings="zero",
                     notifications=True) as cinder:
        volume = cinder.create_volume(1)
        volume.wait(5)
        assert wait_until(lambda: len(notifications(cinder.trace)) == 2)
        assert notifications(cinder.trace) == [
            ("openstack", "notifications.info", "volume.create.start", "volume.node1@lvm#lvm"),
            ("openstack", "notifications.info", "volume.create.end", "volume.node1@lvm#lvm")]
        payload = [h.body["payload"] for h in cinder.trace.hops if h.kind == "notify"][-1]
        assert payload["status"] == "available" and payload["volume_id"] == volume.id


# --------------------------------------------------------------------------- Keystone


def test_keystone_sends_identity_notifications_and_nothing_else(url):
    with Keystone(url) as keystone:
        project = keystone.create_project("demo")
        user = keystone.create_user("alice", "pw", project["id"])
        keystone.update_project(project["id"], description="x")
        keystone.update_project(project["id"], enabled=False)
        keystone.delete_user(user["id"])
        keystone.delete_project(project["id"])
        events = notifications(keystone.trace)
        assert [e[2] for e in events] == [
            "identity.project.created", "identity.user.created", "identity.project.updated",
            "identity.project.updated", "identity.user.deleted", "identity.project.deleted"]
        assert {(e[0], e[1], e[3]) for e in events} == {
            ("keystone", "notifications.info", "identity.controller")}
        assert keystone.internal_events == [("identity.project.disabled", project["id"])]
        payload = [h.body["payload"] for h in keystone.trace.hops if h.kind == "notify"][0]
        assert payload["typeURI"] == "http://schemas.dmtf.org/cloud/audit/1.0/event"
        assert payload["action"] == "created.project"
        assert payload["outcome"] == "success"
        assert payload["target"] == {"typeURI": "data/security/project", "id": project["id"]}
        assert payload["resource_info"] == project["id"]
        # HTTP in, notifications out: no RPC at all
        assert {h.kind for h in keystone.trace.hops} == {"http", "notify"}
        topo = keystone.topology()
        assert set(topo.exchanges) == {"keystone"}
        assert set(topo.queues) == {"notifications.info"}
        assert topo.queues["notifications.info"].messages == 6


def test_keystone_authentication_and_opt_out(url):
    with Keystone(url, host="ctl1") as keystone:
        assert keystone.authenticate("admin", "secret").ok
        failed = keystone.authenticate("admin", "wrong")
        assert (failed.ok, failed.outcome, failed.token) == (False, "failure", None)
        sent = [h.body for h in keystone.trace.hops if h.kind == "notify"]
        # default opt-out: success and pending are suppressed; failure is sent
        assert [(b["event_type"], b["payload"]["outcome"]) for b in sent] == [
            ("identity.authenticate", "failure")]
        assert sent[0]["publisher_id"] == "identity.ctl1"
        assert sent[0]["payload"]["action"] == "authenticate"
    assert keystone_mod.DEFAULT_OPT_OUT == ("identity.authenticate.success",
                                            "identity.authenticate.pending",
                                            "identity.authenticate.failed")
    with Keystone(url, notification_opt_out=(), notification_format="basic") as keystone:
        keystone.authenticate("admin", "secret")
        project = keystone.create_project("demo")
        sent = [h.body for h in keystone.trace.hops if h.kind == "notify"]
        assert [(b["event_type"], b["payload"].get("outcome")) for b in sent] == [
            ("identity.authenticate", "success"), ("identity.project.created", None)]
        assert sent[1]["payload"] == {"resource_info": project["id"]}
    with Keystone(url, notification_opt_out=["identity.project.created"]) as keystone:
        keystone.create_project("quiet")
        assert not notifications(keystone.trace)


def test_keystone_with_the_noop_driver_touches_no_broker(url):
    with Keystone(url, driver="noop") as keystone:
        keystone.create_project("demo")
        keystone.authenticate("admin", "wrong")
        assert {h.kind for h in keystone.trace.hops} == {"http"}
        topo = keystone.topology()
        assert not topo.queues and not topo.exchanges
        keystone.service("keystone", keystone.host).stop()
        with pytest.raises(keystone_mod.KeystoneUnavailable):
            keystone.create_project("late")
        with pytest.raises(course.errors.CourseError):
            keystone.notify("project", "exploded", "x")


def test_messages_are_translated(url):
    with Keystone(url) as keystone:
        keystone.service("keystone").stop()
        try:
            i18n.set_language("fr")
            with pytest.raises(keystone_mod.KeystoneUnavailable, match="arrêté"):
                keystone.create_project("late")
            with pytest.raises(keystone_mod.NotFound, match="Aucun service"):
                keystone.service("nova-api", "x")
        finally:
            i18n.set_language("en")


# --------------------------------------------------------------------------- both brokers


def test_neutron_on_both_brokers(broker):
    events = []
    with NeutronCloud(broker.url, network_nodes=["network1"], compute_hosts=["compute1"],
                      timings=FAST) as net:
        net.set_nova_callback(events.extend)
        port = net.wire_port("compute1", device_id="vm1")
        assert port.wait(timeout=10) == "ACTIVE"
        assert wait_until(lambda: events, 5)
        hops = delivered(net.trace, port.requests[-1])
        fanout = [h for h in hops if h.kind == "fanout"]
        assert sorted(h.receiver for h in fanout) == [f"{OVS}:compute1", f"{OVS}:network1"]
        topo = broker.topology()
        for topic in L2_TOPICS:
            assert topo.exchanges[f"{topic}_fanout"].type == "fanout"
            assert len([q for q in topo.queues if q.startswith(f"{topic}_fanout_")]) == 2
            queue = next(q for q in topo.queues.values() if q.name.startswith(f"{topic}_fanout_"))
            assert queue.arguments.get("x-expires") == 1_800_000
        assert topo.exchanges["neutron"].type == "topic"
        assert topo.queues["q-reports-plugin"].consumers == 1
        assert not [q for q in topo.queues if "nova" in q]


def test_cinder_on_both_brokers(broker):
    with CinderCloud(broker.url, volume_hosts=["node1"], backends=["lvm"],
                     timings="zero") as cinder:
        volume = cinder.create_volume(1)
        assert volume.wait(10) == "available"
        hops = delivered(cinder.trace, volume.request_id)
        assert [(h.kind, h.exchange, h.routing_key, h.receiver) for h in hops[1:]] == [
            ("cast", "openstack", "cinder-scheduler", "cinder-scheduler:controller"),
            ("cast", "openstack", "cinder-volume.node1@lvm.node1", "cinder-volume:node1@lvm")]
        topo = broker.topology()
        assert topo.exchanges["openstack"].type == "topic"
        assert topo.queues["cinder-volume.node1@lvm.node1"].consumers == 1
        assert topo.queues["cinder-volume.node1@lvm"].consumers == 2


def test_keystone_on_both_brokers(broker):
    with Keystone(broker.url) as keystone:
        keystone.create_project("demo")
        keystone.authenticate("admin", "secret")  # opted out
        keystone.authenticate("admin", "wrong")
        topo = broker.topology()
        assert topo.exchanges["keystone"].type == "topic"
        assert topo.queues["notifications.info"].messages == 2
        assert topo.queues["notifications.info"].consumers == 0
        listener_got = []

        class Endpoint:
            def info(self, ctxt, publisher_id, event_type, payload, metadata):
                listener_got.append((publisher_id, event_type))

        transport = rpc.get_transport(broker.url, "keystone", service="ceilometer:ctl")
        listener = rpc.get_notification_listener(
            transport, [rpc.Target(topic="notifications")], [Endpoint()])
        listener.start()
        try:
            assert wait_until(lambda: len(listener_got) == 2, 10)
        finally:
            listener.stop()
            transport.cleanup()
        assert listener_got == [("identity.controller", "identity.project.created"),
                                ("identity.controller", "identity.authenticate")]
