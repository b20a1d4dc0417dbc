"""Broker conformance, sessions: mandatory publishing, topology snapshots, threads
and connections (see amqp_helpers.py)."""

from __future__ import annotations

import threading
import time

import pytest
from amqp.exceptions import NotFound
from amqp_helpers import (
    WAIT,
    consume,
    declare_nova_like_topology,
    declare_queue,
    drain,
    eventually,
    payloads,
    publish,
    queue_exists,
    returned_messages,
    round_trip,
    take_all,
)
from kombu import Consumer, Exchange, Queue

# -- mandatory publishing ------------------------------------------------


def test_mandatory_unroutable_message_is_returned(broker):
    """mandatory=True and no queue matches: the broker hands the message back with
    basic.return 312 NO_ROUTE (oslo.messaging relies on it for replies)."""
    channel = broker.connect().channel()
    Exchange("ex", "direct", durable=False).declare(channel=channel)
    producer, returned = returned_messages(channel)
    producer.publish("to nobody", exchange="ex", routing_key="nowhere", mandatory=True)
    producer.publish("gone reply", exchange="", routing_key="reply_gone", mandatory=True)
    round_trip(channel)
    assert returned == [(312, "ex", "nowhere", "to nobody"),
                        (312, "", "reply_gone", "gone reply")]


def test_mandatory_routed_message_is_not_returned(broker):
    """mandatory=True changes nothing for a message that reaches a queue."""
    channel = broker.connect().channel()
    declare_queue(channel, "q", exchange=Exchange("ex", "direct", durable=False),
                  routing_key="k")
    producer, returned = returned_messages(channel)
    producer.publish("hi", exchange="ex", routing_key="k", mandatory=True)
    producer.publish("hi again", exchange="", routing_key="q", mandatory=True)
    round_trip(channel)
    assert returned == []
    assert take_all(channel, "q") == ["hi", "hi again"]


def test_unroutable_message_without_mandatory_is_dropped_silently(broker):
    """Without mandatory, an unroutable message is dropped and nobody is told."""
    channel = broker.connect().channel()
    Exchange("ex", "direct", durable=False).declare(channel=channel)
    producer, returned = returned_messages(channel)
    producer.publish("to nobody", exchange="ex", routing_key="nowhere")
    round_trip(channel)
    assert returned == []


# -- topology snapshot ---------------------------------------------------


def test_topology_shows_declared_properties(broker):
    """The snapshot holds what was declared: types, flags, arguments and bindings, the same
    on both brokers (built-in exchanges and default-exchange bindings hidden)."""
    from course import topology as t

    declare_nova_like_topology(broker.connect())
    assert broker.topology() == t.Topology(
        exchanges={"nova": t.Exchange("nova", "topic"),
                   "compute_fanout": t.Exchange("compute_fanout", "fanout", auto_delete=True)},
        queues={"compute": t.Queue("compute"),
                "compute.node1": t.Queue("compute.node1"),
                "compute_fanout_1": t.Queue("compute_fanout_1",
                                            arguments={"x-expires": 1800000}),
                "reply_1": t.Queue("reply_1", arguments={"x-expires": 1800000}),
                "kept": t.Queue("kept", durable=True),
                # kombu declares exclusive queues auto_delete too
                "mine": t.Queue("mine", auto_delete=True, exclusive=True)},
        bindings=(t.Binding("nova", "compute", "compute"),
                  t.Binding("nova", "compute.node1", "compute.node1"),
                  t.Binding("compute_fanout", "compute_fanout_1", "compute")))


