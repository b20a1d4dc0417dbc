"""What a check found, as records: the three statuses, a message translated when shown,
and an outcome.  ``view`` shows them; ``core`` and ``quiz`` make them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..i18n import N_, _

CORRECT, NOT_YET, NOT_ATTEMPTED = "correct", "not yet", "not attempted"


@dataclass(frozen=True)
class Message:
    """An English msgid and its fields, translated when shown (not when raised)."""

    msgid: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        try:
            return _(self.msgid, **self.fields)
        except (KeyError, IndexError, ValueError):  # a field the msgid does not name
            return self.msgid


@dataclass(frozen=True)
class Outcome:
    """One check's outcome: ``status`` and the message to show (``view.Result`` shows it)."""

    title: Message
    status: str
    message: Message | None = None
    visible_only: bool = False
    #: The check could not run on this machine (its lab needs RabbitMQ): it does not count
    #: against the lesson (``ExerciseSet.all_correct``).
    unavailable: bool = False

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def __bool__(self) -> bool:
        return self.correct


#: Separators said differently in another language (French puts a narrow no-break space
#: before a semicolon), translated when shown.
SEPARATORS = (N_("; "),)


@dataclass(frozen=True)
class Joined:
    """Several messages shown together (sentences, or a list), each translated when shown."""

    parts: tuple[Message, ...]
    separator: str = " "

    def __str__(self) -> str:
        separator = _(self.separator) if self.separator in SEPARATORS else self.separator
        return separator.join(str(part) for part in self.parts)
