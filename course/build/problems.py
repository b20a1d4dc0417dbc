"""What goes wrong, said in one line: an error that stops the build, or a problem a check
found.  Never a stack trace: the author reads which file (and cell or line) to fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


class BuildError(Exception):
    """Something in a source, a catalog or the tools stops the build; ``str()`` says what,
    naming the file (and the cell or line) so the author can fix it."""


@dataclass(frozen=True)
class Problem:
    """One thing a check found wrong, printed as a one-line ``path: message``."""

    path: str  # relative to the project ("" when it concerns no one file)
    message: str
    lesson: str | None = None  # the lesson it concerns, when it concerns one

    @classmethod
    def parse(cls, line: str) -> Problem:
        """A problem from a ``path: message`` line (a :class:`BuildError`'s text); a
        notebook or Markdown file's stem is its lesson."""
        path, _, message = line.partition(": ")
        if not message or " " in path:
            return cls("", line)
        stem = PurePosixPath(path).stem if path.endswith((".ipynb", ".md")) else None
        return cls(path, message, stem)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message
