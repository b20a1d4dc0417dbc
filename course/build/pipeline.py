"""The whole build, first computed in memory (a :class:`Plan`), then written or compared.

``python -m course.build`` writes the plan; ``--check`` and the tests compare it with
what is stored, so "stale" means exactly "the build would write something else".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from nbformat import NotebookNode

from . import catalog, render, source
from .problems import BuildError, Problem

SOURCE_LANGUAGE = "en"
SUFFIXES = (".ipynb", ".md")


@dataclass(frozen=True)
class Project:
    """Where things are: ``notebooks/en`` (the source), ``notebooks/<lang>`` (built),
    ``locales/<lang>/LC_MESSAGES/notebooks.po`` (one catalog per language)."""

    root: Path

    @property
    def english(self) -> Path:
        return self.root / "notebooks" / SOURCE_LANGUAGE

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def sources(self) -> list[Path]:
        """The English notebooks and Markdown files, by name."""
        if not self.english.is_dir():
            return []
        return sorted(p for p in self.english.iterdir() if p.is_file() and p.suffix in SUFFIXES)

    def catalog(self, lang: str) -> Path:
        return self.root / "locales" / lang / "LC_MESSAGES" / "notebooks.po"

    def languages(self) -> list[str]:
        """Every language with a lessons' catalog."""
        locales = self.root / "locales"
        found = locales.iterdir() if locales.is_dir() else []
        return sorted(d.name for d in found if self.catalog(d.name).is_file())

    def built_languages(self) -> list[str]:
        """Every folder of built notebooks (``notebooks/<lang>`` but ``en``)."""
        notebooks = self.root / "notebooks"
        found = notebooks.iterdir() if notebooks.is_dir() else []
        return sorted(d.name for d in found if d.is_dir() and d.name != SOURCE_LANGUAGE
                      and not d.name.startswith((".", "_")))

    def built(self, lang: str) -> Path:
        return self.root / "notebooks" / lang


@dataclass
class Source:
    """An English source, read: its notebook (or Markdown text) and its messages."""

    path: Path
    name: str  # relative to the project
    messages: list[source.Message]
    notebook: NotebookNode | None = None
    text: str | None = None


@dataclass
class Plan:
    """Everything the build would write, and what it could not do."""

    project: Project
    sources: list[Source] = field(default_factory=list)
    template: Catalog | None = None  # every message of every source
    catalogs: dict[Path, str] = field(default_factory=dict)  # merged PO text
    outputs: dict[Path, str] = field(default_factory=dict)  # built notebooks and Markdown
    reports: dict[Path, render.Report] = field(default_factory=dict)
    orphans: list[Path] = field(default_factory=list)  # built files with no English source
    errors: list[str] = field(default_factory=list)  # files that cannot be built
    warnings: list[str] = field(default_factory=list)  # cells whose comments stay English


def read_sources(project: Project) -> tuple[list[Source], list[str], list[str]]:
    """Every English source read; an error for each one that cannot be, and a warning
    for each code cell whose comments cannot be read."""
    found, errors, warnings = [], [], []
    for path in project.sources():
        name = project.rel(path)
        try:
            if path.suffix == ".ipynb":
                notebook = source.read_notebook(path, name)
                messages, cells = source.notebook_messages(notebook, source.lesson(path), name)
                found.append(Source(path, name, messages, notebook=notebook))
                warnings += cells
            else:
                text = source.read_text(path, name)
                messages = source.markdown_messages(text, source.lesson(path))[0]
                found.append(Source(path, name, messages, text=text))
        except BuildError as error:
            errors.append(str(error))
    return found, errors, warnings


def plan(project: Project) -> Plan:
    """What the build would write.  A source that cannot be read stops everything (its
    translations would otherwise be dropped from the catalogs as obsolete); gettext
    missing or a malformed catalog raise :class:`BuildError`."""
    result = Plan(project)
    result.sources, result.errors, result.warnings = read_sources(project)
    if result.errors:
        return result
    _find_orphans(result)
    if not result.sources:
        return result
    result.template = _template(result.sources)
    pot_text = catalog.po_text(result.template)
    for lang in project.languages():
        po = project.catalog(lang)
        merged = catalog.merge(project.root, project.rel(po), pot_text)
        result.catalogs[po] = merged
        translations = catalog.parse(merged, project.rel(po))
        for src in result.sources:
            _render(result, src, lang, translations)
    result.errors = list(dict.fromkeys(result.errors))
    return result


