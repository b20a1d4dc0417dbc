"""What checks read, and how they read a learner's answer, kindly.

Checks look at the lab running now (:func:`lab`), its broker (:func:`topology`, and
``Topology.route`` for "where would this message go?") and its trace.  Each helper
raises :class:`~course.exercises.core.NotYet` with a message that says what is missing
instead of failing on it, so a lesson's checks stay short.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from ..i18n import N_
from ..lab import Lab
from ..openstack.cloud import Cloud
from ..topology import Topology
from .core import NotYet

CloudT = TypeVar("CloudT", bound=Cloud)

NO_LAB = N_("No lab is running: run the cell near the top of this lesson that starts it "
            "(`lab = course.Lab()`), then check again.")
NOT_NAMES = N_("Write the answer as a set of names in quotes, e.g. `{example}`; "
               "this answer is {kind}.")
NOT_A_NUMBER = N_("Write the answer as a whole number, e.g. `{example}`; this answer is {kind}.")
NO_CLOUD = N_("No {name} runs in this lab yet: run the cell that starts it (`{cell}`), then "
              "check again.")
NOT_TEXT = N_("Write `{name}` in quotes, e.g. `{example}`; this answer is {kind}.")
NOT_TEXT_NO_EXAMPLE = N_("Write `{name}` in quotes; this answer is {kind}.")


def lab() -> Lab:
    """The lab this kernel runs now."""
    current = Lab.current()
    if current is None:
        raise NotYet(NO_LAB)
    return current


def cloud(kind: type[CloudT], cell: str) -> CloudT:
    """The lab's last cloud of ``kind`` (``NovaCloud``...); ``cell``: the code that starts
    one, which the message names when there is none."""
    found = [c for c in lab().clouds if isinstance(c, kind)]
    if not found:
        raise NotYet(NO_CLOUD, name=kind.__name__.removesuffix("Cloud"), cell=cell)
    return found[-1]


def topology() -> Topology:
    """What the lab's broker holds now (exchanges, queues, bindings, counts)."""
    return lab().topology()


def kind(value: Any) -> str:
    """A learner-readable name of a value's type: ``a dict``, ``None``."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"`{name}`"


def names(answer: Any, example: str = "{'a', 'b'}") -> set[str]:
    """A set of names from a string, or a list, tuple or set of strings."""
    if isinstance(answer, str):
        return {answer}
    if isinstance(answer, Iterable) and not isinstance(answer, (bytes, dict)):
        items = list(answer)
        if all(isinstance(item, str) for item in items):
            return set(items)
    raise NotYet(NOT_NAMES, example=example, kind=kind(answer))


def text(answer: Any, name: str, example: str | None = None) -> str:
    """One name or value written as a string, stripped; ``name`` is the answer's variable,
    ``example`` a quoted example (leave it out where any example would give the answer)."""
    if isinstance(answer, str):
        return answer.strip()
    if example is None:
        raise NotYet(NOT_TEXT_NO_EXAMPLE, name=name, kind=kind(answer))
    raise NotYet(NOT_TEXT, name=name, example=example, kind=kind(answer))


def number(answer: Any, example: str = "3") -> int:
    """A whole number, given as an int or as digits in a string."""
    if isinstance(answer, bool):
        raise NotYet(NOT_A_NUMBER, example=example, kind=kind(answer))
    if isinstance(answer, int):
        return answer
    if isinstance(answer, float) and answer.is_integer():
        return int(answer)
    if isinstance(answer, str) and answer.strip().isdigit():
        return int(answer.strip())
    raise NotYet(NOT_A_NUMBER, example=example, kind=kind(answer))


def codes(values: Iterable[str]) -> str:
    """``a``, ``b`` as code spans, in the order given: names in a message."""
    return ", ".join(f"`{v}`" for v in values)


def listed(values: Iterable[str]) -> str:
    """``{'a', 'b'}`` as a learner would write it, sorted (empty: ``set()``)."""
    values = sorted(values)
    return "{" + ", ".join(repr(v) for v in values) + "}" if values else "set()"
