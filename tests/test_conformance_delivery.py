"""Broker conformance, delivery: acknowledgements, requeues, prefetch, priorities
(see amqp_helpers.py)."""

from __future__ import annotations

import pytest
from amqp import exceptions as amqp_errors
from amqp_helpers import (
    ahead_of_marker,
    consume,
    declare_queue,
    drain,
    drain_pending,
    drain_until,
    eventually,
    get,
    payloads,
    publish,
    ready_count,
    round_trip,
    take_all,
    wait_get,
)
from kombu import Consumer, Exchange, Queue

from course import broker as course_broker


def test_unacked_message_redelivered_when_channel_closes(broker):
    """A message delivered but not acked goes back to its queue, flagged redelivered,
    when the consumer's channel closes."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    publish(channel, "m1", routing_key="q")
    round_trip(channel)  # the message is in the queue before another channel looks
    consumer_channel = conn.channel()
    first = get(consumer_channel, "q")
    assert first.payload == "m1" and not first.delivery_info["redelivered"]
    assert get(channel, "q") is None  # it is unacked, not ready
    consumer_channel.close()
    again = wait_get(channel, "q")
    assert again is not None and again.payload == "m1"
    assert again.delivery_info["redelivered"]


def test_unacked_message_redelivered_when_connection_closes(broker):
    """The same when the whole consumer connection goes away (a crashed service)."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    publish(channel, "m1", routing_key="q")
    consumer_conn = broker.connect()
    _, received = consume(consumer_conn.channel(), "q")
    assert payloads(drain(consumer_conn, received, 1)) == ["m1"]
    consumer_conn.close()
    again = wait_get(channel, "q")
    assert again is not None and again.payload == "m1"
    assert again.delivery_info["redelivered"]


def test_unacked_message_goes_to_another_consumer(broker):
    """A second consumer receives what the first one left unacked, flagged redelivered."""
    conn1, conn2 = broker.connect(), broker.connect()
    channel = conn1.channel()
    declare_queue(channel, "q")
    publish(channel, "job", routing_key="q")
    _, received1 = consume(conn1.channel(), "q")
    assert payloads(drain(conn1, received1, 1)) == ["job"]
    _, received2 = consume(conn2.channel(), "q")
    conn1.close()
    drain(conn2, received2, 1)
    assert payloads(received2) == ["job"]
    assert received2[0].delivery_info["redelivered"]


def test_acked_message_is_not_redelivered(broker):
    """Once acked, a message is gone for good, whatever happens to the channel."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    publish(channel, "m1", routing_key="q")
    round_trip(channel)  # the message is in the queue before another channel looks
    consumer_channel = conn.channel()
    get(consumer_channel, "q").ack()
    round_trip(consumer_channel)
    consumer_channel.close()
    assert ahead_of_marker(channel, "q") == []
    assert ready_count(channel, "q") == 0


def test_requeue_puts_message_back_at_the_head(broker):
    """reject(requeue=True) puts the message back first in line, flagged redelivered."""
    channel = broker.connect().channel()
    declare_queue(channel, "q")
    for body in ("m1", "m2", "m3"):
        publish(channel, body, routing_key="q")
    get(channel, "q").requeue()
    messages = [get(channel, "q", no_ack=True) for _ in range(3)]
    assert payloads(messages) == ["m1", "m2", "m3"]
    assert [bool(m.delivery_info["redelivered"]) for m in messages] == [True, False, False]
    assert get(channel, "q") is None


def test_basic_recover_requeues_unacked_in_order(broker):
    """basic.recover(requeue=True) returns every unacked message of the channel to the head
    of its queue, in their original order, flagged redelivered."""
    channel = broker.connect().channel()
    declare_queue(channel, "q")
    for body in ("m1", "m2", "m3"):
        publish(channel, body, routing_key="q")
    assert payloads([get(channel, "q"), get(channel, "q")]) == ["m1", "m2"]
    channel.basic_recover(requeue=True)
    messages = [wait_get(channel, "q") for _ in range(3)]
    assert payloads(messages) == ["m1", "m2", "m3"]
    assert [bool(m.delivery_info["redelivered"]) for m in messages] == [True, True, False]


def fanned_out(broker):
    """A channel, and one message "m" fanned out to the queues q1 and q2."""
    channel = broker.connect().channel()
    fan = Exchange("fan", "fanout", durable=False)
    declare_queue(channel, "q1", exchange=fan)
    declare_queue(channel, "q2", exchange=fan)
    publish(channel, "m", exchange="fan")
    return channel


def test_reject_requeue_does_not_copy_into_other_queues(broker):
    """A message routed to two queues and requeued in one comes back in that one only."""
    channel = fanned_out(broker)
    get(channel, "q1").reject(requeue=True)
    # RabbitMQ answers a passive declare ahead of pending requeues: the count may lag.
    eventually(lambda: ready_count(channel, "q1") == 1)
    assert (ready_count(channel, "q1"), ready_count(channel, "q2")) == (1, 1)
    assert take_all(channel, "q1") == ["m"]
    assert take_all(channel, "q2") == ["m"]


def test_basic_recover_does_not_copy_into_other_queues(broker):
    """The same for basic.recover(requeue=True)."""
    channel = fanned_out(broker)
    assert get(channel, "q1").payload == "m"
    channel.basic_recover(requeue=True)
    assert wait_get(channel, "q1").payload == "m"
    assert take_all(channel, "q1") == []
    assert take_all(channel, "q2") == ["m"]


def test_reject_without_requeue_drops_the_message(broker):
    """reject(requeue=False) discards the message (no dead-letter exchange configured)."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    publish(channel, "bad", routing_key="q")
    get(channel, "q").reject(requeue=False)
    channel.close()
    channel = conn.channel()
    assert ahead_of_marker(channel, "q") == []
    assert ready_count(channel, "q") == 0


