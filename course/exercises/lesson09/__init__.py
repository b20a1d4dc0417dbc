"""Lesson 09, scale and operations: count what one more agent adds, say which broker
each message of a multi-cell boot crossed, and read a broker's queue list to find a dead
service and the queues processes left behind.

* ``q1`` compares a pair (queues, consumers) with what one more OVS agent adds to a
  Neutron, measured on two Neutron labs of its own (a vhost of the embedded broker).
* ``q2`` compares a dict method -> broker with the brokers the trace says the boot of
  the VM in cell2 crossed.
* ``q3`` compares a service name with the compute whose queue holds messages and has
  no consumer, on the broker now (the lesson's incident stopped it).
* ``q4`` compares a set of queue names with the reply and fanout queues nobody consumes
  on the broker now (the restarted compute left its old reply queue).
"""

from __future__ import annotations

from typing import Any

from ...i18n import N_
from .. import evidence
from ..core import Exercise, ExerciseSet, NotYet
from ..result import Joined, Message
from .questions import quiz
from .runs import (
    crossed,
    dead_computes,
    incident,
    mapping,
    nova,
    orphans,
    pair,
    per_agent,
)

__all__ = ["incident", "lesson", "progress", "q1", "q2", "q3", "q4"]

#: The methods exercise 2 asks about, and the cell the lab's VM in cell2 comes from.
METHODS = ("select_destinations", "build_and_run_instance", "object_action")
CELL = "cell2"
REVISIT_INCIDENT = N_("Revisit the table the incident left, column by column.")


# -- exercise 1 ---------------------------------------------------------------------------


class PerAgent(Exercise):
    title = N_("What one more OVS agent adds")
    call = "check(per_agent)"
    expects = N_("Write two whole numbers in parentheses: `(queues, consumers)`.")
    hints = (
        N_("An agent runs one RPC server per notifier topic it listens to, on "
           "`Target(topic=T, server=host)`. Each server consumes three queues: which of "
           "them exist once for all agents, and which one per agent? And does the agent "
           "call anything?"),
        N_("Per topic: `T.<host>` and `T_fanout_<uuid>` are new, `T` exists already but "
           "gets one more consumer. The agent listens to 5 topics and has one reply "
           "queue: 5 × 2 + 1 queues, 5 × 3 + 1 consumers."),
    )
    solution_code = "per_agent = (11, 16)"
    explanation = N_("For each of its five notifier topics the agent declares `T.<host>` "
                     "and its own `T_fanout_<uuid>`, and consumes the shared `T` too; it "
                     "also calls neutron-server (`report_state`, `q-plugin`), so it has a "
                     "reply queue. In a big deployment these per-agent fanout queues are "
                     "most of the broker's queues.")
    success = N_("One more OVS agent adds {queues} queues and {consumers} consumers, "
                 "measured on two Neutron labs.")

    def verify(self, answer: Any) -> dict[str, int]:
        queues, consumers = pair(answer)
        truth = per_agent()
        if (queues, consumers) == truth:
            return {"queues": truth[0], "consumers": truth[1]}
        parts = []
        if queues == truth[0]:
            parts.append(Message(N_("{n} queues: right."), {"n": queues}))
        elif queues == truth[0] - 1:
            parts.append(Message(N_("{n} queues: you counted the topic queues, but the "
                                    "agent's reply queue is missing (it calls "
                                    "neutron-server)."), {"n": queues}))
        elif queues > truth[0]:
            parts.append(Message(N_("{n} queues is too many: the shared queue of each topic "
                                    "(`q-agent-notifier-port-update`...) exists once, "
                                    "whatever the number of agents."), {"n": queues}))
        else:
            parts.append(Message(N_("{n} queues is too few: per topic the agent has "
                                    "`T.<host>` and `T_fanout_<uuid>`."), {"n": queues}))
        if consumers == truth[1]:
            parts.append(Message(N_("{n} consumers: right."), {"n": consumers}))
        elif consumers == truth[0]:
            parts.append(Message(N_("{n} consumers is too few: the agent also consumes each "
                                    "shared queue `T`, one more consumer there, though no "
                                    "new queue."), {"n": consumers}))
        elif consumers == truth[1] - 1:
            parts.append(Message(N_("{n} consumers is one too few: the agent reads its "
                                    "reply queue too."), {"n": consumers}))
        else:
            parts.append(Message(N_("{n} consumers: count one per queue the agent reads, "
                                    "the shared ones included."), {"n": consumers}))
        raise NotYet(N_("{sentences} Revisit the table of the Neutron queues."),
                     sentences=Joined(tuple(parts)))


# -- exercise 2 ---------------------------------------------------------------------------


