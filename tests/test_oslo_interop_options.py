"""Under each ``[oslo_messaging_rabbit]`` queue option, and their valid combinations, the
course declares the very exchanges and queues the real oslo.messaging 18.3 declares (names,
durable, auto_delete, exclusive, arguments, bindings), running and once stopped; the
options oslo refuses together, the course refuses too.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid

import pytest

pytest.register_assert_rewrite("oslo_sides")  # a plugin (below): its asserts explain themselves
from oslo_sides import (  # noqa: E402
    Compute,
    agreed,
    all_stopped,
    normalized,
    om,
    run_a_small_cloud,
    settled,
)

from course import rpc  # noqa: E402
from course.rpc.declarations import ConfigurationError  # noqa: E402

#: The fixtures ``vhosts``, ``side`` and ``procs``.
pytest_plugins = ("oslo_sides",)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

QUORUM = {"rabbit_quorum_queue": True, "rabbit_quorum_delivery_limit": 3,
          "rabbit_quorum_max_memory_length": 100, "rabbit_quorum_max_memory_bytes": 1 << 20}
#: oslo.messaging's own advice (doc/source/admin/rabbit.rst), kolla-ansible's default.
RECOMMENDED = {**QUORUM, "rabbit_transient_quorum_queue": True, "use_queue_manager": True,
               "rabbit_stream_fanout": True, "rabbit_qos_prefetch_count": 10}

OPTION_SETS = {
    "durable": {"amqp_durable_queues": True},
    "auto-delete": {"amqp_auto_delete": True},
    "durable-auto-delete": {"amqp_durable_queues": True, "amqp_auto_delete": True},
    "ha": {"rabbit_ha_queues": True},
    "quorum": QUORUM,
    "transient-quorum": {"rabbit_transient_quorum_queue": True},
    "queue-manager": {"use_queue_manager": True},
    "all-but-streams": {**QUORUM, "rabbit_transient_quorum_queue": True,
                        "use_queue_manager": True, "rabbit_qos_prefetch_count": 10},
}


@pytest.fixture
def queue_manager(tmp_path):
    """A host name of this test's own for the queue manager, so that both libraries count
    from 1: oslo keeps its count in /dev/shm (removed afterwards) under a file lock."""
    from oslo_concurrency import lockutils

    lockutils.set_defaults(str(tmp_path))
    names = {"hostname": f"h{uuid.uuid4().hex[:8]}", "processname": "nova-compute"}
    yield names
    with contextlib.suppress(FileNotFoundError):
        os.remove(f"/dev/shm/{names['hostname']}_{names['processname']}_qmanager")


def both_declare_the_same(vhosts, procs, options):
    procs.options = options
    sides = {"course": vhosts(), "oslo": vhosts()}
    servers = [server for library, side in sides.items()
               for server in run_a_small_cloud(side, procs, library)]
    running = agreed(sides, settled)
    assert normalized(running["course"]) == normalized(running["oslo"])
    procs.stop(servers)
    stopped = agreed(sides, all_stopped)
    assert normalized(stopped["course"]) == normalized(stopped["oslo"])
    return running["course"], stopped["course"]


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
def test_each_option_declares_what_oslo_declares(vhosts, procs, queue_manager, options):
    if options.get("use_queue_manager"):
        options = {**options, **queue_manager}
    running, stopped = both_declare_the_same(vhosts, procs, options)
    quorum = options.get("rabbit_quorum_queue", False)
    durable = options.get("amqp_durable_queues", False) or quorum
    compute = running.queues["compute"]
    assert (compute.durable, compute.auto_delete, compute.exclusive) == (
        durable, options.get("amqp_auto_delete", False), False)
    assert (compute.arguments.get("x-queue-type"), compute.arguments.get("x-delivery-limit")) \
        == (("quorum", 3) if quorum else (None, None))
    assert running.exchanges["nova"].durable == durable
    transient_quorum = options.get("rabbit_transient_quorum_queue", False)
    [reply] = [q for n, q in running.queues.items() if n.startswith("reply_")]
    assert (reply.durable, reply.arguments.get("x-queue-type")) == (
        (True, "quorum") if transient_quorum else (False, None))
    fanouts = sorted(n for n in stopped.queues if n.startswith("compute_fanout_"))
    if options.get("use_queue_manager"):  # stable names, kept for the next start
        host = options["hostname"]
        assert fanouts == [f"compute_fanout_{host}:nova-compute:1",
                           f"compute_fanout_{host}:nova-compute:2"]
        assert reply.name == f"reply_{host}:nova-compute:4"
    else:  # random names, deleted by the server that stops
        assert fanouts == []
    if options.get("amqp_auto_delete"):  # gone with their last consumer
        assert "compute" not in stopped.queues and "nova" not in stopped.exchanges


@pytest.mark.rabbitmq
@pytest.mark.parametrize("vhosts", ["rabbitmq"], indirect=True)
def test_stream_fanout_declares_what_oslo_declares(vhosts, procs, queue_manager):
    """RabbitMQ has streams since 3.9 without a plugin (the stream plugin only adds their
    own protocol): one durable stream ``T_fanout`` that every server reads (the fanout cast
    of run_a_small_cloud reached both computes), kept when they stop."""
    running, stopped = both_declare_the_same(vhosts, procs, {**RECOMMENDED, **queue_manager})
    stream = running.queues["compute_fanout"]
    assert (stream.type, stream.durable, stream.arguments) == (
        "stream", True, {"x-queue-type": "stream", "x-max-age": "1800s"})
    assert running.exchanges["compute_fanout"].durable is True
    assert "compute_fanout" in stopped.queues  # (RabbitMQ 3.10 counts no stream consumers)


REFUSED = {
    "quorum-and-ha": ({"rabbit_quorum_queue": True, "rabbit_ha_queues": True},
                      "rabbit_ha_queues"),
    "stream-without-prefetch": ({"rabbit_stream_fanout": True,
                                 "rabbit_transient_quorum_queue": True},
                                "rabbit_qos_prefetch_count"),
    "stream-without-transient-quorum": ({"rabbit_stream_fanout": True,
                                         "rabbit_qos_prefetch_count": 10},
                                        "rabbit_transient_quorum_queue"),
}


@pytest.mark.parametrize("options, option", REFUSED.values(), ids=REFUSED.keys())
def test_options_oslo_refuses_together_are_refused(side, procs, options, option):
    """oslo raises RuntimeError when its first connection is made; the course as soon as
    the transport is, with one sentence naming the option to change."""
    with pytest.raises(ConfigurationError, match=option) as caught:
        rpc.get_transport(side.course_url, "nova", options=options)
    assert isinstance(caught.value, RuntimeError)
    procs.options = options
    with pytest.raises(RuntimeError, match=f"^Configuration Error: .*{option}"):
        procs.oslo_server(side, "cmp1", Compute("cmp1"))


def test_a_quorum_queue_cannot_auto_delete_on_either_broker(side, procs):
    """The broker refuses it (406), to oslo and to the course alike."""
    procs.options = {"rabbit_quorum_queue": True, "amqp_auto_delete": True}
    with pytest.raises(rpc.MessageDeliveryFailure, match="auto-delete"):
        procs.course_server(side, "cmp1", Compute("cmp1"))
    with pytest.raises(om.MessageDeliveryFailure, match="auto-delete"):
        procs.oslo_server(side, "cmp1", Compute("cmp1"))


def test_stream_fanout_is_refused_on_the_embedded_broker(french):
    options = dict(RECOMMENDED)
    with pytest.raises(ConfigurationError, match="^rabbit_stream_fanout .* courtier intégré"):
        rpc.get_transport("embedded:///streams", "nova", options=options)


def test_the_queue_manager_counts_per_process_and_starts_over_with_it(url):
    """Transports of one (hostname, processname) share a count, as oslo's processes of
    one service share /dev/shm; once all are closed (the service restarts) it starts over,
    so the restarted service finds its queues under the same names."""
    options = {"use_queue_manager": True}

    def reply_name(transport):
        return transport.reply_waiter().queue_name

    first = rpc.get_transport(url, service="nova-compute:cmp9", options=options)
    second = rpc.get_transport(url, service="nova-compute:cmp9", options=options)
    other = rpc.get_transport(url, service="nova-compute:cmp8", options=options)
    try:
        assert [reply_name(t) for t in (first, second, other)] == [
            "reply_cmp9:nova-compute:1", "reply_cmp9:nova-compute:2", "reply_cmp8:nova-compute:1"]
    finally:
        for transport in (first, second, other):
            transport.cleanup()
    again = rpc.get_transport(url, service="nova-compute:cmp9", options=options)
    try:
        assert reply_name(again) == "reply_cmp9:nova-compute:1"
    finally:
        again.cleanup()


def a_non_durable_control_exchange(side):
    """What a service with oslo's defaults left: the ``nova`` exchange, not durable."""
    import kombu

    with side.connect() as conn:
        kombu.Exchange("nova", "topic", durable=False)(conn.default_channel).declare()


