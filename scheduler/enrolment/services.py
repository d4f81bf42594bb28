"""Enrolment use cases. Each public function is one write transaction under the cohort's lock.

Lock, recount, write: every change that can take or free a seat runs inside
write_transaction(), first takes the cohort row's lock (lock_enrolment /
lock_cohort), then counts seats from the enrolment rows (seats.py), then writes.
Lapsed holds and offers already count as free; `_settle` also marks them expired
and offers their seats to the waitlist, so that nobody waiting is skipped by a
newcomer. Stripe is called only after the commit (payments.ledger.create_intent).

People hear of every change through events (events.py) that the notifications
domain subscribes to; staff actions are written to the audit log here.
"""

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import clock
from ..cohorts.models import Cohort, CohortStatus
from ..cohorts.services import get_cohort, lock_cohort
from ..database import (
    Page,
    dialect_insert,
    new_id,
    new_token,
    paginate,
    require_lock,
    require_write,
    write_transaction,
)
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..events import publish
from ..extensions import db
from ..money import format_money
from ..payments import gateway, ledger, receipts
from ..payments.accounts import Account, accounts
from ..payments.models import Payment, PaymentStatus, Provider, Refund, RefundStatus
from . import events, prices
from .models import (
    ACTIVE,
    SEAT_STATUSES,
    AuditEntry,
    Enrolment,
    IdempotencyRecord,
    Participant,
    normalise_email,
)
from .models import EnrolmentStatus as S
from .seats import seat_counts, seats_for_enrolling


@dataclass(frozen=True)
class EnrolmentView:
    """An enrolment as a use case leaves it: the row, plus what the row does not store."""

    enrolment: Enrolment
    waitlist_position: int | None = None
    payment: dict | None = None
    refund: dict | None = None
    # Its payments and refunds (the ledger), loaded with the view (lists load a page's at once).
    loaded_account: Account | None = None
    # What a transfer did to the money, explained (set by transfer()).
    transfer: dict | None = None
    # What higher domains know of it (attendance: per-session records, missed run, flag).
    extras: dict = field(default_factory=dict)

    def __getattr__(self, name):  # the row's own fields, for the schemas
        return getattr(self.enrolment, name)

    @property
    def account(self) -> Account:
        return self.loaded_account if self.loaded_account is not None else self.enrolment.account

    @property
    def amount_paid(self) -> int:
        return self.account.paid

    @property
    def amount_refunded(self) -> int:
        return self.account.refunded

    @property
    def balance(self) -> int:
        return self.enrolment.owes(self.account)


def view(enrolment: Enrolment, position: int | None = None, **extra) -> EnrolmentView:
    """An enrolment as a use case returns it, with its account read fresh from the ledger."""
    return EnrolmentView(enrolment, position, loaded_account=prices.account_of(enrolment), **extra)


def views(enrolments, positions: dict | None = None, extras: dict | None = None) -> list[EnrolmentView]:
    """Views of many enrolments, with every account loaded in two queries (lists stay constant)."""
    loaded = accounts([e.id for e in enrolments])
    return [
        EnrolmentView(e, (positions or {}).get(e.id), loaded_account=loaded[e.id], extras=(extras or {}).get(e.id, {}))
        for e in enrolments
    ]


# Higher domains describe enrolments too (attendance registers one): `describer(enrolments)
# -> {enrolment_id: {field: value}}`, for a whole list in a constant number of queries.
_describers: list[Callable[[list[Enrolment]], dict[str, dict]]] = []


def describe_with(describer: Callable[[list[Enrolment]], dict[str, dict]]):
    """Register a describer whose fields every enrolment view and roster row carries."""
    if describer not in _describers:
        _describers.append(describer)
    return describer


def _extras(enrolments: list[Enrolment]) -> dict[str, dict]:
    merged: dict[str, dict] = {e.id: {} for e in enrolments}
    if enrolments:
        for describer in _describers:
            for enrolment_id, values in describer(enrolments).items():
                merged[enrolment_id].update(values)
    return merged


# ---- helpers ----------------------------------------------------------------------------------


def _snapshot(enrolment: Enrolment, **extra) -> dict:
    # Columns only (no ledger read per entry: attendance audits a whole session at once);
    # the actions that move money add what was paid and what is left (paid_now, balance, refund).
    snap = {"status": str(enrolment.status), "amount_due": enrolment.amount_due, "cohort_id": enrolment.cohort_id}
    snap.update(extra)
    return snap


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
            after=_snapshot(enrolment, **extra),
        )
    )


def _load(enrolment_id: str) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound("No such enrolment.")
    return enrolment


def lock_enrolment(enrolment_id: str) -> Enrolment:
    """Lock the enrolment's cohort row and return the enrolment (NotFound otherwise).

    Runs inside write_transaction(); the cohort lock is what serialises every seat change.
    """
    require_write()
    cohort_id = db.session.scalar(select(Enrolment.cohort_id).where(Enrolment.id == enrolment_id))
    if cohort_id is None:
        raise NotFound("No such enrolment.")
    lock_cohort(cohort_id)
    enrolment = _load(enrolment_id)
    # The cohort may have changed (a transfer) between the read above and the lock.
    if enrolment.cohort_id != cohort_id:
        lock_cohort(enrolment.cohort_id)
    return enrolment


