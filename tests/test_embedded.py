"""What only the embedded broker has to prove: in-process behaviour, threads, CPU, reset.

AMQP behaviour shared with RabbitMQ is in test_conformance_*.py.
"""

from __future__ import annotations

import gc
import resource
import threading
import time

import kombu
import pytest
from amqp import exceptions as amqp_errors
from helpers import eventually

import course
from course import embedded
from course.routing import topic_matches


@pytest.fixture(autouse=True)
def _clean_broker():
    course.broker.reset()
    yield
    course.broker.reset()


@pytest.mark.parametrize(
    "binding, key, expected",
    [
        ("compute.#", "compute", True),
        ("compute.#", "compute.host1", True),
        ("compute.#", "compute.host1.extra", True),
        ("compute.*", "compute", False),
        ("compute.*", "compute.host1", True),
        ("compute.*", "compute.host1.extra", False),
        ("#", "", True),
        ("#", "a.b.c", True),
        ("*", "", False),
        ("#.info", "info", True),
        ("#.info", "notifications.info", True),
        ("*.info", "a.b.info", False),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.#.z", "a.b.c", False),
        ("compute", "compute.host1", False),
    ],
)
def test_topic_words(binding, key, expected):
    assert topic_matches(binding, key) is expected


def test_connect_defaults_to_embedded(monkeypatch):
    monkeypatch.delenv("COURSE_TRANSPORT_URL", raising=False)
    conn = course.broker.connect()
    try:
        assert conn.transport_cls == "embedded"
        assert conn.connected
    finally:
        conn.close()


def test_vhosts_are_separate():
    with course.broker.connect(course.broker.add_vhost("cell1")) as a, course.broker.connect() as b:
        kombu.Queue("compute", channel=a.default_channel).declare()
        assert [q["name"] for q in embedded.describe("cell1")["queues"]] == ["compute"]
        assert embedded.describe("/")["queues"] == []
        with pytest.raises(amqp_errors.NotFound):
            kombu.Queue("compute", channel=b.channel()).queue_declare(passive=True)
    assert embedded.vhosts() == ["/", "cell1"]


def test_describe_has_management_api_fields():
    with course.broker.connect() as conn:
        kombu.Queue("q", kombu.Exchange("x", "direct", durable=False), "k", durable=False,
                    channel=conn.default_channel).declare()
    records = embedded.describe()
    assert {"", "amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match", "x"} == {
        e["name"] for e in records["exchanges"]}
    assert records["queues"][0].keys() >= {
        "name", "vhost", "durable", "auto_delete", "exclusive", "arguments", "messages_ready",
        "messages_unacknowledged", "messages", "consumers"}
    assert {(b["source"], b["destination"], b["routing_key"]) for b in records["bindings"]} == {
        ("", "q", "q"), ("x", "q", "k")}


def test_reset_closes_open_connections():
    conn = course.broker.connect()
    queue = kombu.Queue("q", channel=conn.default_channel)
    queue.declare()
    course.broker.reset()
    assert embedded.describe()["queues"] == []
    with pytest.raises(conn.connection_errors):
        queue.declare()
    conn.close()


def test_reset_wakes_a_blocked_consumer():
    conn = course.broker.connect()
    queue = kombu.Queue("q", channel=conn.default_channel)
    queue.declare()
    errors = []

    def wait():
        with conn.Consumer(queue, callbacks=[lambda body, message: None]):
            try:
                conn.drain_events(timeout=5)
            except conn.connection_errors as exc:
                errors.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    assert eventually(lambda: embedded.describe()["queues"][0]["consumers"] == 1)
    started = time.monotonic()
    course.broker.reset()
    thread.join(5)
    assert errors and time.monotonic() - started < 1


def test_forgotten_connection_gives_its_messages_back():
    """A connection garbage-collected without close() behaves like a dead TCP peer."""
    with course.broker.connect() as publisher:
        queue = kombu.Queue("q", channel=publisher.default_channel)
        queue.declare()
        publisher.default_channel.basic_publish(
            publisher.default_channel.prepare_message(b"hello"), "", "q")

    def take_without_ack():
        conn = course.broker.connect()
        message = kombu.Queue("q", channel=conn.channel()).get()
        assert message.body == b"hello"

    take_without_ack()
    gc.collect()
    (record,) = embedded.describe()["queues"]
    assert (record["messages_ready"], record["messages_unacknowledged"]) == (1, 0)



def test_a_finalizer_that_closes_a_connection_inside_an_operation_does_not_hang():
    """The garbage collector may run a finalizer in the middle of one of the broker's
    operations, in the thread that holds its lock: oslo's ``ConnectionContext.__del__``
    then closes a kombu connection.  The close is put off to the next operation (it used to
    wait for the lock its own thread held, and every thread of the broker stopped)."""
    with course.broker.connect() as publisher:
        queue = kombu.Queue("q", channel=publisher.default_channel)
        queue.declare()
        publisher.default_channel.basic_publish(
            publisher.default_channel.prepare_message(b"hello"), "", "q")
    taker = course.broker.connect()
    assert kombu.Queue("q", channel=taker.channel()).get().body == b"hello"  # unacked

    def close_inside_an_operation():
        with embedded.BROKER.lock:  # what a finalizer inside basic_ack sees
            taker.close()

    thread = threading.Thread(target=close_inside_an_operation, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the close waited for the lock its own thread held"
    (record,) = embedded.describe()["queues"]  # the next operation closed it
    assert (record["messages_ready"], record["messages_unacknowledged"]) == (1, 0)

def test_idle_consumer_burns_no_cpu():
    """A consumer waiting for messages sleeps on a condition variable: no polling loop."""
    conn = course.broker.connect()
    queue = kombu.Queue("idle", channel=conn.default_channel)
    queue.declare()
    stop = threading.Event()

    def wait():
        with conn.Consumer(queue, callbacks=[lambda body, message: message.ack()]):
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=2)
                except TimeoutError:
                    pass

    thread = threading.Thread(target=wait)
    thread.start()
    assert eventually(lambda: embedded.describe()["queues"][0]["consumers"] == 1)
    before = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(1.0)  # not a wait: the window the CPU is measured over
    after = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    with course.broker.connect() as other:
        kombu.Producer(other.default_channel).publish(b"bye", routing_key="idle")
    thread.join(5)
    conn.close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 0.05, f"an idle consumer used {cpu:.3f} s of CPU in 1 s"


