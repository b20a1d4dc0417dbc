"""Broker conformance, dead-lettering and length limits: x-dead-letter-exchange and its
routing key, the reasons (rejected, expired, maxlen), the x-death header, cycles,
x-max-length, x-max-length-bytes and x-overflow (see amqp_helpers.py)."""

from __future__ import annotations

import datetime
import time

import pytest
from amqp.exceptions import MessageNacked
from amqp_helpers import (
    consume,
    declare_queue,
    drain,
    eventually,
    let_elapse,
    publish,
    ready_count,
    take_all,
    wait_get,
)
from kombu import Exchange


def dead_letter_queue(channel, name="dead"):
    """A topic exchange `dlx` and the queue `name` bound to it with `#` (every key)."""
    dlx = Exchange("dlx", "topic", durable=False)
    dlx.declare(channel=channel)
    declare_queue(channel, name, exchange=dlx, routing_key="#")
    return dlx


def deaths(message):
    """(queue, reason, count) of each table of a message's x-death header, in order."""
    return [(d["queue"], d["reason"], d["count"]) for d in message.headers["x-death"]]


def test_rejected_message_is_dead_lettered(broker):
    """reject without requeue sends the message to the queue's dead-letter exchange,
    with its routing key, without its expiration, and with an x-death header (py-amqp
    has no basic.nack to show nack(requeue=False) on RabbitMQ; the embedded broker
    handles it as the same rejection)."""
    channel = broker.connect().channel()
    dead_letter_queue(channel)
    declare_queue(channel, "work", queue_arguments={"x-dead-letter-exchange": "dlx"})
    publish(channel, "m1", routing_key="work", expiration=60, headers={"mine": 1})
    wait_get(channel, "work").reject()
    message = wait_get(channel, "dead")
    assert message.payload == "m1"
    assert message.delivery_info["exchange"] == "dlx"
    assert message.delivery_info["routing_key"] == "work"
    assert "expiration" not in message.properties
    (death,) = message.headers["x-death"]
    assert {k: v for k, v in death.items() if k != "time"} == {
        "count": 1, "reason": "rejected", "queue": "work", "exchange": "",
        "routing-keys": ["work"], "original-expiration": "60000"}
    assert isinstance(death["time"], datetime.datetime)
    assert message.headers["mine"] == 1
    assert {k: v for k, v in message.headers.items() if k.startswith("x-first-death")} == {
        "x-first-death-reason": "rejected", "x-first-death-queue": "work",
        "x-first-death-exchange": ""}
    assert not any(k.startswith("x-last-death") for k in message.headers)  # RabbitMQ 3.10


def test_expired_messages_are_dead_lettered(broker):
    """A message that expires (x-message-ttl, or its own expiration) is dead-lettered
    with reason expired, here with the queue's x-dead-letter-routing-key."""
    channel = broker.connect().channel()
    dead_letter_queue(channel)
    declare_queue(channel, "ttl", queue_arguments={"x-dead-letter-exchange": "dlx",
                                                  "x-message-ttl": 50})
    declare_queue(channel, "own", queue_arguments={"x-dead-letter-exchange": "dlx",
                                                  "x-dead-letter-routing-key": "late"})
    publish(channel, "by the queue", routing_key="ttl")
    first = wait_get(channel, "dead")
    publish(channel, "by itself", routing_key="own", expiration=0.05)
    second = wait_get(channel, "dead")
    assert (first.payload, first.delivery_info["routing_key"]) == ("by the queue", "ttl")
    assert deaths(first) == [("ttl", "expired", 1)]
    assert "original-expiration" not in first.headers["x-death"][0]
    assert (second.payload, second.delivery_info["routing_key"]) == ("by itself", "late")
    assert deaths(second) == [("own", "expired", 1)]
    assert second.headers["x-death"][0]["original-expiration"] == "50"
    assert second.headers["x-death"][0]["routing-keys"] == ["own"]


def test_expired_message_reaches_a_waiting_consumer(broker):
    """Expiry is on time: a consumer of the dead-letter queue receives the message
    while nobody looks at the queue it expired in."""
    conn = broker.connect()
    channel = conn.channel()
    dead_letter_queue(channel)
    declare_queue(channel, "ttl", queue_arguments={"x-dead-letter-exchange": "dlx",
                                                  "x-message-ttl": 50})
    _, received = consume(conn.channel(), "dead", no_ack=True)
    publish(channel, "late", routing_key="ttl")
    assert [m.payload for m in drain(conn, received, 1)] == ["late"]


def test_repeated_deaths_count_and_move_first(broker):
    """Dying again in the same queue for the same reason adds one to that x-death table
    and moves it first; x-first-death-* keep naming the first death."""
    channel = broker.connect().channel()
    to_a, to_b = Exchange("to_a", "fanout", durable=False), Exchange("to_b", "fanout",
                                                                     durable=False)
    declare_queue(channel, "a", exchange=to_a, queue_arguments={"x-dead-letter-exchange": "to_b"})
    declare_queue(channel, "b", exchange=to_b, queue_arguments={"x-dead-letter-exchange": "to_a"})
    publish(channel, "ping-pong", routing_key="a")
    for queue in ("a", "b", "a", "b"):
        wait_get(channel, queue).reject()
    message = wait_get(channel, "a")
    assert deaths(message) == [("b", "rejected", 2), ("a", "rejected", 2)]
    assert message.headers["x-first-death-queue"] == "a"
    assert message.headers["x-first-death-exchange"] == ""