def test_topology_counts_ready_unacked_and_consumers(broker):
    """Ready, unacknowledged and consumer counts in the snapshot match the queue's state."""
    conn = broker.connect()
    channel = declare_nova_like_topology(conn)
    for body in ("m1", "m2", "m3"):
        publish(channel, body, exchange="nova", routing_key="compute")
    worker = conn.channel()
    worker.basic_qos(0, 1, False)  # at most 1 unacked message
    _, received = consume(worker, "compute")
    assert payloads(drain(conn, received, 1)) == ["m1"]
    publish(channel, "r", routing_key="reply_1")
    round_trip(channel)

    def counts():
        queues = broker.topology().queues
        return {name: (q.messages_ready, q.messages_unacknowledged, q.consumers)
                for name, q in queues.items() if name in ("compute", "reply_1", "kept")}

    expected = {"compute": (2, 1, 1), "reply_1": (1, 0, 0), "kept": (0, 0, 0)}
    # RabbitMQ's management API refreshes unacked counts on a timer: allow it a moment.
    eventually(lambda: counts() == expected, timeout=5.0)
    assert counts() == expected


def test_topology_hides_builtins_unless_asked(broker):
    """Every vhost has the default exchange and amq.direct/fanout/topic/headers/match, and
    binds each queue to the default exchange under its own name; snapshots hide them unless
    include_builtin=True."""
    conn = broker.connect()
    declare_queue(conn.channel(), "q")
    plain = broker.topology()
    assert (list(plain.exchanges), list(plain.queues), plain.bindings) == ([], ["q"], ())
    full = broker.topology(include_builtin=True)
    types = {name: e.type for name, e in full.exchanges.items()}
    assert types.items() >= {"": "direct", "amq.direct": "direct", "amq.fanout": "fanout",
                             "amq.topic": "topic", "amq.headers": "headers",
                             "amq.match": "headers"}.items()
    assert all(e.durable for e in full.exchanges.values())
    assert [(b.exchange, b.queue, b.routing_key) for b in full.bindings] == [("", "q", "q")]


# -- threads and connections ---------------------------------------------


def test_consumer_thread_wakes_up_promptly(broker):
    """A consumer blocked in drain_events gets a message published by another thread at
    once: the broker pushes it (a behaviour check, not a benchmark)."""
    consumer_conn, producer_conn = broker.connect(), broker.connect()
    declare_queue(consumer_conn.channel(), "q")
    arrived = []
    Consumer(consumer_conn.channel(), queues=[Queue("q")], auto_declare=False, no_ack=True,
             accept=["json"],
             callbacks=[lambda body, message: arrived.append(time.monotonic())]).consume()
    thread = threading.Thread(target=drain, args=(consumer_conn, arrived, 1, 5.0))
    channel = producer_conn.channel()
    thread.start()
    sent = time.monotonic()
    publish(channel, "wake up", routing_key="q")
    thread.join(timeout=10)
    assert arrived, "the consumer never received the message"
    assert arrived[0] - sent < 0.5


def test_connections_share_one_broker(broker):
    """Every connection to the same URL reaches the same broker: what one connection
    publishes, another consumes (SimpleQueue on both sides)."""
    sender, receiver = broker.connect(), broker.connect()
    inbox = receiver.SimpleQueue("shared")
    outbox = sender.SimpleQueue("shared")
    outbox.put({"hello": "world"})
    message = inbox.get(timeout=WAIT)
    message.ack()
    assert message.payload == {"hello": "world"}
    inbox.close()
    outbox.close()


def test_new_vhost_is_empty(broker):
    """A new vhost holds no queue, no binding and only the built-in exchanges."""
    empty = broker.topology()
    assert (empty.exchanges, empty.queues, empty.bindings) == ({}, {}, ())
    assert not queue_exists(broker.connect(), "shared")


def test_channel_object_is_usable_again_after_a_channel_error(broker):
    """After a channel error the broker closes the channel; the client (py-amqp) opens it
    again at once, so the same channel object works for the next operation."""
    channel = broker.connect().channel()
    with pytest.raises(NotFound):
        channel.queue_declare(queue="missing", passive=True)
    declare_queue(channel, "after-error")
    publish(channel, "still here", routing_key="after-error")
    assert take_all(channel, "after-error") == ["still here"]
