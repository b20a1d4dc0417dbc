"""What listens: a thread consuming some queues on its own connection, reconnecting with
oslo's waits, and the filter that drops duplicates by ``_unique_id``.  RPC servers,
notification listeners and a process's reply queue are each one of these.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import kombu
from amqp import exceptions as amqp_errors

from .. import broker
from ..errors import BrokerUnreachable, CourseError
from ..i18n import _
from ..trace import Trace
from ..transport_url import mask_url
from . import declarations, heartbeat
from .exceptions import MessageDeliveryFailure
from .gate import Gate

LOG = logging.getLogger(__name__)


class Link(Protocol):
    """What a consumer needs of its process's transport (``transport.Transport``): the
    options, new connections, and a place among the consumers the transport stops."""

    conf: dict[str, Any]
    #: The process's gate: its consumers wait at it while the process is paused.
    gate: Gate
    #: Where its consumers record their lost connections and reconnections, as whom.
    trace: Trace | None
    service: str
    broker: str

    @property
    def is_embedded(self) -> bool: ...

    def connect(self, timeout: float = 5.0) -> kombu.Connection: ...

    def adopt(self, consumer: ConsumerThread) -> None: ...

#: Duplicates are detected among the last 16 ``_unique_id`` values seen (oslo's _MsgIdCache).
DUPLICATE_WINDOW = 16

#: On RabbitMQ, how often a waiting consumer looks whether it was asked to stop (the
#: embedded broker wakes it at once instead).
STOP_CHECK_SECONDS = 0.25


def retry_delays(conf: dict[str, Any]) -> Iterator[float]:
    """The waits between attempts to reach a lost broker, as oslo's ``ensure()`` has kombu
    make them: ``kombu_reconnect_delay`` (oslo sleeps it in its error callback) before the
    first attempt to reconnect, which kombu makes at once; each further one after that
    delay and ``rabbit_retry_interval``, ``rabbit_retry_backoff`` more each time, up to
    ``rabbit_interval_max`` (measured with oslo 18.3 on a cluster: a call whose node stopped
    went through the next node one second later)."""
    yield conf["kombu_reconnect_delay"]
    interval = conf["rabbit_retry_interval"]
    while True:
        yield conf["kombu_reconnect_delay"] + interval
        interval = min(interval + conf["rabbit_retry_backoff"], conf["rabbit_interval_max"])


class ConsumerThread:
    """A thread consuming some queues on its own connection, reconnecting like oslo does.

    ``start()`` returns once the queues are declared and consumed, so that a message
    sent right after it is not lost; it raises at once if the broker is unreachable.
    As oslo's listening connections, it asks for ``rabbit_qos_prefetch_count`` messages
    at most; on a stream it goes on, after a reconnection, from the offset after the last
    message it was given.
    """

    def __init__(self, transport: Link, queues: list[kombu.Queue],
                 on_message: Callable[[kombu.Queue, dict, kombu.Message], None],
                 name: str, delete_on_stop: Iterable[str] = ()) -> None:
        self.transport = transport
        self.queues = queues
        self.on_message = on_message
        self.name = name
        self.prefetch = transport.conf["rabbit_qos_prefetch_count"]
        self.delete_on_stop = tuple(delete_on_stop)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._conn: kombu.Connection | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._delays: Iterator[float] = iter(())

    def start(self) -> None:
        self._stop.clear()
        self._ready.clear()
        self._error = None
        self.transport.adopt(self)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        self.transport.gate.enlist()
        self._delays = retry_delays(self.transport.conf)
        first = True
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception as error:  # a consumer thread must not die
                if first and not self._ready.is_set():
                    self._error = _start_error(error)
                    self._ready.set()
                    return
                if self._stop.is_set():
                    break
                delay = next(self._delays)
                LOG.warning("%s: AMQP server unreachable: %s. Trying again in %s seconds.",
                            self.name, mask_url(str(error)), delay)
                self._stop.wait(delay)
            first = False
        self._ready.set()

    def _consume(self) -> None:
        conn = self._conn = self.transport.connect()
        consumers: dict[str, kombu.Consumer] = {}
        again = self._ready.is_set()  # consumed before: this is a reconnection
        try:
            channel = conn.channel()
            if self.prefetch:
                channel.basic_qos(0, self.prefetch, False)
            for index, queue in enumerate(self.queues):
                queue = self.queues[index] = declare(queue(channel))  # maybe oslo's fallback
                if queue.name not in consumers:  # a listener pool: one queue, many keys
                    consumers[queue.name] = self._consumer(channel, queue)
            for name, consumer in consumers.items():
                try:
                    consumer.consume()
                except amqp_errors.NotFound:  # oslo's ConsumerBase.consume: gone since its
                    queue = consumer.queues[0]  # declare; declare it again, consume once more
                    declare(queue)
                    consumers[name] = self._consumer(channel, queue)
                    consumers[name].consume()
            self._ready.set()
            # connected: the next loss waits from the start again, as each of oslo's ensure()
            self._delays = retry_delays(self.transport.conf)
            if again:
                self._record("reconnect")
            beats = heartbeat.enabled(self.transport.conf, conn)
            wait = (heartbeat.interval(self.transport.conf) if beats else None)
            if not self.transport.is_embedded:  # RabbitMQ cannot wake it: it looks itself
                wait = min(wait or STOP_CHECK_SECONDS, STOP_CHECK_SECONDS)
            gate = self.transport.gate
            while not self._stop.is_set():
                gate.hold(self._stop)  # paused: nothing read, nothing acked, no heartbeat
                if self._stop.is_set():
                    break
                if not conn.connected:  # oslo's _consume: an ack failed, the client knows
                    raise conn.recoverable_connection_errors[0](  # its connection is gone
                        "Connection reset by peer (found when acknowledging)")
                if beats:  # oslo's consume loop: the listening connection's heartbeats
                    heartbeat.check(self.transport.conf, conn)
                try:
                    conn.drain_events(timeout=wait)
                except TimeoutError:
                    pass
        except Exception as error:
            if self._ready.is_set() and not self._stop.is_set():
                reason = broker.close_reason(conn)
                self._record("disconnect", f"broker:{reason}" if reason
                             else f"{type(error).__name__}: {mask_url(str(error))}")
            raise
        finally:
            if self._stop.is_set():
                self._close(conn, consumers.values())
            else:  # lost: the next connection declares the same queues again
                self._close(conn, (), delete=False)
            self._conn = None

    def _record(self, action: str, detail: str = "") -> None:
        trace = self.transport.trace
        if trace is not None:
            trace.record(action, "connection", self.transport.service, detail=detail,
                         broker=self.transport.broker)

    def _consumer(self, channel: Any, queue: kombu.Queue) -> kombu.Consumer:
        return kombu.Consumer(channel, [queue(channel)], accept=["json"], auto_declare=False,
                              callbacks=[lambda body, message: self._deliver(queue, body,
                                                                             message)])

    def _deliver(self, queue: kombu.Queue, body: dict, message: kombu.Message) -> None:
        self.transport.gate.hold(self._stop)  # paused in the middle of a batch
        if self._stop.is_set():  # left unacked: the broker requeues it when we close
            return
        offset = (message.headers or {}).get("x-stream-offset")
        if offset is not None and queue.consumer_arguments:  # oslo's next_stream_offset
            queue.consumer_arguments = {**queue.consumer_arguments,
                                        "x-stream-offset": offset + 1}
        try:
            self.on_message(queue, body, message)
        except Exception:  # one bad message must not stop the consumer
            LOG.exception("%s: failed to handle a message from %s", self.name, queue.name)
            if not message.acknowledged:
                message.reject()  # dropped, as oslo's Consumer does: never redelivered

    def _close(self, conn: kombu.Connection, consumers: Iterable[kombu.Consumer],
               delete: bool = True) -> None:
        """Cancel the consumers (once this returns, the broker counts them gone), delete
        the queues to delete (the fanout queue), close the connection."""
        try:
            if conn.connected:
                for consumer in consumers:
                    consumer.cancel()
                if delete and self.delete_on_stop:
                    channel = conn.channel()
                    for name in self.delete_on_stop:
                        channel.queue_delete(name)
            conn.close()
        except Exception:  # the broker may be gone already
            LOG.debug("closing %s failed", self.name, exc_info=True)

    def nudge(self) -> None:
        """Make a thread blocked in the embedded broker's drain_events look at its stop
        flag and its gate now (on RabbitMQ it looks every STOP_CHECK_SECONDS)."""
        conn = self._conn
        if conn is not None and self.transport.is_embedded:
            broker.wake(conn)

    def stop(self) -> None:
        self._stop.set()
        self.transport.gate.wake()  # a paused consumer stops without reading anything
        self.nudge()  # unblock drain_events at once
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def declare(queue: kombu.Queue) -> kombu.Queue:
    """Declare a bound queue, its exchange and its binding as oslo's ``ConsumerBase.declare``
    does after every (re)connection, and return the queue declared:

    * a 406 for the durable flag (the exchange or queue exists with the other one) declares
      them again not durable, which this consumer then keeps to (oslo's
      ``_declare_fallback_nondurable``);
    * a 404 means the queue is homed on a node that is down or stopping ("process is
      stopped by supervisor"), so delete it and declare it again (oslo bug 2068630), which
      makes it on a running node; one more 404 (a race), one more declare.

    py-amqp reopens a channel the broker closed, so the same channel goes on."""
    try:
        try:
            queue.declare()
        except amqp_errors.PreconditionFailed as error:
            if not declarations.durable_conflict(error):
                raise
            LOG.warning("Queue %s could not be declared probably because of conflicting "
                        "configurations: %s", queue.name, error)
            LOG.info("Retrying to declare the exchange (%s) as non durable", queue.exchange.name)
            queue = declarations.nondurable(queue)(queue.channel)
            queue.declare()
        except amqp_errors.NotFound as error:
            LOG.warning("Queue %s is stuck on unresponsive node. Trying to delete the queue "
                        "and redeclare it again, Error info: %s", queue.name, error)
            try:
                queue.delete()
            except Exception as cleanup:  # oslo ignores it too
                LOG.warning("During cleanup of stuck queue deletion another exception "
                            "occurred: %s. Ignoring...", cleanup)
            queue.declare()
    except amqp_errors.ChannelError as error:
        if error.code != 404:
            raise
        queue.declare()
    return queue


def _start_error(error: Exception) -> CourseError:
    """Why a consumer could not start: the broker is unreachable, or it refused to declare
    a queue (a 406, say), which oslo reports as a MessageDeliveryFailure."""
    if isinstance(error, CourseError):
        return error
    if isinstance(error, amqp_errors.ChannelError):
        return MessageDeliveryFailure(_("The broker refused to declare the queues: {error}",
                                        error=mask_url(str(error))))
    return BrokerUnreachable(mask_url(f"{type(error).__name__}: {error}"))


class DuplicateFilter:
    """oslo's _MsgIdCache: the last 16 ``_unique_id`` values seen, to drop redeliveries."""

    def __init__(self) -> None:
        self._seen: deque[str] = deque(maxlen=DUPLICATE_WINDOW)
        self._lock = threading.Lock()

    def __contains__(self, unique_id: str | None) -> bool:
        return unique_id in self._seen

    def add(self, unique_id: str | None) -> None:
        with self._lock:
            if unique_id and unique_id not in self._seen:
                self._seen.append(unique_id)

    def is_duplicate(self, unique_id: str | None) -> bool:
        """Seen already?  If not, remember it."""
        with self._lock:
            if unique_id in self._seen:
                return True
            if unique_id:
                self._seen.append(unique_id)
            return False
