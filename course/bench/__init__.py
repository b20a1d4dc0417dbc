"""Benchmark: ``python -m course.bench [--output FILE] [--no-rabbitmq]``.

One run measures every section below, on the embedded broker and, when RabbitMQ is
installed, on a private RabbitMQ node it starts on 127.0.0.1 (and stops):

* ``brokers``: kombu request/reply, throughput and idle-consumer CPU, against
  kombu's ``memory://``;
* ``rpc``: course.rpc ``call()`` per second against the real oslo.messaging's;
* ``cloud``: boots per second and messages per boot, an idle cloud's CPU, and the
  time to draw a 100-compute topology;
* ``lessons``: seconds per notebook (both languages) in a fresh kernel, and seconds from
  kernel start to lesson 01's first diagram (embedded broker);
* ``cluster`` (RabbitMQ only, on a three-node cluster of its own): seconds from stopping
  the node of a quorum queue's leader to the next publish+consume round trip through the
  cluster's multi-host transport_url, and how many of the queue's confirmed messages
  were lost (goal: 0); then for course.rpc with quorum and transient quorum queues, the
  seconds to the next successful call, and confirmed casts lost (goal: 0).

It prints a table with each target met or missed, writes every figure as JSON, and
exits 1 when a target is missed.  Timings depend on the machine: compare ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
from contextlib import ExitStack
from pathlib import Path

import kombu

from ..rabbitmq import RabbitMQNode, find_server
from . import brokers, cloud, cluster, lessons, rpc
from .report import target_lines

SECTIONS = {"brokers": brokers, "rpc": rpc, "cloud": cloud, "lessons": lessons,
            "cluster": cluster}
#: Sections that start RabbitMQ nodes of their own, and run only where RabbitMQ does.
OWN_RABBITMQ = ("cluster",)


def run(with_rabbitmq: bool = True, sections: tuple[str, ...] = tuple(SECTIONS)) -> dict:
    report: dict = {"machine": {"python": platform.python_version(),
                                "kombu": kombu.__version__, "platform": platform.platform()}}
    rabbitmq = with_rabbitmq and find_server() is not None
    with ExitStack() as stack:
        url = None
        if rabbitmq and set(sections) - set(OWN_RABBITMQ):
            url = stack.enter_context(RabbitMQNode.start()).url
        report["rabbitmq"] = rabbitmq
        report["rabbitmq_note"] = "" if rabbitmq else (
            "(RabbitMQ not measured: --no-rabbitmq)" if not with_rabbitmq else
            "(RabbitMQ not measured: apt-get install rabbitmq-server)")
        for name in sections:
            if name not in OWN_RABBITMQ:
                report[name] = SECTIONS[name].run(url)
            elif rabbitmq:
                report[name] = SECTIONS[name].run()
    return report


def table(report: dict) -> str:
    lines: list[str] = []
    for name, module in SECTIONS.items():
        if name in report:
            lines += ["", *module.table(report[name]), *target_lines(report[name]["targets"])]
    if report["rabbitmq_note"]:
        lines += ["", report["rabbitmq_note"]]
    return "\n".join(lines).lstrip("\n")


def targets(report: dict) -> list[dict]:
    return [t for name in SECTIONS if name in report for t in report[name]["targets"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--no-rabbitmq", action="store_true",
                        help="skip the private RabbitMQ node even when RabbitMQ is installed")
    parser.add_argument("--section", action="append", choices=list(SECTIONS),
                        help="run only this section (repeat for more)")
    args = parser.parse_args(argv)
    report = run(with_rabbitmq=not args.no_rabbitmq,
                 sections=tuple(args.section or SECTIONS))
    print(table(report))
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nfigures written to {args.output}")
    return 0 if all(t["met"] for t in targets(report)) else 1


__all__ = ["SECTIONS", "main", "run", "table", "targets"]