def test_cancel_leaves_unacked_messages_with_the_channel(broker):
    """basic.cancel stops deliveries but does not requeue: what the consumer holds stays
    unacked on its channel, can still be acked, and comes back only when the channel closes."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    publish(channel, "m1", routing_key="q")
    publish(channel, "m2", routing_key="q")
    worker = conn.channel()
    consumer, received = consume(worker, "q")
    assert payloads(drain(conn, received, 2)) == ["m1", "m2"]
    consumer.cancel()
    assert ahead_of_marker(channel, "q") == []  # cancelling requeued nothing
    received[0].ack()
    worker.close()
    again = wait_get(channel, "q")
    assert again.payload == "m2" and again.delivery_info["redelivered"]
    assert get(channel, "q") is None


def test_purge_removes_ready_messages_only(broker):
    """queue.purge drops the ready messages and says how many; unacked ones are untouched."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    for body in ("m1", "m2", "m3"):
        publish(channel, body, routing_key="q")
    holder = conn.channel()
    round_trip(channel)
    assert get(holder, "q").payload == "m1"
    assert channel.queue_purge(queue="q") == 2
    assert get(channel, "q") is None
    holder.close()
    assert wait_get(channel, "q").payload == "m1"



def test_acking_a_delivery_of_a_no_ack_consumer_is_a_no_op(broker):
    """A consumer with no_ack=True gets messages already settled: kombu's Message.ack()
    then does nothing (the channel remembers which consumers do not ack), instead of
    sending an ack the broker would refuse (406 unknown delivery tag)."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    for body in ("m1", "m2"):
        publish(channel, body, routing_key="q")
    worker = conn.channel()
    received = []

    def handle(body, message):
        message.ack()
        received.append(body)

    Consumer(worker, queues=[Queue("q")], no_ack=True, auto_declare=False, accept=["json"],
             callbacks=[handle]).consume()
    drain_until(conn, lambda: len(received) == 2)
    assert received == ["m1", "m2"]
    round_trip(worker)  # the channel is still open: no error was raised on it
    worker.close()
    assert ahead_of_marker(channel, "q") == []  # and nothing came back


def test_simple_buffer_acks_as_a_no_op(broker):
    """kombu's SimpleBuffer consumes with no_ack=True; acking what it returns is fine."""
    conn = broker.connect()
    buffer = conn.SimpleBuffer("buffer")
    buffer.put({"n": 1})
    message = buffer.get(timeout=2)
    message.ack()
    assert message.payload == {"n": 1}
    buffer.put({"n": 2})
    assert buffer.get(timeout=2).payload == {"n": 2}
    buffer.close()


# -- priorities -------------------------------------------------------------------------


def test_priority_queue_delivers_higher_priorities_first(broker):
    """In a queue declared with x-max-priority, a higher priority goes first; within one
    priority, first in first out; no priority is 0; above the maximum counts as it."""
    channel = broker.connect().channel()
    declare_queue(channel, "q", queue_arguments={"x-max-priority": 5})
    for body, priority in (("p1", 1), ("none", None), ("p3", 3), ("p5 a", 5), ("p9", 9),
                           ("p5 b", 5), ("p0", 0)):
        publish(channel, body, routing_key="q", priority=priority)
    round_trip(channel)
    assert take_all(channel, "q") == ["p5 a", "p9", "p5 b", "p3", "p1", "none", "p0"]


