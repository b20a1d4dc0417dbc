"""Dead-lettering, as RabbitMQ 3.10 does it (a mixin of
:class:`~course.embedded.broker.Broker`, under its lock).

A message dies in a queue with ``x-dead-letter-exchange`` when it is rejected
(``basic.reject`` or ``basic.nack`` without requeue: reason ``rejected``), when it
expires (``expired``), when a length limit pushes it out (``maxlen``) or when a quorum
queue's ``x-delivery-limit`` is passed (``delivery_limit``).  It is then published
again, to that exchange, with ``x-dead-letter-routing-key`` or its own routing keys,
without its ``expiration``, and with an ``x-death`` header: a list of tables (``count``,
``reason``, ``queue``, ``time``, ``exchange``, ``routing-keys``, ``original-expiration``
when it had one), the most recent death first; dying again in the same queue for the
same reason adds one to that table's ``count`` and moves it first.  The
``x-first-death-reason``, ``-queue`` and ``-exchange`` headers name the first death and
never change (RabbitMQ 3.10 writes no ``x-last-death-*``: 3.13 added them).

A missing dead-letter exchange drops the message.  A message that would come back
to a queue it already died in, with no rejection on the way, is in a cycle: it is
dropped for that queue (RabbitMQ's ``is_cycle``).  Expired messages are dead-lettered
when they reach the head of their queue, on time: the broker's next operation, or a
thread waiting for deliveries, does it when the earliest one is due.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from .model import Entry, Payload, Queue, clock


def _timestamp() -> datetime:
    """Now, as an AMQP timestamp reads (whole seconds, UTC, as py-amqp decodes it)."""
    return datetime.fromtimestamp(int(time.time()), timezone.utc).replace(tzinfo=None)


def _is_cycle(queue: str, deaths: list[dict]) -> bool:
    """Whether a message with these deaths (most recent first) would cycle back to
    ``queue``: it died there before, and never by a rejection since."""
    for death in deaths:
        if death.get("reason") == "rejected":
            return False
        if death.get("queue") == queue:
            return True
    return False


def x_death(payload: Payload, queue: str, reason: str) -> dict:
    """The headers of a message dying in ``queue`` for ``reason``."""
    headers = dict(payload.headers)
    deaths = [dict(d) for d in headers.get("x-death") or () if isinstance(d, dict)]
    for i, death in enumerate(deaths):
        if death.get("queue") == queue and death.get("reason") == reason:
            death["count"] = (death.get("count") or 0) + 1
            deaths.insert(0, deaths.pop(i))
            break
    else:
        death = {"count": 1, "reason": reason, "queue": queue, "time": _timestamp(),
                 "exchange": payload.exchange, "routing-keys": _routing_keys(payload)}
        expiration = payload.properties.get("expiration")
        if expiration not in (None, ""):
            death["original-expiration"] = expiration
        deaths.insert(0, death)
    headers["x-death"] = deaths
    headers.setdefault("x-first-death-reason", reason)
    headers.setdefault("x-first-death-queue", queue)
    headers.setdefault("x-first-death-exchange", payload.exchange)
    return headers


def _routing_keys(payload: Payload) -> list[str]:
    """A message's routing key, then those of its ``CC`` header."""
    cc = payload.headers.get("CC")
    return [payload.routing_key, *(k for k in cc if isinstance(k, str))] if isinstance(
        cc, list) else [payload.routing_key]


class DeadLettering:
    """What happens to a message that dies in a queue."""

    def _dead_letter(self, queue: Queue, entry: Entry, reason: str) -> None:
        vhost = queue.vhost
        exchange = vhost.exchanges.get(queue.dlx)
        if exchange is None:
            return  # RabbitMQ drops it
        payload = entry.payload
        properties = dict(payload.properties)
        properties.pop("expiration", None)
        headers = x_death(payload, queue.name, reason)
        keys = [queue.dlrk] if queue.dlrk is not None else _routing_keys(payload)
        dead = Payload(payload.body, payload.content_type, payload.content_encoding, headers,
                       properties, exchange.name, keys[0])
        names = list(dict.fromkeys(name for key in keys
                                   for name in self._route(vhost, exchange, key, headers)))
        if reason != "rejected":
            names = [n for n in names if not _is_cycle(n, headers["x-death"])]
        self._enqueue(vhost, names, dead, None)

    # -- expiry on time -------------------------------------------------------------------

    def _watch_head(self, queue: Queue) -> None:
        """Note when the message at the head of a queue with a dead-letter exchange
        expires (only the head expires: RabbitMQ's rule)."""
        if queue.messages:
            at = queue.messages[0].expires_at
            if at is not None and at < self._death_check:
                self._death_check = at

    def _expire_messages(self) -> None:
        """Dead-letter the expired messages at the head of queues with a dead-letter
        exchange, once the earliest is due (without it, they would wait for someone to
        look at their queue, and never reach the dead-letter queue on time)."""
        now = clock()
        if now < self._death_check:
            return
        self._death_check = float("inf")
        for vhost in list(self.vhosts.values()):
            for queue in list(vhost.queues.values()):
                if queue.dead_letter is None:
                    continue
                queue.drop_expired(now)
                self._watch_head(queue)
