"""Lesson 10's checks: each exercise starts its broken lab as the notebook does
(``ex.qN.start()``), its solution passes there, typical wrong diagnoses get their own
message; exercise 2's solution (the method as code) finds the fault of any seed, of every
kind of the catalogue, on both brokers; the seed comes from the cell, $COURSE_SEED or
chance, and says so."""

from __future__ import annotations

import pytest
from exercise_helpers import JUNK, rendered, says
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from notebook_checks import assert_lesson_translated

import course
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET
from course.exercises import lesson10 as ex
from course.faults import KINDS, plan

LOOK_AGAIN = "Run `ex.checklist(broken)` again"


def solve(exercise, broken):
    """Run the exercise's solution in the starter cell, as the solutions test does."""
    scope = {"broken": broken, "ex": ex, "course": course}
    exec(exercise.solution_code, scope)
    return scope["diagnosis"]


@pytest.fixture(scope="module")
def first():
    broken = ex.q1.start()
    yield broken
    broken.stop()


def test_first_diagnosis(first):
    broken = first
    (fault,) = broken.faults
    queue = fault.subject["queue"]
    host = queue.removeprefix("compute.")
    other = "compute1" if host != "compute1" else "compute2"
    assert says(ex.q1.check(...), NOT_ATTEMPTED)
    assert says(ex.q1.check(solve(ex.q1, broken)), CORRECT, f"`queue` is `{queue}`",
                "its RPC server does not")
    assert says(ex.q1.check({"fault": "stopped-service", "service": "nova-compute",
                             "host": host}), NOT_YET,
                "no `stopped-service` fault", f"nova-compute on {host} is up", LOOK_AGAIN)
    assert says(ex.q1.check({"fault": "missing-consumer", "queue": "compute"}), NOT_YET,
                "Right: `fault` is `missing-consumer`.", "But `queue` is not `compute`.",
                "`compute` holds 0 message(s)")
    assert says(ex.q1.check({"fault": "missing-consumer", "queue": f"compute.{other}"}),
                NOT_YET, f"`compute.{other}` holds 0 message(s) and has 1 consumer(s)")
    assert says(ex.q1.check({"fault": "wrong-binding", "queue": queue}), NOT_YET,
                "no `wrong-binding` fault", f"`{queue}` is bound to `nova`")
    wrong_shape = ex.q1.check("missing-consumer")
    assert says(wrong_shape, NOT_YET, "Write a diagnosis as a dict")
    assert LOOK_AGAIN not in rendered(wrong_shape)
    assert says(ex.q1.check({"fault": "disk-full"}), NOT_YET, "not a fault of the catalogue")
    assert says(ex.q1.check({"fault": "missing-consumer"}), NOT_YET, "add `queue`")


def test_the_checklist_shows_the_evidence_and_names_no_fault(first):
    text = ex.checklist(first)
    queue = first.faults[0].subject["queue"]
    for title in ("1 · Services", "2 · RPC queues", "3 · Routing", "4 · Servers",
                  "5 · Notification queues", "6 · Reply queues"):
        assert title in text
    row = next(line for line in text.splitlines() if line.startswith(queue + " "))
    assert row.split()[1:] == ["1", "0"]  # messages, consumers
    assert "powering-off" in text and "stop_instance" in text
    assert not any(kind in text for kind in KINDS)


def test_a_check_needs_its_own_lab_running(first):
    assert says(ex.q3.check([{"fault": "wrong-binding", "queue": "compute.compute1"}]),
                NOT_YET, "not started", "`broken = ex.q3.start()`")
    course.Lab().stop()  # another lab stops this exercise's
    assert says(ex.q1.check({"fault": "missing-consumer", "queue": "compute.compute1"}),
                NOT_YET, "no longer runs", "`broken = ex.q1.start()` again")


@pytest.fixture(scope="module")
def two():
    broken = ex.q3.start()
    yield broken
    broken.stop()


