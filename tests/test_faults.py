"""The capstone's broken labs (course.faults): each kind injected from a seed on both
brokers, its evidence on the real topology, trace and service list, its right diagnosis
Correct and wrong ones Not yet with what the lab shows; seeds reproduce; junk never raises."""

from __future__ import annotations

import pytest
from exercise_helpers import JUNK, rendered, says
from hypothesis import HealthCheck, given, settings

from course.exercises.result import CORRECT, NOT_YET
from course.faults import KINDS, FaultsInvalid, broken_lab, plan


def seed_for(kind: str, **subject: str) -> int:
    """The first seed that draws ``kind`` alone with this subject."""
    return next(seed for seed in range(500)
                if plan(seed, kinds=[kind])[0].subject.items() >= subject.items())


def other_host(host: str) -> str:
    return "compute1" if host != "compute1" else "compute2"


def stopped_compute(b, scene, fault):
    host = fault.subject["host"]
    queue = scene.topology().queues[f"compute.{host}"]
    assert (queue.consumers, queue.messages) == (0, 1)
    assert scene.state("nova-compute", host) == "down"
    assert [h.receiver for h in b.lab.trace.hops if h.method == "stop_instance"] == [""]
    return [({"fault": "stopped-service", "service": "nova-compute",
              "host": other_host(host)},
             ["Right: `fault` is `stopped-service`, `service` is `nova-compute`.",
              f"But `host` is not `{other_host(host)}`.", "has 1 consumer(s)",
              "is consuming: it runs."]),
            ({"fault": "missing-consumer", "queue": f"compute.{host}"},
             ["But this lab has no `missing-consumer` fault.",
              f"`compute.{host}` holds 1 message(s) and has 0 consumer(s)."])]


def stopped_conductor(b, scene, fault):
    queue = scene.topology().queues["conductor"]
    assert queue.consumers == 0 and queue.messages >= 1
    assert scene.state("nova-conductor", "controller") == "down"
    assert any(h.routing_key == "conductor" and not h.receiver for h in b.lab.trace.hops)
    return [({"fault": "stopped-service", "service": "nova-compute", "host": "compute1"},
             ["Right: `fault` is `stopped-service`.", "But `service` is not `nova-compute`.",
              "is consuming: it runs."]),
            ({"fault": "heartbeat-stopped", "host": "compute2"},
             ["But this lab has no `heartbeat-stopped` fault.",
              "nova-compute on compute2 is down, and so is every compute"])]


def missing_consumer(b, scene, fault):
    name = fault.subject["queue"]
    host = name.removeprefix("compute.")
    queue = scene.topology().queues[name]
    assert (queue.consumers, queue.messages) == (0, 1)
    assert scene.state("nova-compute", host) == "up"
    return [({"fault": "stopped-service", "service": "nova-compute", "host": host},
             ["But this lab has no `stopped-service` fault.",
              f"nova-compute on {host} is up in `cloud.service_list()`"]),
            ({"fault": "missing-consumer", "queue": "compute"},
             ["Right: `fault` is `missing-consumer`.", "But `queue` is not `compute`.",
              "`compute` holds 0 message(s)"])]


def wrong_binding(b, scene, fault):
    name = fault.subject["queue"]
    topology = scene.topology()
    assert topology.queues[name].consumers == 1 and topology.queues[name].messages == 0
    assert not topology.route("nova", name)
    assert [h.receiver for h in b.lab.trace.hops if h.method == "stop_instance"] == [""]
    other = f"compute.{other_host(name.removeprefix('compute.'))}"
    return [({"fault": "wrong-binding", "queue": other},
             [f"But `queue` is not `{other}`.",
              f"`{other}` is bound to `nova` with the routing key `{other}`"]),
            ({"fault": "missing-consumer", "queue": name},
             ["But this lab has no `missing-consumer` fault.",
              f"`{name}` holds 0 message(s) and has 1 consumer(s)."])]


def unread_notifications(b, scene, fault):
    queue = scene.topology().queues["notifications.info"]
    assert queue.consumers == 0 and queue.messages >= 3
    assert not any(h.receiver for h in b.lab.trace.hops if h.kind == "notify")
    return [({"fault": "unread-notifications", "queue": "versioned_notifications.info"},
             ["But `queue` is not `versioned_notifications.info`.",
              "There is no queue `versioned_notifications.info` on this broker."]),
            ({"fault": "orphaned-reply-queue", "queue": "notifications.info"},
             ["But this lab has no `orphaned-reply-queue` fault.", "and has 0 consumer(s)."])]


