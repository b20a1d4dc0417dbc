"""Failover: a quorum queue on a three-node cluster (course.cluster) when its leader's node stops.

``MESSAGES`` confirmed publishes go to a quorum queue through the cluster's multi-host
transport_url, the node holding the queue's leader is stopped (cleanly, SIGTERM), and
the same connection then tries publish+consume round trips on a second quorum queue
led from the same node until one succeeds: the figure is the time from the stop's start
to that round trip (also from the node being down: a clean stop of RabbitMQ 3.10 takes
about 6 s, 5 of them waiting after "Management plugin: to stop collect_statistics").
Then the first queue is drained: every confirmed message must be there.

The same failure for course.rpc (:func:`measure_rpc`, the nodes running again): an RPC
server and a client on the multi-host URL with the operators' HA options (quorum topic
queues, transient quorum reply and fanout queues), ``MESSAGES`` confirmed casts waiting
in a second quorum topic queue; the node of the leaders is stopped; the figure is the
time from the stop's start to the next successful call, and then a server reading the
casts' queue through another node must get every one.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack

import kombu

from .. import broker, rpc
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
#: The HA options of reference §6, for course.rpc.
RPC_OPTIONS = {"rabbit_quorum_queue": True, "rabbit_transient_quorum_queue": True}
#: How long one call may wait for its reply before the next is tried.
CALL_TIMEOUT = 10.0


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


class _Sink:
    """The endpoint of both servers: what it was given, once each."""

    def __init__(self) -> None:
        self.got: set[int] = set()

    def ping(self, ctxt: dict, n: int) -> int:
        self.got.add(n)
        return n


def _next_call(client: rpc.RPCClient, started: float) -> float:
    """Seconds from ``started`` to the first call that returns."""
    while time.perf_counter() - started < GIVE_UP_AFTER:
        try:
            client.call({}, "ping", n=-1)
            return time.perf_counter() - started
        except (rpc.MessagingTimeout, rpc.MessageDeliveryFailure):
            pass
    raise TimeoutError(f"no call within {GIVE_UP_AFTER:g} s of the stop")


def measure_rpc(cluster: Cluster, casts: int = MESSAGES) -> dict:
    """course.rpc's failover figures on a running ``cluster`` (left with one node
    stopped): seconds from stopping the leaders' node to the next call, casts lost."""
    made: list[rpc.Transport] = []

    def transport(service: str) -> rpc.Transport:
        made.append(rpc.get_transport(cluster.url, "bench", service=service,
                                      options=RPC_OPTIONS))
        return made[-1]

    calls, stored = _Sink(), _Sink()
    servers = [rpc.get_rpc_server(transport("bench-server"),
                                  rpc.Target(topic="bench.rpc", server="s1"), [calls])]
    reader = rpc.get_rpc_server(transport("bench-reader"),
                                rpc.Target(topic="bench.casts", server="s1"), [stored])
    try:
        servers[0].start()
        reader.start()  # declares the casts' queue: a quorum queue, kept when it stops
        reader.stop()
        reader.wait()
        sender = transport("bench-client")
        client = rpc.get_rpc_client(sender, rpc.Target(topic="bench.rpc"),
                                    timeout=CALL_TIMEOUT)
        client.call({}, "ping", n=-1)  # the reply queue exists
        caster = rpc.get_rpc_client(sender, rpc.Target(topic="bench.casts"))
        for n in range(casts):
            caster.cast({}, "ping", n=n)  # each confirmed by the broker
        leader = cluster.api("GET", "/api/queues/%2F/bench.rpc")["leader"]
        casts_leader = cluster.api("GET", "/api/queues/%2F/bench.casts")["leader"]
        started = time.perf_counter()
        cluster.stop_node([node.name for node in cluster.nodes].index(leader))
        seconds = _next_call(client, started)
        servers.append(rpc.get_rpc_server(transport("bench-reader"),
                                          rpc.Target(topic="bench.casts", server="s1"),
                                          [stored]))
        servers[-1].start()
        last, quiet_since = -1, time.perf_counter()
        while len(stored.got) < casts and time.perf_counter() - quiet_since < SILENCE:
            if len(stored.got) != last:
                last, quiet_since = len(stored.got), time.perf_counter()
            time.sleep(0.05)
    finally:
        for server in servers:
            server.stop()
            server.wait()
        for each in made:
            each.cleanup()
    return {"casts": casts, "casts_lost": casts - len(stored.got & set(range(casts))),
            "call_failover_s": seconds, "casts_on_leader_node": casts_leader == leader}


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
        for index, node in enumerate(cluster.nodes):
            if not node.running:  # back, for the second stop
                cluster.start_node(index)
        row.update(measure_rpc(cluster, MESSAGES))
    targets = [
        target("quorum queue: confirmed messages lost when the leader's node stops = 0",
               row["lost"] == 0, f"{row['lost']} of {row['confirmed']}"),
        target("stop of the leader's node to the next round trip <= 15 s",
               row["failover_s"] <= 15, f"{row['failover_s']:.2f} s"),
        target("course.rpc, quorum topic queue: confirmed casts lost when the leader's node "
               "stops = 0", row["casts_lost"] == 0, f"{row['casts_lost']} of {row['casts']}"),
        target("course.rpc, quorum + transient quorum: stop of the leader's node to the next "
               "successful call <= 15 s", row["call_failover_s"] <= 15,
               f"{row['call_failover_s']:.2f} s"),
    ]
    return {"settings": {"messages": MESSAGES}, "rows": [row], "targets": targets}


def table(section: dict) -> list[str]:
    row = section["rows"][0]
    formed = "" if row["formed_s"] is None else f" formed in {row['formed_s']:.1f} s"
    return [f"three-node cluster{formed}",
            f"leader's node stopped: next round trip {row['failover_s']:.2f} s after the stop "
            f"began, {row['after_node_down_s']:.2f} s after the node was down "
            f"(connection {'moved to another node' if row['connection_failed_over'] else 'kept'})",
            f"{row['lost']} of {row['confirmed']} confirmed messages lost",
            f"course.rpc (quorum + transient quorum queues): next successful call "
            f"{row['call_failover_s']:.2f} s after the stop of the leader's node began",
            f"{row['casts_lost']} of {row['casts']} confirmed casts to a quorum topic queue "
            "lost"]
