"""Channel errors as RabbitMQ writes them: its codes, its texts, the AMQP method."""

from __future__ import annotations

from amqp import exceptions as amqp_errors

from .model import VHost

EXCHANGE_DECLARE, EXCHANGE_DELETE = (40, 10), (40, 20)
QUEUE_DECLARE, QUEUE_BIND, QUEUE_PURGE, QUEUE_DELETE, QUEUE_UNBIND = (
    (50, 10), (50, 20), (50, 30), (50, 40), (50, 50))
BASIC_QOS, BASIC_CONSUME, BASIC_PUBLISH, BASIC_GET = (60, 10), (60, 20), (60, 40), (60, 70)
BASIC_ACK, BASIC_REJECT, BASIC_RECOVER, BASIC_NACK = (60, 80), (60, 90), (60, 110), (60, 120)



def error(cls: type[amqp_errors.AMQPError], text: str, method: tuple[int, int]) -> Exception:
    return cls(text, method, reply_code=cls.code)


def not_found(kind: str, name: str, vhost: VHost, method: tuple[int, int]) -> Exception:
    return error(amqp_errors.NotFound,
                  f"NOT_FOUND - no {kind} '{name}' in vhost '{vhost.name}'", method)


def yes_no(value: object) -> str:
    """A value as RabbitMQ writes it in an error text (Erlang's true and false)."""
    return "true" if value is True else "false" if value is False else str(value)



def describe_arg(value: object) -> str:
    if value is None:
        return "none"
    return f"the value '{yes_no(value)}' of type '{amqp_type(value)}'"


def amqp_type(value: object) -> str:
    """The AMQP field type py-amqp sends a Python value as (what RabbitMQ names)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "signedint" if -2**31 <= value < 2**31 else "long"
    if isinstance(value, float):
        return "double"
    return {str: "longstr", bytes: "longstr", dict: "table", list: "array",
            type(None): "void"}.get(type(value), type(value).__name__)
