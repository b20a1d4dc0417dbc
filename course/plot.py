"""A small line chart that draws itself in a notebook: measured points beside a formula.

    plot = Plot("nova-compute hosts", "count")
    plot.points("queues", [(1, 13), (2, 18), (5, 33)])      # measured: dots, joined
    plot.line("queues", lambda n: 8 + 5 * n)                 # a formula: a pale band
    plot                                                     # SVG; a table as text

Why not matplotlib: the course needs one kind of chart, and importing matplotlib costs
about a second per kernel.  Names (axes, series) are English msgids translated when the
chart is drawn, so the same code cell draws a French chart in the French lesson; the
words lessons use are listed in :data:`WORDS` for the catalog.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable

from .display import Display, table
from .i18n import N_, _, format_number

#: Axis and series names the lessons give their charts (translated when drawn).
WORDS = (N_("nova-compute hosts"), N_("count"), N_("queues"), N_("consumers"))
MEASURED, FORMULA = N_("{name} (measured)"), N_("{name} (formula)")
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 660, 330, 60, 230, 20, 45


def ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (1, 2 or 5 times a power of ten apart)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


class Plot(Display):
    """Series of (x, y) points, measured or computed, on one pair of axes."""

    def __init__(self, x_label: str, y_label: str) -> None:
        self.x_label, self.y_label = x_label, y_label
        self.measured: dict[str, list[tuple[float, float]]] = {}
        self.formulas: dict[str, Callable[[float], float]] = {}

    def points(self, name: str, points: Iterable[tuple[float, float]]) -> Plot:
        """A measured series (dots joined by a line), sorted by x."""
        self.measured[name] = sorted((float(x), float(y)) for x, y in points)
        return self

    def line(self, name: str, formula: Callable[[float], float]) -> Plot:
        """A formula, drawn as a pale band over every x of the chart (same colour as its name)."""
        self.formulas[name] = formula
        return self

    def xs(self) -> list[float]:
        return sorted({x for series in self.measured.values() for x, _y in series})

    def series(self) -> list[tuple[str, str, list[tuple[float, float]], bool]]:
        """(name, label, points, is a formula) of every series: measured first, as given."""
        found = [(n, _(MEASURED, name=_(n)), pts, False) for n, pts in self.measured.items()]
        found += [(n, _(FORMULA, name=_(n)), [(x, float(f(x))) for x in self.xs()], True)
                  for n, f in self.formulas.items()]
        return found

    def text(self) -> str:
        """The figures as a table: one row per x, one column per series."""
        series = self.series()
        rows = [[_(self.x_label), *(label for _n, label, _p, _d in series)]]
        for x in self.xs():
            rows.append([_number(x), *(_number(dict(pts).get(x)) for *_s, pts, _d in series)])
        return table(rows, right=set(range(len(rows[0]))))

    def svg(self) -> str:
        series = self.series()
        x_top = ticks(max(self.xs() or [1.0]))
        y_top = ticks(max([y for *_s, pts, _d in series for _x, y in pts] or [1.0]))
        inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        names = list(dict.fromkeys(name for name, *_rest in series))

        def px(x: float) -> float:
            return LEFT + x / x_top[-1] * inner_w

        def py(y: float) -> float:
            return TOP + inner_h - y / y_top[-1] * inner_h

        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
               'font-family="sans-serif" font-size="12">']
        for y in y_top:
            out.append(f'<line x1="{LEFT}" x2="{LEFT + inner_w}" y1="{py(y):.1f}" '
                       f'y2="{py(y):.1f}" stroke="#ddd"/><text x="{LEFT - 6}" '
                       f'y="{py(y) + 4:.1f}" text-anchor="end">{_number(y)}</text>')
        out += [f'<text x="{px(x):.1f}" y="{TOP + inner_h + 16}" text-anchor="middle">'
                f'{_number(x)}</text>' for x in x_top]
        out.append(f'<rect x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" '
                   f'fill="none" stroke="#555"/><text x="{LEFT + inner_w / 2}" '
                   f'y="{HEIGHT - 8}" text-anchor="middle">{html.escape(_(self.x_label))}'
                   f'</text><text transform="translate(14,{TOP + inner_h / 2}) rotate(-90)" '
                   f'text-anchor="middle">{html.escape(_(self.y_label))}</text>')
        for index, (name, label, pts, band) in enumerate(series):
            colour = COLOURS[names.index(name) % len(COLOURS)]
            # a formula is a wide pale band under the measured dots: where they agree,
            # the dots sit on it
            dash = ' stroke-width="7" stroke-opacity="0.3"' if band else ' stroke-width="2"'

            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            out.insert(1 + len(y_top) if band else len(out),
                       f'<polyline points="{path}" fill="none" stroke="{colour}"{dash}/>')
            if not band:
                out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}"/>'
                        for x, y in pts]
            ly, lx = TOP + 14 + 20 * index, WIDTH - RIGHT + 12
            out.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{ly - 4}" y2="{ly - 4}" '
                       f'stroke="{colour}"{dash}/><text x="{lx + 30}" '
                       f'y="{ly}">{html.escape(label)}</text>')
        return "".join(out) + "</svg>"

    def rich(self) -> dict[str, str]:
        return {"image/svg+xml": self.svg()}

    def _repr_svg_(self) -> str:
        return self.svg()


def _number(value: float | None) -> str:
    """A figure in the learner's way of writing numbers; "" for none."""
    if value is None:
        return ""
    return format_number(value, 0) if float(value).is_integer() else format_number(value, 1)
