"""Lessons: each notebook executed in a fresh kernel through nbclient, timed.

The same runner serves the notebook tests: run a lesson as it is (exercises left
unanswered), run it twice in one kernel (what "Run All" after a first run does), or run
it with every starter cell replaced by its exercise's solution and expect every check
Correct.  It reports seconds per notebook, and for lesson 01 the seconds from asking
for a kernel to the first diagram on screen: what a learner waits for.
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .report import target

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
STARTER = "starter-"  # tag of a starter cell: starter-q1
ALL_CORRECT = "assert ex.lesson.all_correct(), str(ex.progress())"
FIRST_DIAGRAM_LESSON = "01-why-a-message-bus.ipynb"
#: Issue targets: 5 s a notebook on average (the issues' 6 notebooks in 30 s, 14 in 70 s,
#: 22 in 120 s), and lesson 01's first diagram.
SECONDS_PER_NOTEBOOK = 5.0
FIRST_DIAGRAM_TARGET = 3.0


@dataclass
class Run:
    """One notebook executed: how long, and when the first SVG appeared."""

    path: Path
    seconds: float = 0.0
    first_svg: float | None = None  # seconds from asking for a kernel
    outputs: list = field(default_factory=list)


def lessons(language: str = "en") -> list[Path]:
    return sorted((NOTEBOOKS / language).glob("[0-9][0-9]-*.ipynb"))


def exercise_module(nb: nbformat.NotebookNode) -> str | None:
    """``course.exercises.lessonNN``, from the lesson's ``import ... as ex`` line."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.ImportFrom) and node.module == "course.exercises"
                    and any(alias.asname == "ex" for alias in node.names)):
                name = next(a.name for a in node.names if a.asname == "ex")
                return f"course.exercises.{name}"
    return None


def with_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with each ``starter-qN`` cell solved, and a last cell asserting that
    every check said Correct."""
    module = exercise_module(nb)
    if module is None:
        raise ValueError("this notebook imports no course.exercises module as ex")
    exercises = importlib.import_module(module)
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        for tag in cell.get("metadata", {}).get("tags", []):
            if tag.startswith(STARTER):
                cell.source = getattr(exercises, tag[len(STARTER):]).solution_code
    nb.cells.append(nbformat.v4.new_code_cell(ALL_CORRECT))
    return nb


def execute(path: Path, *, solutions: bool = False, runs: int = 1,
            timeout: float = 120, quiet: bool = False, env: dict[str, str] | None = None) -> Run:
    """Run every cell of ``path`` ``runs`` times in one fresh kernel; a cell error raises
    nbclient's ``CellExecutionError`` (cells tagged ``raises-exception`` may raise).
    ``quiet``: the kernel's own stderr (ipykernel's start-up warnings) is not shown.
    ``env``: variables added to the kernel's environment (``COURSE_TRANSPORT_URL``...)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if solutions:
        nb = with_solutions(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    run = Run(path)
    start = time.perf_counter()
    kernel: dict = {"stderr": subprocess.DEVNULL} if quiet else {}
    if env:
        kernel["env"] = {**os.environ, **env}
    with client.setup_kernel(**kernel):
        for _ in range(runs):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
                if run.first_svg is None and any(
                        "image/svg+xml" in output.get("data", {})
                        for output in cell.get("outputs", [])):
                    run.first_svg = time.perf_counter() - start
    run.seconds = time.perf_counter() - start
    run.outputs = [cell.get("outputs", []) for cell in nb.cells]
    return run


def run(url: str | None = None) -> dict:
    """Every lesson of both languages, each in a fresh kernel (the embedded broker)."""
    rows = []
    first_svg = None
    for language in ("en", "fr"):
        for path in lessons(language):
            done = execute(path, quiet=True)
            rows.append({"notebook": f"{language}/{path.name}",
                         "seconds": round(done.seconds, 2)})
            if language == "en" and path.name == FIRST_DIAGRAM_LESSON:
                first_svg = done.first_svg
    total = sum(row["seconds"] for row in rows)
    limit = SECONDS_PER_NOTEBOOK * len(rows)
    targets = [target(f"the {len(rows)} notebooks under {limit:.0f} s together",
                      rows and total < limit, f"{total:.1f} s")]
    targets.append(target(f"lesson 01's first diagram within {FIRST_DIAGRAM_TARGET:.0f} s "
                          "of kernel start", first_svg is not None
                          and first_svg < FIRST_DIAGRAM_TARGET,
                          f"{first_svg:.2f} s" if first_svg is not None else "no diagram"))
    return {"rows": rows, "total_seconds": round(total, 2),
            "first_diagram_seconds": None if first_svg is None else round(first_svg, 2),
            "targets": targets}


def table(section: dict) -> list[str]:
    lines = ["Lessons (nbclient, a fresh kernel each, embedded broker)"]
    lines += [f"  {row['notebook']:<40} {row['seconds']:6.2f} s" for row in section["rows"]]
    lines.append(f"  {'total':<40} {section['total_seconds']:6.2f} s")
    return lines
