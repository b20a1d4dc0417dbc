"""The real oslo.messaging and course.rpc on the same broker cannot tell each other apart.

oslo.messaging is a test extra (``pip install -e .[test]``), never imported by ``course``.
Every case runs on the embedded broker (oslo reaches it in-process through the kombu
alias ``embedded``: ``kombu+embedded:////<vhost>``) and on a private RabbitMQ node, each
time in a fresh vhost: oslo clients call course servers, course clients call oslo servers,
notifications cross both ways, and both sides declare the very same topology.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import eventually

pytest.register_assert_rewrite("oslo_sides")  # a plugin (below): its asserts explain themselves
from oslo_sides import (  # noqa: E402
    CTXT,
    WAIT,
    Collector,
    Compute,
    agreed,
    all_stopped,
    normalized,
    om,
    oslo_context,
    run_a_small_cloud,
    settled,
)

from course import rpc  # noqa: E402

#: The fixtures ``vhosts``, ``side`` and ``procs``.
pytest_plugins = ("oslo_sides",)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_oslo_client_calls_and_casts_a_course_server(side, procs):
    compute = Compute("cmp1")
    procs.course_server(side, "cmp1", compute)
    client = om.get_rpc_client(procs.oslo_transport(side), om.Target(topic="compute"),
                               timeout=WAIT)
    assert client.call(CTXT, "ping", arg=1) == {"host": "cmp1", "arg": 1}
    assert client.prepare(server="cmp1").call(CTXT, "whoami") == "cmp1"
    assert client.call(CTXT, "context") == CTXT  # the context arrives whole
    client.prepare(server="cmp1").cast(CTXT, "ping", arg="cast")
    assert eventually(lambda: ("ping", "cast") in compute.handled)
    with pytest.raises(ValueError, match="^bad value"):
        client.call({}, "boom")
    with pytest.raises(om.RemoteError) as caught:
        client.call({}, "nope")
    assert (caught.value.exc_type, caught.value.value) == (
        "NoSuchMethod", "Endpoint does not support RPC method nope")
    with pytest.raises(om.RemoteError) as caught:
        client.prepare(version="2.0").call({}, "whoami")
    assert caught.value.exc_type == "UnsupportedVersion"
    with pytest.raises(om.RemoteError) as caught:
        client.call({}, "custom")
    assert (caught.value.exc_type, caught.value.value) == ("CustomError", "custom trouble")
    with pytest.raises(om.MessagingTimeout):
        client.prepare(server="nobody", timeout=0.3).call({}, "whoami")


def test_course_client_calls_an_oslo_server(side, procs):
    compute = Compute("cmp2")
    procs.oslo_server(side, "cmp2", compute)
    client = rpc.get_rpc_client(procs.course_transport(side), rpc.Target(topic="compute"),
                                timeout=WAIT)
    assert client.call(CTXT, "ping", arg=1) == {"host": "cmp2", "arg": 1}
    assert client.prepare(server="cmp2").call(CTXT, "whoami") == "cmp2"
    assert client.call(CTXT, "context") == CTXT
    client.cast(CTXT, "ping", arg="cast")
    assert eventually(lambda: ("ping", "cast") in compute.handled)
    with pytest.raises(ValueError, match="^bad value"):
        client.call({}, "boom")
    for method, target, exc_type, value in (
            ("nope", {}, "NoSuchMethod", "Endpoint does not support RPC method nope"),
            ("whoami", {"version": "2.0"}, "UnsupportedVersion",
             "Endpoint does not support RPC version 2.0. Attempted method: whoami"),
            ("custom", {}, "CustomError", "custom trouble")):
        with pytest.raises(rpc.RemoteError) as caught:
            client.prepare(**target).call({}, method)
        assert (caught.value.exc_type, caught.value.value) == (exc_type, value)
    with pytest.raises(rpc.MessagingTimeout):
        client.prepare(server="nobody", timeout=0.3).call({}, "whoami")


def test_remote_errors_read_the_same_from_both_servers(vhosts, procs):
    """The same failure raised by an oslo server and by a course server gives the caller
    the same RemoteError (class name, message; the traceback differs, it is the server's)."""
    side = vhosts()
    procs.oslo_server(side, "oslo", Compute("oslo"))
    procs.course_server(side, "course", Compute("course"))
    oslo_client = om.get_rpc_client(procs.oslo_transport(side), om.Target(topic="compute"),
                                    timeout=WAIT)
    errors = {}
    for host in ("oslo", "course"):
        for method in ("nope", "custom"):
            with pytest.raises(om.RemoteError) as caught:
                oslo_client.prepare(server=host).call({}, method)
            errors.setdefault(host, []).append((caught.value.exc_type, caught.value.value))
    assert errors["oslo"] == errors["course"]


def test_call_monitor_heartbeats_cross_over(side, procs):
    """A call longer than call_monitor_timeout lives on the other side's heartbeats."""
    procs.oslo_server(side, "oslo", Compute("oslo"))
    procs.course_server(side, "course", Compute("course"))
    course_client = rpc.get_rpc_client(procs.course_transport(side), rpc.Target(
        topic="compute", server="oslo"), timeout=10, call_monitor_timeout=2)
    oslo_client = om.get_rpc_client(procs.oslo_transport(side), om.Target(
        topic="compute", server="course"), timeout=10, call_monitor_timeout=2)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda c: c.call({}, "slow", seconds=2.3),
                                [course_client, oslo_client]))
    assert results == ["done", "done"]