def _first_session_started(cohort: Cohort, at) -> bool:
    first = cohort.first_session_start()
    return first is not None and first <= at


def _expire_lapsed(cohort: Cohort, at) -> list[Enrolment]:
    """Mark this cohort's lapsed holds and offers expired (under the cohort's lock)."""
    require_lock("cohort", cohort.id)
    lapsed = db.session.scalars(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.lapsed(at)).order_by(Enrolment.id)
    ).all()
    held = accounts([e.id for e in lapsed])
    for enrolment in lapsed:
        before = _snapshot(enrolment)
        was = enrolment.status
        enrolment.move_to(S.EXPIRED)
        # Part paid at the desk and the rest never came: what was paid goes back.
        refund = _refunded(enrolment, held[enrolment.id].net_paid, "hold_lapsed", None)
        record(enrolment, None, "expired", before, refund=refund)
        publish(events.HoldExpired(enrolment, refund) if was == S.PENDING_PAYMENT else events.OfferExpired(enrolment))
    return lapsed


def _settle(cohort: Cohort, at) -> None:
    """Expire what lapsed and offer the freed seats, before anything else looks at seats."""
    if _expire_lapsed(cohort, at):
        offer_free_seats(cohort)


def _offer(enrolment: Enrolment, cohort: Cohort, at, *, tell: bool = True) -> None:
    enrolment.move_to(S.OFFERED)
    enrolment.offer_expires_at = at + timedelta(hours=cohort.offer_hours)
    if tell:
        publish(events.SeatOffered(enrolment))


def offer_free_seats(cohort: Cohort) -> list[Enrolment]:
    """Offer every free seat to the head of the waitlist (under the cohort's lock).

    Offers stop once the first session has started; staff may still offer by hand.
    """
    require_lock("cohort", cohort.id)
    at = clock.now()
    if _first_session_started(cohort, at) or cohort.status == CohortStatus.CANCELLED:
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
        before = _snapshot(enrolment)
        _offer(enrolment, cohort, at)
        record(enrolment, None, "offered", before)
    return list(heads)


def _positions(cohort_ids: set[str]) -> dict[str, int]:
    """Waitlist position (1 is next) of every waitlisted enrolment of these cohorts, in one query."""
    positions: dict[str, int] = {}
    if cohort_ids:
        rows = db.session.execute(
            select(Enrolment.id, Enrolment.cohort_id)
            .where(Enrolment.cohort_id.in_(cohort_ids), Enrolment.status == S.WAITLISTED)
            .order_by(Enrolment.cohort_id, Enrolment.waitlist_rank, Enrolment.id)
        )
        counter: dict[str, int] = {}
        for eid, cid in rows:
            counter[cid] = counter.get(cid, 0) + 1
            positions[eid] = counter[cid]
    return positions


def waitlist_position(enrolment: Enrolment) -> int | None:
    """1 for the next in line; None unless waitlisted."""
    if enrolment.status != S.WAITLISTED:
        return None
    return _positions({enrolment.cohort_id}).get(enrolment.id)


def _known_participant(email: str) -> str | None:
    """The id of the participant with this email, if known: looked up before any lock is taken."""
    return db.session.scalar(select(Participant.id).where(Participant.email_normalised == normalise_email(email)))


def _participant_for(email: str, known_id: str | None) -> tuple[str, bool]:
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


# ---- paying for a held seat: the row under the lock, Stripe after the commit ------------------


def pays_by_card(cohort: Cohort, pay_at_desk: bool | None) -> bool:
    """Card when Stripe is set up, unless the person chose the desk where the cohort allows it."""
    if not gateway.configured():
        return False
    if pay_at_desk and not cohort.allow_pay_at_desk:
        raise Invalid.field("pay_at_desk", "This group takes payment by card; paying at the front desk is not offered.")
    return not pay_at_desk


def _hold_seat(
    enrolment: Enrolment, cohort: Cohort, at, *, by_card: bool, keep_until=None, tell: bool = True, staff=None
) -> Payment | None:
    """Start a hold pending payment; returns the card payment row whose intent comes after commit.

    A card payment holds the seat hold_minutes; payment by hand (no Stripe, or the desk)
    holds it manual_hold_hours. `keep_until` (an accepted offer's deadline) is never cut short.
    """
    length = timedelta(minutes=cohort.hold_minutes) if by_card else timedelta(hours=cohort.manual_hold_hours)
    enrolment.hold_expires_at = max(at + length, keep_until) if keep_until is not None else at + length
    enrolment.pays_at_desk = not by_card
    _write(enrolment)
    owed = prices.owed(enrolment)
    card = ledger.open_card_payment(enrolment.id, owed, cohort.currency) if by_card else None
    if tell:
        _tell_held(enrolment, staff)
    return card


