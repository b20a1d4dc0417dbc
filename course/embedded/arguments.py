"""The checks RabbitMQ makes on queue and binding arguments and on message properties.

Queue arguments follow RabbitMQ 3.10 (the Debian node the conformance suite runs):
each queue type knows its own arguments and refuses those of another type with
``invalid arg ... of queue type rabbit_<type>_queue``; an argument no queue type
knows (``x-ha-policy``, ``x-foo``) is accepted and has no effect, as in RabbitMQ.
"""

from __future__ import annotations

from amqp import exceptions as amqp_errors

from .. import routing
from .errors import (
    BASIC_CONSUME,
    BASIC_PUBLISH,
    QUEUE_BIND,
    QUEUE_DECLARE,
    amqp_type,
    error,
    yes_no,
)
from .model import VHost

#: Queue arguments RabbitMQ compares when a queue is declared again, with the value a
#: missing one stands for (an undeclared ``x-queue-type`` is a classic queue).
EQUIVALENCE_ARGUMENTS = {
    "x-expires": None, "x-message-ttl": None, "x-dead-letter-exchange": None,
    "x-dead-letter-routing-key": None, "x-max-length": None, "x-max-length-bytes": None,
    "x-max-priority": None, "x-overflow": None, "x-queue-mode": None,
    "x-queue-type": "classic", "x-single-active-consumer": None, "x-delivery-limit": None,
}

#: Arguments every queue type takes.
COMMON_ARGUMENTS = frozenset({
    "x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
    "x-max-length", "x-max-length-bytes", "x-overflow", "x-single-active-consumer",
    "x-queue-type"})
#: The arguments only one queue type takes (RabbitMQ 3.10).  Those without an effect
#: on a single in-memory node are honoured trivially: ``x-queue-mode`` (``lazy`` pages
#: messages to disk), ``x-queue-master-locator``, ``x-queue-leader-locator`` and
#: ``x-quorum-initial-group-size`` (which cluster nodes hold the queue),
#: ``x-max-in-memory-length``/``-bytes`` (how much of a quorum queue stays in memory).
TYPE_ARGUMENTS = {
    "classic": frozenset({"x-max-priority", "x-queue-mode", "x-queue-master-locator"}),
    "quorum": frozenset({"x-delivery-limit", "x-queue-leader-locator",
                         "x-max-in-memory-length", "x-max-in-memory-bytes",
                         "x-quorum-initial-group-size", "x-dead-letter-strategy"}),
    "stream": frozenset({"x-max-age", "x-stream-max-segment-size-bytes",
                         "x-initial-cluster-size"}),
}
#: The integer arguments: the smallest value RabbitMQ accepts and the largest
#: (``x-max-priority``: at most 255 priorities).  RabbitMQ 3.10 does not check
#: ``x-delivery-limit``; the embedded broker refuses what it could not honour.
INTEGER_ARGUMENTS = {"x-expires": (1, None), "x-message-ttl": (0, None),
                     "x-max-length": (0, None), "x-max-length-bytes": (0, None),
                     "x-max-priority": (0, 255), "x-delivery-limit": (0, None)}
#: The string arguments, with the values RabbitMQ accepts (None: any) and the reason it
#: gives for another value.
CHOICES = {
    "x-dead-letter-routing-key": (None, ""),
    "x-overflow": (("drop-head", "reject-publish", "reject-publish-dlx"), "invalid_overflow"),
    "x-queue-type": (("classic", "quorum", "stream"), "\"unsupported queue type '{}'\""),
    "x-queue-mode": (("default", "lazy"), "\"unsupported queue mode '{}'\""),
    "x-queue-master-locator": (("client-local", "min-masters", "random"),
                               "invalid_queue_locator_arg"),
    "x-queue-leader-locator": (("client-local", "balanced"), "invalid_queue_locator_arg"),
    "x-dead-letter-strategy": (("at-most-once", "at-least-once"), "invalid_dlx_strategy"),
}
#: What the embedded broker refuses rather than honours (a channel error, never ignored).
NOT_HONOURED = {
    ("x-queue-type", "stream"): "stream queues are not implemented by the course's "
                                "embedded broker (use RabbitMQ)",
    ("x-dead-letter-strategy", "at-least-once"): "at-least-once dead-lettering is not "
                                                 "implemented by the course's embedded "
                                                 "broker (use RabbitMQ)",
}
#: What a quorum queue cannot be: (flag, the name RabbitMQ gives it), in its order.
QUORUM_PROPERTIES = (("auto_delete", "auto-delete"), ("exclusive", "exclusive-owner"),
                     ("non_durable", "non-durable"))


def expiration_ttl(properties: dict) -> float | None:
    expiration = properties.get("expiration")
    if expiration in (None, ""):
        return None
    try:
        return max(int(expiration), 0) / 1000.0
    except (TypeError, ValueError):
        raise error(amqp_errors.PreconditionFailed,
                    f"PRECONDITION_FAILED - invalid expiration '{expiration}'",
                    BASIC_PUBLISH) from None


