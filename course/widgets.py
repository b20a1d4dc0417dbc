"""Live views for notebooks, each with a readable static rendering.

* :class:`QueueMonitor`: a table of queues (ready, unacked, consumers) refreshed while
  a flow runs, with a small history of depths, like watching
  ``rabbitmqctl list_queues name messages_ready messages_unacknowledged consumers``.
* :func:`progress`: a progress bar for long runs (booting 100 VMs), an ipywidgets bar
  in a notebook and a text bar in a terminal.

Every object here also renders as plain text and HTML, so a front end without
widgets (nbval, a terminal, a static HTML export) shows the figures, not a model id.
"""

from __future__ import annotations

import html
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .i18n import _
from .topology import Topology

T = TypeVar("T")

#: Characters of the depth sparkline, from empty to full.
BARS = " ▁▂▃▄▅▆▇█"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where widgets can be displayed)."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return bool(shell) and type(shell).__name__ == "ZMQInteractiveShell"


def sparkline(values: Iterable[int]) -> str:
    values = list(values)
    top = max(values, default=0)
    if top == 0:
        return BARS[0] * len(values)
    return "".join(BARS[round(v / top * (len(BARS) - 1))] for v in values)


class QueueMonitor:
    """Samples a broker's queues every ``interval`` seconds while started.

    ``source`` returns a :class:`~course.topology.Topology` (``lab.topology`` does).
    """

    def __init__(self, source: Callable[[], Topology], interval: float = 0.5,
                 history: int = 20, queues: Callable[[str], bool] | None = None) -> None:
        self.source = source
        self.interval = interval
        self.keep = queues or (lambda name: True)
        self.samples: deque[tuple[float, Topology]] = deque(maxlen=history)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._widget: Any = None
        self._started = time.monotonic()

    # -- sampling ----------------------------------------------------------------------

    def sample(self) -> Topology:
        """Take one snapshot now (also what the background thread does)."""
        snapshot = self.source()
        self.samples.append((time.monotonic() - self._started, snapshot))
        if self._widget is not None:
            self._widget.value = self.html()
        return snapshot

    def start(self) -> QueueMonitor:
        self._stop.clear()
        self.sample()
        self._thread = threading.Thread(target=self._run, name="queue monitor", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # the broker went away: keep the last figures on screen
                continue

    def stop(self) -> QueueMonitor:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        return self

    def __enter__(self) -> QueueMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.sample()

    # -- what it shows -----------------------------------------------------------------

    def rows(self) -> list[tuple[str, int, int, int, str]]:
        """(queue, ready, unacked, consumers, history of messages) for the latest sample."""
        if not self.samples:
            return []
        latest = self.samples[-1][1]
        rows = []
        for name, queue in latest.queues.items():
            if not self.keep(name):
                continue
            depths = [snap.queues[name].messages if name in snap.queues else 0
                      for _t, snap in self.samples]
            rows.append((name, queue.messages_ready, queue.messages_unacknowledged,
                         queue.consumers, sparkline(depths)))
        return rows

    def headers(self) -> tuple[str, ...]:
        return ("name", "messages_ready", "messages_unacknowledged", "consumers", _("history"))

    def text(self) -> str:
        lines = [self.headers(), *((n, str(r), str(u), str(c), h)
                                   for n, r, u, c, h in self.rows())]
        widths = [max(len(line[i]) for line in lines) for i in range(5)]
        return "\n".join("  ".join(cell.rjust(w) if 0 < i < 4 else cell.ljust(w)
                                   for i, (cell, w) in enumerate(zip(line, widths, strict=True)))
                         .rstrip() for line in lines)

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers())
        body = "".join(
            f"<tr><td><code>{html.escape(n)}</code></td><td>{r}</td><td>{u}</td>"
            f"<td>{c}</td><td style='font-family:monospace'>{html.escape(h)}</td></tr>"
            for n, r, u, c, h in self.rows())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def widget(self) -> Any:
        """An ipywidgets.HTML kept up to date by the sampling thread."""
        import ipywidgets

        if self._widget is None:
            self._widget = ipywidgets.HTML(self.html())
        return self._widget

    def __str__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        bundle = {"text/plain": self.text(), "text/html": self.html()}
        if in_notebook():
            bundle.update(self.widget()._repr_mimebundle_())
            bundle["text/plain"] = self.text()
        return bundle


class _TextBar:
    """A one-line progress bar on stderr, redrawn in place."""

    def __init__(self, total: int, description: str) -> None:
        self.total, self.description, self.count = total, description, 0

    def update(self, count: int) -> None:
        self.count = count
        width = 30
        filled = round(width * count / self.total) if self.total else width
        sys.stderr.write(f"\r{self.description} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{count}/{self.total}")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


class _WidgetBar:
    def __init__(self, total: int, description: str) -> None:
        import ipywidgets
        from IPython.display import display

        self.bar = ipywidgets.IntProgress(min=0, max=max(total, 1), description=description)
        self.label = ipywidgets.Label(f"0/{total}")
        self.total = total
        display(ipywidgets.HBox([self.bar, self.label]))

    def update(self, count: int) -> None:
        self.bar.value = count
        self.label.value = f"{count}/{self.total}"

    def close(self) -> None:
        self.bar.bar_style = "success"


def progress(items: Iterable[T], total: int | None = None,
             description: str = "") -> Iterator[T]:
    """Yield ``items`` while showing how many are done (a widget in a notebook)."""
    items = list(items) if total is None else items
    total = len(items) if total is None else total  # type: ignore[arg-type]
    bar = _WidgetBar(total, description) if in_notebook() else _TextBar(total, description)
    done = 0
    try:
        for item in items:
            yield item
            done += 1
            bar.update(done)
    finally:
        bar.close()
