"""What the pages say beside a field, and about a refusal, in the page's language.

The JSON API's messages stay English (API.md): a page does not show them as they are, it says each
in its reader's language here. A message this module does not know is shown as it is on an
English page, and as a plain "check this" on a page in another language (never English there).
"""

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from ..foundation import i18n

# The API's own words for a field (foundation/validation.py, enrolment/schemas.py, marshmallow).
_KNOWN = {
    "Missing data for required field.": _l("Please fill this in."),
    "Field may not be null.": _l("Please fill this in."),
    "Not a valid string.": _l("Please type this again."),
    "Not a valid email address (for example sam@example.org).": _l(
        "Not a valid email address (for example sam@example.org)."
    ),
    "Give the address alone (sam@example.org), without a name or <>.": _l(
        "Give the address alone (sam@example.org), without a name or <>."
    ),
    "An email address cannot contain spaces.": _l("An email address cannot contain spaces."),
    "Not a known IANA timezone (for example America/New_York).": _l("Choose a time zone from the list."),
    "Use at most 40 characters, for example +1 555 0100 ext. 12.": _l(
        "Use at most 40 characters, for example +1 555 0100 ext. 12."
    ),
    "Use digits, spaces and + ( ) - only, for example +1 555 0100.": _l(
        "Use digits, spaces and + ( ) - only, for example +1 555 0100."
    ),
    "Use one of: " + ", ".join(i18n.LOCALES) + ".": _l("Choose English or Español."),
    "Type your full name to accept the agreement.": _l("Type your full name to accept the agreement."),
    "Use at most 200 characters.": _l("Use at most 200 characters."),
}
# The API's words with a number or a name in them.
_PATTERNS = (
    (re.compile(r"Longer than maximum length (\d+)\."), _l("Use at most %(num)s characters.")),
    (re.compile(r"Length must be between (\d+) and (\d+)\."), _l("Use at most %(num)s characters.")),
    (re.compile(r"Must be a single line: remove the .*\."), _l("Please keep this to one line.")),
    (
        re.compile(r"Must not contain control characters .*"),
        _l("This contains a character we cannot store; please type it again."),
    ),
)
_CHECK = _l("Please check what you typed here.")


def _said(message: str) -> str:
    known = _KNOWN.get(message)
    if known is not None:
        return str(known)
    for pattern, said in _PATTERNS:
        match = pattern.fullmatch(message)
        if match:
            return str(said) % {"num": match.groups()[-1]} if match.groups() else str(said)
    return message if i18n.page_language() == i18n.DEFAULT else str(_CHECK)


def _worded(message) -> str:
    # A message worded for translation (a lazy string) says itself in the page's language.
    return str(message) if isinstance(message, LazyString) else str(_CHECK)


def field_messages(errors: dict | None) -> dict:
    """The API's mistakes by field ({"email": ["Not a valid email address …"]}), as the page says them."""
    shown = {}
    for field, messages in (errors or {}).items():
        messages = messages if isinstance(messages, list | tuple) else [messages]
        said = [_said(m) if isinstance(m, str) else _worded(m) for m in messages]
        shown[field] = list(dict.fromkeys(said))  # "Please fill this in." once, whatever said it
    return shown


# ---- a service's refusal (a Conflict's detail) -----------------------------------------------------

_CUTOFF = re.compile(r"An? (assessment|session) can be (changed|cancelled) online until (\d+) hours before it; .*")


def refusal(detail: str | None) -> str:
    """A refusal the person can act on, in the page's language: the ones worth telling apart are
    said each their own way; any other as "something changed"."""
    detail = str(detail or "")
    cutoff = _CUTOFF.fullmatch(detail)
    if cutoff:
        what, verb, hours = cutoff.groups()
        if what == "assessment" and verb == "changed":
            text = _("Your assessment can be changed online until %(hours)s hours before it; please %(contact)s.")
        elif what == "assessment":
            text = _("Your assessment can be cancelled online until %(hours)s hours before it; please %(contact)s.")
        else:
            text = _("A session can be cancelled online until %(hours)s hours before it; please %(contact)s.")
        return text % {"hours": hours, "contact": _("contact the clinic")}
    if detail.startswith(("That time is not free", "That time was just taken")):
        return _("That time was just taken. Please choose another of the free times below.")
    if detail == "No assessment is booked for this request.":
        return _("No assessment is booked any more, so there was nothing to cancel.")
    if detail.startswith("This session is cancelled"):
        return _("This session was already cancelled.")
    return _("That could not be done: something changed in the meantime. Please look at the page again.")
