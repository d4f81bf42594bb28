"""Enrolling a person: confirmed, a seat held pending payment, or waitlisted.

One write transaction under the cohort's lock; a retry with the same Idempotency-Key returns
the enrolment the first request made. What need not be under the lock (finding the participant)
is done before it is taken.
"""

import hashlib
import json
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..cohorts.joining import check_can_enrol
from ..cohorts.models import Cohort
from ..foundation import clock
from ..foundation.database import dialect_insert, lock_one, new_id, require_lock, write_transaction
from ..foundation.errors import Conflict, Invalid
from ..foundation.events import publish
from ..foundation.extensions import db
from ..payments import ledger
from ..payments.accounts import Account
from ..payments.models import Payment
from . import agreements, events, prices
from .audit import record
from .models import ACTIVE, Enrolment, IdempotencyRecord, Participant, normalise_email
from .models import EnrolmentStatus as S
from .paying import current_payment, payment_after_commit, pays_by_card, take_desk_payment, tell_held
from .seat_keeping import settle
from .seats import seats_for_enrolling
from .views import EnrolmentView, load_enrolment, view, waitlist_position


def enrol(cohort_id: str, data: dict, staff=None, idempotency_key: str | None = None) -> EnrolmentView:
    """Enrol a person: confirmed, pending_payment with a hold, or waitlisted.

    With an Idempotency-Key, a retry of the same request returns the same enrolment.
    """
    request_hash = _request_hash(data)
    scope, replay = f"enrol:{cohort_id}", None
    # Everything that need not be under the cohort's lock is done before it is taken:
    # finding (or, in this transaction, adding) the participant.
    known = known_participant(data["email"])
    with write_transaction(keep_loaded=True):  # the answer is what this wrote: not read again
        participant = participant_for(data["email"], known)
        cohort = lock_one(Cohort, cohort_id)
        if idempotency_key:
            previous = db.session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope, IdempotencyRecord.key == idempotency_key
                )
            )
            if previous is not None and previous.request_hash != request_hash:
                raise Conflict(
                    _l(
                        "This Idempotency-Key was already used for a different request; "
                        "use a new key for a new enrolment."
                    )
                )
            replay = previous.enrolment_id if previous is not None else None
        made = enrol_locked(cohort, data, staff, participant) if replay is None else None
        if made is not None:
            enrolment, card, position = made
            if idempotency_key:
                db.session.add(
                    IdempotencyRecord(
                        scope=scope, key=idempotency_key, request_hash=request_hash, enrolment_id=enrolment.id
                    )
                )
    if replay is not None:
        return _replayed(replay)
    if made is None:
        raise Conflict(_l("This email is already enrolled or waiting in this cohort; we have sent it a message."))
    if data.get("desk_payment") is None:
        # Nothing was paid or refunded for an enrolment this moment old (a card payment is
        # still pending): its account is empty, no need to read the ledger.
        payment = payment_after_commit(card, enrolment, Account())
        return EnrolmentView(enrolment, position, payment=payment, loaded_account=Account())
    return view(enrolment, position, payment=payment_after_commit(card, enrolment))


