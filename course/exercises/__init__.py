"""Auto-checked exercises and quizzes, one module per lesson.

    from course.exercises import lesson02 as ex
    ex.q1.check(answer)     # Correct / Not yet (why, and where to look) / Not attempted
    ex.q1.hint()            # hint 1, then ex.q1.hint(2), each more concrete
    ex.q1.solution()        # one solution, shown only when asked
    ex.quiz                 # multiple choice, with feedback for every answer
    ex.quiz.answer("q1", "b")
    ex.progress()           # where you stand in this lesson

``core`` decides and never raises on an answer; ``result`` holds what it found;
``view`` shows it; ``quiz`` asks; ``evidence`` reads the lab the checks inspect.
"""

from .core import Exercise, ExerciseSet, NotAttempted, NotYet, Unavailable, VisibleOnly
from .quiz import Choice, Question, Quiz
from .result import CORRECT, NOT_ATTEMPTED, NOT_YET
from .view import Result

__all__ = ["CORRECT", "NOT_ATTEMPTED", "NOT_YET", "Choice", "Exercise", "ExerciseSet",
           "NotAttempted", "NotYet", "Question", "Quiz", "Result", "Unavailable", "VisibleOnly"]
