"""The exercise framework: checks decide, views show, nothing raises on an answer."""

from __future__ import annotations

import inspect

import pytest
from exercise_helpers import JUNK, exercises, lesson_modules, quizzes, rendered, says
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import course
from course.exercises import (
    CORRECT,
    NOT_ATTEMPTED,
    NOT_YET,
    Choice,
    Exercise,
    ExerciseSet,
    NotYet,
    Question,
    Quiz,
    Unavailable,
    VisibleOnly,
    evidence,
    lesson00,
)


class Double(Exercise):
    title = "Double"
    call = "check(answer)"
    expects = "A number."
    hints = ("Think of two.", "It is 4.")
    solution_code = "answer = 4"
    explanation = "2 + 2 = 4."
    success = "Yes, {answer}."

    def verify(self, answer):
        if answer == 3:
            raise NotYet("Close, but {answer} is odd.", answer=answer)
        if answer == 5:
            return VisibleOnly("The visible checks pass.")
        if answer + 0 != 4:  # junk raises TypeError here: check() must turn it into Not yet
            raise NotYet("Not {answer}.", answer=answer)
        return {"answer": answer}


@pytest.fixture
def double():
    exercise = Double()
    ExerciseSet(exercise)
    return exercise


def test_results_say_correct_not_yet_not_attempted(double):
    assert says(double.check(4), CORRECT, "Correct", "Yes, 4.")
    assert says(double.check(3), NOT_YET, "Not yet", "Close, but 3 is odd.")
    assert says(double.check(...), NOT_ATTEMPTED, "Not attempted", "`...`")
    assert says(double.check(), NOT_YET, "`ex.q1.check(answer)`")
    assert says(double.check(1, 2), NOT_YET, "`ex.q1.check(answer)`")
    assert says(double.check("four"), NOT_YET, "cannot read this answer", "A number.")
    assert says(double.check(ZeroDivisionError("division by zero")), NOT_YET,
                "ZeroDivisionError: division by zero")
    assert double.attempts == 6  # "not attempted" is not an attempt


def test_visible_only_never_says_correct(double):
    result = double.check(5)
    assert result.correct and result.visible_only
    text = rendered(result)
    assert "The visible checks pass" in text and "Correct" not in text


def test_hints_grow_more_concrete_then_point_to_the_solution(double):
    first, second, again = str(double.hint()), str(double.hint()), str(double.hint())
    assert "Hint 1 of 2" in first and "Think of two." in first and "ex.q1.hint(2)" in first
    assert "Hint 2 of 2" in second and "It is 4." in second and "ex.q1.solution()" in second
    assert again == second
    assert "Hint 1 of 2" in str(double.hint(1)) and "Hint 2 of 2" in str(double.hint(99))
    assert "Hint 1 of 2" in str(double.hint(-3)) and "Hint" in str(double.hint("x"))


def test_the_solution_shows_code_and_why_never_the_check(double):
    text = str(double.solution())
    assert "answer = 4" in text and "2 + 2 = 4." in text
    html = double.solution()._repr_mimebundle_()["text/html"]
    assert "answer = 4" in html
    source = inspect.getsource(Double.verify)
    for shown in (text, html, rendered(double.check(7)), rendered(double.check("x"))):
        assert "raise NotYet" not in shown and source not in shown


def test_markup_in_an_answer_is_escaped(double):
    html = double.check("<script>alert(1)</script>")._repr_mimebundle_()["text/html"]
    assert "<script>" not in html
    html = double.check(3)._repr_mimebundle_()["text/html"]
    assert "<script>" not in html


def test_feedback_is_in_the_language_of_the_moment(double, french):
    result = double.check(...)
    assert "Non tenté" in rendered(result)
    course.set_language("en")
    assert "Not attempted" in rendered(result)


def test_progress_counts_checks_and_quiz():
    quiz = Quiz(Question("q1", "Two?", (Choice("yes", "Right.", correct=True),
                                         Choice("no", "Wrong."))))
    exercise = Double()
    lesson = ExerciseSet(exercise, quiz=quiz)
    assert not lesson.all_correct()
    exercise.check(4)
    quiz.answer("q1", "a")
    assert lesson.all_correct()
    text = str(lesson.progress())
    assert "q1" in text and "Correct" in text and "1 of 1 right" in text



class NeedsRabbitMQ(Double):
    def verify(self, answer):
        raise Unavailable("RabbitMQ is not installed.")


def test_a_check_this_machine_cannot_run_is_not_attempted_and_does_not_count():
    """A lab that needs RabbitMQ, on a laptop without it: the check says Not attempted and
    why; the lesson is all correct once every other check is (the solutions test)."""
    runnable, unavailable = Double(), NeedsRabbitMQ()
    lesson = ExerciseSet(runnable, unavailable)
    assert says(unavailable.check(4), NOT_ATTEMPTED, "Not attempted", "RabbitMQ is not")
    assert not lesson.all_correct()
    runnable.check(4)
    assert lesson.all_correct()
    runnable.check(3)
    assert not lesson.all_correct()

