"""The simulated cloud: boots per second, messages per boot, an idle cloud's CPU, diagrams.

* 1,000 boots over 10 computes in zero-delay mode (no build time, no heartbeats), on
  the embedded broker and on RabbitMQ: boots per second, and the messages one boot
  puts on the bus (from the trace);
* CPU burnt over 3 s by an idle cloud (nova-api, -conductor, -scheduler, 10 computes,
  with the lesson's heartbeat every second);
* time to draw the topology of a lab with 100 computes, ``dot`` included.
"""

from __future__ import annotations

import sys
import time

from .. import broker
from ..openstack.nova import NovaCloud, Timings
from ..openstack.nova.cloud import FINAL
from ..trace import Trace
from .report import target

BOOTS = 1000
COMPUTES = 10
IDLE_SECONDS = 3.0
DIAGRAM_COMPUTES = 100
#: Big enough hypervisors for 1,000 m1.nano servers on 10 hosts.
RESOURCES = {"vcpus": 1000, "memory_mb": 1_000_000, "local_gb": 100_000}


def _hosts(count: int) -> list[str]:
    return [f"compute{n}" for n in range(1, count + 1)]


def boots(url: str, count: int = BOOTS, computes: int = COMPUTES) -> dict:
    """Boot ``count`` servers at once, wait until every one is ACTIVE."""
    trace = Trace(limit=count * 200)
    with NovaCloud(url, trace, computes=_hosts(computes), timings=Timings.zero(),
                   resources=RESOURCES) as cloud:
        started = time.perf_counter()
        servers = [cloud.boot(f"vm{n}", flavor="m1.nano") for n in range(count)]
        deadline = started + 300
        while True:  # Server.wait() also waits for each trace to be complete: too slow here
            statuses = [server.status for server in servers]
            if all(s in FINAL for s in statuses) or time.perf_counter() > deadline:
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    published = [e for e in trace.events if e.action == "publish"]
    per_request: dict[str, int] = {}
    for event in published:
        per_request[event.request_id] = per_request.get(event.request_id, 0) + 1
    booted = [per_request.get(server.request_id, 0) for server in servers]
    return {"boots": count, "computes": computes, "active": statuses.count("ACTIVE"),
            "seconds": elapsed, "boots_per_s": count / elapsed,
            "messages_per_boot": sum(booted) / len(booted),
            "calls_per_boot": sum(1 for e in published if e.kind == "call") / count}


def idle_cloud(url: str, seconds: float = IDLE_SECONDS, computes: int = COMPUTES) -> float:
    """Fraction of one core an idle cloud uses, heartbeats included."""
    from .brokers import _cpu_seconds

    timings = Timings(build_time=0.0)
    with NovaCloud(url, Trace(), computes=_hosts(computes), timings=timings):
        time.sleep(0.5)
        before = _cpu_seconds()
        time.sleep(seconds)
        return (_cpu_seconds() - before) / seconds


def diagram_time(computes: int = DIAGRAM_COMPUTES) -> dict:
    """Seconds to snapshot and draw (SVG, through ``dot``) a lab with ``computes`` computes."""
    from ..diagrams import GraphvizMissing, topology_diagram
    from ..topology import snapshot

    trace = Trace()
    url = broker.add_vhost("bench-diagram")
    with NovaCloud(url, trace, computes=_hosts(computes), timings=Timings.zero(),
                   resources=RESOURCES) as cloud:
        cloud.boot("vm1").wait(timeout=30)
        started = time.perf_counter()
        drawing = topology_diagram(snapshot(url), trace=trace)
        try:
            output, with_dot = drawing.svg(), True
        except GraphvizMissing:
            output, with_dot = str(drawing.ascii()), False
        elapsed = time.perf_counter() - started
    return {"computes": computes, "seconds": elapsed, "with_dot": with_dot,
            "output_chars": len(output)}


def run(rabbitmq_url: str | None) -> dict:
    print("  the simulated cloud…", file=sys.stderr, flush=True)
    rows = [{"broker": "embedded", **boots(broker.add_vhost("bench-boots"), BOOTS, COMPUTES)}]
    broker.reset()
    if rabbitmq_url:
        rows.append({"broker": "RabbitMQ", **boots(rabbitmq_url, BOOTS, COMPUTES)})
    idle = idle_cloud(broker.add_vhost("bench-idle"), IDLE_SECONDS, COMPUTES)
    broker.reset()
    drawing = diagram_time(DIAGRAM_COMPUTES)
    broker.reset()
    targets = [
        target(f"idle cloud ({COMPUTES} computes) <= 5% of a core", idle <= 0.05,
               f"{100 * idle:.2f}%"),
        target(f"topology of {DIAGRAM_COMPUTES} computes drawn in <= 2 s",
               drawing["seconds"] <= 2, f"{drawing['seconds']:.2f} s"),
    ] + [target(f"all {row['boots']} boots ACTIVE on {row['broker']}",
                row["active"] == row["boots"], f"{row['active']}") for row in rows]
    return {"rows": rows, "idle_cloud_core_fraction": idle, "diagram": drawing,
            "targets": targets}


def table(section: dict) -> list[str]:
    lines = [f"{BOOTS:,} boots over {COMPUTES} computes, zero-delay mode"]
    for row in section["rows"]:
        lines.append(f"{row['broker']:<10} {row['boots_per_s']:>8,.1f} boots/s  "
                     f"{row['messages_per_boot']:.1f} messages per boot "
                     f"({row['calls_per_boot']:.1f} calls)  {row['active']} ACTIVE")
    lines.append(f"idle cloud: {100 * section['idle_cloud_core_fraction']:.2f}% of a core "
                 f"over {IDLE_SECONDS:g} s")
    drawing = section["diagram"]
    lines.append(f"topology of {drawing['computes']} computes: {drawing['seconds']:.2f} s "
                 f"({'SVG through dot' if drawing['with_dot'] else 'ASCII, no dot'})")
    return lines
