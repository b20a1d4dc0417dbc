"""Lesson 04, booting a VM: predict the hop after scheduling, count a boot's calls and
casts, find the chosen compute from the topology alone.

* ``q1`` compares a predicted (kind, routing key, method) with the hop that really
  followed the scheduler's reply in ``vm1``'s trace.
* ``q2`` compares two counts with the calls and casts of ``vm1``'s request in the trace.
* ``q3`` reads the broker: with both nova-computes stopped, ``vm3``'s
  ``build_and_run_instance`` waits in one ``compute.<host>`` queue; the answer is
  compared with that queue and with the trace.
"""

from __future__ import annotations

from typing import Any

from ...i18n import N_
from ...openstack.nova import NovaCloud
from .. import evidence
from ..core import Exercise, ExerciseSet, NotYet
from ..result import Joined, Message
from .questions import quiz

FIRST, WAITING = "vm1", "vm3"
BUILD = "build_and_run_instance"
SELECT = "select_destinations"
KINDS = ("cast", "call", "fanout", "reply")


def _cloud() -> NovaCloud:
    cloud = evidence.cloud(NovaCloud, "cloud = lab.nova(...)")
    if cloud.db is None:  # stopped with cloud.stop()
        raise NotYet(evidence.NO_CLOUD, name="Nova", cell="cloud = lab.nova(...)")
    return cloud


def _server(name: str):
    for server in _cloud().servers:
        if server.name == name:
            return server
    raise NotYet(N_("There is no server `{name}` yet: run the cell that boots it "
                    "(`cloud.boot(\"{name}\")`), then check again."), name=name)


def _bus(hops: list) -> list:
    """The hops that travelled on RabbitMQ (HTTP requests left out)."""
    return [h for h in hops if h.kind in KINDS]


# -- exercise 1 ---------------------------------------------------------------------------


def next_after_scheduling(hops: list) -> Any:
    """The bus hop that follows the scheduler's reply to ``select_destinations``."""
    bus = _bus(hops)
    for index, hop in enumerate(bus):
        if hop.method == SELECT:
            after = [h for h in bus[index + 1:] if h.kind != "reply"]
            return after[0] if after else None
    return None


