"""Lesson 07, notifications: consume the versioned notifications with a listener of your
own, cap the legacy queue with a policy, predict where ERROR notifications land.

* ``q1`` compares the notifications the learner's endpoint received with those the trace
  shows Nova published, and asks the broker whether ``versioned_notifications.info`` is
  drained and consumed.
* ``q2`` reads the learner's policy on the broker (its pattern, what it applies to, its
  definition, whether a higher one shadows it) and the depth of ``notifications.info``
  after the boots that follow.
* ``q3`` compares a set of queue names with the queues the ERROR notifications of the
  failed boot were published to (the trace), which exist on the broker.
"""

from __future__ import annotations

import re
from typing import Any

from ...i18n import N_
from .. import evidence
from ..core import Exercise, ExerciseSet, NotYet
from ..result import Joined, Message
from .questions import quiz
from .runs import LEGACY, VERSIONED, event_types, notifications, nova, policy_named, queue_state

#: The cap exercise 2 asks for, and the server exercise 3 boots on a failing hypervisor.
CAP = 10
BROKEN = "broken"


# -- exercise 1 ---------------------------------------------------------------------------


class Listener(Exercise):
    title = N_("Consume the versioned notifications")
    call = "check(received)"
    expects = N_("Write a list of `(publisher_id, event_type)` pairs, e.g. "
                 "`[(\"nova-compute:compute1\", \"instance.create.end\")]`.")
    hints = (
        N_("A notification listener needs a transport on the control exchange `nova`, a "
           "`Target` whose topic is the family's (`versioned_notifications`), and an "
           "endpoint with an `info()` method: the priority of these notifications."),
        N_("`rpc.get_notification_listener(lab.transport(\"my-listener:controller\", "
           "control_exchange=\"nova\"), [rpc.Target(topic=\"versioned_notifications\")], "
           "[Endpoint()])`, then `listener.start()`, then wait until the queue is empty."),
    )
    solution_code = (
        "received = []\n\n\n"
        "class Endpoint:\n"
        "    def info(self, ctxt, publisher_id, event_type, payload, metadata):\n"
        "        received.append((publisher_id, event_type))\n\n\n"
        "listener = rpc.get_notification_listener(\n"
        "    lab.transport(\"my-listener:controller\", control_exchange=\"nova\"),\n"
        "    [rpc.Target(topic=\"versioned_notifications\")], [Endpoint()])\n"
        "listener.start()\n"
        "lab.wait_until(lambda: lab.topology().queues[\"versioned_notifications.info\"]"
        ".messages == 0)")
    explanation = N_("The listener consumes `versioned_notifications.info`, the queue "
                     "nova's notifiers created and filled while nobody listened: it gets "
                     "every notification waiting there, then each new one, and acknowledges "
                     "each after `info()` returned.")
    success = N_("{n} notifications received, {ends} of them `instance.create.end`; "
                 "`versioned_notifications.info` is empty, with {consumers} consumer(s).")

    def verify(self, received: Any) -> dict[str, int]:
        pairs = event_types(received)
        nova()
        published = {b["event_type"] for b in notifications() if ":" in b["publisher_id"]}
        if "instance.create.end" not in published:
            raise NotYet(N_("Nova sent no versioned `instance.create.end` yet: run the cells "
                            "above that start Nova with notifications and boot, then check "
                            "again."))
        names = [event for _publisher, event in pairs]
        if any(name.startswith("compute.") for name in names):
            raise NotYet(N_("`{name}` is a legacy event type, from `notifications.info`: "
                            "listen to the topic `versioned_notifications` instead."),
                         name=next(n for n in names if n.startswith("compute.")))
        state = evidence.lab().wait_until(lambda: _drained(queue_state(VERSIONED)), 1.0)
        current = queue_state(VERSIONED)
        if not pairs:
            if current is None or current[1] == 0:
                raise NotYet(N_("`received` is empty and nobody consumes "
                                "`versioned_notifications.info`: did the listener start "
                                "(`listener.start()`), with an endpoint that has an "
                                "`info()` method?"))
            raise NotYet(N_("`received` is empty, but `versioned_notifications.info` has a "
                            "consumer: does your endpoint's `info()` append "
                            "`(publisher_id, event_type)` to this very list?"))
        if "instance.create.end" not in names:
            raise NotYet(N_("Your endpoint got {n} notifications, none of them "
                            "`instance.create.end`: it should get every notification of the "
                            "queue, the boot's too."), n=len(pairs))
        if not state:
            raise NotYet(N_("`versioned_notifications.info` still holds {ready} messages, "
                            "with {consumers} consumer(s): is the listener still running?"),
                         ready=current[0] if current else 0,
                         consumers=current[1] if current else 0)
        return {"n": len(pairs), "ends": names.count("instance.create.end"),
                "consumers": current[1] if current else 0}


