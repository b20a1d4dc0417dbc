"""The notebook translation pipeline (course/build): splitting, extraction, catalogs,
rendering and the command line on small notebooks made here; then the gates, on the
repository's own notebooks/ and locales/, each shown to fail on a broken copy."""

from __future__ import annotations

import ast
import io
import os
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import nbformat
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po
from helpers import require
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from notebook_checks import ROOT, assert_lesson_translated, require_gettext

from course.build import blocks, catalog, checks, comments, language, pipeline, render, source
from course.build.__main__ import main
from course.build.extract import extract_ipynb, extract_markdown
from course.build.problems import BuildError

LESSON = "01-why-a-message-bus"
INTRO = ("In this lesson you will see why the services talk through a broker.\n"
         "It takes 20 minutes.")
QUEUE = "Two computes read the same queue: each message goes to one of them."
BOX = "> **Real OpenStack**: the conductor calls the scheduler (`nova/conductor/manager.py`)."
FENCE = "```python\n# this is code, not a heading\nlab.topology()\n```"
FIRST_CODE = 'import course\ncourse.notebook_language("en")  # the language of the helpers\n'
CODE = 'greeting = "# not a comment"  # a trailing comment\n# a full-line comment\nprint(greeting)'
TABLE = "| exchange | type |\n|---|---|\n| `nova` | topic |"
README = "# Lessons\n\n1. [Why a message bus](01-why-a-message-bus.ipynb)\n"
NBSP, NNBSP = "\u00a0", "\u202f"
FRENCH = {
    "# Why a message bus": "# Pourquoi un bus de messages",
    INTRO: "Dans cette leçon, vous verrez pourquoi les services passent par un courtier.\n"
           "Comptez 20 minutes.",
    "the language of the helpers": "la langue des messages du cours",
    "## Competing consumers": "## Consommateurs concurrents",
    QUEUE: f"Deux nœuds de calcul lisent la même file d’attente (*queue*){NBSP}: chaque "
           "message va à l’un d’eux.",
    "- `compute1` takes one message\n- `compute2` takes the next":
        "- `compute1` prend un message\n- `compute2` prend le suivant",
    BOX: f"> **OpenStack en vrai**{NBSP}: le conducteur appelle l’ordonnanceur "
         "(`nova/conductor/manager.py`).",
    "a trailing comment": "un commentaire en fin de ligne",
    "a full-line comment": "un commentaire sur toute la ligne",
    "## AMQP": "## AMQP",  # the same in French: allowed, it holds no English word
    TABLE: TABLE,
    "# Lessons": "# Leçons",
    "1. [Why a message bus](01-why-a-message-bus.ipynb)":
        "1. [Pourquoi un bus de messages](01-why-a-message-bus.ipynb)",
}


def sample() -> nbformat.NotebookNode:
    """A small lesson with every kind of block, comments, metadata and an attachment."""
    queue = new_markdown_cell(f"## Competing consumers\n\n{QUEUE}  \n\n"
                              "- `compute1` takes one message\n- `compute2` takes the next\n\n"
                              f"{BOX}\n\n{FENCE}",
                              attachments={"a.png": {"image/png": "iVBORw0KGgo="}})
    first = new_code_cell(FIRST_CODE + "lab = course.Lab()", metadata={"tags": ["setup"]},
                          execution_count=3, outputs=[new_output("stream", text="embedded\n")])
    cells = [new_markdown_cell(f"# Why a message bus\n\n{INTRO}"), first, queue,
             new_code_cell(CODE), new_markdown_cell("## AMQP\n\n" + TABLE)]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    return notebook


