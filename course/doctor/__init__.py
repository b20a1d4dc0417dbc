"""``python -m course doctor``: is this machine ready for the course?

Checks Python, the packages the course needs, Graphviz, the configured broker (and a
RabbitMQ's management API), JupyterLab's French language pack and, in a source checkout,
whether the notebooks are built; then says what to fix, in the learner's language.

    report = course.doctor.run()   # in a notebook: a table; report.text() in a terminal
    report.exit_status             # 1 when something a lesson needs is missing

The checks (:mod:`.checks`) return records; :mod:`.view` lays them out.
"""

from __future__ import annotations

from pathlib import Path

from .. import i18n
from .checks import MISSING, OK, WARNING, Check, everything
from .view import Report

__all__ = ["MISSING", "OK", "WARNING", "Check", "Report", "run"]


def run(transport_url: str | None = None, *, root: Path | None = None,
        lang: str | None = None, notebooks: bool = True) -> Report:
    """Every check now, written in ``lang`` (default: the language in force).
    ``transport_url`` overrides $COURSE_TRANSPORT_URL; ``root``: the source checkout whose
    notebooks to check (default: the one holding this package, if any); ``notebooks=False``
    leaves that check out (a lesson: the learner reads the notebooks, not their build)."""
    with i18n.language(lang) as chosen:
        return Report(tuple(everything(transport_url, root, notebooks)), chosen)
