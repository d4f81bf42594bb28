"""Money going back to people: the refund policy, refunding an enrolment, refunds the desk owes.

A refund goes back the way the money came (payments.ledger.refund): to the card, or owed by the
front desk, which later records paying it out (refund_paid_out).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort
from ..foundation.database import Page, paginate, write_transaction
from ..foundation.errors import NotFound
from ..foundation.events import publish
from ..foundation.extensions import db
from ..payments import ledger
from ..payments.models import Refund
from . import events, prices
from .audit import record, snapshot
from .models import Enrolment
from .views import lock_enrolment


def refunded(enrolment: Enrolment, amount: int, reason: str, staff) -> dict | None:
    """Refund `amount` of what the enrolment paid (card or desk, as paid); its summary, or None when 0 or less."""
    summary = ledger.refund(enrolment.id, amount, reason, staff)
    return summary.as_dict() if summary else None


def refund_deadline(cohort: Cohort) -> datetime | None:
    """Until when withdrawing refunds in full: refund_cutoff_hours before the first session."""
    first = cohort.first_session_start()
    return None if first is None else first - timedelta(hours=cohort.refund_cutoff_hours)


def refund_due(enrolment: Enrolment, at: datetime) -> int:
    """The policy: all that was paid (less refunds) until the refund deadline; none after (pages state it first)."""
    deadline = refund_deadline(enrolment.cohort)
    if deadline is None or at < deadline:
        return prices.account_of(enrolment).net_paid
    return 0


@dataclass(frozen=True)
class RefundView:
    """A refund with the person and group it is for (staff's list of what the desk owes)."""

    refund: Refund
    enrolment: Enrolment

    def __getattr__(self, name):
        return getattr(self.refund, name)


def refunds(query: dict) -> Page:
    """Refunds by status (owed_by_front_desk: what the desk must pay back), oldest first."""
    page = paginate(ledger.refunds_query(query.get("status")), query["page"], query["page_size"])
    ids = {r.enrolment_id for r in page.items}
    people = {
        e.id: e
        for e in db.session.scalars(
            select(Enrolment).options(selectinload(Enrolment.cohort)).where(Enrolment.id.in_(ids))
        )
    }
    page.items = [RefundView(r, people[r.enrolment_id]) for r in page.items]
    return page


def refund_paid_out(refund_id: str, data: dict, staff) -> RefundView:
    """The desk paid an owed refund back (method, reference): recorded, audited, and the person told once."""
    with write_transaction():
        enrolment_id = db.session.scalar(select(Refund.enrolment_id).where(Refund.id == refund_id))
        if enrolment_id is None:
            raise NotFound(_l("No such refund."))
        enrolment = lock_enrolment(enrolment_id)
        before = snapshot(enrolment)
        refund = ledger.mark_refund_paid(refund_id, data["method"], data.get("reference"), staff)
        record(
            enrolment,
            staff,
            "refund_paid_out",
            before,
            refund_id=refund.id,
            refund_amount=refund.amount,
            method=refund.paid_method,
            reference=refund.paid_reference,
        )
        publish(events.RefundPaidOut(enrolment, refund))
    return RefundView(refund, enrolment)
