"""Lesson 08, failure labs: what is lost and what is not when things break.

* ``q1`` compares a number of seconds with how long the trace shows ``vm1``'s
  ``build_and_run_instance`` cast waiting in ``compute.compute1`` while the compute was stopped.
* ``q2`` compares a set of queue names with the queues that hold their message on the broker
  after the lab restarted it (``compute.compute1``, ``lab08.one``, ``lab08.two``).
* ``q3`` compares the x-death header the learner read with the one of the message waiting in
  ``lab08.dead`` and with the deliveries the trace counts.
* ``q4`` compares predicted counts with the cluster's counts while a node was stopped
  (RabbitMQ only: Not attempted, saying why, where RabbitMQ is not installed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...i18n import N_
from .. import evidence
from ..core import Exercise, ExerciseSet, NotYet, Unavailable
from ..result import Joined, Message
from .questions import quiz
from .runs import (
    CLUSTER_QUEUES,
    POISONED,
    RESTARTED,
    build_wait,
    cluster_counts,
    dead_letter,
    deliveries,
    nova,
    queue_depths,
)

# -- exercise 1 ---------------------------------------------------------------------------


class CastWait(Exercise):
    title = N_("How long did the cast wait?")
    call = "check(waited)"
    expects = N_("Write a number of seconds, e.g. `0.5`.")
    hints = (
        N_("One hop of `vm1.hops` has the method `build_and_run_instance`: it went into "
           "`compute.compute1`. Its `published` and `delivered` times are in seconds."),
        N_("`hop = next(h for h in vm1.hops if h.method == \"build_and_run_instance\")`, then "
           "`waited = hop.delivered - hop.published`."),
    )
    solution_code = ('hop = next(h for h in vm1.hops if h.method == "build_and_run_instance")\n'
                     "waited = hop.delivered - hop.published")
    explanation = N_("The conductor cast `build_and_run_instance` to `compute.compute1` while "
                     "`compute1` was stopped: the message waited in the queue, with no "
                     "consumer, until `compute1` consumed again. A cast is never lost to a "
                     "stopped service; it only waits.")
    success = N_("The cast waited {seconds} s in `compute.compute1`: as long as `compute1` "
                 "was stopped, and it was not lost.")

    def verify(self, waited: Any) -> dict[str, str]:
        if isinstance(waited, bool) or not isinstance(waited, (int, float)):
            raise NotYet(N_("Write `waited` as a number of seconds, e.g. `0.5`; this answer "
                            "is {kind}."), kind=evidence.kind(waited))
        truth = build_wait(nova())
        if truth is None:
            raise NotYet(N_("`vm1`'s build cast has not reached `compute1` yet: run the cells "
                            "of lab 1, up to the one that starts `compute1` again."))
        if abs(waited - truth) <= max(0.05, 0.05 * truth):
            return {"seconds": f"{truth:.2f}"}
        if abs(waited / 1000 - truth) <= max(0.05, 0.05 * truth):
            raise NotYet(N_("That is {truth} s in milliseconds: `published` and `delivered` "
                            "are seconds."), truth=f"{truth:.2f}")
        if waited < 0:
            raise NotYet(N_("A wait cannot be negative: subtract `published` from "
                            "`delivered`, not the other way round."))
        if waited < truth:
            raise NotYet(N_("{waited} s is less than the cast waited: take the hop of "
                            "`build_and_run_instance` (into `compute.compute1`), not a hop of "
                            "the conductor or the scheduler."), waited=f"{waited:.2f}")
        raise NotYet(N_("{waited} s is more than the cast waited: measure one hop, from its "
                        "`published` to its `delivered`, not the whole boot."),
                     waited=f"{waited:.2f}")


# -- exercise 2 ---------------------------------------------------------------------------


class Survivors(Exercise):
    title = N_("What survives a broker restart?")
    call = "check(survivors)"
    expects = N_("Write a set of queue names in quotes, e.g. `{\"q-a\", \"q-b\"}`, or `set()`.")
    hints = (
        N_("Two things must be kept on disk for a message to survive: its queue (declared "
           "durable) and the message itself (published persistent, `delivery_mode` 2)."),
        N_("`compute.compute1` is declared by oslo.messaging with its defaults "
           "(`amqp_durable_queues = False`); `lab08.two`'s message has `delivery_mode` 1."),
    )
    solution_code = 'survivors = {"lab08.one"}'
    explanation = N_("A broker that restarts keeps its durable queues, and in them the "
                     "persistent messages only. oslo.messaging's default queues are transient, "
                     "so `compute.compute1` is gone with its cast; `lab08.one` is durable with "
                     "a persistent message; `lab08.two` is durable, but its message was not "
                     "persistent.")
    success = N_("Right: after the restart only {queues} held a message.")

    def verify(self, survivors: Any) -> dict[str, str]:
        answer = evidence.names(survivors, '{"q-a", "q-b"}')
        lab = evidence.lab()
        if not lab.outage.starts:
            if lab.outage.embedded or lab.outage.stops:
                raise NotYet(N_("The broker has not restarted yet: run the cells that stop "
                                "and start it, then check again."))
            raise Unavailable(N_("This lab could not restart its broker (a RabbitMQ the "
                                  "course did not start), so there is nothing to compare "
                                  "with."))
        depths = queue_depths(RESTARTED)
        truth = {name for name, depth in depths.items() if depth}
        if answer == truth:
            return {"queues": evidence.codes(sorted(truth)) or "∅"}
        wrong = []
        unknown = sorted(answer - set(RESTARTED))
        if unknown:
            wrong.append(Message(N_("{names}: not one of the three queues of this exercise."),
                                 {"names": evidence.codes(unknown)}))
        if "compute.compute1" in answer - truth:
            wrong.append(Message(N_("`compute.compute1` is a transient queue (oslo.messaging's "
                                    "default): the restart deleted it, cast and all.")))
        if "lab08.two" in answer - truth:
            wrong.append(Message(N_("`lab08.two` is durable, but its message was published "
                                    "with `delivery_mode` 1: not kept.")))
        for name in sorted(truth - answer):
            wrong.append(Message(N_("`{name}` is durable and its message persistent: it "
                                    "survived."), {"name": name}))
        raise NotYet(N_("{sentences} Revisit the cell that published the two messages."),
                     sentences=Joined(tuple(wrong)))


# -- exercise 3 ---------------------------------------------------------------------------


class XDeath(Exercise):
    title = N_("Open the x-death header")
    call = "check(death)"
    expects = N_("Write the header itself: `death = message.headers[\"x-death\"]`.")
    hints = (
        N_("Inside `with lab.connect() as conn:`, `kombu.Queue(\"lab08.dead\", "
           "channel=conn.default_channel).get()` returns the message; its `headers` is a dict."),
        N_("`death = message.headers[\"x-death\"]`: a list with one table (a dict) per queue "
           "and reason."),
    )
    solution_code = ("with lab.connect() as conn:\n"
                     '    message = kombu.Queue("lab08.dead", channel=conn.default_channel)'
                     ".get()\n"
                     '    death = message.headers["x-death"]\n'
                     "    message.ack()")
    explanation = N_("RabbitMQ adds the `x-death` header when it dead-letters a message: one "
                     "table per queue and reason, with the queue, the reason, the exchange "
                     "and routing keys it was published with, and a count.")
    success = N_("The message died in `{queue}` for `{reason}`, after {deliveries} deliveries "
                 "(`x-delivery-limit` 2), published to `{exchange}`.")

    def verify(self, death: Any) -> dict[str, Any]:
        if isinstance(death, Mapping) and "x-death" in death:
            raise NotYet(N_("These are all the message's headers: take the one named "
                            "`x-death` (`message.headers[\"x-death\"]`)."))
        if isinstance(death, Mapping) and "poison" in death:
            raise NotYet(N_("This is the message's body: the header is in "
                            "`message.headers[\"x-death\"]`."))
        if isinstance(death, (list, tuple)) and death and isinstance(death[0], Mapping):
            table = death[0]
        elif isinstance(death, Mapping) and "reason" in death:
            table = death
        else:
            raise NotYet(N_("`death` should be the `x-death` header, a list of tables "
                            "(dicts); this answer is {kind}."), kind=evidence.kind(death))
        count = deliveries(POISONED)
        if not count:
            raise NotYet(N_("Nothing was delivered from `bills.info` yet: run the cell of lab "
                            "6 that starts the listener and sends the notification."))
        truth = dead_letter()
        expected = {"queue": POISONED, "reason": "delivery_limit"}
        if truth is not None:
            expected.update(queue=truth.get("queue"), reason=truth.get("reason"))
        wrong = [Message(N_("Its `{key}` is `{value}`, not `{expected}`."),
                         {"key": key, "value": table.get(key), "expected": value})
                 for key, value in expected.items() if table.get(key) != value]
        if wrong:
            raise NotYet(N_("{sentences} Did you read the message of `lab08.dead`?"),
                         sentences=Joined(tuple(wrong)))
        return {"queue": table["queue"], "reason": table["reason"], "deliveries": count,
                "exchange": table.get("exchange", "")}


# -- exercise 4 ---------------------------------------------------------------------------


class ClusterCounts(Exercise):
    title = N_("What answers while the node is down?")
    call = "check(predicted)"
    expects = N_("Write a dict from each queue name to a number or `None`, e.g. "
                 "`{\"lab08.quorum\": 0, \"lab08.classic\": None, \"lab08.transient\": 0}`.")
    hints = (
        N_("A classic queue lives on the node that declared it; a quorum queue has a copy on "
           "each node and elects a new leader."),
        N_("While its node is down, no other node can answer for a classic queue, durable or "
           "not: `None`; the quorum queue keeps every confirmed message."),
    )
    solution_code = ('predicted = {"lab08.quorum": 100, "lab08.classic": None, '
                     '"lab08.transient": None}')
    explanation = N_("A classic queue has one home node: while it is down nobody can read the "
                     "queue (a transient one is even deleted), whereas a quorum queue "
                     "replicates every confirmed message on a majority of the nodes and goes "
                     "on with a new leader.")
    success = N_("Your prediction matches the cluster: {counts}.")

    def verify(self, predicted: Any) -> dict[str, str]:
        if not isinstance(predicted, Mapping):
            raise NotYet(N_("Write `predicted` as a dict from each queue name to a number "
                            "or `None`; this answer is {kind}."), kind=evidence.kind(predicted))
        truth = cluster_counts()
        shown = ", ".join(f"`{name}`: {truth[name]}" for name in CLUSTER_QUEUES)
        missing = [name for name in CLUSTER_QUEUES if name not in predicted]
        if missing:
            raise NotYet(N_("Give a count for each queue; missing: {names}."),
                         names=evidence.codes(missing))
        wrong = []
        for name in CLUSTER_QUEUES:
            value = predicted[name]
            if value == truth[name] and (value is None) == (truth[name] is None):
                continue
            if truth[name] is None:
                wrong.append(Message(N_("`{name}`: no running node holds it (`None`), not "
                                        "{value}."), {"name": name, "value": value}))
            else:
                wrong.append(Message(N_("`{name}` kept all {count} messages, not {value}."),
                                     {"name": name, "count": truth[name], "value": value}))
        if wrong:
            raise NotYet(N_("{sentences} Revisit what a classic and a quorum queue keep on "
                            "each node."), sentences=Joined(tuple(wrong)))
        return {"counts": shown}


q1, q2, q3, q4 = CastWait(), Survivors(), XDeath(), ClusterCounts()
lesson = ExerciseSet(q1, q2, q3, q4, quiz=quiz)
progress = lesson.progress
