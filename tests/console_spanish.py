"""What the Spanish console's tests share (issue 22): the catalogue's Spanish for a text, and the
English words that would give away an English console."""

import re

from babel.support import Translations

from scheduler.foundation import i18n

# Words that give away an English console (whole words of the visible text).
ENGLISH_WORDS = (
    "Today",
    "Week",
    "Waitlist",
    "Seats",
    "Withdraw",
    "Payment",
    "Payments",
    "Search",
    "Sign",
    "Confirm",
    "Sessions",
    "Session",
    "Move",
    "Offer",
    "Account",
    "Amount",
    "Method",
    "Refunds",
    "Save",
    "Name",
    "Email",
    "Status",
    "the",
    "and",
    "of",
    "your",
    "Your",
)
_SPANISH = Translations.load(str(i18n.TRANSLATIONS), ["es"])


def es(msgid: str, context: str | None = None) -> str:
    """The catalogue's Spanish for a console text (it must have one)."""
    said = _SPANISH.pgettext(context, msgid) if context else _SPANISH.gettext(msgid)
    assert said != msgid, f"no Spanish for {msgid!r}"
    return said


def english_words(text: str) -> list[str]:
    """The ENGLISH_WORDS found in a text a person reads."""
    return [w for w in ENGLISH_WORDS if re.search(rf"(?<![\w-]){w}(?![\w-])", text)]
