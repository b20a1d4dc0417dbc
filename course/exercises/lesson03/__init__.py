"""Lesson 03, RPC the OpenStack way: predict the queue of a server-targeted call, open a
captured envelope, tell the calls of a trace apart.

* ``q1`` asks which queue receives ``prepare(server="host2").call(...)`` on the topic
  ``demo``; the check sends that call for real and reads, in the trace, the queue it
  was delivered from.
* ``q2`` takes ``_msg_id``, ``_reply_q`` and the request id of a captured call and
  compares them with the message the trace recorded under that ``_msg_id``.
* ``q3`` takes the numbers of the hops of request ``req-q3`` that are calls and
  compares them with that request's trace.
"""

from __future__ import annotations

import uuid
from typing import Any

from ... import rpc
from ...i18n import N_
from .. import evidence
from ..core import Exercise, ExerciseSet, NotYet
from ..result import Joined, Message
from .questions import quiz

TOPIC = "demo"
HOSTS = ("host1", "host2")
Q1_SERVER = "host2"
Q3_REQUEST = "req-q3"


def _servers_running() -> None:
    """NotYet unless the notebook's two servers consume ``demo.host1`` and ``demo.host2``."""
    queues = evidence.topology().queues
    missing = [f"{TOPIC}.{h}" for h in HOSTS
               if f"{TOPIC}.{h}" not in queues or not queues[f"{TOPIC}.{h}"].consumers]
    if missing:
        raise NotYet(N_("Nobody consumes {queues}: run the cell that starts the two servers "
                        "of the topic `demo` (`servers = ...`), then check again."),
                     queues=evidence.codes(missing))


def send_q1_call() -> str:
    """Send ``prepare(server="host2").call`` on topic ``demo``; the queue it came from."""
    lab = evidence.lab()
    request_id = f"req-check-q1-{uuid.uuid4().hex[:8]}"
    client = rpc.get_rpc_client(lab.transport("check-q1"), rpc.Target(topic=TOPIC))
    try:
        client.prepare(server=Q1_SERVER, timeout=5).call({"request_id": request_id}, "add",
                                                          a=1, b=2)
    except rpc.MessagingException as error:
        raise NotYet(N_("The check's call got no answer ({error}): run the cell that starts "
                        "the two servers again, then check again."), error=str(error)) from None
    queues = {h.queue for h in lab.trace.for_request(request_id).hops if h.kind == "call"}
    return next(iter(queues), "")


Q1_WRONG = {
    "demo": N_("Not `demo`: that shared queue takes the messages of a target without "
               "`server=`, casts and calls alike. `prepare(server=\"host2\")` sets the "
               "routing key to `demo.host2`, whatever the method."),
    "host2": N_("Not `host2`: that is the server's name; oslo.messaging names the queue "
                "`<topic>.<server>`."),
    "demo_fanout": N_("Not `demo_fanout`: that is an exchange, used only with "
                      "`prepare(fanout=True)`; and a call can never be a fanout."),
}


