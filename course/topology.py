"""A snapshot of a broker's exchanges, queues and bindings, the same model for both brokers.

Lessons, exercises and diagrams read the broker through :func:`snapshot`, so what a
learner sees is what the broker really holds, whether it is the embedded broker or a
RabbitMQ (read-only, through its management HTTP API).  The records of both are shaped
like that API's JSON, so one parser serves both.

RabbitMQ's built-ins (the default exchange ``""``, the ``amq.*`` exchanges and the
implicit binding of every queue to the default exchange) are hidden unless
``include_builtin=True``: they are the same on every broker and hide what a lesson shows.
Only bindings to queues are kept; exchange-to-exchange bindings are ignored, since
oslo.messaging declares none.  :meth:`Topology.route` says where a message would go,
by the same rule the broker follows (:mod:`course.routing`).

A snapshot is a record: it does not draw itself.  ``course.diagrams.topology_diagram``
draws one, and the snapshots a lab hands out (``lab.topology()``) have ``.diagram()``.
"""

from __future__ import annotations

import html
import json
import os
import socket
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from . import embedded, routing
from .broker import configured_url
from .display import exchange_label
from .display import table as align
from .errors import BrokerUnreachable, CourseError
from .i18n import _
from .transport_url import Host, TransportURL, open_connection, parse_transport_url

#: Where a RabbitMQ's management API is when it is not on port 15672 of the first host.
MANAGEMENT_ENV_VAR = "COURSE_MANAGEMENT_URL"
MANAGEMENT_PORT = 15672
#: Seconds to wait for the management API or the broker: a learner is told within a few.
TIMEOUT = 3.0

QUEUE_COLUMNS = ("name", "messages", "messages_ready", "messages_unacknowledged", "consumers",
                 "durable", "auto_delete", "exclusive", "arguments", "type", "policy")
EXCHANGE_COLUMNS = ("name", "type", "durable", "auto_delete", "arguments")
#: Column names in order, or one string of names separated by spaces.
Columns = Sequence[str] | str
#: rabbitmqctl list_bindings identifiers -> Binding attributes.
BINDING_COLUMNS = {"source_name": "exchange", "destination_name": "queue",
                   "routing_key": "routing_key", "arguments": "arguments"}


class ManagementAPIError(CourseError):
    """RabbitMQ's management API refused or could not answer the question."""

    #: RabbitMQ's own reason, when it refused a request as bad (400).
    reason: str = ""


class UnknownColumn(CourseError, ValueError):
    """A table column that rabbitmqctl would not know either."""