def save(notebook: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def english(root: Path) -> Path:
    return root / "notebooks" / "en" / f"{LESSON}.ipynb"


def built(root: Path, lang: str = "fr") -> Path:
    return root / "notebooks" / lang / f"{LESSON}.ipynb"


def po_path(root: Path) -> Path:
    return root / "locales" / "fr" / "LC_MESSAGES" / "notebooks.po"


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def translations(mapping: dict[str, str], fuzzy: tuple[str, ...] = ()) -> catalog.Translations:
    """A catalog of ``mapping`` read the way the build reads one (no gettext needed)."""
    po = Catalog(locale="fr")
    for msgid, msgstr in mapping.items():
        context = "README" if msgid in ("# Lessons", README.splitlines()[2]) else LESSON
        po.add(msgid, msgstr, context=context, flags=["fuzzy"] if msgid in fuzzy else [])
    return catalog.parse(catalog.po_text(po), "notebooks.po")


def run(root: Path, *args: str) -> int:
    return main(["--root", str(root), *args])


def translate(root: Path, mapping: dict[str, str]) -> None:
    """What a translator does in a PO editor: fill entries (and clear their fuzzy flag)."""
    with po_path(root).open("rb") as f:
        po = read_po(f)
    for message in po:
        if message.id in mapping:
            message.string = mapping[message.id]
            message.flags.discard("fuzzy")
    with po_path(root).open("wb") as f:
        write_po(f, po, width=76)


@pytest.fixture
def project(tmp_path) -> Path:
    """A repository with one lesson and the README, its French catalog started, not
    translated yet; the real helpers' catalogs (course.po) copied."""
    require_gettext()
    root = tmp_path / "repo"
    save(clean(sample()), english(root))
    (root / "notebooks" / "en" / "README.md").write_text(README, encoding="utf-8")
    for po in ROOT.glob("locales/*/LC_MESSAGES/course.po"):
        target = root / po.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(po, target)
    assert run(root, "--init", "fr") == 0
    return root


@pytest.fixture
def translated(project) -> Path:
    """The same, fully translated into French and built."""
    assert run(project) == 0
    translate(project, FRENCH)
    assert run(project) == 0
    return project


# Splitting ---------------------------------------------------------------------------------

EVERYTHING = ("# Title\n\nA paragraph\non two lines.  \n\n- one\n- two\n\n  - nested\n\n  more\n"
              f"- three\n\n{TABLE}\n\n> A box\nlazily continued\n>\n> - with a list\n\n"
              f"{FENCE}\n\n    indented code\n\n<details><summary>Hint</summary>\n\n"
              "<img src='x.png'>\n\n<!-- a note -->\n\n[ref]: https://example.org\n\n---\n"
              "Setext title\n===\nNo final newline")


def test_blocks_round_trip_and_kinds():
    segments = blocks.split(EVERYTHING)
    assert "".join(s.text for s in segments) == EVERYTHING
    prose = [(s.kind, s.text) for s in segments if s.translatable]
    assert prose == [
        ("heading", "# Title"), ("paragraph", "A paragraph\non two lines."),
        ("list", "- one\n- two\n\n  - nested\n\n  more\n- three"), ("table", TABLE),
        ("blockquote", "> A box\nlazily continued\n>\n> - with a list"),
        ("html", "<details><summary>Hint</summary>"), ("heading", "Setext title\n==="),
        ("paragraph", "No final newline")]
    kept = [s.kind for s in segments if not s.translatable and s.kind != "gap"]
    assert kept == ["code", "code", "html", "html", "rule"]  # the <img>, the comment


def test_a_hash_line_in_fenced_code_is_code_not_a_heading():
    segments = blocks.split(f"Before\n\n{FENCE}\n")
    assert [s.kind for s in segments if s.kind != "gap"] == ["paragraph", "code"]
    assert not any("# this is code" in s.text for s in blocks.translatable(f"x\n\n{FENCE}"))


@pytest.mark.parametrize("text", ["", "\n\n", "word", "  # Heading with spaces  \n",
                                  "# A\r\nb\r\n\r\n- c\r\n", "a\rb\r\r# c", "---\nt: x\n---\n# H",
                                  "trailing spaces   \n\n   \n", "\x00 null\n", "> q\n" * 3])
def test_blocks_round_trip_examples(text):
    assert "".join(s.text for s in blocks.split(text)) == text


MARKDOWNISH = st.lists(st.one_of(
    st.sampled_from(["# ", "## ", "- ", "  - ", "1. ", "> ", "```", "~~~", "    ", "| a |",
                     "|---|", "---", "===", "\n", "\n\n", "\r\n", "\r", " ", "  ", "\t", "<div>",
                     "</div>", "<!--", "-->", "*", "_", "`", "[a]: /u", "\\", "word", "é"]),
    st.text(max_size=8)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(MARKDOWNISH)
def test_blocks_round_trip_on_generated_text(text):
    segments = blocks.split(text)
    assert "".join(s.text for s in segments) == text
    for segment in blocks.translatable(text):
        assert segment.text == segment.text.rstrip() and segment.text.strip()
    assert blocks.replace(text, lambda s: s.text) == text


# Code comments and the language line -------------------------------------------------------

def test_a_hash_in_a_string_is_not_a_comment():
    assert [c.text for c in comments.find(CODE)] == ["a trailing comment", "a full-line comment"]


def test_comments_are_replaced_in_place_and_the_code_is_untouched():
    result = comments.replace(CODE, lambda c: c.text.upper())
    assert result == ('greeting = "# not a comment"  # A TRAILING COMMENT\n'
                      '# A FULL-LINE COMMENT\nprint(greeting)')

    def code_tokens(text):
        return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(text).readline)
                if t.type != tokenize.COMMENT]
    assert code_tokens(result) == code_tokens(CODE)
    assert comments.replace("x = 1  # two\n", lambda c: "deux\nlignes") == "x = 1  # deux lignes\n"


def test_tool_comments_and_cell_magics_are_not_messages():
    source_ = "#!/usr/bin/env python\nx = 1  # noqa: E501\n# ------\n#\ny = 2  # type: ignore\n"
    assert comments.find(source_) == []
    assert comments.find("%%bash\n# a shell comment\nls\n") == []


def test_a_cell_that_does_not_tokenize_is_named_and_the_rest_goes_on(tmp_path):
    with pytest.raises(BuildError, match="line 3: unindent"):
        comments.find("if x:\n    a = 1\n  b = 2  # lost\n")
    notebook = new_notebook(cells=[new_code_cell("if x:\n    a\n  b  # lost"), new_code_cell(CODE)])
    messages, warnings = source.notebook_messages(notebook, LESSON, "lesson.ipynb")
    assert [m.text for m in messages] == ["a trailing comment", "a full-line comment"]
    assert warnings == ["lesson.ipynb: cell 1: its comments cannot be read: line 3: unindent "
                        "does not match any outer indentation level"]


def test_only_the_language_call_changes():
    text = 'import course\ncourse.notebook_language("en")  # "en"\nx = "en"; print(\'en\')\n'
    assert language.set_language(text, "fr", "x.ipynb") == text.replace('("en")', '("fr")', 1)
    assert language.set_language("é = 1; course.notebook_language('en')", "de", "x") == (
        "é = 1; course.notebook_language('de')")
    with pytest.raises(BuildError, match=r"notebooks/en/x\.ipynb: its first code cell must call "
                                         r'course\.notebook_language\("en"\)'):
        language.set_language('import course\nnotebook_language("en")', "fr",
                              "notebooks/en/x.ipynb")


# Extraction ----------------------------------------------------------------------------------

def test_the_extractor_gives_contexts_places_and_cells(tmp_path):
    path = save(sample(), tmp_path / f"{LESSON}.ipynb")
    with path.open("rb") as f:
        found = list(extract(extract_ipynb, f))
    assert {message for _line, message, _comments, _context in found} == (
        set(FRENCH) - {"# Lessons", "1. [Why a message bus](01-why-a-message-bus.ipynb)"})
    assert {context for *_, context in found} == {LESSON}
    by_text = {message: (line, comments_) for line, message, comments_, _ in found}
    assert by_text[QUEUE] == (3, [f"{LESSON} › Competing consumers"])
    assert by_text["a trailing comment"] == (4, [f"{LESSON} › Competing consumers › code comment"])
    assert by_text["# Why a message bus"] == (1, [LESSON])
    readme = tmp_path / "README.md"
    readme.write_text(README, encoding="utf-8")
    with readme.open("rb") as f:
        assert [(line, m, c) for line, m, _, c in extract(extract_markdown, f)] == [
            (1, "# Lessons", "README"),
            (3, "1. [Why a message bus](01-why-a-message-bus.ipynb)", "README")]


def test_a_broken_notebook_is_reported_not_raised(tmp_path, capsys):
    path = tmp_path / "02-broken.ipynb"
    path.write_text('{"cells": [\n', encoding="utf-8")
    with path.open("rb") as f:
        assert list(extract(extract_ipynb, f)) == []
    assert "02-broken.ipynb: line 2: not valid JSON" in capsys.readouterr().err


def pybabel(root: Path, mapping: Path, extra_path: str = "") -> set[tuple[str, str]]:
    """(msgctxt, msgid) of what ``pybabel extract`` finds in ``root/notebooks/en``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), extra_path]))}
    result = subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract",
                             "-F", str(mapping), "-o", "out.pot", "notebooks/en"],
                            cwd=root, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with (root / "out.pot").open("rb") as f:
        pot = read_po(f)
    assert all(m.auto_comments for m in pot if m.id), "every entry has its place"
    return {(m.context, m.id) for m in pot if m.id}


def template_keys(root: Path) -> set[tuple[str, str]]:
    sources, errors, _ = pipeline.read_sources(pipeline.Project(root))
    assert not errors
    return {(m.lesson, m.text) for s in sources for m in s.messages}


@pytest.mark.parametrize("mapping", ["babel.cfg", "pyproject.toml"])
def test_pybabel_extract_with_the_projects_mapping(tmp_path, mapping):
    save(sample(), english(tmp_path))
    (tmp_path / "notebooks" / "en" / "README.md").write_text(README, encoding="utf-8")
    found = pybabel(tmp_path, ROOT / mapping)
    assert found == template_keys(tmp_path) and len(found) == len(FRENCH)


def test_pybabel_finds_the_entry_points_pyproject_declares(tmp_path):
    """An installed project registers its extractors as entry points; a dist-info made
    from pyproject.toml's table proves those names work, without reinstalling."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = require("tomli", "Python 3.10 reads TOML with tomli: pip install tomli")
    with (ROOT / "pyproject.toml").open("rb") as f:
        points = tomllib.load(f)["project"]["entry-points"]["babel.extractors"]
    info = tmp_path / "site" / "course_extractors-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: course-extractors\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        "[babel.extractors]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()))
    mapping = tmp_path / "entry-points.cfg"
    mapping.write_text("[ipynb: **.ipynb]\n[markdown: **.md]\n")
    save(sample(), english(tmp_path))
    (tmp_path / "notebooks" / "en" / "README.md").write_text(README, encoding="utf-8")
    assert pybabel(tmp_path, mapping, str(tmp_path / "site")) == template_keys(tmp_path)


