"""course.rpc speaks oslo.messaging's RPC: the same topology, the same bytes, the same rules.

Every case runs on the embedded broker and on a private RabbitMQ (the `broker` fixture),
each in a vhost of its own.  What oslo.messaging does is written in
shared/reference/openstack-messaging.md, sections 1.2 to 1.6; the cases check it on the
broker itself (``broker.topology()``) and on the raw messages, read with plain kombu.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import eventually
from kombu import Producer

from course import rpc
from course.trace import Trace

#: How long a case waits for something that must happen.
WAIT = 5.0
HEX32 = re.compile(r"[0-9a-f]{32}")
TTL_MS = 1_800_000  # rabbit_transient_queues_ttl = 1800 s, as x-expires


# -- helpers ------------------------------------------------------------------------


def get_raw(conn, queue):
    """basic.get one message (acked): its JSON body, properties and delivery_info."""
    channel = conn.channel()
    raw = eventually(lambda: channel.basic_get(queue=queue, no_ack=True))
    assert raw is not None, f"nothing arrived in {queue}"
    message = channel.message_to_python(raw)
    return json.loads(message.body), message.properties, message.delivery_info


def ready(conn, queue):
    return conn.channel().queue_declare(queue=queue, passive=True).message_count


def publish_raw(conn, body, exchange="", routing_key="", **options):
    Producer(conn.channel(), serializer="json").publish(
        body, exchange=exchange, routing_key=routing_key, **options)


def envelope(msg):
    return {"oslo.version": "2.0", "oslo.message": json.dumps(msg)}


def fanout_queues(topology, topic="compute"):
    return sorted(n for n in topology.queues if n.startswith(f"{topic}_fanout_"))


def reply_queues(topology):
    return sorted(n for n in topology.queues if n.startswith("reply_"))


class CustomError(Exception):
    """An exception of a module the caller may or may not allow."""


class Compute:
    """A nova-compute-like endpoint that records what it handled."""

    def __init__(self, host):
        self.host = host
        self.handled = []
        self.release = threading.Event()
        self.started = threading.Event()

    def ping(self, ctxt, arg=None):
        self.handled.append(("ping", arg))
        return {"host": self.host, "arg": arg}

    def whoami(self, ctxt):
        self.handled.append(("whoami", None))
        return self.host

    def context(self, ctxt):
        return ctxt

    def boom(self, ctxt):
        self.handled.append(("boom", None))
        raise ValueError("bad value")

    def custom(self, ctxt):
        raise CustomError("custom trouble")

    @rpc.expected_exceptions(KeyError)
    def lookup(self, ctxt, key):
        return {}[key]

    def hang(self, ctxt):
        self.handled.append(("hang", None))
        self.started.set()
        self.release.wait(WAIT)
        return "released"

    def slow(self, ctxt, seconds):
        time.sleep(seconds)
        return "done"

    def _secret(self, ctxt):
        return "never over RPC"


class Lab:
    """Transports, servers and listeners of one case, all stopped at the end."""

    def __init__(self, broker):
        self.broker = broker
        self.trace = Trace()
        self._transports = []
        self._servers = []

    def transport(self, service="nova-api:ctl", exmods=(), **options):
        transport = rpc.get_transport(self.broker.url, "nova", service=service,
                                      trace=self.trace, options=options,
                                      allowed_remote_exmods=exmods)
        self._transports.append(transport)
        return transport

    def server(self, host, endpoint=None, topic="compute", transport=None, start=True):
        endpoint = endpoint or Compute(host)
        server = rpc.get_rpc_server(transport or self.transport(f"nova-compute:{host}"),
                                    rpc.Target(topic=topic, server=host), [endpoint])
        self._servers.append(server)
        if start:
            server.start()
        return server, endpoint

    def listener(self, endpoint, transport=None, **kwargs):
        listener = rpc.get_notification_listener(
            transport or self.transport("ceilometer-agent-notification:ctl"),
            [rpc.Target(topic="notifications")], [endpoint], **kwargs)
        self._servers.append(listener)
        listener.start()
        return listener

    def client(self, transport=None, topic="compute", **kwargs):
        return rpc.get_rpc_client(transport or self.transport(), rpc.Target(topic=topic),
                                  **kwargs)

    def close(self):
        # In parallel: on RabbitMQ a consumer notices it must stop within 0.25 s.
        with ThreadPoolExecutor(max(1, len(self._servers))) as pool:
            list(pool.map(lambda server: (server.stop(), server.wait()), self._servers))
        for transport in self._transports:
            transport.cleanup()


@pytest.fixture
def lab(broker):
    lab = Lab(broker)
    try:
        yield lab
    finally:
        lab.close()


CTXT = {"request_id": "req-5d1c", "user_id": "u-alice", "project_id": "p-demo",
        "auth_token": "gAAAA-secret", "roles": ["member", "reader"], "is_admin": False}


# -- what a server declares ------------------------------------------------------------


def test_server_declares_topic_server_and_fanout_queues(lab, broker):
    """Target(topic=compute, server=cmp1): exchanges nova (topic) and compute_fanout (fanout,
    auto-delete); queues compute and compute.cmp1 (no arguments) and compute_fanout_<uuid>
    (x-expires 30 min), each with one consumer; nothing durable, nothing exclusive."""
    lab.server("cmp1")
    top = broker.topology()
    assert set(top.exchanges) == {"nova", "compute_fanout"}
    nova, fanout = top.exchanges["nova"], top.exchanges["compute_fanout"]
    assert (nova.type, nova.durable, nova.auto_delete) == ("topic", False, False)
    assert (fanout.type, fanout.durable, fanout.auto_delete) == ("fanout", False, True)
    [fanout_queue] = fanout_queues(top)
    assert HEX32.fullmatch(fanout_queue.removeprefix("compute_fanout_"))
    assert set(top.queues) == {"compute", "compute.cmp1", fanout_queue}  # no reply queue yet
    for name, arguments in (("compute", {}), ("compute.cmp1", {}),
                            (fanout_queue, {"x-expires": TTL_MS})):
        queue = top.queues[name]
        assert (queue.durable, queue.auto_delete, queue.exclusive) == (False, False, False)
        assert queue.arguments == arguments
    # (RabbitMQ's management API tells an x-expires queue's consumers a moment late)
    assert eventually(lambda: {n: q.consumers for n, q in broker.topology().queues.items()}
                      == {"compute": 1, "compute.cmp1": 1, fanout_queue: 1})
    assert {(b.exchange, b.queue, b.routing_key) for b in top.bindings} == {
        ("nova", "compute", "compute"), ("nova", "compute.cmp1", "compute.cmp1"),
        ("compute_fanout", fanout_queue, "compute")}


def test_one_reply_queue_per_transport_reused_for_every_call(lab, broker):
    """The reply queue is made at the first call() and reused: reply_<uuid>, x-expires
    30 min, reached through the default exchange only, not exclusive."""
    lab.server("cmp1")
    api = lab.transport("nova-api:ctl")
    client = lab.client(api, timeout=WAIT)
    for n in range(3):
        assert client.call(CTXT, "ping", arg=n) == {"host": "cmp1", "arg": n}
    top = broker.topology()
    [reply] = reply_queues(top)
    assert HEX32.fullmatch(reply.removeprefix("reply_"))
    queue = top.queues[reply]
    assert (queue.durable, queue.auto_delete, queue.exclusive) == (False, False, False)
    assert queue.arguments == {"x-expires": TTL_MS}
    assert eventually(lambda: broker.topology().queues[reply].consumers == 1)
    assert not [b for b in top.bindings if b.queue == reply]  # the default exchange only
    sent = [e.body for e in lab.trace.events if e.action == "publish" and e.kind == "call"]
    assert [m["_reply_q"] for m in sent] == [reply] * 3
    assert len({m["_msg_id"] for m in sent}) == 3
    lab.client(lab.transport("nova-conductor:ctl"), timeout=WAIT).call({}, "ping")
    assert len(reply_queues(broker.topology())) == 2  # another process, another queue


# -- the wire --------------------------------------------------------------------------


def test_cast_on_the_wire(lab, broker):
    """A cast: envelope 2.0, method/args/version/namespace, _unique_id, the context flat as
    _context_* (token included); no _msg_id, no expiration; persistent JSON."""
    server, _endpoint = lab.server("cmp1")
    server.stop()
    client = lab.client().prepare(server="cmp1", version="6.2", namespace="compute_ns")
    client.cast(CTXT, "build_and_run_instance", instance={"uuid": "i-1"}, node="cmp1")
    body, properties, info = get_raw(broker.connect(), "compute.cmp1")
    assert body["oslo.version"] == "2.0"
    assert set(body) == {"oslo.version", "oslo.message"}
    msg = json.loads(body["oslo.message"])
    context = {f"_context_{k}": v for k, v in CTXT.items()}
    assert msg == {"method": "build_and_run_instance",
                   "args": {"instance": {"uuid": "i-1"}, "node": "cmp1"},
                   "version": "6.2", "namespace": "compute_ns",
                   "_unique_id": msg["_unique_id"], **context}
    assert HEX32.fullmatch(msg["_unique_id"])
    assert (info["exchange"], info["routing_key"]) == ("nova", "compute.cmp1")
    assert properties["content_type"] == "application/json"
    assert properties["delivery_mode"] == 2
    assert "expiration" not in properties


def test_call_on_the_wire_answered_by_hand(lab, broker):
    """A call adds _msg_id, _reply_q and _timeout and expires after the timeout; any
    process that publishes {"result", "ending": true, "_msg_id"} to the default exchange
    with the reply queue as key answers it."""
    server, _endpoint = lab.server("cmp1")
    server.stop()
    client = lab.client(timeout=4, call_monitor_timeout=2)
    result = {}
    caller = threading.Thread(target=lambda: result.update(
        value=client.call(CTXT, "select_destinations", spec={"vcpus": 1})))
    caller.start()
    conn = broker.connect()
    body, properties, info = get_raw(conn, "compute")
    msg = json.loads(body["oslo.message"])
    assert (msg["method"], msg["args"], msg["_timeout"]) == (
        "select_destinations", {"spec": {"vcpus": 1}}, 2)
    assert HEX32.fullmatch(msg["_msg_id"]) and HEX32.fullmatch(msg["_unique_id"])
    assert msg["_reply_q"].startswith("reply_")
    assert msg["_context_request_id"] == CTXT["request_id"]
    assert properties["expiration"] == "4000"  # ms: the request dies with the caller's wait
    assert (info["exchange"], info["routing_key"]) == ("nova", "compute")
    reply = {"result": ["cmp1"], "failure": None, "ending": True, "_msg_id": msg["_msg_id"],
             "_unique_id": uuid.uuid4().hex}
    publish_raw(conn, envelope(reply), exchange="", routing_key=msg["_reply_q"],
                mandatory=True)
    caller.join(WAIT)
    assert result == {"value": ["cmp1"]}


def test_reply_on_the_wire(lab, broker):
    """A request made by hand: the server's reply comes to our queue through the default
    exchange, as {"result", "failure", "ending", "_msg_id", "_unique_id"} in envelope 2.0."""
    lab.server("cmp1")
    conn = broker.connect()
    channel = conn.channel()
    channel.queue_declare(queue="reply_byhand", auto_delete=False)
    request = {"method": "ping", "args": {"arg": 7}, "_msg_id": "m-1",
               "_reply_q": "reply_byhand", "_timeout": None, "_unique_id": uuid.uuid4().hex,
               "_context_request_id": "req-1"}
    publish_raw(conn, envelope(request), exchange="nova", routing_key="compute.cmp1")
    body, properties, info = get_raw(conn, "reply_byhand")
    assert body["oslo.version"] == "2.0"
    reply = json.loads(body["oslo.message"])
    assert set(reply) == {"result", "failure", "ending", "_msg_id", "_unique_id"}
    assert (reply["result"], reply["failure"], reply["ending"], reply["_msg_id"]) == (
        {"host": "cmp1", "arg": 7}, None, True, "m-1")
    assert (info["exchange"], info["routing_key"]) == ("", "reply_byhand")
    assert "expiration" not in properties

    request.update(method="boom", args={}, _msg_id="m-2", _unique_id=uuid.uuid4().hex)
    publish_raw(conn, envelope(request), exchange="nova", routing_key="compute.cmp1")
    reply = json.loads(get_raw(conn, "reply_byhand")[0]["oslo.message"])
    failure = json.loads(reply["failure"])
    assert (reply["result"], reply["ending"]) == (None, True)
    assert (failure["class"], failure["module"], failure["message"], failure["args"],
            failure["kwargs"]) == ("ValueError", "builtins", "bad value", ["bad value"], {})
    assert failure["tb"][0].startswith("Traceback") and "bad value" in failure["tb"][-1]


# -- targets ---------------------------------------------------------------------------


def test_cast_and_call_go_to_topic_or_topic_host(lab):
    """cast vs call is orthogonal to topic vs topic.host: both can go to either."""
    _s1, cmp1 = lab.server("cmp1")
    _s2, cmp2 = lab.server("cmp2")
    client = lab.client(timeout=WAIT)
    assert client.prepare(server="cmp2").call({}, "whoami") == "cmp2"
    assert client.prepare(server="cmp1").call({}, "whoami") == "cmp1"
    client.prepare(server="cmp2").cast({}, "ping", arg="to cmp2")
    client.cast({}, "ping", arg="to anyone")
    assert client.call({}, "whoami") in ("cmp1", "cmp2")
    eventually(lambda: len(cmp1.handled) + len(cmp2.handled) == 5)
    assert ("ping", "to cmp2") in cmp2.handled and ("ping", "to cmp2") not in cmp1.handled
    assert [h for h in cmp1.handled + cmp2.handled if h == ("ping", "to anyone")]
    keys = [(e.kind, e.routing_key) for e in lab.trace.events if e.action == "publish"
            and e.kind in ("cast", "call")]
    assert keys == [("call", "compute.cmp2"), ("call", "compute.cmp1"),
                    ("cast", "compute.cmp2"), ("cast", "compute"), ("call", "compute")]


def test_fanout_reaches_every_server_of_the_topic(lab):
    endpoints = [lab.server(host)[1] for host in ("cmp1", "cmp2", "cmp3")]
    _other, scheduler = lab.server("ctl", topic="scheduler")
    client = lab.client().prepare(fanout=True)
    client.cast(CTXT, "ping", arg="everyone")
    client.cast(CTXT, "ping", arg="marker")  # a copy of the first arriving twice would come first
    assert eventually(lambda: all(len(e.handled) == 2 for e in endpoints))
    assert [e.handled for e in endpoints] == [[("ping", "everyone"), ("ping", "marker")]] * 3
    assert scheduler.handled == []
    publish = [e for e in lab.trace.events if e.action == "publish"]
    # impl_rabbit.fanout_send publishes to <topic>_fanout with no routing key
    assert [(e.kind, e.exchange, e.routing_key) for e in publish] == [
        ("fanout", "compute_fanout", "")] * 2
    with pytest.raises(rpc.InvalidTarget):  # also a ValueError, as oslo's
        client.call({}, "ping")


def test_servers_of_a_topic_share_its_queue_round_robin(lab):
    endpoints = [lab.server(host)[1] for host in ("cmp1", "cmp2")]
    client = lab.client(timeout=WAIT)
    answers = [client.call({}, "whoami") for _n in range(6)]
    assert sorted(answers) == ["cmp1"] * 3 + ["cmp2"] * 3
    assert all(a != b for a, b in zip(answers, answers[1:], strict=False))  # they alternate
    assert [len(e.handled) for e in endpoints] == [3, 3]


# -- timeouts ---------------------------------------------------------------------------


def test_call_to_a_queue_without_consumer_times_out_and_leaves_nothing(lab, broker):
    server, _endpoint = lab.server("cmp1")
    server.stop()  # compute.cmp1 stays, with no consumer
    client = lab.client(timeout=0.4).prepare(server="cmp1")
    started = time.monotonic()
    with pytest.raises(rpc.MessagingTimeout) as caught:
        client.call(CTXT, "ping")
    assert 0.35 < time.monotonic() - started < 2.0
    [call] = [e for e in lab.trace.events if e.action == "publish" and e.kind == "call"]
    # ReplyWaiters.get (oslo_messaging/_drivers/amqpdriver.py): no queue, no final period
    assert str(caught.value) == f"Timed out waiting for a reply to message ID {call.msg_id}"
    conn = broker.connect()
    # The request had expiration = timeout: the broker drops it, nobody would read a reply.
    assert eventually(lambda: ready(conn, "compute.cmp1") == 0)
    assert broker.topology().queues["compute.cmp1"].consumers == 0


def test_call_monitor_keeps_a_long_call_alive(lab):
    """call_monitor_timeout=2: the server sends a heartbeat reply (ending false, no result)
    every second, so a call longer than the monitor still succeeds."""
    lab.server("cmp1")
    client = lab.client(timeout=10, call_monitor_timeout=2)
    assert client.call(CTXT, "slow", seconds=2.3) == "done"
    replies = [e.body for e in lab.trace.events
               if e.action == "publish" and e.kind == "reply"]
    assert [r["ending"] for r in replies] == [False, False, True]
    assert [r["result"] for r in replies] == [None, None, "done"]
    assert len({r["_msg_id"] for r in replies}) == 1


def test_call_monitor_gives_up_when_nobody_answers(lab):
    server, _endpoint = lab.server("cmp1")
    server.stop()
    client = lab.client(timeout=10, call_monitor_timeout=0.3).prepare(server="cmp1")
    started = time.monotonic()
    with pytest.raises(rpc.MessagingTimeout):
        client.call({}, "ping")
    assert time.monotonic() - started < 2.0  # the monitor, not the 10 s timeout


# -- server-side rules --------------------------------------------------------------------


def test_duplicates_are_dropped_by_unique_id(lab, broker):
    _server, endpoint = lab.server("cmp1")
    conn = broker.connect()
    cast = {"method": "ping", "args": {"arg": "once"}, "_unique_id": uuid.uuid4().hex}
    for _copy in range(2):
        publish_raw(conn, envelope(cast), exchange="nova", routing_key="compute.cmp1")
    first = cast["_unique_id"]
    cast.update(args={"arg": "again"}, _unique_id=uuid.uuid4().hex)
    publish_raw(conn, envelope(cast), exchange="nova", routing_key="compute.cmp1")
    assert eventually(lambda: len(endpoint.handled) == 2)
    assert endpoint.handled == [("ping", "once"), ("ping", "again")]  # the copy was dropped
    drops = [e for e in lab.trace.events if e.action == "drop"]
    assert [(d.kind, d.unique_id, d.queue) for d in drops] == [("cast", first, "compute.cmp1")]


class TaskAPI:
    target = rpc.Target(namespace="compute_task", version="1.5",
                        legacy_namespaces=("old_task",))

    def build(self, ctxt):
        return "task 1.5"


class ComputeAPI:
    target = rpc.Target(version="6.3")

    def build(self, ctxt):
        return "compute 6.3"


class Legacy:  # no target: the default namespace, version 1.0
    def build(self, ctxt):
        return "legacy 1.0"


def test_endpoints_are_chosen_by_namespace_and_version(lab):
    server, _endpoint = lab.server("cmp1", start=False)
    server.endpoints = [TaskAPI(), ComputeAPI(), Legacy()]
    server.start()
    client = lab.client(timeout=WAIT)

    def call(**target):
        return client.prepare(**target).call({}, "build")

    assert call(namespace="compute_task", version="1.2") == "task 1.5"
    assert call(namespace="old_task", version="1.5") == "task 1.5"
    assert call(version="6.0") == "compute 6.3"
    assert call(version="1.0") == "legacy 1.0"
    assert call() == "legacy 1.0"  # no version in the message means 1.0
    for target in ({"namespace": "compute_task", "version": "1.6"}, {"version": "7.0"},
                   {"namespace": "nobody"}):
        with pytest.raises(rpc.RemoteError) as caught:
            call(**target)
        assert caught.value.exc_type == "UnsupportedVersion"
    with pytest.raises(rpc.RemoteError) as caught:
        client.prepare(version="6.3").call({}, "rebuild")
    assert (caught.value.exc_type, caught.value.value) == (
        "NoSuchMethod", "Endpoint does not support RPC method rebuild")
    assert str(caught.value).startswith(
        "Remote error: NoSuchMethod Endpoint does not support RPC method rebuild\n['Traceback")


def test_remote_errors_reach_the_caller_as_with_oslo(lab, broker):
    lab.server("cmp1")
    client = lab.client(timeout=WAIT)
    # A built-in exception is rebuilt: same class, the remote traceback in its text.
    with pytest.raises(ValueError) as caught:
        client.call({}, "boom")
    assert type(caught.value) is ValueError
    assert str(caught.value).startswith("bad value\nTraceback")
    # Another module's exception is a RemoteError, unless the caller allows its module.
    with pytest.raises(rpc.RemoteError) as caught:
        client.call({}, "custom")
    error = caught.value
    assert (error.exc_type, error.value) == ("CustomError", "custom trouble")
    assert isinstance(error.traceback, list) and "custom trouble" in error.traceback[-1]
    allowed = lab.client(lab.transport("nova-conductor:ctl", exmods=[__name__]), timeout=WAIT)
    with pytest.raises(CustomError) as caught:
        allowed.call({}, "custom")
    assert type(caught.value).__name__ == "CustomError_Remote"
    assert type(caught.value).__module__ == f"{__name__}_Remote"
    # A private method is never exposed.
    with pytest.raises(rpc.RemoteError) as caught:
        client.call({}, "_secret")
    assert caught.value.exc_type == "NoSuchMethod"


def test_expected_exceptions_are_not_logged_as_failures(lab, caplog):
    lab.server("cmp1")
    client = lab.client(timeout=WAIT)
    with caplog.at_level(logging.INFO, logger="course.rpc"):
        with pytest.raises(KeyError):
            client.call({}, "lookup", key="flavor")
        with pytest.raises(ValueError):
            client.call({}, "boom")
    handling = [r for r in caplog.records if "during message handling" in r.getMessage()]
    assert len(handling) == 1 and "bad value" in str(handling[0].exc_info[1])


def test_requests_are_acked_before_dispatch(lab, broker):
    """At-most-once: the server acknowledges a request before running it, so a request
    whose method hangs (or raises) leaves no unacked message behind.  A notification
    listener, in contrast, acknowledges after handling: its message stays unacked."""
    _server, endpoint = lab.server("cmp1")
    waiting = threading.Event()

    class Slow:
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            waiting.set()
            endpoint.release.wait(WAIT)

    lab.listener(Slow())
    client = lab.client(timeout=0.3)
    with pytest.raises(rpc.MessagingTimeout):
        client.call({}, "hang")
    assert endpoint.started.is_set()
    rpc.get_notifier(lab.transport(), publisher_id="nova-compute:cmp1").info(
        {}, "compute.instance.update", {})
    assert waiting.wait(WAIT)

    def unacked():
        queues = broker.topology().queues
        return (queues["compute"].messages_unacknowledged,
                queues["notifications.info"].messages_unacknowledged)

    assert eventually(lambda: unacked() == (0, 1)), unacked()
    endpoint.release.set()
    assert eventually(lambda: unacked() == (0, 0)), unacked()
    client.cast({}, "boom")
    client.cast({}, "ping", arg="marker")  # a redelivered boom would come back first
    assert eventually(lambda: ("ping", "marker") in endpoint.handled)
    assert endpoint.handled.count(("boom", None)) == 1  # not redelivered


def test_stopped_server_leaves_casts_waiting(lab, broker):
    """A stopped server's queues stay (without consumers) and its casts wait there; its
    fanout queue is deleted, and with it the auto-delete fanout exchange."""
    server, endpoint = lab.server("cmp1")
    first_fanout = fanout_queues(broker.topology())
    server.stop()
    client = lab.client().prepare(server="cmp1")
    for n in range(3):
        client.cast({}, "ping", arg=n)
    top = broker.topology()
    assert (top.queues["compute.cmp1"].messages, top.queues["compute.cmp1"].consumers) == (3, 0)
    assert top.queues["compute"].consumers == 0
    assert fanout_queues(top) == [] and "compute_fanout" not in top.exchanges
    assert endpoint.handled == []
    server.start()
    assert eventually(lambda: len(endpoint.handled) == 3)
    assert endpoint.handled == [("ping", 0), ("ping", 1), ("ping", 2)]
    top = broker.topology()
    assert top.queues["compute.cmp1"].messages == 0
    assert len(fanout_queues(top)) == 1 and fanout_queues(top) != first_fanout


def test_cast_to_a_key_without_queue_is_dropped_silently(lab):
    """Topic publishes are not mandatory: nothing tells the caster, nothing is kept."""
    _server, endpoint = lab.server("cmp1")
    lab.client().prepare(server="ghost").cast({}, "ping")
    lab.client().prepare(server="cmp1").cast({}, "whoami")  # sent after: arrives after
    assert eventually(lambda: endpoint.handled == [("whoami", None)])
    snapshot = lab.broker.topology()
    assert "compute.ghost" not in snapshot.queues
    assert all(q.messages == 0 for q in snapshot.queues.values())
    published = [e.routing_key for e in lab.trace.events if e.action == "publish"]
    delivered = [e.routing_key for e in lab.trace.events if e.action == "deliver"]
    assert published == ["compute.ghost", "compute.cmp1"] and delivered == ["compute.cmp1"]


def test_version_cap_is_checked_before_sending(lab):
    lab.server("cmp1")
    client = lab.client(timeout=WAIT, version_cap="1.1")
    assert client.can_send_version("1.1") and not client.can_send_version("1.2")
    assert client.prepare(version="1.0").call({}, "whoami") == "cmp1"
    with pytest.raises(rpc.RPCVersionCapError):
        client.prepare(version="1.2").call({}, "whoami")
    assert [e.kind for e in lab.trace.events if e.action == "publish"] == ["call", "reply"]


def test_the_context_travels_whole_over_rpc(lab):
    lab.server("cmp1")
    assert lab.client(timeout=WAIT).call(CTXT, "context") == CTXT  # token included


def test_reply_to_a_vanished_queue_is_retried_then_abandoned(lab, broker, caplog):
    """The server publishes replies as mandatory: while the reply queue is missing it
    retries every 0.25 s for kombu_missing_consumer_retry_timeout, then gives up, and
    drops at once the next replies to that queue."""
    caplog.set_level(logging.WARNING, logger="course.rpc")
    server_transport = lab.transport("nova-compute:cmp1",
                                     kombu_missing_consumer_retry_timeout=0.6)
    lab.server("cmp1", transport=server_transport)
    api = lab.transport("nova-api:ctl")
    with pytest.raises(rpc.MessagingTimeout):
        lab.client(api, timeout=0.2).call({}, "slow", seconds=0.4)
    reply_q = api.reply_waiter().queue_name
    api.cleanup()  # the calling process is gone, and so is its reply queue:
    broker.connect().channel().queue_delete(reply_q)
    assert eventually(lambda: "Abandoning" in caplog.text)
    returns = [e for e in lab.trace.events if e.action == "return" and e.kind == "reply"]
    assert len(returns) >= 2  # tried, then retried
    assert {e.routing_key for e in returns} == {reply_q}
    conn = broker.connect()
    request = {"method": "ping", "args": {}, "_msg_id": "m-late", "_reply_q": reply_q,
               "_timeout": None, "_unique_id": uuid.uuid4().hex}
    publish_raw(conn, envelope(request), exchange="nova", routing_key="compute.cmp1")
    assert eventually(lambda: f"{reply_q} doesn't exist, drop reply to m-late" in caplog.text)
    assert len([e for e in lab.trace.events if e.action == "return"]) == len(returns)


# -- notifications -------------------------------------------------------------------------


class Collector:
    def __init__(self, answers=()):
        self.seen = []
        self.answers = list(answers)

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.seen.append((ctxt, publisher_id, event_type, payload, metadata))
        return self.answers.pop(0) if self.answers else None

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self.seen.append((ctxt, publisher_id, event_type, payload, metadata))


def test_notifications_go_to_topic_priority_queues_made_by_the_publisher(lab, broker):
    notifier = rpc.get_notifier(lab.transport("nova-compute:cmp1"),
                                publisher_id="nova-compute:cmp1")
    notifier.info(CTXT, "compute.instance.create.end", {"uuid": "i-1"})
    notifier.error(CTXT, "compute.instance.create.error", {"uuid": "i-2"})
    top = broker.topology()
    for priority in ("info", "error"):
        queue = top.queues[f"notifications.{priority}"]  # nobody listens yet: nothing lost
        assert (queue.messages, queue.consumers, queue.durable, queue.auto_delete,
                queue.arguments) == (1, 0, False, False, {})
    assert {(b.exchange, b.queue, b.routing_key) for b in top.bindings} == {
        ("nova", "notifications.info", "notifications.info"),
        ("nova", "notifications.error", "notifications.error")}
    body, _properties, info = get_raw(broker.connect(), "notifications.info")
    assert (body["oslo.version"], info["exchange"], info["routing_key"]) == (
        "2.0", "nova", "notifications.info")
    msg = json.loads(body["oslo.message"])
    assert {k: msg[k] for k in ("publisher_id", "event_type", "priority", "payload")} == {
        "publisher_id": "nova-compute:cmp1", "event_type": "compute.instance.create.end",
        "priority": "INFO", "payload": {"uuid": "i-1"}}
    assert uuid.UUID(msg["message_id"]) and HEX32.fullmatch(msg["_unique_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", msg["timestamp"])
    assert msg["_context_request_id"] == CTXT["request_id"]
    assert "_context_auth_token" not in msg  # secrets stay out of notifications

    v1 = rpc.get_notifier(lab.transport(), publisher_id="compute.cmp1", driver="messaging")
    v1.info({}, "compute.instance.exists", {"uuid": "i-3"})
    body = get_raw(broker.connect(), "notifications.info")[0]
    assert "oslo.version" not in body and body["event_type"] == "compute.instance.exists"


def test_notification_listener_receives_sanitized_context(lab):
    collector = Collector()
    lab.listener(collector)
    rpc.get_notifier(lab.transport(), publisher_id="nova-api:ctl").info(
        CTXT, "compute.instance.update", {"state": "active"})
    assert eventually(lambda: collector.seen)
    [(ctxt, publisher_id, event_type, payload, metadata)] = collector.seen
    assert ctxt == {k: v for k, v in CTXT.items() if k != "auth_token"}
    assert (publisher_id, event_type, payload) == (
        "nova-api:ctl", "compute.instance.update", {"state": "active"})
    assert set(metadata) == {"message_id", "timestamp"}

    def actions():
        return [e.action for e in lab.trace.events if e.kind == "notify"]

    assert eventually(lambda: actions() == ["publish", "deliver", "ack"]), actions()


def test_notification_listener_may_requeue(lab, broker):
    notifier = rpc.get_notifier(lab.transport(), publisher_id="nova-api:ctl")
    again = Collector(answers=[rpc.NotificationResult.REQUEUE])
    lab.listener(again, allow_requeue=True)
    notifier.info({}, "first", {})
    assert eventually(lambda: len(again.seen) == 2)  # requeued once, then handled
    assert [s[2] for s in again.seen] == ["first", "first"]

    def actions():
        return [e.action for e in lab.trace.events if e.kind == "notify"]

    expected = ["publish", "deliver", "requeue", "deliver", "ack"]
    assert eventually(lambda: actions() == expected), actions()
    assert eventually(lambda: broker.topology().queues["notifications.info"].messages == 0)


def test_notification_listener_without_requeue_acks_anyway(lab):
    notifier = rpc.get_notifier(lab.transport(), publisher_id="nova-api:ctl")
    once = Collector(answers=[rpc.NotificationResult.REQUEUE])
    lab.listener(once)  # allow_requeue=False
    notifier.info({}, "first", {})
    notifier.info({}, "second", {})  # a requeued first would come back before it
    assert eventually(lambda: len(once.seen) == 2)
    assert [event_type for _c, _p, event_type, _pl, _m in once.seen] == ["first", "second"]


# -- the trace -----------------------------------------------------------------------------


def test_trace_records_every_move_and_joins_them_into_hops(lab):
    lab.server("cmp1")
    lab.server("cmp2")
    api = lab.transport("nova-api:ctl")
    client = lab.client(api, timeout=WAIT)
    assert client.prepare(server="cmp2").call(CTXT, "whoami") == "cmp2"
    client.prepare(fanout=True).cast({"request_id": "req-fan"}, "ping")
    eventually(lambda: len([e for e in lab.trace.events if e.action == "ack"]) == 3)
    call = lab.trace.for_request(CTXT["request_id"])
    assert [(e.action, e.kind, e.service) for e in call.events] == [
        ("publish", "call", "nova-api:ctl"), ("deliver", "call", "nova-compute:cmp2"),
        ("ack", "call", "nova-compute:cmp2"), ("publish", "reply", "nova-compute:cmp2"),
        ("deliver", "reply", "nova-api:ctl")]
    assert len({e.msg_id for e in call.events}) == 1
    reply_q = api.reply_waiter().queue_name
    assert [(h.kind, h.sender, h.exchange_label, h.routing_key, h.queue, h.receiver,
             h.method) for h in call.hops] == [
        ("call", "nova-api:ctl", "nova", "compute.cmp2", "compute.cmp2", "nova-compute:cmp2",
         "whoami"),
        ("reply", "nova-compute:cmp2", "(AMQP default)", reply_q, reply_q, "nova-api:ctl", "")]
    fanout = lab.trace.for_request("req-fan").hops
    assert sorted(h.receiver for h in fanout) == ["nova-compute:cmp1", "nova-compute:cmp2"]
    assert all(h.kind == "fanout" and h.exchange == "compute_fanout" for h in fanout)
    assert all(h.queue.startswith("compute_fanout_") for h in fanout)


@pytest.mark.parametrize(("options", "said"), [
    ({"heartbeat_rate": 0}, "heartbeat_rate must be at least 1 (it is 0)"),
    ({"kombu_failover_strategy": "random"}, "round-robin or shuffle, not random"),
])
def test_options_oslo_would_trip_on_are_refused_in_one_sentence(options, said):
    """oslo divides by heartbeat_rate when it connects, and kombu knows two strategies:
    given in Python (not in the transport_url's query, which is checked as it is read),
    they are refused when the transport is made."""
    from course.rpc.declarations import ConfigurationError

    with pytest.raises(ConfigurationError, match=re.escape(said)):
        rpc.get_transport(options=options)
