"""Lesson 09's checks: each solution passes on a real lab, typical wrong answers get their
own message.  The labs are set up as the notebook sets them up: two cells with three VMs
booted one after the other (exercise 2), three computes with notifications, a VM on each,
then the incident (exercises 3 and 4)."""

from __future__ import annotations

import random

import pytest
from exercise_helpers import says
from notebook_checks import assert_lesson_translated

import course
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET
from course.exercises import lesson09 as ex
from course.exercises.lesson09.runs import dead_computes, orphans
from course.openstack.nova import Timings


def solved(exercise, **scope):
    exec(exercise.solution_code, scope)
    return scope


def test_per_agent():
    assert says(ex.q1.check(...), NOT_ATTEMPTED)
    assert says(ex.q1.check(11), NOT_YET, "two whole numbers")
    assert says(ex.q1.check((10, 15)), NOT_YET, "reply queue is missing", "one too few")
    assert says(ex.q1.check((15, 16)), NOT_YET, "too many", "exists once", "16 consumers: right")
    assert says(ex.q1.check((11, 11)), NOT_YET, "11 queues: right", "consumes each shared")
    assert says(ex.q1.check((5, 5)), NOT_YET, "too few", "`T_fanout_<uuid>`")
    assert says(ex.q1.check(solved(ex.q1)["per_agent"]), CORRECT, "11 queues and 16 consumers")


@pytest.fixture
def cells():
    lab = course.Lab()
    cloud = lab.nova(cells={"cell1": ["compute1", "compute2"], "cell2": ["compute3"]},
                     timings=Timings.zero())
    yield lab, cloud
    lab.stop()


def test_brokers(cells):
    lab, cloud = cells
    answer = solved(ex.q2)["brokers"]
    assert says(ex.q2.check(answer), NOT_YET, "No VM of this lab runs in `cell2`")
    vms = []
    for n in (1, 2, 3):
        vms.append(cloud.boot(f"vm{n}"))
        assert lab.wait_until(lambda: vms[-1].status == "ACTIVE", 20)
    assert vms[2].cell == "cell2"
    assert says(ex.q2.check(answer), CORRECT, "`build_and_run_instance` → `cell2`")
    assert says(ex.q2.check({**answer, "build_and_run_instance": "api"}), NOT_YET,
                "did not cross `api`", "Right for `select_destinations`")
    assert says(ex.q2.check({**answer, "object_action": "cell1"}), NOT_YET,
                "`object_action` crossed `cell2`, not `cell1`")
    assert says(ex.q2.check({"select_destinations": "api"}), NOT_YET, "missing")
    assert says(ex.q2.check(["api"]), NOT_YET, "dict from method")


@pytest.fixture(scope="module")
def incident():
    lab = course.Lab()
    cloud = lab.nova(computes=["compute1", "compute2", "compute3"], timings=Timings.zero(),
                     notifications="unversioned")
    for n in (1, 2, 3):
        assert cloud.boot(f"vm{n}").wait() == "ACTIVE"
    yield lab, cloud
    lab.stop()


def test_checks_before_the_incident(incident):
    assert says(ex.q3.check("nova-compute:compute1"), NOT_YET, "No service of this lab is dead")
    assert says(ex.q4.check({"reply_x"}), NOT_YET, "No queue of this lab is left behind")


def test_dead_service(incident):
    lab, cloud = incident
    ex.incident(cloud, random.Random(9))
    view = lab.topology()
    [dead] = dead_computes(view)
    alive = next(h for h in cloud.compute_hosts if h != dead)
    assert says(ex.q3.check(...), NOT_ATTEMPTED)
    assert says(ex.q3.check(solved(ex.q3, lab=lab)["dead"]), CORRECT, f"`compute.{dead}`")
    assert says(ex.q3.check(dead), CORRECT)
    assert says(ex.q3.check(f"compute.{dead}"), NOT_YET, "Right queue", f"nova-compute:{dead}")
    assert says(ex.q3.check(f"nova-compute:{alive}"), NOT_YET, f"consumes `compute.{alive}`",
                "it runs")
    assert says(ex.q3.check("notifications.info"), NOT_YET, "notification leak")
    assert says(ex.q3.check("nova-conductor:controller"), NOT_YET, "consumes `conductor")
    assert says(ex.q3.check("nova-compute:compute9"), NOT_YET, "no service")
    assert says(ex.q3.check(3), NOT_YET, "in quotes")


def test_orphans(incident):
    lab, _cloud = incident
    view = lab.topology()
    truth = orphans(view)
    assert len(truth) == 1 and next(iter(truth)).startswith("reply_")
    assert says(ex.q4.check(...), NOT_ATTEMPTED)
    assert says(ex.q4.check(solved(ex.q4, lab=lab)["orphans"]), CORRECT, "will expire")
    [dead] = dead_computes(view)
    assert says(ex.q4.check(truth | {f"compute.{dead}"}), NOT_YET, "Right:",
                "waits for its service to come back")
    assert says(ex.q4.check({"notifications.info"}), NOT_YET, "a leak, not an orphan",
                "Missing: 1 queue(s)")
    assert says(ex.q4.check({"conductor"}), NOT_YET, "a running process reads it")
    assert says(ex.q4.check({"reply_nope"}), NOT_YET, "There is no queue `reply_nope`")
    assert says(ex.q4.check(7), NOT_YET, "set of names")


def test_the_lesson_is_translated():
    assert_lesson_translated("09-scale-and-operations")
