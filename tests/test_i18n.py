"""Helper messages exist in both languages, and the French catalog is valid and careful."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from helpers import unavailable

from course import i18n

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "locales" / "fr" / "LC_MESSAGES" / "course.po"
FIELD = re.compile(r"\{(\w*)[^{}]*\}")


def code_messages() -> set[str]:
    """Every msgid the helpers pass to ``_()``."""
    found = extract_from_dir(str(ROOT / "course"), method_map=[("**.py", "python")],
                             keywords={"_": None, "N_": None})
    return {message for _file, _line, message, _comments, _context in found
            if isinstance(message, str)}


def catalog():
    with CATALOG.open("rb") as f:
        return read_po(f)


def test_every_message_is_translated():
    po = catalog()
    missing = sorted(m for m in code_messages() if not (po.get(m) and po.get(m).string))
    assert not missing, f"untranslated in {CATALOG.name}: {missing}"


def test_no_fuzzy_or_obsolete_entries():
    po = catalog()
    used = code_messages()
    assert not [m.id for m in po if m.id and m.fuzzy], "fuzzy entries"
    assert not sorted(m.id for m in po if m.id and m.id not in used), "entries no code uses"


def test_translations_keep_their_fields():
    for message in catalog():
        if message.id and message.string:
            assert sorted(FIELD.findall(message.id)) == sorted(FIELD.findall(message.string)), (
                message.id)


def test_french_typography():
    """No plain space before : ; ! ? (French uses no-break spaces there), no ASCII quotes."""
    for message in catalog():
        if not message.string:
            continue
        text = re.sub(r"`[^`]*`", "", message.string)  # code spans keep their own spacing
        assert not re.search(r" [:;!?]", text), f"plain space before punctuation: {text!r}"
        assert not re.search(r'"[^"]*"', text), f"use « » in French: {text!r}"


def test_msgfmt_accepts_the_catalog():
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        unavailable("msgfmt is missing: apt-get install gettext")
    result = subprocess.run([msgfmt, "--check", "-o", os.devnull, str(CATALOG)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_language_switch_and_local_numbers(monkeypatch):
    po = catalog()
    sample = next(m for m in po if m.id and m.string and FIELD.search(m.id) is None)
    try:
        i18n.set_language("fr")
        assert i18n._(sample.id) == sample.string
        assert i18n._("{n}", n=10000) == "10\u202f000"
        i18n.set_language("en")
        assert i18n._(sample.id) == sample.id
        assert i18n._("{n}", n=10000) == "10,000"
    finally:
        i18n.set_language("en")
    with pytest.raises(ValueError):
        i18n.set_language("de")


def test_language_precedence(monkeypatch):
    """set_language() beats $COURSE_LANG, which beats the notebook's own language."""
    monkeypatch.setattr(i18n, "_default", None)
    monkeypatch.setattr(i18n, "_notebook", None)
    monkeypatch.delenv("COURSE_LANG", raising=False)
    assert i18n.get_language() == "en"
    i18n.notebook_language("fr")
    assert i18n.get_language() == "fr"
    monkeypatch.setenv("COURSE_LANG", "en_GB.UTF-8")
    assert i18n.get_language() == "en"
    monkeypatch.setenv("COURSE_LANG", "klingon")  # not a language of the course: ignored
    assert i18n.get_language() == "fr"
    i18n.set_language("en")
    assert i18n.get_language() == "en"
