"""Lesson 02, AMQP building blocks: predict a topic route, build a queue on Nova's
exchange, read the topology of a running Nova.

* ``q1`` asks which queues of the lesson's topic exchange receive a key; the check asks
  ``Topology.route`` and publishes for real on a private copy of those bindings (which it
  deletes again), so the answer is compared with what the broker did.
* ``q2`` reads the queue ``errors`` and its bindings on the broker and routes a few
  notification and RPC keys through ``nova`` with ``Topology.route``.
* ``q3`` compares two readings of Nova's diagram with the live topology.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from typing import Any

import kombu

from ...errors import CourseError
from ...i18n import N_, _
from ...topology import Topology
from ...transport_url import mask_url
from .. import evidence
from ..core import Exercise, ExerciseSet, NotAttempted, NotYet
from ..result import Joined, Message
from .questions import quiz

#: The lesson's topic exchange and its bindings (queue -> binding key), as the notebook
#: declares them in its topic section.
TOPIC_EXCHANGE = "demo.topic"
TOPIC_BINDINGS = {"compute_one_word": "compute.*", "compute_any": "compute.#",
                  "all_errors": "*.error", "everything": "#"}
#: The routing key of exercise 1.
Q1_KEY = "compute"

#: Why each binding of the topic exchange does or does not take the key ``compute``.
WHY = {
    "compute_one_word": N_("`compute.*` asks for exactly one word after `compute.`, so "
                           "`compute` itself does not match."),
    "compute_any": N_("`compute.#` matches `compute` followed by zero or more words, so "
                      "`compute` itself matches (zero words after it)."),
    "all_errors": N_("`*.error` needs two words, the second one `error`; `compute` has "
                     "only one word."),
    "everything": N_("`#` alone matches every routing key, a one-word key included."),
}

NOVA = "nova"
ERRORS = "errors"
#: Keys an error-notification queue must take from ``nova``, and keys it must not.
ERROR_KEYS = ("notifications.error", "versioned_notifications.error")
OTHER_KEYS = ("notifications.info", "versioned_notifications.info", "notifications.warn",
              "notifications.critical", "compute.compute1", "conductor")

FANOUT = "compute_fanout"
#: What tools and diagrams call the default exchange (English and French), not its name.
DEFAULT_LABELS = ("(amqp default)", "amqp default", "default", "amq.default",
                  "default exchange", "the default exchange", "(amqp par défaut)",
                  "amqp par défaut", "par défaut", "défaut", "exchange par défaut",
                  "l'exchange par défaut", "l’exchange par défaut")
HEX_ID = re.compile(r"[0-9a-f]{32}")

log = logging.getLogger(__name__)


class BrokerTrouble(CourseError):
    """The broker refused or failed an operation a check needed."""


def _codes(values: Iterable[str]) -> str:
    """``a``, ``b`` as code spans, sorted."""
    return evidence.codes(sorted(values))


# -- exercise 1 ---------------------------------------------------------------------------


def publish_on_a_copy(bindings: dict[str, str], routing_key: str) -> tuple[set[str], set[str]]:
    """Declare a private topic exchange with queues bound like ``bindings``, publish one
    message with ``routing_key``, and delete it all again.

    Returns (the queues ``Topology.route`` named, the queues the message reached), both
    as names of ``bindings``.
    """
    lab = evidence.lab()
    tag = uuid.uuid4().hex[:8]
    exchange = kombu.Exchange(f"check.q1.{tag}", type="topic", durable=False,
                              auto_delete=True)
    private = {name: kombu.Queue(f"check.q1.{tag}.{name}", exchange=exchange,
                                 routing_key=key, durable=False,
                                 queue_arguments={"x-expires": 60_000})
               for name, key in bindings.items()}
    back = {q.name: name for name, q in private.items()}
    try:
        with lab.connect() as conn:
            channel = conn.channel()
            try:
                for queue in private.values():
                    queue.bind(channel).declare()
                routed = {back[q] for q in lab.topology().route(exchange.name, routing_key)}
                kombu.Producer(channel).publish({"check": "q1"}, exchange=exchange,
                                                routing_key=routing_key)
                arrived = {name for name, q in private.items()
                           if q.bind(channel).get(no_ack=True) is not None}
            finally:
                _delete(channel, private.values())  # the exchange auto-deletes with them
    except CourseError:
        raise
    except Exception as error:  # a broker error: say so, never raise on the learner
        raise BrokerTrouble(mask_url(f"{type(error).__name__}: {error}")) from None
    return routed, arrived


def _delete(channel: Any, queues: Iterable[kombu.Queue]) -> None:
    """Delete the check's own queues; a failure here must not hide the first one."""
    for queue in queues:
        try:
            queue.bind(channel).delete()
        except Exception:  # the channel may be closed already; x-expires cleans up
            log.debug("could not delete %s", queue.name, exc_info=True)


