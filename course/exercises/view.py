"""How results, hints, solutions and progress show themselves: HTML in a notebook,
plain text anywhere else, in the language of the moment they are shown.

Messages are short Markdown (code spans, emphasis); HTML is made with markdown-it-py
with raw HTML switched off, so nothing a learner typed can inject markup.  No view
ever shows a check's own code: only its messages, a hint, or the solution asked for.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from markdown_it import MarkdownIt

from ..display import Display, table
from ..i18n import N_, _
from .result import CORRECT, NOT_ATTEMPTED, NOT_YET, Message, Outcome


class Exercise(Protocol):
    """What the views read of an exercise (``core.Exercise`` has it)."""

    name: str
    title: str
    hints: tuple[str, ...]
    explanation: str
    solution_code: str
    attempts: int
    last: Outcome | None


class ExerciseSet(Protocol):
    exercises: Sequence[Exercise]
    quiz: Any

#: status -> (symbol, label msgid, colour)
STATUS = {
    CORRECT: ("✔", N_("Correct"), "#1a7f37"),
    NOT_YET: ("✘", N_("Not yet"), "#b35900"),
    NOT_ATTEMPTED: ("○", N_("Not attempted"), "#6e7781"),
}
VISIBLE_ONLY = N_("The visible checks pass")


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False})


def markdown_html(text: str) -> str:
    """Inline Markdown to HTML, without the paragraph around a one-paragraph text."""
    rendered = _markdown().render(text).strip()
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        rendered = rendered[3:-4]
    return rendered


def markdown_plain(text: str) -> str:
    """Inline Markdown as plain text (code spans and emphasis without their marks), for
    places that show no markup, such as a radio button's label."""
    tokens = _markdown().parseInline(text)[0].children or []
    return "".join(t.content if t.type in ("text", "code_inline") else
                   " " if t.type in ("softbreak", "hardbreak") else "" for t in tokens)


def _box(colour: str, heading: str, body: str) -> str:
    return (f'<div style="border-left:4px solid {colour};padding:0.3em 0.8em;margin:0.3em 0">'
            f'<b style="color:{colour}">{heading}</b>{body}</div>')


@dataclass(frozen=True)
class Result(Outcome):
    """An outcome that shows itself: HTML in a notebook, text elsewhere."""

    def __str__(self) -> str:
        return result_text(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return result_bundle(self)


def _label(result: Outcome) -> tuple[str, str, str]:
    symbol, label, colour = STATUS[result.status]
    return symbol, _(VISIBLE_ONLY) if result.visible_only else _(label), colour


def result_text(result: Outcome) -> str:
    symbol, label, _colour = _label(result)
    title = str(result.title)
    head = f"{symbol} {label}" + (f" ({title})" if title else "")
    if result.message is None:
        return head
    return _("{heading}: {message}", heading=head, message=str(result.message))


def result_bundle(result: Outcome) -> dict[str, str]:
    symbol, label, colour = _label(result)
    title = str(result.title)
    heading = html.escape(f"{symbol} {label}" + (f" · {title}" if title else ""))
    body = (f"<div>{markdown_html(str(result.message))}</div>"
            if result.message is not None else "")
    return {"text/plain": result_text(result), "text/html": _box(colour, heading, body)}


class Hint(Display):
    """Hint ``number`` of an exercise (0: the exercise has none)."""

    def __init__(self, exercise: Exercise, number: int) -> None:
        self.exercise, self.number = exercise, number

    def parts(self) -> tuple[str, str, str]:
        hints = self.exercise.hints
        if not self.number:
            return _("No hint for this one."), "", ""
        heading = _("Hint {n} of {total}", n=self.number, total=len(hints))
        if self.number < len(hints):
            call = f"ex.{self.exercise.name}.hint({self.number + 1})"
            more = _("For a more concrete hint: `{call}`.", call=call)
        else:
            call = f"ex.{self.exercise.name}.solution()"
            more = _("Still stuck? `{call}` shows a solution.", call=call)
        return heading, str(Message(hints[self.number - 1])), more

    def text(self) -> str:
        heading, body, more = self.parts()
        bulb = f"💡 {heading}"
        first = _("{heading}: {message}", heading=bulb, message=body) if body else bulb
        return "\n".join(p for p in (first, more) if p)

    def rich(self) -> dict[str, str]:
        heading, body, more = self.parts()
        return {"text/html": _box("#0969da", html.escape(f"💡 {heading}"),
                                  f"<div>{markdown_html(body)}</div>"
                                  f"<div><small>{markdown_html(more)}</small></div>")}


class Solution(Display):
    """An exercise's solution code and why it works."""

    def __init__(self, exercise: Exercise) -> None:
        self.exercise = exercise

    def text(self) -> str:
        explanation = str(Message(self.exercise.explanation)) if self.exercise.explanation else ""
        code = self.exercise.solution_code.strip()
        return "\n\n".join(p for p in (_("One solution:"), code, explanation) if p)

    def rich(self) -> dict[str, str]:
        explanation = self.exercise.explanation
        code = html.escape(self.exercise.solution_code.strip())
        body = (f"<pre><code>{code}</code></pre>"
                + (f"<div>{markdown_html(str(Message(explanation)))}</div>"
                   if explanation else ""))
        return {"text/html": _box("#8250df", html.escape(_("One solution:")), body)}


class Progress(Display):
    """Where a learner stands in one lesson."""

    def __init__(self, exercises: ExerciseSet) -> None:
        self.set = exercises

    def rows(self) -> list[list[str]]:
        rows = []
        for exercise in self.set.exercises:
            if exercise.last is None:
                symbol, label = STATUS[NOT_ATTEMPTED][0], _(STATUS[NOT_ATTEMPTED][1])
            else:
                symbol, label, _colour = _label(exercise.last)
            rows.append([exercise.name, str(Message(exercise.title)), f"{symbol} {label}",
                         _("{n} attempt(s)", n=exercise.attempts)])
        quiz = self.set.quiz
        if quiz is not None:
            rows.append([_("quiz"), "", _("{right} of {total} right", right=quiz.score(),
                                          total=len(quiz.questions)), ""])
        return rows

    def text(self) -> str:
        return table(self.rows())

    def rich(self) -> dict[str, str]:
        cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                        for row in self.rows())
        return {"text/html": f"<table>{cells}</table>"}

