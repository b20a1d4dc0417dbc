"""Lesson 01, Why a message bus: what the sender names, how a shared queue splits the work
and a fanout copies it, which sends wait for the work, and a boot held in a queue while
its service is away, then delivered.

Exercises 2 and 3 run an experiment of their own on the lab's broker (workers on a topic
of their own, with a trace of their own), then remove what they declared, so that the
learner's lab stays as it was.  Exercises 4 and 5 read the learner's Nova cloud: the
queues, the VM ``vm2`` and the messages of its boot.
"""

from __future__ import annotations

import time
from typing import Any

from ...i18n import N_
from .. import evidence
from ..core import Exercise, ExerciseSet, NotAttempted, NotYet
from ..result import Joined, Message
from . import runs
from .questions import quiz
from .runs import API, EXCHANGE, FINAL, HOSTS, TOPIC

# -- the exercises ------------------------------------------------------------------------


class SenderNames(Exercise):
    title = N_("What the sender knows")
    call = "check(names)"
    expects = N_("Write a set of names in quotes, e.g. `{'a', 'b'}`.")
    hints = (
        N_("In the trace table, some columns were written by `image-api` when it published, "
           "the others by the broker and the workers. Which ones did the sender write?"),
        N_("The sender wrote the columns `exchange` and `routing key`; the queue and the "
           "receiver came from the broker's bindings and from the broker. Write those two "
           "names."),
    )
    solution_code = 'names = {"openstack", "images"}'
    explanation = N_("A cast is published to an exchange with a routing key, and that is all "
                     "the sender writes: the exchange `openstack` (oslo.messaging's default "
                     "control exchange) and the topic `images`. The exchange's bindings lead "
                     "the message to the queue `images`, and the broker gives it to one of "
                     "that queue's consumers.")
    success = N_("`image-api` named the exchange `openstack` and the routing key `images`, "
                 "and no worker: the broker did the rest. Adding a worker changes nothing "
                 "for the sender.")

    def verify(self, names: Any) -> None:
        answer = {n.strip() for n in evidence.names(names, "{'a', 'b'}")}
        hops = evidence.lab().trace.hops
        casts = [h for h in hops if h.sender == API and h.kind == "cast"
                 and h.routing_key == TOPIC]
        if not casts:
            raise NotYet(N_("The trace holds no cast from `image-api` to the topic `images`: "
                            "run the cells of the sections on decoupling and scale, then "
                            "check again."))
        truth = {EXCHANGE, TOPIC}
        if answer == truth:
            return
        receivers = {h.receiver for h in casts if h.receiver}
        hosts = {r.partition(":")[2] for r in receivers} | receivers
        for name in sorted(answer - truth):
            if name in hosts or name.startswith("host") or name.startswith("image-worker"):
                raise NotYet(N_("`{name}` names a worker: `image-api` never named one. It "
                                "published to an exchange with a routing key, and the broker "
                                "handed each message to one of the workers, in turn."),
                             name=name)
            if name.startswith(f"{TOPIC}.") or name.startswith(f"{TOPIC}_fanout"):
                raise NotYet(N_("`{name}` is the queue of one worker, which its server "
                                "declared for messages meant for it alone; the casts above "
                                "named no server, and reached the shared queue `images`."),
                             name=name)
            if name == "resize":
                raise NotYet(N_("`resize` is the method, inside the message: it says what the "
                                "worker should do, not where the message goes."))
            if name.startswith("reply_"):
                raise NotYet(N_("`{name}` is a reply queue: it carries the answers to calls, "
                                "back to the caller. The casts needed no such name."),
                             name=name)
            raise NotYet(N_("`{name}` is not on `image-api`'s casts: look at the columns "
                            "`exchange` and `routing key` of the trace table."), name=name)
        if TOPIC in answer:
            raise NotYet(N_("Right, the routing key `images` is one of them. Every message "
                            "is also published to an exchange: which one does the column "
                            "`exchange` show?"))
        if EXCHANGE in answer:
            raise NotYet(N_("Right, `openstack` is the exchange. The exchange chooses queues "
                            "by the message's routing key: which key did `image-api` "
                            "give?"))
        raise NotYet(N_("An empty set: `image-api` did name something on each message. Look "
                        "at the columns `exchange` and `routing key` of the trace table."))