def _live_route(topology: Topology) -> set[str] | None:
    """Where the notebook's own ``demo.topic`` would send the key, when it is bound as
    the lesson declares it (None otherwise)."""
    if TOPIC_EXCHANGE not in topology.exchanges:
        return None
    bound = {(b.queue, b.routing_key) for b in topology.bindings if b.exchange == TOPIC_EXCHANGE}
    if bound != set(TOPIC_BINDINGS.items()):
        return None
    return set(topology.route(TOPIC_EXCHANGE, Q1_KEY))


class PredictRoute(Exercise):
    title = N_("Predict a topic route")
    call = "check(receivers)"
    expects = N_("Write a set of queue names in quotes, e.g. `{'all_errors', 'everything'}`.")
    hints = (
        N_("Take each binding key in turn and line its words up with the one word "
           "`compute`: `*` must stand for exactly one word, `#` for any number of words, "
           "none included."),
        N_("`compute.*` needs a second word, so it fails; in `compute.#` the `#` can stand "
           "for zero words; `*.error` needs two words; `#` takes any key. Two queues "
           "receive the message."),
    )
    solution_code = 'receivers = {"compute_any", "everything"}'
    explanation = N_("In a binding key, `*` stands for exactly one word and `#` for zero or "
                     "more. `compute` has one word: `compute.#` matches it (with `#` as zero "
                     "words) and `#` matches every key, while `compute.*` waits for one more "
                     "word and `*.error` for two.")
    success = N_("{queues}: the broker agrees. `compute.#` matches `compute` with zero words "
                 "for `#`; `compute.*` waits for one more word.")

    def verify(self, receivers: Any) -> dict[str, str]:
        answer = {name.strip() for name in evidence.names(
            receivers, example="{'all_errors', 'everything'}")}
        routed, arrived = publish_on_a_copy(TOPIC_BINDINGS, Q1_KEY)
        live = _live_route(evidence.topology())
        if routed != arrived or (live is not None and live != arrived):
            raise BrokerTrouble(_("`Topology.route` said {routed}, but the broker delivered "
                                  "to {arrived}.", routed=_codes(routed),
                                  arrived=_codes(arrived)))
        unknown = answer - TOPIC_BINDINGS.keys()
        if unknown:
            raise NotYet(N_("No queue named {unknown} is bound to `{exchange}`: its queues "
                            "are {queues}. Look at the cell that declares them in the "
                            "topic section."), unknown=_codes(unknown),
                         exchange=TOPIC_EXCHANGE, queues=_codes(TOPIC_BINDINGS))
        if answer == arrived:
            return {"queues": _codes(arrived)}
        parts = []
        if answer & arrived:
            parts.append(Message(N_("Right: the message reaches {queues}."),
                                 {"queues": _codes(answer & arrived)}))
        elif not answer:
            parts.append(Message(N_("The message is not dropped: some bindings match "
                                    "`{key}`."), {"key": Q1_KEY}))
        for name in sorted(answer - arrived):
            parts.append(Message(N_("Not `{queue}`: {why}"),
                                 {"queue": name, "why": Message(WHY[name])}))
        for name in sorted(arrived - answer):
            parts.append(Message(N_("`{queue}` receives it too: {why}"),
                                 {"queue": name, "why": Message(WHY[name])}))
        raise NotYet(N_("{sentences} Revisit the topic section: `*` is exactly one word, "
                        "`#` zero or more."), sentences=Joined(tuple(parts)))


# -- exercise 2 ---------------------------------------------------------------------------


