"""course.Lab: the facade lessons use."""

from __future__ import annotations

import threading
import time

import pytest

import course
from course.errors import BrokerUnreachable
from course.openstack.nova import Timings
from course.rabbitmq import free_port


def test_a_boot_through_the_lab():
    with course.Lab() as lab:
        assert lab.describe() == "Broker: the embedded broker, inside this Python process."
        cloud = lab.nova(computes=["compute1", "compute2"], timings=Timings.zero())
        vm = cloud.boot("vm1")
        assert vm.wait(timeout=10) == "ACTIVE"
        assert vm.history[-1] == ("active", None)
        first = lab.trace.for_request(vm.request_id).hops
        assert [(h.kind, h.method) for h in first if h.kind != "http"][0] == (
            "cast", "schedule_and_build_instances")
        snapshot = lab.topology()
        assert {"conductor", "scheduler", "compute.compute1", "compute.compute2"} <= set(
            snapshot.queues)
        assert snapshot.trace is lab.trace  # diagrams can show who publishes and consumes
    assert lab.clouds == []


def test_a_new_lab_stops_the_previous_one():
    first = course.Lab()
    first.nova(computes=["compute1"], timings=Timings.zero())
    before = threading.active_count()
    second = course.Lab()
    assert first.clouds == []
    assert threading.active_count() < before
    assert second.topology().queues == {}  # the embedded broker was emptied
    second.stop()


def test_an_unreachable_broker_is_said_at_once():
    started = time.monotonic()
    with pytest.raises(BrokerUnreachable) as error:
        course.Lab(f"rabbit://nova:s3cret@127.0.0.1:{free_port()}/")
    assert time.monotonic() - started < 5
    assert "s3cret" not in str(error.value)


@pytest.mark.rabbitmq
def test_repr_masks_the_password(rabbitmq_node):
    with course.Lab(rabbitmq_node.url) as lab:
        assert "guest:****@" in repr(lab) and "guest:guest" not in repr(lab)
        assert lab.describe().startswith("Broker: RabbitMQ at rabbit://guest:****@127.0.0.1")
        assert "`rabbitmqctl list_queues -p / name" in lab.describe(details=True)


def test_details_say_how_to_reach_a_real_rabbitmq():
    with course.Lab() as lab:
        text = lab.describe(details=True)
        assert text.startswith(lab.describe())
        assert "python -m course.rabbitmq start" in text and "COURSE_TRANSPORT_URL" in text


def test_boot_many_with_a_progress_bar_and_a_monitor(capsys):
    with course.Lab() as lab:
        cloud = lab.nova(computes=["compute1", "compute2"], timings=Timings.zero())
        with lab.monitor(interval=0.01) as monitor:
            servers = cloud.boot_many(5)
        assert [s.status for s in servers] == ["ACTIVE"] * 5
        # which host each got depends on when the computes reported their resources
        assert {s.host for s in servers} <= {"compute1", "compute2"}
        shown = capsys.readouterr().err.split("\r")
        assert "booting: 100%" in shown[-1] and "5/5" in shown[-1]
        rows = {name: (ready, unacked, consumers) for name, ready, unacked, consumers, _h
                in monitor.rows()}
        assert rows["compute.compute1"] == (0, 0, 1)
        assert len(monitor.samples) >= 2


def test_wait_until_returns_as_soon_as_the_condition_holds():
    with course.Lab() as lab:
        seen = []
        assert lab.wait_until(lambda: seen.append(1) or len(seen) >= 3) is True
        assert len(seen) == 3
        started = time.monotonic()
        assert lab.wait_until(lambda: 0, timeout=0.05) == 0  # the last value, once time is up
        assert 0.05 <= time.monotonic() - started < 1
        cloud = lab.nova(computes=["compute1"], timings=Timings.zero())
        cloud.service("nova-compute", "compute1").stop()
        cloud.boot("vm1")  # the conductor casts the build a moment after the API answers
        assert lab.wait_until(lambda: lab.topology().queues["compute.compute1"].messages == 1)


class _Echo:
    def echo(self, ctxt, value):
        return value


def test_processes_of_a_lab_stop_with_it():
    from course import rpc

    lab = course.Lab()
    server = rpc.get_rpc_server(lab.transport("echo:host1"),
                                rpc.Target(topic="echo", server="host1"), [_Echo()])
    server.start()
    client = rpc.get_rpc_client(lab.transport("caller"), rpc.Target(topic="echo"))
    assert client.call({}, "echo", value=7) == 7
    assert {h.sender for h in lab.trace.hops} == {"caller", "echo:host1"}  # the lab's trace
    assert lab.topology().queues["echo"].consumers == 1
    second = course.Lab()  # stops the first lab, and with it the server and the caller
    # their consumer threads have ended, so none can reconnect to the emptied broker
    alive = {t.name for t in threading.enumerate()}
    assert not server.running
    assert not alive & {"echo:host1 rpc echo", "caller replies"}
    assert second.topology().queues == {}
    second.stop()
