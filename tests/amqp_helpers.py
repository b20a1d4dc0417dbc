"""What the broker conformance cases share (tests/test_conformance_*.py).

Every case runs twice through the `broker` fixture (conftest.py): once on the course's
embedded broker and once on a private RabbitMQ node, each time in a fresh vhost. The
cases are written against RabbitMQ's real behaviour; a case must never look at
`broker.kind`. When the embedded broker fails a case, the embedded broker is wrong.

Only kombu's public API is used, so every case also reads as an example for learners.
A case never sleeps to wait for something: it waits on the condition (`eventually`).
To show that something does NOT happen, it sends a marker behind it and waits for the
marker, or lets a broker timer's deadline pass (`let_elapse`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import time

from amqp.exceptions import NotFound
from helpers import eventually
from kombu import Consumer, Exchange, Producer, Queue, binding

#: How long a case waits for something that must happen (RabbitMQ timers are not exact).
WAIT = 2.0


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


def drain_pending(conn):
    """Run the callbacks of deliveries that already arrived, without waiting for more."""
    drain_until(conn, lambda: False, timeout=0)


def ahead_of_marker(channel, queue):
    """Publish a marker to `queue`, then take (auto-acked) the messages ready up to it.

    [] says nothing was ready ahead of the marker: no message that should be gone came
    back (a requeue would have put it at the head)."""
    publish(channel, "marker", routing_key=queue)
    ahead = []
    while (message := eventually(lambda: get(channel, queue, no_ack=True))).payload != "marker":
        ahead.append(message.payload)
    return ahead


def let_elapse(start, seconds):
    """Let a broker timer's deadline pass (`seconds` after the monotonic time `start`):
    only to show that something does NOT happen once it has passed."""
    time.sleep(max(0.0, start + seconds - time.monotonic()))


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


def returned_messages(channel):
    """A Producer that records basic.return frames: (reply_code, exchange, key, body)."""
    returned = []

    def on_return(exception, exchange, routing_key, message):
        returned.append((exception.reply_code, exchange, routing_key, json.loads(message.body)))

    return Producer(channel, serializer="json", on_return=on_return), returned


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
