"""A RabbitMQ cluster of private nodes on one machine, for the failure lessons and tests.

Each node is a :class:`course.rabbitmq.RabbitMQNode` in a folder of its own, on loopback
and free ports; the nodes share one Erlang cookie and one private port mapper (``epmd``,
through ``ERL_EPMD_PORT``), so a system-wide epmd or RabbitMQ is never touched::

    with Cluster(nodes=3) as cluster:
        conn = course.broker.connect(cluster.url)   # every node, as failover alternates
        cluster.stop_node(0)                         # its data stays in its folder
        cluster.start_node(0)                        # back, rejoining the others

Leaving the ``with`` block (or :meth:`stop`) stops every node and the port mapper and
deletes the folders, also when starting failed half-way.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import amqp

from . import broker
from .errors import CourseError
from .i18n import _, format_seconds
from .rabbitmq import (
    NOT_IN_TIME,
    RabbitMQNode,
    RabbitMQUnavailable,
    free_port,
    require_server,
    stop_epmd,
)
from .transport_url import mask_url

__all__ = ["Cluster"]


class Cluster:
    """``nodes`` RabbitMQ nodes joined into one cluster, running once the constructor
    returns; ``url`` is a multi-host transport_url naming all of them."""

    #: The cluster this process made last (a lesson's check reads its measurements).
    last: Cluster | None = None

    def __init__(self, nodes: int = 3, timeout: float = 120.0) -> None:
        if nodes < 1:
            raise CourseError(_("A RabbitMQ cluster needs at least one node, not {nodes}.",
                                nodes=nodes))
        require_server()
        self.folder = Path(tempfile.mkdtemp(prefix="course-cluster-"))
        cookie, epmd_port, prefix = secrets.token_hex(16), free_port(), self.folder.name
        self.nodes: list[RabbitMQNode] = []
        #: Each :meth:`message_counts`: (the nodes stopped then, the counts).
        self.measurements: list[tuple[tuple[str, ...], dict[str, int | None]]] = []
        for number in range(1, nodes + 1):
            folder = self.folder / f"node{number}"
            folder.mkdir()
            self.nodes.append(RabbitMQNode.prepare(
                folder, epmd_port=epmd_port, cookie=cookie, name=f"{prefix}-{number}",
                join=self.nodes[0].name if self.nodes else None))
        try:
            self._form(timeout)
        except BaseException:
            self.stop()
            raise
        Cluster.last = self

    def _form(self, timeout: float) -> None:
        """Start the first node, then the others at once: each joins the first as it boots
        (``classic_config``; measured 10-13 s on 2 cores, where ``rabbitmqctl stop_app,
        join_cluster, start_app`` on each took 26 s)."""
        deadline = time.monotonic() + timeout
        self.nodes[0].launch(timeout)
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            for future in [pool.submit(node.launch, deadline - time.monotonic())
                           for node in self.nodes[1:]]:
                future.result()
        # A node that cannot reach the first one starts on its own: make sure none did.
        self._wait_running(self.nodes, deadline, timeout)

    def _wait_running(self, nodes: list[RabbitMQNode], deadline: float,
                      timeout: float) -> None:
        """Wait until the cluster counts every one of ``nodes`` as running."""
        while not {node.name for node in nodes} <= self.running_names():
            if time.monotonic() > deadline:
                raise RabbitMQUnavailable(_(
                    "The RabbitMQ nodes did not form one cluster within {duration}.",
                    duration=format_seconds(timeout, 0)), NOT_IN_TIME)
            time.sleep(0.2)

    # -- what clients use -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """transport_url of the default vhost listing every node, as nova.conf would."""
        hosts = ",".join(f"{n.user}:{n.password}@127.0.0.1:{n.amqp_port}" for n in self.nodes)
        return f"rabbit://{hosts}/"

    def __repr__(self) -> str:
        return f"<Cluster of {len(self.nodes)} nodes {mask_url(self.url)}>"

    def api(self, method: str, path: str, body: object = None) -> object:
        """One call to the management API of the first running node."""
        return next(n for n in self.nodes if n.running).api(method, path, body)

    def running_names(self) -> set[str]:
        """The nodes the cluster counts as running (a running node's management API)."""
        return {node["name"] for node in self.api("GET", "/api/nodes") if node["running"]}

    def message_counts(self, names: list[str], timeout: float = 30.0) -> dict[str, int | None]:
        """How many messages each queue holds, as a running node answers a passive declare:
        None for a queue no running node holds (a classic queue whose node is stopped, or
        one deleted with it).  A quorum queue that lost its leader is counted once a new one
        is elected (``timeout`` seconds at most).  Every count is kept in :attr:`measurements`."""
        node = next(n for n in self.nodes if n.running)
        deadline = time.monotonic() + timeout
        for name in names:
            self._wait_for_leader(node, name, deadline)
        counts: dict[str, int | None] = {}
        with broker.connect(node.url) as conn:
            for name in names:
                try:
                    counts[name] = conn.channel().queue_declare(name, passive=True).message_count
                except amqp.NotFound:  # no running node holds it
                    counts[name] = None
        stopped = tuple(n.name for n in self.nodes if not n.running)
        self.measurements.append((stopped, dict(counts)))
        return counts

    def _wait_for_leader(self, node: RabbitMQNode, name: str, deadline: float) -> None:
        """A quorum queue whose leader's node went down counts nothing until the others
        elect a new leader (a clean stop hands the leadership over first; a crash does not):
        wait for a leader on a running node."""
        path = f"/api/queues/%2F/{quote(name, safe='')}"
        while time.monotonic() < deadline:
            try:
                info = node.api("GET", path)
            except (OSError, urllib.error.URLError):  # no such queue (404)
                return
            running = {n.name for n in self.nodes if n.running}  # not what the others think
            if info.get("type") != "quorum" or info.get("leader") in running:
                return
            time.sleep(0.2)

    # -- failures -----------------------------------------------------------------------

    def stop_node(self, index: int) -> None:
        """Stop node ``index`` (from 0) cleanly; its queues and messages stay on disk."""
        self.nodes[index].halt()

    def kill_node(self, index: int) -> None:
        """Kill node ``index`` (from 0) at once, as a crash would: what it confirmed stays
        on disk, and :meth:`start_node` brings it back."""
        self.nodes[index].kill()

    def start_node(self, index: int, timeout: float = 60.0) -> None:
        """Start node ``index`` again; return once it is back in the cluster with the data
        it kept."""
        deadline = time.monotonic() + timeout
        self.nodes[index].launch(timeout)
        self._wait_running([self.nodes[index]], deadline, timeout)

    # -- the end ------------------------------------------------------------------------

    def stop(self) -> None:
        """Kill every node (their data is deleted anyway: a clean stop would take seconds
        more) and the port mapper; delete every folder."""
        with ThreadPoolExecutor(max(len(self.nodes), 1)) as pool:
            list(pool.map(RabbitMQNode.kill, self.nodes))
        if self.nodes:
            stop_epmd(self.nodes[0].env)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

