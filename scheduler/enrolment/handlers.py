"""How the enrolment domain plugs into the lower ones: it answers for seats and manage tokens,
and reacts to what happens to cohorts (imported once by create_app)."""

import hmac

from sqlalchemy import select

from ..auth import enrolment_owner, manage_token_check
from ..cohorts.events import CohortCancelled, SeatsAdded
from ..events import subscribe
from ..extensions import db
from . import (
    prices,  # noqa: F401  (registers the discount-code use counter with the payments domain)
    seats,  # noqa: F401  (registers the seat counter with the cohorts domain)
)
from .models import Enrolment
from .services import cancel_with_cohort, offer_free_seats, payment_owner


@manage_token_check
def _manage_token_matches(enrolment_id: str, token: str) -> bool:
    stored = db.session.scalar(select(Enrolment.manage_token).where(Enrolment.id == enrolment_id))
    return stored is not None and hmac.compare_digest(stored, token)


# A payment's receipt opens with the manage token of the enrolment it paid for.
enrolment_owner("payment_id")(payment_owner)


@subscribe(CohortCancelled)
def _cancel_everyone(event: CohortCancelled) -> None:
    cancel_with_cohort(event.cohort, event.staff)


@subscribe(SeatsAdded)
def _offer_new_seats(event: SeatsAdded) -> None:
    offer_free_seats(event.cohort)
