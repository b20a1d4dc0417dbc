"""Lesson 02's quiz."""

from __future__ import annotations

from ...i18n import N_
from ..quiz import Choice, Question, Quiz

quiz = Quiz(
    Question("q1", N_("A queue is bound to a topic exchange with the key `notifications.*`. "
                      "Which routing key reaches it?"), (
        Choice(N_("`notifications`"),
               N_("No: `*` stands for exactly one word, and `notifications` has none after "
                  "it.")),
        Choice(N_("`notifications.info.compute1`"),
               N_("No: `*` takes one word, not two; `notifications.#` would take it.")),
        Choice(N_("`notifications.info`"),
               N_("Yes: `notifications`, then one word."), correct=True),
        Choice(N_("`versioned_notifications.info`"),
               N_("No: the first word must be exactly `notifications`.")),
    )),
    Question("q2", N_("A message is published, without `mandatory`, to an exchange where no "
                      "binding matches its routing key. What happens?"), (
        Choice(N_("It waits in the exchange until a matching queue is bound."),
               N_("No: an exchange stores nothing; only queues keep messages.")),
        Choice(N_("The publisher's `publish()` raises an error."),
               N_("No: only an exchange that does not exist is an error (404). With "
                  "`mandatory=True` the broker would return the message instead.")),
        Choice(N_("The broker drops it, and the publisher is not told."),
               N_("Yes: this is how a cast to a queue nobody declared is lost silently."),
               correct=True),
        Choice(N_("It goes to the default exchange instead."),
               N_("No: the default exchange is used only when you publish to `\"\"`.")),
    )),
    Question("q3", N_("A headers exchange binds a queue with `x-match: any`, `service: "
                      "nova`, `priority: error`. A message arrives with the headers "
                      "`service: glance`, `priority: error`. Does the queue get it?"), (
        Choice(N_("No: every header must match."),
               N_("Not here: requiring every header is what `x-match: all` does; this "
                  "binding says `any`.")),
        Choice(N_("Yes: with `any`, one matching header is enough."),
               N_("Yes: `priority` matches; with `all` it would not."), correct=True),
        Choice(N_("No: a headers exchange routes on the routing key."),
               N_("No: a headers exchange ignores the routing key.")),
    )),
    Question("q4", N_("How does the reply to an oslo.messaging `call()` reach the caller "
                      "today?"), (
        Choice(N_("Through a direct exchange created for that call, named after its "
                  "`msg_id`."),
               N_("No: that is the design Nova's 2010 page draws; no such exchange exists "
                  "today.")),
        Choice(N_("Through the exchange `nova`, with the routing key `reply`."),
               N_("No: `nova` carries requests; replies use the default exchange.")),
        Choice(N_("Through a fanout exchange, so that every caller sees it."),
               N_("No: a reply is for one caller only.")),
        Choice(N_("Through the default exchange, to the caller's `reply_<uuid>` queue, "
                  "reused for all its calls."),
               N_("Yes: the routing key is the queue's name, and `_msg_id` in the body "
                  "tells the calls apart."), correct=True),
    )),
    Question("q5", N_("You declare `kombu.Queue(\"errors\", nova, routing_key=\"#\")`, then "
                      "fix the key to `*.error` and declare again. Which bindings does "
                      "`errors` have now?"), (
        Choice(N_("Both `#` and `*.error`."),
               N_("Yes: bindings add up; remove the old one with `unbind_from`, or delete "
                  "the queue and declare it again."), correct=True),
        Choice(N_("Only `*.error`: the second declaration replaces the first."),
               N_("No: a declaration adds a binding, it never removes one.")),
        Choice(N_("None: the broker refuses the second declaration (406)."),
               N_("No: 406 comes when the queue's flags differ (say, `durable`), not when "
                  "a binding is added.")),
    )),
)