def test_fanout_and_round_robin_mix_both_kinds_of_server(side, procs):
    course_compute, oslo_compute = Compute("cmp1"), Compute("cmp2")
    procs.course_server(side, "cmp1", course_compute)
    procs.oslo_server(side, "cmp2", oslo_compute)
    course_client = rpc.get_rpc_client(procs.course_transport(side),
                                       rpc.Target(topic="compute"), timeout=WAIT)
    oslo_client = om.get_rpc_client(procs.oslo_transport(side), om.Target(topic="compute"),
                                    timeout=WAIT)
    course_client.prepare(fanout=True).cast({}, "ping", arg="from course")
    oslo_client.prepare(fanout=True).cast({}, "ping", arg="from oslo")
    for compute in (course_compute, oslo_compute):
        assert eventually(lambda c=compute: len(c.handled) == 2)
        assert sorted(c[1] for c in compute.handled) == ["from course", "from oslo"]
    answers = [course_client.call({}, "whoami") for _n in range(2)]
    answers += [oslo_client.call({}, "whoami") for _n in range(2)]
    assert sorted(answers) == ["cmp1", "cmp1", "cmp2", "cmp2"]  # one shared queue: compute


# -- notifications both ways -------------------------------------------------------------


def test_course_notifier_feeds_an_oslo_listener(side, procs):
    collector = Collector()
    procs.oslo_listener(side, collector)
    notifier = rpc.get_notifier(procs.course_transport(side), publisher_id="nova-compute:cmp1")
    notifier.info(CTXT, "compute.instance.create.end", {"uuid": "i-1"})
    notifier.error(CTXT, "compute.instance.create.error", {"uuid": "i-2"})
    assert eventually(lambda: len(collector.seen) == 2)
    safe = {k: v for k, v in CTXT.items() if k != "auth_token"}
    assert sorted(collector.seen, key=lambda s: s[2]) == [
        (safe, "nova-compute:cmp1", "compute.instance.create.end", {"uuid": "i-1"},
         ["message_id", "timestamp"]),
        (safe, "nova-compute:cmp1", "compute.instance.create.error", {"uuid": "i-2"},
         ["message_id", "timestamp"])]


def test_oslo_notifier_feeds_a_course_listener(side, procs):
    collector = Collector()
    procs.course_listener(side, collector)
    notifier = om.Notifier(procs.oslo_transport(side, notifications=True),
                           publisher_id="nova-compute:cmp2", driver="messagingv2",
                           topics=["notifications"])
    ctxt = oslo_context.RequestContext(request_id="req-77", auth_token="secret",
                                       user_id="u-bob", project_id="p-demo")
    notifier.info(ctxt, "compute.instance.delete.end", {"uuid": "i-9"})
    assert eventually(lambda: collector.seen)
    [(got, publisher_id, event_type, payload, metadata)] = collector.seen
    assert (publisher_id, event_type, payload, metadata) == (
        "nova-compute:cmp2", "compute.instance.delete.end", {"uuid": "i-9"},
        ["message_id", "timestamp"])
    assert got["request_id"] == "req-77" and got["auth_token"] is None  # oslo redacts it


