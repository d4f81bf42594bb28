"""The participant's own enrolment (the manage page, or the API with the manage token):
seeing it, withdrawing, accepting or declining an offered seat, accepting the program's
agreements. Staff may act for them, except in signing an agreement.
"""

import hmac

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..cohorts.agreements import get_agreement
from ..foundation import clock
from ..foundation.database import write_transaction
from ..foundation.errors import Conflict, Forbidden, Invalid, NotFound
from ..foundation.events import publish
from ..foundation.extensions import db
from ..foundation.money import format_money
from . import agreements, events, prices
from .audit import iso, record, snapshot
from .enrolling import hold_seat
from .models import ACTIVE, AgreementAcceptance, Enrolment
from .models import EnrolmentStatus as S
from .paying import current_payment, payment_after_commit, pays_by_card
from .refunding import refund_due, refunded
from .seat_keeping import apply_payment, offer_free_seats
from .views import EnrolmentView, describe, load_enrolment, lock_enrolment, view, waitlist_position


def manage_token_matches(enrolment_id: str, token: str | None) -> bool:
    """Whether `token` is this enrolment's manage token (constant time; False for an unknown id)."""
    if not token or not enrolment_id or "\x00" in enrolment_id + token:
        return False
    stored = db.session.scalar(select(Enrolment.manage_token).where(Enrolment.id == enrolment_id))
    return stored is not None and hmac.compare_digest(stored.encode(), token.encode())


def locale_of(enrolment_id: str) -> str | None:
    """The language the person chose for their page (en, es), or None."""
    return db.session.scalar(select(Enrolment.locale).where(Enrolment.id == enrolment_id))


def cohort_of(enrolment_id: str) -> str | None:
    """The cohort an enrolment id belongs to, or None for an id that is not one."""
    return db.session.scalar(select(Enrolment.cohort_id).where(Enrolment.id == enrolment_id))


def get_enrolment(enrolment_id: str) -> EnrolmentView:
    """One enrolment with its cohort's sessions; position when waitlisted, how to pay when held."""
    enrolment = load_enrolment(enrolment_id)
    return view(
        enrolment,
        waitlist_position(enrolment),
        payment=current_payment(enrolment),
        extras=describe([enrolment])[enrolment.id],
    )


def withdraw(enrolment_id: str, staff=None, refund_amount: int | None = None) -> EnrolmentView:
    """Withdraw an enrolment, refunding by the policy (staff may override the amount)."""
    if refund_amount is not None and staff is None:
        raise Forbidden("Only staff may set refund_amount; leave it out to get the refund the policy gives.")
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        at = clock.now()
        before = snapshot(enrolment)
        held = enrolment.holds_seat(at)
        if enrolment.status in (S.PENDING_PAYMENT, S.OFFERED) and not held:
            if enrolment.status == S.PENDING_PAYMENT:
                raise Conflict(_l("This enrolment's held seat has already expired; there is nothing to withdraw."))
            raise Conflict(_l("This enrolment's offer has already expired; there is nothing to withdraw."))
        held_money = prices.account_of(enrolment).net_paid
        if refund_amount is not None and refund_amount > held_money:
            raise Invalid.field(
                "refund_amount",
                f"{format_money(held_money, enrolment.cohort.currency)} ({held_money}) was paid and not yet "
                "refunded; a refund cannot be more than that.",
            )
        enrolment.move_to(S.WITHDRAWN)
        amount = refund_amount if refund_amount is not None else refund_due(enrolment, at)
        refund = refunded(enrolment, amount, "withdrawn", staff)
        publish(events.Withdrawn(enrolment, refund))
        record(enrolment, staff, "withdrawn", before, refund=refund)
        if held:
            offer_free_seats(enrolment.cohort)
    return view(enrolment, refund=refund)


