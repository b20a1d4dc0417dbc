"""Broker conformance, queue types and their arguments: classic and quorum queues, what
each refuses, x-delivery-limit and x-delivery-count, x-single-active-consumer, and the
arguments accepted with no effect (see amqp_helpers.py)."""

from __future__ import annotations

import pytest
from amqp.exceptions import PreconditionFailed
from amqp_helpers import (
    consume,
    declare_queue,
    drain,
    eventually,
    publish,
    ready_count,
    take_all,
    wait_get,
)
from kombu import Exchange

QUORUM = {"x-queue-type": "quorum"}


def declare_error(broker, name, durable=False, exclusive=False, auto_delete=False,
                  queue_arguments=None):
    """The 406 text a queue.declare gets (a kombu Queue would make an exclusive queue
    auto-delete too: the channel method shows each flag alone)."""
    with pytest.raises(PreconditionFailed) as error:
        broker.connect().channel().queue_declare(
            queue=name, durable=durable, exclusive=exclusive, auto_delete=auto_delete,
            arguments=queue_arguments)
    assert error.value.code == 406
    return error.value.reply_text


@pytest.mark.parametrize(("options", "what"), [
    ({"durable": False}, "non-durable"),
    ({"durable": True, "exclusive": True}, "exclusive-owner"),
    ({"durable": True, "auto_delete": True}, "auto-delete"),
])
def test_quorum_queue_must_be_durable_shared_and_kept(broker, options, what):
    """A quorum queue is durable, not exclusive and not auto-delete."""
    text = declare_error(broker, "qq", queue_arguments=QUORUM, **options)
    assert text == (f"PRECONDITION_FAILED - invalid property '{what}' for queue 'qq' in "
                    f"vhost '{broker.vhost}'")


@pytest.mark.parametrize(("arguments", "key", "kind"), [
    ({**QUORUM, "x-max-priority": 5}, "x-max-priority", "quorum"),
    ({**QUORUM, "x-queue-mode": "lazy"}, "x-queue-mode", "quorum"),
    ({**QUORUM, "x-queue-master-locator": "min-masters"}, "x-queue-master-locator", "quorum"),
    ({"x-delivery-limit": 2}, "x-delivery-limit", "classic"),
    ({"x-queue-type": "classic", "x-queue-leader-locator": "balanced"},
     "x-queue-leader-locator", "classic"),
    ({"x-dead-letter-strategy": "at-most-once"}, "x-dead-letter-strategy", "classic"),
    ({"x-max-age": "1D"}, "x-max-age", "classic"),
])
def test_each_queue_type_refuses_the_arguments_of_another(broker, arguments, key, kind):
    text = declare_error(broker, "q", durable=True, queue_arguments=arguments)
    assert text == (f"PRECONDITION_FAILED - invalid arg '{key}' for queue 'q' in vhost "
                    f"'{broker.vhost}' of queue type rabbit_{kind}_queue")


@pytest.mark.parametrize(("arguments", "key", "problem"), [
    ({"x-overflow": "bogus"}, "x-overflow", "invalid_overflow"),
    ({"x-max-length": -1}, "x-max-length", "{value_negative,-1}"),
    ({"x-max-length-bytes": "a"}, "x-max-length-bytes", '"expected integer, got longstr"'),
    ({"x-dead-letter-routing-key": "k"}, "x-dead-letter-routing-key",
     "routing_key_but_no_dlx_defined"),
    ({"x-queue-type": "bogus"}, "x-queue-type", "\"unsupported queue type 'bogus'\""),
    ({"x-queue-mode": "bogus"}, "x-queue-mode", "\"unsupported queue mode 'bogus'\""),
    ({"x-single-active-consumer": "yes"}, "x-single-active-consumer",
     "{unacceptable_type,longstr}"),
])
def test_invalid_queue_argument_values_are_refused(broker, arguments, key, problem):
    text = declare_error(broker, "q", queue_arguments=arguments)
    assert text == (f"PRECONDITION_FAILED - invalid arg '{key}' for queue 'q' in vhost "
                    f"'{broker.vhost}': {problem}")


