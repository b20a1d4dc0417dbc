"""The player's state: which hop is shown, and what the records say at that step.

Nothing here draws: :class:`Steps` answers where the player is (``step``, ``hop``),
moves (``go``, ``next``, ``previous``) and tells its observers, and reads the records
at any step: the depth of each queue the flow touched at that moment, the hop's
message decoded, a one-line caption.  The renderings (:mod:`.views`, :mod:`.controls`)
only show these answers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..diagrams import hop_texts, hops_of
from ..diagrams.base import hop_queues
from ..i18n import _
from ..topology import Topology, snapshot
from ..trace import Hop, short_ids
from ..wire import context_summary, mask, split_message

#: The broker drawn: a snapshot, a function that takes one (``lab.topology``), or None
#: for a snapshot of the configured broker, taken now.
TopologySource = Topology | Callable[[], Topology] | None


class Steps:
    """The hops of a flow, numbered from 1, and the step shown (0 when there is none).

    trace, request_id, http, topology, start: as :class:`course.player.Player`.
    """

    def __init__(self, trace: Any, *, request_id: str | None = None, http: bool = True,
                 topology: TopologySource = None, start: int = 1) -> None:
        if request_id and hasattr(trace, "for_request"):
            trace = trace.for_request(request_id)
        hops = [h for h in hops_of(trace) if (http or h.kind != "http")
                and (not request_id or h.request_id == request_id)]
        #: The hops stepped through, numbered from 1 like the steps.
        self.hops: list[Hop] = [dataclasses.replace(h, number=i)
                                for i, h in enumerate(hops, 1)]
        self.topology: Topology = _snapshot(topology)
        #: For each step: (what the message is, where it goes), as the flow diagram says.
        self.texts = hop_texts(self.hops, short_ids=True)
        routes: dict[tuple[str, str], list[str]] = {}
        self._queues = [hop_queues(h, self.topology, routes) for h in self.hops]
        self._observers: list[Callable[[int], None]] = []
        self._step = 0
        self.go(start)

    # -- where we are ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.hops)

    @property
    def step(self) -> int:
        """The current step: 1 to ``len(player)`` (0 when the flow is empty)."""
        return self._step

    @step.setter
    def step(self, number: int) -> None:
        self.go(number)

    @property
    def hop(self) -> Hop | None:
        """The hop of the current step."""
        return self.hops[self._step - 1] if self._step else None

    def go(self, number: int) -> Steps:
        """Show step ``number`` (negative counts from the end: -1 is the last)."""
        if number < 0:
            number += len(self.hops) + 1
        self._step = min(max(number, 1), len(self.hops)) if self.hops else 0
        for observer in list(self._observers):
            observer(self._step)
        return self

    def next(self) -> Steps:
        """One step forward (stays on the last one)."""
        return self.go(self._step + 1)

    def previous(self) -> Steps:
        """One step back (stays on the first one)."""
        return self.go(self._step - 1 or 1)

    def observe(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(step)`` after every move (the widgets follow the player so)."""
        self._observers.append(callback)

    # -- what a step shows ---------------------------------------------------------------

    def _at(self, step: int | None) -> int:
        return self._step if step is None else step

    def where(self, step: int | None = None) -> list[str]:
        """The queues the message of ``step`` is in: the one it was taken from, else
        those the broker's bindings route it to (where it waits); none for HTTP."""
        step = self._at(step)
        return self._queues[step - 1] if step else []

    def depths(self, step: int | None = None) -> dict[str, int]:
        """Ready messages in each queue the flow touched, at the moment of ``step``.

        A message is ready from its publish to its delivery (for ever when nobody took
        it); the message of the step itself counts as being in its queue.
        """
        step = self._at(step)
        result = {q: 0 for queues in self._queues for q in queues}
        if not step:
            return result
        now = self.hops[step - 1].published
        for hop, queues in zip(self.hops, self._queues, strict=True):
            waiting = hop.published <= now and (hop.delivered is None or hop.delivered > now)
            if hop.number == step or waiting:
                for q in queues:
                    result[q] += 1
        return result

    def topology_at(self, step: int | None = None) -> Topology:
        """The snapshot with the queue depths of the moment of ``step`` (nothing unacked)."""
        depths = self.depths(step)
        queues = {name: dataclasses.replace(q, messages_ready=depths[name],
                                            messages_unacknowledged=0)
                  if name in depths else q for name, q in self.topology.queues.items()}
        return dataclasses.replace(self.topology, queues=queues)

    def message(self, step: int | None = None) -> dict[str, Any]:
        """The decoded message of ``step``: route, message (secrets masked), context summary."""
        step = self._at(step)
        if not step:
            return {}
        hop = self.hops[step - 1]
        message, context = split_message(hop.body or {})
        route = {_("kind"): hop.kind, _("from"): hop.sender}
        if hop.kind == "http":
            message = {"method": hop.method, **message}
        else:
            queues = ", ".join(self.where(step))
            waiting = _("waiting in {queues}", queues=queues) if queues else \
                _("(routed to no queue)")
            route.update({_("exchange"): hop.exchange_label,
                          _("routing key"): hop.routing_key, _("queue"): hop.queue or waiting})
        route[_("to")] = hop.receiver or (hop.unqueued if hop.refused else _("(nobody yet)"))
        decoded: dict[str, Any] = {"route": route, "message": mask(message)}
        if context:
            decoded["context"] = context_summary(context)
        return decoded

    def caption(self, step: int | None = None) -> str:
        """One line: which hop, what it carries, and its path."""
        step = self._at(step)
        if not step:
            return _("No message in this trace yet.")
        hop = self.hops[step - 1]
        what, where = self.texts[step - 1]
        if hop.kind == "http":
            path = f"{hop.sender} ─HTTP─▶ {hop.receiver}"
        else:
            queue = hop.queue or ", ".join(self.where(step)) or "∅"
            receiver = hop.receiver or hop.unqueued
            path = f"{hop.sender} ─▶ {where} ─▶ {queue} ─▶ {receiver}"
        head = _("Step {step} of {count}", step=step, count=len(self.hops))
        return short_ids(f"{head} · {hop.kind} {what} · {path}".replace("  ", " "))


def _snapshot(topology: TopologySource) -> Topology:
    if isinstance(topology, Topology):
        return topology
    return topology() if topology is not None else snapshot()