class PredictSplit(Exercise):
    title = N_("Shared casts and fanout copies")
    call = "check(split)"
    expects = N_("Write a dict of whole numbers, e.g. `{'host1': 1, 'host2': 2, 'host3': 3}`.")
    hints = (
        N_("Two things happen here. The 6 casts to the topic go to the one queue the three "
           "workers share; each fanout cast goes to every worker's own fanout queue."),
        N_("Each of the 6 casts reaches one worker, in turn: 2 each. Each of the 2 fanout "
           "casts reaches all three workers: 2 more each."),
    )
    solution_code = 'split = {"host1": 4, "host2": 4, "host3": 4}'
    explanation = N_("The 6 casts wait in the queue the workers share, and the broker hands "
                     "them to its three consumers in turn: 2 each. A fanout cast is copied "
                     "into each worker's own fanout queue: 2 copies each. 2 + 2 = 4.")
    success = N_("The check's run gave {run}: 2 of the shared casts each, plus a copy of "
                 "each fanout cast.")

    def verify(self, split: Any) -> dict[str, str]:
        if not isinstance(split, dict):
            raise NotYet(N_("Write the answer as a dict, one whole number per worker, e.g. "
                            "`{example}`; this answer is {kind}."),
                         example="{'host1': 1, 'host2': 2, 'host3': 3}",
                         kind=evidence.kind(split))
        if any(v is ... for v in split.values()):
            raise NotAttempted(N_("Some numbers are still `...`: write one for each worker, "
                                  "run that cell, then check again."))
        if set(split) != set(HOSTS):
            raise NotYet(N_("Give one number for each of the workers `host1`, `host2` and "
                            "`host3`, and for no other; this answer has {keys}."),
                         keys=evidence.listed(str(k) for k in split))
        answer = {host: evidence.number(split[host], "4") for host in HOSTS}
        run = runs.split_run()
        shown = Joined(tuple(Message(N_("`{host}`: {count}"), {"host": host, "count": run[host]})
                             for host in HOSTS), ", ")
        if answer == run:
            return {"run": shown}
        values = sorted(answer.values())
        if values == [8, 8, 8]:
            raise NotYet(N_("8 each would mean every message reached every worker. Only the "
                            "2 fanout casts do; the 6 others share one queue. The run gave "
                            "{run}."), run=shown)
        if values == [2, 2, 2]:
            raise NotYet(N_("2 each is right for the 6 shared casts, but you left out the "
                            "fanout casts: each one gives every worker its own copy. The "
                            "run gave {run}."), run=shown)
        if values[-1] >= 6:
            raise NotYet(N_("One worker does not take every cast: the broker hands the "
                            "messages of a shared queue to its consumers in turn. The run "
                            "gave {run}."), run=shown)
        if sum(values) == 8:
            raise NotYet(N_("Your numbers add up to 8, as if each message reached one "
                            "worker. The 6 casts do; each fanout cast reaches all three. The "
                            "run gave {run}."), run=shown)
        raise NotYet(N_("Not quite: the run gave {run}. Count the shared casts (one worker "
                        "each, in turn) and the fanout copies (every worker) apart."),
                     run=shown)


class ReturnedEarly(Exercise):
    title = N_("Who waits for the work?")
    call = "check(early)"
    expects = N_("Write a set of names from the table, e.g. `{'cast'}`.")
    hints = (
        N_("Only one kind of message makes its sender wait: the one that expects a reply. "
           "Does naming a server, or fanning out, change that?"),
        N_("`call` and `call_to_host1` wait for the reply, which the worker sends once its "
           "method has returned. The three others are casts: they return as soon as the "
           "broker has the message."),
    )
    solution_code = 'early = {"cast", "fanout", "cast_to_host1"}'
    explanation = N_("A cast hands the message to the broker and returns, whichever queue it "
                     "goes to: the shared one, every worker's fanout queue, or one server's "
                     "own. A call then waits for the reply, sent when the method has "
                     "returned.")
    success = N_("Measured: the three casts returned before the work had even begun (in "
                 "{casts} ms at most); the calls returned after it (in {calls} ms at least).")

    def verify(self, early: Any) -> dict[str, float]:
        answer = {n.strip() for n in evidence.names(early, "{'cast'}")}
        unknown = sorted(answer - set(runs.SENDS))
        if unknown:
            raise NotYet(N_("`{name}` is not in the table: the names are {names}."),
                         name=unknown[0], names=evidence.codes(runs.SENDS))
        measured = runs.timing_run()
        truth = {name for name, (first, _ms) in measured.items() if first}

        def ms(name: str) -> float:
            return round(measured[name][1], 2 if measured[name][1] < 1 else 1)

        if answer == truth:
            return {"casts": max(ms(n) for n in truth),
                    "calls": min(ms(n) for n in set(runs.SENDS) - truth)}
        waited = sorted(answer - truth)
        if waited:
            raise NotYet(N_("`{name}` returned only after the work, in {ms} ms: a call waits "
                            "for the worker's reply, which is sent when the method has "
                            "returned."), name=waited[0], ms=ms(waited[0]))
        missing = truth - answer
        if "cast_to_host1" in missing:
            raise NotYet(N_("`cast_to_host1` returned before the work too, in {ms} ms: naming "
                            "a server changes the queue (that server's own), not the "
                            "waiting. A cast is a cast."), ms=ms("cast_to_host1"))
        if "fanout" in missing:
            raise NotYet(N_("`fanout` returned before the work too, in {ms} ms: a fanout is "
                            "a cast to every worker, and it waits for none of them."),
                         ms=ms("fanout"))
        raise NotYet(N_("`cast` returned in {ms} ms, before the work had begun: a cast waits "
                        "for nobody."), ms=ms("cast"))


