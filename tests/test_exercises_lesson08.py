"""Lesson 08's checks: each solution passes on a real lab, typical wrong answers get their
own message.  The lab is the notebook's own: its code cells up to the cluster lab run here,
in order, on the embedded broker (starters as they are), then each check is tried with the
solution and with wrong answers.  Exercise 4 runs on the session's three-node cluster."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from exercise_helpers import says
from notebook_checks import assert_lesson_translated

import course
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET
from course.exercises import lesson08 as ex

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks/en/08-failure-labs.ipynb"
#: The first cell of the RabbitMQ-only lab: the cells before it set the lab up.
CLUSTER_LAB = "from course.cluster import Cluster"


def notebook_cells() -> list[str]:
    """The code of the notebook's cells up to the cluster lab."""
    cells = []
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        if CLUSTER_LAB in cell.source:
            break
        cells.append(cell.source)
    return cells


def test_before_any_lab():
    lab = course.Lab()
    try:
        assert says(ex.q1.check(...), NOT_ATTEMPTED)
        assert says(ex.q1.check(1.0), NOT_YET, "No Nova runs")
        assert says(ex.q2.check({"lab08.one"}), NOT_YET, "has not restarted yet")
        assert says(ex.q3.check([{"queue": "bills.info", "reason": "delivery_limit"}]),
                    NOT_YET, "Nothing was delivered from `bills.info`")
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def notebook():
    """The notebook's namespace, its labs run; the lab stopped at the end."""
    scope: dict = {}
    for source in notebook_cells():
        exec(compile(source, str(NOTEBOOK), "exec"), scope)
    yield scope
    scope["lab"].stop()


def solved(exercise, scope: dict) -> dict:
    exec(exercise.solution_code, scope)
    return scope


def test_the_notebook_states_what_it_claims(notebook):
    """What the prose says each lab shows, as the labs left it."""
    servers = {s.name: s.status for s in notebook["cloud"].servers}
    assert servers == {"vm1": "SHUTOFF", "vm2": "ERROR", "vm4": "ERROR", "vm5": "BUILD"}
    stop = notebook["lab"].trace.for_request(notebook["vm1"].request_ids[-1]).outcomes()
    assert stop["redelivered"] == 1 and stop["undelivered"] == 0  # lab 5: requeued, not lost
    assert ("error", None) in notebook["vm1"].history
    lines = [line.message for line in notebook["lab"].log.lines("nova-compute:compute1")]
    assert "Lost connection to nova-conductor for reporting service status." in lines
    assert "Recovered from being unable to report status." in lines
    assert notebook["attempts"] == ["bill.create"] * 3
    assert notebook["again"].delivery_info["redelivered"] is True


def test_cast_wait(notebook):
    scope = solved(ex.q1, dict(notebook))
    truth = scope["waited"]
    assert truth > 0.5  # the compute was stopped about a second (service_down_time)
    assert says(ex.q1.check(truth), CORRECT, f"{truth:.2f} s")
    assert says(ex.q1.check(truth * 1000), NOT_YET, "in milliseconds")
    assert says(ex.q1.check(-truth), NOT_YET, "cannot be negative")
    assert says(ex.q1.check(0.001), NOT_YET, "less than the cast waited")
    assert says(ex.q1.check(truth + 5), NOT_YET, "more than the cast waited", "whole boot")
    assert says(ex.q1.check("1.2"), NOT_YET, "number of seconds")


def test_survivors(notebook):
    scope = solved(ex.q2, dict(notebook))
    assert says(ex.q2.check(scope["survivors"]), CORRECT, "only `lab08.one`")
    assert says(ex.q2.check({"lab08.one", "compute.compute1"}), NOT_YET,
                "`compute.compute1` is a transient queue")
    assert says(ex.q2.check({"lab08.one", "lab08.two"}), NOT_YET, "`delivery_mode` 1")
    assert says(ex.q2.check(set()), NOT_YET, "`lab08.one` is durable and its message persistent")
    assert says(ex.q2.check({"lab08.one", "nova"}), NOT_YET, "`nova`: not one of the three")
    assert says(ex.q2.check(3), NOT_YET, "set of names")


def test_x_death(notebook):
    import kombu

    scope = solved(ex.q3, {**notebook, "kombu": kombu})
    death = scope["death"]
    assert says(ex.q3.check(death), CORRECT, "died in `bills.info` for `delivery_limit`",
                "after 3 deliveries", "`billing`")
    assert says(ex.q3.check(death[0]), CORRECT)  # one table is read as well
    assert says(ex.q3.check({"x-death": death}), NOT_YET, "all the message's headers")
    assert says(ex.q3.check({"poison": True}), NOT_YET, "message's body")
    assert says(ex.q3.check([{**death[0], "reason": "rejected"}]), NOT_YET,
                "`reason` is `rejected`, not `delivery_limit`")
    assert says(ex.q3.check("delivery_limit"), NOT_YET, "list of tables")


@pytest.mark.rabbitmq
@pytest.mark.cluster
def test_cluster_counts(cluster):
    """The lesson's experiment on the session's cluster (its last Cluster)."""
    import kombu

    queues = {"lab08.quorum": {"durable": True, "queue_arguments": {"x-queue-type": "quorum"}},
              "lab08.classic": {"durable": True}, "lab08.transient": {"durable": False}}
    assert says(ex.q4.check({"lab08.quorum": 100}), NOT_YET, "node stopped yet")
    with course.broker.connect(cluster.nodes[1].url) as conn:
        producer = kombu.Producer(conn.default_channel)
        for name, flags in queues.items():
            queue = kombu.Queue(name, **flags)
            for n in range(100):
                producer.publish(n, routing_key=name, serializer="json",
                                 declare=[queue] if n == 0 else [])
    cluster.kill_node(1)
    assert cluster.message_counts(list(queues)) == {
        "lab08.quorum": 100, "lab08.classic": None, "lab08.transient": None}
    cluster.start_node(1)
    assert cluster.message_counts(list(queues)) == {
        "lab08.quorum": 100, "lab08.classic": 100, "lab08.transient": None}
    scope: dict = {}
    exec(ex.q4.solution_code, scope)
    assert says(ex.q4.check(scope["predicted"]), CORRECT, "`lab08.quorum`: 100")
    assert says(ex.q4.check({**scope["predicted"], "lab08.classic": 100}), NOT_YET,
                "`lab08.classic`: no running node holds it")
    assert says(ex.q4.check({**scope["predicted"], "lab08.quorum": 0}), NOT_YET,
                "`lab08.quorum` kept all 100 messages, not 0")
    assert says(ex.q4.check({"lab08.quorum": 100}), NOT_YET, "missing: `lab08.classic`")
    assert says(ex.q4.check([100]), NOT_YET, "as a dict")


def test_cluster_counts_without_rabbitmq(monkeypatch):
    from course.cluster import Cluster

    monkeypatch.setattr(Cluster, "last", None)
    monkeypatch.setenv("COURSE_RABBITMQ_DIRS", "")
    assert says(ex.q4.check({"lab08.quorum": 100}), NOT_ATTEMPTED, "apt-get install "
                "rabbitmq-server")


def test_french_is_complete():
    assert_lesson_translated("08-failure-labs")