# Rendering -----------------------------------------------------------------------------------

def without_comments(text: str) -> str:
    return comments.replace(text, lambda c: "")


def test_rendering_translates_prose_and_keeps_everything_else():
    source_ = sample()
    report = render.Report()
    result = render.notebook(source_, LESSON, "fr", translations(FRENCH),
                             f"notebooks/en/{LESSON}.ipynb", report)
    assert str(report) == "fully translated"
    for en, fr in zip(source_.cells, result.cells, strict=True):
        assert (fr.id, fr.metadata, fr.cell_type) == (en.id, en.metadata, en.cell_type)
        assert fr.get("attachments") == en.get("attachments")
        if en.cell_type == "code":
            assert without_comments(fr.source) == without_comments(en.source).replace(
                'notebook_language("en")', 'notebook_language("fr")')
            assert (fr.outputs, fr.execution_count) == ([], None)
    assert result.cells[3].source == ('greeting = "# not a comment"  # un commentaire en fin de '
                                      'ligne\n# un commentaire sur toute la ligne\nprint(greeting)')
    assert result.cells[2].source.startswith(f"## Consommateurs concurrents\n\n{FRENCH[QUEUE]}  \n")
    assert result.cells[2].source.endswith(f"\n\n{FENCE}")  # code and gaps byte for byte
    assert result.metadata["kernelspec"] == source_.metadata["kernelspec"]
    assert result.metadata["course"]["language"] == "fr"
    assert result.metadata["course"]["source"] == f"notebooks/en/{LESSON}.ipynb"
    text = render.notebook_text(result)
    assert text == nbformat.writes(result) + "\n" and text.endswith("}\n")
    again = render.notebook(source_, LESSON, "fr", translations(FRENCH),
                            f"notebooks/en/{LESSON}.ipynb")
    assert render.notebook_text(again) == text