def test_requeued_message_keeps_its_place_among_priorities(broker):
    """A requeued message goes back where its priority and age put it."""
    channel = broker.connect().channel()
    declare_queue(channel, "q", queue_arguments={"x-max-priority": 10})
    for body, priority in (("low", 1), ("high", 8), ("mid", 4)):
        publish(channel, body, routing_key="q", priority=priority)
    first, second = wait_get(channel, "q"), wait_get(channel, "q")
    assert payloads([first, second]) == ["high", "mid"]
    second.requeue()
    publish(channel, "mid too", routing_key="q", priority=4)
    first.requeue()
    messages = [wait_get(channel, "q") for _ in range(4)]
    assert payloads(messages) == ["high", "mid", "mid too", "low"]
    assert [bool(m.delivery_info["redelivered"]) for m in messages] == [True, True, False,
                                                                          False]


def test_a_queue_without_x_max_priority_ignores_priorities(broker):
    channel = broker.connect().channel()
    declare_queue(channel, "q")
    for body, priority in (("first", 1), ("second", 9), ("third", 5)):
        publish(channel, body, routing_key="q", priority=priority)
    assert take_all(channel, "q") == ["first", "second", "third"]


# -- prefetch -------------------------------------------------------------


def test_prefetch_one_allows_one_unacked_message(broker):
    """With basic.qos(prefetch_count=1) a consumer holds at most one unacked message;
    acking it lets the next one in."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    for body in ("m1", "m2", "m3"):
        publish(channel, body, routing_key="q")
    worker = conn.channel()
    worker.basic_qos(0, 1, False)  # at most 1 unacked message
    _, received = consume(worker, "q")
    drain(conn, received, 1)
    assert eventually(lambda: ready_count(channel, "q") == 2)  # m2 and m3 held back
    drain_pending(conn)
    assert payloads(received) == ["m1"]
    received[0].ack()
    drain(conn, received, 2)
    assert payloads(received) == ["m1", "m2"]
    assert ready_count(channel, "q") == 1


def test_prefetch_one_shares_work_between_consumers(broker):
    """Two consumers with prefetch 1 each get one message; the rest wait in the queue
    until one of them acks (competing consumers, round-robin)."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    workers = []
    for _ in range(2):
        worker = conn.channel()
        worker.basic_qos(0, 1, False)  # at most 1 unacked message
        workers.append(consume(worker, "q")[1])
    for body in ("m1", "m2", "m3", "m4"):
        publish(channel, body, routing_key="q")
    a, b = workers
    drain_until(conn, lambda: len(a) + len(b) >= 2)
    assert eventually(lambda: ready_count(channel, "q") == 2)  # m3 and m4 held back
    drain_pending(conn)
    assert (len(a), len(b)) == (1, 1)
    assert sorted(payloads(a + b)) == ["m1", "m2"]
    assert ready_count(channel, "q") == 2
    a[0].ack()
    drain(conn, a, 2)
    assert payloads(a)[1] == "m3" and len(b) == 1


def test_a_consumer_asking_to_be_cancelled_on_failover_consumes_as_any(broker):
    """``x-cancel-on-ha-failover`` (oslo's ``enable_cancel_on_failover``) only acts when a
    mirrored queue's master moves: on a queue that is not mirrored the consumer gets its
    messages as any other, on both brokers."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    got = []
    consumer = Consumer(channel, [Queue("q", no_declare=True,
                                        consumer_arguments={"x-cancel-on-ha-failover": True})],
                        callbacks=[lambda body, message: (got.append(body), message.ack())],
                        accept=["json"])
    consumer.consume()
    publish(channel, "m1", routing_key="q")
    drain_until(conn, lambda: got)
    assert got == ["m1"]


def test_the_embedded_broker_refuses_consumer_priorities_it_would_ignore(url):
    """RabbitMQ gives a consumer with a higher ``x-priority`` the messages first; the
    embedded broker does not implement that, so it refuses the consumer (406) rather than
    ignore what it asks."""
    with course_broker.connect(url) as conn:
        channel = conn.channel()
        declare_queue(channel, "q")
        with pytest.raises(amqp_errors.PreconditionFailed,
                           match="invalid arg 'x-priority' for consumer of queue 'q': consumer "
                                 "priorities are not implemented"):
            Consumer(channel, [Queue("q", no_declare=True, consumer_arguments={"x-priority": 5})],
                     accept=["json"]).consume()
