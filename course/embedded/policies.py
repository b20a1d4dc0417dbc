"""Policies, as RabbitMQ 3.10 applies them (a mixin of
:class:`~course.embedded.broker.Broker`, under its lock).

A policy is a vhost's rule: every queue whose name the ``pattern`` (a regular
expression, searched anywhere in the name) matches gets the ``definition``, now and
whenever it is declared later.  One policy applies to a queue, the matching one of
highest ``priority`` (RabbitMQ does not say which of two of equal priority: here, the
one set first).  Where a queue's own ``x-`` argument and its policy set the same key,
numbers take the lower of the two (``max-length``, ``max-length-bytes``,
``message-ttl``, ``expires``) and the argument wins for the others (``overflow``,
``dead-letter-exchange``, ``dead-letter-routing-key``): RabbitMQ's
``rabbit_amqqueue_process`` resolution, checked on a 3.10 node by
``tests/test_conformance_policies.py``.

A policy that lowers a queue's limit drops the oldest messages at once when the queue
did drop them (``drop-head``) before or after the change: RabbitMQ sets the length
before the overflow mode.  A new ``message-ttl`` applies to messages published
afterwards; a new ``expires`` counts from the moment it is set.

Only the keys above are honoured.  A key RabbitMQ knows but the embedded broker does
not implement (``ha-mode``, ``delivery-limit``, ``alternate-exchange``...) is refused
with :class:`PolicyNotHonoured`, an unknown key or a bad value with
:class:`PolicyInvalid` and RabbitMQ's reason; never accepted and ignored.
Operator policies are not implemented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Queue, VHost, clock

#: The policy keys the embedded broker honours, each with the queue argument it stands
#: for and RabbitMQ's reason for a bad value.
KEYS = {
    "max-length": ("x-max-length", "{} is not a valid maximum length"),
    "max-length-bytes": ("x-max-length-bytes", "{} is not a valid maximum length in bytes"),
    "message-ttl": ("x-message-ttl", "{} is not a valid message TTL"),
    "expires": ("x-expires", "{} is not a valid queue expiry"),
    "overflow": ("x-overflow", "{} is not a valid overflow value"),
    "dead-letter-exchange": ("x-dead-letter-exchange",
                             "{} is not a valid dead letter exchange name"),
    "dead-letter-routing-key": ("x-dead-letter-routing-key",
                                "{} is not a valid dead letter routing key"),
}
#: Numbers: a queue takes the lower of its argument and its policy (the smallest value).
NUMBERS = {"max-length": 0, "max-length-bytes": 0, "message-ttl": 0, "expires": 1}
OVERFLOWS = ("drop-head", "reject-publish", "reject-publish-dlx")
#: Keys RabbitMQ 3.10 accepts that the embedded broker does not implement.
NOT_HONOURED = frozenset({
    "ha-mode", "ha-params", "ha-sync-mode", "ha-sync-batch-size", "ha-promote-on-shutdown",
    "ha-promote-on-failure", "queue-mode", "queue-master-locator", "queue-leader-locator",
    "delivery-limit", "max-in-memory-length", "max-in-memory-bytes", "dead-letter-strategy",
    "max-age", "stream-max-segment-size-bytes", "alternate-exchange", "federation-upstream",
    "federation-upstream-set", "initial-cluster-size", "max-priority"})
APPLY_TO = ("queues", "exchanges", "all")


class PolicyInvalid(ValueError):
    """RabbitMQ would refuse this policy (its management API answers 400); the text is
    RabbitMQ's reason."""


class PolicyNotHonoured(ValueError):
    """A policy key RabbitMQ knows that the embedded broker does not implement."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Policy:
    name: str
    pattern: str
    definition: dict
    apply_to: str
    priority: int

    def matches(self, queue: str) -> bool:
        return self.apply_to in ("queues", "all") and re.search(self.pattern, queue) is not None

    def record(self, vhost: str) -> dict:
        """The policy as the management API lists it (``GET /api/policies/<vhost>``)."""
        return {"vhost": vhost, "name": self.name, "pattern": self.pattern,
                "apply-to": self.apply_to, "definition": dict(self.definition),
                "priority": self.priority}


def _erlang(value: object) -> str:
    """A value as RabbitMQ's reason prints it (``<<"text">>`` for a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'<<"{value}">>' if isinstance(value, str) else str(value)


