"""Refunds the front desk owes, in the console: the list, and marking one paid out.

The same services as `GET /api/v1/refunds?status=owed_by_front_desk` and
`POST /api/v1/refunds/{id}/paid` (enrolment.refunding.refunds / refund_paid_out): the
latter records who paid it, audits it and tells the person once. Admin and front desk
only; a facilitator never sees a refund.
"""

from functools import partial

from flask import g
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
METHOD_CHOICE = "Choose how the money was paid back: " + ", ".join(
    presenters.label(presenters.METHODS, m) for m in PAYOUT_METHODS
)


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
        raise NotFound("No such refund.")
    page = partial(enrolment_page, enrolment_id, form=f"refund-{refund_id}")

    def act():
        data = parse(RefundPaidIn, {"method": "text", "reference": "text"}, {"method": METHOD_CHOICE})
        done = refunding.refund_paid_out(refund_id, data, g.desk_member)
        return back_to_enrolment(enrolment_id, _paid_out(done), anchor="payments-heading")

    return answer_form(page, act, refusals=(Conflict, Invalid))


def _paid_out(done) -> str:
    amount = presenters.money(done.amount, done.currency)
    how = presenters.label(presenters.METHODS, done.paid_method)
    if done.paid_reference:
        how += f", reference {done.paid_reference}"
    return f"The refund of {amount} is marked paid ({how}); {done.enrolment.name} is told by email."