def check_x_match(arguments: dict) -> None:
    """RabbitMQ refuses a headers binding whose ``x-match`` it does not know."""
    if "x-match" not in arguments:
        return
    mode = arguments["x-match"]
    if not isinstance(mode, str):
        raise error(amqp_errors.PreconditionFailed,
                    f"PRECONDITION_FAILED - Invalid x-match field type {amqp_type(mode)} "
                    f"(value {yes_no(mode)}); expected longstr", QUEUE_BIND)
    if mode not in routing.X_MATCH:
        raise error(amqp_errors.PreconditionFailed,
                    f'PRECONDITION_FAILED - Invalid x-match field value <<"{mode}">>; '
                    "expected all, any, all-with-x, or any-with-x", QUEUE_BIND)


def _integer_problem(value: object, lowest: int, highest: int | None) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f'"expected integer, got {amqp_type(value)}"'
    if value < 0:
        return f"{{value_negative,{value}}}"
    if value < lowest:
        return f"{{value_zero,{value}}}"
    if highest is not None and value > highest:
        return f"{{max_value_exceeded,{value}}}"
    return None


def _value_problem(key: str, value: object, arguments: dict) -> str | None:
    """Why RabbitMQ refuses this value of a known argument (None: it does not)."""
    if key in INTEGER_ARGUMENTS:
        return _integer_problem(value, *INTEGER_ARGUMENTS[key])
    if key == "x-single-active-consumer":
        return None if isinstance(value, bool) else f"{{unacceptable_type,{amqp_type(value)}}}"
    if key in CHOICES:
        allowed, reason = CHOICES[key]
        if not isinstance(value, str):
            return f"{{unacceptable_type,{amqp_type(value)}}}"
        if allowed is not None and value not in allowed:
            return reason.format(value)
        if key == "x-dead-letter-routing-key" and "x-dead-letter-exchange" not in arguments:
            return "routing_key_but_no_dlx_defined"
    return None


#: Consumer arguments RabbitMQ acts on that the embedded broker refuses rather than ignores.
#: It honours ``x-cancel-on-ha-failover`` as RabbitMQ does on a queue that is not mirrored:
#: it has no mirrors, so no master ever moves and the consumer is never cancelled.  Other
#: keys RabbitMQ ignores, and so does the embedded broker.
CONSUMER_NOT_HONOURED = {
    "x-priority": "consumer priorities are not implemented by the course's embedded broker "
                  "(use RabbitMQ)",
}


def check_consumer_arguments(queue: str, arguments: dict) -> None:
    """A ``basic.consume``'s arguments: refused (406) where the embedded broker would
    otherwise ignore what RabbitMQ acts on."""
    for key in arguments:
        if key in CONSUMER_NOT_HONOURED:
            raise error(amqp_errors.PreconditionFailed,
                        f"PRECONDITION_FAILED - invalid arg '{key}' for consumer of queue "
                        f"'{queue}': {CONSUMER_NOT_HONOURED[key]}", BASIC_CONSUME)


def check_queue_arguments(name: str, vhost: VHost, arguments: dict, durable: bool = False,
                          exclusive: bool = False, auto_delete: bool = False) -> None:
    """The checks RabbitMQ makes when a queue is created, in its order: each argument's
    value, then the arguments of another queue type, then a quorum queue's properties;
    and what the embedded broker does not implement."""
    where = f"for queue '{name}' in vhost '{vhost.name}'"

    def refuse(text: str) -> Exception:
        return error(amqp_errors.PreconditionFailed, f"PRECONDITION_FAILED - {text}",
                     QUEUE_DECLARE)

    dlx = arguments.get("x-dead-letter-exchange")
    if dlx is not None and not isinstance(dlx, str):
        raise refuse(f"invalid type '{amqp_type(dlx)}' for arg 'x-dead-letter-exchange' in "
                     f"queue '{name}' in vhost '{vhost.name}'")
    for key, value in arguments.items():
        problem = _value_problem(key, value, arguments)
        if problem is not None:
            raise refuse(f"invalid arg '{key}' {where}: {problem}")
    kind = arguments.get("x-queue-type") or "classic"
    for key, value in arguments.items():
        if isinstance(value, str) and (key, value) in NOT_HONOURED:
            raise refuse(f"invalid arg '{key}' {where}: {NOT_HONOURED[key, value]}")
    for key in arguments:
        if key not in COMMON_ARGUMENTS and key not in TYPE_ARGUMENTS[kind] and any(
                key in known for known in TYPE_ARGUMENTS.values()):
            raise refuse(f"invalid arg '{key}' {where} of queue type rabbit_{kind}_queue")
    if kind == "quorum":
        flags = {"auto_delete": auto_delete, "exclusive": exclusive, "non_durable": not durable}
        for flag, what in QUORUM_PROPERTIES:
            if flags[flag]:
                raise refuse(f"invalid property '{what}' {where}")
