"""Exercises on the Kaggle learntools model: the check logic, apart from its view.

A lesson's exercise is an :class:`Exercise` subclass.  Its :meth:`~Exercise.verify`
looks at real state (the broker through ``Topology`` and ``Topology.route``, the lab's
trace) or at the learner's value, and *raises* what is wrong:

* :class:`NotAttempted`: the starter cell is as it was (its ``...`` is still there, or
  nothing was declared on the broker yet);
* :class:`NotYet`: a specific, kind explanation of what is wrong and which cell to
  revisit;
* :class:`Unavailable`: this machine cannot run the exercise's lab (it needs RabbitMQ).

Returning normally means Correct (a dict returned fills the success message's fields);
returning :class:`VisibleOnly` means "the visible
checks pass" (said only when the check cannot know more).  :meth:`Exercise.check`
turns all that into a :class:`Result` and never raises, whatever the answer: None, a
wrong type, an exception object, a half-declared topology, a stopped lab.  Results,
hints and solutions are records; ``view.py`` draws them (HTML in a notebook, text
elsewhere), in the learner's language at the moment they are shown.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import CourseError
from ..i18n import N_
from ..transport_url import mask_url
from .result import CORRECT, NOT_ATTEMPTED, NOT_YET, Message
from .view import Hint, Progress, Result, Solution

log = logging.getLogger(__name__)

class Feedback(Exception):
    """What a check found; ``verify`` raises it, ``check`` shows it."""

    status = NOT_YET

    def __init__(self, msgid: str, **fields: Any) -> None:
        super().__init__(msgid)
        self.message = Message(msgid, fields)

    def __str__(self) -> str:
        return str(self.message)


class NotYet(Feedback):
    """The answer is not right yet; the message says what is wrong and where to look."""


class NotAttempted(Feedback):
    """The starter was left as it was."""

    status = NOT_ATTEMPTED


class Unavailable(NotAttempted):
    """This machine cannot run the exercise's lab (RabbitMQ is not installed): Not
    attempted, saying why, and not counted against the lesson."""


@dataclass(frozen=True)
class VisibleOnly:
    """``verify`` returns this when its checks pass but cannot prove the whole answer."""

    msgid: str
    fields: dict[str, Any] = field(default_factory=dict)


STARTER_LEFT = N_("The cell above still holds `...`: replace it with your answer, "
                  "run that cell, then run this check again.")
WRONG_CALL = N_("This check takes your answer: `{call}`.")
ANSWER_IS_ERROR = N_("Your answer is an error, not a value ({error}). Fix the cell that "
                     "raised it, run it again, then check.")
UNREADABLE = N_("The check cannot read this answer. {expects}")
BROKER_TROUBLE = N_("The check could not look at the lab: {error}")


class Exercise:
    """One exercise of a lesson; subclasses give the texts and :meth:`verify`.

    Class attributes, all English msgids marked with ``N_`` (translated when shown):
    ``title``; ``hints`` (each more concrete than the last); ``explanation`` (shown with
    the solution); ``success`` (why a correct answer is right); ``expects`` (what an answer
    looks like, said when one cannot be read).  ``solution_code`` is the code of the
    starter cell, solved: :meth:`solution` shows it and the solutions test runs it.
    ``call`` is how the check cell calls the check.
    """

    title: str = ""
    hints: tuple[str, ...] = ()
    explanation: str = ""
    success: str = ""
    expects: str = ""
    solution_code: str = ""
    call: str = "check()"

    def __init__(self) -> None:
        self.name = ""  # "q1": set by the lesson's ExerciseSet
        self.attempts = 0
        self.hints_seen = 0
        self.last: Result | None = None

    # -- what subclasses write ------------------------------------------------------

    def verify(self, *answer: Any) -> VisibleOnly | dict[str, Any] | None:
        """Raise :class:`NotYet` or :class:`NotAttempted`; return to say Correct (a dict:
        the fields of the ``success`` message; :class:`VisibleOnly`: all that is known)."""
        raise NotImplementedError

    # -- what learners call -----------------------------------------------------------

    def check(self, *args: Any, **kwargs: Any) -> Result:
        """Check the answer (or the lab's state) and say Correct, Not yet or Not attempted."""
        result = self._result(args, kwargs)
        self.last = result
        if result.status != NOT_ATTEMPTED:
            self.attempts += 1
        return result

    def hint(self, number: int | None = None) -> Any:
        """The next hint (or hint ``number``): each is more concrete than the one before."""
        if not self.hints:
            return Hint(self, 0)
        if not isinstance(number, int) or isinstance(number, bool):
            number = min(self.hints_seen + 1, len(self.hints))
        number = max(1, min(number, len(self.hints)))
        self.hints_seen = max(self.hints_seen, number)
        return Hint(self, number)

    def solution(self) -> Any:
        """One solution, with why it works."""
        return Solution(self)

    # -- the one place a check's outcome is decided ---------------------------------

    def _result(self, args: tuple, kwargs: dict) -> Result:
        title = Message(self.title)
        try:
            inspect.signature(self.verify).bind(*args, **kwargs)
        except TypeError:
            return Result(title, NOT_YET, Message(WRONG_CALL, {"call": self.qualified_call}))
        answers = (*args, *kwargs.values())
        if any(a is ... for a in answers):
            return Result(title, NOT_ATTEMPTED, Message(STARTER_LEFT))
        error = next((a for a in answers if isinstance(a, BaseException)), None)
        if error is not None:
            return Result(title, NOT_YET, Message(ANSWER_IS_ERROR,
                                                  {"error": _describe_error(error)}))
        try:
            outcome = self.verify(*args, **kwargs)
        except Feedback as feedback:
            return Result(title, feedback.status, feedback.message,
                          unavailable=isinstance(feedback, Unavailable))
        except CourseError as trouble:
            return Result(title, NOT_YET, Message(BROKER_TROUBLE,
                                                  {"error": _describe_error(trouble)}))
        except Exception:  # a shape verify() did not foresee: say so, kindly
            log.debug("%s could not read %r", self.qualified_call, answers, exc_info=True)
            return Result(title, NOT_YET, Message(UNREADABLE,
                                                  {"expects": Message(self.expects)}))
        if isinstance(outcome, VisibleOnly):
            return Result(title, CORRECT, Message(outcome.msgid, outcome.fields),
                          visible_only=True)
        fields = outcome if isinstance(outcome, dict) else {}
        return Result(title, CORRECT, Message(self.success, fields) if self.success else None)

    @property
    def qualified_call(self) -> str:
        return f"ex.{self.name}.{self.call}"


def _describe_error(error: BaseException) -> str:
    text = mask_url(str(error)).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class ExerciseSet:
    """A lesson's exercises (``q1``, ``q2``... in order) and its quiz."""

    def __init__(self, *exercises: Exercise, quiz: Any = None) -> None:
        self.exercises = exercises
        self.quiz = quiz
        for number, exercise in enumerate(exercises, 1):
            exercise.name = f"q{number}"

    def all_correct(self) -> bool:
        """Every exercise this machine can run checked Correct (the solutions test expects
        this)."""
        return all(e.last is not None and (e.last.correct or e.last.unavailable)
                   for e in self.exercises)

    def progress(self) -> Any:
        """A table of where you are: each exercise's last result, and the quiz's score."""
        return Progress(self)
