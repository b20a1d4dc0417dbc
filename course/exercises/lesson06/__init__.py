"""Lesson 06, Neutron, Cinder and Keystone on the bus: predict a port update's queues, say
when Neutron marks a stopped agent down, predict a volume's cast, pick a boot's HTTP hops.

* ``q1`` compares a set of queue names with the queues the ``port_update`` fanout really
  reached (the trace), and explains each other queue with the broker's bindings.
* ``q2`` compares a number of seconds with the running Neutron's ``agent_down_time``,
  once an agent was stopped and neutron-server lists it down.
* ``q3`` compares an exchange and a routing key with the ``create_volume`` cast the
  running cinder-scheduler sent for the volume placed on ``hostA@lvm`` (the trace), and
  routes a wrong key on the broker to say where it would go.
* ``q4`` compares a set of hop numbers with the ``http`` hops of ``vm1``'s boot.
"""

from __future__ import annotations

from typing import Any

from ...i18n import N_
from ...openstack.cinder import CinderCloud
from ...openstack.neutron import NeutronCloud
from ...openstack.nova import NovaCloud
from .. import evidence
from ..core import Exercise, ExerciseSet, NotYet
from ..result import Joined, Message
from .questions import quiz
from .runs import (
    FANOUT,
    SHARED,
    answer_numbers,
    answer_seconds,
    bound_queues,
    down_agents,
    port_update_queues,
    volume_cast,
)

BACKEND = "hostA@lvm"


def _cloud(kind: type, cell: str) -> Any:
    return evidence.cloud(kind, cell)


# -- exercise 1 ---------------------------------------------------------------------------


class PortUpdateQueues(Exercise):
    title = N_("Which queues does a port update reach?")
    call = "check(queues)"
    expects = N_("Write a set of queue names in quotes, e.g. `{\"q-a\", \"q-b\"}`.")
    hints = (
        N_("neutron-server sends `port_update` as a fanout: to the exchange "
           "`q-agent-notifier-port-update_fanout`, not to `neutron`. Which queues are bound "
           "to that exchange?"),
        N_("Each L2 agent has its own `q-agent-notifier-port-update_fanout_<id>` queue: "
           "take every queue of the table whose name starts with "
           "`q-agent-notifier-port-update_fanout_`, and no other."),
    )
    solution_code = ('queues = {name for name in lab.topology().queues\n'
                     '          if name.startswith("q-agent-notifier-port-update_fanout_")}')
    explanation = N_("A fanout exchange copies the message to every queue bound to it, "
                     "whatever the routing key. Each L2 agent binds its own "
                     "`q-agent-notifier-port-update_fanout_<id>` queue there, so every agent "
                     "gets the port update, even those on other hosts; each one acts only on "
                     "the ports plugged into its bridge. The shared queue and the `.<host>` queues "
                     "are bound to `neutron`, so a fanout never reaches them.")
    success = N_("{n} queues, one per L2 agent: the trace shows the one `port_update` "
                 "message delivered to each of them.")

    def verify(self, queues: Any) -> dict[str, int]:
        answer = evidence.names(queues, '{"q-a", "q-b"}')
        _cloud(NeutronCloud, "net = lab.neutron(...)")
        truth = port_update_queues()
        if not truth:
            raise NotYet(N_("The trace has no `port_update` yet: run the cell that updates "
                            "the port (`net.update_port(...)`), then check again."))
        bound = bound_queues()
        if truth <= answer and answer - truth <= bound:
            return {"n": len(truth)}
        right, wrong = [], []
        found = answer & truth
        if found:
            right.append(Message(N_("Right: {queues} got it."),
                                 {"queues": evidence.codes(sorted(found))}))
        for name in sorted(answer - truth):
            if name == SHARED:
                wrong.append(Message(N_("`{name}` is the topic queue the agents share: it is "
                                        "bound to `neutron`, not to the fanout exchange, "
                                        "and stays empty."), {"name": name}))
            elif name.startswith(SHARED + "."):
                wrong.append(Message(N_("`{name}` is one agent's `topic.host` queue: only a "
                                        "message sent to `neutron` with that key reaches "
                                        "it, never a fanout."), {"name": name}))
            elif name in bound:
                continue  # left by a process gone: it gets a copy nobody reads
            elif name.startswith(FANOUT + "_"):
                wrong.append(Message(N_("`{name}` got no copy of this message: it is not a "
                                        "queue the update reached (was its agent "
                                        "restarted since?)."), {"name": name}))
            elif name.startswith("dhcp_agent"):
                wrong.append(Message(N_("`{name}` got another message, the cast "
                                        "`port_update_end` to the DHCP agent, not the "
                                        "`port_update` fanout."), {"name": name}))
            else:
                wrong.append(Message(N_("`{name}` is not bound to the fanout exchange: the "
                                        "update did not reach it."), {"name": name}))
        missing = truth - answer
        if missing and found:
            wrong.append(Message(N_("Missing: {queues}. A fanout reaches every L2 agent, not "
                                    "only the agent of the port's host."),
                                 {"queues": evidence.codes(sorted(missing))}))
        elif missing:
            wrong.append(Message(N_("None of the queues that got it is in your answer: "
                                    "look for the names starting with "
                                    "`q-agent-notifier-port-update_fanout_`.")))
        raise NotYet(N_("{sentences} Revisit the table of the agents' queues."),
                     sentences=Joined(tuple(right + wrong)))


