"""What lesson 08's checks read: the running Nova and its trace, the broker's queues, the
lab's broker restarts, the dead-lettered message, and the cluster's counts."""

from __future__ import annotations

from typing import Any

import kombu

from ...cluster import Cluster
from ...i18n import N_
from ...openstack.nova import NovaCloud
from ...rabbitmq import find_server
from .. import evidence
from ..core import NotYet, Unavailable

#: Exercise 2's queues: the compute's (transient, oslo's default) and two durable ones.
RESTARTED = ("compute.compute1", "lab08.one", "lab08.two")
#: Exercise 3's queues and what the lesson set up.
POISONED, DEAD_LETTERS = "bills.info", "lab08.dead"
#: Exercise 4's queues.
CLUSTER_QUEUES = ("lab08.quorum", "lab08.classic", "lab08.transient")
NO_RABBITMQ = N_("This lab needs RabbitMQ, which is not installed here: `apt-get install "
                 "rabbitmq-server` installs it; then run the lab's cells again.")


def nova() -> NovaCloud:
    return evidence.cloud(NovaCloud, "cloud = lab.nova(...)")


def build_wait(cloud: NovaCloud) -> float | None:
    """Seconds ``vm1``'s ``build_and_run_instance`` cast waited in ``compute.compute1``."""
    server = next((s for s in cloud.servers if s.name == "vm1"), None)
    if server is None:
        return None
    for hop in server.hops:
        if hop.method == "build_and_run_instance" and hop.delivered is not None:
            return hop.delivered - hop.published
    return None


def queue_depths(names: tuple[str, ...]) -> dict[str, int | None]:
    """Ready messages of each queue now (None: no such queue)."""
    queues = evidence.topology().queues
    return {name: queues[name].messages_ready if name in queues else None for name in names}


def dead_letter() -> dict[str, Any] | None:
    """The x-death header of the message waiting in ``lab08.dead`` (put back), if any."""
    with evidence.lab().connect() as conn:
        try:
            message = kombu.Queue(DEAD_LETTERS, channel=conn.default_channel).get()
        except conn.channel_errors:
            return None
        if message is None:
            return None
        headers = dict(message.headers or {})
        message.requeue()
    deaths = headers.get("x-death") or []
    return dict(deaths[0]) if deaths else None


def deliveries(queue: str) -> int:
    """How many times the trace shows a message delivered from ``queue``."""
    return sum(1 for e in evidence.lab().trace.events
               if e.action == "deliver" and e.queue == queue)


def cluster_counts() -> dict[str, int | None]:
    """The counts the lesson's cluster made while a node was stopped."""
    cluster = Cluster.last
    if cluster is None:
        if find_server() is None:
            raise Unavailable(NO_RABBITMQ)
        raise NotYet(N_("No cluster ran yet: run the cell that starts it (`cluster = "
                        "Cluster(nodes=3)`) and the next ones, then check again."))
    for stopped, counts in cluster.measurements:
        if stopped and all(name in counts for name in CLUSTER_QUEUES):
            return counts
    raise NotYet(N_("The cluster has not counted the queues with a node stopped yet: run the "
                    "cell after your prediction, then check again."))
