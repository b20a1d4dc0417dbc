"""How every benchmark section states a target: what, met or not, the measured value."""

from __future__ import annotations


def target(what: str, met: bool, value: str) -> dict:
    return {"target": what, "met": bool(met), "value": value}


def target_lines(targets: list[dict]) -> list[str]:
    return [f"[{'met' if t['met'] else 'MISSED':>6}] {t['target']}: {t['value']}"
            for t in targets]