def test_durable_options_on_a_non_durable_control_exchange_fall_back_as_oslo(vhosts, procs):
    """A service with ``amqp_durable_queues`` finds ``nova`` declared not durable by another:
    RabbitMQ refuses the durable declaration (406, inequivalent arg 'durable'), and oslo
    declares the exchange and the queue again, not durable (``_declare_fallback_nondurable``,
    ``Connection._publish``); the course does the same, so both clouds work and declare the
    same queues."""
    procs.options = {"amqp_durable_queues": True}
    sides = {"course": vhosts(), "oslo": vhosts()}
    for side in sides.values():
        a_non_durable_control_exchange(side)
    for library, side in sides.items():
        run_a_small_cloud(side, procs, library)
    running = agreed(sides, settled)
    assert normalized(running["course"]) == normalized(running["oslo"])
    assert running["course"].exchanges["nova"].durable is False
    assert running["course"].queues["compute"].durable is False


def test_quorum_options_on_a_non_durable_control_exchange_are_refused_as_by_oslo(side, procs):
    """The fallback keeps the queue's arguments: a quorum queue that is not durable, which
    RabbitMQ refuses; the server does not start, in either library."""
    a_non_durable_control_exchange(side)
    procs.options = {"rabbit_quorum_queue": True}
    with pytest.raises(rpc.MessageDeliveryFailure, match="non-durable"):
        procs.course_server(side, "cmp1", Compute("cmp1"))
    with pytest.raises(om.MessageDeliveryFailure, match="non-durable"):
        procs.oslo_server(side, "cmp1", Compute("cmp1"))