class HoldTheBoot(Exercise):
    title = N_("A boot that waits before a host is chosen")
    call = "check()"
    expects = N_("This check reads the lab: call it with nothing between the brackets, "
                 "`ex.q4.check()`.")
    hints = (
        N_("Look at the boot of `vm1` in its table: which message comes first on the broker, "
           "who sends it, and in which queue does it wait? Which service consumes that "
           "queue?"),
        N_("nova-api casts `schedule_and_build_instances` to the queue `conductor`, and only "
           "then does the conductor ask the scheduler for a host. Stop nova-conductor, then "
           "boot `vm2`."),
    )
    solution_code = 'cloud.service("nova-conductor").stop()\nvm2 = cloud.boot("vm2")'
    explanation = N_("With nova-conductor stopped, nova-api still accepts the boot and casts "
                     "`schedule_and_build_instances` to the queue `conductor`, which now has "
                     "no consumer. A cast does not expire and the queue is not deleted: the "
                     "request waits there, before any host is chosen, for as long as the "
                     "conductor is away.")
    success = N_("`vm2`'s request waits in the queue `conductor` (messages: {messages}, "
                 "consumers: 0) as the cast `schedule_and_build_instances`: no host is chosen "
                 "yet, and nothing will expire. Go on with exercise 5.")

    def __init__(self) -> None:
        super().__init__()
        #: server uuid -> the unique id of the cast seen waiting (exercise 5 reads it).
        self.held: dict[str, str] = {}

    def verify(self) -> dict[str, int]:
        cloud = runs.nova_cloud()
        stopped = runs.stopped(cloud)
        named = runs.named(cloud, "vm2")
        if not named:
            if not stopped:
                raise NotAttempted(N_("Nothing is stopped and there is no `vm2` yet: in the "
                                      "cell above, stop one service of `cloud`, then boot "
                                      "`vm2`."))
            raise NotYet(N_("You stopped {services}; now boot `vm2` "
                            "(`vm2 = cloud.boot(\"vm2\")`), then check again."),
                         services=runs.service_names(stopped))
        server = named[-1]
        waiting, status = runs.waiting(server)
        for hop, queues in waiting:
            if hop.routing_key == "conductor":
                self.held[server.uuid] = hop.unique_id
                depth = evidence.topology().queues[queues[0]].messages
                return {"messages": depth}
        for hop, queues in waiting:
            if hop.routing_key == "scheduler":
                raise NotYet(N_("Almost: `vm2`'s request waits before a host is chosen, in "
                                "the queue `scheduler`, but as the conductor's **call** "
                                "`select_destinations`. A call does not wait as long as "
                                "needed: the conductor gives up after its timeout, and `vm2` "
                                "goes to ERROR. Start nova-scheduler again, then stop the "
                                "service that receives the cast sent before that call."))
            if hop.routing_key.startswith("compute"):
                host = hop.routing_key.partition(".")[2]
                raise NotYet(N_("`vm2`'s build waits in the queue `{queue}`, with no "
                                "consumer: a message that waits, well done. But by then the "
                                "scheduler had chosen `{host}`. Start that nova-compute "
                                "again, then stop the service that receives the boot's first "
                                "message, before the scheduler is asked."),
                             queue=queues[0], host=host)
        if waiting:
            hop, queues = waiting[0]
            raise NotYet(N_("`vm2`'s message `{method}` waits in the queue `{queue}`, but the "
                            "task asks for the boot to wait before the scheduler is asked: "
                            "look at the first message of the boot."),
                         method=hop.method, queue=queues[0])
        if status == "ERROR":
            raise NotYet(N_("`vm2` went to ERROR: its boot did not wait, it failed. If "
                            "nova-scheduler was stopped, the conductor's call to it timed "
                            "out. Start every service again, then stop the one that receives "
                            "the boot's first message and boot a new `vm2`."))
        if status != "ACTIVE":
            raise NotYet(N_("`vm2` is still on its way: run this check again in a moment."))
        binaries = {s.binary for s in stopped}
        if "nova-api" in binaries:
            raise NotYet(N_("nova-api is stopped, yet `vm2` was built: nova-api consumes no "
                            "queue, it only sends (the boot reaches it over HTTP). Start it "
                            "again, and stop a service that consumes the message nova-api "
                            "sends."))
        computes = [s for s in stopped if s.binary == "nova-compute"]
        if computes and server.host not in {s.host for s in computes}:
            raise NotYet(N_("You stopped {services}, but the scheduler chose `{host}` for "
                            "`vm2`, which was built there. A stopped compute holds only the builds "
                            "sent to it, once a host is chosen; the task asks for a wait "
                            "before that."), services=runs.service_names(computes),
                         host=server.host)
        if stopped:
            raise NotYet(N_("`vm2` was built before you stopped {services}: stop the "
                            "service first, then boot a new `vm2` in the same cell."),
                         services=runs.service_names(stopped))
        raise NotYet(N_("`vm2` was built at once: no service was stopped when it booted. "
                        "Stop one first, then boot a new `vm2` in the same cell."))


