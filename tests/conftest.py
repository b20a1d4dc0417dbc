"""Shared fixtures: a private RabbitMQ node and a `broker` that is either the embedded
broker or that node, each test getting a fresh vhost of its own; every test in English
unless it asks for `french`."""

from __future__ import annotations

import contextlib
import os
import uuid
from urllib.parse import quote

import pytest
from helpers import (
    embedded_vhost,
    listening,
    no_leaked_threads,
    processes_in,
    processes_marked,
    unavailable,
)

from course import i18n, rabbitmq

NOT_INSTALLED = (
    "RabbitMQ is not installed: apt-get install rabbitmq-server "
    "(the tests start a private node on 127.0.0.1)"
)


#: Every process the session starts (RabbitMQ nodes, their epmd, notebook kernels) inherits
#: this variable: what still carries it when the session ends was left running.
SESSION_VAR = "COURSE_TEST_SESSION"


@pytest.fixture(scope="session", autouse=True)
def leaves_no_process():
    """No RabbitMQ node, port mapper or kernel the session started outlives it."""
    marker = os.environ[SESSION_VAR] = uuid.uuid4().hex
    yield
    left = [line for line in processes_marked(SESSION_VAR, marker)
            if "beam.smp" in line or "epmd" in line or "ipykernel" in line]
    assert left == [], f"the tests left these processes running: {left}"


@pytest.fixture(autouse=True)
def english():
    """Every test starts in English, whatever $COURSE_LANG says, and leaves English behind."""
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def french(english):
    """The helpers speak French during the test (English again afterwards)."""
    i18n.set_language("fr")


@pytest.fixture
def url():
    """A fresh vhost of the embedded broker, for the cases that need no RabbitMQ."""
    with embedded_vhost() as vhost:
        yield vhost


@pytest.fixture
def stops_its_threads():
    """The test stops what it starts: no thread it started may outlive it (use it with
    ``pytestmark = pytest.mark.usefixtures("stops_its_threads")``)."""
    with no_leaked_threads():
        yield


@pytest.fixture
def clouds():
    """Make Nova clouds (zero-delay unless told otherwise) that are stopped at the end of
    the test, whatever happens: ``clouds(url, computes=[...])``."""
    from course.openstack.nova import NovaCloud, Timings

    made = []

    def make(url, **kwargs):
        kwargs.setdefault("timings", Timings.zero())
        cloud = NovaCloud(url, **kwargs)
        made.append(cloud)
        return cloud.start()

    yield make
    for cloud in made:
        cloud.stop()


@pytest.fixture(scope="session")
def rabbitmq_node():
    """One private RabbitMQ node for the whole session, on loopback and free ports."""
    if rabbitmq.find_server() is None:
        unavailable(NOT_INSTALLED)
    node = rabbitmq.RabbitMQNode.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def rabbitmq_cluster():
    """One private three-node RabbitMQ cluster for the session (course.cluster), asked
    for only by the ``cluster`` tests; nothing of it may be left once it stops."""
    if rabbitmq.find_server() is None:
        unavailable(NOT_INSTALLED)
    from course.cluster import Cluster

    cluster = Cluster(nodes=3)
    try:
        yield cluster
    finally:
        cluster.stop()
    ports = [port for n in cluster.nodes for port in (n.amqp_port, n.management_port)]
    ports.append(int(cluster.nodes[0].env["ERL_EPMD_PORT"]))
    assert processes_in(cluster.folder) == []
    assert not cluster.folder.exists()
    assert [port for port in ports if listening(port)] == []


@pytest.fixture
def cluster(rabbitmq_cluster):
    """The session's cluster; after the test, the nodes it stopped run again and the
    queues it made are gone."""
    yield rabbitmq_cluster
    for index, node in enumerate(rabbitmq_cluster.nodes):
        if not node.running:
            rabbitmq_cluster.start_node(index)
    for queue in rabbitmq_cluster.api("GET", "/api/queues/%2F"):
        rabbitmq_cluster.api("DELETE", f"/api/queues/%2F/{quote(queue['name'], safe='')}")


class Broker:
    """What a conformance case sees: a fresh vhost on one kind of broker."""

    def __init__(self, kind: str, url: str, vhost: str,
                 management_url: str | None = None) -> None:
        self.kind = kind
        self.url = url
        #: The vhost's name, as the broker's error texts write it.
        self.vhost = vhost
        self.management_url = management_url
        self._connections: list = []

    def __repr__(self) -> str:
        return f"<Broker {self.kind} {self.url}>"

    def connect(self):
        """A new, connected kombu.Connection to this test's vhost."""
        # Imported here, not at the top: every test file shares this conftest.
        from course import broker as course_broker

        conn = course_broker.connect(self.url)
        self._connections.append(conn)
        if not conn.connected:
            conn.connect()
        return conn

    def topology(self, **kw):
        """course.topology.snapshot() of this test's vhost."""
        from course import topology

        if self.management_url is not None:
            kw.setdefault("management_url", self.management_url)
        return topology.snapshot(self.url, **kw)

    def close(self) -> None:
        for conn in reversed(self._connections):
            with contextlib.suppress(Exception):
                conn.close()
        self._connections.clear()


@pytest.fixture(
    params=["embedded", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)],
    ids=["embedded", "rabbitmq"],
)
def broker(request):
    """The same case on the embedded broker and on a real RabbitMQ, in a vhost of its own."""
    vhost = f"test-{uuid.uuid4().hex[:12]}"
    if request.param == "rabbitmq":
        node = request.getfixturevalue("rabbitmq_node")
        b = Broker("rabbitmq", node.add_vhost(vhost), vhost, node.management_url)
        try:
            yield b
        finally:
            b.close()
            with contextlib.suppress(Exception):
                node.delete_vhost(vhost)
    else:
        from course import broker as course_broker

        b = Broker("embedded", course_broker.add_vhost(vhost), vhost)
        try:
            yield b
        finally:
            b.close()
            course_broker.reset()
