"""The records a lab hands out, with their pictures one call away.

``course.trace`` and ``course.topology`` hold what happened and what the broker
holds; they know nothing of pictures, so that renderers can depend on them and never
the other way round.  A lesson still writes ``lab.trace.diagram()``,
``lab.trace.for_request(id).player()`` and ``lab.topology().diagram()``: the lab's
trace and snapshots are the subclasses below, which add those calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from . import topology, trace
from .diagrams import FlowDiagram, TopologyDiagram, flow_diagram, topology_diagram
from .player import Player


class _Drawn:
    """``diagram()`` and ``player()`` for a selection of events."""

    #: The lab's snapshot function: the player draws the broker the flow went through.
    snapshot: Callable[[], topology.Topology] | None = None

    def diagram(self, **options: Any) -> FlowDiagram:
        """These hops as a sequence diagram; options as :func:`course.diagrams.flow_diagram`."""
        return flow_diagram(self, **options)

    def player(self, **options: Any) -> Player:
        """Step through these hops one message at a time; options as
        :class:`course.player.Player`."""
        options.setdefault("topology", self.snapshot)
        return Player(self, **options)


@dataclasses.dataclass
class TraceView(_Drawn, trace.TraceView):
    """The events of one request, which draw themselves."""

    snapshot: Callable[[], topology.Topology] | None = None


class Trace(_Drawn, trace.Trace):
    """A lab's trace: :meth:`for_request` gives views that draw themselves too."""

    def __init__(self, limit: int = trace.DEFAULT_LIMIT,
                 snapshot: Callable[[], topology.Topology] | None = None) -> None:
        super().__init__(limit)
        self.snapshot = snapshot

    def for_request(self, request_id: str) -> TraceView:
        return TraceView([e for e in self.events if e.request_id == request_id],
                         self.snapshot)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Topology(topology.Topology):
    """A lab's snapshot: it draws itself, with the lab's trace to show who published and
    who consumed."""

    trace: trace.Hops | None = None

    @classmethod
    def of(cls, snap: topology.Topology, trace: trace.Hops | None = None) -> Topology:
        fields = {f.name: getattr(snap, f.name) for f in dataclasses.fields(topology.Topology)}
        return cls(**fields, trace=trace)

    def diagram(self, **options: Any) -> TopologyDiagram:
        """This topology drawn: SVG in a notebook.  Options as
        :func:`course.diagrams.topology_diagram` (``trace=`` defaults to the lab's)."""
        options.setdefault("trace", self.trace)
        return topology_diagram(self, **options)

    def ascii(self, **options: Any) -> str:
        """The same diagram as text, for a terminal (same options as :meth:`diagram`)."""
        return self.diagram(**options).ascii()


class Topologies(dict):
    """Several brokers of one lab at once (a multi-cell Nova: the API broker and one per
    cell), by name: ``topologies["cell1"]`` is one :class:`Topology`.

    ``.diagram()`` draws each broker as a cluster titled with its name and its
    transport_url (password masked); the lab's trace says which broker each hop crossed.
    """

    def __init__(self, snapshots: dict[str, Topology], trace: trace.Hops | None = None) -> None:
        super().__init__(snapshots)
        self.trace = trace

    @property
    def queues(self) -> dict[str, topology.Queue]:
        """Every broker's queues, as ``<broker name>/<queue>`` (a queue monitor reads them)."""
        return {f"{name}/{q}": queue for name, snap in self.items()
                for q, queue in snap.queues.items()}

    def titles(self) -> dict[str, Topology]:
        """The snapshots by cluster title: ``cell1 — embedded:///cell1``."""
        return {f"{name} — {snap.broker}": snap for name, snap in self.items()}

    def diagram(self, **options: Any) -> TopologyDiagram:
        """One cluster per broker; options as :func:`course.diagrams.topology_diagram`."""
        options.setdefault("trace", self.trace)
        return topology_diagram(self.titles(), **options)

    def ascii(self, **options: Any) -> str:
        return self.diagram(**options).ascii()

    def table(self, columns: topology.Columns = ("name", "messages", "consumers")) -> str:
        """Each broker's queues, like ``rabbitmqctl list_queues -p <vhost>`` for each."""
        return "\n\n".join(f"{title}\n{snap.table(columns)}"
                           for title, snap in self.titles().items())

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"Topologies({', '.join(f'{t}: {s!r}' for t, s in self.titles().items())})"
