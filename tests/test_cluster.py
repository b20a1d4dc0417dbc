"""A real three-node RabbitMQ cluster on loopback (course.cluster): what survives a node's
stop, what does not, and how a client with every node in its transport_url fails over.

One cluster serves the session (the conftest's ``cluster``: forming it takes 10-15 s);
after each test the nodes it stopped run again, so the next one finds all three running.
"""

from __future__ import annotations

import re
import tempfile
import uuid

import amqp
import kombu
import pytest
from helpers import eventually, listening, processes_in, unavailable

import course.cluster
from course import broker, rabbitmq
from course.cluster import Cluster
from course.errors import CourseError
from course.transport_url import parse_transport_url

pytestmark = [pytest.mark.rabbitmq, pytest.mark.cluster]

MESSAGES = 500


@pytest.fixture
def queue_name(cluster):
    return f"test-{uuid.uuid4().hex[:12]}"


def message_count(conn: kombu.Connection, name: str) -> int | None:
    """A passive declare's count, or None while the queue cannot answer."""
    try:
        return conn.channel().queue_declare(name, passive=True).message_count
    except amqp.ChannelError:
        return None


def gone(conn: kombu.Connection, name: str) -> bool:
    """Whether the cluster has no queue ``name`` at all (not one whose node is down)."""
    try:
        conn.channel().queue_declare(name, passive=True)
    except amqp.NotFound as error:
        return f"no queue '{name}' in vhost '/'" in str(error)
    return False


def consume(conn: kombu.Connection, queue: kombu.Queue, expected: int) -> list:
    """The bodies of ``expected`` messages from ``queue``, acknowledged."""
    bodies: list = []
    with conn.Consumer(queue, callbacks=[lambda body, m: (bodies.append(body), m.ack())],
                       prefetch_count=100):
        while len(bodies) < expected:
            conn.drain_events(timeout=10)
    return bodies


def node_index(cluster: Cluster, name: str) -> int:
    return [node.name for node in cluster.nodes].index(name)


def test_the_url_lists_every_node_and_masks_the_password(cluster):
    parsed = parse_transport_url(cluster.url)
    assert [(h.hostname, h.port) for h in parsed.hosts] == [
        ("127.0.0.1", n.amqp_port) for n in cluster.nodes]
    assert cluster.running_names() == {n.name for n in cluster.nodes}
    assert repr(cluster).count(":****@127.0.0.1:") == 3
    assert ":guest@" not in repr(cluster)


def test_a_quorum_queue_keeps_every_confirmed_message_when_its_leader_stops(
        cluster, queue_name):
    queue = kombu.Queue(queue_name, durable=True, queue_arguments={"x-queue-type": "quorum"})
    with broker.connect(cluster.url) as conn:  # publisher confirms, as oslo.messaging
        producer = kombu.Producer(conn.channel())
        for n in range(MESSAGES):
            producer.publish(n, routing_key=queue_name, serializer="json",
                             declare=[queue] if n == 0 else [])
    info = cluster.api("GET", f"/api/queues/%2F/{queue_name}")
    assert info["type"] == "quorum"
    assert sorted(info["members"]) == sorted(n.name for n in cluster.nodes)
    leader = node_index(cluster, info["leader"])
    cluster.stop_node(leader)
    other = cluster.nodes[(leader + 1) % 3]
    with broker.connect(other.url) as conn:
        assert eventually(lambda: message_count(conn, queue_name) == MESSAGES, 30)
        bodies = consume(conn, queue, MESSAGES)
    assert sorted(bodies) == list(range(MESSAGES))  # 0 lost, none twice
    new_leader = cluster.api("GET", f"/api/queues/%2F/{queue_name}")["leader"]
    assert new_leader != info["leader"]


