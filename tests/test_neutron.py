"""Neutron on the bus: what neutron-server and its agents declare, send, and to whom.

Most cases run on the embedded broker (fast); the ``broker`` cases run on both the
embedded broker and a private RabbitMQ.
"""

from __future__ import annotations

import time

import pytest
from helpers import (
    delivered,
    eventually,
    hop_route,
    notifications,
    receivers,
)

import course
from course import rpc
from course.openstack import neutron as neutron_mod
from course.openstack.cloud import APIUnavailable, Cloud, NotFound
from course.openstack.neutron import NeutronCloud, get_topic_name

L2_TOPICS = ["q-agent-notifier-port-update", "q-agent-notifier-port-delete",
             "q-agent-notifier-network-update", "q-agent-notifier-network-delete",
             "q-agent-notifier-tunnel-update"]
OVS = "neutron-openvswitch-agent"
AGENT_TYPE_OVS = "Open vSwitch agent"
FAST = {"report_interval": 0, "agent_down_time": 0, "send_events_interval": 0,
        "port_wiring": 0, "rpc_response_timeout": 5}


#: Every test stops what it starts.
pytestmark = pytest.mark.usefixtures("stops_its_threads")


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


def test_the_server_consumes_the_server_resource_versions_fanout(url):
    # neutron/plugins/ml2/plugin.py:start_rpc_listeners: create_consumer(
    #   topics.SERVER_RESOURCE_VERSIONS, [resources_rpc.ResourcesPushToServerRpcCallback()])
    # neutron/db/agents_db.py:_update_local_agent_resource_versions ->
    #   neutron/api/rpc/handlers/resources_rpc.py:ResourcesPushToServersRpcApi (fanout cast)
    # ovs_neutron_agent.py: agent_state['resource_versions'], popped once reported
    with NeutronCloud(url, network_nodes=["network1"], compute_hosts=["compute1"],
                      timings=FAST) as net:
        topo = net.topology()
        topic = "q-server-resource-versions"
        assert topo.exchanges[f"{topic}_fanout"].type == "fanout"
        assert topo.queues[topic].consumers == 1
        assert topo.queues[f"{topic}.controller"].consumers == 1
        fanouts = [q for q in topo.queues if q.startswith(f"{topic}_fanout_")]
        assert len(fanouts) == 1 and topo.queues[fanouts[0]].consumers == 1
        assert {b.queue for b in topo.bindings if b.exchange == f"{topic}_fanout"} == set(fanouts)

        agent = net.l2_agents["compute1"]
        assert agent.report_state() == "alive"  # a second report: no versions any more
        reports = [h.body["args"]["agent_state"]["agent_state"] for h in net.trace.hops
                   if h.method == "report_state"]
        ovs = [r for r in reports if r["binary"] == OVS]
        assert sorted((r["host"], "resource_versions" in r) for r in ovs) == [
            ("compute1", False), ("compute1", True), ("network1", True)]
        assert ovs[-1]["host"] == "compute1" and "resource_versions" not in ovs[-1]
        assert ovs[0]["resource_versions"]["Port"] == "1.11"  # neutron/objects/ports.py
        assert not [r for r in reports if r["binary"] != OVS and "resource_versions" in r]

        pushed = [h for h in delivered(net.trace)
                  if h.method == "report_agent_resource_versions"]
        server = "neutron-server:controller"
        assert {(h.kind, h.exchange, h.routing_key, h.sender, h.receiver) for h in pushed} == {
            ("fanout", f"{topic}_fanout", "", server, server)}  # no routing key
        assert sorted(h.body["args"]["agent_host"] for h in pushed) == ["compute1", "network1"]
        assert all(h.queue == fanouts[0] for h in pushed)
        assert eventually(lambda: sorted(net.server.resource_versions) == [
            (AGENT_TYPE_OVS, "compute1"), (AGENT_TYPE_OVS, "network1")])

        # a second server learns an agent's versions from the fanout alone, whichever
        # of the two took the report from q-reports-plugin
        other = neutron_mod.NeutronServer("controller2", url, net.trace, net.timings).start()
        try:
            agent.stop()
            agent.start()
            assert eventually(lambda: (AGENT_TYPE_OVS, "compute1") in other.resource_versions)
            assert (AGENT_TYPE_OVS, "network1") not in other.resource_versions
        finally:
            other.cleanup()