def enrol_locked(
    cohort: Cohort, data: dict, staff, participant: tuple[str, bool], *, unopened: bool = False
) -> tuple[Enrolment, Payment | None, int | None] | None:
    """Enrol under the cohort's lock; None when the address already has an active enrolment here.

    `unopened`: a public request from the inbox, answered only "check your email": every email
    says so and carries the link, and a seat is held at most confirm_email_minutes until the
    link is opened (requested.open_link), with no card payment opened before then.
    """
    at = clock.now()
    # The lock was just taken and no session changed: the stored bounds are the sessions'.
    # The public may enrol until session enrol_until_session starts, staff until the last one.
    check_can_enrol(cohort, at, by_staff=staff is not None)
    desk_payment = data.get("desk_payment")
    if desk_payment is not None and staff is None:
        raise Invalid.field("desk_payment", "Only the front desk records payments; leave desk_payment out.")
    by_card = pays_by_card(cohort, data.get("pay_at_desk")) and desk_payment is None
    if desk_payment is not None and desk_payment.get("amount", 0) <= 0 and not desk_payment.get("confirm_with_balance"):
        raise Invalid.field("desk_payment", "Give the amount taken (above 0), or confirm_with_balance: true.")
    seats = seats_for_enrolling(cohort, at)
    if seats.lapsed:
        settle(cohort, at)
        seats = seats_for_enrolling(cohort, at)
    participant_id, new_person = participant
    already = None
    if not new_person:
        already = db.session.scalar(
            select(Enrolment).where(
                Enrolment.cohort_id == cohort.id,
                Enrolment.participant_id == participant_id,
                Enrolment.status.in_(ACTIVE),
            )
        )
    if already is not None:
        # Whoever sent this may not own the address: the answer says nothing of that
        # enrolment's state; its owner hears of the attempt by email (committed, then 409).
        publish(events.EnrolAgainAttempted(already, answers_request=unopened))
        return None
    # The price (level, discount code) is settled under the cohort's lock: the code's last use
    # is taken by one enrolment only, however many race for it.
    price = prices.price_for(cohort, data, staff, at)
    counts = seats.count
    enrolment = Enrolment(
        id=new_id("enr"),
        cohort=cohort,
        participant_id=participant_id,
        name=data["name"],
        email=data["email"],
        phone=data.get("phone"),
        timezone=data.get("timezone"),
        locale=data.get("locale"),
        created_at=at,
        updated_at=at,
        # Whoever got the manage token in the answer (a staff caller, the public 201) has the link.
        email_confirmed_at=None if unopened else at,
    )
    prices.apply_price(enrolment, price)
    card, position = None, None
    # Nothing to pay and no agreement to accept: confirmed at once; else the seat is held for both.
    to_agree = counts.free_for_newcomers and enrolment.amount_due == 0 and agreements.has_current(cohort.program_id)
    if counts.free_for_newcomers:  # a newcomer takes a seat only when nobody is waiting for it
        enrolment.status = S.PENDING_PAYMENT if enrolment.amount_due > 0 or to_agree else S.CONFIRMED
    elif desk_payment is not None:
        raise Conflict(
            _l("No seat is free in this cohort; enrol the person without desk_payment to join the waitlist.")
        )
    else:
        enrolment.status = S.WAITLISTED
        enrolment.waitlist_rank = seats.next_rank
    if enrolment.status == S.PENDING_PAYMENT:
        # Staff enrolling and taking payment in one go: one email, for where it ends.
        # Nothing is paid for an enrolment this moment old: its ledger is empty, not read.
        card = hold_seat(
            enrolment,
            cohort,
            at,
            by_card=by_card and enrolment.amount_due > 0,  # a free seat held for agreements: no card
            tell=desk_payment is None,
            staff=staff,
            account=Account(),
            unopened=unopened,
        )
    else:
        _write(enrolment)
        if enrolment.status == S.CONFIRMED:
            enrolment.confirmed_at = at
            if desk_payment is None:
                publish(events.Confirmed(enrolment, account=Account(), answers_request=unopened))
        else:
            position = counts.waitlisted + 1
            publish(events.Waitlisted(enrolment, position, answers_request=unopened))
    record(enrolment, staff, "enrolled", None, **_price_note(enrolment))
    if desk_payment is not None:
        take_desk_payment(enrolment, cohort, at, desk_payment, staff, tell_hold=True)
    return enrolment, card, position


def hold_seat(
    enrolment: Enrolment,
    cohort: Cohort,
    at,
    *,
    by_card: bool,
    keep_until=None,
    tell: bool = True,
    staff=None,
    account: Account | None = None,
    unopened: bool = False,
) -> Payment | None:
    """Start a hold pending payment; returns the card payment row whose intent comes after commit.

    A card payment holds the seat hold_minutes; payment by hand (no Stripe, or the desk)
    holds it manual_hold_hours. `keep_until` (an accepted offer's deadline) is never cut short.
    `account`: the enrolment's ledger when the caller has it (a new enrolment's is empty).
    `unopened`: a public request whose emailed link is not opened yet: the seat is held
    confirm_email_minutes at most and no payment is opened (open_link starts both).
    """
    length = hold_length(cohort, by_card)
    if unopened:
        length = min(length, timedelta(minutes=cohort.confirm_email_minutes))
    enrolment.hold_expires_at = max(at + length, keep_until) if keep_until is not None else at + length
    enrolment.pays_at_desk = not by_card
    _write(enrolment)
    account = account if account is not None else prices.account_of(enrolment)
    owed = enrolment.owes(account)
    card = ledger.open_card_payment(enrolment.id, owed, cohort.currency) if by_card and not unopened else None
    if tell:
        tell_held(enrolment, staff, account, answers_request=unopened)
    return card


