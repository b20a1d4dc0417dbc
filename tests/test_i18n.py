"""Helper messages exist in both languages, and the French catalog is valid and careful."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from helpers import unavailable

from course import i18n

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "locales" / "fr" / "LC_MESSAGES" / "course.po"
FIELD = re.compile(r"\{(\w*)[^{}]*\}")


#: What marks a msgid in the code: ``_()``, ``N_()`` (translated later, argparse's words),
#: and the plural ones (a (singular, plural) pair).
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "N_plural": (1, 2)}


def code_messages() -> set[str | tuple[str, str]]:
    """Every msgid the helpers pass to ``_()`` (and the other markers)."""
    found = extract_from_dir(str(ROOT / "course"), method_map=[("**.py", "python")],
                             keywords=KEYWORDS)
    return {message for _file, _line, message, _comments, _context in found
            if isinstance(message, (str, tuple))}


def translated(message) -> bool:
    """Every form of the entry has its French (a plural has several)."""
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    return bool(message.string) and all(forms)


def texts(message) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs of an entry: one, or each plural form with the plural id."""
    if isinstance(message.id, tuple):
        return [(message.id[min(i, 1)], form) for i, form in enumerate(message.string)]
    return [(message.id, message.string)]


def catalog():
    with CATALOG.open("rb") as f:
        return read_po(f)


def test_every_message_is_translated():
    po = catalog()
    missing = sorted(map(str, (m for m in code_messages()
                               if not (po.get(m) and translated(po.get(m))))))
    assert not missing, f"untranslated in {CATALOG.name}: {missing}"


def test_no_fuzzy_or_obsolete_entries():
    po = catalog()
    used = code_messages()
    assert not [m.id for m in po if m.id and m.fuzzy], "fuzzy entries"
    assert not sorted(m.id for m in po if m.id and m.id not in used), "entries no code uses"


def test_translations_keep_their_fields():
    for message in catalog():
        if message.id and translated(message):
            for msgid, msgstr in texts(message):
                assert sorted(FIELD.findall(msgid)) == sorted(FIELD.findall(msgstr)), msgid


NBSP, NNBSP = "\u00a0", "\u202f"
#: Words whose capital is often written without its accent.
ACCENTED_CAPITALS = ("État", "Étape", "Échec", "Écrivez", "Élément", "Événement", "Être",
                     "Évitez", "Émission", "Énorme")


def typography_faults(msgstr: str) -> list[str]:
    """What a French msgstr gets wrong in LESSONS.md's typography, code spans left out:
    U+00A0 before a colon of prose and inside « », U+202F before ; ! ?, the typographic
    apostrophe, accents on capitals."""
    text = re.sub(r"`[^`]*`", "", msgstr)  # code spans keep their own spacing
    faults = []
    # A colon of prose ends a word group (URLs, host:port and %(name)s: are not prose).
    for match in re.finditer(r"(.?):(?=\s|$)", text):
        if match.group(1) != NBSP:
            faults.append(f"U+00A0 before ':' (found {match.group(1)!r})")
    for match in re.finditer(r"(.?)([;!?])(?=[\s)»\u00a0\u202f]|$)", text):
        if match.group(1) != NNBSP:
            faults.append(f"U+202F before {match.group(2)!r} (found {match.group(1)!r})")
    for match in re.finditer(r"«(.?)|(.?)»", text):
        if NBSP not in match.group(0):
            faults.append(f"U+00A0 inside « » (in {match.group(0)!r})")
    if re.search(r'"[^"]*"', text):
        faults.append("« » rather than ASCII quotes")
    if re.search(r"\w'\w", text):
        faults.append("the typographic apostrophe ’")
    if re.search(r"(?<![\w{])A(?![\w}])", text):
        faults.append("À, not A")
    for word in ACCENTED_CAPITALS:
        bare = "E" + word[1:]
        if re.search(rf"(?<!\w){bare}(?!\w)", text):
            faults.append(f"{word}, not {bare}")
    return faults


