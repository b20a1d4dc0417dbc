"""``python -m course``: the course's helpers from a terminal.

    python -m course boot                      # boot a VM, print every hop
    python -m course serve nova-compute --host compute1 --transport-url rabbit://...
    python -m course topology --transport-url rabbit://user:pass@host:5672/
    python -m course doctor                    # is this machine ready for the course?

``serve`` runs one simulated service as its own process, so one lab can span
several processes (and machines) sharing one RabbitMQ.

Everything it writes, ``--help`` and argparse's own words included, is in the learner's
language: ``--lang`` (anywhere on the command line), else the usual order
(:mod:`course.i18n`).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from . import broker, i18n
from .errors import CourseError
from .i18n import N_, N_plural, _, ngettext
from .transport_url import mask_url

COMMANDS = ("boot", "serve", "topology", "doctor")

#: argparse's own words that a learner can meet, for the catalog: argparse looks ``_`` and
#: ``ngettext`` up among its module's globals each time it writes one, and
#: :func:`argparse_in_the_language` points them at the course's catalog while ``main`` runs.
ARGPARSE_WORDS = (
    N_("usage: "), N_("positional arguments"), N_("options"),
    N_("show this help message and exit"), N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"), N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"), N_("expected one argument"),
    N_("expected at most one argument"), N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"), N_("one of the arguments %s is required"),
    N_("ignored explicit argument %r"), N_("unexpected option string: %s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
)
ARGPARSE_PLURALS = (N_plural("expected %s argument", "expected %s arguments"),)


def description() -> str:
    """The --help's text: what the command line is, with examples (the commands themselves
    are identifiers, the same in every language)."""
    return "\n".join([
        _("The course's helpers from a terminal."), "",
        "  python -m course boot                      # " + _("boot a VM, print every hop"),
        "  python -m course serve nova-compute --host compute1 --transport-url rabbit://...",
        "  python -m course topology --transport-url rabbit://user:pass@host:5672/",
        "  python -m course doctor                    # " + _("is this machine ready for the "
                                                              "course?"), "",
        _("`serve` runs one simulated service as its own process, so one lab can span several\n"
          "processes (and machines) sharing one RabbitMQ.")])


def chosen_language(argv: Sequence[str]) -> str | None:
    """The ``--lang`` of the command line, wherever it is, read before the parser is built
    (its help is written in that language).  A missing or unknown value gives None: the
    parser itself then says what is wrong, in the usual order's language."""
    pre = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    pre.add_argument("--lang")
    try:
        known, _rest = pre.parse_known_args(list(argv))
    except argparse.ArgumentError:
        return None
    return known.lang if known.lang in i18n.LANGUAGES else None


@contextlib.contextmanager
def argparse_in_the_language() -> Iterator[None]:
    """argparse's own words ("usage:", "options:", its errors) through the course's catalog,
    for the duration of the block only."""
    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = _, ngettext
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


def build_parser() -> argparse.ArgumentParser:
    """The command line, its help written in the language in force."""
    parser = argparse.ArgumentParser(prog="python -m course", description=description(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _lang_option(parser, default=None)
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="{" + ",".join(COMMANDS) + "}")

    boot = commands.add_parser("boot", help=_("boot a VM and print the messages it took"))
    boot.add_argument("--transport-url", help=_("broker (default: ${variable} or embedded)",
                                                variable=broker.ENV_VAR))
    boot.add_argument("--compute", action="append", dest="computes", metavar="HOST",
                      help=_("a nova-compute host (repeat for more; default compute1, "
                             "compute2)"))
    boot.add_argument("--name", default="vm1", help=_("the VM's name (default: vm1)"))
    boot.add_argument("--notifications", action="store_true",
                      help=_("send Nova's versioned notifications too"))
    boot.add_argument("--timeout", type=float, default=30,
                      help=_("seconds to wait for the VM (default: 30)"))
    boot.add_argument("--database", help=_("boot through services already running in other "
                                           "processes (`serve`) that share this SQLite file: "
                                           "only nova-api runs here"))

    serve = commands.add_parser("serve", help=_("run one simulated service in this process"))
    serve.add_argument("service", help=_("binary name, e.g. nova-compute"))
    serve.add_argument("--host", required=True, help=_("the service's host, e.g. compute1"))
    serve.add_argument("--transport-url", required=True, help=_("the broker the service uses"))
    serve.add_argument("--database", help=_("SQLite file shared by api, conductor, scheduler"))

    topo = commands.add_parser("topology", help=_("print a broker's exchanges, queues, bindings"))
    topo.add_argument("--transport-url", help=_("broker (default: ${variable} or embedded)",
                                                variable=broker.ENV_VAR))
    topo.add_argument("--management-url", help=_("RabbitMQ management API, read-only "
                                                 "(default: http://<first host>:15672)"))
    topo.add_argument("--all", action="store_true",
                      help=_("include amq.* and the default exchange"))
    doctor = commands.add_parser("doctor", help=_("check this machine for the course, say "
                                                  "what to fix"))
    doctor.add_argument("--transport-url", help=_("broker (default: ${variable} or embedded)",
                                                  variable=broker.ENV_VAR))
    for command in (boot, serve, topo, doctor):
        _lang_option(command, default=argparse.SUPPRESS)  # --lang after the command too
    return parser


def _lang_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default=default,
                        help=_("language of the output"))


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    with i18n.language(chosen_language(argv)):
        with argparse_in_the_language():
            args = build_parser().parse_args(argv)
        try:
            return {"boot": _boot, "serve": _serve, "topology": _topology,
                    "doctor": _doctor}[args.command](args)
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


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import run

    report = run(args.transport_url)
    print(report.text())
    return report.exit_status


if __name__ == "__main__":
    sys.exit(main())
