"""A process's link to the broker: its sending connection (publishing with oslo's retries),
and its one reply queue (``reply_<uuid>``, made at the first call() and reused); what
consumes is :mod:`.consumer`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import queue as queue_module
import random
import threading
import time
import uuid
import weakref
from collections.abc import Iterable
from typing import Any

import kombu
from amqp import exceptions as amqp_errors

from .. import broker
from ..errors import BrokerRefused, BrokerUnreachable
from ..i18n import _, upstream
from ..trace import Trace
from ..transport_url import TransportURL, mask_url, parse_transport_url
from ..wire import deserialize_msg, serialize_msg
from . import declarations, heartbeat
from .consumer import ConsumerThread, DuplicateFilter, retry_delays
from .exceptions import (
    MessageDeliveryFailure,
    MessageUndeliverable,
    MessagingTimeout,
    deserialize_remote_exception,
)
from .gate import Gate
from .target import Target

LOG = logging.getLogger(__name__)


#: The options of ``[DEFAULT]`` and ``[oslo_messaging_rabbit]`` this module honours, with
#: oslo.messaging's defaults.  A transport_url query (``?rabbit_transient_queues_ttl=60``)
#: or ``get_transport(..., options=...)`` overrides them.
DEFAULTS: dict[str, Any] = {
    "rpc_response_timeout": 60,
    "rabbit_transient_queues_ttl": 1800,
    "amqp_durable_queues": False,
    "amqp_auto_delete": False,
    "rabbit_ha_queues": False,
    "rabbit_quorum_queue": False,
    "rabbit_quorum_delivery_limit": 0,
    "rabbit_quorum_max_memory_length": 0,
    "rabbit_quorum_max_memory_bytes": 0,
    "rabbit_transient_quorum_queue": False,
    "rabbit_stream_fanout": False,
    "use_queue_manager": False,
    "hostname": "",
    "processname": "",
    "rabbit_qos_prefetch_count": 0,
    "enable_cancel_on_failover": False,
    "kombu_missing_consumer_retry_timeout": 60,
    "rabbit_retry_interval": 1,
    "rabbit_retry_backoff": 2,
    "rabbit_interval_max": 30,
    "kombu_reconnect_delay": 1.0,
    "kombu_failover_strategy": "round-robin",
    "heartbeat_timeout_threshold": 60,
    "heartbeat_rate": 3,
    "executor_thread_pool_size": 64,
}


class Transport:
    """One process's link to the broker: a sending connection and, once it calls, a reply queue.

    ``service`` names the process in the trace ("nova-compute:cmp1"); ``gate`` is the
    process's (:mod:`.gate`): while it is paused, the process's own threads neither
    consume, nor publish, nor send heartbeats on this transport's connections.
    """

    def __init__(self, url: str | None = None, control_exchange: str = "openstack",
                 service: str = "", trace: Trace | None = None,
                 allowed_remote_exmods: Iterable[str] = (),
                 options: dict | None = None, gate: Gate | None = None) -> None:
        self.url = broker.configured_url(url)
        self.parsed: TransportURL = parse_transport_url(self.url)
        self.control_exchange = control_exchange
        self.service = service or "client"
        self.trace = trace
        self.allowed_remote_exmods = tuple(allowed_remote_exmods)
        self.conf = {**DEFAULTS, **self.parsed.query, **(options or {})}
        #: How the trace names this broker: the transport_url, password masked.
        self.broker = str(self.parsed)
        self.gate = gate or Gate()
        declarations.check_options(self.conf, self.is_embedded)
        #: What every connection of this transport opens: the URL's hosts in the order
        #: they are tried, and the failover strategy to the next one.
        self.connect_url = _connect_url(self.parsed, self.conf["kombu_failover_strategy"])
        self.queue_manager = (declarations.QueueManager.for_service(self.conf, self.service)
                              if self.conf["use_queue_manager"] else None)
        self._lock = threading.Lock()  # one sending connection, shared by every thread
        self._conn: kombu.Connection | None = None
        self._producer: kombu.Producer | None = None
        self._heartbeat: heartbeat.HeartbeatThread | None = None
        self._declared: set[str] = set()  # exchanges and queues declared on this connection
        self._exchanges: dict[str, kombu.Exchange] = {}
        self._reply_waiter: ReplyWaiter | None = None
        self._reply_lock = threading.Lock()
        #: Every consumer started on this transport (RPC servers, listeners, the replies).
        self._consumers: weakref.WeakSet[ConsumerThread] = weakref.WeakSet()
        self._closed = False

    def __repr__(self) -> str:
        return (f"<Transport {mask_url(self.url)} exchange={self.control_exchange!r} "
                f"service={self.service!r}>")

    @functools.cached_property
    def is_embedded(self) -> bool:
        return broker.is_embedded(self.parsed)

    def adopt(self, consumer: ConsumerThread) -> None:
        """A consumer started on this transport: ``cleanup()`` stops it."""
        self._consumers.add(consumer)

    def nudge(self) -> None:
        """Make every consumer of this transport look at its gate now (just paused)."""
        for consumer in list(self._consumers):
            consumer.nudge()

    def connect(self, timeout: float = 5.0) -> kombu.Connection:
        """A new connection, asking for oslo's heartbeats (``heartbeat_timeout_threshold``)."""
        return broker.connect(self.connect_url, timeout=timeout,
                              heartbeat=heartbeat.threshold(self.conf))

    # -- exchanges every publisher declares before it publishes --------------------------

    def control_exchange_for(self, target: Target) -> kombu.Exchange:
        """The topic exchange of RPC and notifications: the target's, else ``nova``..."""
        name = target.exchange or self.control_exchange
        if name not in self._exchanges:  # built once: a kombu.Exchange is not free
            self._exchanges[name] = declarations.control_exchange(self.conf, name)
        return self._exchanges[name]

    def fanout_exchange(self, topic: str) -> kombu.Exchange:
        key = f"{topic}_fanout"
        if key not in self._exchanges:
            self._exchanges[key] = declarations.fanout_exchange(self.conf, topic)
        return self._exchanges[key]

    def unique_name(self) -> str:
        """The tail of a reply or fanout queue's name: a uuid, or the queue manager's."""
        return self.queue_manager.get() if self.queue_manager else uuid.uuid4().hex

    # -- publishing ----------------------------------------------------------------------

    def publish(self, exchange: kombu.Exchange | None, routing_key: str, msg: dict, kind: str,
                *, expiration: float | None = None, mandatory: bool = False,
                declare_queue: kombu.Queue | None = None, envelope: bool = True,
                deadline: float | None = None, request_id: str | None = None) -> None:
        """Hand one message to the broker; reconnect and retry until ``deadline``.

        ``exchange`` None is the default exchange (replies).  ``declare_queue`` is
        declared first (notifications: the publisher creates the queue, so nothing is
        lost before a listener starts).  A ``mandatory`` message that reaches no queue
        raises :class:`MessageUndeliverable`; one a queue refuses (``basic.nack``) is sent
        again, as oslo sends it, until ``deadline``.  A thread of a paused process waits here.
        """
        self.gate.hold()
        if self.trace is not None:
            self.trace.record(
                "publish", kind, self.service, exchange=exchange.name if exchange else "",
                routing_key=routing_key, method=msg.get("method", ""),
                request_id=msg.get("_context_request_id", "") if request_id is None
                else request_id, msg_id=msg.get("_msg_id", ""), unique_id=msg["_unique_id"],
                broker=self.broker, body=msg)
        body = serialize_msg(msg) if envelope else msg
        deadline = deadline or time.monotonic() + self.conf["rpc_response_timeout"]
        delays = retry_delays(self.conf)
        while True:
            try:
                with self._lock:
                    self._publish_once(exchange, routing_key, body, expiration, mandatory,
                                       declare_queue)
                return
            except MessageUndeliverable:
                self._record("return", kind, routing_key, msg)
                raise
            except amqp_errors.MessageNacked:
                # A queue refused it (x-overflow reject-publish): py-amqp counts a nack as a
                # recoverable connection error, so oslo's ensure() reconnects and publishes
                # again after kombu_reconnect_delay, logging that the server is unreachable
                # (with an empty reason); with ``retry=N`` it gives up: MessageDeliveryFailure.
                self._record("nack", kind, routing_key, msg)
                with self._lock:
                    self._drop_connection()
                delay = self.conf["kombu_reconnect_delay"]
                if self._closed or time.monotonic() + delay > deadline:
                    raise MessageDeliveryFailure(_(
                        "The broker at {url} refused this message each time it was sent "
                        "(basic.nack): a queue it is routed to takes no more messages.",
                        url=mask_url(self.url))) from None
                LOG.error("AMQP server on %s is unreachable: %s. Trying again in %d seconds.",
                          self.broker, "", delay)
                time.sleep(delay)
            except BrokerRefused as error:
                # A wrong password (403) or vhost (530): kombu's ensure_connection re-raises
                # it at once (not recoverable in py-amqp) and oslo's caller gets it; no retry.
                self._record("fail", kind, routing_key, msg)
                LOG.error("%s", error)
                raise MessageDeliveryFailure(_(
                    "Could not send to the broker at {url}: {error}",
                    url=mask_url(self.url), error=str(error))) from None
            except (*broker.connection_errors(), BrokerUnreachable) as error:
                with self._lock:
                    self._drop_connection()
                delay = next(delays)
                if self._closed or time.monotonic() + delay > deadline:
                    self._record("fail", kind, routing_key, msg)
                    raise MessageDeliveryFailure(_(
                        "Could not send to the broker at {url}: {error}",
                        url=mask_url(self.url), error=mask_url(str(error)))) from None
                LOG.warning("AMQP server is unreachable: %s. Trying again in %s seconds.",
                            mask_url(str(error)), delay)
                time.sleep(delay)
            except Exception:  # a channel error (406, 404...): the broker closed the channel
                with self._lock:
                    self._drop_connection()
                raise

    def _record(self, action: str, kind: str, routing_key: str, msg: dict) -> None:
        """What became of a message the broker did not queue: return, nack or fail."""
        if self.trace is not None:
            self.trace.record(action, kind, self.service, routing_key=routing_key,
                              msg_id=msg.get("_msg_id", ""), unique_id=msg["_unique_id"],
                              broker=self.broker)

    def _publish_once(self, exchange: kombu.Exchange | None, routing_key: str, body: dict,
                      expiration: float | None, mandatory: bool,
                      declare_queue: kombu.Queue | None) -> None:
        if self._producer is None:
            self._conn = self.connect()
            self._producer = kombu.Producer(self._conn.default_channel, on_return=_on_return)
            self._declared.clear()
            if heartbeat.enabled(self.conf, self._conn):
                self._heartbeat = heartbeat.HeartbeatThread(
                    self.conf, self._conn, self._lock, self._drop_connection, self.service,
                    self.gate)
        channel = self._producer.channel
        if exchange is not None and exchange.name not in self._declared:
            try:
                exchange(channel).declare()
            except amqp_errors.PreconditionFailed as error:  # oslo's Connection._publish
                if not declarations.durable_conflict(error):
                    raise
                LOG.warning("Force creating a non durable exchange.")
                exchange.durable = False  # for good, as oslo does
                exchange(channel).declare()
            self._declared.add(exchange.name)
        if declare_queue is not None and declare_queue.name not in self._declared:
            declare_queue(channel).declare()
            self._declared.add(declare_queue.name)
        # kombu turns ``expiration`` (seconds) into the AMQP property, in milliseconds.
        self._producer.publish(body, exchange=exchange.name if exchange else "",
                               routing_key=routing_key, mandatory=mandatory,
                               expiration=expiration, serializer="json")

    def _drop_connection(self) -> None:
        self._producer = None
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # a connection the broker already dropped
                LOG.debug("closing a broken connection failed", exc_info=True)
            self._conn = None

    # -- replies -----------------------------------------------------------------------

    def reply_waiter(self) -> ReplyWaiter:
        """The process's one reply queue, created at its first call() and then reused."""
        waiter = self._reply_waiter
        if waiter is not None:
            return waiter
        with self._reply_lock:
            if self._reply_waiter is None:
                waiter = ReplyWaiter(self)
                waiter.start()  # raises at once if the broker is unreachable
                self._reply_waiter = waiter
            return self._reply_waiter

    def cleanup(self) -> None:
        """Close everything this transport opened (oslo: ``transport.cleanup()``): the
        consumers of the RPC servers and listeners started on it stop too, so none of
        them reconnects later to a broker that has moved on.

        The reply queue itself stays on the broker until ``x-expires`` removes it.
        """
        self._closed = True
        with self._reply_lock:
            waiter, self._reply_waiter = self._reply_waiter, None
        if waiter is not None:
            waiter.stop()
        for consumer in list(self._consumers):
            consumer.stop()
        with self._lock:
            self._drop_connection()
        if self.queue_manager is not None:
            self.queue_manager.close()