# -- the same bytes, the same topology ----------------------------------------------------


def raw_request(side, queue):
    channel = side.connect().channel()
    raw = eventually(lambda: channel.basic_get(queue=queue, no_ack=True))
    message = channel.message_to_python(raw)
    body = json.loads(message.body)
    properties = {k: v for k, v in message.properties.items()
                  if k in ("content_type", "content_encoding", "delivery_mode", "expiration")}
    return body, json.loads(body["oslo.message"]), properties, message.delivery_info


def call_and_time_out(client):
    try:
        client.call(CTXT, "ping", arg=2)
    except (rpc.MessagingTimeout, om.MessagingTimeout):
        pass


def test_both_clients_send_the_same_bytes(vhosts, procs):
    """A cast and a call from each library to a queue nobody consumes: same envelope, same
    keys, same AMQP properties (JSON, persistent, expiration = timeout for a call)."""
    side = vhosts()
    server = procs.course_server(side, "cmp1", Compute("cmp1"))
    procs.stop([server])  # its queues stay, without consumers
    course_client = rpc.get_rpc_client(procs.course_transport(side), rpc.Target(
        topic="compute", server="cmp1", version="6.0"), timeout=0.8)
    oslo_client = om.get_rpc_client(procs.oslo_transport(side), om.Target(
        topic="compute", server="cmp1", version="6.0"), timeout=0.8)
    seen = {}
    for name, client in (("course", course_client), ("oslo", oslo_client)):
        client.cast(CTXT, "ping", arg=1)
        envelope, cast, cast_properties, cast_info = raw_request(side, "compute.cmp1")
        caller = threading.Thread(target=call_and_time_out, args=(client,))
        caller.start()
        _envelope, call, call_properties, call_info = raw_request(side, "compute.cmp1")
        caller.join(WAIT)
        seen[name] = (sorted(envelope), envelope["oslo.version"], sorted(cast),
                      cast_properties, (cast_info["exchange"], cast_info["routing_key"]),
                      sorted(call), call["_timeout"], call_properties,
                      (call_info["exchange"], call_info["routing_key"]))
    assert seen["course"] == seen["oslo"]
    assert seen["course"][7]["expiration"] == "800"


def test_both_libraries_declare_the_same_topology(vhosts, procs):
    """Same cloud, one side course, the other oslo: identical exchanges, queues (flags,
    arguments, consumers, messages) and bindings, apart from the random uuids; and again
    once every server has stopped."""
    sides = {"course": vhosts(), "oslo": vhosts()}
    servers = {library: run_a_small_cloud(side, procs, library)
               for library, side in sides.items()}

    running = agreed(sides, settled)
    assert normalized(running["course"]) == normalized(running["oslo"])
    exchanges, queues, _bindings = normalized(running["course"])
    assert set(exchanges) == {"nova", "compute_fanout", "scheduler_fanout"}
    assert sorted(q[0] for q in queues.elements()) == [
        "compute", "compute.cmp1", "compute.cmp2", "compute_fanout_<uuid>",
        "compute_fanout_<uuid>", "notifications.error", "notifications.info", "reply_<uuid>",
        "scheduler", "scheduler.ctl", "scheduler_fanout_<uuid>"]

    procs.stop(servers["course"] + servers["oslo"])
    stopped = agreed(sides, all_stopped)
    assert normalized(stopped["course"]) == normalized(stopped["oslo"])
    assert not [n for n in stopped["course"].queues if "_fanout_" in n]
    assert set(stopped["course"].exchanges) == {"nova"}


def full_queue(side, name="compute.cmp1"):
    """``name`` bound to ``nova``, full: one message, ``x-max-length`` 1, reject-publish."""
    with side.connect() as conn:
        channel = conn.default_channel
        channel.exchange_declare("nova", "topic", durable=False, auto_delete=False)
        channel.queue_declare(name, arguments={"x-max-length": 1,
                                               "x-overflow": "reject-publish"})
        channel.queue_bind(name, "nova", name)
        channel.basic_publish(channel.prepare_message(b"first"), "nova", name)


