"""Lesson 04's checks: each solution passes on a real lab, typical wrong answers get their
own message.  The lab is set up as the notebook sets it up: a two-compute Nova with
``Timings.zero()``, ``vm1`` booted, then (exercise 3) both computes stopped and ``vm3``
booted, its build waiting in one ``compute.<host>`` queue."""

from __future__ import annotations

import pytest
from exercise_helpers import says

import course
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET
from course.exercises import lesson04 as ex
from course.openstack.nova import Timings

COMPUTES = ("compute1", "compute2")


@pytest.fixture(scope="module")
def nova():
    lab = course.Lab()
    cloud = lab.nova(computes=list(COMPUTES), timings=Timings.zero())
    vm1 = cloud.boot("vm1")
    assert vm1.wait() == "ACTIVE"
    yield lab, cloud, vm1
    lab.stop()


@pytest.fixture(scope="module")
def waiting(nova):
    """As the notebook's last section: computes stopped, ``vm3``'s build waiting."""
    lab, cloud, _vm1 = nova
    for host in COMPUTES:
        cloud.service("nova-compute", host).stop()
    vm3 = cloud.boot("vm3")
    lab.wait_until(lambda: any(h.method == "build_and_run_instance" for h in vm3.hops))
    queues = lab.topology().queues
    host = next(name.split(".", 1)[1] for name, q in queues.items()
                if name.startswith("compute.") and q.messages)
    return host, next(h for h in COMPUTES if h != host)


def test_predict_next_hop(nova):
    _lab, _cloud, vm1 = nova
    key = f"compute.{vm1.host}"
    assert says(ex.q1.check("cast", key, "build_and_run_instance"), CORRECT,
                "The trace agrees", key)
    assert says(ex.q1.check(..., ..., ...), NOT_ATTEMPTED)
    assert says(ex.q1.check("call", key, "build_and_run_instance"), NOT_YET,
                "Right: the key is", "Not a `call`", "Revisit the player")
    assert says(ex.q1.check("cast", "compute", "build_and_run_instance"), NOT_YET,
                "Right: it is a `cast`", "Not `compute`: that queue is shared")
    other = "compute2" if vm1.host == "compute1" else "compute1"
    assert says(ex.q1.check("cast", f"compute.{other}", "build_and_run_instance"), NOT_YET,
                f"the scheduler chose `{vm1.host}`")
    assert says(ex.q1.check("cast", "scheduler", "select_destinations"), NOT_YET,
                "Not `scheduler`", "Not `select_destinations`")
    assert says(ex.q1.check("cast", key, "schedule_and_build_instances"), NOT_YET,
                "nova-api cast that one to the conductor")
    assert says(ex.q1.check(1, key, "x"), NOT_YET, "Write `kind` in quotes")


def test_count_calls_and_casts(nova):
    _lab, _cloud, vm1 = nova
    kinds = [h.kind for h in vm1.hops]
    calls, casts = kinds.count("call"), kinds.count("cast")
    assert (calls, casts) == (9, 2)
    assert says(ex.q2.check(calls, casts), CORRECT, "9 calls and 2 casts", "8 trips")
    assert says(ex.q2.check(str(calls), casts), CORRECT)
    assert says(ex.q2.check(..., ...), NOT_ATTEMPTED)
    assert says(ex.q2.check(calls, casts + 1), NOT_YET, "Right: 9 calls",
                "counts the `fanout` to the schedulers too")
    assert says(ex.q2.check(calls + kinds.count("reply"), casts), NOT_YET, "Right: 2 casts",
                "counts each reply too")
    assert says(ex.q2.check(1, casts), NOT_YET, "Not only `select_destinations`")
    assert says(ex.q2.check(5, 7), NOT_YET, "Not 7 casts", "Not 5 calls")
    assert says(ex.q2.check("many", 2), NOT_YET, "whole number")


def test_find_the_host(nova, waiting):
    host, other = waiting
    assert says(ex.q3.check(host), CORRECT, f"`compute.{host}` holds the waiting build")
    assert says(ex.q3.check(f" {host} "), CORRECT)
    assert says(ex.q3.check(...), NOT_ATTEMPTED)
    assert says(ex.q3.check(f"compute.{host}"), NOT_YET, "Right queue", "write the host only")
    assert says(ex.q3.check("compute"), NOT_YET, "Not `compute`: that queue is shared")
    assert says(ex.q3.check(other), NOT_YET, f"`compute.{other}` is empty",
                f"`compute.{host}`")
    assert says(ex.q3.check(["compute1"]), NOT_YET, "Write `host` in quotes")


def test_find_the_host_after_the_build_was_consumed(nova, waiting):
    lab, cloud, _vm1 = nova
    host, _other = waiting
    for name in COMPUTES:
        cloud.service("nova-compute", name).start()
    vm3 = next(s for s in cloud.servers if s.name == "vm3")
    assert vm3.wait(status="ACTIVE") == "ACTIVE"
    assert says(ex.q3.check(host), NOT_YET, "was consumed already")


def test_before_any_boot():
    lab = course.Lab()
    try:
        assert says(ex.q1.check("cast", "compute.compute1", "build_and_run_instance"),
                    NOT_YET, "No Nova runs in this lab")
        lab.nova(computes=["compute1"], timings=Timings.zero())
        assert says(ex.q2.check(9, 2), NOT_YET, "There is no server `vm1` yet")
    finally:
        lab.stop()
