"""Lesson 00, Welcome: two first checks on a first boot, and a quiz on how checking works."""

from __future__ import annotations

from typing import Any

from ..i18n import N_
from ..openstack.nova import NovaCloud
from . import evidence
from .core import Exercise, ExerciseSet, NotYet
from .quiz import Choice, Question, Quiz

VM = "vm1"


def _boot() -> tuple[NovaCloud, Any]:
    """The Nova cloud of the running lab and its VM ``vm1``, once it has a host."""
    cloud = evidence.cloud(NovaCloud, "cloud = lab.nova()")
    server = next((s for s in cloud.servers if s.name == VM), None)
    if server is None or server.request_id is None:
        raise NotYet(N_("No VM named `{vm}` in this lab: run the cell that boots it, "
                        "then check again."), vm=VM)
    if server.status == "BUILD":
        raise NotYet(N_("`{vm}` is still building: run the cell with `vm.wait()`, "
                        "then check again."), vm=VM)
    return cloud, server


class WhichHost(Exercise):
    title = N_("Where did vm1 land?")
    call = "check(host)"
    expects = N_("Write the host's name in quotes, e.g. `'compute1'`.")
    hints = (
        N_("The boot's table has a column `to`: who received each message. The last "
           "messages of a boot go to and from one nova-compute."),
        N_("Find the row whose method is `build_and_run_instance`: its `to` column says "
           "`nova-compute:<host>`. Write only the host part."),
    )
    solution_code = 'host = vm.host'
    explanation = N_("`vm.host` is what Nova saved; the trace says the same: the conductor "
                     "cast `build_and_run_instance` to the queue `compute.<host>` of the "
                     "host the scheduler chose.")
    success = N_("The scheduler chose `{host}`, and the conductor cast the build to the "
                 "queue `compute.{host}`.")

    def verify(self, host: Any) -> dict[str, str]:
        cloud, server = _boot()
        hosts = sorted(cloud.compute_hosts)
        answer = evidence.text(host, "host", f'"{hosts[0]}"')
        if answer.startswith("nova-compute:"):
            raise NotYet(N_("Almost: `{answer}` is the service and its host. Write the host "
                            "only, the part after `:`."), answer=answer)
        if answer not in hosts:
            raise NotYet(N_("This lab has no compute host `{answer}`; its hosts are {hosts}. "
                            "Look at the column `to` of the `build_and_run_instance` row."),
                         answer=answer, hosts=evidence.codes(hosts))
        if answer != server.host:
            raise NotYet(N_("`{answer}` runs a nova-compute too, but the scheduler chose "
                            "another host for `{vm}`: look at the column `to` of the "
                            "`build_and_run_instance` row."), answer=answer, vm=VM)
        return {"host": server.host}


class CountCasts(Exercise):
    title = N_("Casts in a boot")
    call = "check(casts)"
    expects = N_("Write a whole number, e.g. `3`.")
    hints = (
        N_("The `kind` column of the boot's table says, for each message, whether it was "
           "a `cast`, a `call` or a `reply`."),
        N_("Count the rows whose kind is `cast`: one starts the boot at the conductor, "
           "one reaches the compute host."),
    )
    solution_code = 'casts = sum(hop.kind == "cast" for hop in vm.hops)'
    explanation = N_("`vm.hops` lists the boot's messages; each hop's `kind` says how it "
                     "was sent. A cast expects no answer, which is why the API can "
                     "answer 202 at once.")
    success = N_("Right. A cast expects no answer; calls wait for a reply.")

    def verify(self, casts: Any) -> None:
        _cloud, server = _boot()
        answer = evidence.number(casts)
        hops = server.hops
        truth = sum(h.kind == "cast" for h in hops)
        if answer == truth:
            return
        if answer == len(hops):
            raise NotYet(N_("{answer} is the number of all the boot's rows, HTTP requests "
                            "included; count only those whose kind is `cast`."), answer=answer)
        if answer == sum(h.kind == "call" for h in hops):
            raise NotYet(N_("{answer} is the number of calls; count the casts, the "
                            "messages that expect no reply."), answer=answer)
        raise NotYet(N_("Not {answer}: count the rows of the boot's table whose kind is "
                        "`cast`."), answer=answer)


quiz = Quiz(
    Question("q1", N_("A check says **Not attempted**. What does it mean?"), (
        Choice(N_("Your answer is wrong."),
               N_("No: a wrong answer says **Not yet**, with what is wrong.")),
        Choice(N_("The starter cell still holds `...`: you have not answered yet."),
               N_("Yes: replace the `...`, run the cell, then the check."), correct=True),
        Choice(N_("The lab has stopped."),
               N_("No: a stopped lab gives **Not yet**, saying which cell starts it.")),
    )),
    Question("q2", N_("How do you start again from a fresh, empty lab?"), (
        Choice(N_("Delete the notebook and download it again."),
               N_("No need: the lab lives in the kernel, not in the file.")),
        Choice(N_("Run `lab = course.Lab()` again (or restart the kernel and run all)."),
               N_("Yes: a new lab stops the old one and, on the embedded broker, empties "
                  "it."), correct=True),
        Choice(N_("Run `lab.trace.clear()`."),
               N_("Not quite: that forgets the messages seen, but the services, queues "
                  "and VMs stay.")),
    )),
)

q1, q2 = WhichHost(), CountCasts()
lesson = ExerciseSet(q1, q2, quiz=quiz)
progress = lesson.progress
