"""Every lesson runs in other ways than nbval's one pass (nbval runs them too, from
pyproject's testpaths): twice in one kernel, and with its solutions filled in, where
every check must say Correct.  These runs are a laptop without RabbitMQ, the course's first
audience: the kernel finds no ``rabbitmq-server`` (``$COURSE_RABBITMQ_DIRS`` empty), so
lesson 08's cluster lab says why it is skipped.  nbval runs the lessons where RabbitMQ is
installed, and ``tests/test_lessonNN_rabbitmq.py`` on a private node."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from course.bench.lessons import ALL_CORRECT, execute, lessons, with_solutions
from course.rabbitmq import DIRS_ENV_VAR, INSTALL_HINT

ENGLISH = lessons("en")
BOTH = ENGLISH + lessons("fr")


def ids(paths):
    return [f"{p.parent.name}/{p.stem}" for p in paths]


def test_there_are_lessons():
    assert [p.name for p in ENGLISH][:1] == ["00-welcome.ipynb"]


#: The kernel's environment: no RabbitMQ to be found.
WITHOUT_RABBITMQ = {DIRS_ENV_VAR: ""}
#: Lessons with a part that needs RabbitMQ, skipped here with a line naming its install.
NEEDS_RABBITMQ = ("08-failure-labs",)

#: What an unanswered check prints, in each language (its starter still holds ``...``).
NOT_ATTEMPTED = {"en": "Not attempted", "fr": "Non tenté"}


def printed(outputs: list) -> str:
    return "\n".join(str(o.get("data", {}).get("text/plain", o.get("text", "")))
                     for cell in outputs for o in cell)


@pytest.mark.parametrize("path", BOTH, ids=ids(BOTH))
def test_runs_twice_in_one_kernel_in_its_language(path):
    """Run All, then Run All again: a second lab replaces the first, checks still run, and
    the helpers speak the notebook's language."""
    text = printed(execute(path, runs=2, env=WITHOUT_RABBITMQ).outputs)
    language = path.parent.name
    assert NOT_ATTEMPTED[language] in text
    assert (INSTALL_HINT in text) == (path.stem in NEEDS_RABBITMQ)
    assert all(label not in text for lang, label in NOT_ATTEMPTED.items() if lang != language)


@pytest.mark.parametrize("path", BOTH, ids=ids(BOTH))
def test_every_check_says_correct_with_the_solutions(path):
    # its last cell asserts that every check said Correct (a skipped part's: Not attempted)
    execute(path, solutions=True, env=WITHOUT_RABBITMQ)


def test_a_wrong_solution_fails_the_solutions_run(tmp_path):
    """The solutions run can fail: here one exercise is never checked."""
    nb = nbformat.read(ENGLISH[0], as_version=4)
    nb.cells = [c for c in nb.cells if c.source != "ex.q2.check(casts)"]
    assert with_solutions(nb).cells[-1].source == ALL_CORRECT
    path = tmp_path / ENGLISH[0].name
    nbformat.write(nb, path)
    with pytest.raises(CellExecutionError, match="AssertionError"):
        execute(path, solutions=True)


def relative_links(markdown: str) -> list[str]:
    """The targets of the Markdown links of a text that point inside the repository."""
    from markdown_it import MarkdownIt

    found = []
    stack = list(MarkdownIt("commonmark").enable("table").parse(markdown))
    while stack:
        token = stack.pop()
        stack.extend(token.children or [])
        href = token.attrGet("href") if token.type == "link_open" else None
        if href and "://" not in href and not href.startswith(("#", "mailto:")):
            found.append(str(href).split("#")[0])
    return found


def documents() -> list[tuple[Path, str]]:
    root = Path(__file__).resolve().parent.parent
    docs = [(root / "README.md", (root / "README.md").read_text(encoding="utf-8"))]
    for path in sorted((root / "notebooks").rglob("*")):
        if path.suffix == ".md":
            docs.append((path, path.read_text(encoding="utf-8")))
        elif path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            docs.append((path, "\n\n".join(c.source for c in nb.cells
                                           if c.cell_type == "markdown")))
    return docs


def test_every_link_between_lessons_leads_somewhere():
    broken = [f"{path.name}: {href}" for path, text in documents()
              for href in relative_links(text) if not (path.parent / href).exists()]
    assert broken == []


def test_the_link_check_sees_a_broken_link():
    assert relative_links("[next](03-missing.ipynb) · [site](https://x.org)") == [
        "03-missing.ipynb"]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_lesson_is_in_the_contents_and_the_readme(language):
    """Each lesson of a language is linked from that language's contents and from its
    section of the repository's README (the English table, then the French one)."""
    root = Path(__file__).resolve().parent.parent
    contents = relative_links((root / "notebooks" / language / "README.md").read_text("utf-8"))
    readme = relative_links((root / "README.md").read_text(encoding="utf-8"))
    for path in lessons(language):
        assert path.name in contents, f"notebooks/{language}/README.md lacks {path.name}"
        assert f"notebooks/{language}/{path.name}" in readme, f"README.md lacks {path.name}"
