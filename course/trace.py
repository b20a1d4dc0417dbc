"""The trace: every publish, delivery, acknowledgement and reply, in order.

``course.rpc`` records into a :class:`Trace` each time a message moves; the
trace is what diagrams, tables and exercises read, so nothing is drawn from a
hard-coded picture.  It is thread-safe and bounded: it keeps the last
:data:`DEFAULT_LIMIT` events and counts the ones it had to drop.

Words used here:

* an **event** is one thing that happened to one message: ``publish`` (a
  service hands it to an exchange), ``deliver`` (a service receives it from a
  queue), ``ack`` (the receiver acknowledges it), ``return`` (the broker gives
  back a ``mandatory`` message that reached no queue), ``nack`` (a queue refused it,
  ``x-overflow: reject-publish``: the sender sends it again), ``drop`` (a receiver
  throws away a duplicate), ``fail`` (the sender gave up: the broker stayed
  unreachable), ``http`` (a request that real OpenStack sends over HTTP, not over the
  broker: recorded so that the picture is complete); and, of kind ``connection`` and
  about no message, ``disconnect`` (a consumer lost its connection: ``detail`` says why)
  and ``reconnect`` (it consumes again): :meth:`Hops.connections` prints them;
* a **hop** is one message's trip from a publisher to one queue and, when it was
  consumed, to its receiver: a fanout message makes one hop per queue.

The trace is a record: it does not draw itself.  ``course.diagrams.flow_diagram`` and
``course.player.Player`` read it, and the trace of a lab (``lab.trace``) has
``.diagram()`` and ``.player()``.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from .display import exchange_label, table
from .i18n import _

#: Events kept by default: about 600 boots of a small cloud; each event keeps its message
#: body (1-3 kB for Nova's), so the trace stays under ~60 MB.
DEFAULT_LIMIT = 20_000

UUID_HEX = re.compile(r"(?<=_)[0-9a-f]{32}\b")

KINDS = ("cast", "call", "reply", "fanout", "notify", "http")
#: What :meth:`Hops.outcomes` counts.
OUTCOMES = ("delivered", "redelivered", "undelivered", "returned", "nacked", "failed",
            "duplicate")


@dataclass(frozen=True)
class Event:
    """One thing that happened to one message."""

    seq: int
    time: float  # seconds since the trace started
    action: str  # publish | deliver | ack | return | nack | fail | drop | http
    kind: str  # cast | call | reply | fanout | notify
    service: str  # who did it: "nova-conductor:ctl"
    exchange: str = ""
    routing_key: str = ""
    queue: str = ""
    method: str = ""
    request_id: str = ""
    msg_id: str = ""
    unique_id: str = ""
    peer: str = ""  # the other side of an HTTP request
    #: The broker (transport_url, password masked) it crossed: cells have one each.
    broker: str = ""
    redelivered: bool = False  # a delivery the broker had made before (AMQP's flag)
    detail: str = ""  # why a connection was lost (kind "connection")
    body: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Hop:
    """A message's trip: published by ``sender``, queued in ``queue``, taken by ``receiver``."""

    number: int
    kind: str
    sender: str
    exchange: str
    routing_key: str
    queue: str
    receiver: str  # "" while nobody has consumed it
    method: str
    request_id: str
    msg_id: str
    unique_id: str
    published: float
    delivered: float | None
    body: dict = field(compare=False, hash=False, repr=False)
    #: The broker the message crossed, as its transport_url with the password masked
    #: (``embedded:///cell1``, ``rabbit://nova:****@ctl:5672/cell1``); "" for HTTP.
    broker: str = ""
    #: Why no queue holds it, for a message the broker did not queue: ``returned``,
    #: ``nacked`` or ``failed`` (the outcomes of :meth:`Hops.outcomes`); else "".
    refused: str = ""

    @property
    def exchange_label(self) -> str:
        return exchange_label(self.exchange)

    @property
    def unqueued(self) -> str:
        """What tables and pictures show where no queue or receiver took it (yet)."""
        labels = {"returned": _("(returned)"), "nacked": _("(refused: nack)"),
                  "failed": _("(not sent)")}
        return labels.get(self.refused) or _("(waiting)")


#: The action that leaves a message outside every queue, by the outcome it gives.
REFUSALS = (("nack", "nacked"), ("return", "returned"), ("fail", "failed"))


class Hops:
    """The readers every selection of events has: its hops, as rows and as a table."""

    events: list[Event]

    @property
    def hops(self) -> list[Hop]:
        return hops(self.events)

    def outcomes(self) -> dict[str, int]:
        """What became of each message sent (HTTP aside), counted, for lessons to print:

        ``delivered`` (taken from a queue, once per message however many queues),
        ``redelivered`` (taken again, flagged by the broker: its first taker never
        acknowledged it), ``undelivered`` (nobody has taken it: still waiting, or lost
        with a queue the broker did not keep), ``returned`` (mandatory, reached no queue),
        ``nacked`` (refused by a full queue each time it was sent, so far), ``failed``
        (never reached the broker), ``duplicate`` (dropped by its receiver).
        """
        counts = dict.fromkeys(OUTCOMES, 0)
        actions: dict[str, list[Event]] = {}
        for event in self.events:
            if event.kind not in ("http", "connection"):
                actions.setdefault(event.unique_id, []).append(event)
        for events in actions.values():
            done = {e.action for e in events}
            if "publish" not in done:
                continue
            if "nack" in done and "deliver" not in done:
                counts["nacked"] += 1
            elif "fail" in done:
                counts["failed"] += 1
            elif "return" in done:
                counts["returned"] += 1
            elif "deliver" not in done:
                counts["undelivered"] += 1
            else:
                counts["delivered"] += 1
                counts["redelivered"] += any(e.redelivered for e in events
                                             if e.action == "deliver")
                counts["duplicate"] += "drop" in done
        return counts

    def connections(self) -> list[str]:
        """What happened to the consumers' connections, one line each, in order: "nova-compute
        on compute1: connection closed by the broker: missed heartbeats from client,
        timeout: 2s", then "... reconnected"."""
        return [connection_line(e) for e in self.events if e.kind == "connection"]

    def rows(self) -> list[dict]:
        """Every hop as a plain dict, for tables, DataFrames and exercises."""
        return [_row(h) for h in self.hops]

    def table(self) -> str:
        """The hops as a plain-text table, one line each, in order."""
        return format_hops(self.hops)

    def __len__(self) -> int:
        return len(self.events)


