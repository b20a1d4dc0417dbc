"""Failover: a quorum queue on a three-node cluster (course.cluster) when its leader's node stops.

``MESSAGES`` confirmed publishes go to a quorum queue through the cluster's multi-host
transport_url, the node holding the queue's leader is stopped (cleanly, SIGTERM), and
the same connection then tries publish+consume round trips on a second quorum queue
led from the same node until one succeeds: the figure is the time from the stop's start
to that round trip (also from the node being down: a clean stop of RabbitMQ 3.10 takes
about 6 s, 5 of them waiting after "Management plugin: to stop collect_statistics").
Then the first queue is drained: every confirmed message must be there.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack

import kombu

from .. import broker
from ..cluster import Cluster
from .report import target

NODES = 3
MESSAGES = 500
#: How long a round trip may wait for a node to answer before trying again.
ROUND_TRIP_TIMEOUT = 2.0
#: A drained queue is taken to be empty after this long without a message.
SILENCE = 5.0
#: Give up after this long without a round trip (the target is far below).
GIVE_UP_AFTER = 60.0
QUORUM = {"x-queue-type": "quorum"}


def _round_trip(conn: kombu.Connection, queue: kombu.Queue) -> bool:
    """Publish one message (confirmed) and consume it back on a channel of its own;
    False when it did not come back within ``ROUND_TRIP_TIMEOUT``."""
    body = uuid.uuid4().hex
    conn.ensure_connection(max_retries=NODES, interval_start=0, interval_step=0,
                           interval_max=0)  # the next node, if this one is gone
    with conn.channel() as channel:
        kombu.Producer(channel).publish(body, routing_key=queue.name, serializer="json")
        got: list = []
        with kombu.Consumer(channel, [queue], callbacks=[
                lambda b, m: (got.append(b), m.ack())]):
            deadline = time.monotonic() + ROUND_TRIP_TIMEOUT
            while body not in got:
                try:
                    conn.drain_events(timeout=max(deadline - time.monotonic(), 0.01))
                except TimeoutError:
                    return False
    return True


def _failover(conn: kombu.Connection, queue: kombu.Queue,
              stop: Callable[[], None]) -> tuple[float, float]:
    """Seconds from calling ``stop`` to the next round trip through ``conn``, and from
    ``stop`` returning (the node is down) to that round trip."""
    started = time.perf_counter()
    stop()
    down = time.perf_counter()
    while time.perf_counter() - started < GIVE_UP_AFTER:
        try:
            if _round_trip(conn, queue):
                return time.perf_counter() - started, time.perf_counter() - down
        except (*conn.recoverable_connection_errors, *broker.connection_errors()):
            conn.maybe_switch_next()  # its node is gone: the next one, as kombu's ensure()
            conn.collect()
        except conn.recoverable_channel_errors:
            pass
    raise TimeoutError(f"no round trip within {GIVE_UP_AFTER:g} s of the stop")


def _drain(conn: kombu.Connection, queue: kombu.Queue, expected: int) -> set:
    """The bodies in ``queue``: all ``expected`` of them, or those that came before
    ``SILENCE`` seconds passed without one."""
    bodies: set = set()
    with conn.Consumer(queue, callbacks=[lambda b, m: (bodies.add(b), m.ack())],
                       prefetch_count=100):
        try:
            while len(bodies) < expected:
                conn.drain_events(timeout=SILENCE)
        except TimeoutError:
            pass
    return bodies


def measure(cluster: Cluster, messages: int = MESSAGES) -> dict:
    """The failover figures on a running ``cluster`` (it is left with one node stopped)."""
    confirmed = kombu.Queue("bench.cluster.confirmed", durable=True, queue_arguments=QUORUM)
    probe = kombu.Queue("bench.cluster.probe", durable=True, queue_arguments=QUORUM)
    with broker.connect(cluster.url) as conn:  # publisher confirms, as oslo.messaging
        for queue in (confirmed, probe):
            queue(conn.default_channel).declare()
        producer = kombu.Producer(conn.channel())
        for n in range(messages):
            producer.publish(n, routing_key=confirmed.name, serializer="json")
        leader = cluster.api("GET", f"/api/queues/%2F/{confirmed.name}")["leader"]
        index = [node.name for node in cluster.nodes].index(leader)
        probe_leader = cluster.api("GET", f"/api/queues/%2F/{probe.name}")["leader"]
        port = conn.port
        seconds, after_down = _failover(conn, probe, lambda: cluster.stop_node(index))
        moved = conn.port != port
        lost = messages - len(_drain(conn, confirmed, messages) & set(range(messages)))
    return {"confirmed": messages, "lost": lost, "failover_s": seconds,
            "after_node_down_s": after_down, "probe_on_leader_node": probe_leader == leader,
            "connection_failed_over": moved}


def run(cluster: Cluster | None = None) -> dict:
    """The failover figures and their targets, on a cluster of its own (no single node's
    URL) or on the running ``cluster`` given (the tests')."""
    formed = None
    with ExitStack() as stack:
        if cluster is None:
            print("  a three-node RabbitMQ cluster…", file=sys.stderr, flush=True)
            started = time.perf_counter()
            cluster = stack.enter_context(Cluster(nodes=NODES))
            formed = time.perf_counter() - started
        row = {"formed_s": formed, **measure(cluster, MESSAGES)}
    targets = [
        target("quorum queue: confirmed messages lost when the leader's node stops = 0",
               row["lost"] == 0, f"{row['lost']} of {row['confirmed']}"),
        target("stop of the leader's node to the next round trip <= 15 s",
               row["failover_s"] <= 15, f"{row['failover_s']:.2f} s"),
    ]
    return {"settings": {"messages": MESSAGES}, "rows": [row], "targets": targets}


def table(section: dict) -> list[str]:
    row = section["rows"][0]
    formed = "" if row["formed_s"] is None else f" formed in {row['formed_s']:.1f} s"
    return [f"three-node cluster{formed}",
            f"leader's node stopped: next round trip {row['failover_s']:.2f} s after the stop "
            f"began, {row['after_node_down_s']:.2f} s after the node was down "
            f"(connection {'moved to another node' if row['connection_failed_over'] else 'kept'})",
            f"{row['lost']} of {row['confirmed']} confirmed messages lost"]