class ErrorQueue(Exercise):
    title = N_("One queue for all error notifications")
    call = "check()"
    expects = N_("This check reads the broker: declare the queue `errors` in the cell "
                 "above, then run `ex.q2.check()` with nothing between the brackets.")
    hints = (
        N_("Nova's notification keys have two words, `<topic>.<priority>`. You want any "
           "first word followed by `error`: which wildcard stands for exactly one word?"),
        N_("Uncomment the three lines and write `routing_key=\"*.error\"`: "
           "`kombu.Queue(\"errors\", exchange=nova, routing_key=\"*.error\")`, then "
           "`errors.bind(conn).declare()`."),
    )
    solution_code = (
        'nova = kombu.Exchange("nova", type="topic", durable=False)\n'
        'errors = kombu.Queue("errors", exchange=nova, routing_key="*.error")\n'
        'errors.bind(conn).declare()')
    explanation = N_("`*.error` matches any one word followed by `error`: "
                     "`notifications.error` and `versioned_notifications.error`, but not "
                     "`notifications.info` nor an RPC key such as `compute.compute1`. The "
                     "exchange must be declared with the flags it already has (topic, not "
                     "durable). Two bindings with the exact keys would work too.")
    success = N_("`errors` is bound to `nova` with {keys}: both `notifications.error` and "
                 "`versioned_notifications.error` reach it, and no other priority or RPC "
                 "request does. It stays empty here, since this lab's Nova sends no "
                 "notifications.")

    def verify(self) -> dict[str, str]:
        topology = evidence.topology()
        if NOVA not in topology.exchanges:
            raise NotYet(N_("There is no exchange `nova` on the broker: run the cell that "
                            "starts Nova (`cloud = lab.nova(...)`), then declare your queue "
                            "and check again."))
        if ERRORS not in topology.queues:
            raise NotAttempted(N_("There is no queue `errors` on the broker yet: uncomment "
                                  "the lines of the cell above, complete the binding key, "
                                  "run it, then check again."))
        mine = [b for b in topology.bindings if b.queue == ERRORS]
        keys = _codes({b.routing_key for b in mine if b.exchange == NOVA})
        elsewhere = sorted({b.exchange for b in mine if b.exchange != NOVA})
        if not mine:
            raise NotYet(N_("The queue `errors` exists, but it is bound to no exchange "
                            "except the default one (which binds every queue by its name): "
                            "give `kombu.Queue` the exchange `nova` and a binding key, then "
                            "declare it again."))
        if not keys:
            raise NotYet(N_("`errors` is bound to {exchanges}, not to `nova`: Nova publishes "
                            "its notifications to its own exchange, `nova`. Bind the queue "
                            "to it."), exchanges=_codes(elsewhere))
        missed = [k for k in ERROR_KEYS if ERRORS not in topology.route(NOVA, k)]
        extra = [k for k in OTHER_KEYS if ERRORS in topology.route(NOVA, k)]
        parts = []
        if missed:
            parts.append(Message(N_("Too narrow: these error keys do not reach `errors`: "
                                    "{missed}."),
                                 {"missed": _codes(missed)}))
        if extra:
            parts.append(Message(N_("Too wide: `errors` also takes keys that are not error "
                                    "notifications: {extra}."),
                                 {"extra": _codes(extra)}))
        if elsewhere:
            parts.append(Message(N_("`errors` is also bound to {exchanges}: remove that "
                                    "binding with `unbind_from`."),
                                 {"exchanges": _codes(elsewhere)}))
        if parts:
            if len(mine) > 1:
                parts.append(Message(N_("Bindings add up: declaring the queue again with "
                                        "another key adds a binding and keeps the old one. "
                                        "Remove a wrong one with `errors.bind(conn)"
                                        ".unbind_from(nova, routing_key=...)`, or delete the "
                                        "queue (`errors.bind(conn).delete()`) and declare it "
                                        "again.")))
            raise NotYet(N_("`errors` is bound to `nova` with {keys}. {sentences}"),
                         keys=keys, sentences=Joined(tuple(parts)))
        return {"keys": keys}


# -- exercise 3 ---------------------------------------------------------------------------


def _fanout_feedback(answer: int, truth: int, topology: Topology) -> Message:
    alt = len(topology.route("compute-alt_fanout", "")) \
        if "compute-alt_fanout" in topology.exchanges else 0
    fields = {"answer": answer, "exchange": FANOUT}
    if answer == 1 and truth != 1:
        return Message(N_("Not {answer}: a fanout exchange copies each message into every "
                          "queue bound to it, and each nova-compute binds its own "
                          "`compute_fanout_<uuid>` queue. Count the arrows that leave "
                          "`{exchange}` in the diagram."), fields)
    if alt and answer == truth + alt:
        return Message(N_("Not {answer}: that counts the queues of `compute-alt_fanout` too, "
                          "another exchange (nova-compute's second RPC server). Count only "
                          "the queues bound to `{exchange}`."), fields)
    if answer == truth + 1:
        return Message(N_("Not {answer}: the queue `compute` is bound to `nova`, not to "
                          "`{exchange}`. Count only the arrows that leave `{exchange}`."), fields)
    if answer == len(topology.queues):
        return Message(N_("Not {answer}: that is the number of all the queues of the broker. "
                          "Count only the queues bound to `{exchange}`."), fields)
    if answer == 0:
        return Message(N_("Not 0: a fanout exchange ignores the routing key and copies the "
                          "message into every queue bound to it. Count the arrows that "
                          "leave `{exchange}`."), fields)
    return Message(N_("Not {answer}: count the queues bound to `{exchange}` (the arrows that "
                      "leave it in the diagram)."), fields)


