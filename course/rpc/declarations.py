"""What a transport declares, under each ``[oslo_messaging_rabbit]`` queue option, exactly as
oslo.messaging 18.3's driver does (``_drivers/impl_rabbit.py``: ``Connection.__init__``,
``_get_queue_arguments``, ``declare_*_consumer``, ``*_send``; ``amqpdriver.QManager``).

========================  ==========================  ===================================
object                    durable                     arguments
========================  ==========================  ===================================
control exchange, ``T``,  ``amqp_durable_queues`` or  quorum (``rabbit_quorum_queue``, with
``T.H``, notifications    ``rabbit_quorum_queue``     its delivery limit and memory caps)
``T_fanout`` exchange     transient quorum            (auto-delete)
fanout queue              transient quorum or stream  ``x-expires``; quorum if transient
                                                      quorum; one stream ``T_fanout`` with
                                                      ``x-max-age`` if stream fanout
``reply_*``               transient quorum            ``x-expires``; quorum if transient
                                                      quorum
========================  ==========================  ===================================

``amqp_auto_delete`` makes the control exchange and the topic queues auto-delete (RabbitMQ
then refuses a quorum topic queue, as it refuses it to oslo).  ``use_queue_manager`` names
reply and fanout queues ``<hostname>:<processname>:<n>`` instead of a random uuid.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

import kombu

from ..errors import CourseError
from ..i18n import _


class ConfigurationError(CourseError, RuntimeError):
    """Options oslo.messaging refuses together (it raises RuntimeError, as this does)."""


def check_options(conf: dict[str, Any], embedded: bool) -> None:
    """Refuse what oslo's ``Connection.__init__`` and ``_get_queue_arguments`` refuse, and
    stream fanout on the embedded broker, which has no stream queues."""
    if conf["rabbit_quorum_queue"] and conf["rabbit_ha_queues"]:
        raise ConfigurationError(_(
            "rabbit_quorum_queue and rabbit_ha_queues cannot both be set: a queue is quorum "
            "or mirrored (HA), not both."))
    if conf["heartbeat_timeout_threshold"] > 0 and conf["heartbeat_rate"] < 1:
        # oslo divides the threshold by it when it connects: a ZeroDivisionError there
        raise ConfigurationError(_(
            "heartbeat_rate must be at least 1 (it is {rate}): oslo.messaging checks "
            "heartbeats heartbeat_rate times per heartbeat_timeout_threshold.",
            rate=conf["heartbeat_rate"]))
    if conf["kombu_failover_strategy"] not in ("round-robin", "shuffle"):
        raise ConfigurationError(_(
            "kombu_failover_strategy must be round-robin or shuffle, not {strategy}.",
            strategy=conf["kombu_failover_strategy"]))
    if not conf["rabbit_stream_fanout"]:
        return
    if conf["rabbit_qos_prefetch_count"] <= 0:
        raise ConfigurationError(_(
            "rabbit_stream_fanout needs rabbit_qos_prefetch_count set to a value greater "
            "than 0."))
    if not conf["rabbit_transient_quorum_queue"]:
        raise ConfigurationError(_(
            "rabbit_stream_fanout needs rabbit_transient_quorum_queue set to true."))
    if embedded:
        raise ConfigurationError(_(
            "rabbit_stream_fanout needs stream queues, which the embedded broker does not "
            "have: give the lab the transport_url of a RabbitMQ (3.9 or later)."))


def durable(conf: dict[str, Any]) -> bool:
    """oslo's ``Connection.durable``: quorum queues are durable, so is their exchange."""
    return bool(conf["amqp_durable_queues"] or conf["rabbit_quorum_queue"])


def queue_arguments(conf: dict[str, Any], *, quorum: bool, ttl: int = 0,
                    stream: bool = False) -> dict[str, Any]:
    """oslo's ``_get_queue_arguments``: HA policy, quorum type and limits, ``x-expires``; a
    stream replaces them all with its type and ``x-max-age``."""
    if stream:
        return {"x-queue-type": "stream", **({"x-max-age": f"{ttl}s"} if ttl > 0 else {})}
    args: dict[str, Any] = {}
    if conf["rabbit_ha_queues"]:
        args["x-ha-policy"] = "all"
    if quorum:
        args["x-queue-type"] = "quorum"
        for option, argument in (("rabbit_quorum_delivery_limit", "x-delivery-limit"),
                                 ("rabbit_quorum_max_memory_length", "x-max-in-memory-length"),
                                 ("rabbit_quorum_max_memory_bytes", "x-max-in-memory-bytes")):
            if conf[option]:
                args[argument] = conf[option]
    if ttl > 0:
        args["x-expires"] = ttl * 1000
    return args


#: RabbitMQ's 406 when an exchange or queue of that name exists with the other durable flag:
#: oslo's driver looks for these words (release note 14.1.0) and declares again, not durable.
DURABLE_CONFLICT = "PRECONDITION_FAILED - inequivalent arg 'durable'"


def durable_conflict(error: BaseException) -> bool:
    """Whether ``error`` is that 406: services whose ``amqp_durable_queues`` (or quorum
    options) differ share a control exchange, and the first one declared it."""
    return DURABLE_CONFLICT in str(error)


