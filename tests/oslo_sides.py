"""Both sides of the interoperability tests: a broker's vhosts seen by the course and by the
real oslo.messaging, the processes of one case (stopped at the end), the endpoints, and a
small cloud run with one library or the other, with its topology normalized to compare.
"""

from __future__ import annotations

import json
import re
import time
import uuid
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import eventually, require

with warnings.catch_warnings():  # oslo.service imports eventlet, which warns it is deprecated
    warnings.simplefilter("ignore")
    om = require("oslo_messaging", "oslo.messaging is not installed: pip install -e '.[test]' "
                 "(it is only needed by these interoperability tests)")
    oslo_context = require("oslo_context.context", "oslo.context is not installed: "
                           "pip install -e '.[test]'")


from course import rpc, topology  # noqa: E402  (after the skip)
from course.bench.rpc import oslo_config  # noqa: E402
from course.trace import Trace  # noqa: E402

WAIT = 5.0
QUIET = 0.3
CTXT = {"request_id": "req-5d1c", "user_id": "u-alice", "project_id": "p-demo",
        "auth_token": "gAAAA-secret", "roles": ["member"], "is_admin": False}


# -- two sides on one broker ------------------------------------------------------------


class Side:
    """One vhost of the broker under test, seen by the course and by oslo.messaging."""

    def __init__(self, kind, vhost, course_url, oslo_url, management_url=None):
        self.kind, self.vhost = kind, vhost
        self.course_url, self.oslo_url = course_url, oslo_url
        self.management_url = management_url

    def topology(self):
        return topology.snapshot(self.course_url, management_url=self.management_url)

    def connect(self):
        from course import broker

        return broker.connect(self.course_url)


