"""Lesson 08's quiz."""

from __future__ import annotations

from ...i18n import N_
from ..quiz import Choice, Question, Quiz

quiz = Quiz(
    Question("q1", N_("nova-compute on `compute1` is stopped for ten minutes. What becomes "
                      "of the `build_and_run_instance` cast sent to it meanwhile?"), (
        Choice(N_("It is lost: nobody consumed it."),
               N_("No: a topic queue has no TTL, and a cast no expiration.")),
        Choice(N_("It waits in `compute.compute1` until `compute1` consumes again."),
               N_("Yes: the queue outlives its consumer, and the cast waits."), correct=True),
        Choice(N_("The broker sends it to another compute."),
               N_("No: `compute.compute1` is bound to `compute1`'s key alone; only the "
                  "scheduler chooses hosts.")),
    )),
    Question("q2", N_("The conductor is down. Why does `openstack compute service list` show "
                      "the computes `down`?"), (
        Choice(N_("Their AMQP heartbeats stop."),
               N_("No: their connections to RabbitMQ are fine.")),
        Choice(N_("Their service heartbeat is a call to the conductor, which nobody answers."),
               N_("Yes: nova-compute has no database; `report_state` saves through the "
                  "conductor, and times out."), correct=True),
        Choice(N_("The scheduler marks them down."),
               N_("No: the API reads the service records, which nobody updates any more.")),
    )),
    Question("q3", N_("A RabbitMQ with oslo.messaging's default options restarts. What is "
                      "lost?"), (
        Choice(N_("Nothing: RabbitMQ writes every message to disk."),
               N_("No: the default queues are transient; a restart deletes them.")),
        Choice(N_("The messages waiting in the topic queues, and the calls in flight."),
               N_("Yes: transient queues are not kept, and a call whose request or reply is "
                  "lost times out."), correct=True),
        Choice(N_("Only the reply queues."),
               N_("No: `compute.<host>` and the other topic queues are transient too.")),
    )),
    Question("q4", N_("nova-compute crashes in the middle of `build_and_run_instance`. Is the "
                      "cast delivered again when it restarts?"), (
        Choice(N_("Yes: it was never acknowledged."),
               N_("No: oslo.messaging's RPC server acknowledged it on receipt.")),
        Choice(N_("No: it was acknowledged before the method ran (at most once)."),
               N_("Right: nova-compute's `init_host` then deals with the interrupted build."),
               correct=True),
        Choice(N_("Yes, flagged `redelivered`."),
               N_("No: that is what happens to an unacknowledged message.")),
    )),
    Question("q5", N_("A quorum queue has `x-delivery-limit` 2 and no dead-letter exchange. "
                      "A message fails and is requeued again and again. What happens?"), (
        Choice(N_("It comes back for ever."),
               N_("No: that is a classic queue's behaviour.")),
        Choice(N_("It is delivered three times; the third requeue drops it."),
               N_("Yes: past the limit a quorum queue drops it, or dead-letters it when a "
                  "dead-letter exchange is set."), correct=True),
        Choice(N_("It goes to `lab08.dead` anyway."),
               N_("No: without a dead-letter exchange, RabbitMQ has nowhere to put it.")),
    )),
)
