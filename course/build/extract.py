"""Babel extractors for lessons (``.ipynb``) and Markdown files (``.md``).

Registered as the ``babel.extractors`` entry points ``ipynb`` and ``markdown`` (see
pyproject.toml) and named by dotted path in ``babel.cfg``, so a plain ``pybabel extract
-F babel.cfg notebooks/en`` reads the lessons the way the build does.  Each message is
yielded as a ``pgettext`` call: its context (the msgctxt) is the lesson, and its place
(lesson › section) becomes the translator comment (``#.``).
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from .problems import BuildError
from .source import Message, lesson, markdown_messages, notebook_messages, parse_notebook

#: Babel's default keyword whose first argument is the context.
KEYWORD = "pgettext"

Extracted = tuple[int, str, tuple[str, str], list[str]]


def extract_ipynb(fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str],
                  options: Mapping[str, Any]) -> Iterator[Extracted]:
    """One message per Markdown block and per code comment of a notebook; its line
    number is the cell's (1-based).  A broken notebook is reported on stderr, not raised:
    one bad file must not stop the extraction of the others."""
    name, text = _read(fileobj, options)
    if text is None:
        return
    try:
        messages, warnings = notebook_messages(parse_notebook(text, name), lesson(name), name)
    except BuildError as error:
        _warn(str(error))
        return
    for warning in warnings:
        _warn(warning)
    yield from _as_babel(messages, keywords)


def extract_markdown(fileobj: IO[bytes], keywords: Collection[str],
                     comment_tags: Collection[str],
                     options: Mapping[str, Any]) -> Iterator[Extracted]:
    """One message per Markdown block; its line number is the block's first line."""
    name, text = _read(fileobj, options)
    if text is not None:
        yield from _as_babel(markdown_messages(text, lesson(name))[0], keywords)


def _read(fileobj: IO[bytes], options: Mapping[str, Any]) -> tuple[str, str | None]:
    """The file's name (its stem is the lesson) and its text, None when not UTF-8."""
    name = str(getattr(fileobj, "name", "") or options.get("name") or "notebook")
    try:
        return name, fileobj.read().decode("utf-8")
    except UnicodeDecodeError as error:
        _warn(f"{name}: not UTF-8 text (byte {error.start}): nothing extracted")
        return name, None


def _as_babel(messages: list[Message], keywords: Collection[str]) -> Iterator[Extracted]:
    if KEYWORD not in keywords:
        raise BuildError(f"the {KEYWORD} keyword is needed (the lesson is the msgctxt): "
                         "keep pybabel's default keywords")
    for message in messages:
        yield message.where, KEYWORD, (message.lesson, message.text), [message.place]


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)
