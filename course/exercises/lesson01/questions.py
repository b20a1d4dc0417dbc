"""Lesson 01's quiz."""

from __future__ import annotations

from ...i18n import N_
from ..quiz import Choice, Question, Quiz

quiz = Quiz(
    Question("q1", N_("`openstack server create` answers `202 Accepted` before the VM exists. "
                      "Why can nova-api answer so soon?"), (
        Choice(N_("It calls nova-conductor and waits until the VM is scheduled."),
               N_("No: a call would make it wait for the conductor's reply. nova-api casts.")),
        Choice(N_("It casts `schedule_and_build_instances` to the queue `conductor` and "
                  "answers at once; the build goes on without it."),
               N_("Yes: a cast returns as soon as the broker has the message."), correct=True),
        Choice(N_("It sends the request straight to a compute node, which answers at once."),
               N_("No: nova-api sends no boot to a compute; it does not even know the host "
                  "yet.")),
    )),
    Question("q2", N_("nova-compute on `compute3` is stopped for ten minutes. With "
                      "oslo.messaging's defaults, what happens to a build cast sent to "
                      "`compute.compute3` meanwhile?"), (
        Choice(N_("It is lost: the queue goes away with its last consumer."),
               N_("No: oslo.messaging declares its topic queues with `auto_delete` false "
                  "(`amqp_auto_delete = False`): the queue stays, with its messages.")),
        Choice(N_("The broker passes it to the queue of another compute."),
               N_("No: a broker never reroutes a queued message; `compute.compute3` is that "
                  "host's own queue.")),
        Choice(N_("It waits in `compute.compute3` until nova-compute consumes again."),
               N_("Yes: the queue keeps it, and a cast never expires."), correct=True),
        Choice(N_("It expires after `rpc_response_timeout` (60 s)."),
               N_("That is what a call's request does: it expires with the caller's timeout. "
                  "A cast has no expiry.")),
    )),
    Question("q3", N_("Three nova-conductor processes consume the queue `conductor`, and 300 "
                      "casts arrive. What does each conductor receive?"), (
        Choice(N_("About 100: the broker hands the messages to them in turn."),
               N_("Yes: competing consumers share the work; to handle more, start more "
                  "conductors."), correct=True),
        Choice(N_("All 300: each conductor gets a copy."),
               N_("That is a fanout, with one queue per consumer. Here three consumers share "
                  "one queue.")),
        Choice(N_("All 300 go to the first conductor; the others stand by."),
               N_("No: the broker delivers to the consumers of a queue in turn; none stands "
                  "by.")),
    )),
    Question("q4", N_("The conductor calls the scheduler, but every nova-scheduler is stopped. "
                      "What does the conductor see?"), (
        Choice(N_("Nothing: it waits for ever, as a cast would."),
               N_("A cast does not wait at all. A call waits, but only until its timeout.")),
        Choice(N_("An error at once: the broker refuses messages for a queue with no "
                  "consumer."),
               N_("No: the broker queues the message; the caller only notices that no reply "
                  "comes.")),
        Choice(N_("A `MessagingTimeout`, once the call's timeout has passed."),
               N_("Yes: the request waits in the queue `scheduler`, but the caller gives up "
                  "when no reply comes in time."), correct=True),
    )),
    Question("q5", N_("A new compute host joins the cloud. What must change in nova-api's and "
                      "nova-conductor's messaging settings so that they can reach it?"), (
        Choice(N_("Its host name must be added to their `transport_url`."),
               N_("No: `transport_url` names the broker, never the other services.")),
        Choice(N_("Nothing: the new nova-compute declares `compute.<host>` and binds it to "
                  "the exchange `nova` when it starts."),
               N_("Yes: the senders keep publishing to `nova`; the new queue and its binding "
                  "come from the new consumer."), correct=True),
        Choice(N_("RabbitMQ must be restarted to learn the new queue."),
               N_("No: queues and bindings are declared while the broker runs, by the "
                  "services themselves.")),
    )),
)

