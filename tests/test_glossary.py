"""The French vocabulary is settled once, in ``locales/glossary.md``, and the catalogs keep it.

Every French catalog (``locales/fr/LC_MESSAGES/*.po``: the helpers' ``course.po`` and, once
it exists, the lessons' ``notebooks.po``) is read against the glossary's table: a msgstr
that uses a variant to avoid, as a whole word in any case (an accented capital also written
without its accent, a plural in -s or -x too), outside code spans and italics, fails.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "locales" / "glossary.md"
CATALOGS = ROOT / "locales" / "fr" / "LC_MESSAGES"
#: What the check leaves out of a msgstr: code spans, italics (the English term at first
#: use, *broker*), and the {fields} filled at run time (identifiers).
EXEMPT = re.compile(r"`[^`]*`|\*[^*\s][^*]*\*|\{[^{}]*\}")
QUOTED = re.compile(r"«\s*([^»]+?)\s*»")


@dataclass(frozen=True)
class Term:
    english: str
    french: str
    gender: str
    avoid: tuple[str, ...]
    note: str


def glossary(text: str | None = None) -> list[Term]:
    """The rows of the glossary's table (the one whose header starts ``| English |``)."""
    text = GLOSSARY.read_text(encoding="utf-8") if text is None else text
    terms, in_table = [], False
    for line in text.splitlines():
        if line.startswith("| English |"):
            in_table = True
            continue
        if not in_table or not line.startswith("|"):
            in_table = in_table and line.startswith("|")
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: "):
            continue  # the |---| line
        assert len(cells) == 5, f"a glossary row has 5 columns: {line!r}"
        english, french, gender, avoid, note = cells
        terms.append(Term(english, french, gender, tuple(QUOTED.findall(avoid)), note))
    return terms


def _strip_accent(letter: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", letter)
                   if not unicodedata.combining(c))


def pattern(variant: str) -> re.Pattern[str]:
    """The whole word (or words) ``variant``, any case, plural -s/-x allowed; an accented
    first letter also matches its bare capital (« Echange » for « échange »).  A name in
    an identifier (``course.broker.connect()``) is not a word."""
    variant = unicodedata.normalize("NFC", variant.replace("'", "’"))
    words = r"\s+".join(re.escape(w) for w in variant.split())
    first = variant[0]
    bare = _strip_accent(first).upper()
    alternatives = [f"(?i:{words})"]
    if bare != first.upper():
        alternatives.append(re.escape(bare) + f"(?i:{words[len(re.escape(first)):]})")
    # Identifiers are not words: course.broker.connect(), amq.topic, no_ack.
    return re.compile(rf"(?<!\w)(?<!\w\.)(?:{'|'.join(alternatives)})(?i:s|x)?(?![\w(])(?!\.\w)")


def prose(msgstr: str) -> str:
    """What the check reads of a msgstr: NFC, typographic apostrophes, exemptions removed."""
    return EXEMPT.sub(" ", unicodedata.normalize("NFC", msgstr.replace("'", "’")))


def avoided_uses(catalog_path: Path, terms: list[Term]) -> list[str]:
    """``file: «variant» in msgstr`` for each avoided variant a French msgstr uses."""
    with catalog_path.open("rb") as f:
        po = read_po(f)
    patterns = [(v, pattern(v), t.french) for t in terms for v in t.avoid]
    found = []
    for message in po:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgstr in strings:
            text = prose(msgstr or "")
            for variant, regex, french in patterns:
                if regex.search(text):
                    found.append(f"{catalog_path.name}: «{variant}» (write «{french}») in "
                                 f"{msgstr!r}")
    return found


def test_the_glossary_table_is_read():
    terms = {t.english: t for t in glossary()}
    assert terms["broker"].french == "courtier" and terms["broker"].gender == "m."
    assert terms["broker"].avoid == ("broker",)
    assert terms["exchange"].avoid == ("échange", "une exchange")
    assert terms["queue"].gender == "f." and "queue" in terms["queue"].avoid
    assert terms["embedded broker"].french == "courtier intégré"
    assert terms["Not attempted"].french == "Non tenté"
    for decided in ("binding", "routing key", "binding key", "consumer", "acknowledge, ack",
                    "call", "cast", "fanout (delivery pattern)", "reply queue",
                    "vhost, virtual host", "heartbeat", "hop", "trace", "topology", "lab",
                    "compute node", "notebook", "cell", "exercise", "hint", "check", "Correct",
                    "Not yet", "quiz", "message", "notification", "request", "reply",
                    "timeout", "competing consumers", "durable", "exclusive", "auto-delete"):
        assert decided in terms, decided
    for term in terms.values():  # m. or f. (pl.), the noun it is about, or two of them
        assert re.fullmatch(r"|[mf]\.( pl\.)?( \(\w+\))?|[mf]\.\s?; [mf]\.", term.gender), term


def test_no_french_catalog_uses_an_avoided_variant():
    terms = glossary()
    catalogs = sorted(CATALOGS.glob("*.po"))
    assert CATALOGS / "course.po" in catalogs
    found = [use for path in catalogs for use in avoided_uses(path, terms)]
    assert found == []


PLANTED = '''\
msgid ""
msgstr ""
"Language: fr\\n"
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Exchange {name} added."
msgstr "Échange {name} ajouté."

msgid "The embedded broker is stopped."
msgstr "Le broker embarqué est arrêté."

msgid "Exchanges:"
msgstr "Echanges :"

msgid "A heartbeat"
msgstr "Un battement de coeur"

msgid "Allowed"
msgstr "Le courtier (*broker*) lit `broker.connect()` et la file {queue} ; les messages échangés."
'''


def test_a_planted_avoided_variant_is_caught(tmp_path):
    planted = tmp_path / "notebooks.po"
    planted.write_text(PLANTED, encoding="utf-8")
    found = avoided_uses(planted, glossary())
    assert [use.split(" (write")[0] for use in found] == [
        "notebooks.po: «échange»",  # Échange: any case, accents kept
        "notebooks.po: «broker»",
        "notebooks.po: «embarqué»",
        "notebooks.po: «échange»",  # Echanges: the capital without its accent, a plural
        "notebooks.po: «battement de coeur»",
    ]


def test_whole_words_only():
    regex = pattern("ack")
    assert regex.search("un ack perdu") and regex.search("les ACKs")
    assert not regex.search("acquitter") and not regex.search("no_ack")
    assert not pattern("lab").search("laboratoire")
    assert not pattern("échange").search("les messages échangés")
    assert pattern("échange").search("l’échange par défaut")
    assert not pattern("broker").search("ouvrez-la avec course.broker.connect().")
    assert pattern("broker").search("le broker. Puis")