def test_a_fuzzy_entry_counts_as_untranslated():
    report = render.Report()
    result = render.notebook(sample(), LESSON, "fr", translations(FRENCH, fuzzy=(INTRO,)),
                             "x.ipynb", report)
    assert result.cells[0].source == f"# Pourquoi un bus de messages\n\n{INTRO}"
    assert (report.fuzzy, report.untranslated) == (1, 0)
    empty = {**FRENCH, QUEUE: ""}
    report = render.Report()
    render.notebook(sample(), LESSON, "fr", translations(empty), "x.ipynb", report)
    assert (report.fuzzy, report.untranslated) == (0, 1)


def test_the_first_code_cell_must_set_the_language():
    notebook = sample()
    notebook.cells[1].source = "import course"
    with pytest.raises(BuildError, match="notebooks/en/x.ipynb: its first code cell"):
        render.notebook(notebook, LESSON, "fr", translations(FRENCH), "notebooks/en/x.ipynb")


# Catalogs: msgmerge ----------------------------------------------------------------------------

def read_catalog(root: Path):
    with po_path(root).open("rb") as f:
        return read_po(f)


def previous_ids(po_text: str) -> list[str]:
    """The old msgids msgmerge --previous wrote in ``#|`` lines (Babel does not read them)."""
    found: list[str] = []
    for line in po_text.splitlines():
        if line.startswith("#| msgid "):
            found.append("")
            line = line.removeprefix("#| msgid ")
        elif line.startswith('#| "'):
            line = line.removeprefix("#| ")
        else:
            continue
        found[-1] += ast.literal_eval(line)
    return found