def test_many_threads_lose_nothing():
    """4 publishers and 4 consumers on one queue: every message is delivered exactly once."""
    per_thread, threads = 500, 4
    with course.broker.connect() as conn:
        kombu.Queue("work", channel=conn.default_channel).declare()
    seen: list[int] = []
    lock = threading.Lock()
    done = threading.Event()

    def consume():
        with course.broker.connect() as conn:
            def on_message(body, message):
                with lock:
                    seen.append(int(body))
                    if len(seen) == per_thread * threads:
                        done.set()
                message.ack()

            with conn.Consumer(kombu.Queue("work"), callbacks=[on_message], prefetch_count=10):
                while not done.is_set():
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass

    def publish(start):
        with course.broker.connect() as conn:
            producer = kombu.Producer(conn.default_channel, serializer="json")
            for n in range(start, start + per_thread):
                producer.publish(n, routing_key="work")

    workers = [threading.Thread(target=consume) for _ in range(threads)]
    workers += [threading.Thread(target=publish, args=(i * per_thread,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    assert done.wait(20)
    for thread in workers:
        thread.join(5)
    assert sorted(seen) == list(range(per_thread * threads))
    (record,) = embedded.describe()["queues"]
    assert record["messages"] == 0


def test_a_failing_callback_loses_no_delivery():
    """Deliveries are handed out in batches; one callback raising keeps the rest for later."""
    with course.broker.connect() as conn:
        queue = kombu.Queue("batch", channel=conn.default_channel)
        queue.declare()
        producer = kombu.Producer(conn.default_channel)
        for n in range(5):
            producer.publish(n, routing_key="batch", serializer="json")
        seen = []

        def on_message(body, message):
            message.ack()
            seen.append(body)
            if body == 1:
                raise RuntimeError("boom")

        with conn.Consumer(queue, callbacks=[on_message]):
            with pytest.raises(RuntimeError):
                conn.drain_events(timeout=1)
            while len(seen) < 5:
                conn.drain_events(timeout=1)
    assert seen == [0, 1, 2, 3, 4]


def test_stop_refuses_connections_and_start_keeps_only_what_is_durable():
    """Like stopping and starting RabbitMQ: durable queues and persistent messages survive,
    transient ones (OpenStack's defaults) do not."""
    with course.broker.connect() as conn:
        channel = conn.default_channel
        kept = kombu.Queue("kept", kombu.Exchange("durable-x", "direct", durable=True), "k",
                           durable=True, channel=channel)
        kept.declare()
        kombu.Queue("compute.c1", kombu.Exchange("nova", "topic", durable=False), "compute.c1",
                    durable=False, channel=channel).declare()
        producer = kombu.Producer(channel)
        producer.publish(b"persistent", exchange="durable-x", routing_key="k", delivery_mode=2)
        producer.publish(b"transient", exchange="durable-x", routing_key="k", delivery_mode=1)
        producer.publish(b"cast", exchange="nova", routing_key="compute.c1")
    course.broker.stop()
    started = time.monotonic()
    with pytest.raises(course.errors.BrokerUnreachable, match="course.broker.start"):
        course.broker.connect()
    assert time.monotonic() - started < 1
    course.broker.start()
    records = embedded.describe()
    assert [(q["name"], q["messages_ready"]) for q in records["queues"]] == [("kept", 1)]
    assert "nova" not in {e["name"] for e in records["exchanges"]}
    with course.broker.connect() as conn:
        message = kombu.Queue("kept", channel=conn.default_channel).get()
        assert message.body == b"persistent"


@pytest.mark.parametrize(("arguments", "what"), [
    ({"x-queue-type": "stream"}, "stream queues are not implemented"),
    ({"x-queue-type": "quorum", "x-dead-letter-strategy": "at-least-once"},
     "at-least-once dead-lettering is not implemented"),
])
def test_what_the_embedded_broker_does_not_implement_is_refused(arguments, what):
    """Never accepted and ignored: RabbitMQ would honour these, the embedded broker says
    it cannot (a channel error, 406)."""
    with course.broker.connect() as conn:
        channel = conn.channel()
        with pytest.raises(amqp_errors.PreconditionFailed) as error:
            channel.queue_declare(queue="s", durable=True, auto_delete=False,
                                  arguments=arguments)
    assert what in error.value.reply_text and "(use RabbitMQ)" in error.value.reply_text


def test_embedded_connections_confirm_publishes_like_rabbitmq_ones():
    """course.broker.connect() turns publisher confirms on, as open_connection does for
    RabbitMQ: a publish a full reject-publish queue refuses raises MessageNacked."""
    with course.broker.connect() as conn:
        channel = conn.channel()
        channel.queue_declare(queue="full", auto_delete=False,
                              arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
        producer = kombu.Producer(channel)
        with pytest.raises(amqp_errors.MessageNacked):
            producer.publish("x", routing_key="full")
    with kombu.Connection("embedded://") as plain:  # no confirms: dropped in silence
        kombu.Producer(plain.channel()).publish("x", routing_key="full")
