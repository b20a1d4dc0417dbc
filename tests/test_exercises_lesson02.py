"""Lesson 02's checks: each solution passes on a real lab, typical wrong answers get their
own message.  The lab is set up as the notebook sets it up: the topic section's exchange
first (exercise 1), then the demo objects deleted and a two-compute Nova (exercises 2, 3)."""

from __future__ import annotations

import kombu
import pytest
from exercise_helpers import says
from notebook_checks import assert_lesson_translated

import course
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET
from course.exercises import lesson02 as ex

NOVA = kombu.Exchange("nova", type="topic", durable=False)


def declare_topic_section(conn):
    """The notebook's topic section: ``demo.topic`` and its four queues."""
    topic = kombu.Exchange("demo.topic", type="topic")
    queues = [kombu.Queue(name, exchange=topic, routing_key=key)
              for name, key in ex.TOPIC_BINDINGS.items()]
    for queue in queues:
        queue.bind(conn).declare()
    return topic, queues


@pytest.fixture(scope="module")
def lab():
    lab = course.Lab()
    conn = lab.connect()
    topic, queues = declare_topic_section(conn)
    yield lab, conn, topic, queues
    conn.release()
    lab.stop()


@pytest.fixture(scope="module")
def cloud(lab):
    """As the notebook: the demo objects deleted, then a Nova with two computes."""
    lab, conn, topic, queues = lab
    for queue in queues:
        queue.bind(conn).delete()
    topic.bind(conn).delete()
    return lab.nova(computes=["compute1", "compute2"])


@pytest.fixture
def conn(lab, cloud):
    """The lab's connection, with no queue ``errors`` before or after the test."""
    _lab, conn, _topic, _queues = lab
    kombu.Queue("errors").bind(conn).delete()
    yield conn
    kombu.Queue("errors").bind(conn).delete()


def declare_errors(conn, *keys, exchange=NOVA):
    queue = kombu.Queue("errors", bindings=[kombu.binding(exchange, routing_key=k)
                                            for k in keys])
    queue.bind(conn).declare()
    return queue


# -- exercise 1 (before Nova, as in the notebook) -------------------------------------------


def test_predict_route_solution(lab):
    assert says(ex.q1.check({"compute_any", "everything"}), CORRECT, "the broker agrees")
    assert says(ex.q1.check(["everything", " compute_any"]), CORRECT)
    assert says(ex.q1.check(...), NOT_ATTEMPTED)


def test_predict_route_wrong_answers(lab):
    assert says(ex.q1.check({"compute_one_word", "compute_any", "everything"}), NOT_YET,
                "Right: the message reaches `compute_any`, `everything`.", "Not `compute_one_word`",
                "`compute.*` asks for exactly one word after `compute.`, so `compute` itself "
                "does not match")
    assert says(ex.q1.check({"everything"}), NOT_YET, "`compute_any` receives it too",
                "zero words after it")
    assert says(ex.q1.check("compute_any"), NOT_YET, "`everything` receives it too",
                "`#` alone matches every routing key")
    assert says(ex.q1.check({"compute_any", "everything", "all_errors"}), NOT_YET,
                "Not `all_errors`", "`*.error` needs two words")
    assert says(ex.q1.check(set()), NOT_YET, "The message is not dropped")
    assert says(ex.q1.check({"compute", "everything"}), NOT_YET,
                "No queue named `compute` is bound to `demo.topic`")
    assert says(ex.q1.check(42), NOT_YET, "set of names")


def test_predict_route_publishes_on_a_copy_it_deletes(lab):
    lab, *_ = lab
    before = lab.topology()
    for key in ("compute", "compute.compute1", "compute.compute1.vm1", "notifications.error",
                ""):
        routed, arrived = ex.publish_on_a_copy(ex.TOPIC_BINDINGS, key)
        assert routed == arrived == set(before.route("demo.topic", key)), key
    assert lab.topology() == before


def test_build_and_read_need_nova(lab):
    lab, *_ = lab
    if lab.clouds:
        pytest.skip("Nova already started")
    assert says(ex.q2.check(), NOT_YET, "no exchange `nova`")
    assert says(ex.q3.check(2, ""), NOT_YET, "no exchange `compute_fanout`")


# -- exercise 2 -----------------------------------------------------------------------------


def test_error_queue_solution_even_declared_twice(conn):
    assert says(ex.q2.check(), NOT_ATTEMPTED, "no queue `errors`")
    declare_errors(conn, "*.error")
    assert says(ex.q2.check(), CORRECT, "with `*.error`")
    declare_errors(conn, "*.error")
    assert says(ex.q2.check(), CORRECT)


def test_error_queue_other_right_answers(conn):
    declare_errors(conn, "notifications.error", "versioned_notifications.error")
    assert says(ex.q2.check(), CORRECT)
    kombu.Queue("errors").bind(conn).delete()
    declare_errors(conn, "#.error")
    assert says(ex.q2.check(), CORRECT)


def test_error_queue_without_a_binding(conn):
    kombu.Queue("errors").bind(conn).declare()
    assert says(ex.q2.check(), NOT_YET, "bound to no exchange except the default one")


