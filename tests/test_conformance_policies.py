"""Broker conformance, policies (``rabbitmqctl set_policy``, here ``course.policies``):
the queues they match now and later, the highest priority, a queue's own arguments
against its policy (the lower number; the argument for the other keys), clearing, TTLs,
and the policies RabbitMQ refuses.  Before relying on a change, a case waits until the
queue reports its policy (on RabbitMQ the management API learns it a moment later)."""

from __future__ import annotations

import pytest
from amqp.exceptions import MessageNacked, PreconditionFailed
from amqp_helpers import declare_queue, eventually, publish, ready_count
from kombu import Exchange

from course import policies
from course.policies import PolicyError


def set_policy(broker, name, pattern, definition, **options):
    policies.set_policy(broker.url, name, pattern, definition,
                        management_url=broker.management_url, **options)


def clear_policy(broker, name):
    policies.clear_policy(broker.url, name, management_url=broker.management_url)


def follows(broker, queue, policy):
    """Wait until ``queue`` reports that it follows ``policy`` (None: none)."""
    return eventually(lambda: broker.topology().queues[queue].policy == policy)


def fill(channel, queue, count):
    for i in range(count):
        publish(channel, f"m{i}", routing_key=queue)


def test_policy_applies_to_existing_and_later_queues(broker):
    """A policy caps the queues it matches at once (the oldest go), and the queues
    declared later; a name it does not match keeps its messages."""
    channel = broker.connect().channel()
    for name in ("notifications.info", "versioned_notifications.info"):
        declare_queue(channel, name)
        fill(channel, name, 6)
    set_policy(broker, "notif", r"^notifications\.", {"max-length": 3})
    assert eventually(lambda: ready_count(channel, "notifications.info") == 3)
    assert [p["name"] for p in policies.policies(
        broker.url, management_url=broker.management_url)] == ["notif"]
    declare_queue(channel, "notifications.error")
    fill(channel, "notifications.error", 5)
    assert ready_count(channel, "notifications.error") == 3
    assert ready_count(channel, "versioned_notifications.info") == 6
    assert follows(broker, "notifications.info", "notif")
    view = broker.topology()
    assert view.queues["notifications.info"].effective_policy_definition == {"max-length": 3}
    assert view.queues["notifications.info"].arguments == {}
    assert view.queues["versioned_notifications.info"].policy is None


def test_the_lower_number_wins(broker):
    """``max-length`` in the queue's arguments and in its policy: the lower applies."""
    channel = broker.connect().channel()
    declare_queue(channel, "five", queue_arguments={"x-max-length": 5})
    declare_queue(channel, "one", queue_arguments={"x-max-length": 1})
    for name in ("five", "one"):
        fill(channel, name, 6)
    set_policy(broker, "cap", "^(five|one)$", {"max-length": 3})
    assert eventually(lambda: ready_count(channel, "five") == 3)
    assert follows(broker, "one", "cap")
    fill(channel, "one", 2)
    assert ready_count(channel, "one") == 1


def test_the_argument_wins_for_overflow_and_dead_letter_exchange(broker):
    """A queue's own ``x-overflow`` and ``x-dead-letter-exchange`` win over its policy's;
    where the queue has none, the policy's apply.  The limit is set before the mode, so a
    queue that dropped its oldest messages still does so when the policy lowers it."""
    channel = broker.connect().channel()
    for name in ("arg", "pol"):
        exchange = Exchange(f"{name}-dlx", "fanout", durable=False)
        exchange.declare(channel=channel)
        declare_queue(channel, f"dead-{name}", exchange=exchange)
    declare_queue(channel, "own", queue_arguments={"x-overflow": "drop-head",
                                                   "x-dead-letter-exchange": "arg-dlx"})
    declare_queue(channel, "plain")
    for name in ("own", "plain"):
        fill(channel, name, 3)
    set_policy(broker, "p", "^(own|plain)$", {"max-length": 2, "overflow": "reject-publish",
                                              "dead-letter-exchange": "pol-dlx"})
    assert eventually(lambda: ready_count(channel, "dead-arg") == 1)
    assert eventually(lambda: ready_count(channel, "dead-pol") == 1)
    assert follows(broker, "own", "p") and follows(broker, "plain", "p")
    fill(channel, "own", 1)  # drop-head: accepted, the oldest dead-lettered to arg-dlx
    assert ready_count(channel, "own") == 2
    assert eventually(lambda: ready_count(channel, "dead-arg") == 2)
    with pytest.raises(MessageNacked):  # reject-publish, from the policy
        fill(channel, "plain", 1)
    assert ready_count(channel, "plain") == 2


