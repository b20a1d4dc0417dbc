"""Broker conformance: the same AMQP 0-9-1 behaviour on the embedded broker and on RabbitMQ.

Every case runs twice through the `broker` fixture (conftest.py): once on the course's
embedded broker and once on a private RabbitMQ node, each time in a fresh vhost. The
cases are written against RabbitMQ's real behaviour; a case must never look at
`broker.kind`. When the embedded broker fails a case, the embedded broker is wrong.

Only kombu's public API is used, so every case also reads as an example for learners.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

import pytest
from amqp.exceptions import AccessRefused, NotFound, PreconditionFailed, ResourceLocked
from helpers import eventually
from kombu import Consumer, Exchange, Producer, Queue, binding

#: How long a case waits for something that must happen (RabbitMQ timers are not exact).
WAIT = 2.0
#: How long a case waits to be sure that something does NOT happen.
QUIET = 0.3


# -- helpers ------------------------------------------------------------------------


def declare_queue(channel, name, **options):
    """Declare a plain (non-durable) queue; `options` are kombu Queue options."""
    options.setdefault("durable", False)
    queue = Queue(name, **options)
    queue.bind(channel).declare()
    return queue


def publish(channel, body, exchange="", routing_key="", **options):
    """basic.publish one JSON message."""
    Producer(channel, serializer="json").publish(
        body, exchange=exchange, routing_key=routing_key, **options)


def round_trip(channel):
    """A synchronous method that changes nothing (prefetch stays unlimited).

    When it returns, the broker has handled everything sent before it on this channel:
    asynchronous channel errors and basic.return frames have arrived."""
    channel.basic_qos(0, 0, False)  # prefetch_size, prefetch_count (0: no limit), global


def get(channel, queue, no_ack=False):
    """basic.get: one kombu Message, or None when the queue has nothing ready."""
    raw = channel.basic_get(queue=queue, no_ack=no_ack)
    return None if raw is None else channel.message_to_python(raw)


def take_all(channel, queue):
    """The bodies of every ready message of `queue`, in order (auto-acked)."""
    bodies = []
    while (message := get(channel, queue, no_ack=True)) is not None:
        bodies.append(message.payload)
    return bodies


def ready_count(channel, queue):
    """Messages ready in `queue`, from a passive queue.declare."""
    return channel.queue_declare(queue=queue, passive=True).message_count


def wait_get(channel, queue, timeout=WAIT):
    """basic.get until a message is there (requeues may take a moment on RabbitMQ)."""
    return eventually(lambda: get(channel, queue), timeout)


def queue_exists(conn, name):
    """Passive declare on a channel of its own (a 404 closes the channel)."""
    channel = conn.channel()
    try:
        channel.queue_declare(queue=name, passive=True)
    except NotFound:
        return False
    with contextlib.suppress(Exception):
        channel.close()
    return True


def exchange_exists(conn, name):
    """The same for an exchange (the type is not checked by a passive declare)."""
    channel = conn.channel()
    try:
        channel.exchange_declare(exchange=name, type="direct", passive=True)
    except NotFound:
        return False
    with contextlib.suppress(Exception):
        channel.close()
    return True


def consume(channel, queue, no_ack=False):
    """Start a consumer on an existing queue; returns (consumer, list of messages received)."""
    received = []
    consumer = Consumer(channel, queues=[Queue(queue)], no_ack=no_ack, auto_declare=False,
                        accept=["json"], callbacks=[lambda body, message: received.append(message)])
    consumer.consume()
    return consumer, received


def drain_until(conn, done, timeout=WAIT):
    """Process events on `conn` (deliveries to its consumers) until `done()` or time is up."""
    deadline = time.monotonic() + timeout
    while not done() and (left := deadline - time.monotonic()) > 0:
        with contextlib.suppress(socket.timeout):
            conn.drain_events(timeout=left)


def drain(conn, received, count, timeout=WAIT):
    """Process events on `conn` until `received` holds `count` messages or time is up."""
    drain_until(conn, lambda: len(received) >= count, timeout)
    return received


def routed(conn, exchange_type, bindings, keys):
    """Declare exchange `ex` and queues bound per `bindings` ({queue: [binding keys]}),
    publish one message per routing key in `keys` (the key is the body), and return
    {queue: [bodies received]}."""
    channel = conn.channel()
    exchange = Exchange("ex", exchange_type, durable=False)
    exchange.declare(channel=channel)
    for name, binding_keys in bindings.items():
        declare_queue(channel, name,
                      bindings=[binding(exchange, routing_key=k) for k in binding_keys])
    for key in keys:
        publish(channel, key, exchange="ex", routing_key=key)
    return {name: take_all(channel, name) for name in bindings}


def payloads(messages):
    """The decoded bodies of kombu Messages."""
    return [m.payload for m in messages]


# -- routing --------------------------------------------------------------------------


def test_direct_routes_on_exact_key(broker):
    """A direct exchange delivers to the queues whose binding key equals the routing key."""
    got = routed(broker.connect(), "direct", {"q1": ["a"], "q2": ["b"]},
                 ["a", "b", "a.b", "A", "c"])
    assert got == {"q1": ["a"], "q2": ["b"]}


def test_direct_same_key_reaches_every_queue_bound_with_it(broker):
    """Several queues bound with the same key each get a copy."""
    got = routed(broker.connect(), "direct", {"q1": ["k"], "q2": ["k"], "q3": ["other"]}, ["k"])
    assert got == {"q1": ["k"], "q2": ["k"], "q3": []}


def test_fanout_ignores_routing_key(broker):
    """A fanout exchange copies every message to every bound queue, whatever the keys."""
    got = routed(broker.connect(), "fanout", {"q1": ["x"], "q2": [""]}, ["y", ""])
    assert got == {"q1": ["y", ""], "q2": ["y", ""]}


def test_topic_star_matches_exactly_one_word(broker):
    """In a topic binding, `*` stands for exactly one dot-separated word."""
    got = routed(broker.connect(), "topic", {"q": ["*.info"]},
                 ["a.info", "b.info", "info", "a.b.info", "a.info.x", ".info"])
    assert got == {"q": ["a.info", "b.info", ".info"]}


def test_topic_hash_matches_zero_or_more_words(broker):
    """`#` stands for zero or more words: `compute.#` matches `compute` itself."""
    got = routed(broker.connect(), "topic", {"q": ["compute.#"]},
                 ["compute", "compute.a", "compute.a.b", "computer", "nova.compute", "compute2.a"])
    assert got == {"q": ["compute", "compute.a", "compute.a.b"]}


def test_topic_hash_alone_matches_everything(broker):
    """A binding of `#` receives every message, even one with an empty routing key."""
    keys = ["", "a", "a.b.c", "notifications.info"]
    assert routed(broker.connect(), "topic", {"q": ["#"]}, keys) == {"q": keys}


def test_topic_hash_in_the_middle(broker):
    """`a.#.z` matches `a.z`, `a.b.z` and `a.b.c.z`, but not `a.z.b`."""
    got = routed(broker.connect(), "topic", {"q": ["a.#.z"]},
                 ["a.z", "a.b.z", "a.b.c.z", "a.z.b", "b.a.z"])
    assert got == {"q": ["a.z", "a.b.z", "a.b.c.z"]}


def test_topic_binding_without_wildcard_is_an_exact_match(broker):
    """OpenStack binds `compute` and `compute.node1` to the topic exchange `nova`: no wildcards,
    so each queue only gets its own routing key."""
    got = routed(broker.connect(), "topic", {"compute": ["compute"],
                                             "compute.node1": ["compute.node1"]},
                 ["compute", "compute.node1", "compute.node10", "compute.node1.x", "node1"])
    assert got == {"compute": ["compute"], "compute.node1": ["compute.node1"]}


def test_overlapping_bindings_deliver_one_copy_per_queue(broker):
    """A message that matches several bindings of the same queue is queued there once."""
    got = routed(broker.connect(), "topic", {"q1": ["a.*", "*.b", "#", "a.b"], "q2": ["a.b"]},
                 ["a.b"])
    assert got == {"q1": ["a.b"], "q2": ["a.b"]}


def test_default_exchange_routes_to_queue_named_by_key(broker):
    """Every queue is reachable through the default exchange `""` with its name as key."""
    channel = broker.connect().channel()
    declare_queue(channel, "reply_1")
    declare_queue(channel, "reply_2")
    publish(channel, "hello", exchange="", routing_key="reply_1")
    assert take_all(channel, "reply_1") == ["hello"]
    assert take_all(channel, "reply_2") == []


def test_default_exchange_drops_message_for_unknown_queue(broker):
    """A routing key that names no queue: the message is dropped, no error, no queue created."""
    conn = broker.connect()
    channel = conn.channel()
    publish(channel, "lost", exchange="", routing_key="nobody")
    round_trip(channel)  # no channel error
    assert not queue_exists(conn, "nobody")
    declare_queue(channel, "nobody")
    assert take_all(channel, "nobody") == []


def test_headers_exchange_all_and_any(broker):
    """A headers exchange matches on message headers: x-match=all needs every pair,
    x-match=any needs one of them."""
    channel = broker.connect().channel()
    exchange = Exchange("hdr", "headers", durable=False)
    exchange.declare(channel=channel)
    declare_queue(channel, "all", exchange=exchange,
                  binding_arguments={"x-match": "all", "os": "linux", "arch": "x86"})
    declare_queue(channel, "any", exchange=exchange,
                  binding_arguments={"x-match": "any", "os": "linux", "arch": "x86"})
    publish(channel, "both", exchange="hdr", headers={"os": "linux", "arch": "x86", "x": "y"})
    publish(channel, "one", exchange="hdr", headers={"os": "linux"})
    publish(channel, "none", exchange="hdr", headers={"os": "bsd"})
    assert take_all(channel, "all") == ["both"]
    assert take_all(channel, "any") == ["both", "one"]


# -- acknowledgements -----------------------------------------------------------------


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
    time.sleep(QUIET)
    assert get(channel, "q") is None
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


def test_reject_requeue_does_not_copy_into_other_queues(broker):
    """A message routed to two queues and requeued in one comes back in that one only."""
    channel = broker.connect().channel()
    fan = Exchange("fan", "fanout", durable=False)
    declare_queue(channel, "q1", exchange=fan)
    declare_queue(channel, "q2", exchange=fan)
    publish(channel, "m", exchange="fan")
    get(channel, "q1").reject(requeue=True)
    # RabbitMQ answers a passive declare ahead of pending requeues: the count may lag.
    eventually(lambda: ready_count(channel, "q1") == 1)
    assert (ready_count(channel, "q1"), ready_count(channel, "q2")) == (1, 1)
    assert take_all(channel, "q1") == ["m"]
    assert take_all(channel, "q2") == ["m"]


def test_basic_recover_does_not_copy_into_other_queues(broker):
    """The same for basic.recover(requeue=True)."""
    channel = broker.connect().channel()
    fan = Exchange("fan", "fanout", durable=False)
    declare_queue(channel, "q1", exchange=fan)
    declare_queue(channel, "q2", exchange=fan)
    publish(channel, "m", exchange="fan")
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
    time.sleep(QUIET)
    assert get(channel, "q") is None
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
    time.sleep(QUIET)
    assert get(channel, "q") is None
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


# -- errors ---------------------------------------------------------------------------


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


# -- expiry ---------------------------------------------------------------------------


def test_message_expiration_is_enforced(broker):
    """A message published with `expiration` is dropped once it expires, never delivered."""
    channel = broker.connect().channel()
    declare_queue(channel, "q")
    publish(channel, "short", routing_key="q", expiration=0.2)
    publish(channel, "kept", routing_key="q")
    publish(channel, "short too", routing_key="q", expiration=0.2)
    time.sleep(1.0)
    assert take_all(channel, "q") == ["kept"]
    assert ready_count(channel, "q") == 0


def test_queue_message_ttl_is_enforced(broker):
    """x-message-ttl on the queue expires every message it holds."""
    channel = broker.connect().channel()
    declare_queue(channel, "q", queue_arguments={"x-message-ttl": 200})
    publish(channel, "m1", routing_key="q")
    publish(channel, "m2", routing_key="q")
    assert eventually(lambda: ready_count(channel, "q") == 2, timeout=0.15)
    time.sleep(1.0)
    assert ready_count(channel, "q") == 0
    assert get(channel, "q") is None


def test_queue_expires_when_unused(broker):
    """x-expires deletes a queue nobody uses (oslo's fanout and reply queues rely on it)."""
    conn = broker.connect()
    declare_queue(conn.channel(), "q", queue_arguments={"x-expires": 300})
    assert queue_exists(conn, "q")
    time.sleep(1.0)
    assert eventually(lambda: not queue_exists(conn, "q"))


def test_queue_with_a_consumer_does_not_expire(broker):
    """A queue with a consumer is in use: x-expires starts counting when the consumer leaves."""
    conn = broker.connect()
    channel = conn.channel()
    declare_queue(channel, "q", queue_arguments={"x-expires": 300})
    consumer, _ = consume(channel, "q")
    time.sleep(1.0)
    assert queue_exists(conn, "q")
    consumer.cancel()
    time.sleep(1.0)
    assert eventually(lambda: not queue_exists(conn, "q"))


# -- declared properties and counts ---------------------------------------------------


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
    time.sleep(QUIET)
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
    time.sleep(QUIET)
    assert queue_exists(conn, "q")
    second.cancel()
    assert eventually(lambda: not queue_exists(conn, "q"))


def test_auto_delete_exchange_deleted_with_its_last_binding(broker):
    """An auto_delete exchange (oslo's `<topic>_fanout`) lives until its last binding goes."""
    conn = broker.connect()
    channel = conn.channel()
    fanout = Exchange("compute_fanout", "fanout", durable=False, auto_delete=True)
    fanout.declare(channel=channel)
    time.sleep(QUIET)
    assert exchange_exists(conn, "compute_fanout")
    declare_queue(channel, "f1", exchange=fanout)
    declare_queue(channel, "f2", exchange=fanout)
    channel.queue_delete(queue="f1")
    time.sleep(QUIET)
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


# -- prefetch -------------------------------------------------------------------------


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
    drain(conn, received, 2, timeout=QUIET)
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
    drain_until(conn, lambda: False, timeout=QUIET)  # does anything more arrive?
    assert (len(a), len(b)) == (1, 1)
    assert sorted(payloads(a + b)) == ["m1", "m2"]
    assert ready_count(channel, "q") == 2
    a[0].ack()
    drain(conn, a, 2)
    assert payloads(a)[1] == "m3" and len(b) == 1


# -- mandatory publishing -------------------------------------------------------------


def returned_messages(channel):
    """A Producer that records basic.return frames: (reply_code, exchange, key, body)."""
    returned = []

    def on_return(exception, exchange, routing_key, message):
        returned.append((exception.reply_code, exchange, routing_key, json.loads(message.body)))

    return Producer(channel, serializer="json", on_return=on_return), returned


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


# -- topology snapshot ----------------------------------------------------------------


def declare_nova_like_topology(conn):
    """What oslo.messaging declares for one compute service, plus a durable and an
    exclusive queue."""
    channel = conn.channel()
    nova = Exchange("nova", "topic", durable=False)
    fanout = Exchange("compute_fanout", "fanout", durable=False, auto_delete=True)
    declare_queue(channel, "compute", exchange=nova, routing_key="compute")
    declare_queue(channel, "compute.node1", exchange=nova, routing_key="compute.node1")
    declare_queue(channel, "compute_fanout_1", exchange=fanout, routing_key="compute",
                  queue_arguments={"x-expires": 1800000})
    declare_queue(channel, "reply_1", queue_arguments={"x-expires": 1800000})
    declare_queue(channel, "kept", durable=True)
    declare_queue(channel, "mine", exclusive=True)
    return channel


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


# -- threads and connections ----------------------------------------------------------


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
    thread.start()
    time.sleep(QUIET)  # the consumer is now blocked waiting
    channel = producer_conn.channel()
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
