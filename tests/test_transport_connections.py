"""How a course.rpc transport opens its connections, as oslo.messaging does: AMQP heartbeats
(``heartbeat_timeout_threshold``, checked ``heartbeat_rate`` times within it) and the order
in which the hosts of a multi-host transport_url are tried (``kombu_failover_strategy``).
"""

from __future__ import annotations

import random
import re
import threading
import uuid

import pytest
from helpers import eventually

from course import rabbitmq, rpc
from course.errors import BrokerUnreachable

pytestmark = pytest.mark.usefixtures("stops_its_threads")


class Compute:
    def ping(self, ctxt, arg=None):
        return arg


@pytest.fixture
def vhost_url(rabbitmq_node):
    vhost = f"beats-{uuid.uuid4().hex[:12]}"
    url = rabbitmq_node.add_vhost(vhost)
    try:
        yield vhost, url
    finally:
        rabbitmq_node.delete_vhost(vhost)


def heartbeat_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.endswith(" heartbeat")]


@pytest.mark.rabbitmq
@pytest.mark.parametrize("options, timeout", [({}, 60), ({"heartbeat_timeout_threshold": 10}, 10)])
def test_connections_negotiate_oslos_heartbeat(rabbitmq_node, vhost_url, options, timeout):
    """Both the listening connection (a server's) and the sending one (a cast's) ask for
    ``heartbeat_timeout_threshold`` seconds; the management API shows what RabbitMQ
    agreed to; the sending connection has its heartbeat thread, stopped by cleanup()."""
    vhost, url = vhost_url
    transport = rpc.get_transport(url, "nova", service="nova-compute:cmp1", options=options)
    server = rpc.get_rpc_server(transport, rpc.Target(topic="compute", server="cmp1"),
                                [Compute()])
    server.start()
    try:
        rpc.get_rpc_client(transport, rpc.Target(topic="compute")).cast({}, "ping")
        assert heartbeat_threads() == ["nova-compute:cmp1 heartbeat"]

        def timeouts():
            return [c["timeout"] for c in rabbitmq_node.api("GET", "/api/connections")
                    if c["vhost"] == vhost]

        assert eventually(lambda: len(timeouts()) == 2, 10)
        assert timeouts() == [timeout, timeout]
    finally:
        server.stop()
        server.wait()
        transport.cleanup()
    assert eventually(lambda: heartbeat_threads() == [])


@pytest.mark.parametrize("options, timeout", [({}, 60), ({"heartbeat_timeout_threshold": 2}, 2),
                                              ({"heartbeat_timeout_threshold": 0}, 0)])
def test_heartbeats_on_the_embedded_broker(url, options, timeout):
    """The embedded broker negotiates oslo's heartbeat as RabbitMQ does (and closes a
    connection that misses them: test_conformance_heartbeats): the sending connection has
    its heartbeat thread, none with 0, and cleanup() stops it."""
    transport = rpc.get_transport(url, service="client", options=options)
    try:
        conn = transport.connect()
        assert conn.supports_heartbeats and conn.connection.heartbeat == timeout
        transport.publish(None, "nowhere", {"_unique_id": "u1"}, "cast", envelope=False)
        assert heartbeat_threads() == (["client heartbeat"] if timeout else [])
    finally:
        conn.close()
        transport.cleanup()
    assert eventually(lambda: heartbeat_threads() == [])


def closed_ports(count: int) -> list[int]:
    return [rabbitmq.free_port() for _ in range(count)]


def multi_host(ports: list[int]) -> str:
    return "rabbit://" + ",".join(f"u:p@127.0.0.1:{port}" for port in ports) + "/"


def tried(transport: rpc.Transport) -> list[int]:
    """The ports a connection of ``transport`` tried, in order (nothing listens on any):
    the reasons the error gives, one per attempt."""
    with pytest.raises(BrokerUnreachable) as failure:
        transport.connect(timeout=3)
    return [int(port) for port in re.findall(r"127\.0\.0\.1:(\d+): ", str(failure.value))]


def test_round_robin_tries_the_hosts_in_the_urls_order():
    ports = closed_ports(4)
    assert tried(rpc.get_transport(multi_host(ports))) == ports
    assert tried(rpc.get_transport(multi_host(ports), options={
        "kombu_failover_strategy": "round-robin"})) == ports


def test_shuffle_shuffles_the_hosts_once_per_transport():
    """``shuffle``: the transport shuffles the hosts once, and every connection of it
    starts from the first of that order; kombu's shuffle then picks the next host at
    random at each failover (it may pick one again)."""
    ports = closed_ports(4)
    random.seed(7)
    expected = list(ports)
    random.shuffle(expected)
    assert expected != ports  # seed 7 moves them
    random.seed(7)
    transport = rpc.get_transport(multi_host(ports),
                                  options={"kombu_failover_strategy": "shuffle"})
    assert [h.port for h in transport.connect_url.hosts] == expected
    for _ in range(3):  # each connection starts from the same host, then picks at random
        attempts = tried(transport)
        assert attempts[0] == expected[0] and set(attempts) <= set(ports)
