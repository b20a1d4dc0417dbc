"""Live views for notebooks, each with a readable static rendering.

* :class:`QueueMonitor`: a table of queues (ready, unacked, consumers) refreshed while
  a flow runs, with a small history of depths, like watching
  ``rabbitmqctl list_queues name messages_ready messages_unacknowledged consumers``.
* :class:`ProgressBar`: a progress bar for long runs (booting 100 VMs), from
  ``tqdm.auto``: a widget in a notebook, a line of text in a terminal.

Every object here also renders as plain text and HTML (:class:`~course.display.Display`),
so a front end without widgets (nbval, a terminal, a static HTML export) shows the
figures, not a model id.
"""

from __future__ import annotations

import html
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from tqdm.auto import tqdm

from .display import Display, table
from .i18n import UNIT_SPACE, _, format_number, format_percent, get_language
from .topology import Topology

#: Characters of the depth sparkline, from empty to full.
BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: Iterable[int]) -> str:
    values = list(values)
    top = max(values, default=0)
    if top == 0:
        return BARS[0] * len(values)
    return "".join(BARS[round(v / top * (len(BARS) - 1))] for v in values)


class QueueMonitor(Display):
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
        return table([self.headers(), *self.rows()], right={1, 2, 3})

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers())
        body = "".join(
            f"<tr><td><code>{html.escape(n)}</code></td><td>{r}</td><td>{u}</td>"
            f"<td>{c}</td><td style='font-family:monospace'>{html.escape(h)}</td></tr>"
            for n, r, u, c, h in self.rows())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def rich(self) -> dict[str, str]:
        return {"text/html": self.html()}

    def widget(self) -> Any:
        """An ipywidgets.HTML kept up to date by the sampling thread."""
        import ipywidgets

        if self._widget is None:
            self._widget = ipywidgets.HTML(self.html())
        return self._widget


class _Bar(tqdm):
    """tqdm's bar with two more fields for ``bar_format``: ``{percent}`` and
    ``{rate_local}``, written the learner's way (``50 %``, ``2,50 it/s`` in French)."""

    @property
    def format_dict(self) -> dict[str, Any]:
        found = super().format_dict
        total, unit, elapsed = found.get("total"), found.get("unit") or "it", found["elapsed"]
        rate = found.get("rate") or (
            (found["n"] - (found.get("initial") or 0)) / elapsed if elapsed else None)
        found["percent"] = format_percent(found["n"] / total).rjust(5) if total else ""
        per_second = UNIT_SPACE[get_language()] + f"{unit}/s"
        found["rate_local"] = (format_number(rate, 2) if rate else "?") + per_second
        return found


def bar_format(description: str) -> str | None:
    """tqdm's layout in French (``démarrage : 50 %|███ | 1/2 [00:01<00:01, 1,00 it/s]``);
    None keeps tqdm's own, English one."""
    if get_language() == "en":
        return None
    head = "{desc}\u00a0: " if description else ""
    return head + "{percent}|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_local}]"


class ProgressBar:
    """A ``(done, total)`` callback (what ``NovaCloud.boot_many`` reports to) drawn by
    ``tqdm.auto``: a widget in a notebook, a line on stderr in a terminal, its
    percentage and rate written in the learner's language.

    A report of 0 done starts a new bar; the bar closes when everything is done.
    """

    def __init__(self, description: str = "") -> None:
        self.description = description
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None or done == 0:
            self.close()
            self.bar = _Bar(total=total, desc=self.description, leave=True,
                            bar_format=bar_format(self.description))
        if done >= total:
            self.bar.n = done
            self.close()  # draws the bar once more, full
        else:  # tqdm redraws at most every ``mininterval`` (0.1 s): 100 reports stay cheap
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
