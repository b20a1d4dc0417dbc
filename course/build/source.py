"""The English sources read as messages: one per Markdown block and per code comment.

The Babel extractor and the build both read sources here, so ``pybabel extract`` and
``python -m course.build`` can never disagree about what a translator must translate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import blocks, comments
from .problems import BuildError

#: Between the parts of a message's place: "lesson › section › code comment".
ARROW = " \u203a "


@dataclass(frozen=True)
class Message:
    """One thing to translate, and where a translator finds it."""

    lesson: str  # the msgctxt: the file's stem, e.g. "01-why-a-message-bus"
    text: str  # the msgid: a whole Markdown block, or a comment without its "# "
    section: str  # the nearest heading above it ("" before the first heading)
    where: int  # 1-based: the cell in a notebook, the line in a Markdown file
    code: bool = False  # a comment of a code cell

    @property
    def place(self) -> str:
        """What the translator reads above the entry (``#.``): lesson › section."""
        parts = [self.lesson, self.section] + (["code comment"] if self.code else [])
        return ARROW.join(p for p in parts if p)


def lesson(path: str | Path) -> str:
    """A lesson's name, the msgctxt of its messages: the file's stem."""
    return Path(path).stem


def parse_notebook(text: str, name: str) -> nbformat.NotebookNode:
    """A notebook (nbformat 4) from its JSON; :class:`BuildError` naming ``name`` and
    the line when it is not one."""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise BuildError(f"{name}: line {error.lineno}: not valid JSON: {error.msg}") from None
    try:
        notebook = nbformat.convert(nbformat.reader.reads(text), 4)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        raise BuildError(f"{name}: not a valid notebook: {error.message}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BuildError(f"{name}: not a notebook: {error}") from None
    return notebook


def read_text(path: Path, name: str | None = None) -> str:
    """A UTF-8 file's text; :class:`BuildError` when it is missing or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BuildError(f"{name or path}: no such file") from None
    except UnicodeDecodeError as error:
        raise BuildError(f"{name or path}: not UTF-8 text (byte {error.start})") from None


def read_notebook(path: Path, name: str | None = None) -> nbformat.NotebookNode:
    """The notebook stored at ``path`` (``name`` is how messages call it)."""
    return parse_notebook(read_text(path, name), name or str(path))


def heading_text(block: str) -> str:
    """The words of a heading block, without its ``#`` marks or underline."""
    inline = [t for t in blocks.parser().parse(block) if t.type == "inline"]
    return inline[0].content.strip() if inline else block.strip()


def markdown_messages(text: str, lesson_name: str, section: str = "",
                      where: int | None = None) -> tuple[list[Message], str]:
    """The messages of a Markdown text, and the section in force at its end.

    ``where`` is the cell number of a notebook's cell; a Markdown file gives each
    message the line where its block starts."""
    found = []
    for segment in blocks.translatable(text):
        place = where if where is not None else segment.line + 1
        found.append(Message(lesson_name, segment.text, section, place))
        if segment.kind == "heading":
            section = heading_text(segment.text)
    return found, section


def notebook_messages(notebook: nbformat.NotebookNode, lesson_name: str,
                      name: str) -> tuple[list[Message], list[str]]:
    """The messages of a notebook, in order, and a warning for each code cell whose
    comments cannot be read (the cell is named; nothing else stops)."""
    found: list[Message] = []
    warnings: list[str] = []
    section = ""
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "markdown":
            messages, section = markdown_messages(cell.source, lesson_name, section, number)
            found += messages
        elif cell.cell_type == "code":
            try:
                found += [Message(lesson_name, c.text, section, number, code=True)
                          for c in comments.find(cell.source)]
            except BuildError as error:
                warnings.append(f"{name}: cell {number}: {error}")
    return found, warnings

