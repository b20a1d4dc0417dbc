"""Multiple-choice quizzes with feedback for every answer.

In a notebook a quiz shows ipywidgets radio buttons and a *Check* button per question;
anywhere (nbval, a terminal, a front end without widgets, a static export) it also
prints its questions as text, and ``quiz.answer("q3", "b")`` gives the same feedback.
Both paths go through :meth:`Quiz.answer`, so they cannot disagree.  Texts are English
msgids marked with ``N_``, translated when shown.
"""

from __future__ import annotations

import html
import string
from dataclasses import dataclass
from typing import Any

from ..display import Display
from ..i18n import N_, _
from .result import CORRECT, NOT_ATTEMPTED, NOT_YET, Message
from .view import Result, markdown_html, markdown_plain, result_bundle


@dataclass(frozen=True)
class Choice:
    text: str
    feedback: str
    correct: bool = False


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str
    choices: tuple[Choice, ...]

    def letters(self) -> str:
        return string.ascii_lowercase[:len(self.choices)]


CHOOSE = N_("Choose one of {letters}, e.g. `{example}`.")
NO_SUCH_QUESTION = N_("There is no question {key} here: the questions are {keys}.")


class Quiz(Display):
    """A lesson's quiz: questions ``q1``, ``q2``... each with one right choice."""

    def __init__(self, *questions: Question) -> None:
        for question in questions:
            if sum(c.correct for c in question.choices) != 1:
                raise ValueError(f"{question.key} needs exactly one right choice")
        self.questions = {q.key: q for q in questions}
        self.answers: dict[str, str] = {}

    def answer(self, key: Any = None, choice: Any = None) -> Result:
        """Your answer to question ``key`` (``"q1"``...): a letter, ``"a"`` to ``"d"``."""
        question = self.questions.get(key) if isinstance(key, str) else None
        if question is None:
            return Result(Message(N_("Quiz")), NOT_YET, Message(NO_SUCH_QUESTION, {
                "key": _short(key), "keys": ", ".join(self.questions)}))
        title = Message(N_("Quiz, question {key}"), {"key": question.key})
        letter = choice.strip().lower().rstrip(")") if isinstance(choice, str) else None
        if choice is None or choice is ...:
            return Result(title, NOT_ATTEMPTED, Message(CHOOSE, self._letters(question)))
        if not letter or letter not in question.letters():
            return Result(title, NOT_YET, Message(CHOOSE, self._letters(question)))
        self.answers[question.key] = letter
        picked = question.choices[question.letters().index(letter)]
        return Result(title, CORRECT if picked.correct else NOT_YET, Message(picked.feedback))

    def score(self) -> int:
        """How many questions were last answered right."""
        return sum(self.questions[k].choices[self.questions[k].letters().index(v)].correct
                   for k, v in self.answers.items())

    @staticmethod
    def _letters(question: Question) -> dict[str, str]:
        return {"letters": ", ".join(question.letters()),
                "example": f'ex.quiz.answer("{question.key}", "{question.letters()[0]}")'}

    # -- views -----------------------------------------------------------------------

    def text(self) -> str:
        lines = []
        for question in self.questions.values():
            lines.append(f"{question.key}. {_(question.prompt)}")
            lines += [f"   {letter}) {_(c.text)}"
                      for letter, c in zip(question.letters(), question.choices, strict=True)]
            lines.append("")
        lines.append(_("Answer with `{example}`.", example='ex.quiz.answer("q1", "a")'))
        return "\n".join(lines)

    def rich(self) -> dict[str, str]:
        parts = []
        for question in self.questions.values():
            items = "".join(f"<li><b>{letter})</b> {markdown_html(_(c.text))}</li>"
                            for letter, c in zip(question.letters(), question.choices, strict=True))
            parts.append(f"<p><b>{html.escape(question.key)}.</b> "
                         f"{markdown_html(_(question.prompt))}</p>"
                         f'<ul style="list-style:none">{items}</ul>')
        parts.append(f"<p><small>{markdown_html(self.text().splitlines()[-1])}</small></p>")
        return {"text/html": "".join(parts)}

    def widget(self) -> Any:
        import ipywidgets as widgets

        boxes = []
        for question in self.questions.values():
            choices = widgets.RadioButtons(
                options=[(f"{letter}) {markdown_plain(_(c.text))}", letter)
                         for letter, c in zip(question.letters(), question.choices, strict=True)],
                value=None, layout=widgets.Layout(width="auto"))
            button = widgets.Button(description=_("Check"))
            feedback = widgets.HTML()
            button.on_click(self._on_check(question.key, choices, feedback))
            boxes.append(widgets.VBox([
                widgets.HTML(f"<b>{html.escape(question.key)}.</b> "
                             f"{markdown_html(_(question.prompt))}"),
                choices, button, feedback]))
        return widgets.VBox(boxes)

    def _on_check(self, key: str, choices: Any, feedback: Any) -> Any:
        def check(_button: Any) -> None:
            feedback.value = result_bundle(self.answer(key, choices.value))["text/html"]
        return check


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
