"""The words the handlers write into a participant's message, in the language it is being written
in (handlers.py runs them under i18n.speaking): how a payment was made, a discount, how long a
place is held, where an enrolment stands (what a transfer did to the money: enrolment/wording.py)."""

from flask_babel import gettext, lazy_gettext, ngettext

from ..enrolment.models import EnrolmentStatus
from ..foundation.money import format_money

# Why a request sent from a public form could not be carried out when its turn came (the request's
# `reason`), finishing "We could not take it: …".
REFUSALS = {
    "discount_code": lazy_gettext(
        "the discount code could not be used (it may have been used up meanwhile); you may ask again without it."
    ),
    "closed": lazy_gettext("enrolment in this group closed before we could take your request."),
    "invalid": lazy_gettext("the group no longer accepts what the form sent; please look at its page and ask again."),
    "admits_directly": lazy_gettext("the program now takes enrolments directly; its cohorts' pages show how to join."),
}


def discount_text(code, currency: str) -> str:
    """A discount code as the email says it: SPRING (20% off), WELCOME ($50.00 off)."""
    if code.percent_off is not None:
        off = f"{code.percent_off}%"
    else:
        off = format_money(code.amount_off, code.currency or currency)
    return gettext("%(code)s (%(off)s off)", code=code.code, off=off)


def hold_after_opening(enrolment) -> str:
    """How long the seat is held for payment once the person opens their link, in words."""
    if enrolment.pays_at_desk:
        return ngettext("%(num)d hour", "%(num)d hours", enrolment.cohort.manual_hold_hours)
    return ngettext("%(num)d minute", "%(num)d minutes", enrolment.cohort.hold_minutes)


STANDING = {
    EnrolmentStatus.CONFIRMED: lazy_gettext("you have a confirmed place."),
    EnrolmentStatus.PENDING_PAYMENT: lazy_gettext("we are holding a place for you until your payment arrives."),
    EnrolmentStatus.OFFERED: lazy_gettext("a place is offered to you; the link below lets you accept or decline it."),
    EnrolmentStatus.WAITLISTED: lazy_gettext("you are on the waitlist."),
}
