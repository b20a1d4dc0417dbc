"""Broker conformance, routing: which queues a message reaches (see amqp_helpers.py)."""

from __future__ import annotations

import pytest
from amqp.exceptions import PreconditionFailed
from amqp_helpers import (
    declare_queue,
    publish,
    queue_exists,
    round_trip,
    routed,
    take_all,
)
from kombu import Exchange


def test_direct_routes_on_exact_key(broker):
    """A direct exchange delivers to the queues whose binding key equals the routing key."""
    got = routed(broker.connect(), "direct", {"q1": ["a"], "q2": ["b"]},
                 ["a", "b", "a.b", "A", "c"])
    assert got == {"q1": ["a"], "q2": ["b"]}


def test_direct_same_key_reaches_every_queue_bound_with_it(broker):
    """Several queues bound with the same key each get a copy."""
    got = routed(broker.connect(), "direct", {"q1": ["k"], "q2": ["k"], "q3": ["other"]}, ["k"])
    assert got == {"q1": ["k"], "q2": ["k"], "q3": []}


def test_fanout_ignores_routing_key(broker):
    """A fanout exchange copies every message to every bound queue, whatever the keys."""
    got = routed(broker.connect(), "fanout", {"q1": ["x"], "q2": [""]}, ["y", ""])
    assert got == {"q1": ["y", ""], "q2": ["y", ""]}


def test_topic_star_matches_exactly_one_word(broker):
    """In a topic binding, `*` stands for exactly one dot-separated word."""
    got = routed(broker.connect(), "topic", {"q": ["*.info"]},
                 ["a.info", "b.info", "info", "a.b.info", "a.info.x", ".info"])
    assert got == {"q": ["a.info", "b.info", ".info"]}


def test_topic_hash_matches_zero_or_more_words(broker):
    """`#` stands for zero or more words: `compute.#` matches `compute` itself."""
    got = routed(broker.connect(), "topic", {"q": ["compute.#"]},
                 ["compute", "compute.a", "compute.a.b", "computer", "nova.compute", "compute2.a"])
    assert got == {"q": ["compute", "compute.a", "compute.a.b"]}


def test_topic_hash_alone_matches_everything(broker):
    """A binding of `#` receives every message, even one with an empty routing key."""
    keys = ["", "a", "a.b.c", "notifications.info"]
    assert routed(broker.connect(), "topic", {"q": ["#"]}, keys) == {"q": keys}


def test_topic_hash_in_the_middle(broker):
    """`a.#.z` matches `a.z`, `a.b.z` and `a.b.c.z`, but not `a.z.b`."""
    got = routed(broker.connect(), "topic", {"q": ["a.#.z"]},
                 ["a.z", "a.b.z", "a.b.c.z", "a.z.b", "b.a.z"])
    assert got == {"q": ["a.z", "a.b.z", "a.b.c.z"]}


def test_topic_binding_without_wildcard_is_an_exact_match(broker):
    """OpenStack binds `compute` and `compute.node1` to the topic exchange `nova`: no wildcards,
    so each queue only gets its own routing key."""
    got = routed(broker.connect(), "topic", {"compute": ["compute"],
                                             "compute.node1": ["compute.node1"]},
                 ["compute", "compute.node1", "compute.node10", "compute.node1.x", "node1"])
    assert got == {"compute": ["compute"], "compute.node1": ["compute.node1"]}


def test_overlapping_bindings_deliver_one_copy_per_queue(broker):
    """A message that matches several bindings of the same queue is queued there once."""
    got = routed(broker.connect(), "topic", {"q1": ["a.*", "*.b", "#", "a.b"], "q2": ["a.b"]},
                 ["a.b"])
    assert got == {"q1": ["a.b"], "q2": ["a.b"]}


def test_default_exchange_routes_to_queue_named_by_key(broker):
    """Every queue is reachable through the default exchange `""` with its name as key."""
    channel = broker.connect().channel()
    declare_queue(channel, "reply_1")
    declare_queue(channel, "reply_2")
    publish(channel, "hello", exchange="", routing_key="reply_1")
    assert take_all(channel, "reply_1") == ["hello"]
    assert take_all(channel, "reply_2") == []


def test_default_exchange_drops_message_for_unknown_queue(broker):
    """A routing key that names no queue: the message is dropped, no error, no queue created."""
    conn = broker.connect()
    channel = conn.channel()
    publish(channel, "lost", exchange="", routing_key="nobody")
    round_trip(channel)  # no channel error
    assert not queue_exists(conn, "nobody")
    declare_queue(channel, "nobody")
    assert take_all(channel, "nobody") == []


def test_headers_exchange_all_and_any(broker):
    """A headers exchange matches on message headers: x-match=all needs every pair,
    x-match=any needs one of them."""
    channel = broker.connect().channel()
    exchange = Exchange("hdr", "headers", durable=False)
    exchange.declare(channel=channel)
    declare_queue(channel, "all", exchange=exchange,
                  binding_arguments={"x-match": "all", "os": "linux", "arch": "x86"})
    declare_queue(channel, "any", exchange=exchange,
                  binding_arguments={"x-match": "any", "os": "linux", "arch": "x86"})
    publish(channel, "both", exchange="hdr", headers={"os": "linux", "arch": "x86", "x": "y"})
    publish(channel, "one", exchange="hdr", headers={"os": "linux"})
    publish(channel, "none", exchange="hdr", headers={"os": "bsd"})
    assert take_all(channel, "all") == ["both"]
    assert take_all(channel, "any") == ["both", "one"]


