"""Lesson 10's quiz: the operator's method, step by step."""

from __future__ import annotations

from ...i18n import N_
from ..quiz import Choice, Question, Quiz

quiz = Quiz(
    Question("q1", N_("`compute.compute2` holds messages and has 0 consumers. What do you "
                      "look at next?"), (
        Choice(N_("The state of nova-compute on compute2 in the service list."),
               N_("Yes: down, the service is stopped; up, its process runs but does not "
                  "consume that queue."), correct=True),
        Choice(N_("The `compute` queue, which should take over."),
               N_("No: a message for `compute.compute2` stays in that queue; no other queue "
                  "gets it.")),
        Choice(N_("Nothing: delete the queue, the service declares it again."),
               N_("No: that loses the waiting requests and explains nothing.")),
    )),
    Question("q2", N_("nova-api sent a cast to `compute.compute3`. The queue is empty, has its "
                      "consumer, and the server's state never changes. Where is the "
                      "message?"), (
        Choice(N_("Lost: no binding routed its key to a queue, and a cast is not "
                  "`mandatory`, so nothing came back."),
               N_("Yes: `topology.route(\"nova\", \"compute.compute3\")` says where a message "
                  "goes; the bindings say why."), correct=True),
        Choice(N_("In nova-api's reply queue."),
               N_("No: a cast asks for no reply; only calls use the reply queue.")),
        Choice(N_("In the broker's memory, until the consumer asks for it."),
               N_("No: a queue that got it would count it in `messages`.")),
    )),
    Question("q3", N_("Every nova-compute is down, and `conductor` holds messages with 0 "
                      "consumers. What do you fix first?"), (
        Choice(N_("Each nova-compute, one by one."),
               N_("No: they run; their reports are calls to the conductor, which nobody "
                  "answers.")),
        Choice(N_("nova-conductor."),
               N_("Yes: the computes' heartbeats travel through it; once it runs they are "
                  "up again."), correct=True),
        Choice(N_("nova-scheduler."),
               N_("No: the computes do not report through the scheduler.")),
    )),
    Question("q4", N_("A caller logs `MessagingTimeout` (\"Timed out waiting for a reply to "
                      "message ID ...\"). Where is the fault, most often?"), (
        Choice(N_("In the caller: its reply queue is broken."),
               N_("Not usually: the caller only waited. Look at the queue it called.")),
        Choice(N_("On the side that should answer: the callee, or the way to it."),
               N_("Yes: look at the called queue's consumers and routing, then at the "
                  "service behind it."), correct=True),
        Choice(N_("In the message's envelope."),
               N_("No: every call has the same 2.0 envelope; a timeout says that no reply "
                  "came in time.")),
    )),
    Question("q5", N_("A `reply_...` queue has 0 consumers: the process that called through "
                      "it has exited. What becomes of the queue?"), (
        Choice(N_("It stays until its `x-expires` (oslo's `rabbit_transient_queues_ttl`, 30 "
                  "minutes by default) removes it."),
               N_("Yes: reply queues are neither exclusive nor auto-delete; their expiry "
                  "cleans them up."), correct=True),
        Choice(N_("RabbitMQ deletes it when the connection closes."),
               N_("No: that holds for exclusive queues, and oslo's are not exclusive.")),
        Choice(N_("It stays forever."),
               N_("Only when the TTL is set to 0; by default it expires after 30 minutes.")),
    )),
)
