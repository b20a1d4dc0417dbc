"""course.rpc on a three-node RabbitMQ cluster (course.cluster) when the node its services
are connected to stops: it fails over as oslo.messaging 18.3 does.

The server and the client have every node in their transport_url (the course keeps its
order: the first node first).  When their node stops, each connection moves to another
node and declares its queues again; a classic queue homed on the stopping (or stopped)
node answers 404, and oslo's ``ConsumerBase.declare`` then deletes it and declares it
again, on a running node (measured with oslo.messaging itself on this cluster: its queues
were on the second node one second after the first one dropped the connections, and the
next call succeeded).  With quorum queues for the topics and transient quorum queues for
the replies and fanouts, the queues keep their messages and move their leader: a call
made right after the stop succeeds through another node.
"""

from __future__ import annotations

import uuid

import pytest
from helpers import eventually

from course import rpc

pytestmark = [pytest.mark.rabbitmq, pytest.mark.cluster,
              pytest.mark.usefixtures("stops_its_threads")]

#: Fast retries (oslo's minimum interval, no backoff, no extra delay).
FAST = {"rabbit_retry_interval": 1, "rabbit_retry_backoff": 0, "kombu_reconnect_delay": 0}
QUORUM = {"rabbit_quorum_queue": True, "rabbit_transient_quorum_queue": True}
#: A node's clean stop takes about 6 s, and a busy machine makes everything slower.
MOVED = 60.0


class Compute:
    def ping(self, ctxt, arg=None):
        return arg


@pytest.fixture
def services(cluster):
    """A server (topic ``compute``, host ``cmp1``) and a client on the cluster's URL, with
    the given options, on a control exchange of the test's own (RabbitMQ refuses to declare
    it again with another ``durable``); stopped at the end, the exchange deleted."""
    made = []
    exchange = f"nova-{uuid.uuid4().hex[:8]}"

    def start(**options):
        server_side = rpc.get_transport(cluster.url, exchange, service="nova-compute:cmp1",
                                        options={**FAST, **options})
        client_side = rpc.get_transport(cluster.url, exchange, service="nova-api:ctl",
                                        options={**FAST, **options})
        server = rpc.get_rpc_server(server_side, rpc.Target(topic="compute", server="cmp1"),
                                    [Compute()])
        made.append((server, server_side, client_side))
        server.start()
        return rpc.get_rpc_client(client_side, rpc.Target(topic="compute"), timeout=MOVED)

    yield start
    for server, *transports in made:
        server.stop()
        server.wait()
        for transport in transports:
            transport.cleanup()
    if made:
        cluster.api("DELETE", f"/api/exchanges/%2F/{exchange}")


def queues(cluster) -> dict[str, dict]:
    return {q["name"]: q for q in cluster.api("GET", "/api/queues/%2F")}


def where(queue: dict) -> str:
    """The node holding a queue: a classic queue's home, a quorum queue's leader."""
    return queue.get("leader") or queue["node"]


def consumed_away_from(cluster, node: str) -> bool:
    """Whether the server's and the client's queues are all on other nodes than ``node``,
    each with its consumer back."""
    found = queues(cluster)
    names = {"compute", "compute.cmp1"} | {n for n in found if n.startswith(("reply_",
                                                                            "compute_fanout_"))}
    return len(names) == 4 and all(
        name in found and where(found[name]) != node and found[name].get("consumers") == 1
        for name in names)


def test_classic_queues_of_a_stopped_node_are_declared_again_on_another(cluster, services):
    """oslo's defaults: transient classic queues, homed on the node they were declared on
    (the first of the URL).  When it stops, they are declared again on a running node
    (deleted first while the node still answers 404 "process is stopped by supervisor")."""
    client = services()
    assert client.call({}, "ping", arg="before") == "before"
    first = cluster.nodes[0].name
    assert {where(q) for q in queues(cluster).values()} == {first}
    cluster.stop_node(0)
    assert eventually(lambda: consumed_away_from(cluster, first), MOVED)
    assert client.call({}, "ping", arg="after") == "after"


def test_durable_classic_queues_of_a_stopped_node_move_as_oslo_moves_them(
        cluster, services):
    """``amqp_durable_queues``: a durable classic queue whose home node is down answers
    404 "home node ... is down or inaccessible" for as long as the node stays down; oslo
    deletes it and declares it again, so the services consume on a running node (without
    that, they would retry the declare until the node came back)."""
    client = services(amqp_durable_queues=True)
    assert client.call({}, "ping", arg="before") == "before"
    first = cluster.nodes[0].name
    assert queues(cluster)["compute"]["durable"] is True
    cluster.stop_node(0)
    assert eventually(lambda: consumed_away_from(cluster, first), MOVED)
    assert client.call({}, "ping", arg="after") == "after"


def test_with_quorum_queues_a_call_after_the_leaders_node_stops_succeeds(
        cluster, services):
    """The operators' HA settings (reference §6): quorum topic queues, transient quorum
    reply and fanout queues.  Every queue keeps a leader on a running node, so the call
    made as soon as the node is down finds the server's queue and its reply queue."""
    client = services(**QUORUM)
    assert client.call({}, "ping", arg="before") == "before"
    found = queues(cluster)
    assert {q["type"] for q in found.values()} == {"quorum"}
    leader = where(found["compute"])
    cluster.stop_node([n.name for n in cluster.nodes].index(leader))
    assert client.call({}, "ping", arg="after") == "after"  # no wait for anything first
    assert where(queues(cluster)["compute"]) != leader
