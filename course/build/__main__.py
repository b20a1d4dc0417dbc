"""``python -m course.build``: update the lessons' catalogs, then build every language.

``--check`` changes nothing and exits 1 listing what is stale or untranslated;
``--init LANG`` starts a new language's catalog for translators.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import checks, pipeline
from .problems import BuildError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.build",
        description="Build notebooks/<lang>/ from notebooks/en/ and the catalogs "
                    "locales/<lang>/LC_MESSAGES/notebooks.po (updated first with msgmerge).")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true",
                       help="change nothing; exit 1 listing what is stale or untranslated")
    group.add_argument("--init", metavar="LANG",
                       help="create the catalog of a new language (e.g. de) for translators")
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the project folder (default: the current one)")
    args = parser.parse_args(argv)
    project = pipeline.Project(args.root.resolve())
    if not project.root.is_dir():
        print(f"error: {args.root}: no such folder", file=sys.stderr)
        return 1
    try:
        if args.check:
            return check(project)
        if args.init:
            return init(project, args.init)
        return build(project)
    except (BuildError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def build(project: pipeline.Project) -> int:
    """Write what the plan says; 1 when a source could not be built."""
    result = pipeline.plan(project)
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    if result.errors and not result.outputs:
        print("nothing written: fix the files above first", file=sys.stderr)
        return 1
    if not result.sources and not result.orphans:
        print(f"{project.rel(project.english)} holds no lesson yet: nothing to build")
        return 1 if result.errors else 0
    if result.sources and not project.languages():
        print("no lessons' catalog (locales/<lang>/LC_MESSAGES/notebooks.po): nothing to "
              "build; start one with python -m course.build --init fr")
    for line in pipeline.write(result):
        print(line)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 1 if result.errors else 0


def check(project: pipeline.Project) -> int:
    """Print every problem, one a line; 1 when there is any."""
    found = checks.problems(project.root)
    for problem in found:
        print(problem)
    if found:
        print(f"{len(found)} problem{'s' * (len(found) > 1)}: "
              "make notebooks fixes what is stale; translators fix the rest")
        return 1
    print("the built notebooks and their catalogs are up to date")
    return 0


def init(project: pipeline.Project, lang: str) -> int:
    po = pipeline.init(project, lang)
    print(f"created {project.rel(po)}: translate it with Poedit or any PO editor, "
          "then run make notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
