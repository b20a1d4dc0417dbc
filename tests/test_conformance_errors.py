"""Broker conformance, errors: RabbitMQ's channel errors, codes and texts (see
amqp_helpers.py)."""

from __future__ import annotations

import pytest
from amqp.exceptions import AccessRefused, NotFound, PreconditionFailed
from amqp_helpers import (
    consume,
    declare_queue,
    exchange_exists,
    get,
    publish,
    queue_exists,
    round_trip,
    take_all,
)
from kombu import Exchange, binding


def test_publish_to_undeclared_exchange_is_404(broker):
    """Publishing to an exchange that does not exist closes the channel with 404 NOT_FOUND.
    RabbitMQ reports it asynchronously: the next synchronous call on the channel raises."""
    conn = broker.connect()
    channel = conn.channel()
    with pytest.raises(NotFound) as error:
        publish(channel, "x", exchange="missing", routing_key="k")
        round_trip(channel)
    assert error.value.code == 404
    other = conn.channel()  # the connection survives: use a new channel
    declare_queue(other, "q")
    publish(other, "ok", routing_key="q")
    assert take_all(other, "q") == ["ok"]


def test_redeclare_exchange_with_other_properties_is_406(broker):
    """Redeclaring an exchange with another type, durable or auto_delete: 406
    PRECONDITION_FAILED. Identical redeclarations are fine."""
    conn = broker.connect()
    Exchange("ex", "direct", durable=False).declare(channel=conn.channel())
    Exchange("ex", "direct", durable=False).declare(channel=conn.channel())
    for other in (Exchange("ex", "topic", durable=False),
                  Exchange("ex", "direct", durable=True),
                  Exchange("ex", "direct", durable=False, auto_delete=True)):
        with pytest.raises(PreconditionFailed) as error:
            other.declare(channel=conn.channel())
        assert error.value.code == 406


def test_redeclare_queue_with_other_properties_is_406(broker):
    """Redeclaring a queue with another durable, auto_delete or x-arguments: 406.
    Identical redeclarations are fine."""
    conn = broker.connect()
    args = {"x-message-ttl": 60000}
    declare_queue(conn.channel(), "q", queue_arguments=args)
    declare_queue(conn.channel(), "q", queue_arguments=args)
    for options in ({"durable": True, "queue_arguments": args},
                    {"auto_delete": True, "queue_arguments": args},
                    {"queue_arguments": {"x-message-ttl": 1000}},
                    {"queue_arguments": {}}):
        with pytest.raises(PreconditionFailed) as error:
            declare_queue(conn.channel(), "q", **options)
        assert error.value.code == 406


def test_passive_declare_of_missing_queue_is_404(broker):
    """A passive declare only checks: a missing queue is 404 and is not created."""
    conn = broker.connect()
    with pytest.raises(NotFound) as error:
        conn.channel().queue_declare(queue="missing", passive=True)
    assert error.value.code == 404
    assert not queue_exists(conn, "missing")


def test_passive_declare_of_missing_exchange_is_404(broker):
    """The same for an exchange: 404, and nothing is created."""
    conn = broker.connect()
    with pytest.raises(NotFound) as error:
        Exchange("missing", "topic").declare(channel=conn.channel(), passive=True)
    assert error.value.code == 404
    assert not exchange_exists(conn, "missing")


def test_bind_to_missing_exchange_or_queue_is_404(broker):
    """queue.bind needs both ends to exist."""
    conn = broker.connect()
    declare_queue(conn.channel(), "q")
    Exchange("ex", "direct", durable=False).declare(channel=conn.channel())
    with pytest.raises(NotFound):
        conn.channel().queue_bind(queue="q", exchange="missing", routing_key="k")
    with pytest.raises(NotFound):
        conn.channel().queue_bind(queue="missing", exchange="ex", routing_key="k")
    assert not exchange_exists(conn, "missing")
    assert not queue_exists(conn, "missing")


def test_deleted_queue_is_404_for_get_consume_and_passive_declare(broker):
    """After queue.delete, every use of the queue is 404 NOT_FOUND."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q")
    publish(channel, "m", routing_key="q")
    assert channel.queue_delete(queue="q") == 1  # number of messages deleted with it
    with pytest.raises(NotFound):
        get(conn.channel(), "q")
    with pytest.raises(NotFound):
        consume(conn.channel(), "q")
    with pytest.raises(NotFound):
        conn.channel().queue_declare(queue="q", passive=True)


def test_deleted_queue_stays_deleted_and_loses_its_bindings(broker):
    """Publishing to a deleted queue's old binding does not bring it back; declaring a
    queue of the same name again gives a new queue without the old bindings."""
    conn = broker.connect()
    channel = conn.channel()
    nova = Exchange("nova", "topic", durable=False)
    declare_queue(channel, "compute", exchange=nova, routing_key="compute")
    channel.queue_delete(queue="compute")
    publish(channel, "lost", exchange="nova", routing_key="compute")
    round_trip(channel)
    assert not queue_exists(conn, "compute")
    declare_queue(channel, "compute")  # same name, no binding this time
    publish(channel, "also lost", exchange="nova", routing_key="compute")
    assert take_all(channel, "compute") == []


def test_channel_error_closes_only_that_channel(broker):
    """A channel error closes one channel; the connection and its other channels go on."""
    conn = broker.connect()
    healthy = conn.channel()
    declare_queue(healthy, "q")
    with pytest.raises(NotFound):
        conn.channel().queue_declare(queue="missing", passive=True)
    assert conn.connected
    publish(healthy, "still fine", routing_key="q")
    assert take_all(healthy, "q") == ["still fine"]
    fresh = conn.channel()
    publish(fresh, "new channel", routing_key="q")
    assert take_all(fresh, "q") == ["new channel"]


def test_delete_if_unused_or_if_empty_is_406(broker):
    """queue.delete with if_unused refuses a queue with consumers, with if_empty a queue
    with messages: 406, and the queue stays."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "busy")
    declare_queue(channel, "full")
    consume(conn.channel(), "busy")
    publish(channel, "m", routing_key="full")
    with pytest.raises(PreconditionFailed):
        conn.channel().queue_delete(queue="busy", if_unused=True)
    with pytest.raises(PreconditionFailed):
        conn.channel().queue_delete(queue="full", if_empty=True)
    assert queue_exists(conn, "busy") and queue_exists(conn, "full")


