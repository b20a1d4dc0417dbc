"""Lesson 04's quiz."""

from __future__ import annotations

from ...i18n import N_
from ..quiz import Choice, Question, Quiz

quiz = Quiz(
    Question("q1", N_("For `openstack server create`, which service does nova-api send its "
                      "message to?"), (
        Choice(N_("nova-scheduler, with a cast on `scheduler`."),
               N_("No: that was the flow before Havana (2013.2); today the API never messages "
                  "the scheduler for a boot.")),
        Choice(N_("nova-conductor, with a cast of `schedule_and_build_instances`."),
               N_("Yes: since Ocata the API casts it to nova-conductor, which orchestrates "
                  "the whole boot."),
               correct=True),
        Choice(N_("nova-compute, with a cast on `compute`."),
               N_("No: nova-api does not know the host yet; the scheduler has not run.")),
    )),
    Question("q2", N_("How does the scheduler tell nova-compute to build the VM?"), (
        Choice(N_("It casts `build_and_run_instance` to `compute.<host>`."),
               N_("No: the scheduler never casts to compute; it returns hosts to the "
                  "conductor.")),
        Choice(N_("It does not: it replies to the conductor's call with a host and "
                  "alternates, and the conductor casts to the compute."),
               N_("Yes: `select_destinations` is a call, answered with a list of "
                  "selections."), correct=True),
        Choice(N_("It publishes a fanout to every compute, and the first to answer wins."),
               N_("No: the only fanout of a boot goes the other way, from the compute to "
                  "the schedulers (`update_instance_info`).")),
    )),
    Question("q3", N_("Why does nova-compute call the conductor to save `task_state`?"), (
        Choice(N_("Because the conductor must approve each step."),
               N_("No: the conductor approves nothing; it runs the save.")),
        Choice(N_("Because nova-compute has no database access: the conductor saves "
                  "objects for it."),
               N_("Yes: `Instance.save()` on a compute becomes a conductor call "
                  "(`object_action`)."), correct=True),
        Choice(N_("To tell the scheduler about the new state."),
               N_("No: the scheduler hears of the instance through `update_instance_info`, "
                  "a fanout.")),
    )),
    Question("q4", N_("A spawn fails on the first host. What happens next in this lab, as in "
                      "Nova since Queens?"), (
        Choice(N_("The conductor calls the scheduler again for a new host."),
               N_("No: the scheduler already returned alternates; it is not called again.")),
        Choice(N_("The compute casts `build_instances` to the conductor, which claims an "
                  "alternate host and casts the build there."),
               N_("Yes: `select_destinations` appears once in the trace, "
                  "`build_and_run_instance` twice."), correct=True),
        Choice(N_("The VM goes to ERROR at once."),
               N_("No: only after the alternates run out (or with no alternate).")),
    )),
    Question("q5", N_("No host has room for the flavor. Where is the instance?"), (
        Choice(N_("In cell1, in ERROR, on no host."),
               N_("No: it was never created in a cell with hosts: no host was chosen.")),
        Choice(N_("Nowhere: nova-api refuses the request."),
               N_("No: nova-api already answered 202; only the scheduler finds out.")),
        Choice(N_("In cell0, in ERROR: the conductor buries it there."),
               N_("Yes: `NoValidHost` comes back in the scheduler's reply, and no "
                  "`build_and_run_instance` is ever sent."), correct=True),
    )),
)
