"""What lesson 01's checks run and read: experiments of their own (workers on a topic of
their own, with a trace of their own, removed afterwards) and the learner's Nova cloud."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ... import rpc
from ...openstack.nova import NovaCloud, Server
from ...topology import UnknownExchange
from ...trace import Hop, Trace
from .. import evidence

#: The names lesson 01's own image service uses.
API, TOPIC, EXCHANGE = "image-api", "images", "openstack"
HOSTS = ("host1", "host2", "host3")
#: Statuses after which a boot moves no more.
FINAL = ("ACTIVE", "ERROR")


# -- the check's own runs ------------------------------------------------------------------


class CheckRun:
    """Workers of the check's own on ``topic`` (hosts ``host1``...), a client, a trace of
    their own; on exit every queue they declared is deleted again."""

    def __init__(self, topic: str, endpoint: Any, hosts: tuple[str, ...] = HOSTS) -> None:
        self.lab = evidence.lab()
        self.topic = topic
        self.hosts = hosts
        self.endpoint = endpoint
        self.trace = Trace()
        self.transports: list[rpc.Transport] = []
        self.servers: list[rpc.RPCServer] = []
        self.client: rpc.RPCClient | None = None

    def _transport(self, service: str) -> rpc.Transport:
        transport = rpc.get_transport(self.lab.url, EXCHANGE, service=service, trace=self.trace)
        self.transports.append(transport)
        return transport

    def __enter__(self) -> CheckRun:
        try:
            for host in self.hosts:
                server = rpc.get_rpc_server(self._transport(f"worker:{host}"),
                                            rpc.Target(topic=self.topic, server=host),
                                            [self.endpoint])
                self.servers.append(server)
                server.start()
            self.client = rpc.get_rpc_client(self._transport("client"),
                                             rpc.Target(topic=self.topic), timeout=5)
        except BaseException:
            self.__exit__()
            raise
        return self

    def delivered(self, count: int, timeout: float = 5.0) -> Counter:
        """Who received how many messages, once ``count`` deliveries were recorded."""
        deadline = time.monotonic() + timeout
        while True:
            got = Counter(e.service.partition(":")[2] for e in self.trace.events
                          if e.action == "deliver" and e.kind != "reply")
            if sum(got.values()) >= count or time.monotonic() >= deadline:
                return got
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        queues = [self.topic, *(f"{self.topic}.{host}" for host in self.hosts)]
        queues += [t._reply_waiter.queue_name for t in self.transports if t._reply_waiter]
        # every server at once (its fanout queue goes with it): on RabbitMQ each consumer
        # takes a moment to notice it must stop
        with ThreadPoolExecutor(len(self.transports) or 1) as pool:
            list(pool.map(rpc.Transport.cleanup, self.transports))
        with self.lab.connect() as connection:
            channel = connection.channel()
            for name in queues:
                try:
                    channel.queue_delete(name)
                except connection.channel_errors:  # already gone
                    channel = connection.channel()


class Sink:
    """An endpoint that does nothing: exercise 2 only counts who received what."""

    def work(self, ctxt: dict, n: int = 0) -> None:
        return None


def split_run() -> dict[str, int]:
    """Six casts to the topic, then two fanout casts, to three workers: who got how many."""
    with CheckRun("lesson01-split", Sink()) as run:
        for n in range(6):
            run.client.cast({}, "work", n=n)
        for n in range(2):
            run.client.prepare(fanout=True).cast({}, "work", n=6 + n)
        got = run.delivered(6 + 2 * len(HOSTS))
    return {host: got[host] for host in HOSTS}


class Slow:
    """An endpoint whose work starts when the check lets it (``release``), takes 20 ms,
    and says when it is done, so that the check knows what came first."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.done = threading.Event()

    def work(self, ctxt: dict) -> str:
        self.release.wait(5)
        time.sleep(0.02)  # the work itself
        self.done.set()
        return "done"


#: The sends of exercise 3, by the names the learner writes.
SENDS: dict[str, Callable[[rpc.RPCClient], Any]] = {
    "cast": lambda c: c.cast({}, "work"),
    "call": lambda c: c.call({}, "work"),
    "fanout": lambda c: c.prepare(fanout=True).cast({}, "work"),
    "cast_to_host1": lambda c: c.prepare(server="host1").cast({}, "work"),
    "call_to_host1": lambda c: c.prepare(server="host1").call({}, "work"),
}


def timing_run() -> dict[str, tuple[bool, float]]:
    """Each send against one worker: (returned before the work was done, milliseconds)."""
    slow = Slow()
    measured = {}
    with CheckRun("lesson01-timing", slow, hosts=("host1",)) as run:
        for name, send in SENDS.items():
            slow.done.clear()
            slow.release.clear()
            if name.startswith("call"):
                slow.release.set()  # a call would wait for ever for a work kept waiting
            start = time.perf_counter()
            send(run.client)
            elapsed = (time.perf_counter() - start) * 1000
            measured[name] = (not slow.done.is_set(), elapsed)
            slow.release.set()
            slow.done.wait(5)
    return measured


# -- what exercises 4 and 5 read ----------------------------------------------------------


def nova_cloud() -> NovaCloud:
    return evidence.cloud(NovaCloud, "cloud = lab.nova(...)")


def named(cloud: NovaCloud, name: str) -> list[Server]:
    return [s for s in cloud.servers if s.name == name]


def stopped(cloud: NovaCloud) -> list[Any]:
    return [s for s in cloud.services if not s.running]


def service_names(services: list[Any]) -> str:
    return evidence.codes(s.name for s in services)


def waiting(server: Server, timeout: float = 2.0) -> tuple[list[tuple[Hop, list[str]]], str]:
    """The messages of the boot that wait in a queue nobody consumes, once the boot has
    gone as far as it can (or ``timeout`` passed), and the server's status then."""
    lab = evidence.lab()
    deadline = time.monotonic() + timeout
    while True:
        topology = lab.topology()
        waiting, moving = [], []
        for hop in server.hops:
            if hop.kind not in ("cast", "call") or hop.receiver:
                continue
            try:
                queues = topology.route(hop.exchange, hop.routing_key)
            except UnknownExchange:
                queues = []
            if queues and all(topology.queues[q].consumers == 0 for q in queues):
                waiting.append((hop, queues))
            elif queues:
                moving.append(hop)
        status = server.status
        if (not moving and (waiting or status in FINAL)) or time.monotonic() >= deadline:
            return waiting, status
        time.sleep(0.01)