class PredictQueue(Exercise):
    title = N_("Predict the queue of a server-targeted call")
    call = "check(queue)"
    expects = N_("Write one queue name in quotes, e.g. `\"demo\"`.")
    hints = (
        N_("Whether the message is a cast or a call does not choose the queue: only the "
           "target does. Look at hop 2 of the first trace: a cast with `server=\"host2\"`."),
        N_("A target with a server goes to the queue `<topic>.<server>`: here the topic is "
           "`demo` and the server `host2`."),
    )
    solution_code = 'queue = "demo.host2"'
    explanation = N_("oslo.messaging picks the routing key from the target alone: `T.server` "
                     "when `server=` is set, `T` otherwise, and the exchange `T_fanout` with "
                     "`fanout=True`. A call and a cast to the same target go to the same "
                     "queue; the call only adds `_msg_id` and `_reply_q` to the message.")
    success = N_("`{queue}`: the check sent that call and the trace shows it delivered from "
                 "`{queue}`. The target chose the queue, not the word call.")

    def verify(self, queue: Any) -> dict[str, str]:
        answer = evidence.text(queue, "queue", '"demo"')
        _servers_running()
        truth = send_q1_call()
        if answer == truth:
            return {"queue": truth}
        if answer.startswith("reply_"):
            raise NotYet(N_("Not `{answer}`: a `reply_…` queue carries the answer back to "
                            "the caller, not the request. The request went to `{topic}."
                            "<server>`; revisit the section on calls."),
                         answer=answer, topic=TOPIC)
        why = Q1_WRONG.get(answer)
        if why is not None:
            raise NotYet(N_("{why} Revisit the first trace of this lesson."), why=Message(why))
        raise NotYet(N_("Not `{answer}`: the check sent that call and it was delivered from "
                        "another queue. A target with `server=` goes to `<topic>.<server>`; "
                        "revisit the first trace."), answer=answer)


def _calls() -> list[Any]:
    return [e for e in evidence.lab().trace.events
            if e.action == "publish" and e.kind == "call"]


class DecodeEnvelope(Exercise):
    title = N_("Open a captured envelope")
    call = "check(msg_id, reply_q, request_id)"
    expects = N_("Write three strings in quotes, read from the captured message.")
    hints = (
        N_("`envelope[\"oslo.message\"]` is a JSON string: `json.loads` turns it into a "
           "dict. The keys you want start with `_msg_id`, `_reply_q` and `_context_`."),
        N_("`inner = json.loads(envelope[\"oslo.message\"])`, then `inner[\"_msg_id\"]`, "
           "`inner[\"_reply_q\"]` and `inner[\"_context_request_id\"]`."),
    )
    solution_code = ('inner = json.loads(envelope["oslo.message"])\n'
                     'msg_id = inner["_msg_id"]\n'
                     'reply_q = inner["_reply_q"]\n'
                     'request_id = inner["_context_request_id"]')
    explanation = N_("The 2.0 envelope holds the real message as a JSON string under "
                     "`oslo.message`. Inside, `_msg_id` names this call (the reply carries it "
                     "back), `_reply_q` the caller's reply queue, and the request context "
                     "travels flattened as `_context_<key>` entries.")
    success = N_("Right: call `{method}` with `_msg_id` {msg_id}, answered on `{reply_q}`, "
                 "for request `{request_id}`: the trace recorded exactly that message.")

    def verify(self, msg_id: Any, reply_q: Any, request_id: Any) -> dict[str, str]:
        msg_id, reply_q, request_id = (evidence.text(msg_id, "msg_id"),
                                       evidence.text(reply_q, "reply_q"),
                                       evidence.text(request_id, "request_id"))
        calls = _calls()
        found = next((e for e in calls if e.msg_id == msg_id), None)
        if found is None:
            if any(e.unique_id == msg_id for e in calls):
                why = N_("that is the message's `_unique_id` (for dropping duplicates); "
                         "`_msg_id` is another key")
            elif msg_id.startswith("reply_"):
                why = N_("that is a reply queue's name, the value of `_reply_q`")
            elif "oslo" in msg_id or "{" in msg_id:
                why = N_("that is the envelope itself; open `oslo.message` with "
                         "`json.loads` and read one key")
            else:
                why = N_("no call in the trace has this `_msg_id`")
            raise NotYet(N_("`msg_id` is not right: {why}. Revisit the cell that opens the "
                            "envelope."), why=Message(why))
        body = found.body
        parts, fields = [], {"method": found.method, "msg_id": f"`{found.msg_id[:8]}…`",
                             "reply_q": body.get("_reply_q", ""),
                             "request_id": body.get("_context_request_id", "")}
        if reply_q != body.get("_reply_q"):
            parts.append(Message(N_("`reply_q` is not the `_reply_q` of that message (the "
                                    "caller's queue, `reply_<uuid>`).")))
        if request_id != body.get("_context_request_id"):
            other = next((k for k, v in body.items() if k.startswith("_context_")
                          and v == request_id), None)
            parts.append(Message(N_("`request_id` is the value of `{key}`; the request id is "
                                    "in `_context_request_id`."), {"key": other})
                         if other else
                         Message(N_("`request_id` is not the `_context_request_id` of that "
                                    "message.")))
        if parts:
            raise NotYet(N_("Right: `msg_id` names the call `{method}`. {sentences}"),
                         method=found.method, sentences=Joined(tuple(parts)))
        return fields


