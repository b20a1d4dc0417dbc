"""``course.Lab``: one broker, one trace, and the OpenStack services a lesson starts on it.

    lab = course.Lab()                      # the embedded broker (or Lab("rabbit://..."))
    cloud = lab.nova(computes=["compute1", "compute2"])
    vm = cloud.boot("vm1"); vm.wait()
    lab.trace.hops; lab.topology()
    lab.wait_until(lambda: all(hop.receiver for hop in lab.trace.hops))
    lab.log.lines("nova-compute:compute1")  # what a service logged
    lab.stop_broker(); lab.start_broker()   # "broker down" (the course's own broker only)
    server = rpc.get_rpc_server(lab.transport("worker:host1"),      # a process of your own,
                                rpc.Target(topic="work", server="host1"), [endpoint])
    lab.stop()

Creating a new lab stops the previous one of the same process, so that
"restart and run all" or running a cell twice never leaves two clouds fighting
over the same queues; on the embedded broker it also empties the broker.
:meth:`Lab.current` is the lab running now, if any.
"""

from __future__ import annotations

import os
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

import kombu

from . import broker, policies, rpc, topology, views
from .errors import BrokerUnreachable, CourseError
from .i18n import _
from .logbook import LogBook
from .openstack.cinder import CinderCloud
from .openstack.cloud import Cloud
from .openstack.keystone import Keystone
from .openstack.neutron import NeutronCloud
from .openstack.nova import NovaCloud
from .openstack.nova.cells import cell_url
from .outage import BrokerOutage
from .trace import DEFAULT_LIMIT
from .transport_url import mask_url, parse_transport_url
from .widgets import ProgressBar, QueueMonitor

CloudT = TypeVar("CloudT", bound=Cloud)


#: From this many computes on, ``lab.nova`` shows a progress bar while they start.
STARTING_BAR_FROM = 10

#: The name of the API broker (nova-api, nova-scheduler, the super-conductor) in
#: :attr:`Lab.brokers`.
API_BROKER = "api"


class CellBrokerMissing(CourseError):
    """A cell's vhost does not exist on the lab's RabbitMQ, and the lab cannot create it."""