def test_quiz_gives_the_feedback_of_each_answer():
    quiz = Quiz(Question("q1", "Which?", (Choice("one", "Not this one."),
                                          Choice("two", "This one.", correct=True))))
    assert says(quiz.answer("q1", "b"), CORRECT, "This one.")
    assert says(quiz.answer("q1", " A) "), NOT_YET, "Not this one.")
    assert says(quiz.answer("q1", "z"), NOT_YET, "a, b")
    assert says(quiz.answer("q1"), NOT_ATTEMPTED)
    assert says(quiz.answer("q9", "a"), NOT_YET, "q1")
    assert "a) one" in quiz.text() and 'ex.quiz.answer("q1", "a")' in quiz.text()
    with pytest.raises(ValueError):
        Quiz(Question("q1", "?", (Choice("a", "x"), Choice("b", "y"))))


def test_quiz_widget_labels_show_no_markdown_marks():
    """Radio buttons show plain text: `code` and **bold** lose their marks, not their words."""
    quiz = Quiz(Question("q1", "Which?", (Choice("the queue `conductor`\nat **once**", "x"),
                                          Choice("two", "y", correct=True))))
    choices = quiz.widget().children[0].children[1]
    assert [label for label, _value in choices.options] == [
        "a) the queue conductor at once", "b) two"]


def test_quiz_widget_checks_through_the_same_answer():
    quiz = Quiz(Question("q1", "Which?", (Choice("one", "Not this one."),
                                          Choice("two", "This one.", correct=True))))
    box = quiz.widget().children[0]
    _prompt, choices, button, feedback = box.children
    button.click()
    assert "a, b" in feedback.value  # nothing chosen yet
    choices.value = "b"
    button.click()
    assert "This one." in feedback.value and quiz.score() == 1


# -- every lesson's exercises -------------------------------------------------------------

LESSONS = lesson_modules()
EXERCISES = [(m.__name__.rpartition(".")[2], e) for m in LESSONS for e in exercises(m)]


def test_every_lesson_has_what_a_lesson_needs():
    assert [m.__name__.rpartition(".")[2] for m in LESSONS][:1] == ["lesson00"]
    for module in LESSONS:
        assert quizzes(module), f"{module.__name__} has no quiz"
        minimum = 1 if module is lesson00 else 3
        assert len(exercises(module)) >= minimum, module.__name__
        for exercise in exercises(module):
            assert exercise.title and exercise.solution_code and exercise.expects
            assert len(exercise.hints) >= 2, f"{exercise.name}: hints grow more concrete"


@pytest.fixture(scope="module")
def running_lab():
    """A lab with a cloud and a booted vm1, so checks meet real, half-matching state."""
    lab = course.Lab()
    cloud = lab.nova()
    cloud.boot("vm1").wait()
    yield lab
    lab.stop()


@pytest.mark.parametrize("state", ["no lab", "running lab"])
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=st.lists(JUNK, max_size=3), data=st.data())
def test_no_check_raises_on_junk(request, state, answers, data):
    if state == "no lab":
        lab = course.Lab.current()
        if lab is not None:
            lab.stop()
    else:
        request.getfixturevalue("running_lab")
    _lesson, exercise = data.draw(st.sampled_from(EXERCISES))
    rendered(exercise.check(*answers))
    for module in LESSONS:
        for quiz in quizzes(module):
            rendered(quiz.answer(*answers[:2]))


def test_evidence_reads_one_text_answer_or_says_how_to_write_it():
    assert evidence.text("  compute1 ", "host") == "compute1"
    with pytest.raises(NotYet) as no_example:
        evidence.text(None, "host")
    with pytest.raises(NotYet) as example:
        evidence.text(["a"], "queue", '"demo"')
    assert no_example.value.message.fields == {"name": "host", "kind": "None"}
    assert example.value.message.fields == {"name": "queue", "example": '"demo"',
                                            "kind": "`list`"}


def test_evidence_finds_the_labs_cloud_of_a_kind_or_names_the_cell_to_run():
    from course.openstack.nova import NovaCloud

    with course.Lab() as lab:
        with pytest.raises(NotYet) as none:
            evidence.cloud(NovaCloud, "cloud = lab.nova(...)")
        assert none.value.message.fields == {"name": "Nova", "cell": "cloud = lab.nova(...)"}
        cloud = lab.nova(computes=["compute1"])
        assert evidence.cloud(NovaCloud, "cloud = lab.nova(...)") is cloud