class WhichAreCalls(Exercise):
    title = N_("Which hops are calls?")
    call = "check(calls)"
    expects = N_("Write a set of hop numbers, e.g. `{1, 4}`.")
    hints = (
        N_("A call is the request that waits for an answer; the answer itself is another "
           "hop, a reply. Look at the column `kind`, not at the routing key."),
        N_("Take the hops whose kind is `call`: one goes to `demo`, one to `demo.host2`. "
           "The replies, the casts and the fanout copies are not calls."),
    )
    solution_code = ('calls = {h.number for h in lab.trace.for_request("req-q3").hops '
                     'if h.kind == "call"}')
    explanation = N_("Two calls: one to the shared queue `demo`, one to `demo.host2`. Each has "
                     "its reply right after it, through the default exchange. The cast to "
                     "`demo.host1` is server-targeted, and still a cast.")
    success = N_("Hops {hops} are the calls: one to a shared queue, one to a server's queue; "
                 "each is followed by its reply.")

    def verify(self, calls: Any) -> dict[str, str]:
        if isinstance(calls, int) and not isinstance(calls, bool):
            calls = {calls}
        if not isinstance(calls, (set, list, tuple, frozenset)) or not all(
                isinstance(n, int) and not isinstance(n, bool) for n in calls):
            raise NotYet(N_("Write the hop numbers as a set of whole numbers, e.g. `{{1, 4}}`; "
                            "this answer is {kind}."), kind=evidence.kind(calls))
        hops = {h.number: h for h in evidence.lab().trace.for_request(Q3_REQUEST).hops}
        if not hops:
            raise NotYet(N_("The trace has no hop for `req-q3`: run the cell that sends "
                            "request `req-q3`, then check again."))
        truth = {n for n, h in hops.items() if h.kind == "call"}
        answer = set(calls)
        if answer == truth:
            return {"hops": ", ".join(map(str, sorted(truth)))}
        parts = []
        if answer & truth:
            parts.append(Message(N_("Right: {hops} are calls."),
                                 {"hops": ", ".join(map(str, sorted(answer & truth)))}))
        for n in sorted(answer - truth):
            hop = hops.get(n)
            if hop is None:
                parts.append(Message(N_("There is no hop {n} in this trace."), {"n": n}))
            elif hop.kind == "reply":
                parts.append(Message(N_("Hop {n} is a reply: the answer to a call, sent to "
                                        "`{queue}`."), {"n": n, "queue": hop.queue}))
            elif hop.kind == "fanout":
                parts.append(Message(N_("Hop {n} is a fanout copy: a cast, never a call."),
                                     {"n": n}))
            else:
                parts.append(Message(N_("Hop {n} is a cast to `{queue}`: going to one "
                                        "server's queue does not make it a call."),
                                     {"n": n, "queue": hop.routing_key}))
        for n in sorted(truth - answer):
            parts.append(Message(N_("Hop {n} is a call too, to `{queue}`."),
                                 {"n": n, "queue": hops[n].routing_key}))
        raise NotYet(N_("{sentences} Read the column `kind` of the table."),
                     sentences=Joined(tuple(parts)))


q1, q2, q3 = PredictQueue(), DecodeEnvelope(), WhichAreCalls()
lesson = ExerciseSet(q1, q2, q3, quiz=quiz)
progress = lesson.progress
