"""``broken_lab(seed)``: a running lab with faults drawn from the catalogue, the same ones
for the same seed (``random.Random(seed)``, never the global generator).

The lab runs a Nova with three computes and one VM on each; the faults are injected
into it, then each one's evidence is waited for (a condition, never a fixed time), so
that what :meth:`BrokenLab.describe` promises is there to be found.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from ..errors import CourseError
from ..i18n import _
from ..lab import Lab
from ..openstack.nova import Timings
from .catalogue import KINDS, Fault, Scene
from .diagnosis import Diagnosis

COMPUTES = ("compute1", "compute2", "compute3")
#: Heartbeats every 0.25 s, down after 2 s without one: a lesson sees a service go down
#: without waiting a minute (as the failure lessons shorten Nova's timings).
TIMINGS = Timings.zero().replace(report_interval=0.25, service_down_time=2.0,
                                 rpc_response_timeout=3.0)
#: How long the builder waits for a fault's evidence to show.
SETTLE = 30.0


class FaultsInvalid(CourseError, ValueError):
    """``broken_lab`` was asked for faults the catalogue cannot give."""


class FaultNotVisible(CourseError):
    """A fault was injected but its evidence did not show in time."""


def plan(seed: int, faults: int = 1, kinds: Iterable[str] | None = None) -> tuple[Fault, ...]:
    """The faults ``seed`` draws (no lab needed): each kind at most once, each on a host
    of its own; a fault that masks the others (a stopped conductor) comes alone."""
    names = sorted(KINDS) if kinds is None else sorted(dict.fromkeys(kinds))
    unknown = [name for name in names if name not in KINDS]
    if unknown or not names:
        raise FaultsInvalid(_("Unknown fault kind(s) {kinds}: choose among {known}.",
                              kinds=", ".join(unknown) or "-", known=", ".join(sorted(KINDS))))
    if isinstance(faults, bool) or not isinstance(faults, int) or not 1 <= faults <= min(
            3, len(names)):
        raise FaultsInvalid(_("faults must be a whole number from 1 to {most}.",
                              most=min(3, len(names))))
    rng = random.Random(seed)
    chosen: list[Fault] = []
    hosts = list(COMPUTES)
    for name in rng.sample(names, faults):
        fault = KINDS[name].choose(rng, hosts, alone=faults == 1)
        chosen.append(fault)
        hosts = [h for h in hosts if h not in fault.subject.values() and h != fault.host
                 and f"compute.{h}" not in fault.subject.values()]
    return tuple(chosen)


class BrokenLab:
    """A running lab with hidden faults: ``describe()`` the symptoms, ``check(diagnosis)``
    a learner's answer, ``answer()`` (for trainers), ``stop()``."""

    def __init__(self, seed: int, faults: tuple[Fault, ...], scene: Scene) -> None:
        self.seed = seed
        self.faults = faults
        self.scene = scene
        self.lab = scene.lab
        self.cloud = scene.cloud
        self.exercise = Diagnosis(scene, faults)
        #: Service name -> the error it logged, for the services that could not start.
        self.logs = scene.logs

    def describe(self) -> str:
        """What the learner is told: the symptoms, never the faults."""
        lines = [_("This lab hides {count} fault(s). What its users notice:",
                   count=len(self.faults))]
        lines += [f"- {_(KINDS[f.kind].symptom)}" for f in self.faults]
        lines.append(_("Look at `lab.topology()`, `lab.trace`, `cloud.service_list()` and "
                       "`broken.logs`, "
                       "then write your diagnosis: `broken.check({example})`.",
                       example='{"fault": ..., ...}'))
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.describe()

    def answer(self) -> dict[str, str] | list[dict[str, str]]:
        """The diagnosis (for trainers and tests): a dict, or a list for several faults."""
        answers = [fault.answer() for fault in self.faults]
        return answers[0] if len(answers) == 1 else answers

    def check(self, diagnosis: Any = ...) -> Any:
        """Correct, or what is right, the exact part that is wrong, and the evidence."""
        return self.exercise.check(diagnosis)

    def stop(self) -> None:
        self.lab.stop()

    def __enter__(self) -> BrokenLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<BrokenLab seed {self.seed}: {len(self.faults)} fault(s), {self.lab!r}>"


def broken_lab(seed: int, *, faults: int = 1, kinds: Iterable[str] | None = None,
               url: str | None = None, **lab_options: Any) -> BrokenLab:
    """A running lab with ``faults`` faults drawn by ``seed`` (from ``kinds`` only, if
    given), on the embedded broker or ``url`` ($COURSE_TRANSPORT_URL)."""
    chosen = plan(seed, faults, kinds)
    lab = Lab(url, **lab_options)
    try:
        notifications = "unversioned" if any(KINDS[f.kind].notifications
                                              for f in chosen) else False
        absent = {KINDS[f.kind].absent(f) for f in chosen}
        computes = [host for host in COMPUTES if host not in absent]
        cloud = lab.nova(computes, timings=TIMINGS, notifications=notifications,
                         progress=lambda done, total: None)
        vms = {}
        for number in range(1, len(computes) + 1):  # one each: the scheduler spreads them
            vm = cloud.boot(f"vm{number}")
            vm.wait()
            vms[vm.host] = vm
        scene = Scene(lab, cloud, vms)
        for fault in chosen:
            KINDS[fault.kind].inject(scene, fault)
        for fault in chosen:
            if not lab.wait_until(lambda f=fault: KINDS[f.kind].visible(scene, f), SETTLE):
                raise FaultNotVisible(_("The fault {kind} did not show within {seconds} s.",
                                        kind=fault.kind, seconds=SETTLE))
    except BaseException:
        lab.stop()
        raise
    return BrokenLab(seed, chosen, scene)