def test_a_nacked_cast_is_sent_again_then_given_up_by_both(side, procs, caplog):
    """A queue that refuses a publish nacks it; py-amqp counts that as a recoverable
    connection error, so oslo reconnects and sends again after kombu_reconnect_delay,
    logging that the server is "unreachable" (with an empty reason), and gives up after
    ``retry`` tries with MessageDeliveryFailure.  The course does the same until its
    deadline, and its trace records each nack."""
    full_queue(side)
    procs.options.update(kombu_reconnect_delay=0.1)
    unreachable = "is unreachable: . Trying again in 0 seconds."
    oslo = om.get_rpc_client(procs.oslo_transport(side), om.Target(topic="compute",
                                                                    server="cmp1"))
    with pytest.raises(om.MessageDeliveryFailure, match="after 2 tries"):
        oslo.prepare(retry=2).cast(CTXT, "ping")
    oslo_lines = [r for r in caplog.records if unreachable in r.getMessage()]
    assert len(oslo_lines) == 2 and all(r.levelname == "ERROR" for r in oslo_lines)
    caplog.clear()
    procs.options.update(rpc_response_timeout=1)  # the course's deadline (no oslo option)
    course = rpc.get_rpc_client(procs.course_transport(side), rpc.Target(
        topic="compute", server="cmp1"))
    with pytest.raises(rpc.MessageDeliveryFailure, match=r"refused this message .*basic\.nack"):
        course.cast(CTXT, "ping")
    nacks = [e for e in procs.trace.events if e.action == "nack"]
    assert len(nacks) >= 2 and {e.routing_key for e in nacks} == {"compute.cmp1"}
    assert len([r for r in caplog.records if unreachable in r.getMessage()]) == len(nacks) - 1
    assert procs.trace.outcomes()["nacked"] == 1
    (hop,) = procs.trace.hops
    assert hop.refused == "nacked" and "(refused: nack)" in procs.trace.table()
    assert side.topology().queues["compute.cmp1"].messages == 1


@pytest.mark.parametrize("mistake", ["password", "vhost"])
def test_a_refused_login_or_vhost_is_not_retried_by_either(side, procs, caplog, mistake):
    """A wrong password (ACCESS_REFUSED, 403) or vhost (NOT_ALLOWED, 530): py-amqp counts
    neither as a recoverable error, so kombu's ensure_connection re-raises it at once and
    oslo's server start and cast fail without a retry; the course's do the same."""
    from amqp.exceptions import AccessRefused, NotAllowed

    from course.errors import BrokerRefused
    from course.faults.catalogue import with_password, with_vhost

    bad = (with_password(side.course_url, "wrong") if mistake == "password"
           else with_vhost(side.course_url, "nope"))
    # oslo reaches the embedded broker through kombu's alias: kombu+embedded://...
    oslo_side = type(side)(side.kind, side.vhost, bad,
                           f"kombu+{bad}" if side.kind == "embedded" else bad)
    refusal = AccessRefused if mistake == "password" else NotAllowed
    transport = procs.oslo_transport(oslo_side)
    with pytest.raises(refusal):
        om.get_rpc_server(transport, om.Target(topic="compute", server="cmp1"),
                          [Compute("cmp1")]).start()
    with pytest.raises(refusal):
        om.get_rpc_client(transport, om.Target(topic="compute")).cast(CTXT, "ping")
    course = procs.course_transport(oslo_side)
    with pytest.raises(BrokerRefused):
        rpc.get_rpc_server(course, rpc.Target(topic="compute", server="cmp1"),
                           [Compute("cmp1")]).start()
    with pytest.raises(rpc.MessageDeliveryFailure, match="403" if mistake == "password"
                       else "530"):
        rpc.get_rpc_client(course, rpc.Target(topic="compute")).cast(CTXT, "ping")
    assert [e.action for e in procs.trace.events] == ["publish", "fail"]
    assert not [r for r in caplog.records if "Trying again" in r.getMessage()]