def _connect_url(parsed: TransportURL, strategy: str) -> TransportURL:
    """The URL a transport's connections open: with ``shuffle``, its hosts shuffled once
    (oslo shuffles them as it makes a connection), and kombu told the strategy."""
    hosts = list(parsed.hosts)
    if strategy == "shuffle":
        random.shuffle(hosts)
    return dataclasses.replace(parsed, hosts=tuple(hosts),
                               query={**parsed.query, "kombu_failover_strategy": strategy})


def _on_return(exception: Exception, exchange: str, routing_key: str, message: Any) -> None:
    raise MessageUndeliverable(_("No queue {queue} for this message: it was returned.",
                                 queue=routing_key))


def get_transport(url: str | None = None, control_exchange: str = "openstack",
                  **kwargs: Any) -> Transport:
    """A transport to the broker the transport_url names (None: $COURSE_TRANSPORT_URL or
    the embedded broker).  Nova uses ``control_exchange="nova"``."""
    return Transport(url, control_exchange, **kwargs)


get_rpc_transport = get_transport
get_notification_transport = get_transport


class ReplyWaiter:
    """The reply queue ``reply_<uuid>`` of one process, and the callers waiting on it.

    Every call() of the process names this queue in ``_reply_q``; the server publishes
    its reply to the default exchange with that routing key, and the reply is matched
    to its caller by ``_msg_id`` (not by AMQP's correlation_id).
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.queue_name = f"reply_{transport.unique_name()}"
        self._waiters: dict[str, queue_module.SimpleQueue] = {}  # msg_id -> its replies
        self._requests: dict[str, str] = {}  # msg_id -> request id, for the trace
        self._duplicates = DuplicateFilter()
        queue = declarations.reply_queue(transport.conf, self.queue_name)
        self._consumer = ConsumerThread(transport, [queue], self._on_reply,
                                        name=f"{transport.service} replies")

    def start(self) -> None:
        self._consumer.start()

    def stop(self) -> None:
        self._consumer.stop()

    def _on_reply(self, queue: kombu.Queue, body: dict, message: kombu.Message) -> None:
        message.ack()
        reply = deserialize_msg(body)
        msg_id, unique_id = reply.get("_msg_id"), reply.get("_unique_id")
        trace = self.transport.trace
        if trace is not None:
            trace.record("deliver", "reply", self.transport.service, queue=queue.name,
                         routing_key=queue.name, msg_id=msg_id or "",
                         request_id=self._requests.get(msg_id, ""), unique_id=unique_id or "",
                         broker=self.transport.broker)
        if self._duplicates.is_duplicate(unique_id):
            if trace is not None:
                trace.record("drop", "reply", self.transport.service, queue=queue.name,
                             msg_id=msg_id or "", unique_id=unique_id or "",
                             broker=self.transport.broker)
            return
        waiter = self._waiters.get(msg_id)
        if waiter is None:
            LOG.info("No calling thread waiting for msg_id %s", msg_id)
            return
        waiter.put(reply)

    def listen(self, msg_id: str, request_id: str = "") -> None:
        self._waiters[msg_id] = queue_module.SimpleQueue()
        self._requests[msg_id] = request_id

    def unlisten(self, msg_id: str) -> None:
        self._waiters.pop(msg_id, None)
        self._requests.pop(msg_id, None)

    def wait(self, msg_id: str, timeout: float, call_monitor_timeout: float | None) -> Any:
        """The result, once a reply says ``ending``.  A call-monitor heartbeat (``ending``
        false, no result) only proves the server is still working: it renews the monitor."""
        deadline = time.monotonic() + timeout
        monitor = None if not call_monitor_timeout else time.monotonic() + call_monitor_timeout
        result = None
        while True:
            limit = deadline if monitor is None else min(deadline, monitor)
            try:
                reply = self._waiters[msg_id].get(timeout=max(0.0, limit - time.monotonic()))
            except queue_module.Empty:
                # oslo's own words (ReplyWaiters.get in _drivers/amqpdriver.py), in English
                # in every language: it is the line learners will find in a caller's log.
                raise MessagingTimeout(upstream(
                    f"Timed out waiting for a reply to message ID {msg_id}")) from None
            if reply.get("failure"):
                raise deserialize_remote_exception(reply["failure"],
                                                   self.transport.allowed_remote_exmods)
            if reply.get("result") is not None:
                result = reply["result"]
            if reply.get("ending", False):
                return result
            if call_monitor_timeout:
                monitor = time.monotonic() + call_monitor_timeout