class UnknownBroker(CourseError, KeyError):
    """``lab.topology(cell=...)`` named no broker of the lab."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Lab:
    """A broker (embedded by default), a shared trace, and the clouds started on them."""

    _current: ClassVar[Lab | None] = None
    _current_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str | None = None, *, management_url: str | None = None,
                 trace_limit: int = DEFAULT_LIMIT,
                 add_vhost: Callable[[str], str] | None = None) -> None:
        self.url = broker.configured_url(url)
        self.management_url = management_url
        #: Creates a vhost on this lab's RabbitMQ and returns its transport_url
        #: (``course.rabbitmq.RabbitMQNode.add_vhost``): a multi-cell Nova needs one per cell.
        self.add_vhost = add_vhost
        #: Broker name -> transport_url, once a multi-cell Nova runs: "api" and each cell.
        self.brokers: dict[str, str] = {}
        self.embedded = broker.is_embedded(self.url)
        with Lab._current_lock:
            previous, Lab._current = Lab._current, None
        if previous is not None:
            previous.stop()
        if self.embedded:  # a fresh broker, and the lab's vhost made as an operator would
            broker.reset([parse_transport_url(self.url).vhost])
        broker.connect(self.url).close()  # a configured broker must answer now, clearly
        #: Every message of this lab's clouds; ``.diagram()`` and ``.player()`` draw it.
        self.trace = views.Trace(trace_limit, snapshot=self._player_topology)
        #: What the lab's services logged (INFO and above), by service.
        self.log = LogBook().open()
        self.outage = BrokerOutage(self.url)
        self.clouds: list[Cloud] = []
        self._transports: list[rpc.Transport] = []
        with Lab._current_lock:
            Lab._current = self

    @classmethod
    def current(cls) -> Lab | None:
        """The lab this process runs now (the last one created and not stopped), if any."""
        return cls._current

    # -- what lessons start --------------------------------------------------------------

    def nova(self, computes: Any = ("compute1", "compute2"), *,
             cells: Mapping[str, Any] | None = None, **options: Any) -> NovaCloud:
        """Start nova-api, -conductor, -scheduler and one nova-compute per host;
        ``boot_many`` shows a progress bar, and so does the start of many computes.
        ``options``: as :class:`~course.openstack.nova.NovaCloud`'s (``messaging=`` sets
        every service's ``[oslo_messaging_rabbit]``, ``timings=``...).

        ``cells={"cell1": ["compute1", "compute2"], "cell2": ["compute3"]}``: cells v2
        with a broker per cell.  nova-api, nova-scheduler and the super-conductor stay on
        this lab's broker (the API broker); each cell's conductor and computes run on the
        cell's own vhost of the same broker (``embedded:///cell1``; on RabbitMQ the vhost
        ``cell1`` is made with ``add_vhost``, or must exist).
        """
        options.setdefault("progress", ProgressBar(_("booting")))
        hosts = list(computes) if cells is None else [h for c in cells.values() for h in c]
        if len(hosts) >= STARTING_BAR_FROM:
            options.setdefault("starting", ProgressBar(_("starting computes")))
        if cells is None:
            return self._add(NovaCloud(url=self.url, trace=self.trace,
                                       computes=tuple(hosts), **options))
        urls = {name: self._cell_broker(name) for name in cells}
        cloud = self._add(NovaCloud(url=self.url, trace=self.trace, cells=cells,
                                    cell_urls=urls, **options))
        self.brokers.update({API_BROKER: self.url, **urls})
        return cloud

    def _cell_broker(self, cell: str) -> str:
        """The transport_url of a cell's vhost, created if the lab can (RabbitMQ)."""
        url = cell_url(self.url, cell)
        vhost = parse_transport_url(url).vhost
        if self.embedded:  # the lab makes the cell's vhost, as DevStack does for each cell
            broker.add_vhost(vhost)
            return url
        if self.add_vhost is not None:
            return self.add_vhost(vhost)
        try:
            broker.connect(url).close()
        except BrokerUnreachable as error:
            raise CellBrokerMissing(_(
                "Cell {cell} needs its own vhost {vhost} on this RabbitMQ: {reason} Or let "
                "the lab create it: `course.Lab(url, add_vhost=node.add_vhost)`.",
                cell=cell, vhost=vhost, reason=str(error))) from None
        return url

    def neutron(self, **options: Any) -> NeutronCloud:
        return self._add(NeutronCloud(url=self.url, trace=self.trace, **options))

    def cinder(self, **options: Any) -> CinderCloud:
        return self._add(CinderCloud(url=self.url, trace=self.trace, **options))

    def keystone(self, **options: Any) -> Keystone:
        return self._add(Keystone(url=self.url, trace=self.trace, **options))

    def _add(self, cloud: CloudT) -> CloudT:
        cloud.start()
        self.clouds.append(cloud)
        return cloud

    def transport(self, service: str, control_exchange: str = "openstack",
                  **options: Any) -> rpc.Transport:
        """A process of your own on this lab's broker, named ``service`` in the trace: give
        it to ``rpc.get_rpc_server`` or ``rpc.get_rpc_client``.  When the lab stops, the
        servers started on it stop and it is closed, like the lab's clouds."""
        transport = rpc.get_transport(self.url, control_exchange, service=service,
                                      trace=self.trace, options=options or None)
        self._transports.append(transport)
        return transport

    # -- looking at it --------------------------------------------------------------------

    def connect(self) -> kombu.Connection:
        """A kombu connection to this lab's broker, for your own experiments."""
        return broker.connect(self.url)

    def topology(self, include_builtin: bool = False, *,
                 cell: str | None = None) -> views.Topology | views.Topologies:
        """What the broker holds now: exchanges, queues (with counts), bindings;
        ``.diagram()`` draws it, with who published and consumed from the trace.

        With a multi-cell Nova, every broker of the lab at once (a boot crosses them
        all: the diagram draws one cluster per broker), by name ("api", "cell1"...);
        ``cell="cell1"`` (or ``"api"``) snapshots that broker alone.
        """
        if cell is None and not self.brokers:
            return self._snapshot(self.url, include_builtin)
        if cell is not None:
            if cell not in (self.brokers or {API_BROKER: self.url}):
                raise UnknownBroker(_("No broker {cell} in this lab: choose one of "
                                      "{choices}.", cell=cell,
                                      choices=", ".join(self.brokers or [API_BROKER])))
            return self._snapshot(self.brokers.get(cell, self.url), include_builtin)
        return views.Topologies({name: self._snapshot(url, include_builtin)
                                 for name, url in self.brokers.items()}, self.trace)

    def _snapshot(self, url: str, include_builtin: bool) -> views.Topology:
        snap = topology.snapshot(url, management_url=self.management_url,
                                 include_builtin=include_builtin)
        return views.Topology.of(snap, self.trace)

    def _player_topology(self) -> views.Topology:
        """The player draws one broker: the API broker of a multi-cell lab."""
        return self.topology(cell=API_BROKER if self.brokers else None)

    def monitor(self, interval: float = 0.5, history: int = 20,
                queues: Callable[[str], bool] | None = None) -> QueueMonitor:
        """A live table of this lab's queues (ready, unacked, consumers, recent depths),
        like watching ``rabbitmqctl list_queues``; use it as a context manager.
        ``queues``: which to show, by name (``lambda name: "notifications" in name``)."""
        return QueueMonitor(self.topology, interval=interval, history=history, queues=queues)

    # -- failures -----------------------------------------------------------------------------

    def stop_broker(self) -> None:
        """Stop this lab's broker, as when RabbitMQ goes down: every connection drops,
        the services retry.  The embedded broker, or a RabbitMQ node the course started
        on this machine (``$COURSE_RABBITMQ_NODE``); any other broker is left alone
        (:class:`~course.outage.NotOurBroker`)."""
        self.outage.stop()

    def start_broker(self) -> None:
        """Start this lab's broker again: durable queues and their persistent messages are
        back, transient ones are gone; the services reconnect and declare theirs again."""
        self.outage.start()

    # -- an operator's settings --------------------------------------------------------------

    def set_policy(self, name: str, pattern: str, definition: dict[str, Any],
                   apply_to: str = "queues", priority: int = 0) -> None:
        """``rabbitmqctl set_policy name pattern definition --apply-to ... --priority ...``
        on this lab's vhost: the queues whose name ``pattern`` matches, now and later,
        behave by ``definition`` (``{"max-length": 1000}``), without being declared again.
        """
        policies.set_policy(self.url, name, pattern, definition, apply_to=apply_to,
                            priority=priority, management_url=self.management_url)

    def clear_policy(self, name: str) -> None:
        """``rabbitmqctl clear_policy name``."""
        policies.clear_policy(self.url, name, management_url=self.management_url)

    def policies(self) -> list[dict]:
        """``rabbitmqctl list_policies``: name, pattern, apply-to, definition, priority."""
        return policies.policies(self.url, management_url=self.management_url)

    def wait_until(self, condition: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``condition()`` is true, at most ``timeout`` seconds, and return its
        last value: what a lesson waits for is a state (a message in a queue, every
        message delivered), never a fixed time.

            lab.wait_until(lambda: lab.topology().queues["compute.compute1"].messages == 1)
        """
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(0.005)

    def describe(self, details: bool = False) -> str:
        """Which broker the lab uses; on the embedded one, why this session has no RabbitMQ
        when ``binder/start`` could not start one ($COURSE_BROKER_NOTICE).  ``details``:
        also how to reach a real RabbitMQ (embedded), or how to see the lab's queues with
        RabbitMQ's own tools."""
        if not self.embedded:
            text = _("Broker: RabbitMQ at {url}.", url=mask_url(self.url))
            if details:
                vhost = parse_transport_url(self.url).vhost
                text += "\n\n" + _("`rabbitmqctl list_queues -p {vhost} name messages "
                                     "consumers` lists the queues of `lab.topology()`, from "
                                     "RabbitMQ's side.", vhost=shlex.quote(vhost))
            return text
        text = _("Broker: the embedded broker, inside this Python process.")
        notice = os.environ.get(broker.NOTICE_ENV_VAR, "").strip()
        if notice:
            text += "\n\n" + _("No RabbitMQ in this session: {reason} The lessons use the "
                                 "embedded broker instead.", reason=_(notice))
        if details:
            text += "\n\n" + _("To use a real RabbitMQ, give the lab its transport_url: "
                                 "`course.Lab(\"rabbit://user:password@host:5672/\")`, or "
                                 "`COURSE_TRANSPORT_URL` in the environment of JupyterLab. "
                                 "In a terminal, `python -m course.rabbitmq start --base "
                                 "~/.rabbitmq` starts a private one (if RabbitMQ is "
                                 "installed) and prints those lines.")
        return text

    def __repr__(self) -> str:
        return f"<Lab {mask_url(self.url)}: {len(self.clouds)} cloud(s), {len(self.trace)} events>"

    def _repr_markdown_(self) -> str:
        return self.describe()

    # -- ending it ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every service this lab started, and the processes of :meth:`transport`
        (their queues stay on a real RabbitMQ); a broker it stopped runs again."""
        if self.outage.down:
            self.outage.start()
        while self.clouds:
            self.clouds.pop().stop()
        transports, self._transports = self._transports, []
        if transports:  # at once: on RabbitMQ each consumer takes a moment to notice
            with ThreadPoolExecutor(len(transports), thread_name_prefix="cleanup") as pool:
                list(pool.map(rpc.Transport.cleanup, transports))
        self.log.close()
        with Lab._current_lock:
            if Lab._current is self:
                Lab._current = None

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
