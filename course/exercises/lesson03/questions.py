"""Lesson 03's quiz."""

from __future__ import annotations

from ...i18n import N_
from ..quiz import Choice, Question, Quiz

quiz = Quiz(
    Question("q1", N_("Nova's conductor sends `build_and_run_instance` with "
                      "`prepare(server=\"compute1\").cast(...)` on the topic `compute`. Which "
                      "queue receives it?"), (
        Choice(N_("`compute`: casts go to the topic queue."),
               N_("No: the target chooses the queue, not cast or call; with `server=` the "
                  "key is `compute.compute1`.")),
        Choice(N_("`compute.compute1`"),
               N_("Yes: a server-targeted cast; cast or call does not change the queue."),
               correct=True),
        Choice(N_("`compute_fanout`"),
               N_("No: that exchange is used only with `fanout=True`.")),
    )),
    Question("q2", N_("A `call()` with `timeout=0.5` goes to a topic that no server "
                      "consumes. What does the caller see?"), (
        Choice(N_("An error at once: the broker refuses the message."),
               N_("No: RPC requests are not `mandatory`; the broker drops the message "
                  "silently.")),
        Choice(N_("`MessagingTimeout` after half a second."),
               N_("Yes: the caller waits for a reply that never comes, then gives up."),
               correct=True),
        Choice(N_("It waits forever."),
               N_("No: every call has a timeout, `rpc_response_timeout` (60 s) unless "
                  "`prepare(timeout=...)` sets another.")),
    )),
    Question("q3", N_("nova-compute crashes while it runs a call it has just received. What "
                      "becomes of the request?"), (
        Choice(N_("RabbitMQ delivers it again to the next nova-compute that starts."),
               N_("No: oslo.messaging acknowledged it before running it, so the broker "
                  "holds nothing any more.")),
        Choice(N_("It is lost; the caller gets `MessagingTimeout`."),
               N_("Yes: at most once. The request was acknowledged before dispatch."),
               correct=True),
        Choice(N_("The caller gets a `RemoteError` naming the crash."),
               N_("No: a dead server sends nothing; only an exception inside a running "
                  "method comes back as an error.")),
    )),
    Question("q4", N_("One nova-api worker has ten calls in flight. How does each reply find "
                      "its caller?"), (
        Choice(N_("Each call has its own reply exchange, named after its `msg_id`."),
               N_("No: that is Nova's 2010 design; today there is one reply queue per "
                  "process, reached through the default exchange.")),
        Choice(N_("By the AMQP `correlation_id` property."),
               N_("No: oslo.messaging does not use it; the id travels in the body.")),
        Choice(N_("The worker's one `reply_<uuid>` queue receives them all; the `_msg_id` "
                  "in each reply's body picks the waiting call."),
               N_("Yes: one reused reply queue, matched by `_msg_id`."), correct=True),
    )),
)
