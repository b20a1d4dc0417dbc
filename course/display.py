"""How the course's objects show themselves, written once for all of them.

* :func:`table`: aligned text columns, for the hop table, ``rabbitmqctl``-like
  listings and the queue monitor;
* :class:`Text`: a string that prints as text in a notebook, not as its repr;
* :class:`Display`: the ``_repr_mimebundle_`` of every display object (diagrams, the
  player, the queue monitor): its rich renderings, a widget when a notebook front end
  can show one, and always a plain-text rendering, so nbval, a terminal and a static
  HTML export show the figures rather than a model id;
* :func:`exchange_label`: how every table and picture writes the default exchange.

Nothing here knows about brokers or OpenStack: records and renderers both use it.
"""

from __future__ import annotations

import sys
from collections.abc import Container, Sequence
from typing import Any

from .errors import CourseError
from .i18n import _


def table(rows: Sequence[Sequence[object]], right: Container[int] = (),
          gap: str = "  ") -> str:
    """``rows`` (the header first, if any) in aligned columns, ``gap`` apart.

    Columns whose index is in ``right`` are aligned to the right (numbers); trailing
    spaces are cut from every line.
    """
    cells = [[str(cell) for cell in row] for row in rows]
    if not cells:
        return ""
    widths = [max(len(row[i]) for row in cells if i < len(row))
              for i in range(max(len(row) for row in cells))]
    return "\n".join(
        gap.join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                 for i, cell in enumerate(row)).rstrip()
        for row in cells)


def exchange_label(name: str) -> str:
    """An exchange's name for a reader: the default exchange has the empty name."""
    return name or _("(AMQP default)")


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where widgets can be displayed)."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return bool(shell) and type(shell).__name__ == "ZMQInteractiveShell"


class Text(str):
    """A string that shows itself as text in a notebook and at a prompt, not as a repr."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


class RenderingUnavailable(CourseError, RuntimeError):
    """A rich rendering needs a program that is missing; the message says how to get it.

    A display object then shows its text rendering under that message.
    """


class Display:
    """The one ``_repr_mimebundle_`` of the course's display objects.

    Subclasses give :meth:`text`, and may give :meth:`rich` (HTML, SVG...) and
    :meth:`widget` (a live ipywidgets view, asked for only in a notebook).
    """

    def text(self) -> str:
        raise NotImplementedError

    def rich(self) -> dict[str, str]:
        """Rich renderings by MIME type; may raise :class:`RenderingUnavailable`."""
        return {}

    def widget(self) -> Any:
        """A live widget for notebooks, or None."""
        return None

    def __str__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        try:
            bundle: dict[str, Any] = dict(self.rich())
            text = self.text()
        except RenderingUnavailable as missing:
            bundle, text = {}, f"{missing}\n\n{self.text()}"
        if in_notebook():
            widget = self.widget()
            if widget is not None:
                bundle.update(widget._repr_mimebundle_())
        bundle["text/plain"] = text
        return bundle
