"""The translation gates, for a lesson's own tests.

A lesson's test module calls ``assert_lesson_translated("01-why-a-message-bus")``: its
French (and every other built language) is up to date with the English notebook, fully
translated, free of English left behind, its catalog accepted by ``msgfmt --check``, and
its notebooks stored without outputs.  The checks are ``course.build.checks``, the same
that ``python -m course.build --check`` runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import unavailable

from course.build import checks
from course.build.catalog import GETTEXT_MISSING

ROOT = Path(__file__).resolve().parent.parent


def require_gettext() -> None:
    """Skip (fail in CI) when GNU gettext, which merges and validates catalogs, is missing."""
    if not all(shutil.which(tool) for tool in ("msgmerge", "msgattrib", "msgfmt")):
        unavailable(GETTEXT_MISSING)


def lesson_problems(lesson: str, root: Path = ROOT) -> list[str]:
    """Every problem of ``lesson`` (a notebook's stem), and those of no lesson in
    particular (a malformed catalog concerns them all), one line each."""
    require_gettext()
    return [str(p) for p in checks.problems(root, lesson)]


def assert_lesson_translated(lesson: str, root: Path = ROOT) -> None:
    """Fail listing what to fix (``make notebooks`` fixes what is stale)."""
    found = lesson_problems(lesson, root)
    assert not found, "\n".join(found)