def offer_place(cohort: Cohort, person: dict, participant_id: str, at, staff=None) -> Enrolment | None:
    """Offer a seat of this cohort to someone not yet enrolled in it (the admission queue's offers),
    under the cohort's lock: an `offered` enrolment at the cohort's price, told by email, accepted
    and paid as an offer from the waitlist. None when the person already has an active place here.
    """
    require_lock("cohort", cohort.id)
    active = db.session.scalar(
        select(Enrolment.id).where(
            Enrolment.cohort_id == cohort.id,
            Enrolment.participant_id == participant_id,
            Enrolment.status.in_(ACTIVE),
        )
    )
    if active is not None:
        return None
    enrolment = Enrolment(
        id=new_id("enr"),
        cohort=cohort,
        participant_id=participant_id,
        name=person["name"],
        email=person["email"],
        phone=person.get("phone"),
        timezone=person.get("timezone"),
        locale=person.get("locale"),
        created_at=at,
        updated_at=at,
        status=S.OFFERED,
        offer_expires_at=at + timedelta(hours=cohort.offer_hours),
    )
    prices.apply_price(enrolment, prices.price_for(cohort, {}, staff, at))
    _write(enrolment)
    publish(events.SeatOffered(enrolment))
    record(enrolment, staff, "offered_from_queue", None)
    return enrolment


def hold_length(cohort: Cohort, by_card: bool) -> timedelta:
    """How long a seat is held for payment: hold_minutes by card, manual_hold_hours by hand."""
    return timedelta(minutes=cohort.hold_minutes) if by_card else timedelta(hours=cohort.manual_hold_hours)


def _price_note(enrolment: Enrolment) -> dict:
    """How the price was made, for the audit log."""
    note = {}
    if enrolment.price_level:
        note["price_level"] = enrolment.price_level
    if enrolment.discount_code_id:
        note.update(discount_code=enrolment.discount_code.code, discount_amount=enrolment.discount_amount)
    return note


def _replayed(enrolment_id: str) -> EnrolmentView:
    """The enrolment an earlier request with the same Idempotency-Key made, as it stands."""
    enrolment = load_enrolment(enrolment_id)
    payment = current_payment(enrolment)
    if payment and payment.get("status") == "unavailable":
        # The first request could not reach Stripe: try again now (the same key, the same intent).
        latest = db.session.scalar(
            select(Payment.id).where(Payment.enrolment_id == enrolment.id).order_by(Payment.created_at.desc())
        )
        payment = ledger.create_intent(latest, enrolment.cohort_id)
    return view(enrolment, waitlist_position(enrolment), payment=payment)


def known_participant(email: str) -> str | None:
    """The id of the participant with this email, if known: looked up before any lock is taken."""
    return db.session.scalar(select(Participant.id).where(Participant.email_normalised == normalise_email(email)))


def participant_for(email: str, known_id: str | None) -> tuple[str, bool]:
    """The participant id for this email and whether it is new: created if so (one statement, safe under races)."""
    if known_id is not None:
        return known_id, False
    normalised = normalise_email(email)
    created = db.session.scalar(
        dialect_insert(Participant.__table__)
        .values(id=new_id("par"), email_normalised=normalised, created_at=clock.now())
        .on_conflict_do_nothing(index_elements=["email_normalised"])
        .returning(Participant.id)
    )
    if created is not None:
        return created, True
    # Someone enrolling in another cohort created it a moment ago.
    return db.session.scalar(select(Participant.id).where(Participant.email_normalised == normalised)), False


def _write(enrolment: Enrolment) -> None:
    # Rows that name it (audit, outbox, payments) carry only its id: insert it first.
    db.session.add(enrolment)
    db.session.flush()


def _request_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
