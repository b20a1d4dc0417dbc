"""How the doctor's records show themselves: one line per check with its mark, then what
to fix; as text in a terminal, as HTML in a notebook."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..display import Display
from ..i18n import _, language
from .checks import MISSING, OK, WARNING, Check, exit_status

MARKS = {OK: "✔", MISSING: "✘", WARNING: "!"}
COLOURS = {OK: "#1a7f37", MISSING: "#cf222e", WARNING: "#9a6700"}


@dataclass(frozen=True)
class Report(Display):
    """Every check's record; ``exit_status`` is what the command line returns.  It is
    written in ``lang``, the language its records were written in."""

    checks: Sequence[Check]
    lang: str = "en"

    @property
    def exit_status(self) -> int:
        return exit_status(self.checks)

    @property
    def to_fix(self) -> list[Check]:
        """The records with something to do, what a lesson needs first."""
        return sorted((c for c in self.checks if c.status != OK and c.fix),
                      key=lambda c: c.status != MISSING)

    def text(self) -> str:
        with language(self.lang):
            return self._text()

    def rich(self) -> dict[str, str]:
        with language(self.lang):
            return {"text/html": self._html()}

    def _text(self) -> str:
        lines = [f"{MARKS[c.status]} " + _("{what}: {detail}", what=c.what, detail=c.detail)
                 for c in self.checks]
        lines.append("")
        if self.to_fix:
            lines.append(_("What to fix:"))
            lines += [f"  {MARKS[c.status]} " + _("{what}: {detail}", what=c.what, detail=c.fix)
                      for c in self.to_fix]
        else:
            lines.append(_("Nothing to fix: the course is ready."))
        return "\n".join(lines)

    def _html(self) -> str:
        rows = "".join(
            f"<tr><td style='color:{COLOURS[c.status]}'>{MARKS[c.status]}</td>"
            f"<td>{_html(c.what)}</td><td>{_html(c.detail)}</td></tr>" for c in self.checks)
        parts = [f"<table class='course-doctor'>{rows}</table>"]
        if self.to_fix:
            items = "".join(f"<li><span style='color:{COLOURS[c.status]}'>{MARKS[c.status]}"
                            "</span> " + _("{what}: {detail}", what=_html(c.what),
                                           detail=_html(c.fix)) + "</li>" for c in self.to_fix)
            parts.append(f"<p><strong>{_html(_('What to fix:'))}</strong></p><ul>{items}</ul>")
        else:
            parts.append(f"<p>{_html(_('Nothing to fix: the course is ready.'))}</p>")
        return "".join(parts)


def _html(text: str) -> str:
    """Escaped text, its `code spans` as <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))