#: Bindings of a topic exchange and keys that are easy to get wrong: empty words
#: (``a..b``, ``.``), ``#`` alone or twice, ``*`` against the empty key.
TRICKY_BINDINGS = {"star": ["*"], "star_star": ["*.*"], "hash": ["#"], "hash_hash": ["#.#"],
                   "a_hash_b": ["a.#.b"], "a_star_b": ["a.*.b"], "star_hash": ["*.#"],
                   "hash_star": ["#.*"], "empty": [""], "a_dot": ["a."], "a_dot_dot_b": ["a..b"]}
TRICKY_KEYS = ["", ".", "..", "a", "a.", ".a", "a.b", "a..b", "a.x.b", "a.x.y.b", "b"]
EVERY_KEY_BUT_EMPTY = [k for k in TRICKY_KEYS if k]


def test_topic_matching_of_tricky_keys(broker):
    """An empty key has no words: only `#` and the empty binding take it, never `*`.
    `a..b` has an empty middle word, which `*` matches; `#` next to `*` still needs one word."""
    got = routed(broker.connect(), "topic", TRICKY_BINDINGS, TRICKY_KEYS)
    assert got == {
        "star": ["a", "b"],
        "star_star": [".", "a.", ".a", "a.b"],
        "hash": TRICKY_KEYS,
        "hash_hash": TRICKY_KEYS,
        "a_hash_b": ["a.b", "a..b", "a.x.b", "a.x.y.b"],
        "a_star_b": ["a..b", "a.x.b"],
        "star_hash": EVERY_KEY_BUT_EMPTY,
        "hash_star": EVERY_KEY_BUT_EMPTY,
        "empty": [""],
        "a_dot": ["a."],
        "a_dot_dot_b": ["a..b"],
    }


def test_topology_routes_as_the_broker_does(broker):
    """`Topology.route` answers from a snapshot what the broker does with a message."""
    got = routed(broker.connect(), "topic", TRICKY_BINDINGS, TRICKY_KEYS)
    snapshot = broker.topology()
    for key in TRICKY_KEYS:
        assert snapshot.route("ex", key) == sorted(q for q, keys in got.items() if key in keys)


def test_headers_exchange_details(broker):
    """Arguments starting with `x-` are compared only with x-match all-with-x or
    any-with-x; an argument without a value asks for the header's presence; no arguments
    at all match every message with `all` and none with `any`; `true` is not `1`."""
    channel = broker.connect().channel()
    exchange = Exchange("hdr", "headers", durable=False)
    exchange.declare(channel=channel)
    bindings = {"all_with_x": {"x-match": "all-with-x", "x-k": "1", "a": "1"},
                "any_with_x": {"x-match": "any-with-x", "x-k": "1"},
                "all_without_x": {"x-match": "all", "x-k": "1", "a": "1"},
                "present": {"a": None}, "empty_all": {}, "empty_any": {"x-match": "any"},
                "boolean": {"b": True}, "number": {"n": 1}}
    for name, arguments in bindings.items():
        declare_queue(channel, name, exchange=exchange, binding_arguments=arguments)
    messages = {"a x-k": {"a": "1", "x-k": "1"}, "a": {"a": "1"}, "x-k": {"x-k": "1"},
                "none": {}, "b=1": {"b": 1}, "b=true": {"b": True}, "n=1": {"n": 1},
                "n=true": {"n": True}, "n=1.0": {"n": 1.0}, "n='1'": {"n": "1"}}
    for body, headers in messages.items():
        publish(channel, body, exchange="hdr", headers=headers)
    assert {name: take_all(channel, name) for name in bindings} == {
        "all_with_x": ["a x-k"], "any_with_x": ["a x-k", "x-k"],
        "all_without_x": ["a x-k", "a"], "present": ["a x-k", "a"],
        "empty_all": list(messages), "empty_any": [],
        "boolean": ["b=true"], "number": ["n=1", "n=1.0"]}


@pytest.mark.parametrize("mode, problem", [
    ("bogus", 'Invalid x-match field value <<"bogus">>; expected all, any, all-with-x, or '
              "any-with-x"),
    (1, "Invalid x-match field type signedint (value 1); expected longstr")])
def test_headers_binding_with_an_unknown_x_match_is_406(broker, mode, problem):
    channel = broker.connect().channel()
    Exchange("hdr", "headers", durable=False).declare(channel=channel)
    declare_queue(channel, "q")
    with pytest.raises(PreconditionFailed) as error:
        channel.queue_bind(queue="q", exchange="hdr", arguments={"x-match": mode})
    assert error.value.reply_text == f"PRECONDITION_FAILED - {problem}"
