"""Lesson 07's quiz."""

from __future__ import annotations

from ...i18n import N_
from ..quiz import Choice, Question, Quiz

quiz = Quiz(
    Question("q1", N_("nova-compute on `compute1` sends `instance.create.end` in both "
                      "formats. Which `publisher_id` does the versioned one carry?"), (
        Choice(N_("`compute.compute1`"),
               N_("No: that is the legacy notification's (`<service>.<host>`).")),
        Choice(N_("`nova-compute:compute1`"),
               N_("Yes: versioned notifications name the binary and the host "
                  "(`<binary>:<host>`)."), correct=True),
        Choice(N_("`nova.compute1`"),
               N_("No: `nova` is the exchange, not the publisher.")),
    )),
    Question("q2", N_("Two listeners share the pool `metering`, a third one has no pool, all "
                      "on `versioned_notifications`. How many copies of one notification are "
                      "delivered?"), (
        Choice(N_("3: one per listener."),
               N_("No: the two listeners of the pool share one queue, `metering`.")),
        Choice(N_("2: one to the pool's queue `metering`, one to "
                  "`versioned_notifications.info`."),
               N_("Yes: a pool is a queue of its own, bound with the same key; its "
                  "listeners compete for its messages."), correct=True),
        Choice(N_("1: the listeners take turns."),
               N_("No: that holds for listeners without a pool only.")),
    )),
    Question("q3", N_("`notifications.info` grows, with no consumer. Which of these is NOT "
                      "a fix?"), (
        Choice(N_("`[oslo_messaging_notifications] driver = noop` where nothing needs them."),
               N_("It is one: nothing is sent any more.")),
        Choice(N_("A policy `{\"max-length\": 1000}` on `^notifications\\.`."),
               N_("It is one: the queue keeps the newest 1000.")),
        Choice(N_("Declaring `notifications.info` again with `x-max-length`."),
               N_("Right, it is not: the queue exists without arguments, so RabbitMQ refuses "
                  "the declaration (406 PRECONDITION_FAILED)."), correct=True),
    )),
    Question("q4", N_("What does the driver `messaging` change, compared with "
                      "`messagingv2`?"), (
        Choice(N_("The notification travels without the `oslo.version` 2.0 envelope."),
               N_("Yes: `messaging` sends the bare message, `messagingv2` wraps it."),
               correct=True),
        Choice(N_("It sends legacy notifications only."),
               N_("No: Nova's `notification_format` chooses the families.")),
        Choice(N_("It sends RPC instead of notifications."),
               N_("No: both drivers send notifications, on the same queues.")),
    )),
    Question("q5", N_("Where does Keystone's `identity.project.created` land, once a driver "
                      "is set?"), (
        Choice(N_("In `notifications.info`, through exchange `keystone`."),
               N_("Yes: the queue bears the topic's name, whichever project sends."),
               correct=True),
        Choice(N_("In a queue named `keystone`."),
               N_("No: Keystone declares no queue of its own name.")),
        Choice(N_("In `identity.info`."),
               N_("No: `identity` starts the event type and the publisher, not the "
                  "topic.")),
    )),
)
