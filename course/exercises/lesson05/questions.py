"""Lesson 05's quiz."""

from __future__ import annotations

from ...i18n import N_
from ..quiz import Choice, Question, Quiz

quiz = Quiz(
    Question("q1", N_("Which vhost does `rabbit://nova:****@ctl1:5672/nova` connect to?"), (
        Choice(N_("`/nova`"),
               N_("No: the vhost is the text after the `/` that ends the hosts, so `nova`. "
                  "`/nova` is written `//nova` or `/%2Fnova`.")),
        Choice(N_("`nova`"),
               N_("Yes: oslo.messaging strips the first `/` and %-decodes the rest."),
               correct=True),
        Choice(N_("`/`, RabbitMQ's default vhost"),
               N_("No: that is `rabbit://nova:****@ctl1:5672/`, with nothing after the `/`.")),
    )),
    Question("q2", N_("A nova.conf sets `rabbit_host = ctl1` in `[oslo_messaging_rabbit]` and "
                      "no `transport_url`. Where does Nova connect?"), (
        Choice(N_("To `ctl1:5672`."),
               N_("No: `rabbit_host` was removed in oslo.messaging 9.0.0 (Stein); Nova ignores "
                  "it.")),
        Choice(N_("Nowhere: Nova refuses to start with an unknown option."),
               N_("No: oslo.config ignores options nobody registered, without a word.")),
        Choice(N_("To `rabbit://`, that is guest on localhost:5672."),
               N_("Yes: with no `transport_url`, oslo.messaging uses its default, which is "
                  "why a forgotten one fails so far from its cause."), correct=True),
    )),
    Question("q3", N_("`[oslo_messaging_notifications] driver = noop`. Which queues does a boot "
                      "create for notifications?"), (
        Choice(N_("None: the `noop` driver publishes nothing."),
               N_("Yes: and with no `driver` at all, nothing either."), correct=True),
        Choice(N_("`notifications.info`, empty."),
               N_("No: the publisher creates the queue when it sends, and `noop` never sends.")),
        Choice(N_("`notifications.info` and `versioned_notifications.info`."),
               N_("No: that takes `messagingv2` and `notification_format = both`.")),
    )),
    Question("q4", N_("What does `heartbeat_timeout_threshold = 60` mean?"), (
        Choice(N_("A service's RPC calls time out after 60 seconds."),
               N_("No: that is `[DEFAULT] rpc_response_timeout`.")),
        Choice(N_("If the broker hears nothing on a connection for 60 seconds, it closes it "
                  "(and the client reconnects)."),
               N_("Yes: AMQP heartbeats keep an idle connection alive and reveal a dead one; "
                  "`heartbeat_rate` sets how often, within that time, oslo.messaging checks "
                  "them."),
               correct=True),
        Choice(N_("nova-compute reports its state to the conductor every 60 seconds."),
               N_("No: that is Nova's service heartbeat, `report_interval` (10 s), a "
                  "conductor call, not an AMQP heartbeat.")),
    )),
    Question("q5", N_("Where does a password appear in the course's output?"), (
        Choice(N_("In `repr()` of a parsed URL, so you can check it."),
               N_("No: `repr`, `str` and `explain()` all show `****`.")),
        Choice(N_("Nowhere: URLs, errors, the lab's line and diagrams show `****`."),
               N_("Yes: and oslo.config marks `transport_url` secret, so Nova's logs mask it "
                  "too."), correct=True),
        Choice(N_("Only in error messages, to help you find a typo."),
               N_("No: an error names the part that is wrong, never the password itself.")),
    )),
)
