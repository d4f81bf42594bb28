"""Seats changing hands, under the cohort's lock: lapsed holds and offers, offers to the waitlist,
a payment confirming a held seat, and a cancelled cohort.

Lapsed holds and offers already count as free (Enrolment.holds_seat); settle() also marks them
expired and offers their seats to the waitlist, so that nobody waiting is skipped by a newcomer.
The job (jobs.py) settles each cohort with something lapsed in a short transaction of its own.
"""

from datetime import timedelta

from sqlalchemy import select

from ..cohorts.joining import public_window_open
from ..cohorts.models import Cohort, CohortStatus
from ..foundation import clock
from ..foundation.database import lock, require_lock, write_transaction
from ..foundation.events import publish
from ..foundation.extensions import db
from ..foundation.plugins import PlugIn
from ..payments.accounts import accounts
from . import agreements, events, prices
from .audit import record, snapshot
from .models import ACTIVE, Enrolment
from .models import EnrolmentStatus as S
from .refunding import refunded
from .seats import seat_counts

# Seats nobody on the cohort's waitlist takes go to the program's queue of approved people
# (admission): (cohort, how many seats, at) -> the offered enrolments, under the cohort's lock.
queue_offers = PlugIn("offer free seats to people approved in the cohort's program: (cohort, count, at) -> [Enrolment]")


def expire_lapsed(cohort: Cohort, at) -> list[Enrolment]:
    """Mark this cohort's lapsed holds and offers expired (under the cohort's lock)."""
    require_lock("cohort", cohort.id)
    lapsed = db.session.scalars(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.lapsed(at)).order_by(Enrolment.id)
    ).all()
    held = accounts([e.id for e in lapsed])
    for enrolment in lapsed:
        before = snapshot(enrolment)
        was = enrolment.status
        enrolment.move_to(S.EXPIRED)
        # Part paid at the desk and the rest never came: what was paid goes back.
        refund = refunded(enrolment, held[enrolment.id].net_paid, "hold_lapsed", None)
        record(enrolment, None, "expired", before, refund=refund)
        publish(events.HoldExpired(enrolment, refund) if was == S.PENDING_PAYMENT else events.OfferExpired(enrolment))
    return lapsed


def settle(cohort: Cohort, at) -> None:
    """Expire what lapsed and offer the freed seats, before anything else looks at seats."""
    if expire_lapsed(cohort, at):
        offer_free_seats(cohort)


def offer_seat(enrolment: Enrolment, cohort: Cohort, at, *, tell: bool = True) -> None:
    """Offer this person a seat for offer_hours (told by email unless `tell` is False).

    A seat offered once sessions have passed costs what joining now costs (pro-rated when the cohort
    says so): someone who waited never pays more than a newcomer would. Never raised."""
    _reprice_for_now(enrolment, cohort, at)
    enrolment.move_to(S.OFFERED)
    enrolment.offer_expires_at = at + timedelta(hours=cohort.offer_hours)
    if tell:
        publish(events.SeatOffered(enrolment))


def _reprice_for_now(enrolment: Enrolment, cohort: Cohort, at) -> None:
    if not cohort.prorate_late_joiners:
        return
    now = prices.base_price(cohort, enrolment.price_level, at)
    if now < enrolment.price_before_discount:
        enrolment.price_before_discount = now
        enrolment.amount_due = max(0, now - (enrolment.discount_amount or 0))


def offer_free_seats(cohort: Cohort) -> list[Enrolment]:
    """Offer every free seat to the head of the waitlist (under the cohort's lock).

    Offers stop once public enrolment has closed (session enrol_until_session started: the
    first, by default); staff may still offer by hand.
    """
    require_lock("cohort", cohort.id)
    at = clock.now()
    if not public_window_open(cohort, at) or cohort.status == CohortStatus.CANCELLED:
        return []
    db.session.flush()
    free = seat_counts([cohort], at)[cohort.id].available
    if free <= 0:
        return []
    heads = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == S.WAITLISTED)
        .order_by(Enrolment.waitlist_rank, Enrolment.created_at, Enrolment.id)
        .limit(free)
    ).all()
    for enrolment in heads:
        before = snapshot(enrolment)
        offer_seat(enrolment, cohort, at)
        record(enrolment, None, "offered", before)
    offered = list(heads)
    if free > len(heads):  # nobody else waiting here: people approved for the program's queue next
        offered += queue_offers(cohort, free - len(heads), at)
    return offered


def apply_payment(enrolment: Enrolment, *, method: str, confirm_with_balance: bool = False) -> str:
    """Confirm the seat once a payment the ledger holds settles what is owed (under the cohort's lock).

    Returns "confirmed", "partial" (a balance is left: the hold stands), "agreements_due" (the
    person has yet to accept some of the program's agreements: the hold stands), "already_confirmed",
    or "no_seat" (the hold lapsed and the seat is gone, or the enrolment is over: the caller
    refunds and tells the person).
    """
    require_lock("cohort", enrolment.cohort_id)
    if enrolment.status == S.CONFIRMED:
        return "already_confirmed"
    if enrolment.status not in (S.PENDING_PAYMENT, S.OFFERED):
        return "no_seat"
    at = clock.now()
    # A lapsed hold counts as free: is there a seat for this person now?
    if not enrolment.holds_seat(at) and seat_counts([enrolment.cohort], at)[enrolment.cohort_id].available <= 0:
        was = enrolment.status
        enrolment.move_to(S.EXPIRED)
        record(enrolment, None, "expired_unpaid_seat_gone", {"status": str(was)})
        return "no_seat"
    enrolment.payment_method = method
    if prices.owed(enrolment) > 0 and not confirm_with_balance:
        return "partial"
    if agreements.missing(enrolment):
        return "agreements_due"  # the hold stands; accepting the last one confirms (self_service)
    enrolment.move_to(S.CONFIRMED)
    publish(events.Confirmed(enrolment))
    return "confirmed"


def cancel_with_cohort(cohort: Cohort, staff) -> None:
    """The cohort was cancelled: cancel every active enrolment, refunding in full (under its lock)."""
    require_lock("cohort", cohort.id)
    active = db.session.scalars(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.status.in_(ACTIVE)).order_by(Enrolment.id)
    ).all()
    held = accounts([e.id for e in active])
    for enrolment in active:
        before = snapshot(enrolment)
        enrolment.move_to(S.CANCELLED)
        refund = refunded(enrolment, held[enrolment.id].net_paid, "cohort_cancelled", staff)
        publish(events.CancelledWithCohort(enrolment, refund))
        record(enrolment, staff, "cohort_cancelled", before, refund=refund)


def cohorts_with_lapsed(at) -> list[str]:
    """Ids of cohorts that have a lapsed hold or offer still marked as holding."""
    return list(db.session.scalars(select(Enrolment.cohort_id).where(Enrolment.lapsed(at)).distinct()))


def settle_cohort(cohort_id: str) -> int:
    """Expire one cohort's lapsed holds and offers and cascade offers; returns how many expired.

    On PostgreSQL a cohort another worker is settling is skipped (SKIP LOCKED); on
    SQLite the write transaction serialises workers, and the second finds nothing lapsed.
    """
    with write_transaction():
        locked = lock(Cohort, cohort_id, skip_locked=True)
        if not locked:
            return 0
        cohort = locked[0]
        expired = expire_lapsed(cohort, clock.now())
        if expired:
            offer_free_seats(cohort)
    return len(expired)