def _tell_held(enrolment: Enrolment, staff=None) -> None:
    """Publish SeatHeld with how to pay what is owed now (staff-made holds are told after a delay)."""
    owed, currency = prices.owed(enrolment), enrolment.cohort.currency
    if enrolment.pays_at_desk:
        how = ledger.manual_instructions(owed, currency)
    else:
        how = {"provider": "stripe", "amount": owed, "currency": currency}
    publish(events.SeatHeld(enrolment, how, by_staff=staff is not None))


def _payment_after_commit(card: Payment | None, enrolment: Enrolment) -> dict | None:
    """The `payment` a held seat shows: Stripe's intent, created now that no lock is held."""
    if card is not None and enrolment.status in (S.PENDING_PAYMENT, S.CONFIRMED):
        return ledger.create_intent(card.id, enrolment.cohort_id)
    if enrolment.status != S.PENDING_PAYMENT:
        return None
    return ledger.manual_instructions(prices.owed(enrolment), enrolment.cohort.currency)


def current_payment(enrolment: Enrolment) -> dict | None:
    """How to pay for a held seat now (read only): the latest open card payment, or by hand."""
    if enrolment.status != S.PENDING_PAYMENT:
        return None
    latest = None
    if not enrolment.pays_at_desk:
        latest = db.session.scalar(
            select(Payment)
            .where(Payment.enrolment_id == enrolment.id, Payment.provider == Provider.STRIPE)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(1)
        )
    if latest is None or latest.status in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELLED):
        return ledger.manual_instructions(prices.owed(enrolment), enrolment.cohort.currency)
    return ledger.instructions(latest)


# ---- enrol ------------------------------------------------------------------------------------


def enrol(cohort_id: str, data: dict, staff=None, idempotency_key: str | None = None) -> EnrolmentView:
    """Enrol a person: confirmed, pending_payment with a hold, or waitlisted.

    With an Idempotency-Key, a retry of the same request returns the same enrolment.
    """
    request_hash = _request_hash(data)
    scope, replay = f"enrol:{cohort_id}", None
    # Everything that need not be under the cohort's lock is done before it is taken.
    known_participant = _known_participant(data["email"])
    with write_transaction():
        cohort = lock_cohort(cohort_id)
        if idempotency_key:
            previous = db.session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope, IdempotencyRecord.key == idempotency_key
                )
            )
            if previous is not None and previous.request_hash != request_hash:
                raise Conflict(
                    "This Idempotency-Key was already used for a different request; use a new key for a new enrolment."
                )
            replay = previous.enrolment_id if previous is not None else None
        made = _enrol_locked(cohort, data, staff, known_participant) if replay is None else None
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
        raise Conflict("This email is already enrolled or waiting in this cohort; we have sent it a message.")
    return view(enrolment, position, payment=_payment_after_commit(card, enrolment))


def _enrol_locked(
    cohort: Cohort, data: dict, staff, known_participant: str | None
) -> tuple[Enrolment, Payment | None, int | None] | None:
    """Enrol under the cohort's lock; None when the address already has an active enrolment here."""
    at = clock.now()
    status = cohort.display_status(at)
    if status != CohortStatus.OPEN:
        if status == CohortStatus.DRAFT:
            raise NotFound("No such cohort.")  # a draft is not public: do not reveal it exists
        raise Conflict(f"This cohort is {status}, not open for enrolment.")
    desk_payment = data.get("desk_payment")
    if desk_payment is not None and staff is None:
        raise Invalid.field("desk_payment", "Only the front desk records payments; leave desk_payment out.")
    by_card = pays_by_card(cohort, data.get("pay_at_desk")) and desk_payment is None
    if desk_payment is not None and desk_payment.get("amount", 0) <= 0 and not desk_payment.get("confirm_with_balance"):
        raise Invalid.field("desk_payment", "Give the amount taken (above 0), or confirm_with_balance: true.")
    seats = seats_for_enrolling(cohort, at)
    if seats.lapsed:
        _settle(cohort, at)
        seats = seats_for_enrolling(cohort, at)
    participant_id, new_person = _participant_for(data["email"], known_participant)
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
        publish(events.EnrolAgainAttempted(already))
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
        created_at=at,
        updated_at=at,
    )
    prices.apply_price(enrolment, price)
    card, position = None, None
    if counts.free_for_newcomers:  # a newcomer takes a seat only when nobody is waiting for it
        enrolment.status = S.PENDING_PAYMENT if enrolment.amount_due > 0 else S.CONFIRMED
    elif desk_payment is not None:
        raise Conflict("No seat is free in this cohort; enrol the person without desk_payment to join the waitlist.")
    else:
        enrolment.status = S.WAITLISTED
        enrolment.waitlist_rank = seats.next_rank
    if enrolment.status == S.PENDING_PAYMENT:
        # Staff enrolling and taking payment in one go: one email, for where it ends.
        card = _hold_seat(enrolment, cohort, at, by_card=by_card, tell=desk_payment is None, staff=staff)
    else:
        _write(enrolment)
        if enrolment.status == S.CONFIRMED:
            enrolment.confirmed_at = at
            if desk_payment is None:
                publish(events.Confirmed(enrolment))
        else:
            position = counts.waitlisted + 1
            publish(events.Waitlisted(enrolment, position))
    record(enrolment, staff, "enrolled", None, **_price_note(enrolment))
    if desk_payment is not None:
        _take_desk_payment(enrolment, cohort, at, desk_payment, staff, tell_hold=True)
    return enrolment, card, position


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
    enrolment = _load(enrolment_id)
    payment = current_payment(enrolment)
    if payment and payment.get("status") == "unavailable":
        # The first request could not reach Stripe: try again now (the same key, the same intent).
        latest = db.session.scalar(
            select(Payment.id).where(Payment.enrolment_id == enrolment.id).order_by(Payment.created_at.desc())
        )
        payment = ledger.create_intent(latest, enrolment.cohort_id)
    return view(enrolment, waitlist_position(enrolment), payment=payment)


