"""Lesson 00's checks: the solution passes, typical wrong answers get their own message."""

from __future__ import annotations

import pytest
from exercise_helpers import says

import course
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET
from course.exercises import lesson00 as ex


@pytest.fixture(scope="module")
def vm():
    lab = course.Lab()
    cloud = lab.nova()
    vm = cloud.boot("vm1")
    vm.wait()
    yield vm
    lab.stop()


def test_which_host(vm):
    other = next(h for h in ("compute1", "compute2") if h != vm.host)
    assert says(ex.q1.check(vm.host), CORRECT, f"compute.{vm.host}")
    assert says(ex.q1.check(...), NOT_ATTEMPTED)
    assert says(ex.q1.check(other), NOT_YET, f"`{other}` runs a nova-compute too")
    assert says(ex.q1.check(f"nova-compute:{vm.host}"), NOT_YET, "Almost")
    assert says(ex.q1.check("compute9"), NOT_YET, "no compute host `compute9`")
    assert says(ex.q1.check(None), NOT_YET, "in quotes")


def test_count_casts(vm):
    casts = sum(h.kind == "cast" for h in vm.hops)
    calls = sum(h.kind == "call" for h in vm.hops)
    assert says(ex.q2.check(casts), CORRECT)
    assert says(ex.q2.check(str(casts)), CORRECT)
    assert says(ex.q2.check(len(vm.hops)), NOT_YET, "HTTP requests included")
    assert says(ex.q2.check(calls), NOT_YET, "number of calls")
    assert says(ex.q2.check(casts + 1), NOT_YET, f"Not {casts + 1}")
    assert says(ex.q2.check("two"), NOT_YET, "whole number")


def test_checks_say_what_to_run_when_the_lab_is_missing():
    lab = course.Lab()
    assert says(ex.q1.check("compute1"), NOT_YET, "`cloud = lab.nova()`")
    lab.nova(computes=["compute1"])
    assert says(ex.q1.check("compute1"), NOT_YET, "No VM named `vm1`")
    lab.stop()
    assert says(ex.q1.check("compute1"), NOT_YET, "`lab = course.Lab()`")


def test_quiz():
    assert says(ex.quiz.answer("q1", "b"), CORRECT)
    assert says(ex.quiz.answer("q1", "a"), NOT_YET, "**Not yet**")
    assert says(ex.quiz.answer("q2", "c"), NOT_YET, "services, queues and VMs stay")
