"""Lesson 10, the capstone: diagnose broken labs drawn by ``course.faults`` from a seed.

Each exercise starts its own broken lab (``broken = ex.q1.start()``) and checks a
diagnosis against the faults that lab really hides, through the lab's own check
(``broken.check``: what is right, the exact wrong part, the evidence it overlooked), with
a pointer to the checklist added:

* ``q1``: one fault, always the same (a fixed seed, one kind), for a first diagnosis;
* ``q2``: one fault drawn by the learner's seed (``ex.seed()``), from every kind of the
  catalogue: a class with one seed diagnoses the same deployment;
* ``q3``: two faults at once, always the same (two kinds a first look misses).

Only ``q2`` is drawn from the whole catalogue: a fault whose evidence takes a while to
show (a service counted down after ``service_down_time``) then costs its 2 s once, and
the lesson stays within its time budget.

A check needs its own lab to be the one running now: starting another lab stops it, and
the check then says which cell starts it again.  The solution of ``q2`` is the method written
as code: it reads the service list, the logs, the queues, the routing and the reply and
notification queues, and finds the fault of any seed.
"""

from __future__ import annotations

from typing import Any

from ...faults import BrokenLab, broken_lab
from ...faults.diagnosis import MISSING_KEYS, NOT_A_DIAGNOSIS, TOO_MANY, UNKNOWN_KIND
from ...i18n import N_, _
from ...lab import Lab
from ..core import Exercise, ExerciseSet, NotYet
from ..result import Joined, Message
from .checklist import SEED_VARIABLE, SeedInvalid, checklist, seed
from .questions import quiz

__all__ = ["SEED_VARIABLE", "SeedInvalid", "checklist", "lesson", "progress", "q1", "q2",
           "q3", "quiz", "seed"]

#: Exercise 1's lab: always the same fault, whatever the catalogue holds.
FIRST_SEED, FIRST_KINDS = 10, ("missing-consumer",)
#: Exercise 3's lab: two faults, always the same.
THIRD_SEED, THIRD_KINDS = 10, ("orphaned-reply-queue", "wrong-credentials")

#: Shapes the lab's check refuses before it looks at the lab: no checklist pointer there.
SHAPES = (NOT_A_DIAGNOSIS, UNKNOWN_KIND, MISSING_KEYS, TOO_MANY)
NO_LAB = N_("This exercise's broken lab is not started: run `{cell}` above, then check "
            "again.")
STOPPED = N_("This exercise's broken lab no longer runs (starting another lab stops the one "
             "before): run `{cell}` again, then check again.")
LOOK_AGAIN = N_("Run `ex.checklist(broken)` again and read it section by section, as in the "
                "method.")

#: The method as code: the service list and logs, the RPC queues and their routing, the
#: notification and reply queues (exercise 2 runs it on the lab of any seed).
METHOD = '''\
view = broken.lab.topology()
services = {service.name for service in broken.cloud.services}
owners = {hop.queue: hop.receiver for hop in broken.lab.trace.hops if hop.kind == "reply"}
found = []
for name, error in broken.logs.items():  # a service that never started
    binary, host = name.split(":")
    if "ACCESS_REFUSED" in error:  # 403: the login
        found.append({"fault": "wrong-credentials", "service": binary, "host": host})
    elif "NOT_ALLOWED" in error:  # 530: the vhost
        found.append({"fault": "wrong-vhost", "service": binary, "host": host})
if view.queues["conductor"].consumers == 0:  # every compute reports through it
    found.append({"fault": "stopped-service", "service": "nova-conductor",
                  "host": "controller"})
else:
    for row in broken.cloud.service_list():
        queue = f"compute.{row['host']}"
        if row["binary"] != "nova-compute":
            continue
        consumed = view.queues[queue].consumers > 0
        if row["state"] == "down" and not consumed:
            found.append({"fault": "stopped-service", "service": "nova-compute",
                          "host": row["host"]})
        elif row["state"] == "down":
            found.append({"fault": "heartbeat-stopped", "host": row["host"]})
        elif not consumed:
            found.append({"fault": "missing-consumer", "queue": queue})
        elif queue not in view.route("nova", queue):
            found.append({"fault": "wrong-binding", "queue": queue})
nacked = {event.routing_key for event in broken.lab.trace.events if event.action == "nack"}
for name, queue in view.queues.items():
    if name.startswith("notifications.") and name in nacked:  # capped: it refuses
        found.append({"fault": "full-queue", "queue": name})
    elif name.startswith("notifications.") and queue.messages and not queue.consumers:
        found.append({"fault": "unread-notifications", "queue": name})
    if name.startswith("reply_") and not queue.consumers and owners.get(name) not in services:
        found.append({"fault": "orphaned-reply-queue", "queue": name})
diagnosis = found'''


class Capstone(Exercise):
    """A broken lab of its own, started by :meth:`start`, and the lab's check of it."""

    call = "check(diagnosis)"
    expects = N_("Write a diagnosis as a dict with the key `fault` and the keys of its "
                 "kind, or a list of such dicts.")
    success = N_("Every fault found: {faults}.")
    #: How many faults, from which kinds (None: the whole catalogue), and the cell that
    #: starts the lab (the messages name it).
    faults = 1
    kinds: tuple[str, ...] | None = None
    cell = ""

    def __init__(self) -> None:
        super().__init__()
        self.broken: BrokenLab | None = None

    def draw(self, seed: Any) -> int:
        """The seed this exercise's lab is drawn from."""
        return int(seed)

    def start(self, seed: Any = None, **options: Any) -> BrokenLab:
        """Start this exercise's broken lab (on ``$COURSE_TRANSPORT_URL``'s broker, if
        set): the same faults for the same seed.  ``options``: as ``broken_lab``'s."""
        self.broken = broken_lab(self.draw(seed), faults=self.faults, kinds=self.kinds,
                                 **options)
        return self.broken

    def verify(self, diagnosis: Any) -> dict[str, Any]:
        broken = self.broken
        if broken is None:
            raise NotYet(NO_LAB, cell=self.cell)
        if Lab.current() is not broken.lab:
            raise NotYet(STOPPED, cell=self.cell)
        try:
            return broken.exercise.verify(diagnosis)
        except NotYet as wrong:
            if wrong.message.msgid in SHAPES:
                raise
            raise NotYet(N_("{sentences}"), sentences=Joined(
                (wrong.message, Message(LOOK_AGAIN)))) from None


