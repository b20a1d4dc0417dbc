"""The brokers, through plain kombu, with the same code on every broker.

* request/reply latency (median of many round trips between two threads);
* throughput of 10,000 small messages (publisher and consumer threads at once);
* CPU burnt by an idle consumer over 2 s;

on kombu's stock ``memory://`` transport (``polling_interval=0``, its fastest
setting), on the course's embedded broker, and on RabbitMQ.
"""

from __future__ import annotations

import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable

import kombu

from .. import broker
from .report import target

ROUND_TRIPS = 2000
MESSAGES = 10_000
RUNS = 5
IDLE_SECONDS = 2.0

Connect = Callable[[], kombu.Connection]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _drain_until(conn: kombu.Connection, done: threading.Event) -> None:
    while not done.is_set():
        try:
            conn.drain_events(timeout=0.5)
        except TimeoutError:
            pass


def request_reply(connect: Connect, round_trips: int = ROUND_TRIPS) -> float:
    """Median seconds for one request and its reply between two threads."""
    requests, replies = kombu.Queue("bench.requests"), kombu.Queue("bench.replies")
    done = threading.Event()
    with connect() as server_conn, connect() as client_conn:
        for queue in (requests, replies):
            queue(client_conn.default_channel).declare()
        server_producer = kombu.Producer(server_conn.channel())

        def answer(body: object, message: kombu.Message) -> None:
            server_producer.publish(body, routing_key="bench.replies", serializer="json")
            message.ack()

        server = threading.Thread(target=_serve, args=(server_conn, requests, answer, done))
        server.start()
        times = []
        got: list[object] = []
        producer = kombu.Producer(client_conn.channel())
        consumer = client_conn.Consumer(
            replies, callbacks=[lambda body, message: (got.append(body), message.ack())])
        with consumer:
            for n in range(round_trips):
                started = time.perf_counter()
                producer.publish(n, routing_key="bench.requests", serializer="json")
                while not got:
                    client_conn.drain_events(timeout=5)
                times.append(time.perf_counter() - started)
                got.clear()
        done.set()
        server.join(5)
        for queue in (requests, replies):
            queue(client_conn.default_channel).delete()
    return statistics.median(times)


def _serve(conn: kombu.Connection, queue: kombu.Queue, callback: Callable,
           done: threading.Event) -> None:
    with conn.Consumer(queue, callbacks=[callback]):
        _drain_until(conn, done)


def throughput(connect: Connect, messages: int = MESSAGES) -> float:
    """Messages per second, publisher and consumer threads running at once (median run)."""
    rates = []
    queue = kombu.Queue("bench.throughput")
    for _run in range(RUNS):
        done = threading.Event()
        on_message = _counter(messages, done)
        with connect() as consumer_conn, connect() as publisher_conn:
            queue(publisher_conn.default_channel).declare()
            with consumer_conn.Consumer(queue, callbacks=[on_message]):
                thread = threading.Thread(target=_drain_until, args=(consumer_conn, done))
                thread.start()
                producer = kombu.Producer(publisher_conn.channel())
                started = time.perf_counter()
                for _n in range(messages):
                    producer.publish(b"x" * 64, routing_key="bench.throughput")
                if not done.wait(60):
                    raise RuntimeError(f"{messages} messages did not arrive within 60 s")
                rates.append(messages / (time.perf_counter() - started))
                thread.join(5)
            queue(publisher_conn.default_channel).delete()
    return statistics.median(rates)


def _counter(expected: int, done: threading.Event) -> Callable:
    """A consumer callback that acks and sets ``done`` at the ``expected``-th message."""
    seen = [0]

    def on_message(body: object, message: kombu.Message) -> None:
        message.ack()
        seen[0] += 1
        if seen[0] == expected:
            done.set()

    return on_message


def idle_cpu(connect: Connect, seconds: float = IDLE_SECONDS) -> float:
    """Fraction of one core used by a consumer waiting for messages that never come."""
    queue = kombu.Queue("bench.idle")
    done = threading.Event()
    with connect() as conn:
        queue(conn.default_channel).declare()
        with conn.Consumer(queue, callbacks=[lambda body, message: message.ack()]):
            thread = threading.Thread(target=_drain_until, args=(conn, done))
            thread.start()
            time.sleep(0.2)
            before = _cpu_seconds()
            time.sleep(seconds)
            used = _cpu_seconds() - before
            done.set()
            thread.join(5)
        queue(conn.default_channel).delete()
    return used / seconds


def measure(name: str, connect: Connect) -> dict:
    print(f"  {name}…", file=sys.stderr, flush=True)
    return {
        "broker": name,
        "request_reply_ms": request_reply(connect, ROUND_TRIPS) * 1000,
        "throughput_msg_s": throughput(connect, MESSAGES),
        "idle_cpu_core_fraction": idle_cpu(connect, IDLE_SECONDS),
    }


def run(rabbitmq_url: str | None) -> dict:
    """The kombu-level figures on every broker, and the embedded broker's targets."""
    rows = [measure("kombu memory:// (polling 0)", lambda: kombu.Connection(
        "memory://", transport_options={"polling_interval": 0}))]
    broker.reset()
    url = broker.add_vhost("bench")
    rows.append(measure("embedded", lambda: broker.connect(url)))
    broker.reset()
    if rabbitmq_url:
        rows.append(measure("RabbitMQ (loopback, publisher confirms as oslo)",
                            lambda: broker.connect(rabbitmq_url)))
    raw, emb = rows[0], rows[1]
    targets = [
        target("embedded request/reply <= 2x raw kombu",
               emb["request_reply_ms"] <= 2 * raw["request_reply_ms"],
               f"{emb['request_reply_ms'] / raw['request_reply_ms']:.2f}x"),
        target("embedded throughput >= 50% of raw kombu",
               emb["throughput_msg_s"] >= 0.5 * raw["throughput_msg_s"],
               f"{100 * emb['throughput_msg_s'] / raw['throughput_msg_s']:.0f}%"),
        target("embedded idle consumer <= 1% of a core",
               emb["idle_cpu_core_fraction"] <= 0.01,
               f"{100 * emb['idle_cpu_core_fraction']:.2f}%"),
    ]
    return {"settings": {"round_trips": ROUND_TRIPS, "messages": MESSAGES, "runs": RUNS,
                         "idle_seconds": IDLE_SECONDS},
            "rows": rows, "targets": targets}


def table(section: dict) -> list[str]:
    lines = [f"{'broker':<48} {'request/reply':>14} {'throughput':>16} {'idle CPU':>9}"]
    for row in section["rows"]:
        lines.append(f"{row['broker']:<48} {row['request_reply_ms']:>11.3f} ms "
                     f"{row['throughput_msg_s']:>10,.0f} msg/s "
                     f"{100 * row['idle_cpu_core_fraction']:>8.2f}%")
    return lines
