"""The server's side: consume the topic, topic.host and fanout queues, acknowledge first
(at most once), drop duplicates, dispatch by namespace and version, reply.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kombu

from .. import broker
from ..i18n import _
from ..wire import deserialize_msg, unpack_context
from . import declarations
from .consumer import ConsumerThread, DuplicateFilter
from .exceptions import (
    ExpectedException,
    MessageDeliveryFailure,
    MessageUndeliverable,
    MessagingException,
    NoSuchMethod,
    UnsupportedVersion,
    serialize_remote_exception,
)
from .target import NoOpSerializer, Target, version_is_compatible
from .transport import Transport

LOG = logging.getLogger(__name__)


class _ObsoleteReplyQueues:
    """oslo's ObsoleteReplyQueuesCache: reply queues found gone, so that the next replies
    to them are dropped at once instead of being retried for a minute each."""

    SIZE = 200
    TTL = 60.0

    def __init__(self) -> None:
        self._gone: OrderedDict[str, float] = OrderedDict()  # queue -> forgotten at
        self._lock = threading.Lock()

    def add(self, reply_q: str) -> None:
        with self._lock:
            self._gone[reply_q] = time.monotonic() + self.TTL
            self._gone.move_to_end(reply_q)
            while len(self._gone) > self.SIZE:
                self._gone.popitem(last=False)

    def __contains__(self, reply_q: str) -> bool:
        with self._lock:
            until = self._gone.get(reply_q)
            if until is not None and until < time.monotonic():
                del self._gone[reply_q]
                until = None
            return until is not None


class RPCServer:
    """Listens on ``T``, ``T.server`` and ``T_fanout_<uuid>``; runs endpoint methods.

    Requests are acknowledged *before* the method runs (at-most-once, as in
    oslo.messaging): a server that dies mid-way loses the request, and the caller
    gets a MessagingTimeout.
    """

    def __init__(self, transport: Transport, target: Target, endpoints: list[Any],
                 serializer: Any = None, workers: int | None = None) -> None:
        if not (target.topic and target.server):
            raise ValueError(_("An RPC server needs a target with a topic and a server."))
        self.transport = transport
        self.target = target
        self.endpoints = endpoints
        self.serializer = serializer or NoOpSerializer()
        self.workers = workers or transport.conf["executor_thread_pool_size"]
        self._duplicates = DuplicateFilter()
        self._obsolete_reply_queues = _ObsoleteReplyQueues()
        self._executor: ThreadPoolExecutor | None = None
        self._consumer: ConsumerThread | None = None
        self.fanout_queue = ""

    def _queues(self) -> list[kombu.Queue]:
        topic, server = self.target.topic, self.target.server
        conf = self.transport.conf
        exchange = self.transport.control_exchange_for(self.target)
        fanout = declarations.fanout_queue(conf, topic, self.transport.unique_name)
        self.fanout_queue = fanout.name
        return [declarations.topic_queue(conf, exchange, topic),
                declarations.topic_queue(conf, exchange, f"{topic}.{server}"), fanout]

    def start(self) -> None:
        if self._consumer is not None and self._consumer.running:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers,
                                                thread_name_prefix=self.transport.service,
                                                initializer=self.transport.gate.enlist)
        queues = self._queues()
        self._consumer = ConsumerThread(
            self.transport, queues, self._on_request,
            name=f"{self.transport.service} rpc {self.target.topic}",
            delete_on_stop=[self.fanout_queue]
            if declarations.deletes_fanout_queues(self.transport.conf) else [])
        self._consumer.start()

    def stop(self) -> None:
        """Stop consuming: from now on, requests wait in the queues (fanout queue deleted)."""
        if self._consumer is not None:
            self._consumer.stop()

    def wait(self) -> None:
        """Wait for the requests already being handled to finish."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    @property
    def running(self) -> bool:
        return self._consumer is not None and self._consumer.running

    def _on_request(self, queue: kombu.Queue, body: dict, message: kombu.Message) -> None:
        try:
            message.ack()  # acknowledged before dispatch: at-most-once
        except broker.connection_errors() as error:  # oslo's RpcAMQPListener: never run,
            LOG.warning("Discarding RPC request due to failed acknowledge: %s", error)
            return  # and the broker, which got no ack, delivers it again
        msg = deserialize_msg(body)
        unique_id = msg.pop("_unique_id", None)
        trace = self.transport.trace
        if trace is not None:
            kind = "call" if "_reply_q" in msg else (
                "fanout" if queue.name == self.fanout_queue else "cast")
            fields = dict(queue=queue.name, routing_key=message.delivery_info.get("routing_key",
                                                                                 ""),
                          method=msg.get("method", ""),
                          request_id=msg.get("_context_request_id", ""),
                          msg_id=msg.get("_msg_id", ""), unique_id=unique_id or "",
                          broker=self.transport.broker)
            trace.record("deliver", kind, self.transport.service, **fields,
                         redelivered=bool(message.delivery_info.get("redelivered")))
            trace.record("ack", kind, self.transport.service, **fields)
        if self._duplicates.is_duplicate(unique_id):
            LOG.info("%s: ignoring duplicate message %s", self.transport.service, unique_id)
            if trace is not None:
                trace.record("drop", kind, self.transport.service, **fields)
            return
        if self._executor is not None:
            self._executor.submit(self._handle, msg)

    def _handle(self, msg: dict) -> None:
        reply_q, msg_id = msg.pop("_reply_q", None), msg.pop("_msg_id", None)
        client_timeout = msg.pop("_timeout", None)
        ctxt = self.serializer.deserialize_context(unpack_context(msg))
        monitor = None
        if reply_q and client_timeout:
            monitor = _CallMonitor(self, reply_q, msg_id, client_timeout, ctxt)
        try:
            result, failure = self.dispatch(ctxt, msg), None
        except ExpectedException as expected:  # part of the method's contract: no alarm
            result, failure = None, expected.exc_info[1]
            LOG.debug("Expected exception during message handling (%s)", failure)
        except Exception as error:  # the caller gets it as a failure, as with oslo
            LOG.info("%s: exception during message handling", self.transport.service,
                     exc_info=not isinstance(error, (NoSuchMethod, UnsupportedVersion)))
            result, failure = None, error
        finally:
            if monitor is not None:
                monitor.stop()
        if reply_q and msg_id:  # a cast has nobody to answer
            self.reply(reply_q, msg_id, result, failure, ctxt)

    def dispatch(self, ctxt: dict, msg: dict) -> Any:
        """Find the endpoint by namespace and version, as oslo's RPCDispatcher does.

        An endpoint without a ``target`` attribute serves the default namespace, version 1.0.
        """
        method, namespace = msg.get("method"), msg.get("namespace")
        version = msg.get("version", "1.0")
        compatible = False
        for endpoint in self.endpoints:
            target = getattr(endpoint, "target", None) or Target()
            if namespace not in target.accepted_namespaces or not version_is_compatible(
                    target.version or "1.0", version):
                continue
            if method and not method.startswith("_") and hasattr(endpoint, method):
                args = {name: self.serializer.deserialize_entity(ctxt, value)
                        for name, value in msg.get("args", {}).items()}
                result = getattr(endpoint, method)(ctxt, **args)
                return self.serializer.serialize_entity(ctxt, result)
            compatible = True
        if compatible:
            raise NoSuchMethod(method)
        raise UnsupportedVersion(version, method=method)

    def reply(self, reply_q: str, msg_id: str, result: Any = None,
              failure: BaseException | None = None, ctxt: dict | None = None) -> None:
        """Publish the reply to the default exchange, ``mandatory``: while the reply queue is
        missing, retry every 0.25 s for ``kombu_missing_consumer_retry_timeout`` seconds,
        then give up and remember the queue as gone."""
        if reply_q in self._obsolete_reply_queues:
            LOG.warning("%s doesn't exist, drop reply to %s", reply_q, msg_id)
            return
        timeout = self.transport.conf["kombu_missing_consumer_retry_timeout"]
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.send_reply(reply_q, msg_id, result, failure, ctxt)
                return
            except MessageUndeliverable:
                if time.monotonic() >= deadline:
                    self._obsolete_reply_queues.add(reply_q)
                    LOG.warning("The reply %s failed to send after %s seconds due to a "
                                "missing queue (%s). Abandoning...", msg_id, timeout, reply_q)
                    return
                LOG.debug("The reply %s could not be sent due to a missing queue (%s). "
                          "Retrying...", msg_id, reply_q)
                time.sleep(0.25)
            except MessageDeliveryFailure:
                LOG.warning("The reply %s could not be sent: the broker is unreachable.",
                            msg_id)
                return

    def send_reply(self, reply_q: str, msg_id: str, result: Any = None,
                   failure: BaseException | None = None, ctxt: dict | None = None,
                   ending: bool = True) -> None:
        """One reply message: the result or the failure; ``ending`` false for a heartbeat."""
        msg = {"result": result,
               "failure": serialize_remote_exception(failure) if failure else None,
               "ending": ending, "_msg_id": msg_id, "_unique_id": uuid.uuid4().hex}
        self.transport.publish(None, reply_q, msg, "reply", mandatory=True,
                               request_id=str((ctxt or {}).get("request_id") or ""))