def _check_offer_open(enrolment: Enrolment, at, verb: str) -> None:
    if enrolment.status != S.OFFERED:
        raise Conflict(f"Only an offered seat can be {verb}; this enrolment is {enrolment.status}.")
    if enrolment.offer_expires_at <= at:
        raise Conflict(
            f"The offer expired at {enrolment.offer_expires_at:%Y-%m-%dT%H:%M:%SZ}; it can no longer be {verb}."
        )


def accept(enrolment_id: str, staff=None, pay_at_desk: bool | None = None) -> EnrolmentView:
    """Accept an offered seat: a hold pending payment, or confirmed when nothing is owed.

    Accepting never shortens the person's time: the hold lasts until the later of the
    offer's deadline and the hold for the way they pay.
    """
    card = None
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        at = clock.now()
        _check_offer_open(enrolment, at, "accepted")
        before = snapshot(enrolment)
        cohort = enrolment.cohort
        by_card = pays_by_card(cohort, pay_at_desk)
        offer_deadline = enrolment.offer_expires_at
        owed = prices.owed(enrolment)
        if owed > 0 or agreements.missing(enrolment):  # held while they pay, or accept the agreements
            enrolment.move_to(S.PENDING_PAYMENT)
            by_card = by_card and owed > 0
            card = hold_seat(enrolment, cohort, at, by_card=by_card, keep_until=offer_deadline, staff=staff)
        else:
            enrolment.move_to(S.CONFIRMED)
            publish(events.Confirmed(enrolment))
        record(enrolment, staff, "accepted", before, hold_expires_at=iso(enrolment.hold_expires_at))
    return view(enrolment, payment=payment_after_commit(card, enrolment))


def decline(enrolment_id: str, staff=None) -> EnrolmentView:
    """Decline an offered seat; it goes to the next person waiting."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        _check_offer_open(enrolment, clock.now(), "declined")
        before = snapshot(enrolment)
        enrolment.move_to(S.WITHDRAWN)
        publish(events.Withdrawn(enrolment, None))
        record(enrolment, staff, "declined", before)
        offer_free_seats(enrolment.cohort)
    return view(enrolment)


def accept_agreements(enrolment_id: str, agreement_ids: list[str], full_name: str) -> list[AgreementAcceptance]:
    """The person accepts these versions of their program's agreements, signing with their full name.

    Each is stored with its version, its text's hash and the time; one accepted already is
    returned as it was (nothing changes). A held seat with nothing left to pay is confirmed
    once the last current agreement is accepted.
    """
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        chosen = []
        for agreement_id in agreement_ids:
            agreement = get_agreement(agreement_id)
            if agreement is None or agreement.program_id != enrolment.cohort.program_id:
                raise NotFound("No such agreement in this enrolment's program.")
            chosen.append(agreement)
        at = clock.now()
        done, new = [], []
        for agreement in chosen:
            acceptance = agreements.acceptance_of(enrolment.id, agreement.id)
            if acceptance is None:
                _check_can_agree(enrolment, agreement, at)
                acceptance = agreements.add_acceptance(enrolment, agreement, full_name)
                new.append(agreement)
            done.append(acceptance)
        if new:
            before = snapshot(enrolment)
            if enrolment.status == S.PENDING_PAYMENT and prices.owed(enrolment) <= 0:
                apply_payment(enrolment, method=enrolment.payment_method)  # confirmed if none is missing now
            record(enrolment, None, "agreements_accepted", before, agreements=agreements.noted(new))
    return done


def _check_can_agree(enrolment: Enrolment, agreement, at) -> None:
    if enrolment.status not in ACTIVE:
        raise Conflict(f"This enrolment is {enrolment.status}; there is nothing left to agree to.")
    if enrolment.status in (S.PENDING_PAYMENT, S.OFFERED) and not enrolment.holds_seat(at):
        what = "held seat" if enrolment.status == S.PENDING_PAYMENT else "offer"
        raise Conflict(f"This enrolment's {what} has expired; enrol again to get a new one.")
    if agreement.superseded_at is not None:
        raise Conflict(
            f"Version {agreement.version} of {agreement.title} was replaced by a newer one; "
            "read and accept the current version."
        )