def test_error_queue_on_the_wrong_exchange(conn):
    declare_errors(conn, "*.error", exchange=kombu.Exchange("notifications", type="topic"))
    assert says(ex.q2.check(), NOT_YET, "`errors` is bound to `notifications`, not to `nova`")
    kombu.Exchange("notifications").bind(conn).delete()


def test_error_queue_too_narrow(conn):
    declare_errors(conn, "notifications.error")
    assert says(ex.q2.check(), NOT_YET, "with `notifications.error`",
                "Too narrow:", "`versioned_notifications.error`")


def test_error_queue_too_wide(conn):
    declare_errors(conn, "#")
    assert says(ex.q2.check(), NOT_YET, "Too wide:", "`compute.compute1`", "`conductor`")


def test_error_queue_too_narrow_and_too_wide(conn):
    declare_errors(conn, "notifications.*")
    assert says(ex.q2.check(), NOT_YET, "Too narrow:", "`versioned_notifications.error`",
                "Too wide:", "notifications: `notifications.critical`, `notifications.info`")


def test_error_queue_bindings_add_up(conn):
    declare_errors(conn, "#")
    declare_errors(conn, "*.error")
    assert says(ex.q2.check(), NOT_YET, "with `#`, `*.error`", "Bindings add up",
                "unbind_from")
    kombu.Queue("errors").bind(conn).unbind_from(NOVA, routing_key="#")
    assert says(ex.q2.check(), CORRECT)


def test_error_queue_also_bound_elsewhere(conn):
    declare_errors(conn, "*.error")
    kombu.Queue("errors").bind(conn).bind_to("amq.topic", routing_key="#")
    assert says(ex.q2.check(), NOT_YET, "also bound to `amq.topic`")


# -- exercise 3 -----------------------------------------------------------------------------


def test_read_topology_solution(lab, cloud):
    lab, *_ = lab
    nova_view = lab.topology()
    reach = len(nova_view.route("compute_fanout", ""))
    assert reach == 2
    assert says(ex.q3.check(reach, ""), CORRECT, "reaches 2 queues")
    assert says(ex.q3.check("2", ""), CORRECT)
    assert says(ex.q3.check(..., ""), NOT_ATTEMPTED)


def test_read_topology_wrong_fanout_counts(lab, cloud):
    assert says(ex.q3.check(1, ""), NOT_YET, "Right: replies go through the default exchange",
                "Not 1: a fanout exchange copies each message into every queue")
    assert says(ex.q3.check(4, ""), NOT_YET, "`compute-alt_fanout` too")
    assert says(ex.q3.check(3, ""), NOT_YET, "the queue `compute` is bound to `nova`")
    assert says(ex.q3.check(0, ""), NOT_YET, "ignores the routing key")
    assert says(ex.q3.check("two", ""), NOT_YET, "whole number")


def test_read_topology_wrong_reply_exchanges(lab, cloud):
    lab, *_ = lab
    reply = next(q for q in lab.topology().queues if q.startswith("reply_"))
    right = "Right: a fanout to `compute_fanout` reaches 2 queues."
    assert says(ex.q3.check(2, "nova"), NOT_YET, right, "Not `nova`: it carries the requests")
    assert says(ex.q3.check(2, "direct"), NOT_YET, "`direct` is the type")
    assert says(ex.q3.check(2, "(AMQP default)"), NOT_YET, "Almost", "empty string")
    assert says(ex.q3.check(2, "(AMQP par défaut)"), NOT_YET, "Almost")
    assert says(ex.q3.check(2, reply), NOT_YET, "is a reply queue's name")
    assert says(ex.q3.check(2, "scheduler_fanout"), NOT_YET, "is a fanout exchange")
    assert says(ex.q3.check(2, "msg_id"), NOT_YET, "Nova's 2010 page")
    assert says(ex.q3.check(2, None), NOT_YET, "in quotes")
    assert says(ex.q3.check(1, "nova"), NOT_YET, "Not 1", "Not `nova`")


def test_quiz():
    assert says(ex.quiz.answer("q1", "c"), CORRECT)
    assert says(ex.quiz.answer("q1", "a"), NOT_YET, "exactly one word")
    assert says(ex.quiz.answer("q2", "c"), CORRECT)
    assert says(ex.quiz.answer("q3", "b"), CORRECT)
    assert says(ex.quiz.answer("q4", "d"), CORRECT)
    assert says(ex.quiz.answer("q4", "a"), NOT_YET, "2010")
    assert says(ex.quiz.answer("q5", "a"), CORRECT)
    assert says(ex.quiz.answer("q5", "b"), NOT_YET, "adds a binding")


def test_the_lesson_is_translated():
    assert_lesson_translated("02-amqp-building-blocks")


# -- last: a lab of its own (a new lab stops the module's) --------------------------------


def test_predict_route_without_the_notebook_exchange():
    other = course.Lab()  # the topic section not run: the private copy still answers
    assert says(ex.q1.check({"compute_any", "everything"}), CORRECT)
    assert says(ex.q1.check({"compute_one_word"}), NOT_YET, "Not `compute_one_word`")
    other.stop()
    assert says(ex.q1.check({"compute_any"}), NOT_YET, "`lab = course.Lab()`")
