"""Every lesson runs in other ways than nbval's one pass (nbval runs them too, from
pyproject's testpaths): twice in one kernel, and with its solutions filled in, where
every check must say Correct."""

from __future__ import annotations

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from course.bench.lessons import ALL_CORRECT, execute, lessons, with_solutions

ENGLISH = lessons("en")
BOTH = ENGLISH + lessons("fr")


def ids(paths):
    return [f"{p.parent.name}/{p.stem}" for p in paths]


def test_there_are_lessons():
    assert [p.name for p in ENGLISH][:1] == ["00-welcome.ipynb"]


@pytest.mark.parametrize("path", ENGLISH, ids=ids(ENGLISH))
def test_runs_twice_in_one_kernel(path):
    """Run All, then Run All again: a second lab replaces the first, checks still run."""
    execute(path, runs=2)


@pytest.mark.parametrize("path", BOTH, ids=ids(BOTH))
def test_every_check_says_correct_with_the_solutions(path):
    execute(path, solutions=True)  # its last cell asserts that every check said Correct


def test_a_wrong_solution_fails_the_solutions_run(tmp_path):
    """The solutions run can fail: here one exercise is never checked."""
    nb = nbformat.read(ENGLISH[0], as_version=4)
    nb.cells = [c for c in nb.cells if c.source != "ex.q2.check(casts)"]
    assert with_solutions(nb).cells[-1].source == ALL_CORRECT
    path = tmp_path / ENGLISH[0].name
    nbformat.write(nb, path)
    with pytest.raises(CellExecutionError, match="AssertionError"):
        execute(path, solutions=True)
