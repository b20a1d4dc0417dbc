"""Lesson 06's checks: each solution passes on a real lab, typical wrong answers get their
own message.  The lab is set up as the notebook sets it up: a Neutron with 0.2 s reports and
a 1 s ``agent_down_time``, a port bound to ``compute1`` (exercise 1), the OVS agent of
``compute2`` stopped until listed down (exercise 2), a Cinder on ``hostA`` and ``hostB``
whose first volume goes to ``hostA@lvm`` (exercise 3), and a Nova boot (exercise 4)."""

from __future__ import annotations

import kombu
import pytest
from exercise_helpers import says
from notebook_checks import assert_lesson_translated

import course
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET
from course.exercises import lesson06 as ex
from course.openstack.nova import Timings

HEARTBEATS = {"report_interval": 0.2, "agent_down_time": 1, "send_events_interval": 0,
              "port_wiring": 0}
OVS = "neutron-openvswitch-agent"
PORT_FANOUT = "q-agent-notifier-port-update_fanout_"


@pytest.fixture(scope="module")
def lab():
    lab = course.Lab()
    net = lab.neutron(network_nodes=["network1"], compute_hosts=["compute1", "compute2"],
                      timings=HEARTBEATS)
    port = net.create_port(device_id="vm1")
    net.update_port(port.id, host="compute1")
    lab.wait_until(lambda: all(agent.received for agent in net.l2_agents.values()))
    yield lab, net
    lab.stop()


@pytest.fixture(scope="module")
def agent_down(lab):
    lab, net = lab
    agent = net.service(OVS, "compute2")
    agent.stop()
    assert lab.wait_until(lambda: not all(a.alive for a in net.agents()), timeout=5)
    return net


@pytest.fixture(scope="module")
def cinder(lab):
    lab, _net = lab
    cinder = lab.cinder(volume_hosts=["hostA", "hostB"], backends=["lvm"], timings="zero")
    volume = cinder.create_volume(1)
    assert volume.wait() == "available" and volume.host == "hostA@lvm#lvm"
    return cinder


@pytest.fixture(scope="module")
def vm1(lab):
    lab, _net = lab
    cloud = lab.nova(computes=["compute1", "compute2"], timings=Timings.zero())
    vm1 = cloud.boot("vm1")
    assert vm1.wait() == "ACTIVE"
    return vm1


def fanout_queues(lab):
    """The port-update fanout queues: the agents', and on a RabbitMQ those that processes
    gone left behind (bound, with no consumer)."""
    return {name for name in lab.topology().queues if name.startswith(PORT_FANOUT)}


def test_port_update_queues(lab):
    lab, _net = lab
    queues = fanout_queues(lab)
    assert len(queues) == 3 or not lab.embedded
    assert says(ex.q1.check(queues), CORRECT, "3 queues, one per L2 agent")
    assert says(ex.q1.check(list(queues)), CORRECT)
    assert says(ex.q1.check(...), NOT_ATTEMPTED)
    assert says(ex.q1.check({"q-agent-notifier-port-update"}), NOT_YET,
                "the topic queue the agents share", "None of the queues that got it")
    assert says(ex.q1.check({"q-agent-notifier-port-update.compute1"}), NOT_YET,
                "one agent's `topic.host` queue", "never a fanout")
    compute1 = next(h.queue for h in lab.trace.hops if h.method == "port_update"
                    and h.receiver == f"{OVS}:compute1")
    assert says(ex.q1.check({compute1}), NOT_YET, "Right:", compute1, "Missing:",
                "not only the agent of the port's host")
    assert says(ex.q1.check(queues | {"dhcp_agent.network1"}), NOT_YET,
                "`port_update_end` to the DHCP agent")
    assert says(ex.q1.check(queues | {"nova"}), NOT_YET, "`nova` is not bound")
    assert says(ex.q1.check(3), NOT_YET, "set of names")

    # a queue left on the exchange by a process gone (a restarted kernel on RabbitMQ)
    stale = PORT_FANOUT + "left"
    exchange = kombu.Exchange(PORT_FANOUT[:-1], "fanout", durable=False, auto_delete=True)
    with lab.connect() as conn:
        kombu.Queue(stale, exchange, routing_key="q-agent-notifier-port-update",
                    durable=False)(conn.default_channel).declare()
        try:
            assert says(ex.q1.check(queues), CORRECT)
            assert says(ex.q1.check(queues | {stale}), CORRECT)
            assert says(ex.q1.check({stale}), NOT_YET, "None of the queues that got it")
        finally:
            conn.default_channel.queue_delete(stale)