class _CallMonitor:
    """While a call runs, a heartbeat reply (``ending`` false, no result) every
    client_timeout/2 seconds, so that the caller knows the server is still at it."""

    def __init__(self, server: RPCServer, reply_q: str, msg_id: str, client_timeout: Any,
                 ctxt: dict) -> None:
        self._done = threading.Event()
        try:
            interval = int(client_timeout) / 2
        except (TypeError, ValueError):
            interval = 0
        if interval < 1:
            LOG.warning("Client provided an invalid timeout value of %r", client_timeout)
            return
        threading.Thread(target=self._beat, args=(server, reply_q, msg_id, interval, ctxt),
                         name=f"{server.transport.service} call monitor", daemon=True).start()

    def _beat(self, server: RPCServer, reply_q: str, msg_id: str, interval: float,
              ctxt: dict) -> None:
        server.transport.gate.enlist()  # a paused server sends no call-monitor heartbeat
        while not self._done.wait(interval):
            try:
                server.send_reply(reply_q, msg_id, ctxt=ctxt, ending=False)
            except MessagingException as error:  # the caller or the broker is gone
                LOG.debug("Call-monitor heartbeat failed: %s", error)
                return

    def stop(self) -> None:
        self._done.set()


def get_rpc_server(transport: Transport, target: Target, endpoints: list[Any],
                   serializer: Any = None, **kwargs: Any) -> RPCServer:
    return RPCServer(transport, target, endpoints, serializer, **kwargs)
