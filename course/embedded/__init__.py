"""The embedded broker: AMQP 0-9-1 semantics, in the kernel's own process.

This package is the broker itself, with no kombu in it: vhosts, exchanges,
queues, bindings, consumers, unacknowledged messages, and the rules RabbitMQ
applies to them.  ``course.kombu_transport`` puts a kombu transport in front of
it, so learners use the ordinary kombu API.

Where kombu's stock ``memory://`` transport differs from RabbitMQ, this broker
follows RabbitMQ (see ``tests/test_conformance_*.py``, which run the same cases
on both):

* routing, through :mod:`course.routing` (topic ``#`` matches zero or more words,
  ``*`` exactly one; headers ``x-match`` all and any);
* a message a consumer has not acknowledged goes back to its own queue,
  flagged ``redelivered``, when the channel or the connection closes, or on
  ``reject(requeue=True)`` and ``recover``; it keeps its place in the queue;
* channel errors with RabbitMQ's codes and texts (404, 405, 406, 403), after
  which the channel is closed;
* message TTL, ``x-message-ttl``, ``x-expires``, ``auto_delete``, ``exclusive``;
* priority queues (``x-max-priority``): higher priorities first, first in first out
  within one, a message's priority capped at the queue's maximum;
* ``mandatory`` messages that route nowhere are returned to their publisher;
* per-consumer prefetch (``basic_qos``), round-robin between consumers;
* dead-lettering (:mod:`.deadletter`): ``x-dead-letter-exchange`` and
  ``-routing-key``, reasons ``rejected``, ``expired`` (on time, even with nobody
  looking at the queue), ``maxlen`` and ``delivery_limit``, the ``x-death`` and
  ``x-first-death-*`` headers as RabbitMQ 3.10 writes them, cycles dropped;
* ``x-max-length`` and ``x-max-length-bytes`` (ready messages, body bytes) with
  ``x-overflow`` ``drop-head``, ``reject-publish`` and ``reject-publish-dlx``; a refused
  publish is a ``basic.nack``: with publisher confirms (``confirm_publish``, which
  ``course.broker.connect()`` turns on as for RabbitMQ) it raises ``MessageNacked``;
* queue types ``classic`` and ``quorum``, each refusing the other's arguments and a
  quorum queue refusing to be transient, exclusive or auto-delete, with RabbitMQ's
  texts; a quorum queue's ``x-delivery-count`` header and ``x-delivery-limit`` (no
  default limit, as in RabbitMQ 3.10: 4.x sets 20); ``x-single-active-consumer``;
* policies (:mod:`.policies`): ``max-length``, ``max-length-bytes``, ``overflow``,
  ``message-ttl``, ``expires``, ``dead-letter-exchange`` and ``-routing-key``, on the
  queues they match now and later, resolved with a queue's own arguments as RabbitMQ
  does; other keys refused;
* users as RabbitMQ keeps them (``guest``/``guest`` by default, ``add_user``): a wrong
  user name or password is refused with ``ACCESS_REFUSED`` (403) and RabbitMQ's text, then
  a vhost nobody made (``add_vhost``) with ``NOT_ALLOWED`` (530), as RabbitMQ does;
* AMQP heartbeats (:mod:`.heartbeats`): the timeout a client asks for, capped at
  RabbitMQ's 60 s; a connection silent for two to three timeouts is closed as RabbitMQ
  3.10 closes it ("missed heartbeats from client, timeout: 2s"), 0 never;
* arguments with no effect on one in-memory node are accepted (``x-queue-mode``, the
  locators, ``x-quorum-initial-group-size``, ``x-max-in-memory-*``); so are the
  ``x-`` arguments no queue type knows, as RabbitMQ accepts them; a consumer's
  ``x-cancel-on-ha-failover`` is honoured as on a queue that is not mirrored (no master
  ever moves, so it is never cancelled).

What it refuses rather than honours, with a 406 channel error that says so (never
accepted and ignored): stream queues, ``x-dead-letter-strategy: at-least-once``, a
consumer's ``x-priority``; a
negative or non-integer ``x-delivery-limit`` (RabbitMQ 3.10 takes any value);
an unknown ``x-queue-master-locator`` value (406, where RabbitMQ 3.10 fails with
541 INTERNAL_ERROR).  Not compared with RabbitMQ yet: where a quorum queue puts a
requeued message (here, at its head, as a classic queue does).

Consumers are pushed their messages, as RabbitMQ does: a delivery goes into
its connection's inbox and wakes the thread waiting there (a condition
variable, no polling).  One lock guards the whole broker, so every operation is
atomic and thread-safe; callbacks always run outside it.

The package, one job a module: :mod:`.model` (the records), :mod:`.errors` (channel
errors as RabbitMQ writes them), :mod:`.arguments` (the checks on arguments),
:mod:`.declarations` (exchanges and queues), :mod:`.delivery` (messages), :mod:`.broker`
(connections, channels, the lock, waiting, the broker's life), :mod:`.deadletter`
(what happens to a message that dies in a queue), :mod:`.policies` (a vhost's rules for
its queues), :mod:`.heartbeats` (silent connections closed).
"""

from __future__ import annotations

from .broker import Broker
from .model import (
    BUILTIN_EXCHANGES,
    WAKE,
    Binding,
    Channel,
    Connection,
    Consumer,
    Delivery,
    Entry,
    Exchange,
    Payload,
    Queue,
    Unacked,
    VHost,
)
from .policies import PolicyInvalid, PolicyNotHonoured

__all__ = ["BROKER", "BUILTIN_EXCHANGES", "WAKE", "Binding", "Broker", "Channel", "Connection",
           "Consumer", "Delivery", "Entry", "Exchange", "Payload", "PolicyInvalid",
           "PolicyNotHonoured", "Queue", "Unacked", "VHost", "describe", "vhosts"]

#: The one embedded broker of this process; every ``embedded://`` connection reaches it.
BROKER = Broker()


def describe(vhost: str = "/") -> dict[str, list[dict]]:
    """The embedded broker's topology, with the management API's field names."""
    return BROKER.describe(vhost)


def vhosts() -> list[str]:
    with BROKER.lock:
        return sorted(BROKER.vhosts)