class Brokers(Exercise):
    title = N_("Which broker carries each message?")
    call = "check(brokers)"
    expects = N_("Write a dict from method to broker name, e.g. "
                 "`{\"select_destinations\": \"api\"}`.")
    hints = (
        N_("nova-api, nova-scheduler and the super-conductor share the API broker; a cell's "
           "conductor and computes use the cell's own broker."),
        N_("The super-conductor calls the scheduler on `api`, then casts to the compute on "
           "the compute's cell broker; the compute's state saves go to its cell's "
           "conductor, on that broker too."),
    )
    solution_code = ('brokers = {"select_destinations": "api", '
                     '"build_and_run_instance": "cell2",\n           "object_action": "cell2"}')
    explanation = N_("The super-conductor is on the API broker and holds a transport to each "
                     "cell's broker: it calls `select_destinations` on `api`, then casts "
                     "`build_and_run_instance` on the broker of the chosen host's cell. "
                     "From there on the compute talks to its cell's conductor only "
                     "(`object_action`), on the cell's broker: it cannot reach the API "
                     "broker at all.")
    success = N_("The trace agrees: {pairs}.")

    def verify(self, answer: Any) -> dict[str, str]:
        given = mapping(answer, '{"select_destinations": "api"}')
        cloud = nova()
        vm = next((s for s in cloud.servers if s.host and cloud.cells
                   and cloud.cell_of(s.host) == CELL), None)
        if vm is None or not vm.request_id:
            raise NotYet(N_("No VM of this lab runs in `{cell}` yet: run the cells above "
                            "that start the multi-cell Nova and boot three VMs."), cell=CELL)
        truth = crossed(vm.request_id)
        missing = [m for m in METHODS if m not in given]
        if missing:
            raise NotYet(N_("Name a broker for each method: {methods} missing."),
                         methods=evidence.codes(missing))
        right, wrong = [], []
        for method in METHODS:
            brokers = truth.get(method, set())
            if given[method] in brokers and len(brokers) == 1:
                right.append(f"`{method}`")
            elif given[method] == "api":
                wrong.append(Message(N_("`{method}` did not cross `api`: it went through "
                                        "{where}, the broker of the compute's cell."),
                                     {"method": method, "where": evidence.codes(brokers)}))
            else:
                wrong.append(Message(N_("`{method}` crossed {where}, not `{given}`."),
                                     {"method": method, "where": evidence.codes(brokers),
                                      "given": given[method]}))
        if not wrong:
            return {"pairs": ", ".join(f"`{m}` → `{given[m]}`" for m in METHODS)}
        head = [Message(N_("Right for {methods}."), {"methods": ", ".join(right)})] if right \
            else []
        raise NotYet(N_("{sentences} Revisit the hop table of vm3's boot."),
                     sentences=Joined(tuple(head + wrong)))


# -- exercise 3 ---------------------------------------------------------------------------


class DeadService(Exercise):
    title = N_("Which service is dead?")
    call = "check(dead)"
    expects = N_("Write the service as the trace names it, in quotes: "
                 "`\"<binary>:<host>\"`.")
    hints = (
        N_("A healthy RPC queue has about 0 messages and at least one consumer. Look for a "
           "queue of a service that holds messages and has none."),
        N_("The `compute.<host>` queue of the dead compute holds the `stop_instance` cast "
           "sent to it, with 0 consumers: the service is `nova-compute:<host>`."),
    )
    solution_code = ("view = lab.topology()\n"
                     "[dead] = [f\"nova-compute:{name.removeprefix('compute.')}\"\n"
                     "          for name, q in view.queues.items()\n"
                     "          if name.startswith(\"compute.\") and q.messages and "
                     "not q.consumers]")
    explanation = N_("Its queue `compute.<host>` still exists (topic queues never expire), "
                     "holds the cast sent to it, and has no consumer: nobody reads it. A "
                     "call to it would wait there until its timeout, and the caller would "
                     "log `MessagingTimeout`.")
    success = N_("Yes: `{queue}` holds {messages} message(s) with 0 consumers.")

    def verify(self, dead: Any) -> dict[str, Any]:
        name = evidence.text(dead, "dead", '"nova-conductor:controller"')
        cloud = nova()
        view = evidence.topology()
        hosts = dead_computes(view)
        if not hosts:
            raise NotYet(N_("No service of this lab is dead now: run the cell of the "
                            "incident (`ex.incident(cloud)`), then check again."))
        binary, _sep, host = name.rpartition(":")
        if not binary and host in cloud.compute_hosts:  # the host alone names its compute
            binary = "nova-compute"
        if name.startswith(("compute.", "compute-alt.")):
            binary, host = "nova-compute", name.partition(".")[2]
            if host in hosts:
                raise NotYet(N_("Right queue: `{name}` is the one nobody reads. The task "
                                "asks for its service: `nova-compute:{host}`."),
                             name=name, host=host)
        if binary == "nova-compute" and host in hosts:
            queue = view.queues[f"compute.{host}"]
            return {"queue": queue.name, "messages": queue.messages}
        if name in view.queues:
            queue = view.queues[name]
            if name.startswith(("notifications.", "versioned_notifications.")):
                raise NotYet(N_("`{name}` holds messages with {consumers} consumer(s), but "
                                "no service is meant to read it: it is a notification leak, "
                                "not a dead service. {revisit}"), name=name,
                             consumers=queue.consumers, revisit=Message(REVISIT_INCIDENT))
            raise NotYet(N_("`{name}` is a queue, not a service, and it is not the one "
                            "that waits: {revisit}"), name=name,
                         revisit=Message(REVISIT_INCIDENT))
        topic = binary.removeprefix("nova-")
        queue = view.queues.get(f"{topic}.{host}") or view.queues.get(topic)
        known = {service.name for service in cloud.services}
        if f"{binary}:{host}" in known and queue is not None and queue.consumers:
            raise NotYet(N_("`{service}` consumes `{queue}` ({consumers} consumer(s)): it "
                            "runs. {revisit}"), service=name, queue=queue.name,
                         consumers=queue.consumers, revisit=Message(REVISIT_INCIDENT))
        raise NotYet(N_("This lab has no service `{service}`: write `<binary>:<host>`, as "
                        "the trace names them (`nova-compute:compute1`)."), service=name)


