"""A broker that stops and starts again while services run, on both brokers: servers and
clients reconnect with oslo's retry behaviour and declare their queues again; a call in
flight times out; a cast to a durable queue survives the restart, one to a transient queue
does not; a multi-host transport_url fails over to the next node.  The trace counts what
became of every message (``outcomes()``).

RabbitMQ cases stop and start a private node of their own (the session's node serves the
other tests): same folder, same ports, its data kept.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from helpers import eventually, unavailable

from course import broker as course_broker
from course import rabbitmq, rpc, topology
from course.trace import Trace

pytestmark = pytest.mark.usefixtures("stops_its_threads")

#: Fast retries (oslo's minimum interval, no backoff, no extra delay): a restarted broker
#: is found again within a second.
FAST = {"rabbit_retry_interval": 1, "rabbit_retry_backoff": 0, "kombu_reconnect_delay": 0}
#: A RabbitMQ restart takes seconds on a busy machine.
BACK = 60.0


@pytest.fixture(scope="module")
def private_node():
    """A RabbitMQ node these tests may stop; stopped for good and removed afterwards."""
    if rabbitmq.find_server() is None:
        unavailable("RabbitMQ is not installed: apt-get install rabbitmq-server")
    node = rabbitmq.RabbitMQNode.start()
    try:
        yield node
    finally:
        node.stop()


class Outage:
    """One vhost on a broker this test may stop and start again."""

    def __init__(self, kind, url, node=None):
        self.kind, self.url, self.node = kind, url, node

    def stop(self):
        if self.node is None:
            course_broker.stop()
        else:
            self.node.halt()

    def start(self):
        if self.node is None:
            course_broker.start()
        else:
            self.node.launch()

    def topology(self):
        return topology.snapshot(self.url, management_url=self.node.management_url
                                 if self.node else None)

    def queue(self, name):
        return self.topology().queues.get(name)


@pytest.fixture(params=["embedded", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def outage(request):
    vhost = f"outage-{uuid.uuid4().hex[:12]}"
    if request.param == "embedded":
        case = Outage("embedded", course_broker.add_vhost(vhost))
    else:
        node = request.getfixturevalue("private_node")
        case = Outage("rabbitmq", node.add_vhost(vhost), node)
    try:
        yield case
    finally:
        case.start()  # whatever happened, the broker runs for the next test
        if case.node is None:
            course_broker.reset()
        else:
            case.node.delete_vhost(vhost)


class Compute:
    def __init__(self):
        self.handled = []

    def ping(self, ctxt, arg=None):
        self.handled.append(arg)
        return arg


@pytest.fixture
def lab():
    """Transports and servers of one case, closed at the end, sharing one trace."""
    made = {"transports": [], "servers": [], "trace": Trace()}

    class Lab:
        trace = made["trace"]

        def transport(self, url, service, **options):
            transport = rpc.get_transport(url, "nova", service=service, trace=self.trace,
                                          options={**FAST, **options})
            made["transports"].append(transport)
            return transport

        def server(self, transport, endpoint, host="cmp1"):
            server = rpc.get_rpc_server(transport, rpc.Target(topic="compute", server=host),
                                        [endpoint])
            made["servers"].append(server)
            server.start()
            return server

    yield Lab()
    for server in made["servers"]:
        server.stop()
        server.wait()
    for transport in made["transports"]:
        transport.cleanup()


def test_services_reconnect_and_declare_their_queues_again(outage, lab):
    compute = Compute()
    lab.server(lab.transport(outage.url, "nova-compute:cmp1"), compute)
    client = rpc.get_rpc_client(lab.transport(outage.url, "nova-api:ctl"),
                                rpc.Target(topic="compute", server="cmp1"), timeout=10)
    assert client.call({}, "ping", arg="before") == "before"
    outage.stop()
    outage.start()
    # the transient queues are gone with the broker; the server declares them again
    assert eventually(lambda: (outage.queue("compute.cmp1") or 0) and
                      outage.queue("compute.cmp1").consumers == 1, BACK)
    assert client.call({}, "ping", arg="after") == "after"  # a new reply queue too
    assert compute.handled == ["before", "after"]
    assert lab.trace.outcomes()["delivered"] == 4  # two calls, two replies


def test_a_call_in_flight_during_the_outage_times_out(outage, lab):
    server = lab.server(lab.transport(outage.url, "nova-compute:cmp1"), Compute())
    server.stop()  # compute.cmp1 stays, with nobody to read it
    client = rpc.get_rpc_client(lab.transport(outage.url, "nova-api:ctl"),
                                rpc.Target(topic="compute", server="cmp1"), timeout=3)
    failure = []

    def call():
        try:
            client.call({}, "ping", arg="lost")
        except rpc.MessagingTimeout as error:
            failure.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    assert eventually(lambda: [e for e in lab.trace.events if e.action == "publish"])
    outage.stop()
    caller.join(30)
    assert failure and str(failure[0]).startswith("Timed out waiting for a reply")
    outage.start()
    assert lab.trace.outcomes()["undelivered"] == 1


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "transient"])
def test_a_cast_survives_a_restart_in_a_durable_queue_only(outage, lab, durable):
    """oslo publishes persistent messages (delivery mode 2): a durable queue keeps them on
    disk; a transient queue is not kept at all."""
    options = {"amqp_durable_queues": durable}
    compute = Compute()
    server_transport = lab.transport(outage.url, "nova-compute:cmp1", **options)
    lab.server(server_transport, compute).stop()
    client = rpc.get_rpc_client(lab.transport(outage.url, "nova-api:ctl", **options),
                                rpc.Target(topic="compute", server="cmp1"))
    client.cast({}, "ping", arg="kept?")
    assert eventually(lambda: outage.queue("compute.cmp1").messages == 1)
    outage.stop()
    outage.start()
    lab.server(server_transport, compute)
    if durable:
        assert eventually(lambda: compute.handled == ["kept?"], BACK)
        assert lab.trace.outcomes()["delivered"] == 1
    else:
        assert eventually(lambda: (outage.queue("compute.cmp1") or 0) and
                          outage.queue("compute.cmp1").consumers == 1, BACK)
        assert outage.queue("compute.cmp1").messages == 0 and compute.handled == []
        assert lab.trace.outcomes()["undelivered"] == 1


@pytest.mark.rabbitmq
def test_a_multi_host_transport_url_fails_over_to_the_next_node(private_node, rabbitmq_node,
                                                                lab):
    """Two independent nodes in one transport_url: when the first stops, servers and
    clients go on on the second (they declare their queues there)."""
    vhost = f"failover-{uuid.uuid4().hex[:12]}"
    first, second = private_node.add_vhost(vhost), rabbitmq_node.add_vhost(vhost)
    url = first.rstrip(vhost).rstrip("/") + "," + second.split("://", 1)[1]
    try:
        compute = Compute()
        lab.server(lab.transport(url, "nova-compute:cmp1"), compute)
        client = rpc.get_rpc_client(lab.transport(url, "nova-api:ctl"),
                                    rpc.Target(topic="compute", server="cmp1"), timeout=10)
        assert client.call({}, "ping", arg="on the first") == "on the first"
        private_node.halt()

        def on_second():
            queue = topology.snapshot(second, management_url=rabbitmq_node.management_url
                                      ).queues.get("compute.cmp1")
            return queue is not None and queue.consumers == 1

        assert eventually(on_second, BACK)
        assert client.call({}, "ping", arg="on the second") == "on the second"
    finally:
        private_node.launch()
        rabbitmq_node.delete_vhost(vhost)
        private_node.delete_vhost(vhost)


def test_outcomes_count_each_message_once():
    trace = Trace()
    for unique_id, actions in (("a", ["publish", "deliver", "deliver"]),  # a fanout
                               ("b", ["publish"]), ("c", ["publish", "return"]),
                               ("d", ["publish", "fail"]), ("e", ["publish", "deliver", "drop"]),
                               ("n", ["publish", "nack", "nack"]),  # refused, still refused
                               ("m", ["publish", "nack", "deliver"])):  # then accepted
        for action in actions:
            trace.record(action, "cast", "svc", unique_id=unique_id)
    trace.record("deliver", "notify", "svc", unique_id="f", redelivered=False)
    trace.record("publish", "notify", "svc", unique_id="g")
    trace.record("deliver", "notify", "svc", unique_id="g", redelivered=True)
    trace.record("http", "http", "svc", method="GET /", peer="placement")
    assert trace.outcomes() == {"delivered": 4, "redelivered": 1, "undelivered": 1,
                                "returned": 1, "nacked": 1, "failed": 1, "duplicate": 1}
    assert trace.for_request("").outcomes() == trace.outcomes()


def test_computes_go_down_without_the_broker_and_up_again_after_it(outage, clouds):
    """nova-compute's heartbeat (report_state) is a conductor call: with the broker gone it
    fails, and after service_down_time `openstack compute service list` says down; once the
    broker is back the services reconnect and the heartbeats say up again."""
    from course.openstack.nova import Timings

    timings = Timings.zero().replace(report_interval=0.2, service_down_time=2.0,
                                     rpc_response_timeout=1.0)
    cloud = clouds(outage.url, computes=["cmp1"], timings=timings)

    def compute_state():
        return next(row["state"] for row in cloud.service_list()
                    if row["binary"] == "nova-compute")

    assert eventually(lambda: compute_state() == "up")
    outage.stop()
    assert eventually(lambda: compute_state() == "down", 30)
    outage.start()
    assert eventually(lambda: compute_state() == "up", BACK)
