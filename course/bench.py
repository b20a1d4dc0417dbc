"""Benchmark: ``python -m course.bench [--output FILE] [--no-rabbitmq]``.

Measures, in one run and with the same kombu code on every broker:

* request/reply latency (median of many round trips between two threads);
* throughput of 10,000 small messages (publisher and consumer threads at once);
* CPU burnt by an idle consumer over 2 s;

on kombu's stock ``memory://`` transport (``polling_interval=0``, its fastest
setting), on the course's embedded broker, and on a private RabbitMQ node when
RabbitMQ is installed.  Prints a table with the targets, writes the figures as
JSON.  Timings depend on the machine: compare ratios, not single figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import kombu

from . import broker
from .rabbitmq import RabbitMQNode, find_server

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
        "request_reply_ms": request_reply(connect) * 1000,
        "throughput_msg_s": throughput(connect),
        "idle_cpu_core_fraction": idle_cpu(connect),
    }


def run(with_rabbitmq: bool = True) -> dict:
    results = []
    with ExitStack() as stack:
        results.append(measure("kombu memory:// (polling 0)", lambda: kombu.Connection(
            "memory://", transport_options={"polling_interval": 0})))
        broker.reset()
        results.append(measure("embedded", lambda: broker.connect("embedded:///bench")))
        broker.reset()
        if with_rabbitmq and find_server() is not None:
            node = stack.enter_context(RabbitMQNode.start())
            results.append(measure("RabbitMQ (loopback)", lambda: broker.connect(node.url)))
        rpc_figures = rpc_calls(node.url if with_rabbitmq and find_server() is not None else None)
    raw, emb = results[0], results[1]
    targets = [
        ("embedded request/reply <= 2x raw kombu",
         emb["request_reply_ms"] <= 2 * raw["request_reply_ms"],
         f"{emb['request_reply_ms'] / raw['request_reply_ms']:.2f}x"),
        ("embedded throughput >= 50% of raw kombu",
         emb["throughput_msg_s"] >= 0.5 * raw["throughput_msg_s"],
         f"{100 * emb['throughput_msg_s'] / raw['throughput_msg_s']:.0f}%"),
        ("embedded idle consumer <= 1% of a core",
         emb["idle_cpu_core_fraction"] <= 0.01,
         f"{100 * emb['idle_cpu_core_fraction']:.2f}%"),
    ]
    return {
        "machine": {"python": platform.python_version(), "kombu": kombu.__version__,
                    "platform": platform.platform()},
        "settings": {"round_trips": ROUND_TRIPS, "messages": MESSAGES, "runs": RUNS,
                     "idle_seconds": IDLE_SECONDS},
        "brokers": results,
        "targets": [{"target": t, "met": met, "value": v} for t, met, v in targets],
        "rpc_calls": rpc_figures,
    }


def table(report: dict) -> str:
    lines = [f"{'broker':<30} {'request/reply':>14} {'throughput':>14} {'idle CPU':>10}"]
    for row in report["brokers"]:
        lines.append(f"{row['broker']:<30} {row['request_reply_ms']:>11.3f} ms "
                     f"{row['throughput_msg_s']:>9,.0f} msg/s "
                     f"{100 * row['idle_cpu_core_fraction']:>8.2f}%")
    lines.append("")
    for target in report["targets"]:
        lines.append(f"[{'met' if target['met'] else 'MISSED':>6}] {target['target']}: "
                     f"{target['value']}")
    lines += rpc_table(report["rpc_calls"]) if "rpc_calls" in report else []
    return "\n".join(lines)


# -- RPC: course.rpc against oslo.messaging ---------------------------------------------------

RPC_CALLS = 2000
RPC_RUNS = 3


class _Ping:
    """The endpoint of the RPC benchmark: the cheapest method there is."""

    def ping(self, ctxt: dict, n: int = 0) -> int:
        return n


def _call_rate(client: object, calls: int, runs: int) -> float:
    """Median calls per second of ``calls`` sequential call()s, over ``runs`` runs."""
    client.call({}, "ping")  # the first call creates the reply queue: not measured
    rates = []
    for _run in range(runs):
        started = time.perf_counter()
        for n in range(calls):
            client.call({}, "ping", n=n)
        rates.append(calls / (time.perf_counter() - started))
    return statistics.median(rates)


def _course_call_rate(url: str, calls: int, runs: int) -> float:
    from . import rpc

    transport = rpc.get_transport(url, "nova", service="bench")
    server = rpc.get_rpc_server(transport, rpc.Target(topic="bench", server="b1"), [_Ping()])
    server.start()
    try:
        client = rpc.get_rpc_client(transport, rpc.Target(topic="bench"), timeout=10)
        return _call_rate(client, calls, runs)
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


def _oslo_call_rate(url: str, calls: int, runs: int) -> float:
    """The same loop with the real oslo.messaging (a test extra, imported only here)."""
    import warnings

    with warnings.catch_warnings():  # oslo.service imports eventlet, which warns
        warnings.simplefilter("ignore")
        import oslo_messaging as om
        from oslo_config import cfg
        from oslo_messaging import transport as om_transport
        from oslo_messaging._drivers import amqp as om_amqp
        from oslo_messaging._drivers import impl_rabbit
        from oslo_messaging._metrics import client as om_metrics
        from oslo_messaging._tracing import client as om_tracing

    conf = cfg.ConfigOpts()  # private: what oslo.messaging 18 reads must be registered
    conf([], project="course-bench", default_config_files=[], default_config_dirs=[])
    conf.register_opts(om_tracing.oslo_messaging_tracing, group="oslo_messaging_tracing")
    conf.register_opts(om_metrics.oslo_messaging_metrics, group="oslo_messaging_metrics")
    conf.register_opts(om_transport._transport_opts)
    conf.register_opts(om_amqp.amqp_opts + impl_rabbit.rabbit_opts,
                       group="oslo_messaging_rabbit")
    conf.set_override("control_exchange", "nova")
    conf.set_override("heartbeat_timeout_threshold", 0, group="oslo_messaging_rabbit")
    transport = om.get_rpc_transport(conf, url=url)
    server = om.get_rpc_server(transport, om.Target(topic="bench", server="b1"), [_Ping()])
    server.start()
    try:
        client = om.get_rpc_client(transport, om.Target(topic="bench"), timeout=10)
        return _call_rate(client, calls, runs)
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


def rpc_calls(rabbitmq_url: str | None = None, calls: int = RPC_CALLS,
              runs: int = RPC_RUNS) -> dict:
    """course.rpc ``call()`` per second against oslo.messaging's, with the same loop.

    In-process: the course on its embedded broker, oslo on ``kombu+memory:////`` (which
    forces ``polling_interval = 0``), and, for comparison, oslo on the embedded broker
    (``kombu+embedded:////``).  Then both on RabbitMQ when ``rabbitmq_url`` is given.
    oslo.messaging is a test extra: without it, only the course's figures are given.
    """
    import importlib.util
    import logging

    print("  course.rpc against oslo.messaging…", file=sys.stderr, flush=True)
    has_oslo = importlib.util.find_spec("oslo_messaging") is not None
    quiet = {name: logging.getLogger(name).level for name in ("kombu", "amqp",
                                                                "oslo_messaging")}
    for name in quiet:  # "No hostname was supplied", "Heartbeat support requested"...
        logging.getLogger(name).setLevel(logging.ERROR)
    rows = []
    try:
        cases = [("course.rpc", "embedded", "embedded:///bench-rpc", _course_call_rate)]
        if has_oslo:
            cases += [("oslo.messaging", "kombu+memory (polling 0)", "kombu+memory:////",
                       _oslo_call_rate),
                      ("oslo.messaging", "embedded", "kombu+embedded:////bench-oslo",
                       _oslo_call_rate)]
        if rabbitmq_url:
            cases.append(("course.rpc", "RabbitMQ", rabbitmq_url, _course_call_rate))
            if has_oslo:
                cases.append(("oslo.messaging", "RabbitMQ", rabbitmq_url, _oslo_call_rate))
        for library, where, url, rate in cases:
            rows.append({"library": library, "broker": where,
                         "calls_per_s": rate(url, calls, runs)})
            broker.reset()
    finally:
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)

    def figure(library: str, where: str) -> float | None:
        return next((r["calls_per_s"] for r in rows
                     if r["library"] == library and r["broker"] == where), None)

    targets = []
    for where, oslo_where, factor in (("embedded", "kombu+memory (polling 0)", 2.0),
                                      ("RabbitMQ", "RabbitMQ", 1.0)):
        course, oslo = figure("course.rpc", where), figure("oslo.messaging", oslo_where)
        if course and oslo:
            targets.append({"target": f"course.rpc calls/s on {where} >= {factor:g}x "
                                      f"oslo.messaging on {oslo_where}",
                            "met": course >= factor * oslo, "value": f"{course / oslo:.2f}x"})
    return {"calls": calls, "runs": runs, "oslo_messaging": has_oslo, "rows": rows,
            "targets": targets}


def rpc_table(figures: dict) -> list[str]:
    """The RPC section of the printed table."""
    lines = ["", f"RPC call() per second, {figures['calls']:,} sequential calls of ping, "
                 f"median of {figures['runs']} runs"]
    lines += [f"{row['library']:<16} {row['broker']:<26} {row['calls_per_s']:>9,.0f} calls/s"
              for row in figures["rows"]]
    if not figures["oslo_messaging"]:
        lines.append("(oslo.messaging is not installed: pip install -e '.[test]' to compare)")
    lines += [f"[{'met' if t['met'] else 'MISSED':>6}] {t['target']}: {t['value']}"
              for t in figures["targets"]]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--no-rabbitmq", action="store_true",
                        help="skip the private RabbitMQ node even when RabbitMQ is installed")
    args = parser.parse_args(argv)
    report = run(with_rabbitmq=not args.no_rabbitmq)
    print(table(report))
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nfigures written to {args.output}")
    return 0 if all(t["met"] for t in report["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