def test_deleted_exchange_is_404_and_loses_its_bindings(broker):
    """After exchange.delete, publishing to it is 404; declared again, it has no bindings."""
    conn = broker.connect()
    channel = conn.channel()
    nova = Exchange("nova", "topic", durable=False)
    declare_queue(channel, "compute", exchange=nova, routing_key="compute")
    channel.exchange_delete(exchange="nova")
    with pytest.raises(NotFound):
        publish(channel, "lost", exchange="nova", routing_key="compute")
        round_trip(channel)
    channel = conn.channel()
    nova.declare(channel=channel)
    publish(channel, "unbound", exchange="nova", routing_key="compute")
    assert take_all(channel, "compute") == []


def test_unbind_stops_routing(broker):
    """queue.unbind removes one binding; the queue's other bindings still route."""
    channel = broker.connect().channel()
    nova = Exchange("nova", "topic", durable=False)
    declare_queue(channel, "q", bindings=[binding(nova, routing_key="a"),
                                          binding(nova, routing_key="b")])
    channel.queue_unbind(queue="q", exchange="nova", routing_key="a")
    publish(channel, "a", exchange="nova", routing_key="a")
    publish(channel, "b", exchange="nova", routing_key="b")
    assert take_all(channel, "q") == ["b"]


def test_server_named_queue(broker):
    """queue.declare with an empty name: the broker picks a unique amq.gen-* name."""
    channel = broker.connect().channel()
    first = channel.queue_declare(queue="", exclusive=True).queue
    second = channel.queue_declare(queue="", exclusive=True).queue
    assert first.startswith("amq.gen-") and second.startswith("amq.gen-") and first != second
    publish(channel, "hi", routing_key=first)
    assert take_all(channel, first) == ["hi"]


def test_amq_prefix_is_reserved(broker):
    """Names starting with amq. belong to the broker: declaring one is 403 ACCESS_REFUSED;
    the built-in amq.* exchanges can be checked with a passive declare and used."""
    conn = broker.connect()
    with pytest.raises(AccessRefused) as error:  # (kombu's Exchange.declare skips amq.* names)
        conn.channel().exchange_declare(exchange="amq.mine", type="direct", durable=False)
    assert error.value.code == 403
    with pytest.raises(AccessRefused):
        declare_queue(conn.channel(), "amq.mine")
    channel = conn.channel()
    channel.exchange_declare(exchange="amq.topic", type="topic", passive=True)
    declare_queue(channel, "q", exchange=Exchange("amq.topic", "topic"), routing_key="x.*")
    publish(channel, "via amq.topic", exchange="amq.topic", routing_key="x.y")
    assert take_all(channel, "q") == ["via amq.topic"]


def test_inequivalent_redeclarations_say_what_differs(broker):
    """The 406 texts name the argument and both values, as RabbitMQ writes them."""
    conn = broker.connect()
    where = f"in vhost '{broker.vhost}'"
    Exchange("ex", "direct", durable=False).declare(channel=conn.channel())
    with pytest.raises(PreconditionFailed) as error:
        Exchange("ex", "topic", durable=False).declare(channel=conn.channel())
    assert error.value.reply_text == (
        f"PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'ex' {where}: "
        "received 'topic' but current is 'direct'")
    declare_queue(conn.channel(), "q", queue_arguments={"x-message-ttl": 60000})
    texts = []
    for arguments in ({"x-message-ttl": 1000}, {}):
        with pytest.raises(PreconditionFailed) as error:
            declare_queue(conn.channel(), "q", queue_arguments=arguments)
        texts.append(error.value.reply_text)
    prefix = f"PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' {where}: "
    assert texts == [prefix + "received '1000' but current is '60000'",
                     prefix + "received none but current is the value '60000' of type "
                              "'signedint'"]


@pytest.mark.parametrize("argument, value, problem", [
    ("x-expires", "soon", '"expected integer, got longstr"'),
    ("x-expires", 0, "{value_zero,0}"),
    ("x-message-ttl", -1, "{value_negative,-1}"),
    ("x-max-priority", True, '"expected integer, got bool"'),
    ("x-max-priority", 256, "{max_value_exceeded,256}"),
    ("x-max-priority", -1, "{value_negative,-1}"),
])
def test_invalid_queue_arguments_are_406(broker, argument, value, problem):
    with pytest.raises(PreconditionFailed) as error:
        declare_queue(broker.connect().channel(), "q", queue_arguments={argument: value})
    assert error.value.reply_text == (
        f"PRECONDITION_FAILED - invalid arg '{argument}' for queue 'q' in vhost "
        f"'{broker.vhost}': {problem}")
