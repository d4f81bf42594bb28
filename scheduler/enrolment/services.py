"""Enrolment use cases. Each public function is one transaction under the cohort's lock."""
from sqlalchemy import select

from ..extensions import db
from .models import ACTIVE, AuditEntry, Enrolment


def _snapshot(enrolment: Enrolment) -> dict:
    return {"status": enrolment.status, "amount_paid": enrolment.amount_paid,
            "cohort_id": enrolment.cohort_id}


def record(enrolment: Enrolment, staff, action: str, before: dict) -> None:
    """Add an audit entry for a staff change (participants' own actions carry no staff)."""
    db.session.add(AuditEntry(enrolment_id=enrolment.id, staff_id=staff.id if staff else None,
                              action=action, before=before, after=_snapshot(enrolment)))


def cancel_cohort_enrolments(cohort, staff) -> None:
    """The cohort was cancelled: every active enrolment is cancelled (caller holds the lock)."""
    active = db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id,
                                                        Enrolment.status.in_(ACTIVE)))
    for enrolment in active:
        before = _snapshot(enrolment)
        enrolment.move_to("cancelled")
        record(enrolment, staff, "cohort_cancelled", before)


def offer_free_seats(cohort) -> list[Enrolment]:
    """Offer every free seat to the head of the waitlist (caller holds the lock)."""
    return []
