"""Broker conformance, lifetimes: message and queue expiry, auto-delete, exclusive
queues, declared properties and counts (see amqp_helpers.py)."""

from __future__ import annotations

import time

import pytest
from amqp.exceptions import ResourceLocked
from amqp_helpers import (
    consume,
    declare_queue,
    eventually,
    exchange_exists,
    get,
    let_elapse,
    publish,
    queue_exists,
    ready_count,
    round_trip,
    take_all,
    wait_get,
)
from kombu import Exchange


def test_message_expiration_is_enforced(broker):
    """A message published with `expiration` is dropped once it expires, never delivered."""
    channel = broker.connect().channel()
    declare_queue(channel, "q")
    publish(channel, "short", routing_key="q", expiration=0.2)
    publish(channel, "kept", routing_key="q")
    publish(channel, "short too", routing_key="q", expiration=0.2)
    sent = time.monotonic()
    # Expired messages leave from the head: "short too" waits behind "kept" until then.
    assert eventually(lambda: time.monotonic() > sent + 0.2 and ready_count(channel, "q") == 2)
    assert take_all(channel, "q") == ["kept"]
    assert ready_count(channel, "q") == 0


def test_queue_message_ttl_is_enforced(broker):
    """x-message-ttl on the queue expires every message it holds."""
    channel = broker.connect().channel()
    declare_queue(channel, "q", queue_arguments={"x-message-ttl": 200})
    publish(channel, "m1", routing_key="q")
    publish(channel, "m2", routing_key="q")
    assert eventually(lambda: ready_count(channel, "q") == 2, timeout=0.15)
    assert eventually(lambda: ready_count(channel, "q") == 0)
    assert get(channel, "q") is None


def listed(broker, name):
    """Whether the broker lists the queue: a snapshot, which does not use it (a passive
    declare would, and would keep an x-expires queue alive)."""
    return name in broker.topology().queues


def test_queue_expires_when_unused(broker):
    """x-expires deletes a queue nobody uses (oslo's fanout and reply queues rely on it)."""
    conn = broker.connect()
    declare_queue(conn.channel(), "q", queue_arguments={"x-expires": 300})
    assert listed(broker, "q")
    assert eventually(lambda: not listed(broker, "q"))


def test_a_passive_declare_uses_the_queue(broker):
    """Declaring an x-expires queue again, even passively, renews its lease."""
    conn = broker.connect()
    declare_queue(conn.channel(), "q", queue_arguments={"x-expires": 400})
    for _ in range(4):  # 0.6 s in all, longer than its x-expires
        let_elapse(time.monotonic(), 0.15)
        assert queue_exists(conn, "q")
    assert eventually(lambda: not listed(broker, "q"))


def test_queue_with_a_consumer_does_not_expire(broker):
    """A queue with a consumer is in use: x-expires starts counting when the consumer leaves."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q", queue_arguments={"x-expires": 300})
    consumer, _ = consume(channel, "q")
    let_elapse(time.monotonic(), 0.6)  # twice its x-expires
    assert listed(broker, "q")
    consumer.cancel()
    assert eventually(lambda: not listed(broker, "q"))


# -- declared properties and counts ---------------------------------------


def test_passive_declare_returns_message_and_consumer_counts(broker):
    """queue.declare-ok carries the ready message count and the consumer count."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    declare_queue(channel, "busy")
    publish(channel, "m1", routing_key="q")
    publish(channel, "m2", routing_key="q")
    consume(conn.channel(), "busy")
    consume(conn.channel(), "busy")

    def counts(name):
        ok = channel.queue_declare(queue=name, passive=True)
        return ok.queue, ok.message_count, ok.consumer_count

    # RabbitMQ may answer a passive declare before it has queued the last publishes.
    eventually(lambda: counts("q") == ("q", 2, 0))
    assert counts("q") == ("q", 2, 0)
    assert counts("busy") == ("busy", 0, 2)


def test_auto_delete_queue_waits_for_its_first_consumer(broker):
    """An auto_delete queue is not deleted before it ever had a consumer."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q", auto_delete=True)
    publish(channel, "m", routing_key="q")
    round_trip(channel)
    assert queue_exists(conn, "q")
    assert take_all(channel, "q") == ["m"]  # basic.get is not a consumer
    assert queue_exists(conn, "q")


def test_auto_delete_queue_deleted_when_last_consumer_cancels(broker):
    """...and it is deleted when its last consumer cancels, not before."""
    conn = broker.connect()
    declare_queue(conn.channel(), "q", auto_delete=True)
    first, _ = consume(conn.channel(), "q")
    second, _ = consume(conn.channel(), "q")
    first.cancel()
    assert queue_exists(conn, "q")
    second.cancel()
    assert eventually(lambda: not queue_exists(conn, "q"))


def test_auto_delete_exchange_deleted_with_its_last_binding(broker):
    """An auto_delete exchange (oslo's `<topic>_fanout`) lives until its last binding goes."""
    conn = broker.connect()
    channel = conn.channel()
    fanout = Exchange("compute_fanout", "fanout", durable=False, auto_delete=True)
    fanout.declare(channel=channel)
    assert exchange_exists(conn, "compute_fanout")  # not before it ever had a binding
    declare_queue(channel, "f1", exchange=fanout)
    declare_queue(channel, "f2", exchange=fanout)
    channel.queue_delete(queue="f1")
    assert exchange_exists(conn, "compute_fanout")
    channel.queue_delete(queue="f2")
    assert eventually(lambda: not exchange_exists(conn, "compute_fanout"))


def test_exclusive_queue_belongs_to_its_connection(broker):
    """An exclusive queue can be declared, read and consumed only from its own connection:
    others get 405 RESOURCE_LOCKED (they may still publish to it)."""
    owner, other = broker.connect(), broker.connect()
    declare_queue(owner.channel(), "mine", exclusive=True)
    with pytest.raises(ResourceLocked) as error:
        other.channel().queue_declare(queue="mine", passive=True)
    assert error.value.code == 405
    with pytest.raises(ResourceLocked):
        get(other.channel(), "mine")
    with pytest.raises(ResourceLocked):
        consume(other.channel(), "mine")
    channel = other.channel()
    publish(channel, "for you", routing_key="mine")
    round_trip(channel)
    assert wait_get(owner.channel(), "mine").payload == "for you"


def test_exclusive_queue_deleted_when_its_connection_closes(broker):
    """An exclusive queue lives as long as the connection that declared it."""
    conn = broker.connect()
    declare_queue(conn.channel(), "mine", exclusive=True)
    watcher = broker.connect()
    owner_channel = conn.channel()
    assert ready_count(owner_channel, "mine") == 0
    conn.close()
    assert eventually(lambda: not queue_exists(watcher, "mine"))