def test_french_typography():
    """LESSONS.md's typography in every French msgstr (plural forms too)."""
    faults = {msgstr: typography_faults(msgstr) for message in catalog() if message.id
              for _msgid, msgstr in texts(message)}
    assert {msgstr: found for msgstr, found in faults.items() if found} == {}


def test_typography_faults_are_caught():
    planted = {
        "Colonne inconnue : size ; choisissez": ["U+00A0 before ':' (found ' ')",
                                                  "U+202F before ';' (found ' ')"],
        "Colonne inconnue\u00a0: size\u00a0; voyez\u00a0!": [
            "U+202F before ';' (found '\\xa0')", "U+202F before '!' (found '\\xa0')"],
        "Vouliez-vous dire x?": ["U+202F before '?' (found 'x')"],
        "Le port « 99 » de l'hôte": ["U+00A0 inside « » (in '« ')",
                                     "U+00A0 inside « » (in ' »')",
                                     "the typographic apostrophe ’"],
        'Le pilote "rabbit"': ["« » rather than ASCII quotes"],
        "A l’adresse x. Etat inconnu.": ["À, not A", "État, not Etat"],
        "hôte:port, rabbit://h:5672/?ssl=1, `a : b ; c`, {x}\u00a0: À l’adresse «\u00a0x\u00a0»"
        "\u202f!": [],
    }
    assert {text: typography_faults(text) for text in planted} == planted


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


def test_language_for_a_block(monkeypatch):
    """i18n.language(): set_language() inside a with block only (the CLI's --lang)."""
    monkeypatch.setattr(i18n, "_default", None)
    monkeypatch.delenv("COURSE_LANG", raising=False)
    with i18n.language("fr") as lang:
        assert lang == "fr" and i18n.get_language() == "fr"
        with i18n.language(None):
            assert i18n.get_language() == "fr"
    assert i18n._default is None and i18n.get_language() == "en"
    with pytest.raises(ValueError, match="en, fr"), i18n.language("de"):
        pass


def test_numbers_durations_percentages_and_dates_for_the_language():
    moment = datetime(2026, 11, 24, 16, 5, 3, tzinfo=timezone.utc)
    with i18n.language("fr"):
        assert i18n.format_number(10000.5) == "10\u202f000,5"
        assert i18n.format_number(3, 2) == "3,00"
        assert i18n.format_seconds(0.012) == "0,012\u00a0s"
        assert i18n.format_seconds(12.34567, 1) == "12,3\u00a0s"
        assert i18n.format_seconds(60.0, 0) == "60\u00a0s"
        assert i18n.format_percent(0.5) == "50\u00a0%"
        assert i18n.format_percent(0.125, 1) == "12,5\u00a0%"
        assert i18n.format_datetime(moment) == "24 nov. 2026, 16:05:03"
        assert i18n.format_time(moment) == "16:05:03"
        assert i18n._("{seconds}", seconds=0.5) == "0,5"
    with i18n.language("en"):
        assert i18n.format_number(10000.5) == "10,000.5"
        assert i18n.format_seconds(0.012) == "0.012 s"
        assert i18n.format_percent(0.125, 1) == "12.5%"
        assert i18n.format_datetime(moment) == "Nov 24, 2026, 4:05:03\u202fPM"
        assert i18n.format_time(moment, "short") == "4:05\u202fPM"


def test_a_list_joined_by_semicolons_is_written_the_french_way(french):
    """A diagnosis naming two faults joins them with "; ": in French, with the narrow
    no-break space the typography wants before a semicolon."""
    from course.exercises.result import Joined, Message

    joined = Joined((Message("`fault` is `a`"), Message("`fault` is `b`")), separator="; ")
    assert "\u202f; " in str(joined)
    i18n.set_language("en")
    assert str(joined).count("; ") == 1 and "\u202f" not in str(joined)