# ---- participant (or staff) actions ---------------------------------------------------------


def manage_token_matches(enrolment_id: str, token: str | None) -> bool:
    """Whether `token` is this enrolment's manage token (constant time; False for an unknown id)."""
    if not token or not enrolment_id or "\x00" in enrolment_id + token:
        return False
    stored = db.session.scalar(select(Enrolment.manage_token).where(Enrolment.id == enrolment_id))
    return stored is not None and hmac.compare_digest(stored.encode(), token.encode())


def get_enrolment(enrolment_id: str) -> EnrolmentView:
    """One enrolment with its cohort's sessions; position when waitlisted, how to pay when held."""
    enrolment = _load(enrolment_id)
    return view(
        enrolment,
        waitlist_position(enrolment),
        payment=current_payment(enrolment),
        extras=_extras([enrolment])[enrolment.id],
    )


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


def _refunded(enrolment: Enrolment, amount: int, reason: str, staff) -> dict | None:
    summary = ledger.refund(enrolment.id, amount, reason, staff)
    return summary.as_dict() if summary else None


def withdraw(enrolment_id: str, staff=None, refund_amount: int | None = None) -> EnrolmentView:
    """Withdraw an enrolment, refunding by the policy (staff may override the amount)."""
    if refund_amount is not None and staff is None:
        raise Forbidden("Only staff may set refund_amount; leave it out to get the refund the policy gives.")
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        at = clock.now()
        before = _snapshot(enrolment)
        held = enrolment.holds_seat(at)
        if enrolment.status in (S.PENDING_PAYMENT, S.OFFERED) and not held:
            what = "held seat" if enrolment.status == S.PENDING_PAYMENT else "offer"
            raise Conflict(f"This enrolment's {what} has already expired; there is nothing to withdraw.")
        held_money = prices.account_of(enrolment).net_paid
        if refund_amount is not None and refund_amount > held_money:
            raise Invalid.field(
                "refund_amount",
                f"{format_money(held_money, enrolment.cohort.currency)} ({held_money}) was paid and not yet "
                "refunded; a refund cannot be more than that.",
            )
        enrolment.move_to(S.WITHDRAWN)
        amount = refund_amount if refund_amount is not None else refund_due(enrolment, at)
        refund = _refunded(enrolment, amount, "withdrawn", staff)
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
        before = _snapshot(enrolment)
        cohort = enrolment.cohort
        by_card = pays_by_card(cohort, pay_at_desk)
        offer_deadline = enrolment.offer_expires_at
        if prices.owed(enrolment) > 0:
            enrolment.move_to(S.PENDING_PAYMENT)
            card = _hold_seat(enrolment, cohort, at, by_card=by_card, keep_until=offer_deadline, staff=staff)
        else:
            enrolment.move_to(S.CONFIRMED)
            publish(events.Confirmed(enrolment))
        record(enrolment, staff, "accepted", before, hold_expires_at=_iso(enrolment.hold_expires_at))
    return view(enrolment, payment=_payment_after_commit(card, enrolment))


def _iso(instant) -> str | None:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ") if instant else None