@pytest.mark.rabbitmq
@pytest.mark.parametrize("vhosts", ["rabbitmq"], indirect=True)
def test_cancel_on_failover_asks_every_consumer_what_oslo_asks(vhosts, procs, rabbitmq_node):
    """``enable_cancel_on_failover``: every consumer (topic, server, fanout, reply and
    notification queues) asks for ``x-cancel-on-ha-failover``, in both libraries, as the
    management API lists them."""
    from urllib.parse import quote

    from helpers import eventually
    from oslo_sides import UUID_SUFFIX

    procs.options = {"enable_cancel_on_failover": True}
    sides = {"course": vhosts(), "oslo": vhosts()}
    for library, side in sides.items():
        run_a_small_cloud(side, procs, library)

    def consumers(side):
        found = rabbitmq_node.api("GET", f"/api/consumers/{quote(side.vhost, safe='')}")
        return sorted((UUID_SUFFIX.sub(r"\1_<uuid>", c["queue"]["name"]),
                       json.dumps(c["arguments"], sort_keys=True)) for c in found)

    def agreeing():  # the management API lists consumers a moment late
        course, oslo = consumers(sides["course"]), consumers(sides["oslo"])
        return course if course and course == oslo else None

    asked = eventually(agreeing, 15)
    assert asked and all(args == '{"x-cancel-on-ha-failover": true}' for _name, args in asked)