# -- exercise 2 ---------------------------------------------------------------------------


class AgentDownTime(Exercise):
    title = N_("When does Neutron mark an agent down?")
    call = "check(seconds)"
    expects = N_("Write a number of seconds, e.g. `seconds = 2.5`.")
    hints = (
        N_("neutron-server learns nothing when an agent stops: it only sees that the "
           "reports stop. Which option says how old the last report may be?"),
        N_("It is `agent_down_time`: read it in the cell that starts Neutron (or in "
           "`net.timings`), not upstream's default."),
    )
    solution_code = "seconds = net.timings.agent_down_time"
    explanation = N_("An agent is alive while its last `report_state` is younger than "
                     "`agent_down_time`. Stopping it sends nothing to neutron-server, which "
                     "lists it down (`XXX`) once the last report is older than that; the "
                     "server's health check then logs it. Upstream: a report every 30 s, "
                     "down after 75 s.")
    success = N_("{down} s after its last report: this lab's `agent_down_time` "
                 "(75 s upstream), with a report every {interval} s.")

    def verify(self, seconds: Any) -> dict[str, float]:
        value = answer_seconds(seconds)
        net = _cloud(NeutronCloud, "net = lab.neutron(...)")
        down, interval = net.timings.agent_down_time, net.timings.report_interval
        if down <= 0:
            raise NotYet(N_("This Neutron never marks an agent down (its `agent_down_time` "
                            "is 0): run the cell near the top that starts it with "
                            "heartbeats, then the cells of this section."))
        if not down_agents(net):
            raise NotYet(N_("No agent is down yet: run the cells that stop the agent and "
                            "wait until `net.agents()` lists it down, then check again."))
        fields = {"down": down, "interval": interval, "value": value}
        if abs(value - interval) < 1e-6:
            raise NotYet(N_("{value} s is `report_interval`: how often an agent reports. One "
                            "missed report does not make it dead; neutron-server waits "
                            "longer."), **fields)
        if down - interval <= value <= down + interval:
            return {"down": down, "interval": interval}
        if value == 75:
            raise NotYet(N_("75 s is upstream's default `agent_down_time`; this lab's "
                            "Neutron is set to {down} s (see the cell that starts it)."),
                         **fields)
        if value == 30:
            raise NotYet(N_("30 s is upstream's default `report_interval`, how often an "
                            "agent reports, not when it is declared dead."), **fields)
        if value <= 0:
            raise NotYet(N_("Not at once: a stopped agent sends nothing, so neutron-server "
                            "only notices that its reports stop."))
        raise NotYet(N_("Not {value} s: compare the age of the last report of the stopped "
                        "agent in `net.agents()` with the option that sets how old it may "
                        "be."), **fields)


# -- exercise 3 ---------------------------------------------------------------------------


