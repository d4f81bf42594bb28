"""The enrolment audit log: what changed, who did it (staff; none for participants and jobs), when."""

from ..foundation.extensions import db
from .models import AuditEntry, Enrolment


def snapshot(enrolment: Enrolment, **extra) -> dict:
    """The enrolment as the audit log records it, before or after a change."""
    # Columns only (no ledger read per entry: attendance audits a whole session at once);
    # the actions that move money add what was paid and what is left (paid_now, balance, refund).
    snap = {"status": str(enrolment.status), "amount_due": enrolment.amount_due, "cohort_id": enrolment.cohort_id}
    snap.update(extra)
    return snap


def iso(instant) -> str | None:
    """An instant as the audit log writes it (UTC, to the second)."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ") if instant else None


def record_cohort_change(cohort, staff, action: str, before: dict, after: dict) -> None:
    """Add an audit entry for a change to a cohort itself (its meeting link, settings)."""
    db.session.add(
        AuditEntry(cohort_id=cohort.id, staff_id=staff.id if staff else None, action=action, before=before, after=after)
    )


def record(enrolment: Enrolment, staff, action: str, before: dict | None, **extra) -> None:
    """Add an audit entry for a change (participants' own actions and jobs carry no staff)."""
    db.session.add(
        AuditEntry(
            enrolment_id=enrolment.id,
            staff_id=staff.id if staff else None,
            action=action,
            before=before,
            after=snapshot(enrolment, **extra),
        )
    )