class FirstDiagnosis(Capstone):
    title = N_("A first diagnosis")
    kinds = FIRST_KINDS
    cell = "broken = ex.q1.start()"
    hints = (
        N_("Users say a request to one host never completes, yet every service is up in "
           "section 1. Which RPC queue of section 2 holds a message nobody takes?"),
        N_("Section 2: the queue `compute.<host>` with 1 in the `messages` column and 0 in "
           "`consumers`. Its service is up, so the process runs: what is missing is the "
           "queue's consumer. Write `{\"fault\": \"missing-consumer\", \"queue\": ...}`."),
    )
    solution_code = (
        'view = broken.lab.topology()\n'
        'waiting = [name for name, queue in view.queues.items()\n'
        '           if name.startswith("compute.") and queue.messages and not queue.consumers]\n'
        'diagnosis = {"fault": "missing-consumer", "queue": waiting[0]}')
    explanation = N_("The service list shows every nova-compute up: each process runs and "
                     "its heartbeats (calls to the conductor) arrive. Yet one `compute.<host>` "
                     "queue holds the stop request with 0 consumers: that process's RPC "
                     "server does not consume. A stopped service would be down too.")
    success = N_("Every fault found: {faults}. Up in the service list, 0 consumers on its "
                 "queue: the process runs, its RPC server does not.")

    def draw(self, seed: Any) -> int:
        return FIRST_SEED


class YourDeployment(Capstone):
    title = N_("The deployment of your seed")
    cell = "broken = ex.q2.start(seed)"
    hints = (
        N_("Start from the symptom `broken` printed, then go through `ex.checklist(broken)` "
           "in order; each section either clears a suspect or names it."),
        N_("Look for the one line that differs: a service `down` (section 1, column "
           "`state`), a queue with `messages` but 0 `consumers` (section 2), a routing key "
           "that reaches `(no queue)` (section 3), a `notifications.*` queue that grows, or "
           "one under a policy that makes the broker refuse what is sent to it (section 5, "
           "column `policy`, and `nack` events in `broken.lab.trace.events`), a `reply_*` "
           "queue with 0 consumers whose replies went to no service of the cloud (section "
           "6), or a log in section 1 (403: the login; 530: the vhost)."),
    )
    solution_code = METHOD
    explanation = N_("The solution is the method as code: the logs, the service list read "
                     "with each compute's queue (down and unconsumed: stopped; down and "
                     "consumed: its reports stopped; up and unconsumed: no RPC consumer; "
                     "consumed but unreachable: its binding), then the notification queues "
                     "whose messages the broker refused (nacks in the trace) or nobody reads, "
                     "and the reply queues nobody reads whose replies went to a "
                     "process that is no service of the cloud. It finds the fault of any "
                     "seed.")

    def draw(self, seed: Any) -> int:
        return _seed(seed, self.cell)


class TwoFaults(Capstone):
    title = N_("Two faults at once")
    faults = 2
    kinds = THIRD_KINDS
    cell = "broken = ex.q3.start()"
    hints = (
        N_("Two symptoms, two faults: one shows in section 1 of the checklist, the other in "
           "a section users never look at. Write a list of two dicts."),
        N_("Section 1: a compute is missing from the service list, and `broken.logs` says "
           "why (read the error's code). Section 6: a `reply_...` queue with 0 in the "
           "`consumers` column, whose replies went to a process that is no service of the "
           "cloud (column `replies to`)."),
    )
    solution_code = (
        'view = broken.lab.topology()\n'
        'name = next(iter(broken.logs))  # the service that never started\n'
        'binary, host = name.split(":")\n'
        'services = {service.name for service in broken.cloud.services}\n'
        'owners = {hop.queue: hop.receiver for hop in broken.lab.trace.hops\n'
        '          if hop.kind == "reply"}\n'
        'orphans = [name for name, queue in view.queues.items() if name.startswith("reply_")\n'
        '           and not queue.consumers and owners.get(name) not in services]\n'
        'diagnosis = [{"fault": "wrong-credentials", "service": binary, "host": host},\n'
        '             {"fault": "orphaned-reply-queue", "queue": orphans[0]}]')
    explanation = N_("One nova-compute never joined: the broker refused its login "
                     "(ACCESS_REFUSED, 403, a wrong password in its `transport_url`), so it "
                     "has no service record and no queue. And `nova-manage` made a call, then "
                     "exited: its reply queue stays with 0 consumers until its `x-expires` "
                     "removes it. Nobody would notice the second one, but it is there.")

    def draw(self, seed: Any) -> int:
        return THIRD_SEED


def _seed(value: Any, cell: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SeedInvalid(_("Give this exercise the seed of the cell above: `{cell}`.",
                            cell=cell))
    return value


q1, q2, q3 = FirstDiagnosis(), YourDeployment(), TwoFaults()
lesson = ExerciseSet(q1, q2, q3, quiz=quiz)
progress = lesson.progress
