"""``python -m course``: the course's helpers from a terminal.

    python -m course boot                      # boot a VM, print every hop
    python -m course serve nova-compute --host compute1 --transport-url rabbit://...
    python -m course topology --transport-url rabbit://user:pass@host:5672/

``serve`` runs one simulated service as its own process, so one lab can span
several processes (and machines) sharing one RabbitMQ.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import broker, i18n
from .errors import CourseError
from .i18n import _
from .transport_url import mask_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lang", choices=i18n.LANGUAGES, help="language of the output")
    commands = parser.add_subparsers(dest="command", required=True)

    boot = commands.add_parser("boot", help="boot a VM and print the messages it took")
    boot.add_argument("--transport-url", help=f"broker (default: ${broker.ENV_VAR} or embedded)")
    boot.add_argument("--compute", action="append", dest="computes", metavar="HOST",
                      help="a nova-compute host (repeat for more; default compute1, compute2)")
    boot.add_argument("--name", default="vm1")
    boot.add_argument("--notifications", action="store_true",
                      help="send Nova's versioned notifications too")
    boot.add_argument("--timeout", type=float, default=30)
    boot.add_argument("--database", help="boot through services already running in other "
                      "processes (`serve`) that share this SQLite file: only nova-api runs here")

    serve = commands.add_parser("serve", help="run one simulated service in this process")
    serve.add_argument("service", help="binary name, e.g. nova-compute")
    serve.add_argument("--host", required=True)
    serve.add_argument("--transport-url", required=True)
    serve.add_argument("--database", help="SQLite file shared by api, conductor, scheduler")

    topo = commands.add_parser("topology", help="print a broker's exchanges, queues, bindings")
    topo.add_argument("--transport-url", help=f"broker (default: ${broker.ENV_VAR} or embedded)")
    topo.add_argument("--management-url", help="RabbitMQ management API, read-only "
                      "(default: http://<first host>:15672)")
    topo.add_argument("--all", action="store_true", help="include amq.* and the default exchange")

    args = parser.parse_args(argv)
    if args.lang:
        i18n.set_language(args.lang)
    try:
        return {"boot": _boot, "serve": _serve, "topology": _topology}[args.command](args)
    except CourseError as error:
        print(f"{type(error).__name__}: {mask_url(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _boot(args: argparse.Namespace) -> int:
    from .lab import Lab

    with Lab(args.transport_url) as lab:
        print(lab.describe())
        if args.database:
            cloud = lab.nova(computes=(), database=args.database, api_only=True,
                             notifications=args.notifications)
        else:
            cloud = lab.nova(computes=args.computes or ("compute1", "compute2"),
                             notifications=args.notifications)
        vm = cloud.boot(args.name)
        status = vm.wait(timeout=args.timeout)
        print()
        print(lab.trace.for_request(vm.request_id).table())
        print()
        print(_("{name}: {status} on {host}", name=args.name, status=status,
                host=vm.host or "-"))
        print(" → ".join(f"({v}, {t})" for v, t in vm.history))
    return 0 if status == "ACTIVE" else 1


def _serve(args: argparse.Namespace) -> int:
    from .openstack.nova import make_service

    service = make_service(args.service, args.host, url=args.transport_url,
                           database=args.database)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: stop.set())
    service.start()
    print(_("{service} is running on {url}; stop it with Ctrl+C.", service=service.name,
            url=mask_url(args.transport_url)), flush=True)
    try:
        stop.wait()
    finally:
        service.cleanup()
    return 0


def _topology(args: argparse.Namespace) -> int:
    from .topology import snapshot

    snap = snapshot(args.transport_url, management_url=args.management_url,
                    include_builtin=args.all)
    print(snap.exchanges_table())
    print()
    print(snap.table(("name", "messages_ready", "messages_unacknowledged", "consumers")))
    print()
    print(snap.bindings_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
