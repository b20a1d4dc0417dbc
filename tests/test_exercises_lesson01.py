"""Lesson 01's checks: each solution passes on a lab set up as the notebook sets it up, and
typical wrong answers get their own message."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from exercise_helpers import says
from helpers import eventually

import course
from course import rpc
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET, ExerciseSet
from course.exercises import lesson01 as ex
from course.openstack.nova import Timings


class ImageWorker:  # the notebook's endpoint
    def resize(self, ctxt, image):
        time.sleep(0.05)
        return {"image": image, "size": "128x128"}


def start_worker(lab, host):
    target = rpc.Target(topic="images", server=host)
    worker = rpc.get_rpc_server(lab.transport(f"image-worker:{host}"), target, [ImageWorker()])
    worker.start()
    return worker


def delivered(lab):
    return lab.wait_until(lambda: all(hop.receiver for hop in lab.trace.hops))


@pytest.fixture(scope="module")
def lesson():
    """The lab as the notebook leaves it before its exercises."""
    lab = course.Lab()
    start_worker(lab, "host1")
    api = rpc.get_rpc_client(lab.transport("image-api"), rpc.Target(topic="images"))
    api.cast({}, "resize", image="cat.png")
    assert delivered(lab)
    start_worker(lab, "host2")
    start_worker(lab, "host3")
    api.prepare(fanout=True).cast({}, "resize", image="logo.png")
    assert lab.wait_until(lambda: [h.kind for h in lab.trace.hops].count("fanout") == 3)
    lab.trace.clear()
    for n in range(9):
        api.cast({}, "resize", image=f"photo{n}.jpg")
    assert delivered(lab)
    assert set(Counter(h.receiver for h in lab.trace.hops).values()) == {3}
    api.cast({}, "resize", image="fast.png")
    assert api.call({}, "resize", image="slow.png") == {"image": "slow.png", "size": "128x128"}
    cloud = lab.nova(computes=["compute1", "compute2"], timings=Timings.zero())
    compute1 = cloud.service("nova-compute", "compute1")
    compute1.stop()
    vm1 = cloud.boot("vm1")
    assert lab.wait_until(lambda: lab.topology().queues["compute.compute1"].messages == 1)
    compute1.start()
    assert vm1.wait(status="ACTIVE") == "ACTIVE"
    yield lab, cloud
    lab.stop()


# -- exercise 1 -----------------------------------------------------------------------------


def test_sender_names(lesson):
    assert says(ex.q1.check({"openstack", "images"}), CORRECT, "no worker")
    assert says(ex.q1.check(["images", " openstack"]), CORRECT)
    assert says(ex.q1.check(...), NOT_ATTEMPTED)
    assert says(ex.q1.check({"openstack", "images", "host2"}), NOT_YET,
                "`host2` names a worker", "never named one")
    assert says(ex.q1.check({"openstack", "image-worker:host1"}), NOT_YET, "names a worker")
    assert says(ex.q1.check({"openstack", "images.host1"}), NOT_YET,
                "`images.host1` is the queue of one worker")
    assert says(ex.q1.check({"openstack", "images", "resize"}), NOT_YET,
                "`resize` is the method")
    assert says(ex.q1.check({"images"}), NOT_YET, "Right, the routing key `images`",
                "column `exchange`")
    assert says(ex.q1.check({"openstack"}), NOT_YET, "Right, `openstack` is the exchange")
    assert says(ex.q1.check({"nova", "images"}), NOT_YET, "`nova` is not on")
    assert says(ex.q1.check(set()), NOT_YET, "An empty set")
    assert says(ex.q1.check(3), NOT_YET, "set of names")


# -- exercise 2 -----------------------------------------------------------------------------


def test_predict_split(lesson):
    lab, _cloud = lesson
    before = lab.topology()
    assert says(ex.q2.check({"host1": 4, "host2": 4, "host3": "4"}), CORRECT,
                "`host1`: 4, `host2`: 4, `host3`: 4")
    assert says(ex.q2.check({"host1": 8, "host2": 8, "host3": 8}), NOT_YET,
                "8 each would mean every message reached every worker")
    assert says(ex.q2.check({"host1": 2, "host2": 2, "host3": 2}), NOT_YET,
                "you left out the fanout casts")
    assert says(ex.q2.check({"host1": 8, "host2": 2, "host3": 2}), NOT_YET,
                "One worker does not take every cast")
    assert says(ex.q2.check({"host1": 3, "host2": 3, "host3": 2}), NOT_YET,
                "add up to 8")
    assert says(ex.q2.check({"host1": 5, "host2": 4, "host3": 3}), NOT_YET,
                "Not quite: the run gave")
    assert says(ex.q2.check({"host1": 4, "host2": 4}), NOT_YET, "`host3`",
                "{'host1', 'host2'}")
    assert says(ex.q2.check({"host1": ..., "host2": ..., "host3": ...}), NOT_ATTEMPTED)
    assert says(ex.q2.check({"host1": "four", "host2": 4, "host3": 4}), NOT_YET,
                "whole number")
    assert says(ex.q2.check([4, 4, 4]), NOT_YET, "as a dict")
    # the check's own runs leave the learner's lab as it was
    assert lab.topology() == before


# -- exercise 3 -----------------------------------------------------------------------------


def test_returned_early(lesson):
    lab, _cloud = lesson
    before = lab.topology()
    right = {"cast", "fanout", "cast_to_host1"}
    assert says(ex.q3.check(right), CORRECT, "Measured", "ms at most")
    assert says(ex.q3.check(right | {"call"}), NOT_YET,
                "`call` returned only after the work", "waits for the worker's reply")
    assert says(ex.q3.check({"cast", "fanout"}), NOT_YET,
                "`cast_to_host1` returned before the work too", "A cast is a cast")
    assert says(ex.q3.check({"cast", "cast_to_host1"}), NOT_YET,
                "`fanout` returned before the work too")
    assert says(ex.q3.check({"fanout", "cast_to_host1"}), NOT_YET,
                "`cast` returned in", "waits for nobody")
    assert says(ex.q3.check({"cast", "boot"}), NOT_YET, "`boot` is not in the table")
    assert says(ex.q3.check(None), NOT_YET, "set of names")
    assert lab.topology() == before


# -- exercises 4 and 5 ----------------------------------------------------------------------


def restart_all(cloud):
    for service in cloud.services:
        service.start()
    for server in cloud.servers:
        assert server.wait(10, status="ACTIVE") == "ACTIVE"


def test_hold_the_boot_wrong_services(lesson):
    lab, cloud = lesson
    assert says(ex.q4.check(), NOT_ATTEMPTED, "Nothing is stopped")
    assert says(ex.q5.check(), NOT_ATTEMPTED, "do exercise 4 first")
    # a compute stopped: the scheduler chooses the other one (vm1 is on compute1)
    cloud.service("nova-compute", "compute1").stop()
    assert says(ex.q4.check(), NOT_YET, "You stopped `nova-compute:compute1`; now boot `vm2`")
    cloud.boot("vm2")
    assert says(ex.q4.check(), NOT_YET, "the scheduler chose `compute2`",
                "once a host is chosen")
    restart_all(cloud)
    # every compute stopped: the build waits, but after the host was chosen
    for host in ("compute1", "compute2"):
        cloud.service("nova-compute", host).stop()
    cloud.boot("vm2")
    assert says(ex.q4.check(), NOT_YET, "build waits in the queue `compute.",
                "the scheduler had chosen")
    restart_all(cloud)
    # the scheduler stopped: the conductor's call waits, but a call expires
    cloud.service("nova-scheduler").stop()
    cloud.boot("vm2")
    assert says(ex.q4.check(), NOT_YET, "Almost", "**call** `select_destinations`",
                "gives up after its timeout")
    restart_all(cloud)
    # nova-api stopped: it consumes nothing, the boot goes through
    cloud.service("nova-api").stop()
    cloud.boot("vm2")
    assert says(ex.q4.check(), NOT_YET, "nova-api consumes no queue")
    restart_all(cloud)
    # stopped too late
    vm2 = cloud.boot("vm2")
    assert vm2.wait() == "ACTIVE"
    cloud.service("nova-conductor").stop()
    assert says(ex.q4.check(), NOT_YET, "was built before you stopped `nova-conductor:controller`")
    restart_all(cloud)
    # nothing stopped
    cloud.boot("vm2")
    assert says(ex.q4.check(), NOT_YET, "built at once")
    assert says(ex.q5.check(), NOT_YET, "Run exercise 4's check first")


def test_hold_then_release_the_boot(lesson):
    lab, cloud = lesson
    cloud.service("nova-conductor").stop()
    vm2 = cloud.boot("vm2")
    assert says(ex.q4.check(), CORRECT, "waits in the queue `conductor`", "consumers: 0")
    assert vm2.status == "BUILD" and vm2.cell is None  # no host, no cell yet
    assert says(ex.q5.check(), NOT_YET, "still waits in the queue `conductor`",
                "Start nova-conductor again")
    again = cloud.boot("vm2")
    assert says(ex.q5.check(), NOT_YET, "You booted `vm2` again")
    cloud.service("nova-conductor").start()
    assert vm2.wait() == "ACTIVE" and again.wait() == "ACTIVE"
    assert says(ex.q5.check(), CORRECT, "delivered once to nova-conductor", "nothing was lost")


def test_release_needs_the_hold_checked_first(lesson):
    lab, cloud = lesson
    hold = ex.HoldTheBoot()
    release = ex.ReleaseTheBoot(hold)
    ExerciseSet(hold, release)
    cloud.service("nova-conductor").stop()
    vm2 = cloud.boot("vm2")
    assert says(release.check(), NOT_YET, "Run exercise 4's check first")
    assert says(hold.check(), CORRECT)
    cloud.service("nova-conductor").start()
    assert says(release.check(), CORRECT)  # the check waits for the build to end
    assert vm2.status == "ACTIVE"


# -- on labs of their own (after the module's lab: a new lab stops it) ------------------


def test_sender_names_needs_the_sections_run():
    lab = course.Lab()
    assert says(ex.q1.check({"openstack", "images"}), NOT_YET, "no cast from `image-api`")
    lab.stop()


def test_checks_say_what_to_run_when_the_lab_is_missing():
    lab = course.Lab()
    assert says(ex.q4.check(), NOT_YET, "No Nova runs in this lab yet")
    lab.stop()
    assert says(ex.q4.check(), NOT_YET, "`lab = course.Lab()`")
    assert says(ex.q2.check({"host1": 4, "host2": 4, "host3": 4}), NOT_YET,
                "`lab = course.Lab()`")
    assert eventually(lambda: course.Lab.current() is None)


def test_quiz():
    assert says(ex.quiz.answer("q1", "b"), CORRECT)
    assert says(ex.quiz.answer("q1", "c"), NOT_YET, "does not even know the host")
    assert says(ex.quiz.answer("q2", "c"), CORRECT)
    assert says(ex.quiz.answer("q2", "a"), NOT_YET, "`amqp_auto_delete = False`")
    assert says(ex.quiz.answer("q2", "d"), NOT_YET, "A cast has no expiry")
    assert says(ex.quiz.answer("q3", "a"), CORRECT)
    assert says(ex.quiz.answer("q3", "b"), NOT_YET, "That is a fanout")
    assert says(ex.quiz.answer("q4", "c"), CORRECT)
    assert says(ex.quiz.answer("q5", "b"), CORRECT)
    assert says(ex.quiz.answer("q5", "a"), NOT_YET, "names the broker")
