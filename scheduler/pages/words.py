"""The words the pages' scripts write (static/pages.js, static/payment.js), in the page's language.

base.html renders them into `<script type="application/json" id="page-words">`; a script reads that
block and fills the `%(name)s` placeholders itself, so no English is baked into the JavaScript.
"""

from flask_babel import gettext as _
from flask_babel import pgettext

from ..foundation import i18n


def _weekdays() -> list[str]:
    """The weekly day inside a sentence ("(Thursdays at 5:00 PM CDT your time)"), Monday first."""
    return [
        pgettext("in a sentence", "Mondays"),
        pgettext("in a sentence", "Tuesdays"),
        pgettext("in a sentence", "Wednesdays"),
        pgettext("in a sentence", "Thursdays"),
        pgettext("in a sentence", "Fridays"),
        pgettext("in a sentence", "Saturdays"),
        pgettext("in a sentence", "Sundays"),
    ]


def page_words() -> dict:
    """Every word a page's script may show, by name (placeholders left for the script to fill)."""
    return {
        "language": i18n.page_language(),
        # Beside a time shown in the group's zone: the same instant in the visitor's own zone.
        "weekdays": _weekdays(),
        "weekly": _("%(weekday)s at %(time)s"),
        "weekly_one": pgettext("one o'clock", "%(weekday)s at %(time)s"),
        "your_time": _("(%(when)s your time)"),
        "your_time_short": _("%(when)s your time"),
        # The live countdown to a deadline.
        "left_hours": _("(%(hours)s h %(minutes)s min left)"),
        "left_minutes": _("(%(minutes)s:%(seconds)s left)"),
        # Card payment.
        "card_unavailable": _("Card payment could not be loaded. Please reload this page in a minute."),
        "paying": _("Paying…"),
        "card_refused": _("The payment did not go through."),
        "check_card": _("Please check the card details and try again."),
        "confirming": _("Payment received, confirming…"),
    }
