"""How the enrolment domain reacts to what happens to cohorts (scheduler/wiring.py lists when)."""

from sqlalchemy import select

from ..cohorts.events import CohortCancelled, CohortChanged, SeatsAdded
from .audit import record_cohort_change
from .models import Enrolment
from .seat_keeping import cancel_with_cohort, offer_free_seats


def cohorts_of_enrolments(ids):
    """The cohorts of these enrolments, as a SELECT (how a watched row's enrolment ids become cohorts)."""
    return select(Enrolment.cohort_id).where(Enrolment.id.in_(ids))


def cancel_everyone(event: CohortCancelled) -> None:
    cancel_with_cohort(event.cohort, event.staff)


def offer_new_seats(event: SeatsAdded) -> None:
    offer_free_seats(event.cohort)


def audit_cohort_change(event: CohortChanged) -> None:
    """Staff changes to a cohort (a replaced meeting link above all) go to the audit log."""
    record_cohort_change(event.cohort, event.staff, "cohort_updated", event.before, event.after)