def _drained(state: tuple[int, int] | None) -> bool:
    return state is not None and state[0] == 0 and state[1] > 0


# -- exercise 2 ---------------------------------------------------------------------------


class CapPolicy(Exercise):
    title = N_("Cap notifications.info with a policy")
    call = "check(policy)"
    expects = N_("Write the name of your policy in quotes, e.g. `\"notif\"`.")
    hints = (
        N_("`lab.set_policy(name, pattern, definition)`: the pattern is a regular "
           "expression matched against queue names, the definition a dict of policy keys "
           "(no `x-` prefix there)."),
        N_("`lab.set_policy(policy, r\"^notifications\\.\", {\"max-length\": 10})`: "
           "`max-length` counts messages, and without `overflow` the oldest go first."),
    )
    solution_code = ('policy = "notif"\n'
                     'lab.set_policy(policy, r"^notifications\\.", {"max-length": 10})')
    explanation = N_("A policy changes a queue without declaring it again: RabbitMQ applies "
                     "it to the queues it matches now and to those declared later, and "
                     "oslo.messaging keeps declaring `notifications.info` with no arguments, "
                     "as before. `max-length` 10 with the default overflow `drop-head` keeps "
                     "the 10 newest notifications.")
    success = N_("Policy `{name}` holds `notifications.info` at {depth} messages (at most "
                 "{cap}), after {boots} boots.")

    def verify(self, policy: Any) -> dict[str, Any]:
        name = evidence.text(policy, "policy")
        cloud = nova()
        found = policy_named(name)
        if found is None:
            names = [p["name"] for p in evidence.lab().policies()]
            if names:
                raise NotYet(N_("The broker has no policy `{name}`; it has {names}. Write "
                                "the name you gave `lab.set_policy`."),
                             name=name, names=evidence.codes(names))
            raise NotYet(N_("The broker has no policy yet: run `lab.set_policy(...)` in "
                            "the starter cell (a declaration with `x-max-length` is no "
                            "policy)."))
        wrong = self._wrong(found)
        if wrong:
            raise NotYet(N_("{sentences} Revisit the section on what operators do."),
                         sentences=Joined(tuple(wrong)))
        shadow = self._shadow(found)
        if shadow is not None:
            raise NotYet(N_("Your policy is right, but `{other}` matches `notifications.info` "
                            "too, with a higher priority, so it applies instead: clear it "
                            "or give yours a higher `priority`."), other=shadow)
        depth = queue_state(LEGACY)
        boots = len(cloud.servers)
        if depth is None or depth[0] > CAP:
            raise NotYet(N_("Your policy is right, but `notifications.info` holds {n} "
                            "messages: run the cell that boots the VMs, then check again."),
                         n=depth[0] if depth else 0)
        return {"name": name, "depth": depth[0], "cap": CAP, "boots": boots}

    @staticmethod
    def _wrong(found: dict) -> list[Message]:
        wrong = []
        definition, pattern = found["definition"], found["pattern"]
        if found["apply-to"] == "exchanges":
            wrong.append(Message(N_("It applies to exchanges (`apply_to=\"exchanges\"`): a "
                                    "length limit is a queue's.")))
        if not re.search(pattern, LEGACY):
            wrong.append(Message(N_("Its pattern `{pattern}` does not match "
                                    "`notifications.info`."), {"pattern": pattern}))
        length = definition.get("max-length")
        if length is None:
            if "max-length-bytes" in definition:
                wrong.append(Message(N_("`max-length-bytes` caps the bytes of the bodies; "
                                        "the task counts messages: `max-length`.")))
            elif "message-ttl" in definition:
                wrong.append(Message(N_("`message-ttl` drops messages by age, not by "
                                        "number: the task asks for `max-length`.")))
            else:
                wrong.append(Message(N_("Its definition has no `max-length`.")))
        elif length != CAP:
            wrong.append(Message(N_("It caps at {n} messages, not {cap}."),
                                 {"n": length, "cap": CAP}))
        if definition.get("overflow", "drop-head") != "drop-head":
            wrong.append(Message(N_("`overflow` `{mode}` refuses the new notifications; the "
                                    "task keeps the newest: leave `overflow` out "
                                    "(`drop-head`)."), {"mode": definition["overflow"]}))
        return wrong

    @staticmethod
    def _shadow(found: dict) -> str | None:
        for other in evidence.lab().policies():
            if (other["name"] != found["name"] and other["apply-to"] != "exchanges"
                    and other["priority"] > found["priority"]
                    and re.search(other["pattern"], LEGACY)):
                return str(other["name"])
        return None