class VolumeCast(Exercise):
    title = N_("Where is a volume for hostA@lvm cast?")
    call = "check(exchange, routing_key)"
    expects = N_("Write two strings in quotes: an exchange and a routing key.")
    hints = (
        N_("Cinder never sets its own control exchange. And a volume service's host is "
           "`hostname@backend`: which queues does `cinder-volume:hostA@lvm` consume?"),
        N_("The exchange is oslo.messaging's default. The scheduler targets topic "
           "`cinder-volume.<host@backend>` with server `<host>`, so the key has three "
           "parts: `cinder-volume.`, then `hostA@lvm`, then `.hostA`."),
    )
    solution_code = 'exchange = "openstack"\nrouting_key = "cinder-volume.hostA@lvm.hostA"'
    explanation = N_("cinder-scheduler casts `create_volume` with "
                     "`prepare(topic=\"cinder-volume.hostA@lvm\", server=\"hostA\")` "
                     "(`cinder/volume/rpcapi.py:_get_cctxt`), so the routing key is "
                     "`cinder-volume.hostA@lvm.hostA`, on exchange `openstack`: Cinder keeps "
                     "oslo.messaging's default control exchange.")
    success = N_("The trace agrees: cinder-scheduler cast `create_volume` on `{exchange}` "
                 "with the key `{key}`, and `{receiver}` took it.")

    def verify(self, exchange: Any, routing_key: Any) -> dict[str, str]:
        exchange = evidence.text(exchange, "exchange", '"nova"')
        key = evidence.text(routing_key, "routing_key")
        _cloud(CinderCloud, "cinder = lab.cinder(...)")
        hop = volume_cast(BACKEND)
        if hop is None:
            raise NotYet(N_("No volume was cast to `hostA@lvm` yet: run the cell that "
                            "creates the volume, then check again."))
        right, wrong = [], []
        if exchange == hop.exchange:
            right.append(Message(N_("Right: the exchange is `{exchange}`."),
                                 {"exchange": exchange}))
        elif exchange == "cinder":
            wrong.append(Message(N_("Not `cinder`: Cinder never sets its control exchange, "
                                    "so it keeps oslo.messaging's default.")))
        elif exchange in ("nova", "neutron", "keystone"):
            wrong.append(Message(N_("Not `{exchange}`: that is another project's control "
                                    "exchange."), {"exchange": exchange}))
        else:
            wrong.append(Message(N_("Not `{exchange}`: an RPC cast goes to the project's "
                                    "control exchange, a topic exchange."),
                                 {"exchange": exchange}))
        if key == hop.routing_key:
            right.append(Message(N_("Right: the key is `{key}`."), {"key": key}))
        elif key == "cinder-volume":
            wrong.append(Message(N_("Not `cinder-volume`: every volume service consumes "
                                    "that queue, so any backend could take it. The "
                                    "scheduler targets the chosen backend.")))
        elif key == f"cinder-volume.{BACKEND}":
            wrong.append(Message(N_("Not `cinder-volume.hostA@lvm`: that queue exists and "
                                    "`hostA@lvm` consumes it, but the scheduler adds the "
                                    "server, the host part: `.hostA`.")))
        elif key == "cinder-volume.hostA":
            wrong.append(Message(N_("Not `cinder-volume.hostA`: that is Nova's "
                                    "`topic.host` habit. A volume service's host is "
                                    "`hostA@lvm`, and no queue has this name.")))
        elif key == "cinder-scheduler":
            wrong.append(Message(N_("Not `cinder-scheduler`: cinder-api cast that one, "
                                    "before a backend was chosen.")))
        else:
            wrong.append(Message(N_("Not `{key}`: look at the queues `cinder-volume:hostA@lvm` "
                                    "consumes in the table."), {"key": key}))
        if wrong:
            raise NotYet(N_("{sentences} Revisit the table of Cinder's queues."),
                         sentences=Joined(tuple(right + wrong)))
        return {"exchange": hop.exchange, "key": hop.routing_key, "receiver": hop.receiver}


# -- exercise 4 ---------------------------------------------------------------------------


