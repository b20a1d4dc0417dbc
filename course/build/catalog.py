"""The lessons' catalogs: a template from the English sources, merged into each language.

GNU ``msgmerge --previous`` does the merge (``pybabel update --previous`` writes invalid
PO for multi-line msgids): a changed block becomes fuzzy with its old text in ``#|``
lines, which is what a translator needs to see what changed.  Obsolete entries are
dropped, so a catalog holds only what the lessons say today.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po, write_po

from .problems import BuildError
from .source import Message

GETTEXT_MISSING = "GNU gettext is missing: apt-get install gettext"
PROJECT = "openstack-messaging-course"
#: The one header line msgmerge rewrites on every run (from the template's date).
DATE_HEADER = '"POT-Creation-Date:'

TRANSLATOR = "course maintainers"
HEADER = ("# {language} translations of the lessons in notebooks/en.\n"
          "# python -m course.build writes notebooks/{lang}/ from it (see README.md).\n#")

Key = tuple[str, str]  # (msgctxt, msgid)

TRANSLATED, FUZZY, UNTRANSLATED, MISSING = "translated", "fuzzy", "untranslated", "missing"


def tool(name: str) -> str:
    """The path of a GNU gettext program, or :class:`BuildError` saying how to get it."""
    path = shutil.which(name)
    if path is None:
        raise BuildError(GETTEXT_MISSING)
    return path


def template(messages: list[tuple[str, Message]]) -> Catalog:
    """The template of every (source's name, message): one entry per lesson and text,
    with every place it appears."""
    pot = Catalog(project=PROJECT, version="notebooks", fuzzy=False)
    for name, message in messages:
        pot.add(message.text, locations=[(name, message.where)],
                auto_comments=[message.place], context=message.lesson)
    return pot


def po_text(catalog: Catalog) -> str:
    """A catalog written as PO text."""
    out = BytesIO()
    write_po(out, catalog, width=76)
    return out.getvalue().decode("utf-8")


def merge(root: Path, po: str, pot_text: str) -> str:
    """The catalog at ``root / po`` merged with a template: what it becomes, not written.

    ``po`` is relative to ``root``, so gettext's own errors name it as the author does.
    """
    msgmerge, msgattrib = tool("msgmerge"), tool("msgattrib")
    with tempfile.TemporaryDirectory(prefix="course-build-") as tmp:
        pot = Path(tmp) / "notebooks.pot"
        pot.write_text(pot_text, encoding="utf-8")
        # --force-po: a catalog of a project with no lesson yet is still written (its header)
        merged = _run([msgmerge, "--quiet", "--previous", "--force-po", "-o", "-", po, str(pot)],
                      root, po)
        return _run([msgattrib, "--no-obsolete", "--force-po", "-o", "-", "-"], root, po, merged)


def _run(command: list[str], root: Path, po: str, stdin: str | None = None) -> str:
    result = subprocess.run(command, cwd=root, input=stdin, capture_output=True,
                            text=True, encoding="utf-8")
    if result.returncode != 0:
        program = command[0]
        raise BuildError(f"{po}: {Path(program).name}: {complaint(po, result.stderr, program)}")
    return result.stdout


def complaint(po: str, stderr: str, program: str) -> str:
    """gettext's first complaint about ``po``, as "line N: what" (its own forms are
    "po:N: what" and "program: po: what")."""
    first = (stderr.strip().splitlines() or ["failed"])[0]
    for prefix in (f"{program}: ", f"{Path(program).name}: ", f"{po}:", "<stdin>:"):
        first = first.removeprefix(prefix).lstrip()
    number, _, what = first.partition(":")
    return f"line {number}:{what}" if number.isdigit() else first.strip()


def same_catalog(old: str, new: str) -> bool:
    """Equal but for the template's creation date, which changes on every run: a
    catalog is rewritten only when an entry, a reference or a comment changed."""
    def meaningful(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith(DATE_HEADER)]
    return meaningful(old) == meaningful(new)


def new_catalog(lang: str, pot: Catalog) -> str:
    """A new language's catalog (header, Language, Plural-Forms) holding every message
    of the template, untranslated."""
    try:
        locale = Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        raise BuildError(f"{lang!r} is not a language code Babel knows (e.g. de, pt_BR)") from None
    po = Catalog(locale=locale, project=PROJECT, version="notebooks", fuzzy=False,
                 header_comment=HEADER.format(language=locale.english_name, lang=lang),
                 language_team=locale.english_name, last_translator=TRANSLATOR,
                 revision_date=datetime.now(timezone.utc))
    for message in pot:
        if message.id:
            po.add(message.id, locations=message.locations,
                   auto_comments=message.auto_comments, context=message.context)
    return po_text(po)


@dataclass(frozen=True)
class Translations:
    """What a catalog says about each (msgctxt, msgid): usable translations only."""

    strings: dict[Key, str]  # translated, not fuzzy
    fuzzy: frozenset[Key]
    untranslated: frozenset[Key]
    obsolete: frozenset[Key]

    def lookup(self, lesson: str, text: str) -> tuple[str | None, str]:
        """(translation or None, status): fuzzy and empty entries count as missing."""
        key = (lesson, text)
        if key in self.strings:
            return self.strings[key], TRANSLATED
        if key in self.fuzzy:
            return None, FUZZY
        return None, UNTRANSLATED if key in self.untranslated else MISSING

    def entries(self) -> set[Key]:
        return set(self.strings) | self.fuzzy | self.untranslated


def parse(text: str, name: str) -> Translations:
    """A catalog's PO text read with Babel; :class:`BuildError` with the file and line
    when it is malformed."""
    try:
        po = read_po(BytesIO(text.encode("utf-8")), abort_invalid=True)
    except PoFileError as error:
        reason = str(error).rsplit(" on ", 1)[0]
        raise BuildError(f"{name}: line {error.lineno}: {reason}") from None
    except (ValueError, UnicodeError) as error:
        raise BuildError(f"{name}: not a PO file: {error}") from None
    strings, fuzzy, empty = {}, set(), set()
    for message in po:
        if not message.id or not isinstance(message.id, str):
            continue
        key = (message.context or "", message.id)
        if message.fuzzy:
            fuzzy.add(key)
        elif message.string:
            strings[key] = message.string
        else:
            empty.add(key)
    obsolete = frozenset((m.context or "", m.id) for m in po.obsolete.values())
    return Translations(strings, frozenset(fuzzy), frozenset(empty), obsolete)
