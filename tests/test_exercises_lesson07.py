"""Lesson 07's checks: each solution passes on a real lab, typical wrong answers get their
own message.  The lab is set up as the notebook sets it up: a Nova sending both families,
six boots with nobody listening, then a listener (exercise 1), a policy and eight more
boots (exercise 2), a boot on a failing hypervisor (exercise 3)."""

from __future__ import annotations

import pytest
from exercise_helpers import says
from notebook_checks import assert_lesson_translated

import course
from course import rpc
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET
from course.exercises import lesson07 as ex
from course.openstack.nova import Timings

VERSIONED = "versioned_notifications.info"


@pytest.fixture(scope="module")
def lab():
    lab = course.Lab()
    cloud = lab.nova(computes=["compute1"], timings=Timings.zero(), notifications="both")
    cloud.boot("vm1").wait()
    cloud.boot_many(5)
    yield lab, cloud
    lab.stop()


def test_listener(lab):
    lab, _cloud = lab
    assert says(ex.q1.check(...), NOT_ATTEMPTED)
    assert says(ex.q1.check([]), NOT_YET, "nobody consumes")
    assert says(ex.q1.check([("compute.compute1", "compute.instance.create.end")]), NOT_YET,
                "legacy event type")
    assert says(ex.q1.check("instance.create.end"), NOT_YET, "list of")
    received = []

    class Endpoint:
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            received.append((publisher_id, event_type))

    listener = rpc.get_notification_listener(
        lab.transport("my-listener:controller", control_exchange="nova"),
        [rpc.Target(topic="versioned_notifications")], [Endpoint()])
    listener.start()
    assert lab.wait_until(lambda: lab.topology().queues[VERSIONED].messages == 0)
    assert says(ex.q1.check([]), NOT_YET, "has a consumer")
    assert says(ex.q1.check([("x", "instance.create.start")]), NOT_YET,
                "none of them `instance.create.end`")
    assert says(ex.q1.check(received), CORRECT, "6 of them `instance.create.end`",
                "1 consumer(s)")
    assert says(ex.q1.check([e for _p, e in received]), CORRECT)


@pytest.fixture(scope="module")
def boots(lab):
    lab, cloud = lab
    yield lab, cloud
    for policy in lab.policies():
        lab.clear_policy(policy["name"])


def test_cap_policy(boots):
    lab, cloud = boots
    assert says(ex.q2.check(...), NOT_ATTEMPTED)
    assert says(ex.q2.check("notif"), NOT_YET, "no policy yet")
    lab.set_policy("other", "^notifications\\.", {"max-length-bytes": 100})
    assert says(ex.q2.check("notif"), NOT_YET, "has no policy `notif`", "`other`")
    assert says(ex.q2.check("other"), NOT_YET, "`max-length-bytes` caps the bytes")
    lab.set_policy("other", "^versioned", {"max-length": 10})
    assert says(ex.q2.check("other"), NOT_YET, "does not match `notifications.info`")
    lab.set_policy("other", "^notifications\\.", {"max-length": 5, "overflow": "reject-publish"})
    assert says(ex.q2.check("other"), NOT_YET, "caps at 5 messages, not 10", "refuses the new")
    lab.set_policy("other", "^notifications\\.", {"message-ttl": 1000}, apply_to="exchanges")
    assert says(ex.q2.check("other"), NOT_YET, "applies to exchanges", "drops messages by age")
    lab.set_policy("other", ".*", {"max-length": 50}, priority=5)
    exec(ex.q2.solution_code, {"lab": lab}, scope := {})
    assert says(ex.q2.check(scope["policy"]), NOT_YET, "`other` matches", "higher priority")
    lab.clear_policy("other")
    cloud.boot_many(8, prefix="big")
    assert says(ex.q2.check("notif"), CORRECT, "at 10 messages", "after 14 boots")
    assert says(ex.q2.check(3), NOT_YET, "in quotes")


def test_error_queues(boots):
    lab, cloud = boots
    assert says(ex.q3.check(...), NOT_ATTEMPTED)
    assert says(ex.q3.check({"notifications.error"}), NOT_YET, "No ERROR notification yet")
    cloud.compute("compute1").driver.fail(1)
    assert cloud.boot("broken").wait() == "ERROR"
    truth = {"notifications.error", "versioned_notifications.error"}
    assert says(ex.q3.check(truth), CORRECT, "`notifications.error`")
    assert says(ex.q3.check(list(truth)), CORRECT)
    assert says(ex.q3.check({"notifications.info", "versioned_notifications.info"}), NOT_YET,
                "the priority is part of", "Missing:")
    assert says(ex.q3.check({"versioned_notifications.error"}), NOT_YET,
                "Right: `versioned_notifications.error`", "Missing: `notifications.error`",
                "both families")
    assert says(ex.q3.check({"notifications.ERROR", "versioned_notifications.error"}), NOT_YET,
                "in lowercase")
    assert says(ex.q3.check({"nova"}), NOT_YET, "the exchange, not a queue")
    assert says(ex.q3.check(4), NOT_YET, "set of names")


def test_the_lesson_is_translated():
    assert_lesson_translated("07-notifications")