def test_port_create_schedules_the_network_to_a_dhcp_agent(url):
    with NeutronCloud(url, compute_hosts=["compute1"], timings=FAST) as net:
        network = net.create_network("private")
        assert not [h for h in net.trace.hops if h.kind != "http" and h.sender.startswith(
            "neutron-server") and h.method.startswith("network_create")]  # nothing yet
        port = net.create_port(network.id, device_id="vm1")
        hops = delivered(net.trace, port.request_id)
        assert [hop_route(h) for h in hops] == [
            ("http", "", "", "POST /v2.0/ports", "openstack", "neutron-server:controller"),
            ("cast", "neutron", "dhcp_agent.network1", "network_create_end",
             "neutron-server:controller", "neutron-dhcp-agent:network1"),
            ("cast", "neutron", "dhcp_agent.network1", "port_create_end",
             "neutron-server:controller", "neutron-dhcp-agent:network1"),
        ]
        assert hops[1].queue == "dhcp_agent.network1"
        # told network_create_end, the DHCP agent asks for the network
        dhcp = net.dhcp_agents["network1"]
        assert eventually(lambda: network.id in dhcp.networks)
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
        assert eventually(lambda: receivers(net.trace, "port_update", port.requests[-1]) == [
            f"{OVS}:compute1", f"{OVS}:compute2", f"{OVS}:network1"])
        hops = delivered(net.trace, port.requests[-1])
        fanout = [h for h in hops if h.kind == "fanout"]
        assert {(h.exchange, h.routing_key, h.method, h.sender) for h in fanout} == {
            ("q-agent-notifier-port-update_fanout", "", "port_update",
             "neutron-server:controller")}  # fanout_send: no routing key
        assert len({h.queue for h in fanout}) == 3  # one fanout queue each
        assert all(h.queue.startswith("q-agent-notifier-port-update_fanout_") for h in fanout)
        assert len({h.unique_id for h in fanout}) == 1  # one message, three copies
        assert [hop_route(h) for h in hops if h.kind == "cast"] == [
            ("cast", "neutron", "dhcp_agent.network1", "port_update_end",
             "neutron-server:controller", "neutron-dhcp-agent:network1")]
        # a delivery is traced before the agent's endpoint runs: wait for the endpoint
        assert eventually(lambda: all([m for m, _ in agent.received] == ["port_update"]
                                      for agent in net.l2_agents.values()))
        assert port.host == "compute1" and port.vif_type == "ovs"
        # nothing plugged yet: no agent acted on it
        assert not [h for h in net.trace.hops if h.method == "get_devices_details_list"]

        net.update_network(port.network_id, name="renamed")
        net.delete_port(port.id)
        # three topics, three queues per agent: no order between them
        assert eventually(lambda: all(
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
        assert eventually(lambda: events)
        assert events == [{"name": "network-vif-plugged", "server_uuid": "vm1",
                           "tag": port.id, "status": "completed"}]
        assert eventually(lambda: port.id in net.l2_agents["compute1"].wired)  # got the reply
        eventually(lambda: all(h.receiver for h in net.trace.hops))
        hops = course.trace.hops(net.trace.events[before:])
        agent = f"{OVS}:compute1"
        server = "neutron-server:controller"
        wiring = [(*hop_route(h), h.body.get("version")) for h in hops
                  if agent in (h.sender, h.receiver) and h.kind in ("call", "reply")]
        reply_q = wiring[1][2]
        assert reply_q.startswith("reply_")
        # neutron/agent/rpc.py:PluginApi: both calls at 1.9
        assert wiring == [
            ("call", "neutron", "q-plugin", "get_devices_details_list", agent, server, "1.9"),
            ("reply", "", reply_q, "", server, agent, None),
            ("call", "neutron", "q-plugin", "update_device_list", agent, server, "1.9"),
            ("reply", "", reply_q, "", server, agent, None),
        ]
        to_nova = [(h.number, hop_route(h)) for h in hops if h.receiver == "nova-api"]
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


def probe(url, topic, method, version, server=None, **args):
    """Call ``method`` at ``version``, as a client of that version would."""
    transport = rpc.get_transport(url, "neutron", service="probe:test")
    try:
        client = rpc.get_rpc_client(transport, rpc.Target(topic=topic, server=server,
                                                          version=version))
        return client.prepare(timeout=5).call({}, method, **args)
    finally:
        transport.cleanup()


def test_each_endpoint_answers_up_to_its_upstream_version(url):
    # neutron/plugins/ml2/rpc.py:RpcCallbacks: Target(version='1.9')
    # neutron/api/rpc/handlers/dhcp_rpc.py:DhcpRpcCallback: Target(version='1.10')
    # neutron/plugins/ml2/drivers/openvswitch/agent/ovs_neutron_agent.py:OVSNeutronAgent:
    #   Target(version='1.7')
    with NeutronCloud(url, compute_hosts=["compute1"], timings=FAST) as net:
        network = net.create_network()
        devices = dict(devices_up=[], devices_down=[], agent_id="probe", host="compute1")
        assert probe(url, "q-plugin", "update_device_list", "1.9", **devices) == {
            "devices_up": [], "failed_devices_up": [], "devices_down": [],
            "failed_devices_down": []}
        with pytest.raises(rpc.RemoteError):
            probe(url, "q-plugin", "update_device_list", "1.10", **devices)
        info = probe(url, "q-plugin", "get_network_info", "1.10", network_id=network.id,
                     host="network1")
        assert info["id"] == network.id
        with pytest.raises(rpc.RemoteError, match="UnsupportedVersion"):
            probe(url, "q-plugin", "get_network_info", "1.11", network_id=network.id)

        topic = "q-agent-notifier-port-update"
        port = {"id": "probe-port"}
        assert probe(url, topic, "port_update", "1.7", server="compute1", port=port) is None
        assert ("port_update", {"port": port}) in net.l2_agents["compute1"].received
        with pytest.raises(rpc.RemoteError, match="UnsupportedVersion"):
            probe(url, topic, "port_update", "1.8", server="compute1", port=port)


def test_router_interface_casts_to_its_l3_agent_which_calls_back(url):
    with NeutronCloud(url, network_nodes=["network1", "network2"], compute_hosts=[],
                      timings=FAST) as net:
        router = net.create_router("router1")
        assert not [h for h in net.trace.hops if h.method == "routers_updated"]
        net.add_router_interface(router.id)
        l3 = net.l3_agents[router.host]
        assert eventually(lambda: router.id in l3.routers)
        hops = delivered(net.trace)
        updated = [hop_route(h) for h in hops if h.method == "routers_updated"]
        assert updated == [("cast", "neutron", f"l3_agent.{router.host}", "routers_updated",
                            "neutron-server:controller", f"neutron-l3-agent:{router.host}")]
        sync = [hop_route(h) for h in hops if h.method == "sync_routers"]
        assert sync == [("call", "neutron", "q-l3-plugin", "sync_routers",
                         f"neutron-l3-agent:{router.host}", "neutron-server:controller")]
        started = [h.method for h in hops if h.sender.startswith("neutron-l3-agent")]
        assert started.count("get_router_ids") == 2  # each agent's full sync at start


def test_router_deleted_is_a_fanout_to_every_l3_agent(url):
    # neutron/api/rpc/agentnotifiers/l3_rpc_agent_api.py:L3AgentNotifyAPI.router_deleted:
    #   _notification_fanout -> self.client.prepare(fanout=True).cast(...)
    # neutron/db/l3_db.py:delete_router: _ensure_router_not_in_use (RouterInUse)
    with NeutronCloud(url, network_nodes=["network1", "network2"], compute_hosts=[],
                      timings=FAST) as net:
        router = net.create_router("router1")
        net.add_router_interface(router.id)
        hosting = net.l3_agents[router.host]
        assert eventually(lambda: router.id in hosting.routers)
        with pytest.raises(neutron_mod.RouterInUse, match=router.interfaces[0]):
            net.delete_router(router.id)
        port_id = router.interfaces[0]
        net.remove_router_interface(router.id)
        assert eventually(lambda: hosting.routers[router.id]["_interfaces"] == [])
        net.delete_router(router.id)

        assert eventually(lambda: all(("router_deleted", {"router_id": router.id}) in a.received
                                      for a in net.l3_agents.values()))
        assert router.id not in hosting.routers
        hops = delivered(net.trace)
        deleted = [h for h in hops if h.method == "router_deleted"]
        assert {(h.kind, h.exchange, h.routing_key, h.sender) for h in deleted} == {
            ("fanout", "l3_agent_fanout", "", "neutron-server:controller")}
        assert sorted(h.receiver for h in deleted) == ["neutron-l3-agent:network1",
                                                       "neutron-l3-agent:network2"]
        # removing the interface deleted its port (port_delete fanout to the L2 agents)
        # and told the router's agent again
        removed = [h for h in hops if h.method == "port_delete"]
        assert {h.body["args"]["port_id"] for h in removed} == {port_id}
        assert [h.routing_key for h in hops if h.method == "routers_updated"] == [
            f"l3_agent.{router.host}"] * 2
        with pytest.raises(neutron_mod.NotFound):
            net.delete_router(router.id)
        with pytest.raises(neutron_mod.NotFound):
            net.remove_router_interface(net.create_router("router2").id)


def test_report_state_calls_and_dead_agents(url):
    # a report waits report_interval for its answer: margins for a busy machine
    timings = {"report_interval": 0.2, "agent_down_time": 1.5, "send_events_interval": 0,
               "port_wiring": 0, "rpc_response_timeout": 2}
    with NeutronCloud(url, network_nodes=["network1"], compute_hosts=["compute1", "compute2"],
                      timings=timings) as net:
        agent = net.service(OVS, "compute2")
        assert eventually(lambda: agent.last_report in ("new", "alive"))

        def reports(sender):
            return [h for h in net.trace.hops
                    if h.method == "report_state" and h.sender == sender]

        assert eventually(lambda: all(len(reports(a.name)) >= 3 for a in net.agent_services))
        hop = reports(agent.name)[0]
        assert (hop.kind, hop.exchange, hop.routing_key, hop.receiver) == (
            "call", "neutron", "q-reports-plugin", "neutron-server:controller")
        state = hop.body["args"]["agent_state"]["agent_state"]
        assert state["binary"] == OVS and state["host"] == "compute2"
        assert state.get("start_flag") is True

        def alive():
            return {(a.binary, a.host): a.alive for a in net.agents()}

        agent.stop()
        assert eventually(lambda: not alive()[(OVS, "compute2")], 5)
        assert sum(alive().values()) == len(alive()) - 1
        assert eventually(lambda: (OVS, "compute2") in net.server.dead_agents, 5)
        # ML2 cannot bind a port to a host whose agent is dead
        port = net.create_port(host="compute2")
        assert port.vif_type == "binding_failed"

        restarted = len(net.trace.events)
        agent.start()
        assert eventually(lambda: all(alive().values()), 5)

        def answers():
            return [h.body.get("result") for h in
                    course.trace.hops(net.trace.events[restarted:])
                    if h.kind == "reply" and h.receiver == agent.name]

        assert eventually(lambda: len(answers()) >= 2, 5)
        assert answers()[:2] == ["revived", "alive"]  # agents_db.py: AGENT_REVIVED


def test_report_state_at_1_4_with_a_uuid_and_a_timeout_of_report_interval(url):
    # neutron/agent/rpc.py:PluginReportStateAPI: Target(version='1.4'),
    # prepare(timeout=cfg.CONF.AGENT.report_interval), agent_state['uuid'] = generate_uuid();
    # neutron/db/agents_db.py:AgentExtRpcCallback answers at Target(version='1.4')
    timings = dict(FAST, report_interval=0.5, rpc_response_timeout=30)
    with NeutronCloud(url, compute_hosts=[], timings=timings) as net:
        def reports():
            return [h for h in net.trace.hops if h.method == "report_state"]

        assert eventually(lambda: len(reports()) >= 2 * len(net.agent_services))
        assert {h.body["version"] for h in reports()} == {"1.4"}
        uuids = [h.body["args"]["agent_state"]["agent_state"]["uuid"] for h in reports()]
        assert len(set(uuids)) == len(uuids)  # one per report

        # a report the server does not answer fails after report_interval, not after
        # rpc_response_timeout (30 s here)
        net.service("neutron-server").stop()
        agent = net.service(OVS)
        started = time.monotonic()
        assert agent.report_state() is None
        assert 0.4 < time.monotonic() - started < 10


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
        assert eventually(lambda: port.network_id in dhcp.networks)  # its call answered
        assert not notifications(net.trace)
        assert "notifications.info" not in net.topology().queues
        net.service("neutron-server", "controller").stop()
        with pytest.raises(neutron_mod.NeutronUnavailable, match="neutron-server:controller"):
            net.create_port()
        with pytest.raises(neutron_mod.NotFound):
            net.service("nova-compute", "compute1")


def test_neutron_is_a_cloud_like_the_others(url):
    """The base's life cycle, lookups and errors (course/openstack/cloud.py)."""
    net = NeutronCloud(url, compute_hosts=["compute1"], timings=FAST)
    assert isinstance(net, Cloud)
    with net:
        assert net.service("neutron-server").name == "neutron-server:controller"
        assert net.service(OVS).host == "network1"  # no host: the first of that binary
        with pytest.raises(NotFound, match="nova-compute"):
            net.service("nova-compute")
        net.service("neutron-server").stop()
        with pytest.raises(APIUnavailable, match="neutron-server:controller"):
            net.create_network("late")
    with pytest.raises(course.errors.CourseError, match="stopped"):
        net.start()
    assert neutron_mod.NotFound is NotFound
    assert issubclass(neutron_mod.NeutronUnavailable, APIUnavailable)


def test_neutron_timings():
    assert neutron_mod.NeutronTimings().report_interval == 30
    assert neutron_mod.NeutronTimings().agent_down_time == 75
    assert neutron_mod.NeutronTimings.coerce("zero").report_interval == 0
    assert neutron_mod.NeutronTimings.coerce({"report_interval": 1}).report_interval == 1
    with pytest.raises(course.errors.CourseError, match="report_intervall"):
        neutron_mod.NeutronTimings.coerce({"report_intervall": 1})


# --------------------------------------------------------------------------- both brokers


def test_neutron_on_both_brokers(broker):
    events = []
    with NeutronCloud(broker.url, network_nodes=["network1"], compute_hosts=["compute1"],
                      timings=FAST) as net:
        net.set_nova_callback(events.extend)
        port = net.wire_port("compute1", device_id="vm1")
        assert port.wait(timeout=10) == "ACTIVE"
        assert eventually(lambda: events, 5)
        assert eventually(lambda: receivers(net.trace, "port_update", port.requests[-1]) == [
            f"{OVS}:compute1", f"{OVS}:network1"])
        topo = broker.topology()
        for topic in L2_TOPICS:
            assert topo.exchanges[f"{topic}_fanout"].type == "fanout"
            assert len([q for q in topo.queues if q.startswith(f"{topic}_fanout_")]) == 2
            queue = next(q for q in topo.queues.values() if q.name.startswith(f"{topic}_fanout_"))
            assert queue.arguments.get("x-expires") == 1_800_000
        assert topo.exchanges["neutron"].type == "topic"
        assert topo.queues["q-reports-plugin"].consumers == 1
        assert not [q for q in topo.queues if "nova" in q]


