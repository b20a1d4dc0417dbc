"""kombu's face of the embedded broker: ``kombu.Connection("embedded://")``.

A thin adapter.  Every AMQP method a kombu channel offers is passed to
``course.embedded.BROKER``, which holds the state and the rules; this module
only converts between kombu's objects and the broker's, and delivers messages
to consumer callbacks.  Channel methods keep py-amqp's signatures and
defaults, so code written for RabbitMQ runs here unchanged.
"""

from __future__ import annotations

import uuid
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import kombu.transport
from amqp import exceptions as amqp_errors
from amqp import spec
from kombu.message import Message as KombuMessage
from kombu.transport import base

from .embedded import BROKER, WAKE, Delivery, Payload
from .embedded import Channel as BrokerChannel
from .embedded import Connection as BrokerConnection

SCHEME = "embedded"


class Message(KombuMessage):
    """A delivered message, with RabbitMQ's ``delivery_info`` and properties."""

    def __init__(self, channel: Channel, payload: Payload, delivery_tag: int | None = None,
                 delivery_info: dict | None = None, headers: dict | None = None) -> None:
        headers = dict(payload.headers) if headers is None else headers
        properties = dict(payload.properties)
        properties.update(content_type=payload.content_type,
                          content_encoding=payload.content_encoding,
                          application_headers=dict(headers))
        super().__init__(
            body=payload.body, channel=channel, delivery_tag=delivery_tag,
            content_type=payload.content_type, content_encoding=payload.content_encoding,
            delivery_info=delivery_info or {}, properties=properties, headers=headers)

    @classmethod
    def from_delivery(cls, channel: Channel, delivery: Delivery) -> Message:
        entry = delivery.entry
        payload = entry.payload
        headers = dict(payload.headers)
        if entry.delivery_count is not None:  # a quorum queue's count of returns
            headers["x-delivery-count"] = entry.delivery_count
        return cls(channel, payload, delivery.delivery_tag, {
            "consumer_tag": delivery.consumer_tag,
            "delivery_tag": delivery.delivery_tag,
            "redelivered": delivery.redelivered,
            "exchange": payload.exchange,
            "routing_key": payload.routing_key,
        }, headers)