def test_highest_priority_wins_and_clearing_restores(broker):
    channel = broker.connect().channel()
    declare_queue(channel, "q")
    fill(channel, "q", 5)
    set_policy(broker, "low", "^q$", {"max-length": 3})
    set_policy(broker, "high", ".*", {"max-length": 2}, priority=1)
    assert eventually(lambda: ready_count(channel, "q") == 2)
    assert follows(broker, "q", "high")
    clear_policy(broker, "high")
    assert follows(broker, "q", "low")
    fill(channel, "q", 2)
    assert ready_count(channel, "q") == 3
    clear_policy(broker, "low")
    assert follows(broker, "q", None)
    fill(channel, "q", 2)
    assert ready_count(channel, "q") == 5
    with pytest.raises(PolicyError, match="no policy low"):
        clear_policy(broker, "low")


def test_policy_message_ttl_and_expires(broker):
    """``message-ttl``: the lower of the argument and the policy, for the messages
    published after it; ``expires`` deletes a queue left unused."""
    channel = broker.connect().channel()
    declare_queue(channel, "slow", queue_arguments={"x-message-ttl": 600_000})
    declare_queue(channel, "unused")
    set_policy(broker, "ttl", "^slow$", {"message-ttl": 50})
    set_policy(broker, "exp", "^unused$", {"expires": 200})
    assert follows(broker, "slow", "ttl")
    fill(channel, "slow", 1)
    assert eventually(lambda: ready_count(channel, "slow") == 0)
    assert eventually(lambda: "unused" not in broker.topology().queues)


@pytest.mark.parametrize(("definition", "options", "reason"), [
    ({"x-max-length": 10}, {}, '[{<<"x-max-length">>,10}] are not recognised policy settings'),
    ({"max-length": -1}, {}, "-1 is not a valid maximum length"),
    ({"max-length": 1.5}, {}, "1.5 is not a valid maximum length"),
    ({"overflow": "nope"}, {}, '<<"nope">> is not a valid overflow value'),
    ({"expires": 0}, {}, "0 is not a valid queue expiry"),
    ({"message-ttl": "1"}, {}, '<<"1">> is not a valid message TTL'),
    ({"dead-letter-exchange": 5}, {}, "5 is not a valid dead letter exchange name"),
    ({}, {}, "no policy provided"),
    ({"max-length": 1}, {"apply_to": "nope"}, "apply-to 'nope' unrecognised"),
])
def test_refused_policies_say_why(broker, definition, options, reason):
    with pytest.raises(PolicyError) as refused:
        set_policy(broker, "bad", "^x$", definition, **options)
    assert reason in str(refused.value) and "policy bad" in str(refused.value)
    assert policies.policies(broker.url, management_url=broker.management_url) == []


def test_declaring_the_queue_with_a_limit_fails_for_oslo(broker):
    """The publisher declared ``notifications.info`` with no arguments: a declaration with
    ``x-max-length`` is refused (406), which is why operators use a policy."""
    channel = broker.connect().channel()
    declare_queue(channel, "notifications.info")
    with pytest.raises(PreconditionFailed) as refused:
        declare_queue(broker.connect().channel(), "notifications.info",
                      queue_arguments={"x-max-length": 10})
    assert "inequivalent arg 'x-max-length' for queue 'notifications.info'" in str(
        refused.value)
    assert "received the value '10' of type 'signedint' but current is none" in str(
        refused.value)


def test_embedded_refuses_what_it_does_not_implement(url):
    """A key RabbitMQ knows but the embedded broker does not implement is refused."""
    with pytest.raises(PolicyError, match="does not implement the policy key ha-mode"):
        policies.set_policy(url, "ha", ".*", {"ha-mode": "all"})
    assert policies.policies(url) == []


def test_a_policy_for_a_vhost_that_does_not_exist_is_refused_clearly():
    with pytest.raises(PolicyError, match=r"no vhost ghost .*add_vhost\('ghost'\)"):
        policies.set_policy("embedded:///ghost", "cap", ".*", {"max-length": 1})
    with pytest.raises(PolicyError, match="no policy cap in vhost ghost"):
        policies.clear_policy("embedded:///ghost", "cap")
