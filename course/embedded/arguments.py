"""The checks RabbitMQ makes on queue and binding arguments and on message properties."""

from __future__ import annotations

from amqp import exceptions as amqp_errors

from .. import routing
from .errors import BASIC_PUBLISH, QUEUE_BIND, QUEUE_DECLARE, amqp_type, error, yes_no
from .model import VHost

#: Queue arguments RabbitMQ compares when a queue is declared again.
EQUIVALENCE_ARGUMENTS = (
    "x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
    "x-max-length", "x-max-length-bytes", "x-max-priority", "x-overflow", "x-queue-mode",
    "x-queue-type", "x-single-active-consumer", "x-delivery-limit",
)



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


#: The integer queue arguments RabbitMQ checks when a queue is created: the smallest
#: value it accepts and the largest (``x-max-priority``: at most 255 priorities).
INTEGER_ARGUMENTS = {"x-expires": (1, None), "x-message-ttl": (0, None),
                     "x-max-priority": (0, 255)}


def check_queue_arguments(name: str, vhost: VHost, arguments: dict) -> None:
    """The argument checks RabbitMQ makes when a queue is created."""
    for key, (lowest, highest) in INTEGER_ARGUMENTS.items():
        if key not in arguments:
            continue
        value = arguments[key]
        if isinstance(value, bool) or not isinstance(value, int):
            problem = f'"expected integer, got {amqp_type(value)}"'
        elif value < 0:
            problem = f"{{value_negative,{value}}}"
        elif value < lowest:
            problem = f"{{value_zero,{value}}}"
        elif highest is not None and value > highest:
            problem = f"{{max_value_exceeded,{value}}}"
        else:
            continue
        raise error(amqp_errors.PreconditionFailed,
                     f"PRECONDITION_FAILED - invalid arg '{key}' for queue '{name}' in "
                     f"vhost '{vhost.name}': {problem}", QUEUE_DECLARE)