class ReleaseTheBoot(Exercise):
    title = N_("The message that waited")
    call = "check()"
    expects = N_("This check reads the lab: call it with nothing between the brackets, "
                 "`ex.q5.check()`.")
    hints = (
        N_("The message is still in its queue: it needs a consumer again. Which service did "
           "you stop?"),
        N_("Start nova-conductor again, `cloud.service(\"nova-conductor\").start()`, then "
           "wait for the VM: `vm2.wait()`."),
    )
    solution_code = 'cloud.service("nova-conductor").start()\nvm2.wait()'
    explanation = N_("Started again, nova-conductor consumes the queue `conductor` and "
                     "receives the cast that waited there, the very message nova-api sent: "
                     "the boot goes on from where it stopped.")
    success = N_("The cast that waited was delivered once to nova-conductor, {seconds} s "
                 "after nova-api sent it, and `vm2` is ACTIVE: nothing was lost, and nothing "
                 "was sent again.")

    def __init__(self, held: HoldTheBoot) -> None:
        super().__init__()
        self.hold = held

    def verify(self) -> dict[str, float]:
        cloud = runs.nova_cloud()
        named = runs.named(cloud, "vm2")
        held = [s for s in named if s.uuid in self.hold.held]
        if not held:
            if not named:
                raise NotAttempted(N_("There is no `vm2` yet: do exercise 4 first."))
            raise NotYet(N_("Run exercise 4's check first, while `vm2`'s message waits: that "
                            "check is what sees it wait."))
        server = held[-1]
        unique_id = self.hold.held[server.uuid]
        events = [e for e in evidence.lab().trace.events if e.unique_id == unique_id]
        sent = [e for e in events if e.action == "publish"]
        got = [e for e in events if e.action == "deliver"]
        if not got:
            if named[-1] is not server:
                raise NotYet(N_("You booted `vm2` again: the new request waits behind the "
                                "first one in the queue `conductor`. Booting again only sends "
                                "a new message; start the stopped service instead."))
            depth = evidence.topology().queues.get("conductor")
            raise NotYet(N_("`vm2`'s cast still waits in the queue `conductor` (messages: "
                            "{messages}, consumers: 0). Start nova-conductor again, then "
                            "check."), messages=depth.messages if depth else 0)
        deadline = time.monotonic() + 3
        while server.status not in FINAL and time.monotonic() < deadline:
            time.sleep(0.01)
        status = server.status
        if status == "ERROR":
            raise NotYet(N_("The cast was delivered, but `vm2` is in ERROR: the build failed "
                            "after it. Start every stopped service again "
                            "(`for s in cloud.services: s.start()`), then do exercise 4 again "
                            "with a new `vm2`."))
        if status != "ACTIVE":
            raise NotYet(N_("The cast was delivered and the build goes on: run `vm2.wait()`, "
                            "then check again."))
        if len(sent) != 1 or len(got) != 1:
            raise NotYet(N_("The cast was sent {sent} times and delivered {got} times: it "
                            "should be once each."), sent=len(sent), got=len(got))
        return {"seconds": round(got[0].time - sent[0].time, 2)}


q1, q2, q3 = SenderNames(), PredictSplit(), ReturnedEarly()
q4 = HoldTheBoot()
q5 = ReleaseTheBoot(q4)
lesson = ExerciseSet(q1, q2, q3, q4, q5, quiz=quiz)
progress = lesson.progress
