"""Lesson 03's checks: each solution passes on a real lab, typical wrong answers get their
own message.  The lab is set up as the notebook sets it up: two servers of the topic
``demo`` on ``host1`` and ``host2``, a client, the first casts and calls, request
``req-q3``."""

from __future__ import annotations

import json

import pytest
from exercise_helpers import says
from notebook_checks import assert_lesson_translated

import course
from course import rpc, wire
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET
from course.exercises import lesson03 as ex


class Demo:
    """The notebook's endpoint (without ``slow``)."""

    def __init__(self, host):
        self.host = host

    def note(self, ctxt, text):
        pass

    def add(self, ctxt, a, b):
        return {"host": self.host, "sum": a + b}


@pytest.fixture(scope="module")
def lab():
    lab = course.Lab()
    for host in ("host1", "host2"):
        target = rpc.Target(topic="demo", server=host)
        rpc.get_rpc_server(lab.transport(f"demo-server:{host}"), target, [Demo(host)]).start()
    client = rpc.get_rpc_client(lab.transport("demo-client"), rpc.Target(topic="demo"))
    ctxt = {"request_id": "req-lesson03", "user_id": "alice", "project_id": "demo"}
    client.cast(ctxt, "note", text="to any server")
    client.call(ctxt, "add", a=2, b=3)
    client.prepare(server="host1").call(ctxt, "add", a=2, b=3)
    q3 = {"request_id": "req-q3", "user_id": "alice", "project_id": "demo"}
    client.call(q3, "add", a=1, b=1)
    client.prepare(server="host1").cast(q3, "note", text="q3")
    client.prepare(fanout=True).cast(q3, "note", text="q3")
    client.prepare(server="host2").call(q3, "add", a=2, b=2)
    lab.wait_until(lambda: all(h.receiver for h in lab.trace.for_request("req-q3").hops))
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def captured(lab):
    hop = [h for h in lab.trace.for_request("req-lesson03").hops if h.kind == "call"][-1]
    return json.loads(wire.serialize_msg(hop.body)["oslo.message"])


def test_predict_queue(lab):
    assert says(ex.q1.check("demo.host2"), CORRECT, "`demo.host2`", "the trace shows")
    assert says(ex.q1.check(" demo.host2 "), CORRECT)
    assert says(ex.q1.check(...), NOT_ATTEMPTED)
    assert says(ex.q1.check("demo"), NOT_YET, "Not `demo`", "casts and calls alike")
    assert says(ex.q1.check("host2"), NOT_YET, "`<topic>.<server>`")
    assert says(ex.q1.check("demo_fanout"), NOT_YET, "fanout=True")
    assert says(ex.q1.check("reply_abc"), NOT_YET, "carries the answer back")
    assert says(ex.q1.check("compute.host2"), NOT_YET, "another queue")
    assert says(ex.q1.check(42), NOT_YET, "Write `queue` in quotes")


def test_decode_envelope(lab, captured):
    msg_id, reply_q = captured["_msg_id"], captured["_reply_q"]
    assert says(ex.q2.check(msg_id, reply_q, "req-lesson03"), CORRECT, "call `add`",
                "req-lesson03")
    assert says(ex.q2.check(..., ..., ...), NOT_ATTEMPTED)
    assert says(ex.q2.check(captured["_unique_id"], reply_q, "req-lesson03"), NOT_YET,
                "`_unique_id`")
    assert says(ex.q2.check(reply_q, msg_id, "req-lesson03"), NOT_YET, "reply queue's name")
    assert says(ex.q2.check(msg_id, reply_q, "alice"), NOT_YET, "Right: `msg_id`",
                "`_context_user_id`")
    assert says(ex.q2.check(msg_id, msg_id, "req-lesson03"), NOT_YET, "`reply_q` is not")
    assert says(ex.q2.check(json.dumps(captured), reply_q, "r"), NOT_YET, "the envelope itself")
    assert says(ex.q2.check(msg_id, None, "r"), NOT_YET, "Write `reply_q` in quotes")


def test_which_are_calls(lab):
    hops = lab.trace.for_request("req-q3").hops
    calls = {h.number for h in hops if h.kind == "call"}
    replies = {h.number for h in hops if h.kind == "reply"}
    cast = next(h.number for h in hops if h.kind == "cast")
    fanout = next(h.number for h in hops if h.kind == "fanout")
    assert len(calls) == 2
    assert says(ex.q3.check(calls), CORRECT, "are the calls")
    assert says(ex.q3.check(sorted(calls)), CORRECT)
    assert says(ex.q3.check(...), NOT_ATTEMPTED)
    assert says(ex.q3.check(calls | replies), NOT_YET, "is a reply")
    assert says(ex.q3.check(calls | {cast}), NOT_YET, "is a cast to `demo.host1`")
    assert says(ex.q3.check(calls | {fanout}), NOT_YET, "fanout copy")
    assert says(ex.q3.check({min(calls)}), NOT_YET, "is a call too")
    assert says(ex.q3.check(calls | {99}), NOT_YET, "no hop 99")
    assert says(ex.q3.check("1, 3"), NOT_YET, "set of whole numbers, e.g. `{1, 4}`; this answer")


def test_quiz():
    assert says(ex.quiz.answer("q1", "b"), CORRECT)
    assert says(ex.quiz.answer("q1", "a"), NOT_YET, "target chooses")
    assert says(ex.quiz.answer("q2", "b"), CORRECT)
    assert says(ex.quiz.answer("q2", "a"), NOT_YET, "mandatory")
    assert says(ex.quiz.answer("q3", "b"), CORRECT)
    assert says(ex.quiz.answer("q3", "a"), NOT_YET, "acknowledged")
    assert says(ex.quiz.answer("q4", "c"), CORRECT)
    assert says(ex.quiz.answer("q4", "a"), NOT_YET, "2010")


def test_the_lesson_is_translated():
    assert_lesson_translated("03-rpc-the-openstack-way")


# -- last: a lab of its own (a new lab stops the module's) --------------------------------


def test_checks_without_the_servers():
    other = course.Lab()
    assert says(ex.q1.check("demo.host2"), NOT_YET, "Nobody consumes")
    assert says(ex.q3.check({1}), NOT_YET, "no hop for `req-q3`")
    other.stop()
    assert says(ex.q1.check("demo.host2"), NOT_YET, "`lab = course.Lab()`")