def _reply_feedback(answer: str, topology: Topology) -> Message:
    fields = {"answer": answer}
    folded = answer.strip().lower()
    if folded == NOVA:
        return Message(N_("Not `nova`: it carries the requests (casts and calls), not the "
                          "replies; the `reply_…` queues are bound to no named exchange. "
                          "Look at the exchange they hang from in the diagram."), fields)
    if folded.startswith("reply_"):
        return Message(N_("`{answer}` is a reply queue's name, which is also the routing "
                          "key of its replies; the question asks for the exchange they are "
                          "published to."), fields)
    if folded == "direct":
        return Message(N_("`direct` is the type of that exchange; the question asks for "
                          "its name."), fields)
    if folded in DEFAULT_LABELS:
        return Message(N_("Almost: that is how diagrams and tools label it. In code its "
                          "name is the empty string, `\"\"`."), fields)
    found = topology.exchanges.get(answer)
    if folded.endswith("_fanout") or (found is not None and found.type == "fanout"):
        return Message(N_("`{answer}` is a fanout exchange: it copies every message to all "
                          "its queues, and a reply must reach one caller only."), fields)
    if HEX_ID.search(folded) or folded.startswith("msg_id"):
        return Message(N_("An exchange per call, named after its `msg_id`, is the design "
                          "Nova's 2010 page draws: no such exchange exists today. Look at the "
                          "exchange the `reply_…` queues hang from in the diagram."), fields)
    return Message(N_("Replies do not go through `{answer}`: in the diagram, find the "
                      "exchange the `reply_…` queues hang from."), fields)


class ReadTopology(Exercise):
    title = N_("Read Nova's topology")
    call = "check(fanout_reach, reply_exchange)"
    expects = N_("Write a whole number for `fanout_reach` and an exchange name in quotes "
                 "for `reply_exchange`.")
    hints = (
        N_("In the diagram, each queue bound to `compute_fanout (fanout)` receives a copy of "
           "a message published there. Then find the `reply_…` queues: which exchange do they "
           "hang from?"),
        N_("`nova_view.route(\"compute_fanout\", \"\")` lists the queues a fanout there "
           "reaches. The reply queues hang from `(AMQP default)`, the exchange whose name is "
           "the empty string."),
    )
    solution_code = ('fanout_reach = len(nova_view.route("compute_fanout", ""))\n'
                     'reply_exchange = ""')
    explanation = N_("Each nova-compute binds its own queue `compute_fanout_<uuid>` to "
                     "`compute_fanout`, so a fanout cast reaches one queue per compute. "
                     "Replies are published to the default exchange, whose name is the empty "
                     "string, with the reply queue's name as routing key.")
    success = N_("A fanout to `compute_fanout` reaches {n} queues, each bound by one "
                 "nova-compute process; replies go through the default exchange `\"\"`, "
                 "with the name of the caller's `reply_…` queue as routing key.")

    def verify(self, fanout_reach: Any, reply_exchange: Any) -> dict[str, int]:
        topology = evidence.topology()
        if FANOUT not in topology.exchanges:
            raise NotYet(N_("There is no exchange `compute_fanout` on the broker: run the "
                            "cell that starts Nova (`cloud = lab.nova(...)`), then check "
                            "again."))
        truth = len(topology.route(FANOUT, ""))
        reach = evidence.number(fanout_reach, example=str(max(truth, 2)))
        reply_exchange = evidence.text(reply_exchange, "reply_exchange", '"nova"')
        right, wrong = [], []
        if reach == truth:
            right.append(Message(N_("Right: a fanout to `compute_fanout` reaches {n} "
                                    "queues."), {"n": truth}))
        else:
            wrong.append(_fanout_feedback(reach, truth, topology))
        if reply_exchange == "":
            right.append(Message(N_("Right: replies go through the default exchange, "
                                    "`\"\"`.")))
        else:
            wrong.append(_reply_feedback(reply_exchange, topology))
        if wrong:
            raise NotYet(N_("{sentences} Both answers are in the diagram of the section on "
                            "Nova's topology."),
                         sentences=Joined(tuple(right + wrong)))
        return {"n": truth}



q1, q2, q3 = PredictRoute(), ErrorQueue(), ReadTopology()
lesson = ExerciseSet(q1, q2, q3, quiz=quiz)
progress = lesson.progress