def test_one_changed_word_makes_exactly_that_entry_fuzzy(translated, capsys):
    notebook = nbformat.read(english(translated), as_version=4)
    notebook.cells[2].source = notebook.cells[2].source.replace("same queue", "shared queue")
    save(notebook, english(translated))
    assert run(translated) == 0
    assert f"wrote notebooks/fr/{LESSON}.ipynb (1 fuzzy)" in capsys.readouterr().out
    po = read_catalog(translated)
    fuzzy = [m for m in po if m.id and m.fuzzy]
    assert [m.id for m in fuzzy] == [QUEUE.replace("same", "shared")]
    assert fuzzy[0].string == FRENCH[QUEUE]
    assert previous_ids(po_path(translated).read_text(encoding="utf-8")) == [QUEUE]
    assert sum(1 for m in po if m.id and m.string and not m.fuzzy) == len(FRENCH) - 1
    assert checks.msgfmt_rejects(translated) == []
    french = nbformat.read(built(translated), as_version=4)
    assert QUEUE.replace("same", "shared") in french.cells[2].source  # English, until reviewed


def test_obsolete_entries_are_dropped(translated):
    notebook = nbformat.read(english(translated), as_version=4)
    del notebook.cells[4]  # the AMQP table
    save(notebook, english(translated))
    assert run(translated) == 0
    text = po_path(translated).read_text(encoding="utf-8")
    assert "#~" not in text and "| exchange | type |" not in text
    assert checks.catalog_entries(translated) == []


def test_init_starts_a_language_for_translators(project, capsys):
    po = read_catalog(project)
    assert (str(po.locale), po.plural_forms.startswith("nplurals=")) == ("fr", True)
    assert {(m.context, m.id) for m in po if m.id} == template_keys(project)
    assert run(project, "--init", "fr") == 1
    assert "notebooks.po already exists" in capsys.readouterr().err
    assert run(project, "--init", "zz") == 1
    assert "'zz' is not a language code" in capsys.readouterr().err


def test_without_gettext_the_build_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    save(clean(sample()), english(tmp_path))
    po_path(tmp_path).parent.mkdir(parents=True)
    po_path(tmp_path).write_text(catalog.new_catalog("fr", Catalog()), encoding="utf-8")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run(tmp_path) == 1
    assert capsys.readouterr().err == "error: GNU gettext is missing: apt-get install gettext\n"


# The command line ----------------------------------------------------------------------------

def test_an_empty_project_builds_nothing_and_says_so(tmp_path, capsys):
    assert run(tmp_path) == 0
    assert capsys.readouterr().out == "notebooks/en holds no lesson yet: nothing to build\n"
    assert run(tmp_path, "--check") == 0