def test_a_classic_queue_is_gone_while_its_node_is_stopped_and_back_with_it(
        cluster, queue_name):
    """RabbitMQ 3.10: a durable classic queue lives on one node.  While that node is
    down every other node answers 404 to a declare, a consume or a get; a publish to
    it is unroutable: confirmed all the same and dropped (returned when mandatory).
    A non-durable one (oslo.messaging's default, ``amqp_durable_queues = False``) is
    deleted with its node's stop, messages and all, and never comes back."""
    home = cluster.nodes[1]
    queue = kombu.Queue(queue_name, durable=True)
    transient = kombu.Queue(f"{queue_name}-transient", durable=False)
    with broker.connect(home.url) as conn:
        producer = kombu.Producer(conn.channel())
        for declared in (queue, transient):
            producer.publish("before", routing_key=declared.name, serializer="json",
                             declare=[declared])
    assert cluster.api("GET", f"/api/queues/%2F/{queue_name}")["node"] == home.name
    cluster.stop_node(1)
    down = (f"NOT_FOUND - home node '{home.name}' of durable queue '{queue_name}' "
            "in vhost '/' is down or inaccessible")
    with broker.connect(cluster.nodes[0].url) as conn:
        for attempt in (lambda ch: ch.queue_declare(queue_name, passive=True),
                        lambda ch: ch.queue_declare(queue_name, durable=True),
                        lambda ch: ch.basic_consume(queue_name, callback=print),
                        lambda ch: ch.basic_get(queue_name)):
            with pytest.raises(amqp.NotFound, match=re.escape(down)):
                attempt(conn.channel())
        producer = kombu.Producer(conn.channel())
        producer.publish("while down", routing_key=queue_name, serializer="json")  # acked
        returned = []
        kombu.Producer(conn.channel(), on_return=lambda error, *_: returned.append(error)
                       ).publish("mandatory", routing_key=queue_name, serializer="json",
                                 mandatory=True)
        assert [(e.reply_code, e.reply_text) for e in returned] == [(312, "NO_ROUTE")]
        assert eventually(lambda: gone(conn, transient.name))
    cluster.start_node(1)  # back in the cluster, with what it kept on disk
    assert cluster.running_names() == {n.name for n in cluster.nodes}
    with broker.connect(cluster.nodes[0].url) as conn:
        assert message_count(conn, queue_name) == 1
        assert consume(conn, queue, 1) == ["before"]  # what it held; "while down" is lost
        assert gone(conn, transient.name)



def test_a_connection_to_every_node_fails_over_when_its_node_stops(cluster, queue_name):
    queue = kombu.Queue(queue_name, durable=True, queue_arguments={"x-queue-type": "quorum"})
    ports = [node.amqp_port for node in cluster.nodes]
    with broker.connect(cluster.url) as conn:
        assert conn.port == ports[0]  # the URL's order: the first node first
        queue(conn.default_channel).declare()
        cluster.stop_node(0)
        producer = kombu.Producer(conn)
        publish = conn.ensure(producer, producer.publish, max_retries=3)
        publish("after the stop", routing_key=queue_name, serializer="json")
        assert conn.port in ports[1:]
        assert consume(conn, queue, 1) == ["after the stop"]


def test_a_cluster_that_cannot_start_in_time_leaves_nothing_behind(
        monkeypatch, tmp_path):
    if rabbitmq.find_server() is None:
        unavailable("RabbitMQ is not installed: apt-get install rabbitmq-server")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the cluster's folder goes
    ports = []
    monkeypatch.setattr(course.cluster, "free_port",
                        lambda: ports.append(rabbitmq.free_port()) or ports[-1])
    with pytest.raises(rabbitmq.RabbitMQUnavailable, match="RabbitMQ did not start within"):
        Cluster(nodes=2, timeout=0.5)
    assert processes_in(tmp_path) == []
    assert list(tmp_path.iterdir()) == []
    assert len(ports) == 1 and not listening(ports[0])  # the nodes' port mapper


def test_a_cluster_needs_a_node():
    with pytest.raises(CourseError, match="at least one node, not 0"):
        Cluster(nodes=0)