class PredictNextHop(Exercise):
    title = N_("Predict the hop after scheduling")
    call = "check(kind, routing_key, method)"
    expects = N_("Write three strings in quotes: a kind (`\"call\"` or `\"cast\"`), a "
                 "routing key and a method name.")
    hints = (
        N_("The scheduler only answers with a list of hosts. Who holds that answer, and "
           "whom must it tell to build the VM? Does it need to wait for an answer?"),
        N_("The conductor casts to the queue of the chosen compute only: the routing key is "
           "`compute.` followed by the host's name (`vm1.host`), and the method is the "
           "one compute runs to build a VM."),
    )
    solution_code = ('kind = "cast"\nrouting_key = f"compute.{vm1.host}"\n'
                     'method = "build_and_run_instance"')
    explanation = N_("After `select_destinations` returns, the conductor creates the "
                     "instance in the cell database and casts `build_and_run_instance` to "
                     "`compute.<host>`, the queue of the one compute the scheduler chose. "
                     "It is a cast: the conductor does not wait for the build.")
    success = N_("The trace agrees: the conductor casts `{method}` with the key `{key}`, "
                 "and `{receiver}` takes it.")

    def verify(self, kind: Any, routing_key: Any, method: Any) -> dict[str, str]:
        kind, key, method = (evidence.text(kind, "kind", '"cast"'),
                             evidence.text(routing_key, "routing_key"),
                             evidence.text(method, "method"))
        hop = next_after_scheduling(_server(FIRST).hops)
        if hop is None:
            raise NotYet(N_("The trace of `vm1` has no hop after scheduling yet: run the "
                            "cell that boots it and waits (`vm1.wait()`), then check "
                            "again."))
        right, wrong = [], []
        if kind == hop.kind:
            right.append(Message(N_("Right: it is a `{kind}`."), {"kind": kind}))
        else:
            wrong.append(Message(N_("Not a `{kind}`: the conductor does not wait for the "
                                    "build, it sends a `cast`."), {"kind": kind}))
        if key == hop.routing_key:
            right.append(Message(N_("Right: the key is `{key}`."), {"key": key}))
        elif key == "compute":
            wrong.append(Message(N_("Not `compute`: that queue is shared by every compute, "
                                    "and any of them could take the build. The conductor "
                                    "targets the chosen host: `compute.<host>`.")))
        elif key.startswith("compute."):
            wrong.append(Message(N_("Not `{key}`: the scheduler chose `{host}` for `vm1` "
                                    "(see `vm1.host`)."),
                                 {"key": key, "host": hop.routing_key.split(".", 1)[1]}))
        else:
            wrong.append(Message(N_("Not `{key}`: the message goes to a compute node, on a "
                                    "key `compute.<host>`."), {"key": key}))
        if method == hop.method:
            right.append(Message(N_("Right: the method is `{method}`."), {"method": method}))
        elif method == "schedule_and_build_instances":
            wrong.append(Message(N_("Not `schedule_and_build_instances`: nova-api cast that "
                                    "one to the conductor, before scheduling.")))
        else:
            wrong.append(Message(N_("Not `{method}`: look for the method nova-compute runs "
                                    "to build a VM in the hop table."), {"method": method}))
        if wrong:
            raise NotYet(N_("{sentences} Revisit the player: step to the scheduler's "
                            "reply, then one step more."),
                         sentences=Joined(tuple(right + wrong)))
        return {"method": hop.method, "key": hop.routing_key, "receiver": hop.receiver}


# -- exercise 2 ---------------------------------------------------------------------------


class CountCallsAndCasts(Exercise):
    title = N_("Count the calls and casts of a boot")
    call = "check(calls, casts)"
    expects = N_("Write two whole numbers, e.g. `calls = 4` and `casts = 1`.")
    hints = (
        N_("Count only the rows whose type is `call` or `cast`: a reply is not a call of "
           "its own, a `fanout` is a third kind, and `http` rows never touch RabbitMQ."),
        N_("Casts: nova-api to the conductor, the conductor to the compute. Calls: one to "
           "the scheduler, then every save the compute asks the conductor for "
           "(`object_action`, `object_class_action_versions`). "
           "`[h.kind for h in vm1.hops].count(\"call\")` counts them for you."),
    )
    solution_code = ('kinds = [hop.kind for hop in vm1.hops]\n'
                     'calls, casts = kinds.count("call"), kinds.count("cast")')
    explanation = N_("Two casts start work without waiting (API to conductor, conductor to "
                     "compute); every other request is a call: the conductor asks the "
                     "scheduler once, and nova-compute, which has no database access, calls "
                     "the conductor for each state it saves. Each call has its reply; the "
                     "`fanout` to the schedulers is a cast to all of them.")
    success = N_("{calls} calls and {casts} casts: the trace agrees. The calls are the "
                 "scheduler's one and the compute's {saves} trips to the conductor.")

    def verify(self, calls: Any, casts: Any) -> dict[str, int]:
        calls, casts = evidence.number(calls, "9"), evidence.number(casts, "2")
        kinds = [h.kind for h in _server(FIRST).hops]
        true_calls, true_casts = kinds.count("call"), kinds.count("cast")
        fanouts, replies = kinds.count("fanout"), kinds.count("reply")
        right, wrong = [], []
        if casts == true_casts:
            right.append(Message(N_("Right: {n} casts."), {"n": casts}))
        elif casts == true_casts + fanouts:
            wrong.append(Message(N_("{n} casts: that counts the `fanout` to the schedulers too; "
                                    "count it apart."), {"n": casts}))
        else:
            wrong.append(Message(N_("Not {n} casts: count the rows of type `cast` "
                                    "only."), {"n": casts}))
        if calls == true_calls:
            right.append(Message(N_("Right: {n} calls."), {"n": calls}))
        elif calls == true_calls + replies:
            wrong.append(Message(N_("{n} calls: that counts each reply too; a call and its "
                                    "reply are one call."), {"n": calls}))
        elif calls == 1:
            wrong.append(Message(N_("Not only `select_destinations`: nova-compute calls the "
                                    "conductor for each state it saves.")))
        else:
            wrong.append(Message(N_("Not {n} calls: count the rows of type `call` only, "
                                    "from every sender."), {"n": calls}))
        if wrong:
            raise NotYet(N_("{sentences} Revisit the hop table of `vm1`."),
                         sentences=Joined(tuple(right + wrong)))
        return {"calls": true_calls, "casts": true_casts, "saves": true_calls - 1}


