"""Markdown split into top-level blocks, the unit of translation.

One message per block (heading, paragraph, whole list, table, whole blockquote, HTML block)
keeps edits local: a one-word change makes one paragraph fuzzy, not a whole cell.  The
structure comes from markdown-it-py's tokens and their ``.map`` line ranges, never from
patterns, so a ``#`` line inside fenced code is code, not a heading.  Joining the segments
gives back the source byte for byte: what lies between blocks is kept as it is.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser

from markdown_it import MarkdownIt

#: Token types of top-level blocks -> the segment kind they make.
KINDS = {
    "heading_open": "heading",
    "paragraph_open": "paragraph",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "table_open": "table",
    "blockquote_open": "blockquote",
    "html_block": "html",
    "fence": "code",
    "code_block": "code",
    "hr": "rule",
}
#: Kinds whose text is prose a translator rewrites.
PROSE = {"heading", "paragraph", "list", "table", "blockquote", "html"}
#: A block that begins a file with this line, up to the same line again, is front matter.
FRONT_MATTER = "---"


@dataclass(frozen=True)
class Segment:
    """A piece of a Markdown text: a block, or what lies between two blocks."""

    text: str
    kind: str  # one of KINDS' values, "front-matter", or "gap" (between blocks)
    translatable: bool
    line: int  # 0-based line of the source where it starts


@cache
def parser() -> MarkdownIt:
    """CommonMark with tables, the dialect JupyterLab renders."""
    return MarkdownIt("commonmark").enable("table")


def line_starts(text: str) -> list[int]:
    """Offsets where each line begins, plus ``len(text)``; lines end the way markdown-it
    ends them (``\\r\\n``, ``\\r`` or ``\\n``, and nothing else), so its ``.map`` line
    numbers index this list."""
    starts = [0]
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\r" and i + 1 < n and text[i + 1] == "\n":
            i += 1
        if char in "\r\n":
            starts.append(i + 1)
        i += 1
    if starts[-1] != n:
        starts.append(n)
    return starts


def split(text: str) -> list[Segment]:
    """``text`` cut into segments whose concatenation is ``text`` exactly."""
    starts = line_starts(text)
    segments: list[Segment] = []
    pos = 0  # everything before ``pos`` is in ``segments`` already
    first = 0  # first line markdown-it parses (after front matter)
    end_of_front = _front_matter_end(text, starts)
    if end_of_front:
        segments.append(Segment(text[:end_of_front[0]], "front-matter", False, 0))
        pos, first = end_of_front
    body = text[starts[first]:] if first < len(starts) else ""
    for token in parser().parse(body):
        if token.level != 0 or token.map is None or token.type not in KINDS:
            continue
        begin, end = (first + line for line in token.map)
        start = max(pos, starts[min(begin, len(starts) - 1)])
        stop = start + len(text[start:starts[min(end, len(starts) - 1)]].rstrip())
        if stop <= start:
            continue
        if start > pos:
            segments.append(Segment(text[pos:start], "gap", False, _line_of(starts, pos)))
        kind = KINDS[token.type]
        block = text[start:stop]
        segments.append(Segment(block, kind, _is_prose(kind, block), begin))
        pos = stop
    if pos < len(text):
        segments.append(Segment(text[pos:], "gap", False, _line_of(starts, pos)))
    return segments


def _front_matter_end(text: str, starts: list[int]) -> tuple[int, int] | None:
    """(offset, line) just after a leading ``---`` ... ``---`` block, or None."""
    lines = [text[a:b].rstrip("\r\n") for a, b in zip(starts, starts[1:], strict=False)]
    if not lines or lines[0].rstrip() != FRONT_MATTER:
        return None
    for number, line in enumerate(lines[1:], start=1):
        if line.rstrip() in (FRONT_MATTER, "..."):
            end = starts[number] + len(line)
            return end, number + 1
    return None


def _line_of(starts: list[int], offset: int) -> int:
    return bisect_right(starts, offset) - 1


def _is_prose(kind: str, block: str) -> bool:
    """Prose blocks with a letter in them; an HTML block only if it shows text (an
    ``<img>`` or a comment has nothing to translate)."""
    if kind not in PROSE:
        return False
    if kind == "html":
        block = visible_html_text(block)
    return any(char.isalpha() for char in block)


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_html_text(html: str) -> str:
    """The text an HTML fragment shows (tags, attributes and comments left out)."""
    reader = _TextOnly()
    reader.feed(html)
    reader.close()
    return " ".join(reader.parts)


def translatable(text: str) -> list[Segment]:
    """Only the segments a translator sees."""
    return [segment for segment in split(text) if segment.translatable]


def replace(text: str, translate) -> str:
    """``text`` with each translatable block replaced by ``translate(segment)`` (which
    returns the new text, or the block itself to keep it); everything else unchanged."""
    return "".join(translate(s) if s.translatable else s.text for s in split(text))