def test_two_faults(two):
    broken = two
    credentials = next(f for f in broken.faults if f.kind == "wrong-credentials")
    host = credentials.subject["host"]
    other = next(h for h in ("compute1", "compute2", "compute3") if h != host)
    assert says(ex.q3.check(...), NOT_ATTEMPTED)
    answer = solve(ex.q3, broken)
    assert says(ex.q3.check(answer), CORRECT, "`fault` is `orphaned-reply-queue`")
    assert says(ex.q3.check(list(reversed(answer))), CORRECT)
    assert says(ex.q3.check(answer[0]), NOT_YET, "1 of the 2 faults found", LOOK_AGAIN)
    assert says(ex.q3.check([answer[0], {**answer[1], "queue": "reply_controller"}]),
                NOT_YET, "But `queue` is not `reply_controller`.",
                "There is no queue `reply_controller`")
    assert says(ex.q3.check([{"fault": "wrong-credentials", "service": "nova-compute",
                              "host": other}, answer[1]]), NOT_YET,
                f"But `host` is not `{other}`.", f"nova-compute on {other} is in")
    assert says(ex.q3.check([{"fault": "stopped-service", "service": "nova-compute",
                              "host": host}, answer[1]]), NOT_YET,
                "no `stopped-service` fault", f"has no nova-compute on {host}")
    assert says(ex.q3.check([answer[0], answer[0]]), NOT_YET, "the same fault twice")
    text = ex.checklist(broken)
    queues = text.split("2 · RPC queues")[1].split("3 · Routing")[0]
    assert "ACCESS_REFUSED" in text and f"compute.{host}" not in queues


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=JUNK)
def test_junk_diagnoses_never_raise(two, answer):
    result = ex.q3.check(answer)
    rendered(result)
    assert not result.correct


# -- exercise 2: any seed ------------------------------------------------------------------


def seeds_of_every_kind() -> dict[str, int]:
    """The first seed whose exercise-2 lab hides each kind (and a stopped conductor)."""
    found: dict[str, int] = {}
    for seed in range(2000):
        (fault,) = plan(seed)
        name = fault.kind + ("/conductor" if fault.subject.get("service") == "nova-conductor"
                             else "")
        found.setdefault(name, seed)
        if len(found) == len(KINDS) + 1:
            break
    return found


SEEDS = seeds_of_every_kind()


def test_exercise_2_draws_every_kind_of_the_catalogue():
    assert {name.split("/")[0] for name in SEEDS} == set(KINDS)
    assert "stopped-service/conductor" in SEEDS


@pytest.mark.usefixtures("stops_its_threads")
@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_the_method_finds_the_fault_of_every_kind(broker, kind):
    """The solution of exercise 2, on a lab of every kind: a kind it cannot diagnose fails
    here (add its rule to ``METHOD`` when the catalogue grows)."""
    broken = ex.q2.start(SEEDS[kind], url=broker.url, management_url=broker.management_url)
    try:
        result = ex.q2.check(solve(ex.q2, broken))
        assert says(result, CORRECT, "Every fault found"), rendered(result)
    finally:
        broken.stop()


@pytest.mark.usefixtures("stops_its_threads")
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(min_value=1, max_value=9999))
def test_the_method_finds_the_fault_of_any_seed(seed):
    broken = ex.q2.start(seed)
    try:
        result = ex.q2.check(solve(ex.q2, broken))
        assert says(result, CORRECT), (seed, broken.answer(), rendered(result))
    finally:
        broken.stop()


def test_wrong_diagnoses_of_a_stopped_compute():
    broken = ex.q2.start(SEEDS["stopped-service"])
    try:
        host = broken.faults[0].subject["host"]
        assert says(ex.q2.check({"fault": "missing-consumer", "queue": f"compute.{host}"}),
                    NOT_YET, "no `missing-consumer` fault", "0 consumer(s)", LOOK_AGAIN)
        assert says(ex.q2.check({"fault": "heartbeat-stopped", "host": host}), NOT_YET,
                    "no `heartbeat-stopped` fault", "A compute that only stopped reporting "
                    "would still consume.")
        assert says(ex.q2.check([broken.answer(), {"fault": "unread-notifications",
                                                   "queue": "notifications.info"}]),
                    NOT_YET, "hides 1 fault(s), not 2")
    finally:
        broken.stop()


def test_the_seed_comes_from_the_cell_the_class_or_chance(monkeypatch, capsys):
    monkeypatch.delenv(ex.SEED_VARIABLE, raising=False)
    assert ex.seed(2026) == 2026 and "as written in this cell" in capsys.readouterr().out
    assert ex.seed(" 7 ") == 7
    monkeypatch.setenv(ex.SEED_VARIABLE, "4242")
    assert ex.seed() == 4242 and "from $COURSE_SEED" in capsys.readouterr().out
    monkeypatch.delenv(ex.SEED_VARIABLE)
    drawn = ex.seed()
    assert f"`ex.seed({drawn})`" in capsys.readouterr().out
    for bad in ("twenty", 2.5, True, [1]):
        with pytest.raises(ex.SeedInvalid, match="whole number"):
            ex.seed(bad)
    monkeypatch.setenv(ex.SEED_VARIABLE, "abc")
    with pytest.raises(ex.SeedInvalid, match=r"\$COURSE_SEED is 'abc'"):
        ex.seed()
    with pytest.raises(ex.SeedInvalid, match="`broken = ex.q2.start\\(seed\\)`"):
        ex.q2.start("2026")


def test_the_lesson_is_translated():
    assert_lesson_translated("10-capstone")
