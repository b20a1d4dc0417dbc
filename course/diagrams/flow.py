"""Flow diagrams: the hops of a trace as a sequence diagram, one numbered arrow per hop.

Services are lifelines, in the order they first appear; a message nobody took yet
goes to a lifeline of its own, "(waiting)", on the right.  :func:`flow_model` says what
is drawn; :mod:`.flow_graph` draws it with Graphviz, :mod:`.text` as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..display import exchange_label
from ..i18n import _
from ..trace import Hop
from .base import hops_of, short

#: Hops a flow diagram draws at most; the others are counted in a note.
FLOW_LIMIT = 150


@dataclass(frozen=True)
class FlowArrow:
    """One hop's arrow: from the sender's lifeline to the receiver's (lane indexes)."""

    hop: Hop
    what: str  # the method, the event type, or "(answers #n)"
    where: str  # exchange ▸ routing key, or HTTP
    tail: int
    head: int

    @property
    def label(self) -> str:
        """``3. call select_destinations`` over ``nova ▸ scheduler``."""
        return f"{self.hop.number}. {self.hop.kind} {self.what}".rstrip() + f"\n{self.where}"


@dataclass(frozen=True)
class FlowModel:
    """Everything a flow diagram draws."""

    lanes: list[str]  # lifelines left to right; "" is the waiting room
    arrows: list[FlowArrow]
    more: int = 0  # hops beyond the limit, not drawn

    @property
    def kinds(self) -> list[str]:
        """The kinds drawn, in the order they first appear (the legend's order)."""
        return list(dict.fromkeys(a.hop.kind for a in self.arrows))


def _lanes(hops: list[Hop], order: Sequence[str] = ()) -> list[str]:
    """Lifelines in the order they first appear (``order`` first); "" is the waiting room."""
    names = list(dict.fromkeys(order))
    for hop in hops:
        for name in (hop.sender, hop.receiver or ""):
            if name not in names:
                names.append(name)
    if "" in names:  # messages nobody took yet: a lifeline of their own, on the right
        names.remove("")
        names.append("")
    return names


def hop_texts(hops: list[Hop], short_ids: bool) -> list[tuple[str, str]]:
    """For each hop (what: method, event type or "reply to #n"; where: exchange ▸ key)."""
    calls = {h.msg_id: h.number for h in hops if h.kind == "call" and h.msg_id}
    texts = []
    for hop in hops:
        what = hop.method or str((hop.body or {}).get("event_type", ""))
        if hop.kind == "reply" and hop.msg_id in calls:
            what = _("(answers #{number})", number=str(calls[hop.msg_id]))
        if hop.refused:  # the broker never queued it: say so on its arrow
            what = f"{what} {hop.unqueued}"
        where = "HTTP" if hop.kind == "http" else \
            f"{exchange_label(hop.exchange)} ▸ {short(hop.routing_key, short_ids)}"
        texts.append((what, where))
    return texts


def flow_model(trace: Any, *, participants: Sequence[str] = (),
               limit: int = FLOW_LIMIT, short_ids: bool = True) -> FlowModel:
    """What :func:`flow_diagram` draws: the first ``limit`` hops on their lifelines."""
    hops = hops_of(trace)
    more = max(0, len(hops) - limit)
    hops = hops[:limit]
    lanes = _lanes(hops, participants)
    index = {lane: i for i, lane in enumerate(lanes)}
    arrows = [FlowArrow(hop, what, where, index[hop.sender], index[hop.receiver or ""])
              for hop, (what, where) in zip(hops, hop_texts(hops, short_ids), strict=True)]
    return FlowModel(lanes, arrows, more)


def lane_name(lane: str) -> str:
    """A lifeline's title: the service, or "(waiting)" for messages nobody took yet."""
    return lane or _("(waiting)")


def more_note(model: FlowModel) -> str:
    """The note under a flow cut at its limit ("" when every hop is drawn)."""
    return _("… {count} more hops not drawn", count=model.more) if model.more else ""


def empty_note(model: FlowModel) -> str:
    """What an empty flow diagram says: nothing yet, or only hops beyond the limit."""
    return more_note(model) or _("No message in this trace yet.")
