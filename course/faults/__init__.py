"""Broken labs for the capstone lesson: ``broken_lab(seed)`` starts a lab with faults
drawn from a catalogue, the same for the same seed; the learner finds them in the
topology, the trace and the service list, and ``broken.check(diagnosis)`` says whether
the diagnosis is right.

One job a module: :mod:`.catalogue` (each fault: injection, evidence, what a wrong claim
overlooks), :mod:`.builder` (the seeded draw and the lab), :mod:`.diagnosis` (the check).
"""

from __future__ import annotations

from .builder import BrokenLab, FaultNotVisible, FaultsInvalid, broken_lab, plan
from .catalogue import KINDS, Fault

__all__ = ["KINDS", "BrokenLab", "Fault", "FaultNotVisible", "FaultsInvalid", "broken_lab",
           "plan"]
