"""The check of a learner's diagnosis of a broken lab, in the course's exercise style.

A diagnosis names one fault (a dict) or several (a list of dicts):
``{"fault": "stopped-service", "service": "nova-compute", "host": "compute2"}``.  The
check says what is right first, then the exact part that is wrong, then what the lab
shows about that wrong part (the queue, the binding, the service list it overlooked).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exercises.core import Exercise, NotYet
from ..exercises.evidence import codes, kind
from ..exercises.result import Joined, Message
from ..i18n import N_
from .catalogue import KINDS, Fault, Scene

NOT_A_DIAGNOSIS = N_("Write a diagnosis as a dict, e.g. `{example}`; this answer is {kind}.")
UNKNOWN_KIND = N_("`{fault}` is not a fault of the catalogue: choose one of {kinds}.")
MISSING_KEYS = N_("A `{fault}` diagnosis names {keys}: add {missing}.")
RIGHT = N_("Right: {parts}.")
WRONG_KIND = N_("But this lab has no `{fault}` fault.")
WRONG_VALUE = N_("But `{key}` is not `{value}`.")
SAME_TWICE = N_("You named the same fault twice.")
MORE = N_("{found} of the {total} faults found: something else is wrong too.")
TOO_MANY = N_("This lab hides {total} fault(s), not {count}.")
EXAMPLE = '{"fault": "stopped-service", "service": "nova-compute", "host": "compute2"}'


PART = N_("`{key}` is `{value}`")


def parts(claim: Mapping[str, str], keys: tuple[str, ...]) -> Joined:
    """``fault`` is ``x``, ``host`` is ``y``: the parts of a claim, as code (translated
    when shown, as every message)."""
    return Joined(tuple(Message(PART, {"key": key, "value": claim[key]})
                        for key in ("fault", *keys)), separator=", ")


def read(answer: Any) -> list[dict[str, str]]:
    """The diagnoses of an answer, each checked for shape (a known kind, its keys)."""
    items = [answer] if isinstance(answer, Mapping) else answer
    if not isinstance(items, (list, tuple)) or not items or not all(
            isinstance(item, Mapping) for item in items):
        raise NotYet(NOT_A_DIAGNOSIS, example=EXAMPLE, kind=kind(answer))
    claims = []
    for item in items:
        claim = {str(k).strip(): str(v).strip() for k, v in item.items()}
        fault = claim.get("fault", "")
        if fault not in KINDS:
            raise NotYet(UNKNOWN_KIND, fault=fault, kinds=codes(KINDS))
        missing = [key for key in KINDS[fault].keys if key not in claim]
        if missing:
            raise NotYet(MISSING_KEYS, fault=fault, keys=codes(KINDS[fault].keys),
                         missing=codes(missing))
        claims.append(claim)
    return claims


def judge(scene: Scene, faults: tuple[Fault, ...], claim: dict[str, str],
          right: list[Message]) -> Fault:
    """The fault ``claim`` names exactly, or raise what is right and what is wrong."""
    fault_kind = KINDS[claim["fault"]]
    same = [f for f in faults if f.kind == claim["fault"]]
    for fault in same:
        if all(claim[key] == fault.subject[key] for key in fault_kind.keys):
            return fault
    if not same:
        wrong = Message(WRONG_KIND, {"fault": claim["fault"]})
    else:  # the closest fault of that kind: the most parts right
        fault = max(same, key=lambda f: sum(claim[k] == f.subject[k] for k in fault_kind.keys))
        good = tuple(k for k in fault_kind.keys if claim[k] == fault.subject[k])
        right = [*right, Message(RIGHT, {"parts": parts(claim, good)})]
        key = next(k for k in fault_kind.keys if claim[k] != fault.subject[k])
        wrong = Message(WRONG_VALUE, {"key": key, "value": claim[key]})
    raise NotYet(N_("{sentences}"), sentences=Joined(
        (*right, wrong, fault_kind.against(scene, claim))))


class Diagnosis(Exercise):
    """``broken.check(diagnosis)``: every fault of the lab, named exactly."""

    title = N_("What is wrong with this lab?")
    call = "check(diagnosis)"
    expects = N_("Write a diagnosis as a dict with the key `fault` and the keys of its "
                 "kind, or a list of such dicts.")
    success = N_("Every fault found: {faults}.")

    def __init__(self, scene: Scene, faults: tuple[Fault, ...]) -> None:
        super().__init__()
        self.name = "diagnosis"
        self.scene = scene
        self.faults = faults

    @property
    def qualified_call(self) -> str:
        return f"broken.{self.call}"

    def verify(self, diagnosis: Any) -> dict[str, Joined]:
        claims = read(diagnosis)
        if len(claims) > len(self.faults):
            raise NotYet(TOO_MANY, total=len(self.faults), count=len(claims))
        found: list[Fault] = []
        right: list[Message] = []
        for claim in claims:
            fault = judge(self.scene, self.faults, claim, right)
            if fault in found:
                raise NotYet(N_("{sentences}"), sentences=Joined((*right,
                                                                  Message(SAME_TWICE))))
            found.append(fault)
            right.append(Message(RIGHT, {"parts": parts(claim, KINDS[fault.kind].keys)}))
        if len(found) < len(self.faults):
            raise NotYet(N_("{sentences}"), sentences=Joined((*right, Message(MORE, {
                "found": len(found), "total": len(self.faults)}))))
        return {"faults": Joined(tuple(parts(f.answer(), KINDS[f.kind].keys) for f in found),
                                 separator="; ")}
