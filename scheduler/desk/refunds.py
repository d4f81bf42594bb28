"""Refunds the front desk owes, in the console: the list, and marking one paid out.

The same services as `GET /api/v1/refunds?status=owed_by_front_desk` and
`POST /api/v1/refunds/{id}/paid` (enrolment.refunding.refunds / refund_paid_out): the
latter records who paid it, audits it and tells the person once. Admin and front desk
only; a facilitator never sees a refund.
"""

from functools import partial

from flask import g
from flask_babel import gettext as _
from sqlalchemy import select

from ..enrolment import refunding
from ..enrolment.schemas import RefundPaidIn
from ..foundation.auth import DESK
from ..foundation.errors import Conflict, Invalid, NotFound
from ..foundation.extensions import db
from ..payments.models import PAYOUT_METHODS, Refund, RefundStatus
from . import presenters
from .blueprint import bp
from .enrolments import back_to_enrolment, enrolment_page
from .forms import parse
from .screens import answer_form, page_number, render
from .session import desk_page

OWED = RefundStatus.OWED_BY_FRONT_DESK
LIST_PAGE_SIZE = 50


def method_choice() -> str:
    """The message beside a payout method not chosen, naming the methods (in the page's language)."""
    methods = ", ".join(str(presenters.label(presenters.METHODS, m)) for m in PAYOUT_METHODS)
    return _("Choose how the money was paid back: %(methods)s", methods=methods)


def owed(page: int = 1, page_size: int = LIST_PAGE_SIZE):
    """Refunds the desk owes, oldest first (with each one's person and cohort)."""
    return refunding.refunds({"status": OWED, "page": page, "page_size": page_size})


@bp.get("/refunds")
@desk_page(*DESK)
def refunds_owed():
    """Refunds the front desk owes: person, cohort, amount and since when, oldest first."""
    return render("desk/refunds.html", view=owed(page_number()))


@bp.post("/refunds/<refund_id>/paid")
@desk_page(*DESK)
def refund_paid(refund_id):
    """Record that the desk paid an owed refund back (method, reference); the person is told once."""
    enrolment_id = db.session.scalar(select(Refund.enrolment_id).where(Refund.id == refund_id))
    if enrolment_id is None:
        raise NotFound(_("No such refund."))
    page = partial(enrolment_page, enrolment_id, form=f"refund-{refund_id}")

    def act():
        data = parse(RefundPaidIn, {"method": "text", "reference": "text"}, {"method": method_choice()})
        done = refunding.refund_paid_out(refund_id, data, g.desk_member)
        return back_to_enrolment(enrolment_id, _paid_out(done), anchor="payments-heading")

    return answer_form(page, act, refusals=(Conflict, Invalid))


def _paid_out(done) -> str:
    amount = presenters.money(done.amount, done.currency)
    how = presenters.label(presenters.METHODS, done.paid_method)
    names = {"amount": amount, "method": how, "name": done.enrolment.name}
    if done.paid_reference:
        return _(
            "The refund of %(amount)s is marked paid (%(method)s, reference %(reference)s); %(name)s is told by email.",
            reference=done.paid_reference,
            **names,
        )
    return _("The refund of %(amount)s is marked paid (%(method)s); %(name)s is told by email.", **names)