def decline(enrolment_id: str, staff=None) -> EnrolmentView:
    """Decline an offered seat; it goes to the next person waiting."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        _check_offer_open(enrolment, clock.now(), "declined")
        before = _snapshot(enrolment)
        enrolment.move_to(S.WITHDRAWN)
        publish(events.Withdrawn(enrolment, None))
        record(enrolment, staff, "declined", before)
        offer_free_seats(enrolment.cohort)
    return view(enrolment)


def retry_payment(enrolment_id: str) -> dict:
    """A fresh way to pay what is owed for a held seat (or the balance of a confirmed one).

    The hold is neither extended nor cut short; a person who chose the desk may pay by card after all.
    """
    card = None
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        owed = prices.owed(enrolment)
        if enrolment.status == S.CONFIRMED and owed <= 0:
            raise Conflict("This enrolment is paid in full; there is nothing to pay.")
        if enrolment.status not in (S.PENDING_PAYMENT, S.CONFIRMED):
            raise Conflict(f"Only an enrolment pending payment can be paid; this one is {enrolment.status}.")
        if enrolment.status == S.PENDING_PAYMENT and enrolment.hold_expires_at <= clock.now():
            raise Conflict(
                f"The hold expired at {enrolment.hold_expires_at:%Y-%m-%dT%H:%M:%SZ}; enrol again to get a new one."
            )
        if gateway.configured():
            card = ledger.open_card_payment(enrolment.id, owed, enrolment.cohort.currency)
            enrolment.pays_at_desk = False
        elif enrolment.status == S.CONFIRMED:
            return ledger.manual_instructions(owed, enrolment.cohort.currency)
    return _payment_after_commit(card, enrolment)


# ---- payments arriving (the webhook and the desk) ---------------------------------------------


def apply_payment(enrolment: Enrolment, *, method: str, confirm_with_balance: bool = False) -> str:
    """Confirm the seat once a payment the ledger holds settles what is owed (under the cohort's lock).

    Returns "confirmed", "partial" (a balance is left: the hold stands), "already_confirmed",
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
        before = _snapshot(enrolment)
        enrolment.move_to(S.CANCELLED)
        refund = _refunded(enrolment, held[enrolment.id].net_paid, "cohort_cancelled", staff)
        publish(events.CancelledWithCohort(enrolment, refund))
        record(enrolment, staff, "cohort_cancelled", before, refund=refund)


# ---- staff ------------------------------------------------------------------------------------


def search(query: dict) -> Page:
    """Enrolments by email (any case), cohort and status."""
    stmt = (
        select(Enrolment)
        .options(selectinload(Enrolment.cohort), selectinload(Enrolment.discount_code))
        .order_by(Enrolment.created_at.desc(), Enrolment.id)
    )
    if query.get("email"):
        stmt = stmt.join(Participant).where(Participant.email_normalised == normalise_email(query["email"]))
    if query.get("cohort_id"):
        stmt = stmt.where(Enrolment.cohort_id == query["cohort_id"])
    if query.get("status"):
        stmt = stmt.where(Enrolment.status == query["status"])
    page = paginate(stmt, query["page"], query["page_size"])
    positions = _positions({e.cohort_id for e in page.items if e.status == S.WAITLISTED})
    page.items = views(page.items, positions)
    return page


def roster(cohort_id: str, staff) -> list[EnrolmentView]:
    """Everyone who holds or held a seat in the cohort (facilitators: their own cohorts only),
    with what higher domains add (attendance per session, the current run of misses)."""
    cohort = get_cohort(cohort_id, staff)
    rows = db.session.scalars(
        select(Enrolment)
        .options(selectinload(Enrolment.discount_code))
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status.in_(SEAT_STATUSES))
        .order_by(Enrolment.name, Enrolment.id)
    ).all()
    return views(rows, extras=_extras(rows))


def waitlist(cohort_id: str, staff) -> list[EnrolmentView]:
    """Offered then waitlisted enrolments, in the order seats go to them."""
    cohort = get_cohort(cohort_id, staff)
    rows = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status.in_((S.OFFERED, S.WAITLISTED)))
        .order_by((Enrolment.status == S.WAITLISTED), Enrolment.waitlist_rank, Enrolment.id)
    ).all()
    views, position = [], 0
    for enrolment in rows:
        if enrolment.status == S.WAITLISTED:
            position += 1
        views.append(EnrolmentView(enrolment, position if enrolment.status == S.WAITLISTED else None))
    return views


def move(enrolment_id: str, position: int, staff) -> EnrolmentView:
    """Put a waitlisted person at `position` (1 is next) in the waitlist."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        if enrolment.status != S.WAITLISTED:
            raise Conflict(f"Only a waitlisted enrolment can be moved; this one is {enrolment.status}.")
        line = db.session.scalars(
            select(Enrolment)
            .where(Enrolment.cohort_id == enrolment.cohort_id, Enrolment.status == S.WAITLISTED)
            .order_by(Enrolment.waitlist_rank, Enrolment.id)
        ).all()
        if position > len(line):
            people = "person" if len(line) == 1 else "people"
            raise Invalid.field("position", f"The waitlist has {len(line)} {people}; give 1 to {len(line)}.")
        old = line.index(enrolment) + 1
        before = _snapshot(enrolment, waitlist_position=old)
        line.remove(enrolment)
        line.insert(position - 1, enrolment)
        # Renumber the waiting ones; offered and finished rows keep their old ranks.
        base = min(e.waitlist_rank for e in line)
        for offset, item in enumerate(line):
            item.waitlist_rank = base + offset
        enrolment.updated_at = clock.now()
        record(enrolment, staff, "moved", before, waitlist_position=position)
    return view(enrolment, position)


def offer(enrolment_id: str, staff) -> EnrolmentView:
    """Offer a seat to this waitlisted person now, out of order (also after the first session)."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        cohort = enrolment.cohort
        at = clock.now()
        if enrolment.status != S.WAITLISTED:
            raise Conflict(f"Only a waitlisted enrolment can be offered a seat; this one is {enrolment.status}.")
        _expire_lapsed(cohort, at)
        db.session.flush()
        if seat_counts([cohort], at)[cohort.id].available <= 0:
            raise Conflict("No seat is free in this cohort; raise the capacity or wait for one to free.")
        before = _snapshot(enrolment)
        _offer(enrolment, cohort, at)
        record(enrolment, staff, "offered_by_staff", before)
        offer_free_seats(cohort)
    return view(enrolment)