def orphaned_reply(b, scene, fault):
    queue = scene.topology().queues[fault.subject["queue"]]
    assert queue.consumers == 0 and queue.arguments["x-expires"] == 1800 * 1000
    assert [h.receiver for h in b.lab.trace.hops if h.queue == fault.subject["queue"]] == [
        "nova-manage:controller"]
    return [({"fault": "orphaned-reply-queue", "queue": "reply_controller:nova-manage:1"},
             ["But `queue` is not `reply_controller:nova-manage:1`.",
              "There is no queue `reply_controller:nova-manage:1` on this broker."]),
            ({"fault": "wrong-binding", "queue": "compute.compute1"},
             ["But this lab has no `wrong-binding` fault.",
              "`compute.compute1` is bound to `nova`"])]


def heartbeat_stopped(b, scene, fault):
    host = fault.subject["host"]
    assert scene.state("nova-compute", host) == "down"
    assert scene.topology().queues[f"compute.{host}"].consumers == 1
    assert [h.receiver for h in b.lab.trace.hops if h.method == "stop_instance"] == [
        f"nova-compute:{host}"]
    assert scene.vms[host].status == "SHUTOFF"
    return [({"fault": "heartbeat-stopped", "host": other_host(host)},
             [f"But `host` is not `{other_host(host)}`.",
              f"nova-compute on {other_host(host)} is up"]),
            ({"fault": "stopped-service", "service": "nova-compute", "host": host},
             ["But this lab has no `stopped-service` fault.", "is consuming: it runs."])]


def wrong_credentials(b, scene, fault):
    host = fault.subject["host"]
    assert "ACCESS_REFUSED, 403" in b.logs[f"nova-compute:{host}"]
    assert "wrong" not in b.logs[f"nova-compute:{host}"].replace("wrong user", "")
    assert f"compute.{host}" not in scene.topology().queues
    assert scene.state("nova-compute", host) is None
    other = next(h for h in scene.vms if h != host)
    return [({"fault": "wrong-credentials", "service": "nova-compute", "host": other},
             [f"But `host` is not `{other}`.",
              f"nova-compute on {other} is in `cloud.service_list()`: it connected"]),
            ({"fault": "stopped-service", "service": "nova-compute", "host": host},
             ["But this lab has no `stopped-service` fault.",
              f"`cloud.service_list()` has no nova-compute on {host}."]),
            ({"fault": "wrong-vhost", "service": "nova-compute", "host": host},
             ["But this lab has no `wrong-vhost` fault.", "ACCESS_REFUSED, 403"])]


def wrong_vhost(b, scene, fault):
    host = fault.subject["host"]
    log = b.logs[f"nova-compute:{host}"]
    assert "NOT_ALLOWED, 530" in log and "nova" in log and "guest:guest" not in log
    assert f"compute.{host}" not in scene.topology().queues
    assert scene.state("nova-compute", host) is None
    return [({"fault": "wrong-credentials", "service": "nova-compute", "host": host},
             ["But this lab has no `wrong-credentials` fault.",
              f"nova-compute on {host} did not start; `broken.logs` says why:",
              "NOT_ALLOWED, 530"])]


def full_queue(b, scene, fault):
    queue = scene.topology().queues["notifications.info"]
    assert queue.policy == "notifications-cap" and queue.consumers == 0
    assert queue.effective_policy_definition == {"max-length": 5, "overflow": "reject-publish"}
    nacked = [e for e in b.lab.trace.events if e.action == "nack"]
    assert nacked and {(e.kind, e.routing_key) for e in nacked} == {
        ("notify", "notifications.info")}
    assert b.lab.trace.outcomes()["nacked"] >= 1
    assert "(refused: nack)" in b.lab.trace.table()
    assert scene.vms[fault.host].status == "SHUTOFF"  # stopped all the same, later
    return [({"fault": "full-queue", "queue": f"compute.{fault.host}"},
             [f"But `queue` is not `compute.{fault.host}`.",
              "It has no length limit that refuses messages"]),
            ({"fault": "unread-notifications", "queue": "notifications.info"},
             ["But this lab has no `unread-notifications` fault.",
              "`notifications.info` holds"])]