def test_arguments_without_effect_on_one_node_and_unknown_ones_are_accepted(broker):
    """x-queue-mode, x-queue-master-locator (classic), x-queue-leader-locator,
    x-quorum-initial-group-size (quorum), and x- arguments no queue type knows."""
    channel = broker.connect().channel()
    declare_queue(channel, "c", queue_arguments={
        "x-queue-mode": "lazy", "x-queue-master-locator": "min-masters", "x-foo": 1,
        "x-ha-policy": "all"})
    declare_queue(channel, "qq", durable=True, queue_arguments={
        **QUORUM, "x-queue-leader-locator": "client-local", "x-quorum-initial-group-size": 1,
        "x-foo": 1})
    publish(channel, "m", routing_key="c")
    assert wait_get(channel, "c").payload == "m"


def test_queue_type_is_compared_on_redeclare(broker):
    """A classic queue may be declared again as x-queue-type classic; a quorum queue
    declared again without its type is inequivalent."""
    channel = broker.connect().channel()
    declare_queue(channel, "c")
    declare_queue(channel, "c", queue_arguments={"x-queue-type": "classic"})
    declare_queue(channel, "qq", durable=True, queue_arguments=QUORUM)
    text = declare_error(broker, "qq", durable=True)
    assert text == (f"PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'qq' in "
                    f"vhost '{broker.vhost}': received none but current is the value "
                    "'quorum' of type 'longstr'")


def test_quorum_queue_counts_deliveries_and_dead_letters_past_its_limit(broker):
    """x-delivery-count says how often a quorum queue's message came back (0 the first
    time, on RabbitMQ 3.10); past x-delivery-limit it is dead-lettered (delivery_limit)."""
    channel = broker.connect().channel()
    dlx = Exchange("dlx", "fanout", durable=False)
    dlx.declare(channel=channel)
    declare_queue(channel, "dead", exchange=dlx)
    declare_queue(channel, "qq", durable=True, queue_arguments={
        **QUORUM, "x-delivery-limit": 1, "x-dead-letter-exchange": "dlx"})
    publish(channel, "job", routing_key="qq")
    counts = []
    for _ in range(2):
        message = wait_get(channel, "qq")
        counts.append((message.headers.get("x-delivery-count"),
                       message.delivery_info["redelivered"]))
        message.requeue()
    assert counts == [(0, False), (1, True)]
    dead = wait_get(channel, "dead")
    assert dead.payload == "job"
    assert [(d["queue"], d["reason"]) for d in dead.headers["x-death"]] == [
        ("qq", "delivery_limit")]
    assert ready_count(channel, "qq") == 0


def test_quorum_queue_drops_past_its_limit_without_dead_letter_exchange(broker):
    channel = broker.connect().channel()
    declare_queue(channel, "qq", durable=True, queue_arguments={**QUORUM,
                                                               "x-delivery-limit": 0})
    publish(channel, "job", routing_key="qq")
    wait_get(channel, "qq").requeue()
    publish(channel, "marker", routing_key="qq")
    assert eventually(lambda: take_all(channel, "qq") == ["marker"])


def test_quorum_queue_dead_letters_rejected_messages(broker):
    channel = broker.connect().channel()
    dlx = Exchange("dlx", "fanout", durable=False)
    dlx.declare(channel=channel)
    declare_queue(channel, "dead", exchange=dlx)
    declare_queue(channel, "qq", durable=True, queue_arguments={
        **QUORUM, "x-dead-letter-exchange": "dlx"})
    publish(channel, "no", routing_key="qq")
    wait_get(channel, "qq").reject()
    dead = wait_get(channel, "dead")
    assert dead.headers["x-first-death-reason"] == "rejected"


def test_single_active_consumer_takes_over_when_the_first_goes(broker):
    """x-single-active-consumer: only the first consumer receives; when it cancels,
    the next one takes over."""
    conn1, conn2 = broker.connect(), broker.connect()
    channel = conn1.channel()
    declare_queue(channel, "sac", queue_arguments={"x-single-active-consumer": True})
    first, received1 = consume(conn1.channel(), "sac", no_ack=True)
    _, received2 = consume(conn2.channel(), "sac", no_ack=True)
    for body in ("m1", "m2", "m3"):
        publish(channel, body, routing_key="sac")
    assert [m.payload for m in drain(conn1, received1, 3)] == ["m1", "m2", "m3"]
    first.cancel()
    publish(channel, "m4", routing_key="sac")
    assert [m.payload for m in drain(conn2, received2, 1)] == ["m4"]