class Channel(base.StdChannel):
    """One AMQP channel on the embedded broker."""

    Message = Message

    def __init__(self, transport: Transport, connection: BrokerConnection) -> None:
        self.connection = transport  # kombu reaches the Connection as channel.connection.client
        self.state: BrokerChannel = BROKER.open_channel(connection)
        self.channel_id = self.state.number
        self.callbacks: dict[str, Callable[[Message], Any]] = {}
        self.events: dict[str, set] = defaultdict(set)  # 'basic_return' handlers, as in py-amqp
        #: Tags of the consumers that do not acknowledge, kept as py-amqp keeps them:
        #: kombu's ``Message.ack()`` is then a no-op for their deliveries (the broker would
        #: refuse an ack for a tag it never expected one for).
        self.no_ack_consumers: set[str] = set()
        #: Publisher confirms (``confirm_publish`` in the transport options, as for py-amqp,
        #: or ``confirm_select()``): a publish a queue refused raises ``MessageNacked``.
        self.confirming: bool = transport.confirm_publish
        self.is_open = True

    def _run(self, operation: Callable[..., Any], *args: Any) -> Any:
        try:
            return BROKER.run(self.state, operation, *args)
        except amqp_errors.ChannelError:
            self._revive()
            raise

    def _revive(self) -> None:
        """The broker closed this channel on an error; like py-amqp, open a fresh one in its
        place, so the same channel object can be used again (its consumers are gone)."""
        old = self.state
        self.state = BROKER.open_channel(old.connection)
        self.channel_id = self.state.number
        self.callbacks.clear()
        self.no_ack_consumers.clear()
        self.connection._channels.pop(old, None)
        self.connection._channels[self.state] = self

    # -- exchanges and queues ---------------------------------------------------------

    def exchange_declare(self, exchange: str, type: str, passive: bool = False,
                         durable: bool = False, auto_delete: bool = True, nowait: bool = False,
                         arguments: dict | None = None, internal: bool = False) -> None:
        self._run(BROKER.exchange_declare, exchange, type, durable, auto_delete, internal,
                  arguments or {}, passive)

    def exchange_delete(self, exchange: str, if_unused: bool = False,
                        nowait: bool = False) -> None:
        self._run(BROKER.exchange_delete, exchange, if_unused)

    def queue_declare(self, queue: str = "", passive: bool = False, durable: bool = False,
                      exclusive: bool = False, auto_delete: bool = True, nowait: bool = False,
                      arguments: dict | None = None):
        return self._run(BROKER.queue_declare, queue, passive, durable, exclusive, auto_delete,
                         arguments or {})

    def queue_bind(self, queue: str, exchange: str = "", routing_key: str = "",
                   nowait: bool = False, arguments: dict | None = None) -> None:
        self._run(BROKER.queue_bind, queue, exchange, routing_key, arguments or {})

    def queue_unbind(self, queue: str, exchange: str, routing_key: str = "",
                     nowait: bool = False, arguments: dict | None = None) -> None:
        self._run(BROKER.queue_unbind, queue, exchange, routing_key, arguments or {})

    def queue_purge(self, queue: str = "", nowait: bool = False) -> int:
        return self._run(BROKER.queue_purge, queue)

    def queue_delete(self, queue: str = "", if_unused: bool = False, if_empty: bool = False,
                     nowait: bool = False) -> int:
        return self._run(BROKER.queue_delete, queue, if_unused, if_empty)

    def prepare_queue_arguments(self, arguments: dict, **kwargs: Any) -> dict:
        """``Queue(expires=..., message_ttl=...)`` become ``x-`` arguments, as for RabbitMQ."""
        return base.to_rabbitmq_queue_arguments(arguments, **kwargs)

    # -- publishing ---------------------------------------------------------------------

    def prepare_message(self, body: Any, priority: int | None = None,
                        content_type: str | None = None, content_encoding: str | None = None,
                        headers: dict | None = None, properties: dict | None = None) -> dict:
        if isinstance(body, str):  # on the wire a body is bytes, as py-amqp sends it
            body = body.encode(content_encoding or "utf-8")
        properties = dict(properties or {})
        if priority is not None:
            properties["priority"] = priority
        return {"body": body, "content_type": content_type,
                "content_encoding": content_encoding, "headers": dict(headers or {}),
                "properties": properties}

    def basic_publish(self, message: dict, exchange: str = "", routing_key: str = "",
                      mandatory: bool = False, immediate: bool = False, **kwargs: Any) -> None:
        payload = Payload(message["body"], message["content_type"], message["content_encoding"],
                          message["headers"], message["properties"], exchange or "",
                          routing_key or "")
        routed = self._run(BROKER.publish, payload, mandatory)
        if self.state.nacked:  # the broker publishes synchronously: its nack is known now
            self.state.nacked = False
            if self.confirming:
                raise amqp_errors.MessageNacked()
        if routed:
            return
        # Unroutable and mandatory: basic.return, handled like py-amqp handles it.
        error = amqp_errors.error_for_code(312, "NO_ROUTE", spec.Basic.Return,
                                           amqp_errors.ChannelError)
        handlers = list(self.events.get("basic_return", ()))
        if not handlers:
            raise error
        returned = Message(self, payload, None, {"exchange": exchange, "routing_key": routing_key})
        for handler in handlers:
            handler(error, exchange, routing_key, returned)

    # -- consuming ----------------------------------------------------------------------

    def confirm_select(self, nowait: bool = False) -> None:
        """Publisher confirms from now on (a RabbitMQ extension, as py-amqp offers it)."""
        self.confirming = True

    def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                  a_global: bool = False) -> None:
        self._run(BROKER.basic_qos, prefetch_count, a_global)

    def basic_consume(self, queue: str = "", consumer_tag: str = "", no_local: bool = False,
                      no_ack: bool = False, exclusive: bool = False, nowait: bool = False,
                      callback: Callable | None = None, arguments: dict | None = None,
                      on_cancel: Callable | None = None) -> str:
        tag = consumer_tag or f"amq.ctag-{uuid.uuid4().hex}"
        self.callbacks[tag] = callback
        if no_ack:
            self.no_ack_consumers.add(tag)
        try:
            return self._run(BROKER.basic_consume, queue, tag, no_ack, exclusive,
                             arguments or {})
        except Exception:
            self.callbacks.pop(tag, None)
            self.no_ack_consumers.discard(tag)
            raise

    def basic_cancel(self, consumer_tag: str, nowait: bool = False) -> None:
        self.no_ack_consumers.discard(consumer_tag)
        self._run(BROKER.basic_cancel, consumer_tag)
        self.callbacks.pop(consumer_tag, None)

    def basic_get(self, queue: str = "", no_ack: bool = False) -> Message | None:
        delivery = self._run(BROKER.basic_get, queue, no_ack)
        return None if delivery is None else Message.from_delivery(self, delivery)

    def message_to_python(self, raw_message: Message) -> Message:
        return raw_message

    def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self._run(BROKER.basic_ack, delivery_tag, multiple)

    def basic_reject(self, delivery_tag: int, requeue: bool) -> None:
        self._run(BROKER.basic_reject, delivery_tag, requeue)

    def basic_nack(self, delivery_tag: int, multiple: bool = False,
                   requeue: bool = True) -> None:
        self._run(BROKER.basic_reject, delivery_tag, requeue, multiple)

    def basic_recover(self, requeue: bool = False) -> None:
        self._run(BROKER.basic_recover, requeue)

    # -- lifetime -----------------------------------------------------------------------

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            BROKER.close_channel(self.state)
            self.callbacks.clear()
            self.no_ack_consumers.clear()
            self.connection._channels.pop(self.state, None)

    def after_reply_message_received(self, queue: str) -> None:
        """kombu's pidbox hook; nothing to clean up here."""

    def flow(self, active: bool) -> None:
        """Flow control never blocks an in-process broker."""


