"""One routing rule (course.routing): the embedded broker delivers where `Topology.route`
says, for random bindings and messages; topic matching agrees with an independent oracle.

The same rule is checked against a real RabbitMQ by tests/test_conformance_routing.py.
"""

from __future__ import annotations

import itertools

import kombu
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course import broker as course_broker
from course import topology
from course.routing import EXCHANGE_TYPES, X_MATCH, headers_match, matches, topic_matches

WORDS = ["a", "b", ""]
QUEUES = ["q0", "q1", "q2", "q3"]
HEADER_NAMES = ["h1", "h2", "x-h"]
HEADER_VALUES = st.sampled_from([None, "1", "2", 1, True])

keys = st.lists(st.sampled_from(WORDS), max_size=4).map(".".join)
binding_keys = st.lists(st.sampled_from([*WORDS, "*", "#"]), max_size=4).map(".".join)
headers = st.dictionaries(st.sampled_from(HEADER_NAMES), HEADER_VALUES.filter(
    lambda v: v is not None), max_size=3)


@st.composite
def binding_arguments(draw):
    arguments = draw(st.dictionaries(st.sampled_from(HEADER_NAMES), HEADER_VALUES,
                                     max_size=3))
    mode = draw(st.sampled_from([None, *X_MATCH]))
    return arguments if mode is None else {**arguments, "x-match": mode}


bindings = st.lists(st.tuples(st.sampled_from(QUEUES), binding_keys, binding_arguments()),
                    max_size=6)
vhosts = (f"routing-{n}" for n in itertools.count())


def topic_oracle(pattern: str, key: str) -> bool:
    """Topic matching written another way: a table of which prefixes match which."""
    p = pattern.split(".") if pattern else []
    w = key.split(".") if key else []
    table = [[False] * (len(w) + 1) for _ in range(len(p) + 1)]
    table[0][0] = True
    for i, word in enumerate(p, 1):
        for j in range(len(w) + 1):
            if word == "#":
                table[i][j] = table[i - 1][j] or (j > 0 and table[i][j - 1])
            else:
                table[i][j] = j > 0 and table[i - 1][j - 1] and word in ("*", w[j - 1])
    return table[len(p)][len(w)]


@given(binding_keys, keys)
def test_topic_matching_agrees_with_an_oracle(pattern, key):
    assert topic_matches(pattern, key) == topic_oracle(pattern, key)


@pytest.mark.parametrize("exchange_type, binding_key, routing_key, expected", [
    ("direct", "a.b", "a.b", True), ("direct", "a.*", "a.b", False),
    ("topic", "*", "", False), ("topic", "#", "", True), ("topic", "a.#.b", "a.b", True),
    ("topic", "*.*", ".", True), ("topic", "a.*", "a", False),
    ("fanout", "x", "y", True),
])
def test_matches(exchange_type, binding_key, routing_key, expected):
    assert matches(exchange_type, binding_key, routing_key) is expected


def test_headers_rules():
    assert headers_match({}, {"a": 1})  # x-match all, nothing asked
    assert not headers_match({"x-match": "any"}, {"a": 1})
    assert headers_match({"a": None}, {"a": "anything"}) and not headers_match({"a": None}, {})
    assert not headers_match({"b": 1}, {"b": True}) and headers_match({"b": 1}, {"b": 1.0})
    assert headers_match({"x-k": 1}, {}) and not headers_match(
        {"x-match": "all-with-x", "x-k": 1}, {})


def delivered(exchange_type, declared, routing_key, message_headers, exchange="ex"):
    """Declare it all on the embedded broker, publish once: the queues that got it, and
    the snapshot taken before publishing."""
    url = course_broker.add_vhost(next(vhosts))
    with course_broker.connect(url) as conn:
        channel = conn.channel()
        channel.exchange_declare(exchange="ex", type=exchange_type, durable=False,
                                 auto_delete=False)
        for queue in QUEUES:
            channel.queue_declare(queue=queue, durable=False, auto_delete=False)
        for queue, key, arguments in declared:
            channel.queue_bind(queue=queue, exchange="ex", routing_key=key,
                               arguments=arguments)
        snapshot = topology.snapshot(url)
        kombu.Producer(channel).publish(b"m", exchange=exchange, routing_key=routing_key,
                                        headers=message_headers)
        got = sorted(q for q in QUEUES
                     if channel.queue_declare(queue=q, passive=True).message_count)
    return got, snapshot


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXCHANGE_TYPES), bindings, keys, headers)
def test_topology_route_names_the_queues_the_broker_delivers_to(exchange_type, declared,
                                                               routing_key, message_headers):
    got, snapshot = delivered(exchange_type, declared, routing_key, message_headers)
    assert snapshot.route("ex", routing_key, message_headers) == got


@given(st.sampled_from([*QUEUES, "nobody", ""]))
def test_the_default_exchange_routes_by_queue_name(routing_key):
    got, snapshot = delivered("direct", [], routing_key, {}, exchange="")
    assert snapshot.route("", routing_key) == got == ([routing_key] if routing_key in QUEUES
                                                      else [])


def test_an_unknown_exchange_is_said():
    with pytest.raises(topology.UnknownExchange, match="nova"):
        topology.Topology().route("nova", "compute")
    assert topology.Topology().route("amq.topic", "x") == []  # every vhost has it


@pytest.fixture(autouse=True, scope="module")
def _empty_broker():
    yield
    course_broker.reset()