# -- exercise 3 ---------------------------------------------------------------------------


def waiting_build() -> tuple[Any, list[str]]:
    """``vm3``'s build hop, and the ``compute.<host>`` queues holding a message now."""
    hops = [h for h in _server(WAITING).hops if h.method == BUILD]
    topology = evidence.topology()
    holding = sorted(name for name, q in topology.queues.items()
                     if name.startswith("compute.") and q.messages)
    return (hops[0] if hops else None), holding


class FindTheHost(Exercise):
    title = N_("Which compute got the VM?")
    call = "check(host)"
    expects = N_("Write a host name in quotes, e.g. `\"compute9\"`.")
    hints = (
        N_("With both nova-computes stopped, the build cannot be consumed: it waits in the "
           "queue it was cast to. Which queue of the table holds a message?"),
        N_("Look at the rows `compute.compute1` and `compute.compute2`: one has 1 message. "
           "The host is the part after `compute.`."),
    )
    solution_code = ('view = lab.topology()\n'
                     'host = next(name.split(".", 1)[1] for name, queue in view.queues.items()\n'
                     '            if name.startswith("compute.") and queue.messages)')
    explanation = N_("The conductor casts `build_and_run_instance` to `compute.<host>` only, "
                     "so the queue that holds the waiting build names the host the scheduler "
                     "chose. The shared `compute` queue stays empty: Nova never sends a build "
                     "there.")
    success = N_("`{host}`: its queue `compute.{host}` holds the waiting build, and the "
                 "trace says the conductor cast it there.")

    def verify(self, host: Any) -> dict[str, str]:
        answer = evidence.text(host, "host")
        hop, holding = waiting_build()
        if hop is None:
            raise NotYet(N_("`vm3` has no build in the trace yet: run the cell that stops "
                            "the computes and boots it, then check again."))
        truth = hop.routing_key.split(".", 1)[1]
        if f"compute.{truth}" not in holding and hop.receiver:
            raise NotYet(N_("The build of `vm3` was consumed already, so the queues are "
                            "empty again: run the cell that stops the computes and boots "
                            "`vm3` once more, then check before restarting them."))
        if answer == truth:
            return {"host": truth}
        if answer == f"compute.{truth}":
            raise NotYet(N_("Right queue, `compute.{host}`, but write the host only: "
                            "`\"{host}\"`."), host=truth)
        if answer == "compute":
            raise NotYet(N_("Not `compute`: that queue is shared by the computes and holds "
                            "nothing here. Look for the `compute.<host>` queue with a "
                            "message."))
        raise NotYet(N_("Not `{answer}`: the queue `compute.{answer}` is empty, the build "
                        "waits in {queues}. Revisit the topology table above."),
                     answer=answer, queues=evidence.codes(holding))


q1, q2, q3 = PredictNextHop(), CountCallsAndCasts(), FindTheHost()
lesson = ExerciseSet(q1, q2, q3, quiz=quiz)
progress = lesson.progress
