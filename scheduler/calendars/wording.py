"""The words of a person's calendar entries, in the language being written (i18n.speaking).

A calendar title is the program's `calendar_title`, written by staff in the clinic's language; a
person who reads another language gets the generic title in theirs. Neither names the program nor
what it treats (a glance at a phone must reveal nothing). A staff member's own feed speaks the
language they chose for the console (personal_feeds.py).
"""

from dataclasses import dataclass

from flask_babel import gettext

from ..foundation import i18n
from ..foundation.links import APPOINTMENTS_FEED_NAME, FEED_NAME


@dataclass(frozen=True)
class Words:
    """What one person's calendar says, in their language (the defaults: the clinic's English)."""

    group_title: str | None = None  # None: the program's own calendar title
    join: str = "Join online: %(link)s"
    no_link: str = "The meeting link will be sent by email."
    appointment: str = "Appointment"  # an individual session or an assessment: no program, no clinician
    feed_name: str = FEED_NAME
    appointments_feed_name: str = APPOINTMENTS_FEED_NAME
    change_or_cancel: str = "Your page, to change or cancel it: %(url)s"
    appointment_cancelled: str = "This appointment was cancelled."
    your_page: str = "Your page: %(url)s"

    def title(self, calendar_title: str) -> str:
        return self.group_title or calendar_title


def words_for(locale: str | None) -> Words:
    """The words of the calendar of a person who chose `locale` (an enrolment's or an intake's)."""
    with i18n.speaking(locale):
        return Words(
            group_title=i18n.shown_title(None),  # None: each program's own calendar title
            join=gettext("Join online: %(link)s"),
            no_link=gettext("The meeting link will be sent by email."),
            appointment=gettext("Appointment"),
            feed_name=gettext("Group sessions"),
            appointments_feed_name=gettext("Appointments"),
            change_or_cancel=gettext("Your page, to change or cancel it: %(url)s"),
            appointment_cancelled=gettext("This appointment was cancelled."),
            your_page=gettext("Your page: %(url)s"),
        )
