"""The broker's operations on exchanges and queues: declare, bind, purge, delete, and
``x-expires`` (a mixin of :class:`~course.embedded.broker.Broker`, under its lock)."""

from __future__ import annotations

import uuid

from amqp import exceptions as amqp_errors
from amqp.protocol import queue_declare_ok_t

from .. import routing
from .arguments import EQUIVALENCE_ARGUMENTS, check_queue_arguments, check_x_match
from .errors import (
    EXCHANGE_DECLARE,
    EXCHANGE_DELETE,
    QUEUE_BIND,
    QUEUE_DECLARE,
    QUEUE_DELETE,
    QUEUE_PURGE,
    QUEUE_UNBIND,
    describe_arg,
    error,
    not_found,
    yes_no,
)
from .model import Channel, Exchange, Queue, clock


class Declarations:
    """Exchanges and queues: what AMQP's exchange.* and queue.* methods do."""

    def exchange_declare(self, channel: Channel, name: str, type: str, durable: bool,
                         auto_delete: bool, internal: bool, arguments: dict,
                         passive: bool) -> None:
        vhost = channel.connection.vhost
        existing = vhost.exchanges.get(name)
        if passive:
            if existing is None:
                raise not_found("exchange", name, vhost, EXCHANGE_DECLARE)
            return
        if existing is None:
            if name.startswith("amq."):
                raise error(amqp_errors.AccessRefused,
                             f"ACCESS_REFUSED - exchange name '{name}' contains reserved "
                             "prefix 'amq.*'", EXCHANGE_DECLARE)
            if type not in routing.EXCHANGE_TYPES:
                raise error(amqp_errors.CommandInvalid,
                             f"COMMAND_INVALID - invalid exchange type '{type}'", EXCHANGE_DECLARE)
            vhost.exchanges[name] = Exchange(name, type, durable, auto_delete, internal,
                                             dict(arguments))
            return
        for what, wanted, current in (("type", type, existing.type),
                                      ("durable", durable, existing.durable),
                                      ("auto_delete", auto_delete, existing.auto_delete),
                                      ("internal", internal, existing.internal)):
            if wanted != current:
                raise error(amqp_errors.PreconditionFailed,
                             f"PRECONDITION_FAILED - inequivalent arg '{what}' for exchange "
                             f"'{name}' in vhost '{vhost.name}': received '{yes_no(wanted)}' "
                             f"but current is '{yes_no(current)}'", EXCHANGE_DECLARE)

    def exchange_delete(self, channel: Channel, name: str, if_unused: bool) -> None:
        vhost = channel.connection.vhost
        exchange = vhost.exchanges.get(name)
        if name == "" or name.startswith("amq."):
            raise error(amqp_errors.AccessRefused,
                         f"ACCESS_REFUSED - operation not permitted on exchange '{name}'",
                         EXCHANGE_DELETE)
        if exchange is None:
            return  # RabbitMQ treats deleting a missing exchange as success
        if if_unused and exchange.bindings:
            raise error(amqp_errors.PreconditionFailed,
                         f"PRECONDITION_FAILED - exchange '{name}' in vhost '{vhost.name}' "
                         "in use", EXCHANGE_DELETE)
        del vhost.exchanges[name]

    # -- queues ----------------------------------------------------------------------

    def _queue(self, channel: Channel, name: str, method: tuple[int, int]) -> Queue:
        vhost = channel.connection.vhost
        queue = vhost.queues.get(name)
        if queue is None:
            raise not_found("queue", name, vhost, method)
        if queue.owner is not None and queue.owner is not channel.connection:
            raise error(amqp_errors.ResourceLocked,
                         f"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue "
                         f"'{name}' in vhost '{vhost.name}'. It could be originally declared "
                         "on another connection or the exclusive property value does not "
                         "match that of the original declaration.", method)
        return queue

    def queue_declare(self, channel: Channel, name: str, passive: bool, durable: bool,
                      exclusive: bool, auto_delete: bool, arguments: dict) -> queue_declare_ok_t:
        vhost = channel.connection.vhost
        generated = not name
        name = name or f"amq.gen-{uuid.uuid4().hex[:22]}"
        if passive:
            queue = self._queue(channel, name, QUEUE_DECLARE)
        elif name in vhost.queues:
            queue = self._queue(channel, name, QUEUE_DECLARE)
            self._check_equivalent(queue, durable, exclusive, auto_delete, arguments)
        else:
            if name.startswith("amq.") and not generated:
                raise error(amqp_errors.AccessRefused,
                             f"ACCESS_REFUSED - queue name '{name}' contains reserved prefix "
                             "'amq.*'", QUEUE_DECLARE)
            check_queue_arguments(name, vhost, arguments, durable, exclusive, auto_delete)
            queue = Queue(name, vhost, durable, auto_delete,
                          channel.connection if exclusive else None, dict(arguments))
            self._configure(queue)  # the policy that matches it, if any
            vhost.queues[name] = queue
        queue.last_used = clock()
        self._schedule_expiry(queue)
        return queue_declare_ok_t(name, queue.ready(), len(queue.consumers))

    def _check_equivalent(self, queue: Queue, durable: bool, exclusive: bool,
                          auto_delete: bool, arguments: dict) -> None:
        vhost = queue.vhost.name
        if exclusive != queue.exclusive:
            raise error(amqp_errors.ResourceLocked,
                         f"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue "
                         f"'{queue.name}' in vhost '{vhost}'. It could be originally declared "
                         "on another connection or the exclusive property value does not "
                         "match that of the original declaration.", QUEUE_DECLARE)
        for what, wanted, current in (("durable", durable, queue.durable),
                                      ("auto_delete", auto_delete, queue.auto_delete)):
            if wanted != current:
                raise error(amqp_errors.PreconditionFailed,
                             f"PRECONDITION_FAILED - inequivalent arg '{what}' for queue "
                             f"'{queue.name}' in vhost '{vhost}': received '{yes_no(wanted)}' "
                             f"but current is '{yes_no(current)}'", QUEUE_DECLARE)
        for key, default in EQUIVALENCE_ARGUMENTS.items():
            if arguments.get(key, default) == queue.arguments.get(key, default):
                continue
            wanted, current = arguments.get(key), queue.arguments.get(key)
            if wanted is None or current is None:  # one side lacks it: say its type
                received, now = describe_arg(wanted), describe_arg(current)
            else:
                received, now = f"'{yes_no(wanted)}'", f"'{yes_no(current)}'"
            raise error(amqp_errors.PreconditionFailed,
                         f"PRECONDITION_FAILED - inequivalent arg '{key}' for queue "
                         f"'{queue.name}' in vhost '{vhost}': received {received} but "
                         f"current is {now}", QUEUE_DECLARE)

    def queue_bind(self, channel: Channel, queue_name: str, exchange_name: str,
                   routing_key: str, arguments: dict) -> None:
        vhost = channel.connection.vhost
        if exchange_name == "":
            raise error(amqp_errors.AccessRefused,
                         "ACCESS_REFUSED - operation not permitted on the default exchange",
                         QUEUE_BIND)
        queue = self._queue(channel, queue_name, QUEUE_BIND)
        exchange = vhost.exchanges.get(exchange_name)
        if exchange is None:
            raise not_found("exchange", exchange_name, vhost, QUEUE_BIND)
        if exchange.type == "headers":
            check_x_match(arguments)
        exchange.bind(queue.name, routing_key, dict(arguments))

    def queue_unbind(self, channel: Channel, queue_name: str, exchange_name: str,
                     routing_key: str, arguments: dict) -> None:
        vhost = channel.connection.vhost
        queue = self._queue(channel, queue_name, QUEUE_UNBIND)
        exchange = vhost.exchanges.get(exchange_name)
        if exchange is None:
            raise not_found("exchange", exchange_name, vhost, QUEUE_UNBIND)
        if exchange.unbind(queue.name, routing_key, arguments):
            self._maybe_auto_delete_exchange(exchange)

    def queue_purge(self, channel: Channel, name: str) -> int:
        queue = self._queue(channel, name, QUEUE_PURGE)
        purged = queue.ready()
        queue.messages.clear()
        return purged

    def queue_delete(self, channel: Channel, name: str, if_unused: bool, if_empty: bool) -> int:
        vhost = channel.connection.vhost
        if name not in vhost.queues:
            return 0  # RabbitMQ treats deleting a missing queue as success
        queue = self._queue(channel, name, QUEUE_DELETE)
        if if_unused and queue.consumers:
            raise error(amqp_errors.PreconditionFailed,
                         f"PRECONDITION_FAILED - queue '{name}' in vhost '{vhost.name}' in use",
                         QUEUE_DELETE)
        if if_empty and queue.ready():
            raise error(amqp_errors.PreconditionFailed,
                         f"PRECONDITION_FAILED - queue '{name}' in vhost '{vhost.name}' not "
                         "empty", QUEUE_DELETE)
        count_ = queue.ready()
        self._delete_queue(queue)
        return count_

    def _delete_queue(self, queue: Queue) -> None:
        """Gone for good: its messages, its bindings, its consumers."""
        vhost = queue.vhost
        if vhost.queues.get(queue.name) is not queue:
            return
        del vhost.queues[queue.name]
        for consumer in list(queue.consumers):
            consumer.channel.consumers.pop(consumer.tag, None)
        queue.consumers.clear()
        queue.messages.clear()
        for exchange in list(vhost.exchanges.values()):
            if exchange.unbind(queue.name):
                self._maybe_auto_delete_exchange(exchange)

    def _maybe_auto_delete_exchange(self, exchange: Exchange) -> None:
        if exchange.auto_delete and not exchange.bindings:
            for vhost in self.vhosts.values():
                if vhost.exchanges.get(exchange.name) is exchange:
                    del vhost.exchanges[exchange.name]

    # -- x-expires --------------------------------------------------------------------

    def _schedule_expiry(self, queue: Queue) -> None:
        if queue.expires is not None and not queue.consumers:
            self._expiry_check = min(self._expiry_check, queue.last_used + queue.expires)

    def _expire_queues(self) -> None:
        """Delete the x-expires queues left unused too long (checked lazily, on each call)."""
        now = clock()
        if now < self._expiry_check:
            return
        self._expiry_check = float("inf")
        for vh in list(self.vhosts.values()):
            for queue in list(vh.queues.values()):
                if queue.expires is None or queue.consumers:
                    continue
                if now >= queue.last_used + queue.expires:
                    self._delete_queue(queue)
                else:
                    self._schedule_expiry(queue)
