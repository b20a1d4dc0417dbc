"""The faults a broken lab can hide: how each is injected on the running lab, what it
leaves in ``lab.topology()``, the service list and ``lab.trace``, and its diagnosis.

A diagnosis is a small dict: ``{"fault": <kind>, <key>: <value>...}``, the keys of
:attr:`Kind.keys` (``{"fault": "stopped-service", "service": "nova-compute",
"host": "compute2"}``).  Each kind also says what the lab shows about a *claim* of its
kind (:meth:`Kind.against`): the evidence that a wrong diagnosis overlooked.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..errors import BrokerUnreachable
from ..exercises.result import Message
from ..i18n import N_
from ..openstack.nova import NovaCloud, Server, make_service
from ..topology import Topology
from ..transport_url import Host, parse_transport_url

if TYPE_CHECKING:
    from ..lab import Lab

LOG = logging.getLogger(__name__)

#: Nova's control exchange: every cast and call to a Nova service is published there.
EXCHANGE = "nova"
#: The legacy notifications' queue at priority INFO (``notifications.info``).
NOTIFICATIONS_QUEUE = "notifications.info"
#: The client process whose reply queue is left behind (``nova-manage`` on the controller).
CLIENT = "nova-manage:controller"


@dataclass(frozen=True)
class Fault:
    """One injected fault: its kind and what names it (the diagnosis' other keys)."""

    kind: str
    subject: dict[str, str] = field(default_factory=dict)
    #: A compute host the fault's evidence uses without naming it (its VM is stopped).
    host: str = ""

    def answer(self) -> dict[str, str]:
        return {"fault": self.kind, **self.subject}


@dataclass
class Scene:
    """The running lab a fault is injected into: the lab, its Nova, a VM on each host."""

    lab: Lab
    cloud: NovaCloud
    vms: dict[str, Server]  # host -> the VM booted there
    #: Service name -> the error it logged (a service that could not start).
    logs: dict[str, str] = field(default_factory=dict)

    def topology(self) -> Topology:
        return self.lab.topology()

    def state(self, binary: str, host: str) -> str | None:
        """``up`` or ``down`` in ``openstack compute service list``; None if unknown."""
        return next((row["state"] for row in self.cloud.service_list()
                     if row["binary"] == binary and row["host"] == host), None)


def queue_of(service: str, host: str) -> str:
    """The RPC queue a Nova service consumes on its host: ``compute.compute2``; the
    conductor's topic queue ``conductor`` (a single conductor on the controller)."""
    topic = service.removeprefix("nova-")
    return topic if topic == "conductor" else f"{topic}.{host}"


def consumers(topology: Topology, queue: str) -> int | None:
    found = topology.queues.get(queue)
    return None if found is None else found.consumers


class Kind:
    """One entry of the catalogue; subclasses say how to inject, observe and judge it."""

    name = ""
    keys: tuple[str, ...] = ()
    #: Hides every other fault (a stopped conductor stops every heartbeat): drawn alone.
    masks_others = False
    #: Whether the lab needs Nova's legacy notifications on the bus for this fault.
    notifications = False
    symptom = ""

    def choose(self, rng: random.Random, hosts: list[str], alone: bool) -> Fault:
        """Draw this fault's subject; ``hosts``: the compute hosts still free of faults."""
        raise NotImplementedError

    def inject(self, scene: Scene, fault: Fault) -> None:
        raise NotImplementedError

    def visible(self, scene: Scene, fault: Fault) -> bool:
        """The fault's evidence is there now (the builder waits for it)."""
        raise NotImplementedError

    def against(self, scene: Scene, claim: dict[str, str]) -> Message:
        """What the lab shows about ``claim``, a diagnosis of this kind that is wrong."""
        raise NotImplementedError

    def absent(self, fault: Fault) -> str | None:
        """The compute host the cloud must not start (the fault starts it itself)."""
        return None


def _vm(scene: Scene, host: str) -> Server:
    return scene.vms[host]


def _queue_says(scene: Scene, queue: str) -> Message:
    """What the topology says of a queue: absent, or its messages and consumers."""
    found = scene.topology().queues.get(queue)
    if found is None:
        return Message(N_("There is no queue `{queue}` on this broker."), {"queue": queue})
    return Message(N_("`{queue}` holds {messages} message(s) and has {consumers} "
                      "consumer(s)."), {"queue": queue, "messages": found.messages,
                                        "consumers": found.consumers})


class StoppedService(Kind):
    """A Nova service stopped: its queue stays, without consumer; the service is down.
    nova-compute: a cast to it waits in ``compute.<host>``.  nova-conductor: every
    compute's heartbeat (a conductor call) waits in ``conductor`` and times out."""

    name = "stopped-service"
    keys = ("service", "host")
    masks_others = False
    symptom = N_("A request to one part of the cloud never completes, and "
                 "`cloud.service_list()` shows services down.")

    def choose(self, rng: random.Random, hosts: list[str], alone: bool) -> Fault:
        if alone and rng.random() < 0.25:
            return Fault(self.name, {"service": "nova-conductor", "host": "controller"})
        return Fault(self.name, {"service": "nova-compute", "host": rng.choice(hosts)})

    def inject(self, scene: Scene, fault: Fault) -> None:
        service, host = fault.subject["service"], fault.subject["host"]
        scene.cloud.service(service, host).stop()
        if service == "nova-compute":
            _vm(scene, host).stop()  # stop_instance, cast to compute.<host>: it waits

    def visible(self, scene: Scene, fault: Fault) -> bool:
        service, host = fault.subject["service"], fault.subject["host"]
        queue = scene.topology().queues.get(queue_of(service, host))
        # without a conductor every compute goes down too: its heartbeat is a conductor call
        down = [service] if service == "nova-compute" else ["nova-conductor", "nova-compute"]
        return (queue is not None and queue.consumers == 0 and queue.messages > 0
                and all(row["state"] == "down" for row in scene.cloud.service_list()
                        if row["binary"] in down and (row["host"] == host
                                                      or row["binary"] != service)))

    def against(self, scene: Scene, claim: dict[str, str]) -> Message:
        service, host = claim.get("service", ""), claim.get("host", "")
        state = scene.state(service, host)
        if state is None:
            return Message(N_("`cloud.service_list()` has no {service} on {host}."),
                           {"service": service, "host": host})
        queue = queue_of(service, host)
        if consumers(scene.topology(), queue):
            return Message(N_("{queue_says} So {service} on {host} is consuming: it runs."),
                           {"queue_says": _queue_says(scene, queue), "service": service,
                            "host": host})
        if state == "up":
            return Message(N_("{service} on {host} is up in `cloud.service_list()`: its "
                              "process still reports, a stopped service would not."),
                           {"service": service, "host": host})
        return Message(N_("{service} on {host} is down, but only because another service "
                          "it reports through stopped: look at whose queue fills up."),
                       {"service": service, "host": host})


class MissingConsumer(Kind):
    """The process runs and reports (up in the service list), but its RPC server does
    not consume: its queue, with 0 consumers, holds the casts sent to it."""

    name = "missing-consumer"
    keys = ("queue",)
    symptom = N_("A request to one host never completes, though every service is up.")

    def choose(self, rng: random.Random, hosts: list[str], alone: bool) -> Fault:
        return Fault(self.name, {"queue": f"compute.{rng.choice(hosts)}"})

    def inject(self, scene: Scene, fault: Fault) -> None:
        host = fault.subject["queue"].removeprefix("compute.")
        scene.cloud.compute(host).stop_consuming()
        _vm(scene, host).stop()

    def visible(self, scene: Scene, fault: Fault) -> bool:
        queue = scene.topology().queues.get(fault.subject["queue"])
        return queue is not None and queue.consumers == 0 and queue.messages > 0

    def against(self, scene: Scene, claim: dict[str, str]) -> Message:
        return _queue_says(scene, claim.get("queue", ""))


class WrongBinding(Kind):
    """A compute's queue lost its binding to ``nova`` (unbound, or bound with a wrong
    key): casts to ``compute.<host>`` route to no queue and are lost (a cast is not
    ``mandatory``: nothing comes back); the queue itself looks healthy."""

    name = "wrong-binding"
    keys = ("queue",)
    symptom = N_("A request to one host never completes, though its service is up and "
                 "nothing waits in its queue.")

    def choose(self, rng: random.Random, hosts: list[str], alone: bool) -> Fault:
        return Fault(self.name, {"queue": f"compute.{rng.choice(hosts)}"})

    def inject(self, scene: Scene, fault: Fault) -> None:
        queue = fault.subject["queue"]
        with scene.lab.connect() as conn:
            channel = conn.default_channel
            channel.queue_unbind(queue, EXCHANGE, queue)
            # a typo in the routing key: _ for . (seeded choices would tell no more)
            channel.queue_bind(queue, EXCHANGE, queue.replace(".", "_"))
        _vm(scene, queue.removeprefix("compute.")).stop()

    def visible(self, scene: Scene, fault: Fault) -> bool:
        queue = fault.subject["queue"]
        return any(h.method == "stop_instance" and h.routing_key == queue and not h.receiver
                   for h in scene.lab.trace.hops) and not _bound(scene.topology(), queue)

    def against(self, scene: Scene, claim: dict[str, str]) -> Message:
        queue = claim.get("queue", "")
        if _bound(scene.topology(), queue):
            return Message(N_("`{queue}` is bound to `nova` with the routing key `{queue}`: "
                              "casts to it reach it."), {"queue": queue})
        return _queue_says(scene, queue)


def _bound(topology: Topology, queue: str) -> bool:
    return any(b.exchange == EXCHANGE and b.queue == queue and b.routing_key == queue
               for b in topology.bindings)


class HeartbeatStopped(Kind):
    """nova-compute still consumes, but no longer saves its service record (``report_state``
    sends no conductor call): after ``service_down_time`` the API counts it down, and the
    scheduler would send it nothing new."""

    name = "heartbeat-stopped"
    keys = ("host",)
    symptom = N_("A compute host is down in `cloud.service_list()`, yet it still does "
                 "what it is asked.")

    def choose(self, rng: random.Random, hosts: list[str], alone: bool) -> Fault:
        return Fault(self.name, {"host": rng.choice(hosts)})

    def inject(self, scene: Scene, fault: Fault) -> None:
        # report_state finds no service record to save: the heartbeat stops, the RPC
        # server goes on (as when nova-compute's reporting thread is stuck)
        scene.cloud.compute(fault.subject["host"]).service_ref = None
        _vm(scene, fault.subject["host"]).stop()  # still obeyed

    def visible(self, scene: Scene, fault: Fault) -> bool:
        host = fault.subject["host"]
        return (scene.state("nova-compute", host) == "down"
                and _vm(scene, host).status == "SHUTOFF")

    def against(self, scene: Scene, claim: dict[str, str]) -> Message:
        host = claim.get("host", "")
        state = scene.state("nova-compute", host)
        if state is None:
            return Message(N_("`cloud.service_list()` has no nova-compute on {host}."),
                           {"host": host})
        if state == "up":
            return Message(N_("nova-compute on {host} is up in `cloud.service_list()`: its "
                              "heartbeats arrive."), {"host": host})
        if consumers(scene.topology(), f"compute.{host}"):
            return Message(N_("nova-compute on {host} is down, and so is every compute that "
                              "reports through the same conductor: its heartbeat is a call "
                              "to nova-conductor; look at where those calls wait."),
                           {"host": host})
        return Message(N_("{queue_says} A compute that only stopped reporting would still "
                          "consume."), {"queue_says": _queue_says(scene, f"compute.{host}")})


class UnreadNotifications(Kind):
    """Nova sends its legacy notifications (driver ``messagingv2``) and nobody listens:
    ``notifications.info`` (declared by the publisher) grows with every boot and stop."""

    name = "unread-notifications"
    keys = ("queue",)
    notifications = True
    symptom = N_("The broker's memory use keeps growing while the cloud works normally.")

    def choose(self, rng: random.Random, hosts: list[str], alone: bool) -> Fault:
        return Fault(self.name, {"queue": NOTIFICATIONS_QUEUE})

    def inject(self, scene: Scene, fault: Fault) -> None:
        """Nothing to do: the lab's Nova sends notifications and no listener runs."""

    def visible(self, scene: Scene, fault: Fault) -> bool:
        queue = scene.topology().queues.get(NOTIFICATIONS_QUEUE)
        return queue is not None and queue.consumers == 0 and queue.messages > 0

    def against(self, scene: Scene, claim: dict[str, str]) -> Message:
        return _queue_says(scene, claim.get("queue", ""))


class OrphanedReplyQueue(Kind):
    """A client process (``nova-manage``) called the conductor and exited: its reply
    queue stays, with 0 consumers, until its ``x-expires`` (oslo's
    ``rabbit_transient_queues_ttl``, 1800 s) removes it.  Its name comes from oslo's
    queue manager (``use_queue_manager``): ``reply_<host>:<process>:<n>``."""

    name = "orphaned-reply-queue"
    keys = ("queue",)
    symptom = N_("A queue nobody will ever read again is left on the broker.")

    def choose(self, rng: random.Random, hosts: list[str], alone: bool) -> Fault:
        process = f"nova-manage-{rng.randrange(100, 1000)}"
        return Fault(self.name, {"queue": f"reply_controller:{process}:1"})

    def inject(self, scene: Scene, fault: Fault) -> None:
        from .. import rpc

        process = fault.subject["queue"].split(":")[1]
        transport = scene.lab.transport(CLIENT, EXCHANGE, use_queue_manager=True,
                                        hostname="controller", processname=process)
        client = rpc.get_rpc_client(transport, rpc.Target(topic="conductor",
                                                          namespace="baseapi", version="1.0"))
        client.call({}, "ping", arg="nova-manage")
        transport.cleanup()  # the process exits; its reply queue stays

    def visible(self, scene: Scene, fault: Fault) -> bool:
        return consumers(scene.topology(), fault.subject["queue"]) == 0

    def against(self, scene: Scene, claim: dict[str, str]) -> Message:
        return _queue_says(scene, claim.get("queue", ""))


class WrongCredentials(Kind):
    """One nova-compute's ``transport_url`` has a wrong password: the broker refuses its
    login (ACCESS_REFUSED, 403), so it never starts: no service record, no queue
    ``compute.<host>``, an error in its log (``broken.logs``)."""

    name = "wrong-credentials"
    keys = ("service", "host")
    symptom = N_("One compute host never joined the cloud.")

    def choose(self, rng: random.Random, hosts: list[str], alone: bool) -> Fault:
        return Fault(self.name, {"service": "nova-compute", "host": rng.choice(hosts)})

    def absent(self, fault: Fault) -> str | None:
        return fault.subject["host"]

    def wrong_url(self, url: str) -> str:
        """The lab's transport_url with this fault's mistake in it."""
        return with_password(url, "wrong")

    def inject(self, scene: Scene, fault: Fault) -> None:
        host = fault.subject["host"]
        service = make_service("nova-compute", host, self.wrong_url(scene.lab.url),
                               scene.cloud.db.path, scene.cloud.timings,
                               trace=scene.lab.trace)
        try:
            service.start()
        except BrokerUnreachable as error:
            scene.logs[service.name] = str(error)  # masked: the URL's repr hides it
            LOG.error("%s: %s", service.name, error)
        finally:
            service.cleanup()

    def visible(self, scene: Scene, fault: Fault) -> bool:
        return (f"nova-compute:{fault.subject['host']}" in scene.logs
                and scene.state("nova-compute", fault.subject["host"]) is None)

    def against(self, scene: Scene, claim: dict[str, str]) -> Message:
        service, host = claim.get("service", ""), claim.get("host", "")
        if scene.state(service, host) is not None:
            return Message(N_("{service} on {host} is in `cloud.service_list()`: it "
                              "connected and registered."), {"service": service, "host": host})
        log = scene.logs.get(f"{service}:{host}")
        if log is not None:  # it did not start: its log says which part of the URL is wrong
            return Message(N_("{service} on {host} did not start; `broken.logs` says why: "
                              "{log}"), {"service": service, "host": host, "log": log})
        return Message(N_("`cloud.service_list()` has no {service} on {host}."),
                       {"service": service, "host": host})


class WrongVhost(WrongCredentials):
    """One nova-compute's ``transport_url`` names a vhost the broker does not have: its
    login succeeds, then ``connection.open`` is refused (NOT_ALLOWED, 530, "vhost X not
    found"); as with a wrong password it never starts, and only its log tells the two apart."""

    name = "wrong-vhost"

    def wrong_url(self, url: str) -> str:
        vhost = parse_transport_url(url).vhost
        # the vhost a deployment might have meant: nova's own
        return with_vhost(url, "nova" if vhost == "/" else f"{vhost}-nova")


class FullQueue(Kind):
    """An operator capped the unread notifications with a policy (``max-length``,
    ``overflow: reject-publish``): the queue, over its limit, refuses every new one with a
    ``basic.nack``.  oslo counts a nack as a lost connection: it reconnects and sends again
    (for ever, as notifications' ``retry`` is -1); the course's notifier gives up at its
    deadline.  So a server's stop waits on each notification, and ``lab.trace`` shows
    the nacks."""

    name = "full-queue"
    keys = ("queue",)
    notifications = True
    symptom = N_("Stopping a server takes seconds longer than it should, though every "
                 "service is up and the broker answers.")
    POLICY = "notifications-cap"

    #: Fewer than the notifications of the lab's first boots: the queue is over it at once.
    LIMIT = 5

    def choose(self, rng: random.Random, hosts: list[str], alone: bool) -> Fault:
        return Fault(self.name, {"queue": NOTIFICATIONS_QUEUE}, host=rng.choice(hosts))

    def inject(self, scene: Scene, fault: Fault) -> None:
        queue = fault.subject["queue"]
        scene.lab.set_policy(self.POLICY, f"^{re.escape(queue)}$", {
            "max-length": self.LIMIT, "overflow": "reject-publish"})
        # the policy must be in force before the stop's notifications are sent
        if not scene.lab.wait_until(lambda: _refuses(scene.topology(), queue), 10.0):
            return  # visible() then fails: the builder says the fault did not show
        _vm(scene, fault.host).stop()

    def visible(self, scene: Scene, fault: Fault) -> bool:
        queue = fault.subject["queue"]
        return (_vm(scene, fault.host).status == "SHUTOFF"
                and any(e.action == "nack" and e.routing_key == queue
                        for e in scene.lab.trace.events))

    def against(self, scene: Scene, claim: dict[str, str]) -> Message:
        queue = claim.get("queue", "")
        topology = scene.topology()
        if queue in topology.queues and not _refuses(topology, queue):
            return Message(N_("{queue_says} It has no length limit that refuses messages: "
                              "the broker takes every message sent to it."),
                           {"queue_says": _queue_says(scene, queue)})
        return _queue_says(scene, queue)


def _refuses(topology: Topology, queue: str) -> bool:
    """Whether ``queue`` refuses publishes past a length limit (argument or policy)."""
    found = topology.queues.get(queue)
    if found is None:
        return False
    policy = found.effective_policy_definition
    limited = any(key in found.arguments for key in ("x-max-length", "x-max-length-bytes")) \
        or any(key in policy for key in ("max-length", "max-length-bytes"))
    overflow = found.arguments.get("x-overflow") or policy.get("overflow")
    return limited and overflow in ("reject-publish", "reject-publish-dlx")


def with_password(url: str, password: str) -> str:
    """``url`` with another password for its user (guest where it names none)."""
    return _rebuilt(url, password, None)


def with_vhost(url: str, vhost: str) -> str:
    """``url`` naming another vhost, with the same user (guest where it names none)."""
    return _rebuilt(url, None, vhost)


def _rebuilt(url: str, password: str | None, vhost: str | None) -> str:
    parsed = parse_transport_url(url)
    hosts = [replace(h, username=h.username or "guest",
                     password=(h.password or "guest") if password is None else password)
             for h in parsed.hosts or (Host("", 0),)]
    netlocs = ",".join(h.netloc(quote(h.password or "", safe="")) for h in hosts)
    vhost = (parsed.virtual_host or "") if vhost is None else vhost
    return f"{parsed.driver}://{netlocs}/{quote(vhost, safe='')}"


#: Every kind by name, in the order the catalogue lists them.
KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    StoppedService(), WrongBinding(), MissingConsumer(), UnreadNotifications(),
    OrphanedReplyQueue(), HeartbeatStopped(), WrongCredentials(), WrongVhost(), FullQueue())}