@pytest.fixture(params=["embedded", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def vhosts(request):
    """A factory of fresh vhosts on one kind of broker, deleted afterwards."""
    made = []

    def make():
        vhost = f"interop-{uuid.uuid4().hex[:12]}"
        if request.param == "embedded":
            from course import broker

            side = Side("embedded", vhost, broker.add_vhost(vhost), f"kombu+embedded:////{vhost}")
        else:
            node = request.getfixturevalue("rabbitmq_node")
            url = node.add_vhost(vhost)
            side = Side("rabbitmq", vhost, url, url, node.management_url)
        made.append(side)
        return side

    yield make
    if request.param == "embedded":
        from course import broker

        broker.reset()
    else:
        node = request.getfixturevalue("rabbitmq_node")
        for side in made:
            node.delete_vhost(side.vhost)


@pytest.fixture
def side(vhosts):
    return vhosts()


def oslo_conf(**rabbit):
    return oslo_config("course-interop", **rabbit)


class Processes:
    """The course's and oslo's transports, servers and listeners of one case; all of them
    are stopped (in parallel: oslo's consumers look at their stop flag once a second) and
    their transports cleaned up at the end."""

    def __init__(self):
        #: ``[oslo_messaging_rabbit]`` options of every transport of the case, both libraries.
        self.options = {}
        self.trace = Trace()
        self._servers = []
        self._transports = []

    # course side
    def course_transport(self, side, service="nova-api:ctl"):
        transport = rpc.get_transport(side.course_url, "nova", service=service,
                                      trace=self.trace, options=self.options)
        self._transports.append(transport)
        return transport

    def course_server(self, side, host, endpoint, topic="compute"):
        server = rpc.get_rpc_server(self.course_transport(side, f"course:{host}"),
                                    rpc.Target(topic=topic, server=host), [endpoint])
        self._servers.append(server)
        server.start()
        return server

    def course_listener(self, side, endpoint, **kwargs):
        listener = rpc.get_notification_listener(
            self.course_transport(side, "course-listener"),
            [rpc.Target(topic="notifications")], [endpoint], **kwargs)
        self._servers.append(listener)
        listener.start()
        return listener

    # oslo side
    def oslo_transport(self, side, notifications=False):
        get = om.get_notification_transport if notifications else om.get_rpc_transport
        transport = get(oslo_conf(**self.options), url=side.oslo_url)
        self._transports.append(transport)
        return transport

    def oslo_server(self, side, host, endpoint, topic="compute"):
        server = om.get_rpc_server(self.oslo_transport(side),
                                   om.Target(topic=topic, server=host), [endpoint])
        self._servers.append(server)
        server.start()
        return server

    def oslo_listener(self, side, endpoint, **kwargs):
        listener = om.get_notification_listener(
            self.oslo_transport(side, notifications=True),
            [om.Target(topic="notifications")], [endpoint], **kwargs)
        self._servers.append(listener)
        listener.start()
        return listener

    def stop(self, servers=None):
        servers = self._servers if servers is None else servers
        with ThreadPoolExecutor(max(1, len(servers))) as pool:
            list(pool.map(lambda s: (s.stop(), s.wait()), servers))
        for server in servers:
            if server in self._servers:
                self._servers.remove(server)

    def close(self):
        self.stop()
        with ThreadPoolExecutor(max(1, len(self._transports))) as pool:
            list(pool.map(lambda t: t.cleanup(), self._transports))


@pytest.fixture
def procs():
    processes = Processes()
    try:
        yield processes
    finally:
        processes.close()


class CustomError(Exception):
    pass


class Compute:
    """The same endpoint for a course server and an oslo server."""

    def __init__(self, host):
        self.host = host
        self.handled = []

    def whoami(self, ctxt):
        self.handled.append("whoami")
        return self.host

    def ping(self, ctxt, arg=None):
        self.handled.append(("ping", arg))
        return {"host": self.host, "arg": arg}

    def context(self, ctxt):
        # oslo hands its endpoints the context plus "client_timeout" (the call monitor's)
        return {k: v for k, v in ctxt.items() if k != "client_timeout"}

    def boom(self, ctxt):
        raise ValueError("bad value")

    def custom(self, ctxt):
        raise CustomError("custom trouble")

    def slow(self, ctxt, seconds):
        time.sleep(seconds)
        return "done"


class Collector:
    def __init__(self):
        self.seen = []

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        ctxt = {k: v for k, v in ctxt.items() if k != "client_timeout"}  # oslo adds it
        self.seen.append((ctxt, publisher_id, event_type, payload, sorted(metadata)))

    error = info


# -- RPC both ways ------------------------------------------------------------------------



UUID_SUFFIX = re.compile(r"^(reply|.+_fanout)_[0-9a-f]{32}$")


def normalized(top):
    """A topology with the random uuids of reply_* and *_fanout_* names blanked out."""
    def name(queue):
        return UUID_SUFFIX.sub(r"\1_<uuid>", queue)

    queues = Counter((name(q.name), q.durable, q.auto_delete, q.exclusive,
                      json.dumps(q.arguments, sort_keys=True), q.type, q.consumers, q.messages)
                     for q in top.queues.values())
    bindings = Counter((b.exchange, name(b.queue), b.routing_key) for b in top.bindings)
    exchanges = {n: (e.type, e.durable, e.auto_delete, json.dumps(e.arguments))
                 for n, e in top.exchanges.items()}
    return exchanges, queues, bindings


def run_a_small_cloud(side, procs, library):
    """Servers compute.cmp1, compute.cmp2, scheduler.ctl; a client that calls, casts and
    fans out; a notifier and a listener -- with one library or the other."""
    computes = [Compute("cmp1"), Compute("cmp2")]
    if library == "course":
        servers = [procs.course_server(side, "cmp1", computes[0]),
                   procs.course_server(side, "cmp2", computes[1]),
                   procs.course_server(side, "ctl", Compute("ctl"), topic="scheduler")]
        servers.append(procs.course_listener(side, Collector()))
        transport = procs.course_transport(side)
        client = rpc.get_rpc_client(transport, rpc.Target(topic="compute"), timeout=WAIT)
        scheduler = rpc.get_rpc_client(transport, rpc.Target(topic="scheduler"), timeout=WAIT)
        notifier = rpc.get_notifier(transport, publisher_id="nova-api:ctl")
    else:
        servers = [procs.oslo_server(side, "cmp1", computes[0]),
                   procs.oslo_server(side, "cmp2", computes[1]),
                   procs.oslo_server(side, "ctl", Compute("ctl"), topic="scheduler")]
        servers.append(procs.oslo_listener(side, Collector()))
        transport = procs.oslo_transport(side)
        client = om.get_rpc_client(transport, om.Target(topic="compute"), timeout=WAIT)
        scheduler = om.get_rpc_client(transport, om.Target(topic="scheduler"), timeout=WAIT)
        notifier = om.Notifier(procs.oslo_transport(side, notifications=True),
                               publisher_id="nova-api:ctl", driver="messagingv2",
                               topics=["notifications"])
    assert client.prepare(server="cmp1").call({}, "whoami") == "cmp1"
    assert scheduler.call({}, "whoami") == "ctl"
    client.cast({}, "ping", arg="any")
    client.prepare(fanout=True).cast({}, "ping", arg="all")
    notifier.info({}, "compute.instance.update", {})
    notifier.error({}, "compute.instance.error", {})
    assert eventually(lambda: sum(len(c.handled) for c in computes) == 4)
    return servers



def settled(side):
    """The topology once every message sent was consumed (a stream keeps its messages)."""
    top = side.topology()
    return top if all(q.messages == 0 for q in top.queues.values() if q.type != "stream") \
        else None


def all_stopped(side):
    """The topology once no server consumes (reply queues aside).  oslo closes its
    connection without cancelling its consumers first: RabbitMQ counts them gone a moment
    later."""
    top = side.topology()
    return top if all(q.consumers == 0 for n, q in top.queues.items()
                      if not n.startswith("reply_")) else None


def agreed(sides, state, timeout=15.0):
    """Each side's topology in ``state``, once they agree (RabbitMQ's management API tells
    the consumers of x-expires queues a moment late), else as they are."""
    def agreeing():
        tops = {library: state(side) for library, side in sides.items()}
        if all(tops.values()) and normalized(tops["course"]) == normalized(tops["oslo"]):
            return tops
        return None

    return eventually(agreeing, timeout) or {
        library: eventually(lambda s=side: state(s), timeout) for library, side in sides.items()}
