"""What lesson 10 gives the learner to read a broken lab with: the seed of the class
(``seed()``), and the operator's checklist (``checklist(broken)``), six sections of plain
text drawn from the lab's service list, its broker and its trace, never from the faults.

    seed = ex.seed()            # $COURSE_SEED, or a fresh one, printed to come back to
    ex.checklist(broken)        # 1 services, 2 RPC queues, 3 routing, 4 a busy server's
                                # trace, 5 notification queues, 6 reply queues
"""

from __future__ import annotations

import os
import random
from typing import Any

from ...display import Text, table
from ...errors import CourseError
from ...i18n import _
from ...topology import Topology
from ...trace import format_hops

#: The environment variable a trainer sets for a whole class (in JupyterHub, Binder...).
SEED_VARIABLE = "COURSE_SEED"
#: Nova's control exchange, where every RPC queue is bound.
EXCHANGE = "nova"


class SeedInvalid(CourseError, ValueError):
    """A seed that is not a whole number."""


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def seed(value: Any = None) -> int:
    """The seed of this session's broken labs: ``value`` if given, else ``$COURSE_SEED``
    (a trainer's, for the whole class), else a fresh one; printed, with how to reuse it."""
    if value is not None:
        number = _whole(value)
        if number is None:
            raise SeedInvalid(_("A seed is a whole number, such as 2026, not {value}.",
                                value=repr(value)))
        print(_("Seed {seed}, as written in this cell: everyone who writes it gets the same "
                "broken labs.", seed=str(number)))
        return number
    given = os.environ.get(SEED_VARIABLE, "").strip()
    if given:
        number = _whole(given)
        if number is None:
            raise SeedInvalid(_("${variable} is {value}: a seed is a whole number, such "
                                "as 2026.", variable=SEED_VARIABLE, value=repr(given)))
        print(_("Seed {seed}, from ${variable}: the whole class gets the same broken labs.",
                seed=str(number), variable=SEED_VARIABLE))
        return number
    number = random.SystemRandom().randrange(1, 10_000)
    print(_("Seed {seed}, drawn at random. To come back to these broken labs, write "
            "`ex.seed({seed})` in this cell.", seed=str(number)))
    return number


def is_rpc_queue(name: str) -> bool:
    """A service's topic or topic.host queue (not a fanout, reply or notification one)."""
    return not (name.startswith("reply_") or "_fanout" in name or "notifications" in name)


def _queues(view: Topology, keep: Any, policy: bool = False) -> str:
    """``rabbitmqctl list_queues name messages consumers`` (and ``policy``)."""
    rows = [[q.name, q.messages, q.consumers, *([q.policy or "-"] if policy else [])]
            for name, q in sorted(view.queues.items()) if keep(name)]
    if not rows:
        return _("(none)")
    head = [_("name"), _("messages"), _("consumers"), *([_("policy")] if policy else [])]
    return table([head, *rows], right=(1, 2))


def _replies(broken: Any, view: Topology) -> str:
    """The reply queues, and the process each one's replies went to (from the trace)."""
    owners = {hop.queue: hop.receiver for hop in broken.lab.trace.hops if hop.kind == "reply"}
    rows = [[q.name, q.messages, q.consumers, owners.get(name) or "-"]
            for name, q in sorted(view.queues.items()) if name.startswith("reply_")]
    if not rows:
        return _("(none)")
    return table([[_("name"), _("messages"), _("consumers"), _("replies to")], *rows],
                 right=(1, 2))


def _services(broken: Any) -> str:
    rows = [[row["binary"], row["host"], row["state"]] for row in broken.cloud.service_list()]
    text = table([[_("binary"), _("host"), _("state")], *rows])
    logs = [f"{name}: {error}" for name, error in sorted(broken.logs.items())]
    return text + "\n" + _("Logs of services that could not start (`broken.logs`):") + "\n" + (
        "\n".join(logs) if logs else _("(none)"))


def _routing(view: Topology) -> str:
    rows = []
    for name in sorted(view.queues):
        if is_rpc_queue(name):
            reached = view.route(EXCHANGE, name) if EXCHANGE in view.exchanges else []
            rows.append([name, ", ".join(reached) or _("(no queue)")])
    return table([[_("routing key"), _("queues reached")], *rows])


def _servers(broken: Any) -> str:
    servers = broken.cloud.servers
    rows = [[s.name, s.status, s.task_state or "-", s.host or "-"] for s in servers]
    parts = [table([[_("server"), _("status"), _("task state"), _("host")], *rows])]
    busy = [s for s in servers if s.task_state]
    if not busy:
        parts.append(_("No server is busy: every request to a server has finished."))
    for server in busy:
        action = server.actions[-1]
        parts.append(_("The last request of {server} ({action}, `{request}`):",
                       server=server.name, action=action["action"],
                       request=action["request_id"]))
        parts.append(format_hops(broken.lab.trace.for_request(action["request_id"]).hops))
    return "\n".join(parts)


def checklist(broken: Any) -> Text:
    """The operator's checklist on a broken lab, as plain text: what lesson 10's method
    looks at, in its order, for the learner to read (it judges nothing).  On RabbitMQ the
    consumers of queues with ``x-expires`` (reply queues) come from the management API,
    which lags a few seconds (``course.topology.snapshot``)."""
    view = broken.lab.topology()
    sections = [
        (_("1 · Services (`openstack compute service list`)"), _services(broken)),
        (_("2 · RPC queues (`rabbitmqctl list_queues name messages consumers`)"),
         _queues(view, is_rpc_queue)),
        (_("3 · Routing: the queues `nova` sends each routing key to (`topology.route`)"),
         _routing(view)),
        (_("4 · Servers, and the trace of each busy server's last request"),
         _servers(broken)),
        (_("5 · Notification queues"),
         _queues(view, lambda name: "notifications" in name, policy=True)),
        (_("6 · Reply queues, and the process their replies went to (the trace)"),
         _replies(broken, view)),
    ]
    return Text("\n\n".join(f"{title}\n{body}" for title, body in sections))