class Transport(base.Transport):
    """The kombu transport registered as ``embedded://``."""

    Channel = Channel
    driver_type = "amqp"
    driver_name = "course-embedded"
    default_port = None
    connection_errors = (amqp_errors.ConnectionError, OSError)
    channel_errors = (amqp_errors.ChannelError,)
    #: As py-amqp's: a ``basic.nack`` (``MessageNacked``) counts as a recoverable connection
    #: error, so that kombu's ``ensure()`` (oslo's retries) reconnects and publishes again.
    recoverable_connection_errors = (amqp_errors.RecoverableConnectionError,
                                     amqp_errors.MessageNacked, OSError)
    recoverable_channel_errors = (amqp_errors.RecoverableChannelError,)
    implements = base.Transport.implements.extend(
        asynchronous=False, heartbeats=True,
        exchange_type=frozenset(["direct", "topic", "fanout", "headers"]),
    )

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self._channels: dict[BrokerChannel, Channel] = {}
        options = getattr(client, "transport_options", None) or {}
        self.confirm_publish = bool(options.get("confirm_publish"))

    def driver_version(self) -> str:
        return "1"

    def establish_connection(self) -> BrokerConnection:
        client = self.client
        vhost = (client.virtual_host or "/") if client else "/"
        # no credentials: guest/guest, as py-amqp's defaults for RabbitMQ
        userid = (client.userid if client else None) or "guest"
        password = (client.password if client else None) or "guest"
        connection = BROKER.connect(vhost, userid=userid, password=password,
                                    heartbeat=(client.heartbeat if client else 0) or 0)
        # A connection nobody closes is closed when it is garbage-collected, like a
        # TCP connection of a process that went away: its unacked messages come back.
        weakref.finalize(self, BROKER.forget, connection)
        return connection

    def close_connection(self, connection: BrokerConnection) -> None:
        for channel in list(self._channels.values()):
            channel.is_open = False
        self._channels.clear()
        BROKER.close_connection(connection)

    def get_heartbeat_interval(self, connection: BrokerConnection) -> int:
        return connection.heartbeat

    def heartbeat_check(self, connection: BrokerConnection, rate: int = 2) -> None:
        """Send a heartbeat frame; raise as py-amqp does once the broker closed the
        connection (for missed heartbeats: ``Connection reset by peer``)."""
        if connection.heartbeat:
            BROKER.heartbeat(connection)

    def verify_connection(self, connection: BrokerConnection) -> bool:
        """Open, or closed by the broker and not used since: as a py-amqp client, it learns
        that only when it next uses the connection (kombu must not reconnect silently)."""
        return not connection.closed or (bool(connection.close_reason)
                                         and not connection.reset_seen)

    def create_channel(self, connection: BrokerConnection) -> Channel:
        channel = self.Channel(self, connection)
        self._channels[channel.state] = channel
        return channel

    def close_channel(self, channel: Channel) -> None:
        channel.close()

    def drain_events(self, connection: BrokerConnection, timeout: float | None = None,
                     **kwargs: Any) -> None:
        """Wait for deliveries and run their consumers' callbacks (outside the broker's lock)."""
        deliveries = BROKER.next_deliveries(connection, timeout)
        if not deliveries:
            raise TimeoutError("timed out")
        for done, delivery in enumerate(deliveries, 1):
            if delivery is WAKE:
                continue
            channel = self._channels.get(delivery.channel)
            callback = channel.callbacks.get(delivery.consumer_tag) if channel else None
            if callback is None:  # the consumer was cancelled meanwhile: back to the queue
                BROKER.discard(delivery)
                continue
            try:
                callback(Message.from_delivery(channel, delivery))
            except BaseException:
                BROKER.give_back(connection, deliveries[done:])  # for the next drain_events
                raise

    @property
    def default_connection_params(self) -> dict:
        return {"hostname": "localhost", "port": None}


kombu.transport.TRANSPORT_ALIASES.setdefault(SCHEME, "course.kombu_transport:Transport")
