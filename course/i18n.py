"""The learner's language for everything the helpers print.

English strings in the code are the message ids; French comes from
``locales/fr/LC_MESSAGES/course.po``, read with Babel at first use so that no
compiled ``.mo`` file has to be built or shipped.  The language is, in this order:

1. the one :func:`set_language` chose (the learner's own choice, for the whole process);
2. else the ``COURSE_LANG`` environment variable;
3. else the notebook's own language: the first cell of a lesson calls
   :func:`notebook_language` (``"fr"`` in ``notebooks/fr/``, written there by the build);
4. else English.

Numbers, durations, percentages and dates are written the language's way by one
function per kind (:func:`format_number`, :func:`format_seconds`, :func:`format_percent`,
:func:`format_datetime`, :func:`format_time`), all with Babel; ``_()`` writes its int and
float fields with :func:`format_number`.  Callers use these rather than f-string
formatting of floats in text a learner reads.
"""

from __future__ import annotations

import gettext
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from copy import copy
from datetime import date, datetime
from datetime import time as time_of_day
from functools import cache
from pathlib import Path

from babel import Locale
from babel import dates as babel_dates
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("en", "fr")

_here = Path(__file__).resolve().parent
#: ``locales/`` sits inside the package in a wheel, beside it in a source checkout.
LOCALES = next((p for p in (_here / "locales", _here.parent / "locales") if p.is_dir()),
               _here.parent / "locales")

#: What separates a number from its unit (``5 s``): French keeps them together.
UNIT_SPACE = {"en": " ", "fr": "\u00a0"}

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


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """:func:`set_language` for the duration of a ``with`` block (the command line's
    ``--lang``); the previous choice comes back afterwards.  ``None`` changes nothing.
    Yields the language in force."""
    global _default
    previous = _default
    if lang is not None:
        _default = _check(lang)
    try:
        yield get_language()
    finally:
        _default = previous


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
        raise ValueError(_("language must be one of {languages}, not {lang}",
                           languages=", ".join(LANGUAGES), lang=repr(lang)))
    return lang


# -- the catalog ---------------------------------------------------------------------------


@cache
def _po(lang: str) -> Catalog | None:
    """The catalog file of ``lang`` as Babel reads it (None for English, or no file)."""
    path = LOCALES / lang / "LC_MESSAGES" / "course.po"
    if lang == "en" or not path.exists():
        return None
    with path.open("rb") as f:
        return read_po(f)


@cache
def catalog(lang: str) -> dict[str, str]:
    """msgid -> msgstr for one language; fuzzy and empty entries are left out."""
    po = _po(lang)
    if po is None:
        return {}
    return {m.id: m.string for m in po if m.id and m.string and not m.fuzzy
            and isinstance(m.id, str)}


@cache
def plurals(lang: str) -> tuple[dict[str, tuple[str, ...]], Callable[[int], int]]:
    """(singular msgid -> its plural forms, n -> the index of the form to use)."""
    po = _po(lang)
    if po is None:
        return {}, lambda n: int(n != 1)
    forms = {m.id[0]: tuple(m.string) for m in po if isinstance(m.id, tuple)
             and not m.fuzzy and all(m.string)}
    return forms, gettext.c2py(po.plural_expr)


def _(msgid: str, **fields: object) -> str:
    """Translate ``msgid`` into the learner's language, then fill its ``{fields}``."""
    text = catalog(get_language()).get(msgid, msgid)
    if fields:
        text = text.format(**{k: _field(v) for k, v in fields.items()})
    return text


def ngettext(singular: str, plural: str, n: int, **fields: object) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the learner's language, then its
    ``{fields}`` filled (``n`` among them when the message names it)."""
    forms, index = plurals(get_language())
    found = forms.get(singular)
    text = found[min(index(n), len(found) - 1)] if found else (singular if n == 1 else plural)
    if fields:
        text = text.format(**{k: _field(v) for k, v in {"n": n, **fields}.items()})
    return text


def N_(msgid: str) -> str:
    """Mark ``msgid`` for the catalog without translating it now (gettext's ``N_``):
    module-level texts (exercise titles, hints, quiz questions) are translated when shown,
    in the language of that moment; argparse's own words are translated by argparse."""
    return msgid


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """:func:`N_` for a message with a plural (translated later with :func:`ngettext`)."""
    return singular, plural


def upstream(text: str) -> str:
    """Upstream's own words (oslo.messaging's, Nova's), kept as they are in every language:
    what learners will find in a real service's log, or text that travels on the wire.
    Writing it says so on purpose, where ``_()`` would otherwise be expected."""
    return text


def _field(value: object) -> object:
    """Numbers are written the local way (French: 10 000,5)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    return value


# -- numbers, durations, percentages, dates -------------------------------------------------


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def locale() -> Locale:
    """The Babel locale of the language in force."""
    return _locale(get_language())


def format_number(value: float, decimals: int | None = None) -> str:
    """``10 000,5`` in French, ``10,000.5`` in English.  ``decimals``: exactly that many
    digits after the decimal sign; by default as many as the value has, up to three."""
    if decimals is None:
        return format_decimal(value, locale=locale())
    return format_decimal(value, format="#,##0" + ("." + "0" * decimals if decimals else ""),
                          locale=locale())


def format_seconds(seconds: float, decimals: int = 3) -> str:
    """A duration in seconds with its unit: ``0,012 s`` in French, ``0.012 s`` in English;
    at most ``decimals`` digits after the decimal sign (trailing zeros dropped)."""
    number = format_decimal(seconds, format="#,##0" + ("." + "#" * decimals if decimals else ""),
                            locale=locale())
    return number + UNIT_SPACE[get_language()] + "s"


def format_percent(ratio: float, decimals: int = 0) -> str:
    """A ratio as a percentage: ``0.125`` -> ``12,5 %`` in French, ``12.5%`` in English
    (at most ``decimals`` digits after the decimal sign)."""
    loc = locale()
    pattern = copy(loc.percent_formats[None])
    pattern.frac_prec = (0, decimals)
    return pattern.apply(ratio, loc)


def _moment(value: datetime | date | time_of_day | float) -> datetime | date | time_of_day:
    """A datetime from a Unix time (seconds since the epoch), in local time."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value).astimezone()
    return value


def format_datetime(value: datetime | float, format: str = "medium") -> str:
    """A date and time: ``24 nov. 2026, 16:05:03`` in French, ``Nov 24, 2026, 4:05:03 PM``
    in English.  ``value``: a datetime (naive ones are read as UTC, as Babel does) or a
    Unix time; ``format``: short, medium, long, full or a CLDR pattern."""
    return babel_dates.format_datetime(_moment(value), format, locale=locale())


def format_time(value: datetime | time_of_day | float, format: str = "medium") -> str:
    """A time of day: ``16:05:03`` in French, ``4:05:03 PM`` in English (arguments as
    :func:`format_datetime`)."""
    return babel_dates.format_time(_moment(value), format, locale=locale())
