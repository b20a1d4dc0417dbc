"""The learner's language for everything the helpers print.

English strings in the code are the message ids; French comes from
``locales/fr/LC_MESSAGES/course.po``, read with Babel at first use so that no
compiled ``.mo`` file has to be built or shipped.  The language is, in this order:

1. the one :func:`set_language` chose (the learner's own choice, for the whole process);
2. else the ``COURSE_LANG`` environment variable;
3. else the notebook's own language: the first cell of a lesson calls
   :func:`notebook_language` (``"fr"`` in ``notebooks/fr/``, written there by the build);
4. else English.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("en", "fr")

_here = Path(__file__).resolve().parent
#: ``locales/`` sits inside the package in a wheel, beside it in a source checkout.
LOCALES = next((p for p in (_here / "locales", _here.parent / "locales") if p.is_dir()),
               _here.parent / "locales")

_state = threading.local()
_default: str | None = None
_notebook: str | None = None


def set_language(lang: str) -> None:
    """Choose the language of helper messages for the whole process ("en" or "fr")."""
    global _default
    _default = _check(lang)


def notebook_language(lang: str) -> None:
    """The language of the notebook running now: weaker than :func:`set_language` and
    ``COURSE_LANG``, so a learner who chose a language keeps it in every lesson."""
    global _notebook
    _notebook = _check(lang)


def get_language() -> str:
    """The language in force: set_language(), else $COURSE_LANG, else the notebook's
    language, else English."""
    env = os.environ.get("COURSE_LANG", "")[:2].lower()
    lang = (getattr(_state, "lang", None) or _default
            or (env if env in LANGUAGES else None) or _notebook or "en")
    return lang if lang in LANGUAGES else "en"


def _check(lang: str) -> str:
    lang = (lang or "").lower()[:2]
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    return lang


@cache
def catalog(lang: str) -> dict[str, str]:
    """msgid -> msgstr for one language; fuzzy and empty entries are left out."""
    path = LOCALES / lang / "LC_MESSAGES" / "course.po"
    if lang == "en" or not path.exists():
        return {}
    with path.open("rb") as f:
        po = read_po(f)
    return {m.id: m.string for m in po if m.id and m.string and not m.fuzzy
            and isinstance(m.id, str)}


def N_(msgid: str) -> str:
    """Mark ``msgid`` for the catalog without translating it now: module-level texts
    (exercise titles, hints, quiz questions) are translated when shown, in the
    language of that moment."""
    return msgid


def _(msgid: str, **fields: object) -> str:
    """Translate ``msgid`` into the learner's language, then fill its ``{fields}``."""
    text = catalog(get_language()).get(msgid, msgid)
    if fields:
        text = text.format(**{k: _field(v) for k, v in fields.items()})
    return text


def _field(value: object) -> object:
    """Numbers are written the local way (French: 10 000,5)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_decimal(value, locale=Locale.parse(get_language()))
    return value