def test_a_catalog_started_before_any_lesson_is_valid(tmp_path):
    require_gettext()
    assert run(tmp_path, "--init", "fr") == 0
    assert '"Language: fr\\n"' in po_path(tmp_path).read_text(encoding="utf-8")
    assert checks.problems(tmp_path) == []


def test_a_broken_notebook_stops_the_build_in_one_line(translated):
    before = po_path(translated).read_bytes()
    (translated / "notebooks" / "en" / "02-broken.ipynb").write_text('{"cells": [}\n')
    result = subprocess.run([sys.executable, "-m", "course.build", "--root", str(translated)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == (
        "error: notebooks/en/02-broken.ipynb: line 1: not valid JSON: Expecting value")
    assert po_path(translated).read_bytes() == before  # its translations are not dropped


def test_a_malformed_catalog_is_named_with_its_line(translated, capsys):
    with po_path(translated).open("a", encoding="utf-8") as f:
        f.write('\nmsgid "unterminated\nmsgstr ""\n')
    assert run(translated) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: locales/fr/LC_MESSAGES/notebooks.po: msgmerge: line ")
    assert len(err.splitlines()) == 1


def test_a_lesson_without_its_language_line_fails_by_name(translated, capsys):
    notebook = nbformat.read(english(translated), as_version=4)
    notebook.cells[1].source = "import course"
    save(notebook, english(translated))
    assert run(translated) == 1
    assert f"notebooks/en/{LESSON}.ipynb: its first code cell must call" in capsys.readouterr().err


def test_the_build_counts_what_is_untranslated_per_lesson(project, capsys):
    assert run(project) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"wrote notebooks/fr/{LESSON}.ipynb (11 untranslated)",
                   "wrote notebooks/fr/README.md (2 untranslated)"]
    assert nbformat.read(built(project), as_version=4).cells[0].source.startswith("# Why")


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file()}


def test_check_changes_nothing_and_lists_what_is_stale(translated, capsys):
    assert run(translated, "--check") == 0
    (english(translated).parent / "README.md").write_text(README + "\nA new line.\n")
    before = snapshot(translated)
    capsys.readouterr()
    assert run(translated, "--check") == 1
    out = capsys.readouterr().out
    assert "locales/fr/LC_MESSAGES/notebooks.po: out of date with notebooks/en" in out
    assert "notebooks/fr/README.md: stale" in out
    assert snapshot(translated) == before


def test_the_build_removes_what_has_no_english_source(translated, capsys):
    shutil.copy(built(translated), built(translated).with_name("02-gone.ipynb"))
    assert run(translated) == 0
    assert "removed notebooks/fr/02-gone.ipynb (its English source is gone)" in (
        capsys.readouterr().out)
    assert not built(translated).with_name("02-gone.ipynb").exists()


# The gates, on the repository itself ---------------------------------------------------------

def test_built_notebooks_are_up_to_date():
    require_gettext()
    assert [str(p) for p in checks.stale(ROOT)] == []


def test_catalogs_have_no_untranslated_fuzzy_obsolete_or_missing_entry():
    assert [str(p) for p in checks.catalog_entries(ROOT)] == []


def test_msgfmt_accepts_every_catalog():
    require_gettext()
    assert [str(p) for p in checks.msgfmt_rejects(ROOT)] == []


def test_notebooks_are_stored_without_outputs():
    assert [str(p) for p in checks.stored_outputs(ROOT)] == []


def test_built_notebooks_hold_no_english_left():
    assert [str(p) for p in checks.english_left(ROOT)] == []


# ... and each gate fails on a broken copy -----------------------------------------------------

def edit_notebook(path: Path, change) -> None:
    notebook = nbformat.read(path, as_version=4)
    change(notebook)
    nbformat.write(notebook, path)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def rebuild_with(mapping):
    def breakage(root: Path) -> None:
        translate(root, mapping)
        assert run(root) == 0
    return breakage


def add_english_paragraph(root: Path) -> None:
    edit_notebook(english(root), lambda nb: nb.cells.append(new_markdown_cell("A new idea.")))