def test_agent_down_time(agent_down):
    net = agent_down
    assert says(ex.q2.check(net.timings.agent_down_time), CORRECT, "1 s after its last",
                "75 s upstream")
    assert says(ex.q2.check("1.0"), CORRECT)
    assert says(ex.q2.check(...), NOT_ATTEMPTED)
    assert says(ex.q2.check(0.2), NOT_YET, "`report_interval`", "One missed report")
    assert says(ex.q2.check(75), NOT_YET, "upstream's default `agent_down_time`",
                "set to 1 s")
    assert says(ex.q2.check(30), NOT_YET, "upstream's default `report_interval`")
    assert says(ex.q2.check(0), NOT_YET, "Not at once")
    assert says(ex.q2.check(5), NOT_YET, "Not 5 s")
    assert says(ex.q2.check(True), NOT_YET, "number of seconds")
    assert says(ex.q2.check("soon"), NOT_YET, "number of seconds")


def test_volume_cast(cinder):
    assert says(ex.q3.check("openstack", "cinder-volume.hostA@lvm.hostA"), CORRECT,
                "The trace agrees", "`cinder-volume:hostA@lvm`")
    assert says(ex.q3.check(..., ...), NOT_ATTEMPTED)
    assert says(ex.q3.check("cinder", "cinder-volume.hostA@lvm.hostA"), NOT_YET,
                "Right: the key is", "Not `cinder`", "never sets its control exchange")
    assert says(ex.q3.check("openstack", "cinder-volume"), NOT_YET,
                "Right: the exchange is `openstack`", "any backend could take it")
    assert says(ex.q3.check("openstack", "cinder-volume.hostA@lvm"), NOT_YET,
                "that queue exists", "`.hostA`")
    assert says(ex.q3.check("openstack", "cinder-volume.hostA"), NOT_YET,
                "Nova's `topic.host` habit")
    assert says(ex.q3.check("nova", "cinder-scheduler"), NOT_YET,
                "another project's control exchange", "cinder-api cast that one")
    assert says(ex.q3.check("openstack", 3), NOT_YET, "Write `routing_key` in quotes")


def test_http_hops(vm1):
    truth = {h.number for h in vm1.hops if h.kind == "http"}
    assert len(truth) >= 5 and 1 in truth
    assert says(ex.q4.check(truth), CORRECT, f"{len(truth)} HTTP requests", "`glance`",
                "`neutron`", "`placement`")
    assert says(ex.q4.check(sorted(truth)), CORRECT)
    assert says(ex.q4.check({str(n) for n in truth}), CORRECT)
    assert says(ex.q4.check(...), NOT_ATTEMPTED)
    assert says(ex.q4.check(truth - {1}), NOT_YET, "Right, HTTP:", "Hop 1 is HTTP too")
    reply = next(h.number for h in vm1.hops if h.kind == "reply")
    assert says(ex.q4.check(truth | {reply}), NOT_YET, "replies go through the broker too")
    fanout = next(h.number for h in vm1.hops if h.kind == "fanout")
    assert says(ex.q4.check(truth | {fanout}), NOT_YET, "`scheduler_fanout`")
    cast = next(h.number for h in vm1.hops if h.kind == "cast")
    assert says(ex.q4.check(truth | {cast}), NOT_YET, "calls and casts on exchange `nova`")
    neutron = {h.number for h in vm1.hops if h.receiver == "neutron"}
    assert says(ex.q4.check(truth - neutron), NOT_YET, "Missing", "`neutron`")
    assert says(ex.q4.check(truth | {999}), NOT_YET, "no hop 999")
    assert says(ex.q4.check({1.5}), NOT_YET, "set of whole numbers")


def test_quiz_feedback():
    assert says(ex.quiz.answer("q1", "b"), CORRECT)
    assert says(ex.quiz.answer("q1", "a"), NOT_YET, "nothing calls it")
    assert says(ex.quiz.answer("q3", "a"), NOT_YET, "no RPC server")
    assert says(ex.quiz.answer("q4", "c"), CORRECT)
    assert says(ex.quiz.answer("q5", "c"), NOT_YET, "only their reports count")


def test_the_lesson_is_translated():
    assert_lesson_translated("06-neutron-cinder-keystone")


# -- last: a lab of its own (a new lab stops the module's) --------------------------------


def test_before_anything_runs():
    lab = course.Lab()
    try:
        assert says(ex.q1.check({"x"}), NOT_YET, "run the cell that starts it",
                    "lab.neutron")
        assert says(ex.q3.check("openstack", "x"), NOT_YET, "lab.cinder")
        assert says(ex.q4.check({1}), NOT_YET, "lab.nova")
        net = lab.neutron(compute_hosts=["compute1"], timings="zero")
        assert says(ex.q1.check({"x"}), NOT_YET, "no `port_update` yet")
        assert says(ex.q2.check(1), NOT_YET, "never marks an agent down")
        net.timings = net.timings.__class__(agent_down_time=75)
        assert says(ex.q2.check(75), NOT_YET, "No agent is down yet")
        lab.cinder(volume_hosts=["hostB"], timings="zero")
        assert says(ex.q3.check("openstack", "x"), NOT_YET, "No volume was cast")
        lab.nova(computes=["compute1"], timings=Timings.zero())
        assert says(ex.q4.check({1}), NOT_YET, "no server `vm1` yet")
    finally:
        lab.stop()
    assert says(ex.q2.check(1), NOT_YET, "No lab is running")
