"""The gates on translated lessons, each a function from a project folder to problems.

The tests, ``python -m course.build --check`` (and a future ``python -m course doctor``)
call the same functions, so "the tests fail" and "the check fails" always agree.  Every
function returns a list of :class:`Problem` (empty: all is well) and never raises.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from course.i18n import LANGUAGES

from . import blocks, catalog, comments, pipeline, source
from .pipeline import Project
from .problems import BuildError, Problem

#: English function words: any of them in a translated block means English was left there.
#: None is a French word ("a", "on", "est", "en", "pour", "de" are left out on purpose).
ENGLISH_WORDS = frozenset(
    "the and you your is are with this that which when what of to from it be will not for "
    "by there their has have".split())
#: Words of a language spelled like one of those (French "To", a terabyte; German "will").
HOMOGRAPHS = {"fr": frozenset({"To"}), "de": frozenset({"will", "Will"})}
#: A word holding one of these is an identifier or a path (``nova-compute``, ``a.b``).
IDENTIFIER_MARKS = frozenset("_./=@:-\\<>{}[]()|#*`~")
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»“”‘’…—–\u00a0\u202f"


def _plan(root: Path) -> tuple[pipeline.Plan | None, list[Problem]]:
    try:
        return pipeline.plan(Project(root)), []
    except BuildError as error:
        return None, [Problem("", str(error))]


def stale(root: Path, result: pipeline.Plan | None = None) -> list[Problem]:
    """Built files that differ from what the build would write (or have no English
    source), catalogs msgmerge would change, sources that cannot be built."""
    if result is None:
        result, found = _plan(root)
        if result is None:
            return found
    return pipeline.stale(result)


def catalog_entries(root: Path) -> list[Problem]:
    """For each lessons' catalog: messages missing from it, obsolete entries, and
    untranslated or fuzzy entries (counted per lesson, the first one quoted)."""
    project = Project(root)
    sources, errors, _warnings = pipeline.read_sources(project)
    if errors:
        return [Problem.parse(e) for e in errors]
    wanted = {(m.lesson, m.text): None for s in sources for m in s.messages}
    found = [Problem(project.rel(project.catalog(lang)),
                     f"missing (the course speaks {lang}): python -m course.build --init {lang}")
             for lang in _course_languages() if sources and lang not in project.languages()]
    for lang in project.languages():
        po = project.rel(project.catalog(lang))
        try:
            translations = catalog.parse(source.read_text(project.catalog(lang), po), po)
        except BuildError as error:
            found.append(Problem.parse(str(error)))
            continue
        have = translations.entries()
        groups = {
            "missing from the catalog (run make notebooks)": [k for k in wanted if k not in have],
            "obsolete (run make notebooks)": sorted(translations.obsolete
                                                    | {k for k in have if k not in wanted}),
            "untranslated": [k for k in wanted if k in translations.untranslated],
            "fuzzy (check the translation, then remove the fuzzy flag)":
                [k for k in wanted if k in translations.fuzzy],
        }
        for what, entries in groups.items():
            for lesson, first, count in _by_lesson(entries):
                found.append(Problem(po, f"{lesson}: {count} {what}, first: {_quote(first)}",
                                     lesson))
    return found


def _course_languages() -> tuple[str, ...]:
    """The languages the course speaks (course.i18n), English being the source."""
    return tuple(lang for lang in LANGUAGES if lang != pipeline.SOURCE_LANGUAGE)


def _by_lesson(entries: list[catalog.Key]) -> list[tuple[str, str, int]]:
    groups: dict[str, list[str]] = {}
    for lesson, text in entries:
        groups.setdefault(lesson, []).append(text)
    return [(lesson, texts[0], len(texts)) for lesson, texts in groups.items()]


def _quote(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return f"“{line[:width]}…”" if len(line) > width else f"“{line}”"


def msgfmt_rejects(root: Path) -> list[Problem]:
    """Every catalog in ``locales/`` (the lessons' and the helpers') that GNU
    ``msgfmt --check`` rejects, with its first complaint."""
    try:
        msgfmt = catalog.tool("msgfmt")
    except BuildError as error:
        return [Problem("", str(error))]
    found = []
    for po in sorted((root / "locales").rglob("*.po")):
        name = po.relative_to(root).as_posix()
        result = subprocess.run([msgfmt, "--check", "-o", os.devnull, name], cwd=root,
                                capture_output=True, text=True)
        if result.returncode != 0:
            why = catalog.complaint(name, result.stderr, msgfmt)
            found.append(Problem(name, f"msgfmt --check: {why}"))
    return found


def _notebooks(root: Path) -> list[Path]:
    folder = root / "notebooks"
    return sorted(p for p in folder.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts) if folder.is_dir() else []


def stored_outputs(root: Path) -> list[Problem]:
    """Notebooks (English and built) stored with outputs or execution counts: the
    repository keeps lessons clean, learners run them."""
    found = []
    for path in _notebooks(root):
        name = path.relative_to(root).as_posix()
        try:
            notebook = source.read_notebook(path, name)
        except BuildError as error:
            found.append(Problem.parse(str(error)))
            continue
        dirty = [n for n, cell in enumerate(notebook.cells, start=1) if cell.cell_type == "code"
                 and (cell.get("outputs") or cell.get("execution_count") is not None)]
        if dirty:
            found.append(Problem(name, f"cells {', '.join(map(str, dirty))} stored with outputs "
                                       "or execution counts: jupyter nbconvert --clear-output "
                                       f"--inplace {name}", source.lesson(path)))
    return found


def english_left(root: Path) -> list[Problem]:
    """Translated blocks and comments of built files that still hold English function
    words (code, URLs, link targets and italic terms do not count)."""
    project = Project(root)
    found = []
    for lang in project.built_languages():
        for path in sorted(project.built(lang).iterdir()):
            name = project.rel(path)
            try:
                texts = _prose(path, name)
            except BuildError as error:
                found.append(Problem.parse(str(error)))
                continue
            for where, text in texts:
                words = sorted(set(english_words(text, lang)))
                if words:
                    found.append(Problem(name, f"{where}: still English ({', '.join(words)}): "
                                               f"{_quote(text)}", source.lesson(path)))
    return found


def _prose(path: Path, name: str) -> list[tuple[str, str]]:
    """(where, text) of each translatable block and comment of a built file."""
    if path.suffix == ".md":
        text = source.read_text(path, name)
        return [(f"line {s.line + 1}", s.text) for s in blocks.translatable(text)]
    if path.suffix != ".ipynb":
        return []
    found = []
    for number, cell in enumerate(source.read_notebook(path, name).cells, start=1):
        if cell.cell_type == "markdown":
            found += [(f"cell {number}", s.text) for s in blocks.translatable(cell.source)]
        elif cell.cell_type == "code":
            try:
                found += [(f"cell {number}, comment", c.text) for c in comments.find(cell.source)]
            except BuildError:
                continue  # reported by the build, which cannot translate them either
    return found


def english_words(markdown: str, lang: str) -> list[str]:
    """The English function words of a Markdown block in ``lang``, as written, after
    leaving out code spans and blocks, URLs, link targets, HTML tags, italic terms
    (``*call*``) and the words ``lang`` spells the same way."""
    homographs = HOMOGRAPHS.get(lang, frozenset())
    return [w for w in _words(" ".join(_visible(markdown)))
            if w.lower() in ENGLISH_WORDS and w not in homographs]


def _visible(markdown: str) -> list[str]:
    texts = []
    for token in blocks.parser().parse(markdown):
        if token.type == "inline":
            texts += _inline(token.children or [])
        elif token.type == "html_block":
            texts.append(blocks.visible_html_text(token.content))
    return texts


def _inline(children) -> list[str]:
    texts, italic, autolink = [], 0, False
    for child in children:
        if child.type == "em_open":
            italic += 1
        elif child.type == "em_close":
            italic -= 1
        elif child.type == "link_open":
            autolink = child.markup == "autolink"
        elif child.type == "link_close":
            autolink = False
        elif child.type == "image":
            texts += _inline(child.children or [])
        elif child.type == "text" and not italic and not autolink:
            texts.append(child.content)
    return texts


def _words(text: str) -> list[str]:
    found = []
    for chunk in text.split():
        chunk = chunk.strip(PUNCTUATION)
        if (not chunk or "://" in chunk or any(c in IDENTIFIER_MARKS for c in chunk)
                or any(c.isdigit() for c in chunk)):
            continue
        found += [part for part in chunk.replace("’", "'").split("'") if part]
    return found


def problems(root: Path, lesson: str | None = None) -> list[Problem]:
    """Every gate at once, without repeats; with ``lesson``, only the problems of that
    lesson and those of no lesson in particular (a broken catalog concerns them all)."""
    result, found = _plan(root)
    if result is not None:
        found += stale(root, result)
    found += catalog_entries(root) + msgfmt_rejects(root) + stored_outputs(root)
    found += english_left(root)
    unique = list(dict.fromkeys(found))
    return [p for p in unique if lesson is None or p.lesson in (lesson, None)]
