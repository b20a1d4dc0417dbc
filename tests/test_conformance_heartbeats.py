"""AMQP heartbeats, the same cases on the embedded broker and on RabbitMQ: the timeout is
negotiated; a connection silent for it (two to three timeouts: RabbitMQ 3.10's receiver
looks every timeout and closes at the second silent look) is closed, its unacked messages
requeued (redelivered) and its exclusive queues deleted; one that keeps talking, or that
asked for no heartbeat, stays."""

from __future__ import annotations

import kombu
import pytest
from helpers import embedded_vhost, eventually

from course import broker as course_broker


def connect(broker, heartbeat):
    conn = course_broker.connect(broker.url, heartbeat=heartbeat)
    broker._connections.append(conn)
    return conn


def consuming(conn, name, exclusive=False):
    """A channel consuming ``name`` without acking; the messages it was given."""
    channel = conn.channel()
    queue = kombu.Queue(name, auto_delete=False, exclusive=exclusive)
    queue(channel).declare()
    got = []
    kombu.Consumer(channel, [queue], callbacks=[lambda body, message: got.append(message)],
                   accept=["json"]).consume()
    return got


def ready(broker, name):
    """Ready messages of ``name`` now (a passive declare: live on both brokers), None if
    there is no such queue, "locked" if another connection's exclusive queue."""
    conn = broker.connect()
    try:
        return conn.channel().queue_declare(name, passive=True).message_count
    except conn.channel_errors as error:
        return None if error.code == 404 else "locked"
    finally:
        conn.close()


def lost(conn):
    """The client finds out at its next uses of the connection: a connection error."""
    for _attempt in range(3):  # on RabbitMQ the first write after the close may still pass
        try:
            conn.heartbeat_check(rate=3)
            conn.default_channel.queue_declare("amq.rabbitmq.none", passive=True)
        except conn.recoverable_connection_errors:
            return True
        except conn.channel_errors:  # still open: the broker answered 404
            return False
    return False


def publish(broker, name, n):
    conn = broker.connect()
    producer = kombu.Producer(conn.channel())
    for i in range(n):
        producer.publish({"i": i}, routing_key=name)
    conn.close()


def test_the_timeout_is_negotiated(broker):
    assert connect(broker, 2).connection.heartbeat == 2
    assert connect(broker, 600).connection.heartbeat == 60  # RabbitMQ proposes 60
    assert connect(broker, 0).connection.heartbeat == 0


def test_a_silent_connection_is_closed_and_its_messages_requeued(broker):
    conn = connect(broker, 1)
    got = consuming(conn, "hb-q")
    publish(broker, "hb-q", 2)
    conn.drain_events(timeout=5)
    assert got and ready(broker, "hb-q") == 0  # taken, unacknowledged
    # silent: no heartbeat sent; after 2-3 s the broker closes it and requeues both
    assert eventually(lambda: ready(broker, "hb-q") == 2, 20)
    assert lost(conn)
    other = broker.connect()
    message = other.channel().basic_get("hb-q")
    assert message.delivery_info["redelivered"] is True


def test_a_silent_connection_loses_its_exclusive_queue(broker):
    conn = connect(broker, 1)
    consuming(conn, "hb-exclusive", exclusive=True)
    assert ready(broker, "hb-exclusive") == "locked"
    assert eventually(lambda: ready(broker, "hb-exclusive") is None, 20)


def test_heartbeats_keep_it_open_and_no_heartbeat_is_never_closed(broker):
    silent, talking, without = connect(broker, 1), connect(broker, 1), connect(broker, 0)
    consuming(silent, "hb-silent")
    consuming(talking, "hb-talking")
    consuming(without, "hb-without")
    publish(broker, "hb-silent", 1)

    def silent_closed():
        talking.heartbeat_check(rate=3)  # what oslo's heartbeat thread does, twice a timeout:
        try:  # send one when due, and read the broker's
            talking.drain_events(timeout=0.01)
        except TimeoutError:
            pass
        return ready(broker, "hb-silent") == 1
    assert eventually(silent_closed, 20, interval=0.25)
    assert not lost(talking) and not lost(without)


def test_the_embedded_broker_gives_rabbitmqs_reason():
    """RabbitMQ writes its reason in its log (its client only sees the reset); the embedded
    broker keeps it on the connection, for the trace."""
    with embedded_vhost("hb") as url:
        conn = course_broker.connect(url, heartbeat=1)
        state = conn.connection
        assert eventually(lambda: state.closed, 20)
        assert course_broker.close_reason(conn) == ("missed heartbeats from client, "
                                                    "timeout: 1s")
        with pytest.raises(ConnectionResetError, match="Connection reset by peer"):
            conn.heartbeat_check()
        assert not conn.connected  # it knows now, as py-amqp after a failed write
        conn.close()