def check_policy(name: str, pattern: object, definition: object, apply_to: object,
                 priority: object) -> Policy:
    """The policy, or :class:`PolicyInvalid` / :class:`PolicyNotHonoured`, checked in
    RabbitMQ's order."""
    if not isinstance(definition, dict) or not definition:
        raise PolicyInvalid("no policy provided")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise PolicyInvalid(f"priority should be a number, actually was {_erlang(priority)}")
    if apply_to not in APPLY_TO:
        raise PolicyInvalid(f"apply-to '{apply_to}' unrecognised; should be 'queues', "
                            "'exchanges' or 'all'")
    if not isinstance(pattern, str):
        raise PolicyInvalid(f"pattern should be a string, actually was {_erlang(pattern)}")
    try:
        re.compile(pattern)
    except re.error as error:
        raise PolicyInvalid("pattern should be regular expression but is invalid: "
                            f"{error.msg}") from None
    unknown = [k for k in definition if k not in KEYS and k not in NOT_HONOURED]
    if unknown:
        listed = ",".join(f"{{{_erlang(k)},{_erlang(definition[k])}}}" for k in unknown)
        raise PolicyInvalid(f"[{listed}] are not recognised policy settings")
    for key, value in definition.items():
        if key in NOT_HONOURED:
            raise PolicyNotHonoured(key)
        if key in NUMBERS:
            good = (not isinstance(value, bool) and isinstance(value, int)
                    and value >= NUMBERS[key])
        elif key == "overflow":
            good = value in OVERFLOWS
        else:
            good = isinstance(value, str)
        if not good:
            raise PolicyInvalid(KEYS[key][1].format(_erlang(value)))
    return Policy(name, pattern, dict(definition), str(apply_to), priority)


def resolve(arguments: dict, definition: dict) -> dict:
    """The ``x-`` arguments a queue behaves by: its own, with its policy's keys resolved
    as RabbitMQ does (the lower number; the queue's argument for the others)."""
    effective = dict(arguments)
    for key, value in definition.items():
        argument = KEYS[key][0]
        if argument not in arguments:
            effective[argument] = value
        elif key in NUMBERS:
            effective[argument] = min(arguments[argument], value)
    return effective


class Policies:
    """set_policy and clear_policy, and the policy each queue of a vhost follows."""

    def set_policy(self, vhost: str, name: str, pattern: object, definition: object,
                   apply_to: object = "queues", priority: object = 0) -> None:
        """Raises ``NotAllowed`` (530) for a vhost that does not exist."""
        policy = check_policy(name, pattern, definition, apply_to, priority)
        with self.lock:
            self._reap()
            vh = self._vhost(vhost)
            vh.policies[name] = policy
            self._apply_policies(vh)

    def clear_policy(self, vhost: str, name: str) -> bool:
        """False when the vhost has no such policy."""
        with self.lock:
            self._reap()
            vh = self.vhosts.get(vhost or "/")
            if vh is None or vh.policies.pop(name, None) is None:
                return False
            self._apply_policies(vh)
            return True

    def policies(self, vhost: str) -> list[dict]:
        with self.lock:
            vh = self.vhosts.get(vhost or "/")
            return [] if vh is None else [p.record(vh.name) for p in vh.policies.values()]

    @staticmethod
    def _policy_for(vhost: VHost, queue: str) -> Policy | None:
        """The matching policy of highest priority (the first set, among equals)."""
        best = None
        for policy in vhost.policies.values():
            if policy.matches(queue) and (best is None or policy.priority > best.priority):
                best = policy
        return best

    def _configure(self, queue: Queue) -> None:
        """Give a queue the policy that matches it now, and behave by it."""
        policy = self._policy_for(queue.vhost, queue.name)
        queue.policy = policy.name if policy else None
        queue.policy_definition = dict(policy.definition) if policy else {}
        queue.configure(resolve(queue.arguments, queue.policy_definition))
        queue.dead_letter = self._dead_letter if queue.dlx is not None else None

    def _apply_policies(self, vhost: VHost) -> None:
        for queue in list(vhost.queues.values()):
            before = (queue.overflow, queue.expires)
            self._configure(queue)
            if queue.limited and "drop-head" in (before[0], queue.overflow):
                self._drop_heads(queue, force=True)
            if queue.expires != before[1]:
                queue.last_used = clock()
                self._schedule_expiry(queue)
            if queue.dead_letter is not None:
                self._watch_head(queue)
            self._dispatch(queue)
