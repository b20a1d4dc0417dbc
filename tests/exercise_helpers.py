"""What every lesson's exercise tests share: junk answers, and rendering a result."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from hypothesis import strategies as st

import course.exercises
from course.exercises import Exercise, Quiz, Result

#: Anything a learner might leave in a starter cell, or assign by mistake.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
    st.binary(max_size=10), st.just(...), st.just(print), st.just(Exception("boom")),
    st.just(KeyboardInterrupt), st.just(object()), st.complex_numbers(),
)
JUNK = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner), st.sets(st.text(max_size=8)),
    st.frozensets(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)


def lesson_modules() -> list[ModuleType]:
    """Every ``course.exercises.lessonNN`` module."""
    return [importlib.import_module(f"course.exercises.{m.name}")
            for m in pkgutil.iter_modules(course.exercises.__path__)
            if m.name.startswith("lesson")]


def exercises(module: ModuleType) -> list[Exercise]:
    return list(module.lesson.exercises)


def quizzes(module: ModuleType) -> list[Quiz]:
    return [module.lesson.quiz] if module.lesson.quiz is not None else []


def rendered(result: object) -> str:
    """The text of a result, after proving its rich rendering works too."""
    assert isinstance(result, Result), result
    bundle = result._repr_mimebundle_()
    assert bundle["text/plain"] and bundle["text/html"]
    return bundle["text/plain"]


def says(result: Result, status: str, *fragments: str) -> bool:
    """The result has ``status`` and its text holds every fragment."""
    text = rendered(result)
    return result.status == status and all(f in text for f in fragments)
