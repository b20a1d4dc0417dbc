"""An English source rendered in another language with its catalog.

Only prose changes: each translatable Markdown block is replaced by its msgstr and each
code comment's text by its translation, in place.  The code, cell ids, cell metadata,
attachments and the notebook's metadata are the English notebook's, so the two languages
cannot drift apart; the only code that differs is the lesson's language line.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat

from . import blocks, comments, language
from .catalog import FUZZY, TRANSLATED, Translations
from .problems import BuildError


@dataclass
class Report:
    """What a rendering could not translate: counted per kind, English kept instead."""

    untranslated: int = 0
    fuzzy: int = 0
    warnings: list[str] = field(default_factory=list)

    def count(self, status: str) -> None:
        if status == FUZZY:
            self.fuzzy += 1
        elif status != TRANSLATED:
            self.untranslated += 1

    def __str__(self) -> str:
        parts = [f"{n} {what}" for n, what in ((self.untranslated, "untranslated"),
                                               (self.fuzzy, "fuzzy")) if n]
        return ", ".join(parts) or "fully translated"


def _translator(lesson: str, translations: Translations, report: Report):
    """A function from an English text to its translation (the English when there is
    none yet, counted in ``report``)."""
    def translate(text: str) -> str:
        string, status = translations.lookup(lesson, text)
        report.count(status)
        return string if string is not None else text
    return translate


def markdown(text: str, lesson: str, translations: Translations,
             report: Report | None = None) -> str:
    """A Markdown text with every translatable block translated, the rest byte for byte."""
    translate = _translator(lesson, translations, report or Report())
    return blocks.replace(text, lambda segment: translate(segment.text))


def notebook(english: nbformat.NotebookNode, lesson: str, lang: str,
             translations: Translations, source: str,
             report: Report | None = None) -> nbformat.NotebookNode:
    """The notebook ``english`` (stored at ``source``, relative to the project) in
    ``lang``; without outputs or execution counts.

    Raises :class:`BuildError` when its first code cell lacks the language line.
    """
    report = report if report is not None else Report()
    translate = _translator(lesson, translations, report)
    built = copy.deepcopy(english)
    first_code = True
    for number, cell in enumerate(built.cells, start=1):
        if cell.cell_type == "markdown":
            cell.source = markdown(cell.source, lesson, translations, report)
        elif cell.cell_type == "code":
            if first_code:
                cell.source = language.set_language(cell.source, lang, source)
                first_code = False
            try:
                cell.source = comments.replace(cell.source, lambda c: translate(c.text))
            except BuildError as error:
                report.warnings.append(f"{source}: cell {number}: {error} (kept in English)")
            cell.outputs = []
            cell.execution_count = None
    if first_code:
        raise language.missing(source)  # not a single code cell
    built.metadata["course"] = {"language": lang, "source": source,
                                "built_by": "python -m course.build: edit the English "
                                            "notebook and the catalog, not this file"}
    return built


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The notebook as nbformat's writer stores it, with a final newline: the same
    notebook always gives the same bytes."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"
