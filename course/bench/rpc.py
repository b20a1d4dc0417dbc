"""RPC: course.rpc ``call()`` per second against the real oslo.messaging, same loop."""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from .. import broker
from .report import target

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


def _library_call_rate(library: Any, transport: Any, calls: int, runs: int) -> float:
    """The same code for course.rpc and oslo_messaging: the course keeps oslo's names."""
    target = library.Target(topic="bench", server="b1")
    server = library.get_rpc_server(transport, target, [_Ping()])
    server.start()
    try:
        client = library.get_rpc_client(transport, library.Target(topic="bench"), timeout=10)
        return _call_rate(client, calls, runs)
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


def _course_call_rate(url: str, calls: int, runs: int) -> float:
    from .. import rpc

    return _library_call_rate(rpc, rpc.get_transport(url, "nova", service="bench"), calls,
                              runs)


def oslo_config(project: str, **rabbit: object) -> object:
    """A private oslo.config for the real oslo.messaging (a test extra): oslo.messaging 18
    needs its tracing and metrics options registered before it runs (platform-notes §2);
    control_exchange nova, and AMQP heartbeats off so that servers stop quickly."""
    import warnings

    with warnings.catch_warnings():  # oslo.service imports eventlet, which warns
        warnings.simplefilter("ignore")
        from oslo_config import cfg
        from oslo_messaging import transport as om_transport
        from oslo_messaging._drivers import amqp as om_amqp
        from oslo_messaging._drivers import impl_rabbit
        from oslo_messaging._metrics import client as om_metrics
        from oslo_messaging._tracing import client as om_tracing

    conf = cfg.ConfigOpts()
    conf([], project=project, default_config_files=[], default_config_dirs=[])
    conf.register_opts(om_tracing.oslo_messaging_tracing, group="oslo_messaging_tracing")
    conf.register_opts(om_metrics.oslo_messaging_metrics, group="oslo_messaging_metrics")
    conf.register_opts(om_transport._transport_opts)
    conf.register_opts(om_amqp.amqp_opts + impl_rabbit.rabbit_opts,
                       group="oslo_messaging_rabbit")
    conf.set_override("control_exchange", "nova")
    for name, value in {"heartbeat_timeout_threshold": 0, **rabbit}.items():
        conf.set_override(name, value, group="oslo_messaging_rabbit")
    return conf


def _oslo_call_rate(url: str, calls: int, runs: int) -> float:
    """The same loop with the real oslo.messaging (a test extra, imported only here)."""
    import warnings

    with warnings.catch_warnings():  # oslo.service imports eventlet, which warns
        warnings.simplefilter("ignore")
        import oslo_messaging as om

    transport = om.get_rpc_transport(oslo_config("course-bench"), url=url)
    return _library_call_rate(om, transport, calls, runs)


def run(rabbitmq_url: str | None = None, calls: int | None = None,
        runs: int | None = None) -> dict:
    """course.rpc ``call()`` per second against oslo.messaging's, with the same loop.

    In-process: the course on its embedded broker, oslo on ``kombu+memory:////`` (which
    forces ``polling_interval = 0``), and, for comparison, oslo on the embedded broker
    (``kombu+embedded:////``).  Then both on RabbitMQ when ``rabbitmq_url`` is given.
    oslo.messaging is a test extra: without it, only the course's figures are given.
    """
    import importlib.util
    import logging

    calls, runs = calls or RPC_CALLS, runs or RPC_RUNS

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
            if where == "embedded":  # made again after each reset(), as an operator would
                broker.add_vhost(url.rpartition("/")[2])
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
            targets.append(target(f"course.rpc calls/s on {where} >= {factor:g}x "
                                  f"oslo.messaging on {oslo_where}",
                                  course >= factor * oslo, f"{course / oslo:.2f}x"))
    return {"calls": calls, "runs": runs, "oslo_messaging": has_oslo, "rows": rows,
            "targets": targets}


def table(figures: dict) -> list[str]:
    """The RPC section of the printed table."""
    lines = [f"RPC call() per second, {figures['calls']:,} sequential calls of ping, "
                 f"median of {figures['runs']} runs"]
    lines += [f"{row['library']:<16} {row['broker']:<26} {row['calls_per_s']:>9,.0f} calls/s"
              for row in figures["rows"]]
    if not figures["oslo_messaging"]:
        lines.append("(oslo.messaging is not installed: pip install -e '.[test]' to compare)")
    return lines
