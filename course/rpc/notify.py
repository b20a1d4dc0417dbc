"""Notifications: a Notifier publishes to ``<topic>.<priority>`` (creating the queue), a
listener consumes, acknowledging after it handled the message.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import kombu

from ..i18n import _
from ..wire import (
    SECRET_CONTEXT_KEYS,
    deserialize_msg,
    pack_context,
    unpack_context,
)
from . import declarations
from .consumer import ConsumerThread, DuplicateFilter
from .target import NoOpSerializer, Target
from .transport import Transport

LOG = logging.getLogger(__name__)


class NotificationResult:
    HANDLED = "handled"
    REQUEUE = "requeue"


class Notifier:
    """Sends notifications to ``<topic>.<priority>`` queues on the control exchange."""

    PRIORITIES = ("audit", "debug", "info", "warn", "error", "critical", "sample")

    def __init__(self, transport: Transport, publisher_id: str | None = None,
                 driver: str = "messagingv2", topics: Iterable[str] = ("notifications",),
                 serializer: Any = None) -> None:
        if driver not in ("messagingv2", "messaging", "noop"):
            raise ValueError(_("Unknown notification driver {driver}: use messagingv2, "
                               "messaging or noop.", driver=driver))
        self.transport = transport
        self.publisher_id = publisher_id
        self.driver = driver
        self.topics = tuple(topics)
        self.serializer = serializer or NoOpSerializer()

    def prepare(self, publisher_id: str | None = None) -> Notifier:
        return Notifier(self.transport, publisher_id or self.publisher_id, self.driver,
                        self.topics, self.serializer)

    def is_enabled(self) -> bool:
        return self.driver != "noop"

    def _notify(self, ctxt: dict, event_type: str, payload: Any, priority: str) -> None:
        if not self.is_enabled():
            return
        safe = {k: v for k, v in dict(ctxt or {}).items() if k not in SECRET_CONTEXT_KEYS}
        message = {"message_id": str(uuid.uuid4()), "publisher_id": self.publisher_id,
                   "event_type": event_type, "priority": priority.upper(),
                   "payload": self.serializer.serialize_entity(ctxt, payload),
                   "timestamp": str(datetime.now(timezone.utc).replace(tzinfo=None))}
        for topic in self.topics:
            key = f"{topic}.{priority.lower()}"
            exchange = self.transport.control_exchange_for(Target())
            queue = declarations.topic_queue(self.transport.conf, exchange, key)
            msg = dict(message, _unique_id=uuid.uuid4().hex)
            pack_context(msg, self.serializer.serialize_context(safe))
            try:
                self.transport.publish(exchange, key, msg, "notify", declare_queue=queue,
                                       envelope=self.driver == "messagingv2")
            except Exception:  # as oslo: a notification never fails its sender
                LOG.exception("Could not send notification to %s. Payload=%s", key, payload)

    def audit(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "audit")

    def debug(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "debug")

    def info(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "info")

    def warn(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "warn")

    warning = warn

    def error(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "error")

    def critical(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "critical")

    def sample(self, ctxt: dict, event_type: str, payload: Any) -> None:
        self._notify(ctxt, event_type, payload, "sample")


def get_notifier(transport: Transport, publisher_id: str | None = None,
                 **kwargs: Any) -> Notifier:
    return Notifier(transport, publisher_id, **kwargs)


@dataclass
class NotificationListener:
    """Consumes ``<topic>.<priority>`` for the priorities its endpoints have methods for.

    Unlike RPC, a notification is acknowledged *after* the endpoint ran, and an endpoint
    may ask for it to be requeued (``allow_requeue``); an endpoint that raises asks for a
    requeue too.  With a ``pool``, every priority is read from one queue named after it.
    """

    transport: Transport
    targets: list[Target]
    endpoints: list[Any]
    pool: str | None = None
    allow_requeue: bool = False
    serializer: Any = None
    _consumer: ConsumerThread | None = field(default=None, repr=False)
    _duplicates: DuplicateFilter = field(default_factory=DuplicateFilter, repr=False)

    def __post_init__(self) -> None:
        self.serializer = self.serializer or NoOpSerializer()

    def _queues(self) -> list[kombu.Queue]:
        queues = []
        for target in self.targets:
            exchange = self.transport.control_exchange_for(target)
            for priority in Notifier.PRIORITIES:
                if any(hasattr(e, priority) for e in self.endpoints):
                    key = f"{target.topic}.{priority}"
                    queues.append(declarations.topic_queue(self.transport.conf, exchange,
                                                           self.pool or key, key))
        return queues

    def start(self) -> None:
        self._consumer = ConsumerThread(self.transport, self._queues(), self._on_message,
                                        name=f"{self.transport.service} notifications")
        self._consumer.start()

    def stop(self) -> None:
        if self._consumer is not None:
            self._consumer.stop()

    def wait(self) -> None:
        """Nothing is handled in the background once stopped."""

    def _on_message(self, queue: kombu.Queue, body: dict, message: kombu.Message) -> None:
        msg = deserialize_msg(body)
        unique_id = msg.pop("_unique_id", None)
        trace = self.transport.trace
        fields = dict(queue=queue.name, routing_key=message.delivery_info.get("routing_key", ""),
                      request_id=msg.get("_context_request_id", ""), unique_id=unique_id or "",
                      broker=self.transport.broker)
        if trace is not None:
            trace.record("deliver", "notify", self.transport.service, **fields,
                         redelivered=bool(message.delivery_info.get("redelivered")))
        if unique_id in self._duplicates:  # handled and acknowledged already
            message.ack()
            if trace is not None:
                trace.record("drop", "notify", self.transport.service, **fields)
            return
        result = self.dispatch(msg)
        if result == NotificationResult.REQUEUE and self.allow_requeue:
            message.requeue()
            action = "requeue"
        else:
            message.ack()
            self._duplicates.add(unique_id)
            action = "ack"
        if trace is not None:
            trace.record(action, "notify", self.transport.service, **fields)

    def dispatch(self, msg: dict) -> str:
        """Every endpoint with a method for the priority, in order, until one asks for a
        requeue (as oslo's NotificationDispatcher)."""
        ctxt = self.serializer.deserialize_context(unpack_context(msg))
        priority = str(msg.get("priority", "")).lower()
        payload = self.serializer.deserialize_entity(ctxt, msg.get("payload"))
        metadata = {"message_id": msg.get("message_id"), "timestamp": msg.get("timestamp")}
        for endpoint in self.endpoints:
            handler = getattr(endpoint, priority, None) if priority in Notifier.PRIORITIES \
                else None
            if handler is None:
                continue
            try:
                result = handler(ctxt, msg.get("publisher_id"), msg.get("event_type"), payload,
                                 metadata)
            except Exception:
                LOG.exception("%s: notification endpoint raised", self.transport.service)
                result = NotificationResult.REQUEUE
            if result == NotificationResult.REQUEUE:
                return result
        return NotificationResult.HANDLED


def get_notification_listener(transport: Transport, targets: list[Target],
                              endpoints: list[Any], *, serializer: Any = None,
                              allow_requeue: bool = False,
                              pool: str | None = None) -> NotificationListener:
    return NotificationListener(transport, targets, endpoints, pool, allow_requeue, serializer)