def confirm(enrolment_id: str, data: dict, staff) -> EnrolmentView:
    """Record a payment taken at the desk: confirmed once the balance is 0, or with confirm_with_balance."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        _take_desk_payment(enrolment, enrolment.cohort, clock.now(), data, staff)
    return view(enrolment)


def _take_desk_payment(enrolment: Enrolment, cohort: Cohort, at, data: dict, staff, *, tell_hold: bool = True) -> str:
    """Record money taken at the desk and move the enrolment on (under the cohort's lock).

    Needs a seat the person holds, or a free one. Paying the whole balance confirms; so does
    confirm_with_balance (audited, the balance stays visible). A part payment keeps the hold,
    now for payment by hand: until the later of its deadline and manual_hold_hours from now.
    Returns "confirmed", "partial", or "paid" (a confirmed enrolment's balance paid down).
    """
    require_lock("cohort", cohort.id)
    status = enrolment.status
    if status not in (S.PENDING_PAYMENT, S.OFFERED, S.WAITLISTED, S.CONFIRMED):
        raise Conflict(f"An enrolment that is {status} cannot be confirmed or take a payment.")
    owed = prices.owed(enrolment)
    amount, with_balance = data["amount"], bool(data.get("confirm_with_balance"))
    if status == S.CONFIRMED and owed <= 0:
        raise Conflict("This enrolment is confirmed and paid in full (balance 0); there is nothing to record.")
    if amount > owed:
        raise Invalid.field(
            "amount",
            f"The balance is {format_money(owed, cohort.currency)} ({owed}); a payment cannot be more than that.",
        )
    if status != S.CONFIRMED:
        if not enrolment.holds_seat(at) and seat_counts([cohort], at)[cohort.id].available <= 0:
            raise Conflict("This person holds no seat and none is free; offer one first or raise the capacity.")
        if amount == 0 and owed > 0 and not with_balance:
            raise Invalid.field(
                "amount",
                f"The balance is {format_money(owed, cohort.currency)} ({owed}); record the amount taken, "
                "or confirm with confirm_with_balance: true.",
            )
    before = _snapshot(enrolment)
    if amount > 0:
        ledger.record_desk_payment(enrolment.id, cohort.currency, data["method"], amount, data.get("reference"), staff)
    enrolment.payment_method = data["method"]
    enrolment.updated_at = at
    note = {
        "method": data["method"],
        "reference": data.get("reference"),
        "paid_now": amount,
        "amount_paid": prices.account_of(enrolment).paid,
        "balance": owed - amount,
    }
    if status == S.CONFIRMED:
        record(enrolment, staff, "paid_at_desk", before, **note)
        return "paid"
    if status == S.WAITLISTED:
        # The desk seats the person on the spot: the offer step is bookkeeping, not an email.
        _offer(enrolment, cohort, at, tell=False)
    if amount == owed or with_balance:
        if apply_payment(enrolment, method=data["method"], confirm_with_balance=True) != "confirmed":
            raise Conflict("No seat is free in this cohort.")  # cannot happen: the seat was checked under the lock
        action = "confirmed_at_desk" if amount == owed else "confirmed_with_balance"
        record(enrolment, staff, action, before, **note)
        return "confirmed"
    # Part paid: the seat stays held for the rest, paid by hand; never for less time than it had.
    manual_until = at + timedelta(hours=cohort.manual_hold_hours)
    if enrolment.status == S.OFFERED:
        offer_deadline = enrolment.offer_expires_at
        enrolment.move_to(S.PENDING_PAYMENT)
        enrolment.hold_expires_at = max(manual_until, offer_deadline)
    else:
        enrolment.hold_expires_at = max(manual_until, enrolment.hold_expires_at)
    enrolment.pays_at_desk = True
    record(enrolment, staff, "part_paid_at_desk", before, **note, hold_expires_at=_iso(enrolment.hold_expires_at))
    if tell_hold:
        _tell_held(enrolment, staff)
    return "partial"


def change_price(enrolment_id: str, data: dict, staff) -> EnrolmentView:
    """Staff set what an enrolment owes (an amount, or a price level) before it is paid in full.

    Audited with the reason. A held seat is then paid at the new balance: a new card
    payment for it, or confirmed at once when nothing is left to pay.
    """
    card = None
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        at = clock.now()
        cohort = enrolment.cohort
        if enrolment.status not in ACTIVE:
            raise Conflict(f"This enrolment is {enrolment.status}; its price can no longer change.")
        account = prices.account_of(enrolment)
        if enrolment.status == S.CONFIRMED and enrolment.owes(account) <= 0:
            raise Conflict(
                "This enrolment is paid in full; its price can no longer change (a refund goes by withdraw)."
            )
        before = _snapshot(enrolment, price_level=enrolment.price_level)
        if "price_level" in data:
            field = "price_level"
            base = prices.level_price(cohort, data["price_level"])
            discount = enrolment.discount_code.discount_on(base) if enrolment.discount_code else 0
            new_due = base - discount
        else:
            field, new_due = "amount_due", data["amount_due"]
        if new_due < account.net_paid:
            paid = format_money(account.net_paid, cohort.currency)
            raise Invalid.field(field, f"{paid} ({account.net_paid}) has been paid already; the price cannot be less.")
        if field == "price_level":
            enrolment.price_level, enrolment.price_before_discount = data["price_level"], base
            enrolment.discount_amount = discount
        enrolment.amount_due = new_due
        enrolment.updated_at = at
        owed = new_due - account.net_paid
        if enrolment.status == S.PENDING_PAYMENT:
            if owed == 0:
                if not enrolment.holds_seat(at) and seat_counts([cohort], at)[cohort.id].available <= 0:
                    raise Conflict("The hold has lapsed and no seat is free; the enrolment cannot be confirmed.")
                apply_payment(enrolment, method=enrolment.payment_method)
            else:
                if not enrolment.pays_at_desk and gateway.configured():
                    card = ledger.open_card_payment(enrolment.id, owed, cohort.currency)
                _tell_held(enrolment, staff)
        record(enrolment, staff, "price_changed", before, price_level=enrolment.price_level, reason=data["reason"])
    return view(enrolment, payment=_payment_after_commit(card, enrolment))


def transfer(enrolment_id: str, cohort_id: str, staff) -> EnrolmentView:
    """Move a confirmed participant to another open cohort with a free seat, keeping what was paid.

    A different price leaves a balance to pay, or refunds what was paid beyond the new
    price; the response's `transfer` and the audit entry say which.
    """
    with write_transaction():
        source_id = db.session.scalar(select(Enrolment.cohort_id).where(Enrolment.id == enrolment_id))
        if source_id is None:
            raise NotFound("No such enrolment.")
        if source_id == cohort_id:
            raise Conflict("The enrolment is already in that cohort; choose another one.")
        if db.session.scalar(select(Cohort.id).where(Cohort.id == cohort_id)) is None:
            raise Invalid.field("cohort_id", "No such cohort.")
        # Two cohort locks, always in the same order, so two opposite transfers cannot deadlock.
        locked = {cid: lock_cohort(cid) for cid in sorted((source_id, cohort_id))}
        target = locked[cohort_id]
        enrolment = _load(enrolment_id)
        source = enrolment.cohort
        at = clock.now()
        if enrolment.status != S.CONFIRMED:
            raise Conflict(f"Only a confirmed enrolment can be transferred; this one is {enrolment.status}.")
        target_status = target.display_status(at)
        if target_status not in (CohortStatus.OPEN, CohortStatus.RUNNING):
            raise Conflict(f"The target cohort is {target_status}; choose one that is open.")
        if target.currency != source.currency:
            raise Conflict(
                f"The target cohort is priced in {target.currency.upper()}, this enrolment was paid in "
                f"{source.currency.upper()}; withdraw with a refund and enrol there instead."
            )
        if seat_counts([target], at)[target.id].available <= 0:
            raise Conflict("The target cohort is full; no seat is free there.")
        clash = db.session.scalar(
            select(Enrolment.id).where(
                Enrolment.cohort_id == target.id,
                Enrolment.participant_id == enrolment.participant_id,
                Enrolment.status.in_(ACTIVE),
            )
        )
        if clash is not None:
            raise Conflict("This person already has an active enrolment in the target cohort.")
        before = _snapshot(enrolment)
        enrolment.cohort = target
        enrolment.updated_at = at
        # A join link is per cohort: the new one goes out with the transfer email; the old one ends.
        previous_join_token, enrolment.join_token = enrolment.join_token, new_token("join")
        change = _reprice_after_transfer(enrolment, source, target, staff)
        publish(events.Transferred(enrolment, source, change=change, previous_join_token=previous_join_token))
        record(enrolment, staff, "transferred", before, transfer=change)
        db.session.flush()
        offer_free_seats(source)
    return view(enrolment, transfer=change)


def _reprice_after_transfer(enrolment: Enrolment, source: Cohort, target: Cohort, staff) -> dict:
    """What the enrolment owes in its new cohort, and what happens to the difference.

    Same program and price: nothing changes (a level, a discount or a price staff set
    carry over). Otherwise the target's price for the person's level (or its own price),
    less the same discount; what was paid beyond it is refunded, what is missing is a balance.
    """
    due_before, currency = enrolment.amount_due, target.currency
    if target.program_id != source.program_id or target.price_amount != source.price_amount:
        base = target.price_amount
        if enrolment.price_level and target.price_level(enrolment.price_level) and currency == target.program.currency:
            base = target.price_level(enrolment.price_level)["amount"]
        else:
            enrolment.price_level = None
        discount = enrolment.discount_code.discount_on(base) if enrolment.discount_code else 0
        enrolment.price_before_discount, enrolment.discount_amount = base, discount
        enrolment.amount_due = base - discount
    held = prices.account_of(enrolment).net_paid
    refund = _refunded(enrolment, held - enrolment.amount_due, "transfer_price_difference", staff)
    balance = prices.owed(enrolment)
    money = lambda amount: format_money(amount, currency)  # noqa: E731
    if enrolment.amount_due == due_before:
        detail = "The new group has the same price; what was paid carries over."
    elif refund:
        detail = (
            f"The new group costs {money(enrolment.amount_due)} instead of {money(due_before)}: "
            f"{money(refund['amount'])} of what was paid is refunded"
            + (" by the front desk." if refund["status"] == RefundStatus.OWED_BY_FRONT_DESK else " to the card.")
        )
    elif balance > 0:
        detail = (
            f"The new group costs {money(enrolment.amount_due)} instead of {money(due_before)}: "
            f"{money(balance)} is left to pay."
        )
    else:
        detail = f"The new group costs {money(enrolment.amount_due)} instead of {money(due_before)}."
    return {
        "from_cohort_id": source.id,
        "amount_due_before": due_before,
        "amount_due": enrolment.amount_due,
        "amount_paid": prices.account_of(enrolment).paid,
        "balance": balance,
        "refund": refund,
        "currency": currency,
        "detail": detail,
    }


def audit(query: dict) -> Page:
    """Audit entries, newest first, for one enrolment or all, with the staff member's name."""
    stmt = (
        select(AuditEntry).options(selectinload(AuditEntry.staff)).order_by(AuditEntry.created_at.desc(), AuditEntry.id)
    )
    if query.get("enrolment_id"):
        stmt = stmt.where(AuditEntry.enrolment_id == query["enrolment_id"])
    if query.get("cohort_id"):
        stmt = stmt.where(AuditEntry.cohort_id == query["cohort_id"])
    return paginate(stmt, query["page"], query["page_size"])


# ---- job ---------------------------------------------------------------------------------------


def cohorts_with_lapsed(at) -> list[str]:
    """Ids of cohorts that have a lapsed hold or offer still marked as holding."""
    return list(db.session.scalars(select(Enrolment.cohort_id).where(Enrolment.lapsed(at)).distinct()))


def settle_cohort(cohort_id: str) -> int:
    """Expire one cohort's lapsed holds and offers and cascade offers; returns how many expired.

    On PostgreSQL a cohort another worker is settling is skipped (SKIP LOCKED); on
    SQLite the write transaction serialises workers, and the second finds nothing lapsed.
    """
    with write_transaction():
        cohort = lock_cohort(cohort_id, skip_locked=True)
        if cohort is None:
            return 0
        expired = _expire_lapsed(cohort, clock.now())
        if expired:
            offer_free_seats(cohort)
    return len(expired)


# ---- refunds the desk owes, and receipts ------------------------------------------------------


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
            raise NotFound("No such refund.")
        enrolment = lock_enrolment(enrolment_id)
        before = _snapshot(enrolment)
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


def payment_owner(payment_id: str) -> str | None:
    """The enrolment a payment belongs to (whose manage token may open its receipt)."""
    return db.session.scalar(select(Payment.enrolment_id).where(Payment.id == payment_id))


def receipt(payment_id: str, for_insurer: bool = False) -> str:
    """A payment's receipt as printable HTML; the program is named only for an insurer."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != PaymentStatus.SUCCEEDED:
        raise NotFound("No receipt: no such payment, or it did not go through.")
    enrolment = _load(payment.enrolment_id)
    cohort = enrolment.cohort
    zone = enrolment.timezone or cohort.timezone
    scheduled = [s for s in cohort.sessions if s.status == "scheduled"] or cohort.sessions
    period = ""
    if scheduled:
        count = len(scheduled)
        first, last = (scheduled[i].starts_at.astimezone(ZoneInfo(zone)) for i in (0, -1))
        period = f"{count} session{'s' if count != 1 else ''}, {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    item = f"{cohort.program.name}: {cohort.name}" if for_insurer else cohort.program.calendar_title
    given_back = db.session.scalars(
        select(Refund)
        .where(Refund.payment_id == payment.id, Refund.status != RefundStatus.FAILED)
        .order_by(Refund.created_at)
    ).all()
    return receipts.render(
        receipts.ReceiptData(
            number=payment.id,
            paid_at=payment.succeeded_at or payment.created_at,
            amount=payment.amount,
            currency=payment.currency,
            method=payment.method,
            reference=payment.reference,
            payer_name=enrolment.name,
            item=item,
            period=period,
            zone=zone,
            refunds=[(r.amount, r.status, r.created_at) for r in given_back],
        )
    )