# -- exercise 3 ---------------------------------------------------------------------------


class ErrorQueues(Exercise):
    title = N_("Where do ERROR notifications go?")
    call = "check(queues)"
    expects = N_("Write a set of queue names in quotes, e.g. `{\"q-a\", \"q-b\"}`.")
    hints = (
        N_("A notifier publishes to `<topic>.<priority>`, with the priority in lowercase; "
           "this Nova sends both families, each on its own topic."),
        N_("The topics are `notifications` (legacy) and `versioned_notifications`; the "
           "priority is `error`."),
    )
    solution_code = 'queues = {"notifications.error", "versioned_notifications.error"}'
    explanation = N_("oslo.messaging's notifier publishes each notification on the control "
                     "exchange with the routing key `<topic>.<priority>` and declares the queue "
                     "of that name first. An ERROR notification of each family lands in its "
                     "own `.error` queue, beside the `.info` ones, and waits there for a "
                     "listener with an `error()` method.")
    success = N_("The trace agrees: the failed boot's ERROR notifications ({events}) went to "
                 "{queues}.")

    def verify(self, queues: Any) -> dict[str, str]:
        answer = evidence.names(queues, '{"q-a", "q-b"}')
        cloud = nova()
        server = next((s for s in cloud.servers if s.name == BROKEN), None)
        errors = [] if server is None else [
            b for b in notifications(server.request_id) if b.get("priority") == "ERROR"]
        if not errors:
            raise NotYet(N_("No ERROR notification yet: run the cell that boots `broken` on "
                            "the failing hypervisor, then check again."))
        truth = {f"{family}.error" for family in ("notifications", "versioned_notifications")
                 if any((":" in b["publisher_id"]) == (family != "notifications")
                        for b in errors)}
        events = evidence.codes(sorted({b["event_type"] for b in errors}))
        if answer == truth:
            return {"events": events, "queues": evidence.codes(sorted(truth))}
        right = [Message(N_("Right: {queues}."), {"queues": evidence.codes(sorted(answer & truth))})
                 ] if answer & truth else []
        wrong = []
        for name in sorted(answer - truth):
            if name.endswith(".info"):
                wrong.append(Message(N_("`{name}` gets the INFO ones: the priority is part of "
                                        "the queue's name."), {"name": name}))
            elif name.lower() in truth:
                wrong.append(Message(N_("`{name}`: oslo.messaging writes the priority in "
                                        "lowercase."), {"name": name}))
            elif name == "nova":
                wrong.append(Message(N_("`nova` is the exchange, not a queue.")))
            else:
                wrong.append(Message(N_("`{name}` got none of them."), {"name": name}))
        missing = truth - answer
        if missing:
            wrong.append(Message(N_("Missing: {queues}; this Nova sends both families "
                                    "(`notification_format = both`)."),
                                 {"queues": evidence.codes(sorted(missing))}))
        raise NotYet(N_("{sentences} Revisit the first table of this lesson."),
                     sentences=Joined(tuple(right + wrong)))


q1, q2, q3 = Listener(), CapPolicy(), ErrorQueues()
lesson = ExerciseSet(q1, q2, q3, quiz=quiz)
progress = lesson.progress
