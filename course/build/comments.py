"""Comments of a code cell, the only part of code a translator sees.

Found with :mod:`tokenize`, so a ``#`` inside a string is a string and the code itself is
never touched: a built notebook runs exactly the English code.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass

from .problems import BuildError

#: Comments meant for tools, not readers: never translated.
DIRECTIVES = ("noqa", "type:", "pragma", "fmt:", "isort:", "pylint:", "ruff:", "!", "-*-")


@dataclass(frozen=True)
class Comment:
    """The text of one comment, without its ``#`` and the spaces after it."""

    text: str
    start: int  # offset of ``text`` in the cell's source
    line: int  # 1-based line in the cell

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def is_python(source: str) -> bool:
    """A cell magic (``%%bash``, ``%%html``) makes the whole cell another language."""
    return not source.lstrip().startswith("%%")


def find(source: str) -> list[Comment]:
    """Every comment worth translating in ``source``, in order.

    Raises :class:`BuildError` (with the line) when ``source`` does not tokenize: its
    comments cannot be told from its strings then.
    """
    if not is_python(source):
        return []
    lines = io.StringIO(source).readlines()
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type != tokenize.COMMENT:
                continue
            body = token.string[1:]
            text = body.strip()
            if not any(c.isalpha() for c in text) or text.startswith(DIRECTIVES):
                continue
            row, col = token.start
            start = offsets[row - 1] + col + 1 + (len(body) - len(body.lstrip()))
            found.append(Comment(text, start, row))
    except (tokenize.TokenError, SyntaxError) as error:
        raise BuildError(f"its comments cannot be read: {_reason(error)}") from None
    return found


def replace(source: str, translate) -> str:
    """``source`` with each comment's text replaced, in place, by ``translate(comment)``
    (on one line: a translation cannot break the code with a newline)."""
    parts, pos = [], 0
    for comment in find(source):
        text = translate(comment)
        if "\n" in text or "\r" in text:
            text = " ".join(text.split())
        parts += [source[pos:comment.start], text]
        pos = comment.end
    return "".join(parts) + source[pos:]


def _reason(error: Exception) -> str:
    if isinstance(error, SyntaxError):
        return f"line {error.lineno}: {error.msg}"
    message, (row, _col) = error.args
    return f"line {row}: {message}"