class HTTPHops(Exercise):
    title = N_("Which hops of a boot are not on the bus?")
    call = "check(numbers)"
    expects = N_("Write a set of hop numbers, e.g. `{1, 4}`.")
    hints = (
        N_("In the table, the bus hops name an exchange (`nova`, `scheduler_fanout`, the "
           "default exchange for replies). Which rows say `HTTP` there?"),
        N_("Take every row of type `http`: the client's request to nova-api, and nova's "
           "requests to Glance, Placement and Neutron. `hop.kind` and `hop.number` of "
           "`vm1.hops` give them too."),
    )
    solution_code = 'numbers = {hop.number for hop in vm1.hops if hop.kind == "http"}'
    explanation = N_("The client reaches nova-api over HTTP, and Nova asks Glance, "
                     "Placement and Neutron (and Cinder, for volumes) over their REST APIs. "
                     "Only Nova's own services talk through RabbitMQ: casts, calls, their "
                     "replies and the fanout.")
    success = N_("{n} HTTP requests, to {callees}; the other {bus} hops went through the "
                 "broker.")

    def verify(self, numbers: Any) -> dict[str, Any]:
        answer = answer_numbers(numbers)
        cloud = _cloud(NovaCloud, "cloud = lab.nova(...)")
        server = next((s for s in cloud.servers if s.name == "vm1"), None)
        if server is None:
            raise NotYet(N_("There is no server `vm1` yet: run the cell that boots it, then "
                            "check again."))
        hops = server.hops
        truth = {h.number for h in hops if h.kind == "http"}
        by_number = {h.number: h for h in hops}
        if answer == truth:
            callees = sorted({h.receiver.split(":")[0] for h in hops if h.kind == "http"})
            return {"n": len(truth), "callees": evidence.codes(callees),
                    "bus": len(hops) - len(truth)}
        right, wrong = [], []
        if answer & truth:
            right.append(Message(N_("Right, HTTP: {numbers}."),
                                 {"numbers": _listed(answer & truth)}))
        unknown = sorted(n for n in answer if n not in by_number)
        if unknown:
            wrong.append(Message(N_("The boot has no hop {numbers}."),
                                 {"numbers": _listed(unknown)}))
        extra = [by_number[n] for n in sorted(answer - truth) if n in by_number]
        replies = {h.number for h in extra if h.kind == "reply"}
        if replies:
            wrong.append(Message(N_("{numbers}: replies go through the broker too, on the "
                                    "default exchange to a `reply_` queue."),
                                 {"numbers": _listed(replies)}))
        fanouts = {h.number for h in extra if h.kind == "fanout"}
        if fanouts:
            wrong.append(Message(N_("{numbers}: a fanout is on the broker, exchange "
                                    "`scheduler_fanout`."), {"numbers": _listed(fanouts)}))
        others = {h.number for h in extra if h.kind not in ("reply", "fanout")}
        if others:
            wrong.append(Message(N_("{numbers}: calls and casts on exchange `nova`, through "
                                    "RabbitMQ."), {"numbers": _listed(others)}))
        missing = sorted(truth - answer)
        client = [n for n in missing if by_number[n].sender == "openstack"]
        if client:
            wrong.append(Message(N_("Hop {number} is HTTP too: the client's `POST` to "
                                    "nova-api."), {"number": client[0]}))
            missing.remove(client[0])
        if missing:
            callees = sorted({by_number[n].receiver for n in missing})
            wrong.append(Message(N_("Missing {numbers}: requests to {callees}."),
                                 {"numbers": _listed(missing),
                                  "callees": evidence.codes(callees)}))
        raise NotYet(N_("{sentences} Revisit the table of `vm1`'s boot."),
                     sentences=Joined(tuple(right + wrong)))


def _listed(numbers: Any) -> str:
    return ", ".join(str(n) for n in sorted(numbers))


q1, q2, q3, q4 = PortUpdateQueues(), AgentDownTime(), VolumeCast(), HTTPHops()
lesson = ExerciseSet(q1, q2, q3, q4, quiz=quiz)
progress = lesson.progress
