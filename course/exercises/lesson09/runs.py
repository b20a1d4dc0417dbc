"""What lesson 09's checks run and read: Neutron labs of their own (how many queues one
more OVS agent adds), the brokers a multi-cell boot crossed, the incident the lesson
stages on a running Nova, and answers made readable."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from ... import broker
from ...i18n import N_
from ...openstack.neutron import NeutronCloud
from ...openstack.nova import NovaCloud
from ...topology import Topology, same_broker, snapshot
from .. import evidence
from ..core import NotYet

NOT_A_PAIR = N_("Write two whole numbers in parentheses, `(queues, consumers)`, e.g. "
                "`(3, 4)`; this answer is {kind}.")
NOT_A_MAPPING = N_("Write a dict from method to broker name, e.g. `{example}`; this answer "
                   "is {kind}.")


def nova() -> NovaCloud:
    return evidence.cloud(NovaCloud, "cloud = lab.nova(...)")


# -- exercise 1: what one more OVS agent adds ----------------------------------------------


def census(topology: Topology) -> tuple[int, int]:
    """(queues, consumers) of a broker, as ``rabbitmqctl list_queues`` would add them up."""
    return len(topology.queues), sum(q.consumers for q in topology.queues.values())


@cache
def neutron_census(computes: int) -> tuple[int, int]:
    """(queues, consumers) of a Neutron with ``computes`` compute hosts, measured on a
    vhost of the embedded broker of its own (the learner's lab is left alone): the
    queues are oslo.messaging's declarations, the same on both brokers."""
    url = broker.add_vhost(f"lesson09-neutron-{computes}")
    net = NeutronCloud(url, compute_hosts=[f"compute{n}" for n in range(1, computes + 1)],
                       timings="zero").start()
    try:
        return census(snapshot(url))
    finally:
        net.stop()


def per_agent() -> tuple[int, int]:
    """What one more compute host (one more OVS agent) adds: measured, not computed."""
    (q1, c1), (q2, c2) = neutron_census(1), neutron_census(2)
    return q2 - q1, c2 - c1


def pair(answer: Any) -> tuple[int, int]:
    if (isinstance(answer, (tuple, list)) and len(answer) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in answer)):
        return int(answer[0]), int(answer[1])
    raise NotYet(NOT_A_PAIR, kind=evidence.kind(answer))


# -- exercise 2: which broker each message crossed -----------------------------------------


def broker_name(hop_broker: str) -> str | None:
    """The lab's name ("api", "cell1"...) of the broker a hop crossed."""
    for name, url in evidence.lab().brokers.items():
        if hop_broker and same_broker(hop_broker, url):
            return name
    return None


def crossed(request_id: str) -> dict[str, set[str]]:
    """Method -> the brokers its messages of this request crossed (replies left out)."""
    found: dict[str, set[str]] = {}
    for hop in evidence.lab().trace.for_request(request_id).hops:
        name = broker_name(hop.broker)
        if hop.method and hop.kind != "http" and name:
            found.setdefault(hop.method, set()).add(name)
    return found


def mapping(answer: Any, example: str) -> dict[str, str]:
    if isinstance(answer, dict) and all(isinstance(k, str) and isinstance(v, str)
                                        for k, v in answer.items()):
        return {k.strip(): v.strip() for k, v in answer.items()}
    raise NotYet(NOT_A_MAPPING, example=example, kind=evidence.kind(answer))


# -- exercises 3 and 4: the incident ----------------------------------------------------------


def incident(cloud: NovaCloud, rng: random.Random | None = None) -> None:
    """On a running Nova with VMs: the RPC server of a compute that runs one stops, and a
    request to it waits; another compute is restarted (a new process: its old reply queue
    stays behind).  Which is which is drawn at random, and not said: the learner reads it
    from the broker."""
    rng = rng or random.Random()
    servers = {s.host: s for s in cloud.servers if s.status == "ACTIVE"}
    dead = rng.choice(sorted(servers))
    restarted = rng.choice([h for h in cloud.compute_hosts if h != dead])
    cloud.compute(dead).stop()
    servers[dead].stop()  # stop_instance: a cast to compute.<dead>, which nobody consumes now
    cloud.restart("nova-compute", restarted)
    lab = evidence.lab()
    lab.wait_until(lambda: (lab.topology().queues.get(f"compute.{dead}") or _none).messages)


class _None:
    messages = 0


_none = _None()


def dead_computes(topology: Topology) -> list[str]:
    """Hosts whose ``compute.<host>`` holds messages and has no consumer."""
    return sorted(name.removeprefix("compute.") for name, q in topology.queues.items()
                  if name.startswith("compute.") and q.consumers == 0 and q.messages)


def orphans(topology: Topology) -> set[str]:
    """Reply and fanout queues nobody consumes: a running process consumes its own, so
    these were left by processes that are gone."""
    return {name for name, q in topology.queues.items() if q.consumers == 0
            and (name.startswith("reply_") or "_fanout_" in name)}