CASES = {
    "stopped compute": ("stopped-service", {"service": "nova-compute"}, stopped_compute),
    "stopped conductor": ("stopped-service", {"service": "nova-conductor"},
                          stopped_conductor),
    "missing-consumer": ("missing-consumer", {}, missing_consumer),
    "wrong-binding": ("wrong-binding", {}, wrong_binding),
    "unread-notifications": ("unread-notifications", {}, unread_notifications),
    "orphaned-reply-queue": ("orphaned-reply-queue", {}, orphaned_reply),
    "heartbeat-stopped": ("heartbeat-stopped", {}, heartbeat_stopped),
    "wrong-credentials": ("wrong-credentials", {}, wrong_credentials),
    "wrong-vhost": ("wrong-vhost", {}, wrong_vhost),
    "full-queue": ("full-queue", {}, full_queue),
}


def test_every_kind_has_a_case():
    assert {kind for kind, _subject, _evidence in CASES.values()} == set(KINDS)


@pytest.mark.usefixtures("stops_its_threads")
@pytest.mark.parametrize("case", CASES)
def test_a_fault_leaves_its_evidence_and_is_diagnosed(broker, case):
    kind, subject, evidence = CASES[case]
    seed = seed_for(kind, **subject)
    with broken_lab(seed, kinds=[kind], url=broker.url,
                    management_url=broker.management_url) as b:
        (fault,) = b.faults
        assert b.answer() == fault.answer() and b.answer()["fault"] == kind
        wrongs = evidence(b, b.scene, fault)
        assert says(b.check(b.answer()), CORRECT, "Every fault found")
        assert kind not in b.describe()
        for claim, fragments in wrongs:
            result = b.check(claim)
            assert says(result, NOT_YET, *fragments), rendered(result)


@pytest.mark.usefixtures("stops_its_threads")
def test_the_same_seed_draws_the_same_faults_and_names():
    first = broken_lab(11, faults=2)
    try:
        answer, queues = first.answer(), set(first.lab.topology().queues)
    finally:
        first.stop()
    with broken_lab(11, faults=2) as second:
        assert second.answer() == answer
        fixed = {q for q in queues if "fanout" not in q and not q.startswith("reply_")}
        assert fixed <= set(second.lab.topology().queues)
        orphans = {f.subject["queue"] for f in second.faults
                   if f.kind == "orphaned-reply-queue"}
        assert orphans <= queues


def test_different_seeds_draw_different_faults():
    drawn = {tuple(tuple(f.answer().items()) for f in plan(seed, faults=2))
             for seed in range(30)}
    assert len(drawn) >= 15
    assert {dict(f)["fault"] for faults in drawn for f in faults} == set(KINDS)
    assert plan(5, kinds=["wrong-binding"]) == plan(5, kinds=["wrong-binding"])


def test_faults_do_not_share_a_host_and_a_conductor_comes_alone():
    for seed in range(200):
        faults = plan(seed, faults=3)
        hosts = [v.removeprefix("compute.") for f in faults for v in f.subject.values()
                 if "compute" in v and v != "nova-compute"]
        assert len(hosts) == len(set(hosts))
        assert all(f.subject.get("service") != "nova-conductor" for f in faults)


@pytest.mark.parametrize("kwargs", [{"faults": 0}, {"faults": 4}, {"faults": "2"},
                                    {"kinds": ["nope"]}, {"kinds": []},
                                    {"faults": 2, "kinds": ["wrong-binding"]}])
def test_impossible_requests_are_refused_clearly(kwargs):
    with pytest.raises(FaultsInvalid) as error:
        plan(1, **kwargs)
    assert "\n" not in str(error.value)


@pytest.fixture(scope="module")
def three_faults():
    lab = broken_lab(4, faults=3)
    yield lab
    lab.stop()


def test_several_faults_are_diagnosed_together(three_faults):
    b = three_faults
    answers = b.answer()
    assert len(answers) == 3
    assert says(b.check(answers), CORRECT, "Every fault found")
    assert says(b.check(list(reversed(answers))), CORRECT)
    assert says(b.check(answers[:2]), NOT_YET, "2 of the 3 faults found")
    assert says(b.check([answers[0], answers[0]]), NOT_YET, "the same fault twice")
    assert says(b.check([*answers, answers[0]]), NOT_YET, "hides 3 fault(s), not 4")


def test_answers_of_the_wrong_shape_say_how_to_write_one(three_faults):
    b = three_faults
    assert says(b.check("stopped-service"), NOT_YET, "Write a diagnosis as a dict")
    assert says(b.check({"fault": "disk-full"}), NOT_YET, "`disk-full` is not a fault")
    assert says(b.check({"fault": "stopped-service", "host": "compute1"}), NOT_YET,
                "add `service`")
    assert says(b.check(...), "not attempted")


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=JUNK)
def test_junk_diagnoses_never_raise(three_faults, answer):
    result = three_faults.check(answer)
    rendered(result)
    assert not result.correct