# -- exercise 4 ---------------------------------------------------------------------------


class Orphans(Exercise):
    title = N_("Which queues were left behind?")
    call = "check(orphans)"
    expects = N_("Write a set of queue names in quotes, e.g. `{\"q-a\", \"q-b\"}`.")
    hints = (
        N_("A running process always consumes its own reply queue and its own fanout "
           "queues. Which of those have 0 consumers?"),
        N_("Look at the `reply_…` and `…_fanout_…` rows with 0 consumers: the restarted "
           "compute's old process left one."),
    )
    solution_code = ("view = lab.topology()\n"
                     "orphans = {name for name, q in view.queues.items() if not q.consumers\n"
                     "           and (name.startswith(\"reply_\") or \"_fanout_\" in name)}")
    explanation = N_("A process declares its `reply_<uuid>` queue (and its fanout queues) "
                     "with `x-expires`, not auto-delete: when it exits, they stay until "
                     "`rabbit_transient_queues_ttl` (30 minutes) without a consumer. Its "
                     "successor draws a new uuid, so nobody will ever read the old ones. "
                     "`use_queue_manager` gives them stable names instead.")
    success = N_("Yes: {queues}, read by nobody, will expire after "
                 "`rabbit_transient_queues_ttl`.")

    def verify(self, answer: Any) -> dict[str, str]:
        given = evidence.names(answer, '{"q-a", "q-b"}')
        nova()
        view = evidence.topology()
        truth = orphans(view)
        if not truth:
            raise NotYet(N_("No queue of this lab is left behind now: run the cell of the "
                            "incident (`ex.incident(cloud)`), then check again."))
        if given == truth:
            return {"queues": evidence.codes(sorted(truth))}
        right = given & truth
        parts = [Message(N_("Right: {queues}."), {"queues": evidence.codes(sorted(right))})
                 ] if right else []
        for name in sorted(given - truth):
            queue = view.queues.get(name)
            if queue is None:
                parts.append(Message(N_("There is no queue `{name}`."), {"name": name}))
            elif queue.consumers:
                parts.append(Message(N_("`{name}` has {consumers} consumer(s): a running "
                                        "process reads it."),
                                     {"name": name, "consumers": queue.consumers}))
            elif name.startswith(("notifications.", "versioned_notifications.")):
                parts.append(Message(N_("`{name}` is read by nobody yet, but it is a leak, "
                                        "not an orphan: the notifier fills it on purpose, "
                                        "for a consumer to come."), {"name": name}))
            else:
                parts.append(Message(N_("`{name}` waits for its service to come back: its "
                                        "messages still matter."), {"name": name}))
        if truth - given:
            parts.append(Message(N_("Missing: {count} queue(s) nobody will read again."),
                                 {"count": len(truth - given)}))
        raise NotYet(N_("{sentences} {revisit}"), sentences=Joined(tuple(parts)),
                     revisit=Message(REVISIT_INCIDENT))


q1, q2, q3, q4 = PerAgent(), Brokers(), DeadService(), Orphans()
lesson = ExerciseSet(q1, q2, q3, q4, quiz=quiz)
progress = lesson.progress