def test_dead_letter_cycle_is_dropped(broker):
    """A message that expires back into a queue it already expired in is dropped there
    (a cycle with no rejection); its other copies still go where they are routed."""
    channel = broker.connect().channel()
    loop = Exchange("loop", "fanout", durable=False)
    declare_queue(channel, "work", exchange=loop,
                  queue_arguments={"x-dead-letter-exchange": "loop", "x-message-ttl": 30})
    declare_queue(channel, "watch", exchange=loop)
    publish(channel, "round", routing_key="work")
    message = wait_get(channel, "watch")
    assert deaths(message) == [("work", "expired", 1)]
    let_elapse(time.monotonic(), 0.2)  # it would have expired again by now
    assert ready_count(channel, "work") == 0
    assert take_all(channel, "watch") == []


def test_missing_dead_letter_exchange_drops_the_message(broker):
    """A dead-letter exchange that does not exist is allowed: the message is dropped."""
    channel = broker.connect().channel()
    declare_queue(channel, "work", queue_arguments={"x-dead-letter-exchange": "nowhere"})
    publish(channel, "m", routing_key="work")
    wait_get(channel, "work").reject()
    assert eventually(lambda: ready_count(channel, "work") == 0)


# -- length limits -------------------------------------------------------------


def test_max_length_drops_the_head_to_the_dead_letter_exchange(broker):
    """x-max-length (overflow drop-head, the default): the oldest ready message makes
    room, dead-lettered with reason maxlen."""
    channel = broker.connect().channel()
    dead_letter_queue(channel)
    declare_queue(channel, "short", queue_arguments={"x-max-length": 2,
                                                    "x-dead-letter-exchange": "dlx"})
    for body in ("m1", "m2", "m3"):
        publish(channel, body, routing_key="short")
    message = wait_get(channel, "dead")
    assert message.payload == "m1" and deaths(message) == [("short", "maxlen", 1)]
    assert take_all(channel, "short") == ["m2", "m3"]


def test_max_length_counts_ready_messages_only(broker):
    """An unacknowledged message does not count; once requeued, it is the head that goes."""
    channel = broker.connect().channel()
    declare_queue(channel, "short", queue_arguments={"x-max-length": 1})
    publish(channel, "u1", routing_key="short")
    taken = wait_get(channel, "short")
    publish(channel, "u2", routing_key="short")
    assert eventually(lambda: ready_count(channel, "short") == 1)
    taken.requeue()
    assert eventually(lambda: take_all(channel, "short") == ["u2"])


def test_max_length_bytes_counts_body_bytes(broker):
    """x-max-length-bytes limits the ready messages' body bytes (each JSON body here is
    3 bytes: '"a"')."""
    channel = broker.connect().channel()
    dead_letter_queue(channel)
    declare_queue(channel, "small", queue_arguments={"x-max-length-bytes": 6,
                                                    "x-dead-letter-exchange": "dlx"})
    for body in ("a", "b", "c"):
        publish(channel, body, routing_key="small")
    assert wait_get(channel, "dead").payload == "a"
    assert take_all(channel, "small") == ["b", "c"]


def test_reject_publish_nacks_the_publisher(broker):
    """x-overflow reject-publish: a full queue refuses the message (a publisher with
    confirms gets basic.nack); the other queues it was routed to still get it."""
    channel = broker.connect().channel()
    fan = Exchange("fan", "fanout", durable=False)
    declare_queue(channel, "full", exchange=fan,
                  queue_arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    declare_queue(channel, "other", exchange=fan)
    publish(channel, "p1", exchange="fan")
    with pytest.raises(MessageNacked):
        publish(channel, "p2", exchange="fan")
    assert take_all(channel, "full") == ["p1"]
    assert take_all(channel, "other") == ["p1", "p2"]


def test_reject_publish_dlx_dead_letters_the_refused_message(broker):
    """x-overflow reject-publish-dlx: refused (nacked) and dead-lettered, reason maxlen."""
    channel = broker.connect().channel()
    dead_letter_queue(channel)
    declare_queue(channel, "full", queue_arguments={
        "x-max-length": 1, "x-overflow": "reject-publish-dlx", "x-dead-letter-exchange": "dlx"})
    publish(channel, "d1", routing_key="full")
    with pytest.raises(MessageNacked):
        publish(channel, "d2", routing_key="full")
    message = wait_get(channel, "dead")
    assert message.payload == "d2" and deaths(message) == [("full", "maxlen", 1)]
    assert take_all(channel, "full") == ["d1"]
