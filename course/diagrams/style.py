"""The visual vocabulary every diagram shares: shapes and colours, one line style per hop kind.

Written once, so that a flow diagram, a highlighted topology and their legends always
agree on what a cast or a call looks like.
"""

from __future__ import annotations

from ..i18n import _

FONT = "Helvetica"

#: Exchange type -> (Graphviz shape, fill colour, border colour).  The default exchange
#: ``""`` has a type of its own here, since it routes by queue name without bindings.
EXCHANGE_STYLES = {
    "direct": ("ellipse", "#d9ead3", "#38761d"),
    "topic": ("hexagon", "#cfe2f3", "#1f4e79"),
    "fanout": ("trapezium", "#fff2cc", "#b45f06"),
    "headers": ("parallelogram", "#ead1dc", "#741b47"),
    "default": ("octagon", "#eeeeee", "#666666"),
}
OTHER_EXCHANGE_STYLE = ("box3d", "#f3f3f3", "#666666")
QUEUE_FILL, QUEUE_FILL_WAITING, QUEUE_BORDER = "#fde9e9", "#f4a6a6", "#990000"
PUBLISHER_FILL, CONSUMER_FILL, SERVICE_BORDER = "#e3eefb", "#e2f3df", "#444444"
HIGHLIGHT = "#d62728"  # nodes on the path, and edges that several kinds took
DIM = "#bbbbbb"
DIM_TEXT = "#888888"

#: Hop kind -> (line style, colour, arrowhead), shared by flow diagrams, highlighted
#: topology paths and the legends.
KIND_STYLES = {
    "cast": ("solid", "#1f77b4", "vee"),
    "call": ("bold", "#2ca02c", "normal"),
    "reply": ("dashed", "#2ca02c", "vee"),
    "fanout": ("solid", "#9467bd", "veevee"),
    "notify": ("dotted", "#ff7f0e", "vee"),
    "http": ("dashed", "#7f7f7f", "onormal"),
}
#: Hop kind -> the line a text rendering draws for it.
KIND_LINES = {"cast": "─", "call": "━", "reply": "┄", "fanout": "═", "notify": "┈",
              "http": "╌"}


def kind_style(kind: str) -> tuple[str, str, str]:
    """(line style, colour, arrowhead) of a hop kind; an unknown kind looks like a cast."""
    return KIND_STYLES.get(kind, KIND_STYLES["cast"])


def kind_line(kind: str) -> str:
    """The character a text rendering draws a hop of this kind with."""
    return KIND_LINES.get(kind, "─")


def kind_meaning(kind: str) -> str:
    """What a hop kind means, in the learner's language (the legends say it)."""
    return {
        "cast": _("no reply awaited"),
        "call": _("the caller waits for the reply"),
        "reply": _("the answer to a call"),
        "fanout": _("one copy to every server of the topic"),
        "notify": _("a notification"),
        "http": _("HTTP, not through the broker"),
    }.get(kind, kind)


def kind_legend(kind: str) -> str:
    """One legend line's words: ``cast: no reply awaited``."""
    return _("{kind}: {meaning}", kind=kind, meaning=kind_meaning(kind))


def exchange_style(type_: str) -> tuple[str, str, str]:
    """(shape, fill, border) of an exchange type (``default`` for the default exchange)."""
    return EXCHANGE_STYLES.get(type_, OTHER_EXCHANGE_STYLE)


def exchange_words(type_: str) -> str:
    """``topic exchange``, ``default exchange``: tooltips and the legend say it."""
    return _("default exchange") if type_ == "default" else _("{type} exchange", type=type_)


def queue_counts(ready: int, unacked: int, consumers: int) -> list[str]:
    """The three figures a queue shows, as the tutorials draw them."""
    return [_("ready {count}", count=ready), _("unacked {count}", count=unacked),
            _("consumers {count}", count=consumers)]