def nondurable(queue: kombu.Queue) -> kombu.Queue:
    """oslo's ``ConsumerBase._declare_fallback_nondurable``: the same queue, its exchange and
    binding, not durable; the exchange takes the queue's auto-delete flag, as oslo writes it.
    The queue's arguments stay: a quorum queue is then refused for not being durable."""
    exchange = queue.exchange
    if exchange.name:
        exchange = kombu.Exchange(exchange.name, exchange.type, durable=False,
                                  auto_delete=queue.auto_delete)
    return kombu.Queue(queue.name, exchange, routing_key=queue.routing_key, durable=False,
                       auto_delete=queue.auto_delete, queue_arguments=queue.queue_arguments,
                       consumer_arguments=queue.consumer_arguments)


def control_exchange(conf: dict[str, Any], name: str) -> kombu.Exchange:
    return kombu.Exchange(name, "topic", durable=durable(conf),
                          auto_delete=conf["amqp_auto_delete"])


def consumer_arguments(conf: dict[str, Any], stream: bool = False) -> dict[str, Any] | None:
    """What every consumer of oslo's asks for (``ConsumerBase.declare``): with
    ``enable_cancel_on_failover``, ``x-cancel-on-ha-failover`` (RabbitMQ cancels the consumers
    of a classic mirrored queue whose master moves, and oslo consumes again), replaced on a
    stream by the offset to read from."""
    if stream:
        return {"x-stream-offset": "last"}
    return {"x-cancel-on-ha-failover": True} if conf["enable_cancel_on_failover"] else None


def topic_queue(conf: dict[str, Any], exchange: kombu.Exchange, name: str,
                routing_key: str | None = None) -> kombu.Queue:
    """``T``, ``T.H``, and the notification queues (publisher's and listener's)."""
    return kombu.Queue(name, exchange, routing_key=routing_key or name, durable=durable(conf),
                       auto_delete=conf["amqp_auto_delete"],
                       queue_arguments=queue_arguments(conf, quorum=conf["rabbit_quorum_queue"]),
                       consumer_arguments=consumer_arguments(conf))


def fanout_exchange(conf: dict[str, Any], topic: str) -> kombu.Exchange:
    return kombu.Exchange(f"{topic}_fanout", "fanout",
                          durable=conf["rabbit_transient_quorum_queue"], auto_delete=True)


def fanout_queue(conf: dict[str, Any], topic: str, unique: Callable[[], str]) -> kombu.Queue:
    """One server's ``T_fanout_<unique()>``, or with stream fanout the one stream ``T_fanout``
    every server reads from its own offset (``x-stream-offset``, "last" at first); then
    ``unique`` is not called (the queue manager counts no name)."""
    stream = conf["rabbit_stream_fanout"]
    return kombu.Queue(
        f"{topic}_fanout" if stream else f"{topic}_fanout_{unique()}",
        fanout_exchange(conf, topic), routing_key=topic,
        durable=bool(conf["rabbit_transient_quorum_queue"] or stream), auto_delete=False,
        queue_arguments=queue_arguments(conf, quorum=conf["rabbit_transient_quorum_queue"],
                                        ttl=conf["rabbit_transient_queues_ttl"], stream=stream),
        consumer_arguments=consumer_arguments(conf, stream))


def reply_queue(conf: dict[str, Any], name: str) -> kombu.Queue:
    return kombu.Queue(name, exchange=None, routing_key=name,
                       durable=conf["rabbit_transient_quorum_queue"], auto_delete=False,
                       queue_arguments=queue_arguments(
                           conf, quorum=conf["rabbit_transient_quorum_queue"],
                           ttl=conf["rabbit_transient_queues_ttl"]),
                       consumer_arguments=consumer_arguments(conf))


def deletes_fanout_queues(conf: dict[str, Any]) -> bool:
    """oslo deletes a server's fanout queue when it stops, unless the name is shared (a
    stream) or stable across restarts (the queue manager): x-expires removes those."""
    return not (conf["rabbit_stream_fanout"] or conf["use_queue_manager"])


class QueueManager:
    """oslo's ``QManager``: names ``<hostname>:<processname>:<n>``, ``n`` counting from 1 for
    every reply or fanout queue the process makes, so a restarted process finds its queues
    again.  oslo keeps the counter in ``/dev/shm`` for the processes of one service; here
    the simulated processes live in one Python process, so the counter is kept in memory
    for as long as a transport of that (hostname, processname) is open.
    """

    _counters: dict[tuple[str, str], list[int]] = {}  # key -> [last n, open transports]
    _lock = threading.Lock()

    def __init__(self, hostname: str, processname: str) -> None:
        self.key = (hostname, processname)
        with self._lock:
            self._counters.setdefault(self.key, [0, 0])[1] += 1
        self._open = True

    @classmethod
    def for_service(cls, conf: dict[str, Any], service: str) -> QueueManager:
        """Options ``hostname`` and ``processname`` if set; else the simulated process's
        ("nova-compute:cmp1" is nova-compute on cmp1); else oslo's defaults."""
        binary, _sep, host = service.rpartition(":")
        hostname = conf.get("hostname") or host if binary else conf.get("hostname")
        processname = conf.get("processname") or binary
        return cls(hostname or socket.gethostname(),
                   processname or os.path.basename(sys.argv[0]))

    def get(self) -> str:
        with self._lock:
            counter = self._counters[self.key]
            counter[0] += 1
            return f"{self.key[0]}:{self.key[1]}:{counter[0]}"

    def close(self) -> None:
        """The process ends: once none of its transports is open, the count starts over."""
        with self._lock:
            if not self._open:
                return
            self._open = False
            counter = self._counters[self.key]
            counter[1] -= 1
            if counter[1] == 0:
                del self._counters[self.key]