@dataclass
class TraceView(Hops):
    """A fixed selection of events (for one request, say) with the same readers."""

    events: list[Event]


class Trace(Hops):
    """A bounded, thread-safe record of message events, shared by every service of a lab."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.dropped = 0
        self._events: deque[Event] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._start = time.monotonic()

    def record(self, action: str, kind: str, service: str, **fields: object) -> Event:
        with self._lock:
            if len(self._events) == self.limit:
                self.dropped += 1
            event = Event(next(self._seq), time.monotonic() - self._start, action, kind,
                          service, **fields)
            self._events.append(event)
            return event

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self.dropped = 0

    def for_request(self, request_id: str) -> TraceView:
        """Only the messages of one request (an API call such as a boot)."""
        return TraceView([e for e in self.events if e.request_id == request_id])

    def __len__(self) -> int:
        return len(self._events)

    def __repr__(self) -> str:
        return f"<Trace: {len(self)} events, limit {self.limit}, {self.dropped} dropped>"


def hops(events: Iterable[Event]) -> list[Hop]:
    """Join each publish with the deliveries of the same message, one hop per queue.

    A message nobody has consumed yet (waiting in a queue, or routed nowhere) is
    one hop with an empty ``queue`` and ``receiver``.
    """
    events = list(events)
    deliveries: dict[str, list[Event]] = {}
    refusals: dict[str, set[str]] = {}
    for event in events:
        if event.action == "deliver":
            deliveries.setdefault(event.unique_id, []).append(event)
        elif event.action in dict(REFUSALS):
            refusals.setdefault(event.unique_id, set()).add(event.action)
    result: list[Hop] = []
    for sent in (e for e in events if e.action in ("publish", "http")):
        if sent.action == "http":
            result.append(Hop(
                number=len(result) + 1, kind="http", sender=sent.service, exchange="",
                routing_key="", queue="", receiver=sent.peer, method=sent.method,
                request_id=sent.request_id, msg_id="", unique_id="", published=sent.time,
                delivered=sent.time, body=sent.body))
            continue
        refused = next((outcome for action, outcome in REFUSALS
                        if action in refusals.get(sent.unique_id, ())), "")
        for got in deliveries.get(sent.unique_id) or [None]:
            result.append(Hop(
                number=len(result) + 1, kind=sent.kind, sender=sent.service,
                exchange=sent.exchange, routing_key=sent.routing_key,
                queue=got.queue if got else "", receiver=got.service if got else "",
                method=sent.method, request_id=sent.request_id, msg_id=sent.msg_id,
                unique_id=sent.unique_id, published=sent.time,
                delivered=got.time if got else None, body=sent.body, broker=sent.broker,
                refused="" if got else refused))
    return result


def connection_line(event: Event) -> str:
    """One connection event in the learner's language (the broker's own words stay)."""
    binary, _sep, host = event.service.partition(":")
    if event.action == "reconnect":
        return _("{binary} on {host}: reconnected to the broker", binary=binary, host=host)
    if event.detail.startswith("broker:"):
        return _("{binary} on {host}: connection closed by the broker: {reason}",
                 binary=binary, host=host, reason=event.detail.removeprefix("broker:"))
    return _("{binary} on {host}: connection lost: {error}", binary=binary, host=host,
             error=event.detail)


def hop_header() -> list[str]:
    """The columns of every hop table, in the learner's language (``exchange`` is the
    French operator's word too)."""
    return ["#", _("kind"), _("from"), _("exchange"), _("routing key"), _("queue"), _("to"),
            _("method")]


def hop_cells(hop: Hop, method: str | None = None) -> list[str]:
    """One hop under :func:`hop_header`; ``method`` replaces the method column.

    HTTP requests (never on the broker) show ``HTTP`` where the exchange would be.
    """
    return [str(hop.number), hop.kind, hop.sender,
            "HTTP" if hop.kind == "http" else hop.exchange_label, hop.routing_key,
            hop.queue or ("" if hop.kind == "http" else hop.unqueued),
            hop.receiver, hop.method if method is None else method]


def format_hops(hops: list[Hop]) -> str:
    """Aligned columns: number, kind, sender, exchange, routing key, queue, receiver, method;
    and the broker each crossed when they crossed several (cells with a broker each)."""
    rows = [hop_header(), *(hop_cells(hop) for hop in hops)]
    if len({hop.broker for hop in hops if hop.broker}) > 1:
        rows = [[*rows[0], _("broker")], *([*row, hop.broker] for row, hop in zip(
            rows[1:], hops, strict=True))]
    return table([[short_ids(cell) for cell in row] for row in rows])


def short_ids(text: str) -> str:
    """``reply_5c0f…`` for ``reply_<32 hex digits>``: the table stays readable."""
    return UUID_HEX.sub(lambda m: m.group(0)[:8] + "…", text)


def _row(hop: Hop) -> dict:
    row = asdict(hop)
    row.pop("body")
    return row
