"""Lesson 06's quiz."""

from __future__ import annotations

from ...i18n import N_
from ..quiz import Choice, Question, Quiz

quiz = Quiz(
    Question("q1", N_("Which exchange do Cinder's RPC messages use, unless cinder.conf sets "
                      "`control_exchange`?"), (
        Choice(N_("`cinder`, like `nova` for Nova and `neutron` for Neutron."),
               N_("No: Cinder defines a `set_defaults` for it, but nothing calls it.")),
        Choice(N_("`openstack`, oslo.messaging's default."),
               N_("Yes: Cinder never replaces the library's default control exchange."),
               correct=True),
        Choice(N_("The default exchange `\"\"`, with the queue name as key."),
               N_("No: only replies to calls go through the default exchange.")),
    )),
    Question("q2", N_("A router gets its first interface. How does an L3 agent hear of "
                      "it?"), (
        Choice(N_("A fanout to every L3 agent; each one checks whether it is concerned."),
               N_("No: that is how a router's deletion goes (`router_deleted`), not its "
                  "updates.")),
        Choice(N_("neutron-server schedules the router, then casts `routers_updated` to "
                  "`l3_agent.<host>`; the agent calls `sync_routers` back."),
               N_("Yes: a cast to the queue of the one agent that hosts the router."),
               correct=True),
        Choice(N_("Nova tells it over HTTP."),
               N_("No: Nova has nothing to do with routers.")),
    )),
    Question("q3", N_("What does Keystone put on RabbitMQ?"), (
        Choice(N_("RPC calls: nova-api asks it to validate each token."),
               N_("No: tokens are validated over HTTP (keystonemiddleware); Keystone has no "
                  "RPC server.")),
        Choice(N_("Notifications only (`identity.project.created`, `identity.authenticate`"
                  "...), on exchange `keystone`, once a driver is set."),
               N_("Yes: no RPC at all, and nothing by default (no driver)."), correct=True),
        Choice(N_("Nothing, ever."),
               N_("No: with `[oslo_messaging_notifications] driver` set, it sends "
                  "notifications.")),
    )),
    Question("q4", N_("How does nova-compute create and bind a VM's port?"), (
        Choice(N_("A call on `q-plugin` to neutron-server."),
               N_("No: `q-plugin` is for Neutron's own agents; Nova is a client of "
                  "Neutron's REST API.")),
        Choice(N_("A cast to `q-agent-notifier-port-update`."),
               N_("No: that topic is neutron-server's, towards its L2 agents.")),
        Choice(N_("HTTP requests to neutron-server (`POST` and `PUT /v2.0/ports`)."),
               N_("Yes: Nova and Neutron never share a bus; Neutron answers with an HTTP "
                  "event to nova-api too."), correct=True),
    )),
    Question("q5", N_("An OVS agent's process is killed. What does neutron-server "
                      "receive?"), (
        Choice(N_("A last message from the agent saying that it stops."),
               N_("No: a killed agent sends nothing.")),
        Choice(N_("Nothing: it lists the agent down once its last report is older than "
                  "`agent_down_time`."),
               N_("Yes: the missing `report_state` calls are the only sign."), correct=True),
        Choice(N_("RabbitMQ tells it that the agent's connection closed."),
               N_("No: neutron-server does not watch the agents' connections; only their "
                  "reports count.")),
    )),
)
