"""How the enrolment domain plugs into the lower ones: it answers for seats and manage tokens,
and reacts to what happens to cohorts (imported once by create_app)."""

from sqlalchemy import select

from ..cohorts.events import CohortCancelled, CohortChanged, SeatsAdded
from ..cohorts.revisions import was_and_is, watch
from ..foundation.auth import enrolment_owner, manage_token_check
from ..foundation.events import subscribe
from ..payments.models import Payment, Refund
from . import (
    prices,  # noqa: F401  (registers the discount-code use counter with the payments domain)
    seats,  # noqa: F401  (registers the seat counter with the cohorts domain)
)
from .models import Enrolment
from .paying import payment_owner
from .seat_keeping import cancel_with_cohort, offer_free_seats
from .self_service import manage_token_matches
from .services import record_cohort_change

manage_token_check(manage_token_matches)  # the API's participant credential is the pages' too


def cohorts_of_enrolments(ids):
    return select(Enrolment.cohort_id).where(Enrolment.id.in_(ids))


# The cohort list counts seats and the roster shows people and their money: a change to any
# of these rows moves its cohort's revision, so both are rendered again (cohorts/revisions.py).
watch(Enrolment, lambda enrolment: was_and_is(enrolment, "cohort_id"))
watch(Payment, lambda payment: [payment.enrolment_id], cohorts_of_enrolments)
watch(Refund, lambda refund: [refund.enrolment_id], cohorts_of_enrolments)


# A payment's receipt opens with the manage token of the enrolment it paid for.
enrolment_owner("payment_id")(payment_owner)


@subscribe(CohortCancelled)
def _cancel_everyone(event: CohortCancelled) -> None:
    cancel_with_cohort(event.cohort, event.staff)


@subscribe(SeatsAdded)
def _offer_new_seats(event: SeatsAdded) -> None:
    offer_free_seats(event.cohort)


@subscribe(CohortChanged)
def _audit_cohort_change(event: CohortChanged) -> None:
    """Staff changes to a cohort (a replaced meeting link above all) go to the audit log."""
    record_cohort_change(event.cohort, event.staff, "cohort_updated", event.before, event.after)
