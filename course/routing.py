"""AMQP 0-9-1 routing, written once: which queues a message published to an exchange reaches.

The embedded broker routes with it; :meth:`course.topology.Topology.route` answers with
it from a snapshot (of either broker), and so do the diagrams, the player and the
exercises.  One rule per exchange type, as kombu's ``ExchangeType.lookup`` has:

* ``direct``: the bindings whose key equals the routing key;
* ``topic``: keys are words separated by ``.``; in a binding key ``*`` stands for
  exactly one word and ``#`` for zero or more (an empty key has no words at all, so
  ``*`` never matches it, while ``#`` does; ``a..b`` has an empty middle word);
* ``fanout``: every binding, whatever the key;
* ``headers``: the binding arguments against the message headers, ``x-match`` ``all``
  (the default) or ``any``; arguments starting with ``x-`` are not compared unless
  ``x-match`` is ``all-with-x`` or ``any-with-x``; an argument without a value (AMQP
  void, Python ``None``) asks only that the header be present
  (RabbitMQ's ``rabbit_exchange_type_headers.erl``);
* the default exchange ``""``: the queue named by the routing key, if it exists.

Each queue is reached once, however many of its bindings match.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any, Protocol

#: The exchange types a broker knows, each with its matching rule below.
EXCHANGE_TYPES = ("direct", "fanout", "topic", "headers")
#: The values of a headers binding's ``x-match`` argument RabbitMQ accepts.
X_MATCH = ("all", "any", "all-with-x", "any-with-x")


class BindingLike(Protocol):
    """What routing reads of a binding: the embedded broker's and a snapshot's have it."""

    queue: str
    routing_key: str
    arguments: Mapping[str, Any]


def topic_matches(binding_key: str, routing_key: str) -> bool:
    """Topic matching: ``*`` is exactly one word, ``#`` zero or more."""
    return _match(_words(binding_key), _words(routing_key))


def _words(key: str) -> list[str]:
    return key.split(".") if key else []


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _match(rest, words[1:])


def headers_match(arguments: Mapping[str, Any] | None, headers: Mapping[str, Any] | None
                  ) -> bool:
    """Headers matching of a binding's ``arguments`` against a message's ``headers``."""
    arguments, headers = arguments or {}, headers or {}
    mode = arguments.get("x-match", "all")
    with_x = mode in ("all-with-x", "any-with-x")
    wanted = {k: v for k, v in arguments.items()
              if k != "x-match" and (with_x or not k.startswith("x-"))}
    hits = (k in headers and (v is None or _same(v, headers[k])) for k, v in wanted.items())
    return any(hits) if mode in ("any", "any-with-x") else all(hits)


def _same(wanted: Any, value: Any) -> bool:
    """AMQP table values compare by value, but a boolean never equals a number."""
    if isinstance(wanted, bool) or isinstance(value, bool):
        return type(wanted) is type(value) and wanted == value
    return wanted == value


#: Exchange type -> does a binding (its key and arguments) take a message (its routing
#: key and headers)?
RULES: dict[str, Callable[[str, Mapping[str, Any] | None, str, Mapping[str, Any] | None],
                          bool]] = {
    "direct": lambda key, arguments, routing_key, headers: key == routing_key,
    "topic": lambda key, arguments, routing_key, headers: topic_matches(key, routing_key),
    "fanout": lambda key, arguments, routing_key, headers: True,
    "headers": lambda key, arguments, routing_key, headers: headers_match(arguments, headers),
}


def matches(exchange_type: str, binding_key: str, routing_key: str,
            arguments: Mapping[str, Any] | None = None,
            headers: Mapping[str, Any] | None = None) -> bool:
    """Whether a binding of an exchange of ``exchange_type`` takes this message."""
    return RULES[exchange_type](binding_key, arguments, routing_key, headers)


def route(exchange_type: str, bindings: Iterable[BindingLike], routing_key: str,
          headers: Mapping[str, Any] | None = None) -> list[str]:
    """The queues an exchange of ``exchange_type`` with ``bindings`` sends the message to,
    each once, in binding order."""
    rule = RULES[exchange_type]
    return list(dict.fromkeys(b.queue for b in bindings
                              if rule(b.routing_key, b.arguments, routing_key, headers)))


def route_default(routing_key: str, queues: Container[str]) -> list[str]:
    """The default exchange ``""``: the queue whose name is the routing key, if any."""
    return [routing_key] if routing_key in queues else []

