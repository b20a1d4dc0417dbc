"""The broker's operations on messages: publish, consume, get, dispatch to consumers,
acknowledge, reject and requeue (a mixin of :class:`~course.embedded.broker.Broker`, under
its lock)."""

from __future__ import annotations

from amqp import exceptions as amqp_errors

from .. import routing
from .arguments import check_consumer_arguments, expiration_ttl
from .errors import (
    BASIC_ACK,
    BASIC_CONSUME,
    BASIC_GET,
    BASIC_NACK,
    BASIC_PUBLISH,
    BASIC_RECOVER,
    BASIC_REJECT,
    error,
    not_found,
)
from .model import (
    Channel,
    Consumer,
    Delivery,
    Entry,
    Exchange,
    Payload,
    Queue,
    Unacked,
    VHost,
    body_size,
    clock,
)


class Messaging:
    """Messages: what AMQP's basic.* methods do."""

    def publish(self, channel: Channel, payload: Payload, mandatory: bool) -> bool:
        """Route a message; False when it reached no queue (returned if mandatory)."""
        vhost = channel.connection.vhost
        exchange = vhost.exchanges.get(payload.exchange)
        if exchange is None:
            raise not_found("exchange", payload.exchange, vhost, BASIC_PUBLISH)
        if exchange.internal:
            raise error(amqp_errors.AccessRefused,
                         f"ACCESS_REFUSED - cannot publish to internal exchange "
                         f"'{payload.exchange}' in vhost '{vhost.name}'", BASIC_PUBLISH)
        names = self._route(vhost, exchange, payload.routing_key, payload.headers)
        if self._enqueue(vhost, names, payload, expiration_ttl(payload.properties)):
            channel.nacked = True  # a publisher in confirm mode gets a basic.nack
        return bool(names) or not mandatory

    @staticmethod
    def _route(vhost: VHost, exchange: Exchange, routing_key: str, headers: dict) -> list[str]:
        if exchange.name == "":
            return routing.route_default(routing_key, vhost.queues)
        return exchange.route(routing_key, headers)

    def _enqueue(self, vhost: VHost, names: list[str], payload: Payload,
                 ttl: float | None) -> bool:
        """Put a message in each of the named queues (each with its own TTL, priority and
        length limit); True when one of them refused it (``x-overflow: reject-publish``)."""
        now = clock()
        refused = False
        for name in names:
            queue = vhost.queues[name]
            if queue.limited and queue.overflow != "drop-head" and self._full(queue, payload):
                refused = True
                if queue.overflow == "reject-publish-dlx" and queue.dead_letter is not None:
                    queue.dead_letter(queue, Entry(0, payload, None), "maxlen")
                continue
            expires = [t for t in (ttl, queue.message_ttl) if t is not None]
            entry = Entry(next(self._seq), payload, now + min(expires) if expires else None,
                          priority=queue.priority_of(payload.properties),
                          delivery_count=queue.first_count)
            queue.put(entry)
            self._dispatch(queue, now)  # a TTL of 0 still reaches a waiting consumer
            if queue.limited:
                self._drop_heads(queue)
            if queue.dead_letter is not None:
                self._watch_head(queue)
        return refused

    # -- consuming ----------------------------------------------------------------------

    def basic_qos(self, channel: Channel, prefetch_count: int, global_: bool) -> None:
        if global_:
            channel.global_prefetch = prefetch_count
            for consumer in list(channel.consumers.values()):
                self._dispatch(consumer.queue)
        else:
            channel.prefetch = prefetch_count

    def basic_consume(self, channel: Channel, queue_name: str, tag: str, no_ack: bool,
                      exclusive: bool, arguments: dict | None = None) -> str:
        queue = self._queue(channel, queue_name, BASIC_CONSUME)
        check_consumer_arguments(queue.name, arguments or {})
        if tag in channel.consumers:
            raise error(amqp_errors.NotAllowed,
                         f"NOT_ALLOWED - attempt to reuse consumer tag '{tag}'", BASIC_CONSUME)
        if exclusive and queue.consumers:
            raise error(amqp_errors.AccessRefused,
                         f"ACCESS_REFUSED - queue '{queue.name}' in vhost "
                         f"'{queue.vhost.name}' in exclusive use", BASIC_CONSUME)
        tag = tag or f"amq.ctag-{channel.number}-{next(channel._consumer_tags)}"
        consumer = Consumer(channel, tag, queue, no_ack, channel.prefetch)
        channel.consumers[tag] = consumer
        queue.consumers.append(consumer)
        queue.had_consumer = True
        self._dispatch(queue)
        return tag

    def basic_cancel(self, channel: Channel, tag: str) -> None:
        consumer = channel.consumers.get(tag)
        if consumer is not None:
            self._cancel(consumer)

    def _cancel(self, consumer: Consumer) -> None:
        queue = consumer.queue
        consumer.channel.consumers.pop(consumer.tag, None)
        if consumer in queue.consumers:
            queue.consumers.remove(consumer)
        queue.last_used = clock()
        if queue.auto_delete and queue.had_consumer and not queue.consumers:
            self._delete_queue(queue)
        else:
            self._schedule_expiry(queue)
            if queue.single_active:  # the next consumer takes over
                self._dispatch(queue)

    def basic_get(self, channel: Channel, name: str, no_ack: bool) -> Delivery | None:
        queue = self._queue(channel, name, BASIC_GET)
        queue.last_used = clock()
        self._schedule_expiry(queue)
        queue.drop_expired(clock())
        if not queue.messages:
            return None
        entry = queue.messages.popleft()
        if queue.dead_letter is not None:
            self._watch_head(queue)
        return self._deliver(channel, None, queue, entry, no_ack)

    def _dispatch(self, queue: Queue, now: float | None = None) -> None:
        """Push ready messages to consumers with room, round-robin, waking their readers."""
        if not queue.consumers or not queue.messages:
            return
        now = clock() if now is None else now
        while queue.messages and queue.consumers:
            consumers = queue.consumers
            if queue.single_active:  # only the first consumer receives, while it is there
                consumer = consumers[0]
                if not consumer.can_take():
                    return
            else:
                for step in range(len(consumers)):
                    consumer = consumers[(queue._next + step) % len(consumers)]
                    if consumer.can_take():
                        queue._next = (queue._next + step + 1) % len(consumers)
                        break
                else:
                    return
            queue.drop_expired(now)
            if not queue.messages:
                return
            delivery = self._deliver(consumer.channel, consumer, queue,
                                     queue.messages.popleft(), consumer.no_ack)
            conn = consumer.channel.connection
            conn.inbox.append(delivery)
            conn.wakeup.notify()
            if queue.dead_letter is not None:
                self._watch_head(queue)

    def _deliver(self, channel: Channel, consumer: Consumer | None, queue: Queue,
                 entry: Entry, no_ack: bool) -> Delivery:
        tag = channel.next_tag()
        if not no_ack:
            channel.unacked[tag] = Unacked(entry, queue, consumer)
            queue.unacked += 1
            if consumer is not None:
                consumer.unacked += 1
                channel.consumer_unacked += 1
        return Delivery(channel, consumer.tag if consumer else "", tag, entry, queue.name,
                        entry.redelivered)

    # -- acknowledgements ---------------------------------------------------------------

    def _settle(self, channel: Channel, tag: int, multiple: bool,
                method: tuple[int, int]) -> list[int]:
        if multiple:
            tags = [t for t in channel.unacked if t <= tag or tag == 0]
        elif tag in channel.unacked:
            tags = [tag]
        else:
            tags = []
        if not tags and not (multiple and tag == 0):
            raise error(amqp_errors.PreconditionFailed,
                         f"PRECONDITION_FAILED - unknown delivery tag {tag}", method)
        return tags

    def _release(self, channel: Channel, tag: int) -> Unacked:
        record = channel.unacked.pop(tag)
        record.queue.unacked -= 1
        if record.consumer is not None:
            record.consumer.unacked -= 1
            channel.consumer_unacked -= 1
        return record

    def basic_ack(self, channel: Channel, tag: int, multiple: bool) -> None:
        queues = {self._release(channel, t).queue for t in self._settle(channel, tag, multiple,
                                                                         BASIC_ACK)}
        for queue in queues:
            self._dispatch(queue)

    def basic_reject(self, channel: Channel, tag: int, requeue: bool,
                     multiple: bool = False) -> None:
        tags = self._settle(channel, tag, multiple, BASIC_NACK if multiple else BASIC_REJECT)
        if requeue:
            self._requeue(channel, tags)
        else:
            touched = []
            for t in tags:
                record = self._release(channel, t)
                queue = record.queue
                if queue.dead_letter is not None and self._exists(queue):
                    queue.dead_letter(queue, record.entry, "rejected")
                touched.append(queue)
            for queue in dict.fromkeys(touched):
                self._dispatch(queue)

    def basic_recover(self, channel: Channel, requeue: bool) -> None:
        if not requeue:
            raise error(amqp_errors.NotImplemented,
                         "NOT_IMPLEMENTED - requeue=false", BASIC_RECOVER)
        self._requeue(channel, list(channel.unacked))

    def _requeue(self, channel: Channel, tags: list[int]) -> None:
        touched = []
        for tag in sorted(tags, key=lambda t: channel.unacked[t].entry.seq, reverse=True):
            record = self._release(channel, tag)
            queue, entry = record.queue, record.entry
            if not self._exists(queue):
                continue
            if entry.delivery_count is not None:  # a quorum queue counts the returns
                entry.delivery_count += 1
                if queue.delivery_limit is not None and entry.delivery_count > queue.delivery_limit:
                    if queue.dead_letter is not None:
                        queue.dead_letter(queue, entry, "delivery_limit")
                    continue
            queue.put_back(entry)
            touched.append(queue)
        for queue in dict.fromkeys(touched):
            self._dispatch(queue)
            if queue.limited:
                self._drop_heads(queue)
            if queue.dead_letter is not None:
                self._watch_head(queue)

    @staticmethod
    def _exists(queue: Queue) -> bool:
        return queue.vhost.queues.get(queue.name) is queue

    # -- length limits --------------------------------------------------------------------

    @staticmethod
    def _full(queue: Queue, payload: Payload) -> bool:
        """Whether one more message would take the queue past its length limit."""
        if queue.max_length is not None and len(queue.messages) + 1 > queue.max_length:
            return True
        return queue.max_length_bytes is not None and (
            queue.ready_bytes() + body_size(payload.body) > queue.max_length_bytes)

    @staticmethod
    def _drop_heads(queue: Queue, force: bool = False) -> None:
        """``x-overflow: drop-head``: the oldest ready messages go (dead-lettered, reason
        ``maxlen``, with a dead-letter exchange) until the queue is within its limits;
        ``force``: whatever the overflow mode (a policy just lowered the limit)."""
        if queue.overflow != "drop-head" and not force:
            return
        messages = queue.messages
        while messages and (
                (queue.max_length is not None and len(messages) > queue.max_length)
                or (queue.max_length_bytes is not None
                    and queue.ready_bytes() > queue.max_length_bytes)):
            entry = messages.popleft()
            if queue.dead_letter is not None:
                queue.dead_letter(queue, entry, "maxlen")

    def discard(self, delivery: Delivery) -> None:
        """A delivery reached a consumer that was cancelled meanwhile: requeue it (as py-amqp)."""
        with self.lock:
            self._reap()
            channel = delivery.channel
            if not channel.closed and delivery.delivery_tag in channel.unacked:
                self._requeue(channel, [delivery.delivery_tag])