def _find_orphans(result: Plan) -> None:
    """Built files whose English source is gone, and built folders with no catalog."""
    project = result.project
    english = {p.name for p in project.sources()}
    for lang in project.built_languages():
        if lang not in project.languages():
            result.errors.append(f"{project.rel(project.built(lang))}: built notebooks but no "
                                 f"catalog {project.rel(project.catalog(lang))} "
                                 f"(python -m course.build --init {lang})")
            continue
        result.orphans += [p for p in sorted(project.built(lang).iterdir())
                           if p.suffix in SUFFIXES and p.name not in english]


def _render(result: Plan, src: Source, lang: str, translations: catalog.Translations) -> None:
    target = result.project.built(lang) / src.path.name
    report = render.Report()
    lesson = source.lesson(src.path)
    try:
        if src.notebook is not None:
            built = render.notebook(src.notebook, lesson, lang, translations, src.name, report)
            result.outputs[target] = render.notebook_text(built)
        else:
            result.outputs[target] = render.markdown(src.text or "", lesson, translations, report)
    except BuildError as error:
        result.errors.append(str(error))
        return
    result.reports[target] = report  # its warnings are the sources' own, told already


def _current(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def stale(result: Plan) -> list[Problem]:
    """What is stored differs from what the build would write."""
    rel = result.project.rel
    found = [Problem.parse(e) for e in result.errors]
    for po, text in result.catalogs.items():
        old = _current(po)
        if old is None or not catalog.same_catalog(old, text):
            found.append(Problem(rel(po), "out of date with notebooks/en: run make notebooks"))
    for path, text in result.outputs.items():
        old = _current(path)
        if old != text:
            what = "missing" if old is None else "stale: the build would write it differently"
            found.append(Problem(rel(path), f"{what}: run make notebooks",
                                 source.lesson(path)))
    found += [Problem(rel(p), f"built file with no English source notebooks/en/{p.name}",
                      source.lesson(p)) for p in result.orphans]
    found += [Problem.parse(w) for w in result.warnings]
    return found


def write(result: Plan) -> list[str]:
    """Write the plan: the catalogs, then the built files (only those that change), and
    remove built files whose English source is gone.  Returns what it did, one line each."""
    done, rel = [], result.project.rel
    for po, text in result.catalogs.items():
        old = _current(po)
        if old is None or not catalog.same_catalog(old, text):
            po.write_text(text, encoding="utf-8", newline="\n")
            done.append(f"updated {rel(po)}")
    for path, text in result.outputs.items():
        verb = "unchanged"
        if _current(path) != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            verb = "wrote"
        done.append(f"{verb} {rel(path)} ({result.reports[path]})")
    for path in result.orphans:
        path.unlink()
        done.append(f"removed {rel(path)} (its English source is gone)")
    return done


def init(project: Project, lang: str) -> Path:
    """Create ``locales/<lang>/LC_MESSAGES/notebooks.po`` for a new language, holding
    every message of the English sources, untranslated."""
    po = project.catalog(lang)
    if po.exists():
        raise BuildError(f"{project.rel(po)} already exists: make notebooks updates it")
    sources, errors, _warnings = read_sources(project)
    if errors:
        raise BuildError(errors[0])
    pot = _template(sources)
    text = catalog.new_catalog(lang, pot)
    catalog.tool("msgmerge")  # said before anything is written
    po.parent.mkdir(parents=True, exist_ok=True)
    po.write_text(text, encoding="utf-8", newline="\n")
    # Once through msgmerge, so the file is already in the form every build writes.
    merged = catalog.merge(project.root, project.rel(po), catalog.po_text(pot))
    po.write_text(merged, encoding="utf-8", newline="\n")
    return po


def _template(sources: list[Source]) -> Catalog:
    return catalog.template([(s.name, m) for s in sources for m in s.messages])