class UnknownExchange(CourseError, KeyError):
    """A message published to an exchange the broker does not have (a 404 on a broker)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Exchange:
    name: str
    type: str
    durable: bool = False
    auto_delete: bool = False
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Queue:
    name: str
    messages_ready: int = 0
    messages_unacknowledged: int = 0
    consumers: int = 0
    durable: bool = False
    auto_delete: bool = False
    exclusive: bool = False
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)
    type: str = "classic"
    #: The policy the queue follows (``rabbitmqctl list_queues policy``), and its
    #: definition; on RabbitMQ the management API learns of a change a moment later.
    policy: str | None = None
    effective_policy_definition: dict[str, Any] = field(default_factory=dict, hash=False,
                                                        compare=False)

    @property
    def messages(self) -> int:
        """Ready plus unacknowledged, as ``rabbitmqctl list_queues messages`` counts them."""
        return self.messages_ready + self.messages_unacknowledged


@dataclass(frozen=True)
class Binding:
    """A queue bound to an exchange; ``arguments`` matter to headers exchanges (they take
    no part in the hash, so bindings go in sets; equality compares them)."""

    exchange: str
    queue: str
    routing_key: str = ""
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.exchange, self.queue, self.routing_key,
                json.dumps(self.arguments, sort_keys=True, default=str))

    def __lt__(self, other: Binding) -> bool:
        return self.sort_key() < other.sort_key()


@dataclass(frozen=True, repr=False, eq=False)
class Topology:
    """Exchanges and queues by name, bindings sorted; equal when the broker state is equal.

    ``vhost`` and ``source`` say where the snapshot comes from and take no part in
    equality, so an embedded snapshot can be compared with a RabbitMQ one.
    """

    exchanges: dict[str, Exchange] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    bindings: tuple[Binding, ...] = ()
    vhost: str = "/"
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "exchanges", dict(sorted(self.exchanges.items())))
        object.__setattr__(self, "queues", dict(sorted(self.queues.items())))
        object.__setattr__(self, "bindings", tuple(sorted(set(self.bindings),
                                                          key=Binding.sort_key)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Topology):
            return NotImplemented
        return (self.exchanges, self.queues, self.bindings) == (
            other.exchanges, other.queues, other.bindings)

    def __hash__(self) -> int:
        return hash(self.bindings)

    @property
    def broker(self) -> str:
        """The broker (and vhost) of this snapshot as the trace names it (``Hop.broker``):
        its transport_url, password masked; "" when unknown."""
        if self.source == "embedded":
            return str(TransportURL("embedded", virtual_host=None if self.vhost == "/"
                                    else self.vhost))
        return self.source

    def route(self, exchange: str, routing_key: str = "",
              headers: Mapping[str, Any] | None = None) -> list[str]:
        """The queues a message published now to ``exchange`` with ``routing_key`` (and,
        for a headers exchange, ``headers``) would reach, sorted; [] for none.

        The default exchange ``""`` and the ``amq.*`` ones exist on every broker even
        when the snapshot hides them; any other unknown exchange raises
        :class:`UnknownExchange`, as publishing to it is an error on a broker.
        """
        if exchange == "":
            return routing.route_default(routing_key, self.queues)
        found = self.exchanges.get(exchange)
        if found is None:
            if is_builtin_exchange(exchange):
                return []
            raise UnknownExchange(_("No exchange {name} in this topology: a broker would "
                                    "refuse the message (404 NOT_FOUND).", name=exchange))
        bound = [b for b in self.bindings if b.exchange == exchange]
        return sorted(routing.route(found.type, bound, routing_key, headers))

    def __repr__(self) -> str:
        return (f"Topology(vhost={self.vhost!r}, source={self.source!r}, "
                f"exchanges={len(self.exchanges)}, queues={len(self.queues)}, "
                f"bindings={len(self.bindings)})")

    def __str__(self) -> str:
        return self.table()

    def table(self, columns: Columns = ("name", "messages", "consumers")) -> str:
        """Queues like ``rabbitmqctl list_queues <columns>``, aligned, sorted by name.

        ``columns`` may also be written as on that command line: ``"name messages"``.
        """
        columns = _columns(columns, QUEUE_COLUMNS)
        return _render(columns, [[getattr(q, c) for c in columns] for q in self.queues.values()])

    def exchanges_table(self, columns: Columns = ("name", "type")) -> str:
        """Exchanges like ``rabbitmqctl list_exchanges <columns>``."""
        columns = _columns(columns, EXCHANGE_COLUMNS)
        return _render(columns, [[exchange_label(e.name) if c == "name" else getattr(e, c)
                                  for c in columns] for e in self.exchanges.values()])

    def bindings_table(self, columns: Columns = ("source_name", "destination_name",
                                                 "routing_key")) -> str:
        """Bindings like ``rabbitmqctl list_bindings source_name destination_name
        routing_key`` (``arguments`` is a column too)."""
        columns = _columns(columns, tuple(BINDING_COLUMNS))
        rows = [[getattr(b, BINDING_COLUMNS[c]) for c in columns] for b in self.bindings]
        if "source_name" in columns:
            i = columns.index("source_name")
            for row in rows:
                row[i] = exchange_label(row[i])
        return _render(columns, rows)

    def diff(self, other: Topology) -> list[str]:
        """What changed from this snapshot to ``other``, one sentence each; [] when equal."""
        changes = _diff_named(self.exchanges, other.exchanges, _exchange_change)
        changes += _diff_named(self.queues, other.queues, _queue_change)
        for binding in sorted(set(self.bindings) ^ set(other.bindings)):
            fill = {"exchange": exchange_label(binding.exchange), "queue": binding.queue,
                    "key": json.dumps(binding.routing_key)}
            changes.append(_("Binding {exchange} → {queue} (routing key {key}) added.", **fill)
                           if binding in other.bindings else
                           _("Binding {exchange} → {queue} (routing key {key}) removed.", **fill))
        return changes


def same_broker(first: str, second: str) -> bool:
    """Do two transport_urls (passwords masked or not) name the same broker and vhost?"""
    try:
        a, b = parse_transport_url(first), parse_transport_url(second)
    except CourseError:
        return False
    return ({a.driver, b.driver} <= {"rabbit", "amqp"} or a.driver == b.driver) and (
        [h.address for h in a.hosts], a.vhost) == ([h.address for h in b.hosts], b.vhost)


def is_builtin_exchange(name: str) -> bool:
    """The default exchange and the ``amq.*`` ones, which every vhost has."""
    return name == "" or name.startswith("amq.")


def parse(records: Mapping[str, Iterable[Mapping[str, Any]]], *, vhost: str = "/",
          source: str = "", include_builtin: bool = False) -> Topology:
    """A topology from lists shaped like the management API's JSON.

    ``records`` has the keys "exchanges", "queues" and "bindings".  A binding whose
    exchange or queue is not listed (deleted between two reads) is dropped, and an
    ``amq.*`` exchange that a queue is bound to stays, so no binding points nowhere.
    """
    exchanges = {r["name"]: Exchange(r["name"], r["type"], bool(r.get("durable")),
                                     bool(r.get("auto_delete")), dict(r.get("arguments") or {}))
                 for r in records["exchanges"]}
    queues = {r["name"]: _queue(r) for r in records["queues"]}
    bindings = [Binding(r["source"], r["destination"], r.get("routing_key") or "",
                        dict(r.get("arguments") or {}))
                for r in records["bindings"] if r.get("destination_type", "queue") == "queue"]
    bindings = [b for b in bindings if b.exchange in exchanges and b.queue in queues]
    if not include_builtin:
        bindings = [b for b in bindings if b.exchange != ""]
        bound = {b.exchange for b in bindings}
        exchanges = {n: e for n, e in exchanges.items()
                     if not is_builtin_exchange(n) or n in bound}
    return Topology(exchanges, queues, tuple(bindings), vhost=vhost, source=source)


def _queue(record: Mapping[str, Any]) -> Queue:
    # The management API leaves the counts out until its first statistics round.
    arguments = dict(record.get("arguments") or {})
    return Queue(record["name"], int(record.get("messages_ready") or 0),
                 int(record.get("messages_unacknowledged") or 0),
                 int(record.get("consumers") or 0), bool(record.get("durable")),
                 bool(record.get("auto_delete")), bool(record.get("exclusive")), arguments,
                 record.get("type") or arguments.get("x-queue-type") or "classic",
                 record.get("policy") or None,
                 dict(record.get("effective_policy_definition") or {}))


def snapshot(url: str | None = None, *, management_url: str | None = None,
             include_builtin: bool = False) -> Topology:
    """The topology of a broker now: ``url`` (a transport_url), else ``$COURSE_TRANSPORT_URL``,
    else the embedded broker (``embedded://`` or ``embedded:///<vhost>``).

    On RabbitMQ, ``management_url`` defaults to ``http://<first host>:15672``.  Ready
    messages and consumers are read live over AMQP, except for queues with ``x-expires``
    (reading them would keep them alive); ``messages_unacknowledged`` only the management
    API knows, and it lags (samples 5 s apart by default).
    """
    parsed = parse_transport_url(configured_url(url))
    if parsed.driver == "embedded":
        return parse(embedded.describe(parsed.vhost), vhost=parsed.vhost, source="embedded",
                     include_builtin=include_builtin)
    api = _ManagementAPI.for_broker(parsed, management_url)
    records = {kind: api.get(kind) for kind in ("exchanges", "queues", "bindings")}
    records["queues"] = _live_counts(parsed, records["queues"])
    return parse(records, vhost=parsed.vhost, source=str(parsed),
                 include_builtin=include_builtin)


def management_client(url: str | None = None, *,
                      management_url: str | None = None) -> _ManagementAPI:
    """The management API of the RabbitMQ ``url`` names (as :func:`snapshot` finds it), to
    change what it holds (``course.policies``)."""
    return _ManagementAPI.for_broker(parse_transport_url(configured_url(url)), management_url)


def management_api(url: str | None = None, *, management_url: str | None = None) -> str:
    """The address of the management API of a RabbitMQ (``url`` as :func:`snapshot`), once
    it has answered for the URL's vhost; raises :class:`ManagementAPIError` or
    ``BrokerUnreachable`` (one sentence each) otherwise.  ``course.doctor`` asks it."""
    parsed = parse_transport_url(configured_url(url))
    api = _ManagementAPI.for_broker(parsed, management_url)
    api.get("vhosts")
    return api.base


def _split_credentials(url: str, user: str, password: str) -> tuple[str, str, str]:
    """A management URL may carry its own user (``http://admin:pw@host:15672``)."""
    parts = urlsplit(url)
    if parts.username is not None:
        user, password = unquote(parts.username), unquote(parts.password or "")
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    return parts.geturl().rstrip("/"), user, password


@dataclass
class _ManagementAPI:
    base: str
    user: str
    password: str = field(repr=False)
    vhost: str
    host: Host

    @classmethod
    def for_broker(cls, parsed: TransportURL, management_url: str | None) -> _ManagementAPI:
        """The API of the first host, with its transport_url credentials, unless told otherwise
        (``management_url``, else ``$COURSE_MANAGEMENT_URL``: a node on another port).

        No host means localhost as guest, as oslo.messaging connects then.
        """
        host = parsed.hosts[0] if parsed.hosts else Host("localhost")
        user, password = host.username or "guest", host.password or "guest"
        management_url = management_url or os.environ.get(MANAGEMENT_ENV_VAR)
        if management_url:
            base, user, password = _split_credentials(management_url, user, password)
        else:
            base = f"http://{Host(host.hostname, MANAGEMENT_PORT).address}"
        return cls(base, user, password, parsed.vhost, host)

    def get(self, kind: str) -> list[dict[str, Any]]:
        """GET /api/<kind>/<vhost>; every failure becomes one sentence for the learner."""
        return self.request("GET", kind)

    def request(self, method: str, kind: str, name: str | None = None,
                body: Any = None) -> Any:
        """``method`` /api/<kind>/<vhost>[/<name>] with a JSON ``body``; the JSON answer
        (None when empty)."""
        path = f"{self.base}/api/{kind}/{quote(self.vhost, safe='')}"
        if name is not None:
            path += "/" + quote(name, safe="")
        request = urllib.request.Request(
            path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Accept": "application/json", "Content-Type": "application/json",
                     "Authorization": "Basic " + b64encode(
                         f"{self.user}:{self.password}".encode()).decode()})
        # No proxy, as rabbitmqadmin: the management API is reached directly.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=TIMEOUT) as response:
                data = response.read()
                return json.loads(data) if data else None
        except urllib.error.HTTPError as error:
            raise self._refused(error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, ConnectionRefusedError) and self._amqp_answers():
                raise ManagementAPIError(_(
                    "RabbitMQ answers at {broker} but its management API at {url} does not: "
                    "enable it with `rabbitmq-plugins enable rabbitmq_management`, or give "
                    "its address with management_url=.",
                    broker=self.host.address, url=self.base)) from None
            raise BrokerUnreachable(_(
                "Cannot reach the RabbitMQ management API at {url}: {reason}.",
                url=self.base, reason=str(reason))) from None
        except ValueError:
            raise ManagementAPIError(_(
                "{url} did not answer like a RabbitMQ management API; give its address with "
                "management_url=.", url=self.base)) from None

    def _refused(self, error: urllib.error.HTTPError) -> ManagementAPIError:
        url = self.base
        if error.code == 400:  # the API says why: {"error": "bad_request", "reason": ...}
            try:
                reason = json.loads(error.read()).get("reason", "")
            except ValueError:
                reason = ""
            reason = html.unescape(str(reason)).strip()
            refused = ManagementAPIError(_("The RabbitMQ management API at {url} refused "
                                           "the request (400): {reason}", url=url,
                                           reason=reason))
            refused.reason = reason
            return refused
        if error.code == 401:
            return ManagementAPIError(_(
                "The RabbitMQ management API at {url} refused user {user} (401): check the "
                "password in the transport_url, and that the user may use the management API "
                "(`rabbitmqctl set_user_tags {user} monitoring`).", url=url, user=self.user))
        if error.code == 404 and error.headers.get_content_type() == "application/json":
            return ManagementAPIError(_(
                "Virtual host {vhost} does not exist (management API at {url}).", vhost=self.vhost,
                url=url))
        return ManagementAPIError(_(
            "The RabbitMQ management API at {url} answered {status} {reason}.",
            url=url, status=str(error.code), reason=error.reason))

    def _amqp_answers(self) -> bool:
        """Whether the broker itself listens, which tells a missing plugin from a stopped node."""
        try:
            with socket.create_connection((self.host.hostname, self.host.port), timeout=TIMEOUT):
                return True
        except OSError:
            return False


#: AMQP reply code of a passive declare on a queue that no longer exists.
_NOT_FOUND = 404


def _live_counts(url: str | TransportURL,
                 queues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ready messages and consumers as the broker holds them now (the API's lag behind).

    A queue deleted since the API listed it is dropped.  An exclusive queue of another
    connection refuses a passive declare (405): it keeps the API's figures.  So does a
    queue with ``x-expires`` (oslo's reply and fanout queues) or a policy's ``expires``: a
    passive declare counts
    as using it and would keep it alive, so looking would change what is looked at.
    """
    live = []
    with open_connection(url, timeout=TIMEOUT) as connection:
        channel = connection.channel()
        for record in queues:
            if "x-expires" in (record.get("arguments") or {}) or "expires" in (
                    record.get("effective_policy_definition") or {}):
                live.append(record)
                continue
            try:
                ok = channel.queue_declare(queue=record["name"], passive=True)
            except connection.channel_errors as error:
                channel = connection.channel()  # the broker closed the old one
                if getattr(error, "code", None) != _NOT_FOUND:
                    live.append(record)
                continue
            live.append({**record, "messages_ready": ok.message_count,
                         "consumers": ok.consumer_count})
    return live


# -- plain-text rendering --------------------------------------------------------------


def _columns(columns: Columns, known: Sequence[str]) -> tuple[str, ...]:
    columns = tuple(columns.split() if isinstance(columns, str) else columns)
    for column in columns:
        if column not in known:
            raise UnknownColumn(_("Unknown column {column}; choose among: {choices}.",
                                  column=column, choices=", ".join(known)))
    return columns


def _cell(value: object) -> str:
    """Values written the way rabbitmqctl writes them."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "[" + ",".join(f"{{{json.dumps(k)},{json.dumps(v)}}}"
                              for k, v in sorted(value.items())) + "]"
    return str(value)


def _render(columns: Sequence[str], rows: list[list[object]]) -> str:
    """Aligned columns under a header row; numbers to the right."""
    numeric = {i for i in range(len(columns))
               if rows and all(isinstance(row[i], int) and not isinstance(row[i], bool)
                               for row in rows)}
    return align([list(columns), *([_cell(v) for v in row] for row in rows)], right=numeric)


# -- diff --------------------------------------------------------------------------------


def _diff_named(before: dict[str, Any], after: dict[str, Any],
                say: Callable[..., str]) -> list[str]:
    """Added, removed, then changed fields of same-named items, through ``say``."""
    changes = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            changes.append(say("added" if old is None else "removed", new or old))
            continue
        for f in fields(old):
            if getattr(old, f.name) != getattr(new, f.name):
                changes.append(say("changed", new, f.name, _cell(getattr(old, f.name)),
                                   _cell(getattr(new, f.name))))
    return changes


def _exchange_change(what: str, e: Exchange, *change: str) -> str:
    name = exchange_label(e.name)
    if what == "added":
        return _("Exchange {name} added ({type}).", name=name, type=e.type)
    if what == "removed":
        return _("Exchange {name} removed.", name=name)
    field_name, old, new = change
    return _("Exchange {name}: {field} {old} → {new}.", name=name, field=field_name,
             old=old, new=new)


def _queue_change(what: str, q: Queue, *change: str) -> str:
    if what == "added":
        return _("Queue {name} added.", name=q.name)
    if what == "removed":
        return _("Queue {name} removed.", name=q.name)
    field_name, old, new = change
    return _("Queue {name}: {field} {old} → {new}.", name=q.name, field=field_name,
             old=old, new=new)
