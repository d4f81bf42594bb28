"""The words of a person's calendar entries, in the language being written (i18n.speaking).

A calendar title is the program's `calendar_title`, written by staff in the clinic's language; a
person who reads another language gets the generic title in theirs. Neither names the program nor
what it treats (a glance at a phone must reveal nothing).
"""

from flask_babel import gettext

from ..foundation import i18n


def shown_title(calendar_title: str) -> str:
    """The title of a group's sessions for whoever reads now: the program's calendar title in the
    clinic's language, else "Group session" in the reader's."""
    if i18n.page_language() == i18n.clinic_language():
        return calendar_title
    return gettext("Group session")