def mark_fuzzy(root: Path) -> None:
    po = read_catalog(root)
    po.get(QUEUE, context=LESSON).flags.add("fuzzy")
    with po_path(root).open("wb") as f:
        write_po(f, po, width=76)


BAD_ENTRY = '\nmsgctxt "x"\nmsgid "ends with a newline\\n"\nmsgstr "pas celle-ci"\n'
OUTPUT = new_output("stream", text="hi\n")
BREAKAGES = {
    "a hand-edited French notebook": (checks.stale, "stale: the build would write it", lambda r:
        edit_notebook(built(r), lambda nb: setattr(nb.cells[0], "source", "# Autre"))),
    "a French notebook with no English source": (checks.stale, "with no English source", lambda r:
        shutil.copy(built(r), built(r).with_name("02-gone.ipynb"))),
    "an English change not built": (checks.stale, "out of date", add_english_paragraph),
    "a message missing from the catalog": (checks.catalog_entries, "1 missing from the catalog",
                                           add_english_paragraph),
    "an untranslated entry": (checks.catalog_entries, f"{LESSON}: 1 untranslated, first: “Two",
                              lambda r: translate(r, {QUEUE: ""})),
    "a fuzzy entry": (checks.catalog_entries, f"{LESSON}: 1 fuzzy", mark_fuzzy),
    "an obsolete entry": (checks.catalog_entries, "1 obsolete", lambda r: append(
        po_path(r), f'\n#~ msgctxt "{LESSON}"\n#~ msgid "Gone."\n#~ msgstr "Parti."\n')),
    "a bad lessons' catalog": (checks.msgfmt_rejects, "notebooks.po: msgfmt --check: line",
                               lambda r: append(po_path(r), BAD_ENTRY)),
    "a bad helpers' catalog": (checks.msgfmt_rejects, "course.po: msgfmt --check: line",
                               lambda r: append(po_path(r).with_name("course.po"), BAD_ENTRY)),
    "English outputs stored": (checks.stored_outputs, f"en/{LESSON}.ipynb: cells 2 stored",
                               lambda r: edit_notebook(english(r), lambda nb: setattr(
                                   nb.cells[1], "outputs", [OUTPUT]))),
    "a French execution count stored": (checks.stored_outputs, "fr/", lambda r: edit_notebook(
        built(r), lambda nb: setattr(nb.cells[3], "execution_count", 7))),
    "an English msgstr": (checks.english_left, "cell 1: still English (It, the, this, will, you)",
                          rebuild_with({INTRO: INTRO})),
    "an English comment": (checks.english_left, "cell 4, comment: still English (of, the)",
                           rebuild_with({"a trailing comment": "the end of the line"})),
}


@pytest.mark.parametrize("name", BREAKAGES)
def test_each_gate_fails_on_a_broken_copy(translated, name):
    gate, expected, breakage = BREAKAGES[name]
    assert [str(p) for p in gate(translated)] == []
    assert_lesson_translated(LESSON, translated)
    breakage(translated)
    found = [p for p in gate(translated) if expected in str(p)]
    assert found, [str(p) for p in gate(translated)]
    with pytest.raises(AssertionError, match=expected.split(":")[0]):
        assert_lesson_translated(found[0].lesson or LESSON, translated)


def test_french_words_are_not_taken_for_english():
    french = (f"Il a lancé la VM{NNBSP}; elle est en route pour « compute1 », un disque de 2 To "
              f"on l’a vu{NNBSP}! Le *call* attend `the reply` sur "
              "[la file](https://example.org/the/queue) <https://docs.openstack.org/it>")
    assert checks.english_words(french, "fr") == []
    assert checks.english_words(french, "en") == ["To"]  # 2 To: two terabytes, in French
    assert checks.english_words("This is *not* French, and it shows.", "fr") == [
        "This", "is", "and", "it"]


def test_course_build_needs_no_runtime_module():
    """Only the standard library, Babel, markdown-it-py, nbformat (and course.i18n)."""
    allowed = set(sys.stdlib_module_names) | {"babel", "markdown_it", "nbformat", "course"}
    for path in (ROOT / "course" / "build").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                assert name.split(".")[0] in allowed, (path.name, name)
                if name.startswith("course"):
                    assert name in ("course.i18n",) or name.startswith("course.build"), name
