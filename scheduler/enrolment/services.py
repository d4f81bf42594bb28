"""Enrolment use cases. Each public function is one transaction under the cohort's lock.

Lock, recount, write: every change that can take or free a seat first takes the
write lock (begin_write), then the cohort row's lock (lock_cohort), then counts
seats from the enrolment rows (seats.py), then writes and commits. Lapsed holds
and offers already count as free; `_settle` also marks them expired and offers
their seats to the waitlist, so that nobody waiting is skipped by a newcomer.
"""

import hashlib
import hmac
import json
from datetime import timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..cohorts.models import Cohort
from ..cohorts.services import get_cohort, lock_cohort
from ..database import begin_write, is_sqlite
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db
from ..http import Page, paginate
from ..notifications import hooks
from ..payments import services as payments
from .models import ACTIVE, AuditEntry, Enrolment, IdempotencyRecord, Participant, normalise_email
from .seats import seat_counts

SEAT_STATUSES = ("confirmed", "pending_payment", "offered")


# ---- helpers ----------------------------------------------------------------------------------


def _snapshot(enrolment: Enrolment, **extra) -> dict:
    snap = {"status": enrolment.status, "amount_paid": enrolment.amount_paid, "cohort_id": enrolment.cohort_id}
    snap.update(extra)
    return snap


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
    """Begin a write, lock the enrolment's cohort row, and return the enrolment (NotFound otherwise)."""
    begin_write()
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
    """Mark this cohort's lapsed holds and offers expired (caller holds the lock)."""
    lapsed = db.session.scalars(
        select(Enrolment).where(
            Enrolment.cohort_id == cohort.id,
            or_(
                and_(Enrolment.status == "pending_payment", Enrolment.hold_expires_at <= at),
                and_(Enrolment.status == "offered", Enrolment.offer_expires_at <= at),
            ),
        )
    ).all()
    for enrolment in lapsed:
        before = _snapshot(enrolment)
        was = enrolment.status
        enrolment.move_to("expired")
        record(enrolment, None, "expired", before)
        if was == "pending_payment":
            hooks.hold_expired(enrolment)
        else:
            hooks.offer_expired(enrolment)
    return lapsed


def _settle(cohort: Cohort, at) -> None:
    """Expire what lapsed and offer the freed seats, before anything else looks at seats."""
    if _expire_lapsed(cohort, at):
        offer_free_seats(cohort)


def _next_rank(cohort: Cohort) -> int:
    return (
        db.session.scalar(select(func.max(Enrolment.waitlist_rank)).where(Enrolment.cohort_id == cohort.id)) or 0
    ) + 1


def _offer(enrolment: Enrolment, cohort: Cohort, at) -> None:
    enrolment.move_to("offered")
    enrolment.offer_expires_at = at + timedelta(hours=cohort.offer_hours)
    hooks.seat_offered(enrolment)


def offer_free_seats(cohort) -> list[Enrolment]:
    """Offer every free seat to the head of the waitlist (caller holds the lock).

    Offers stop once the first session has started; staff may still offer by hand.
    """
    at = clock.now()
    if _first_session_started(cohort, at) or cohort.status == "cancelled":
        return []
    db.session.flush()
    free = seat_counts([cohort], at)[cohort.id].available
    if free <= 0:
        return []
    heads = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "waitlisted")
        .order_by(Enrolment.waitlist_rank, Enrolment.created_at, Enrolment.id)
        .limit(free)
    ).all()
    for enrolment in heads:
        _offer(enrolment, cohort, at)
        record(
            enrolment,
            None,
            "offered",
            {"status": "waitlisted", "amount_paid": enrolment.amount_paid, "cohort_id": enrolment.cohort_id},
        )
    return list(heads)


def waitlist_position(enrolment: Enrolment) -> int | None:
    """1 for the next in line; None unless waitlisted."""
    if enrolment.status != "waitlisted":
        return None
    ahead = db.session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .where(
            Enrolment.cohort_id == enrolment.cohort_id,
            Enrolment.status == "waitlisted",
            or_(
                Enrolment.waitlist_rank < enrolment.waitlist_rank,
                and_(Enrolment.waitlist_rank == enrolment.waitlist_rank, Enrolment.id < enrolment.id),
            ),
        )
    )
    return ahead + 1


def _attach_positions(enrolments: list[Enrolment]) -> None:
    """Set .waitlist_position on each, with one query for the lot."""
    cohort_ids = {e.cohort_id for e in enrolments if e.status == "waitlisted"}
    positions = {}
    if cohort_ids:
        rows = db.session.execute(
            select(Enrolment.id, Enrolment.cohort_id)
            .where(Enrolment.cohort_id.in_(cohort_ids), Enrolment.status == "waitlisted")
            .order_by(Enrolment.cohort_id, Enrolment.waitlist_rank, Enrolment.id)
        )
        counter: dict = {}
        for eid, cid in rows:
            counter[cid] = counter.get(cid, 0) + 1
            positions[eid] = counter[cid]
    for enrolment in enrolments:
        enrolment.waitlist_position = positions.get(enrolment.id)


def _participant_for(email: str) -> Participant:
    """The participant with this normalised email, created if new (safe under races)."""
    normalised = normalise_email(email)
    found = db.session.scalar(select(Participant).where(Participant.email_normalised == normalised))
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            participant = Participant(email_normalised=normalised)
            db.session.add(participant)
    except IntegrityError:
        # Someone enrolling in another cohort created it a moment ago.
        participant = db.session.scalar(select(Participant).where(Participant.email_normalised == normalised))
    return participant


def _request_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# ---- enrol ------------------------------------------------------------------------------------


def enrol(cohort_id: str, data: dict, staff=None, idempotency_key: str | None = None, render=None) -> tuple[int, dict]:
    """Enrol a person: confirmed, pending_payment with a hold, or waitlisted; returns (status, body).

    With an Idempotency-Key, a retry of the same request replays the first response.
    `render(enrolment) -> dict` makes the response body (the view's schema).
    """
    begin_write()
    cohort = lock_cohort(cohort_id)
    scope = f"enrol:{cohort.id}"
    request_hash = _request_hash(data)
    if idempotency_key:
        previous = db.session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == idempotency_key)
        )
        if previous is not None:
            if previous.request_hash != request_hash:
                raise Conflict(
                    "This Idempotency-Key was already used for a different request; use a new key for a new enrolment."
                )
            db.session.rollback()
            return previous.response_status, previous.response_body
    at = clock.now()
    if cohort.display_status(at) != "open":
        raise Conflict(f"This cohort is {cohort.display_status(at)}, not open for enrolment.")
    _settle(cohort, at)
    participant = _participant_for(data["email"])
    already = db.session.scalar(
        select(Enrolment.status).where(
            Enrolment.cohort_id == cohort.id, Enrolment.participant_id == participant.id, Enrolment.status.in_(ACTIVE)
        )
    )
    if already is not None:
        raise Conflict(f"This email already has an active enrolment in this cohort ({already}).")
    counts = seat_counts([cohort], at)[cohort.id]
    enrolment = Enrolment(
        cohort=cohort,
        participant=participant,
        name=data["name"],
        email=data["email"],
        phone=data.get("phone"),
        timezone=data.get("timezone"),
        created_at=at,
        updated_at=at,
    )
    if counts.free_for_newcomers:
        if cohort.price_amount > 0:
            enrolment.status = "pending_payment"
            enrolment.hold_expires_at = at + timedelta(minutes=cohort.hold_minutes)
        else:
            enrolment.status = "confirmed"
    else:
        enrolment.status = "waitlisted"
        enrolment.waitlist_rank = _next_rank(cohort)
    db.session.add(enrolment)
    db.session.flush()
    enrolment.payment = None
    enrolment.waitlist_position = None
    if enrolment.status == "pending_payment":
        enrolment.payment = payments.start_payment(enrolment)
        hooks.enrolment_received(enrolment, enrolment.payment)
    elif enrolment.status == "confirmed":
        hooks.enrolment_confirmed(enrolment)
    else:
        enrolment.waitlist_position = counts.waitlisted + 1
        hooks.waitlisted(enrolment, enrolment.waitlist_position)
    record(enrolment, staff, "enrolled", None)
    body = render(enrolment) if render else {"id": enrolment.id}
    if idempotency_key:
        db.session.add(
            IdempotencyRecord(
                scope=scope, key=idempotency_key, request_hash=request_hash, response_status=201, response_body=body
            )
        )
    db.session.commit()
    return 201, body


# ---- participant (or staff) actions ---------------------------------------------------------


def manage_token_matches(enrolment_id: str, token: str | None) -> bool:
    """Whether `token` is this enrolment's manage token (compared in constant time; False for an unknown id)."""
    if not token or not enrolment_id or "\x00" in enrolment_id + token:
        return False
    stored = db.session.scalar(select(Enrolment.manage_token).where(Enrolment.id == enrolment_id))
    return stored is not None and hmac.compare_digest(stored.encode(), token.encode())


def get_enrolment(enrolment_id: str) -> Enrolment:
    """One enrolment with its cohort's sessions; position when waitlisted."""
    enrolment = _load(enrolment_id)
    enrolment.waitlist_position = waitlist_position(enrolment)
    return enrolment


def refund_deadline(cohort: Cohort):
    """Until when withdrawing refunds in full: refund_cutoff_hours before the first session (None: no sessions)."""
    first = cohort.first_session_start()
    return None if first is None else first - timedelta(hours=cohort.refund_cutoff_hours)


def _refund_due(enrolment: Enrolment, at) -> int:
    """Full refund until the refund deadline; none after."""
    deadline = refund_deadline(enrolment.cohort)
    if deadline is None or at < deadline:
        return enrolment.amount_paid
    return 0


def refund_if_withdrawn(enrolment: Enrolment, at=None) -> int:
    """What withdraw() would give back at `at` (default now) by the policy, for pages that state it first."""
    return _refund_due(enrolment, at or clock.now())


def withdraw(enrolment_id: str, staff=None, refund_amount: int | None = None) -> Enrolment:
    """Withdraw an enrolment, refunding by the policy (staff may override the amount)."""
    if refund_amount is not None and staff is None:
        raise Forbidden("Only staff may set refund_amount; leave it out to get the refund the policy gives.")
    enrolment = lock_enrolment(enrolment_id)
    at = clock.now()
    before = _snapshot(enrolment)
    held = enrolment.holds_seat(at)
    if enrolment.status in ("pending_payment", "offered") and not held:
        what = "held seat" if enrolment.status == "pending_payment" else "offer"
        raise Conflict(f"This enrolment's {what} has already expired; there is nothing to withdraw.")
    if refund_amount is not None and refund_amount > enrolment.amount_paid:
        raise Invalid.field(
            "refund_amount", f"At most {enrolment.amount_paid} was paid; a refund cannot be more than that."
        )
    enrolment.move_to("withdrawn")
    amount = refund_amount if refund_amount is not None else _refund_due(enrolment, at)
    enrolment.refund = payments.refund(enrolment, amount, "withdrawn", staff) if amount > 0 else None
    enrolment.payment = None
    hooks.withdrawn(enrolment, enrolment.refund)
    record(enrolment, staff, "withdrawn", before, refund=enrolment.refund)
    if held:
        offer_free_seats(enrolment.cohort)
    enrolment.waitlist_position = None
    db.session.commit()
    return enrolment


def _check_offer_open(enrolment: Enrolment, at, verb: str) -> None:
    if enrolment.status != "offered":
        raise Conflict(f"Only an offered seat can be {verb}; this enrolment is {enrolment.status}.")
    if enrolment.offer_expires_at <= at:
        raise Conflict(
            f"The offer expired at {enrolment.offer_expires_at:%Y-%m-%dT%H:%M:%SZ}; it can no longer be " + verb + "."
        )


def accept(enrolment_id: str, staff=None) -> Enrolment:
    """Accept an offered seat: a hold pending payment, or confirmed when the cohort is free."""
    enrolment = lock_enrolment(enrolment_id)
    at = clock.now()
    _check_offer_open(enrolment, at, "accepted")
    before = _snapshot(enrolment)
    cohort = enrolment.cohort
    enrolment.payment = None
    if cohort.price_amount > 0:
        enrolment.move_to("pending_payment")
        enrolment.hold_expires_at = at + timedelta(minutes=cohort.hold_minutes)
        enrolment.offer_expires_at = None
        enrolment.payment = payments.start_payment(enrolment)
        hooks.enrolment_received(enrolment, enrolment.payment)
    else:
        enrolment.move_to("confirmed")
        enrolment.offer_expires_at = None
        hooks.enrolment_confirmed(enrolment)
    record(enrolment, staff, "accepted", before)
    db.session.commit()
    enrolment.waitlist_position = None
    return enrolment


def decline(enrolment_id: str, staff=None) -> Enrolment:
    """Decline an offered seat; it goes to the next person waiting."""
    enrolment = lock_enrolment(enrolment_id)
    at = clock.now()
    _check_offer_open(enrolment, at, "declined")
    before = _snapshot(enrolment)
    enrolment.move_to("withdrawn")
    hooks.withdrawn(enrolment, None)
    record(enrolment, staff, "declined", before)
    offer_free_seats(enrolment.cohort)
    db.session.commit()
    enrolment.waitlist_position = None
    return enrolment


def retry_payment(enrolment_id: str) -> dict:
    """A fresh way to pay for a held seat; the hold is not extended."""
    enrolment = lock_enrolment(enrolment_id)
    if enrolment.status != "pending_payment":
        raise Conflict(f"Only an enrolment pending payment can be paid; this one is {enrolment.status}.")
    if enrolment.hold_expires_at <= clock.now():
        raise Conflict(
            f"The hold expired at {enrolment.hold_expires_at:%Y-%m-%dT%H:%M:%SZ}; enrol again to get a new one."
        )
    payment = payments.start_payment(enrolment)
    db.session.commit()
    return payment


# ---- for the payments domain ------------------------------------------------------------------


def apply_payment(enrolment: Enrolment, *, amount: int, currency: str, method: str, reference) -> str:
    """Record a payment and confirm the seat (caller holds the lock; no commit).

    Returns "confirmed", "already_confirmed", or "no_seat" (the hold lapsed and the
    seat is gone, or the enrolment is over: the caller refunds in full and tells the
    person, e.g. with hooks.payment_refunded_after_expiry).
    """
    if enrolment.status == "confirmed":
        return "already_confirmed"
    if enrolment.status not in ("pending_payment", "offered"):
        return "no_seat"
    at = clock.now()
    if not enrolment.holds_seat(at):
        # The lapsed hold counts as free: is there a seat for this person now?
        if seat_counts([enrolment.cohort], at)[enrolment.cohort_id].available <= 0:
            # The caller refunds and tells the person once, lapse and refund together.
            was = enrolment.status
            enrolment.move_to("expired")
            record(enrolment, None, "expired_unpaid_seat_gone", {"status": was})
            return "no_seat"
    enrolment.amount_paid += amount
    enrolment.payment_method = method
    enrolment.move_to("confirmed")
    hooks.enrolment_confirmed(enrolment)
    return "confirmed"


def cancel_cohort_enrolments(cohort, staff) -> None:
    """The cohort was cancelled: cancel every active enrolment, refunding in full (caller holds the lock)."""
    active = db.session.scalars(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.status.in_(ACTIVE))
    ).all()
    for enrolment in active:
        before = _snapshot(enrolment)
        enrolment.move_to("cancelled")
        refund = (
            payments.refund(enrolment, enrolment.amount_paid, "cohort_cancelled", staff)
            if enrolment.amount_paid > 0
            else None
        )
        hooks.cohort_cancelled(enrolment, refund)
        record(enrolment, staff, "cohort_cancelled", before, refund=refund)


# ---- staff ------------------------------------------------------------------------------------


def search(query: dict) -> Page:
    """Enrolments by email (any case), cohort and status."""
    stmt = select(Enrolment).order_by(Enrolment.created_at.desc(), Enrolment.id)
    if query.get("email"):
        stmt = stmt.join(Participant).where(Participant.email_normalised == normalise_email(query["email"]))
    if query.get("cohort_id"):
        stmt = stmt.where(Enrolment.cohort_id == query["cohort_id"])
    if query.get("status"):
        stmt = stmt.where(Enrolment.status == query["status"])
    page = paginate(stmt, query["page"], query["page_size"])
    _attach_positions(page.items)
    return page


def roster(cohort_id: str, staff) -> list[Enrolment]:
    """Everyone who holds or held a seat in the cohort (facilitators: their own cohorts only)."""
    cohort = get_cohort(cohort_id, staff)
    return db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status.in_(SEAT_STATUSES))
        .order_by(Enrolment.name, Enrolment.id)
    ).all()


def waitlist(cohort_id: str, staff) -> list[Enrolment]:
    """Offered then waitlisted enrolments, in the order seats go to them."""
    cohort = get_cohort(cohort_id, staff)
    rows = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status.in_(("offered", "waitlisted")))
        .order_by((Enrolment.status == "waitlisted"), Enrolment.waitlist_rank, Enrolment.id)
    ).all()
    position = 0
    for enrolment in rows:
        if enrolment.status == "waitlisted":
            position += 1
            enrolment.waitlist_position = position
        else:
            enrolment.waitlist_position = None
    return rows


def move(enrolment_id: str, position: int, staff) -> Enrolment:
    """Put a waitlisted person at `position` (1 is next) in the waitlist."""
    enrolment = lock_enrolment(enrolment_id)
    if enrolment.status != "waitlisted":
        raise Conflict(f"Only a waitlisted enrolment can be moved; this one is {enrolment.status}.")
    line = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == enrolment.cohort_id, Enrolment.status == "waitlisted")
        .order_by(Enrolment.waitlist_rank, Enrolment.id)
    ).all()
    if position > len(line):
        raise Invalid.field(
            "position",
            f"The waitlist has {len(line)} {'person' if len(line) == 1 else 'people'}; give 1 to {len(line)}.",
        )
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
    db.session.commit()
    enrolment.waitlist_position = position
    return enrolment


def offer(enrolment_id: str, staff) -> Enrolment:
    """Offer a seat to this waitlisted person now, out of order (also after the first session)."""
    enrolment = lock_enrolment(enrolment_id)
    cohort = enrolment.cohort
    at = clock.now()
    if enrolment.status != "waitlisted":
        raise Conflict(f"Only a waitlisted enrolment can be offered a seat; this one is {enrolment.status}.")
    _expire_lapsed(cohort, at)
    db.session.flush()
    if seat_counts([cohort], at)[cohort.id].available <= 0:
        raise Conflict("No seat is free in this cohort; raise the capacity or wait for one to free.")
    before = _snapshot(enrolment)
    _offer(enrolment, cohort, at)
    record(enrolment, staff, "offered_by_staff", before)
    offer_free_seats(cohort)
    db.session.commit()
    enrolment.waitlist_position = None
    return enrolment


def confirm(enrolment_id: str, data: dict, staff) -> Enrolment:
    """Confirm with a payment taken at the desk; needs a seat the person holds, or a free one."""
    enrolment = lock_enrolment(enrolment_id)
    cohort = enrolment.cohort
    at = clock.now()
    if enrolment.status not in ("pending_payment", "offered", "waitlisted"):
        raise Conflict(f"An enrolment that is {enrolment.status} cannot be confirmed.")
    if not enrolment.holds_seat(at) and seat_counts([cohort], at)[cohort.id].available <= 0:
        raise Conflict("This person holds no seat and none is free; offer one first or raise the capacity.")
    before = _snapshot(enrolment)
    if enrolment.status == "waitlisted":
        _offer_silently(enrolment, cohort, at)
    payments.record_desk_payment(enrolment, data["method"], data["amount"], data.get("reference"), staff)
    result = apply_payment(
        enrolment,
        amount=data["amount"],
        currency=cohort.currency,
        method=data["method"],
        reference=data.get("reference"),
    )
    if result != "confirmed":  # cannot happen: the seat was checked under the lock
        raise Conflict("No seat is free in this cohort.")
    record(enrolment, staff, "confirmed_at_desk", before, method=data["method"], reference=data.get("reference"))
    db.session.commit()
    enrolment.waitlist_position = None
    return enrolment


def _offer_silently(enrolment: Enrolment, cohort: Cohort, at) -> None:
    # The desk confirms on the spot: the offer step is bookkeeping, not an email.
    enrolment.move_to("offered")
    enrolment.offer_expires_at = at + timedelta(hours=cohort.offer_hours)


def transfer(enrolment_id: str, cohort_id: str, staff) -> Enrolment:
    """Move a confirmed participant to another cohort with a free seat, keeping the payment."""
    begin_write()
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
    if enrolment.status != "confirmed":
        raise Conflict(f"Only a confirmed enrolment can be transferred; this one is {enrolment.status}.")
    if target.status == "cancelled" or target.display_status(at) == "completed":
        raise Conflict(f"The target cohort is {target.display_status(at)}; choose one that is open.")
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
    enrolment.cohort_id = target.id
    enrolment.cohort = target
    enrolment.updated_at = at
    hooks.transferred(enrolment, source)
    record(enrolment, staff, "transferred", before)
    db.session.flush()
    offer_free_seats(source)
    db.session.commit()
    enrolment.waitlist_position = None
    return enrolment


def audit(query: dict) -> Page:
    """Audit entries, newest first, for one enrolment or all."""
    stmt = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id)
    if query.get("enrolment_id"):
        stmt = stmt.where(AuditEntry.enrolment_id == query["enrolment_id"])
    return paginate(stmt, query["page"], query["page_size"])


# ---- job ---------------------------------------------------------------------------------------


def cohorts_with_lapsed(at) -> list[str]:
    """Ids of cohorts that have a lapsed hold or offer still marked as holding."""
    return list(
        db.session.scalars(
            select(Enrolment.cohort_id)
            .where(
                or_(
                    and_(Enrolment.status == "pending_payment", Enrolment.hold_expires_at <= at),
                    and_(Enrolment.status == "offered", Enrolment.offer_expires_at <= at),
                )
            )
            .distinct()
        )
    )


def settle_cohort(cohort_id: str) -> int:
    """Expire one cohort's lapsed holds and offers and cascade offers; returns how many expired.

    On PostgreSQL a cohort another worker is settling is skipped (SKIP LOCKED); on
    SQLite BEGIN IMMEDIATE serialises workers, and the second finds nothing lapsed.
    """
    begin_write()
    stmt = select(Cohort).where(Cohort.id == cohort_id)
    stmt = stmt.with_for_update() if is_sqlite() else stmt.with_for_update(skip_locked=True, of=Cohort)
    cohort = db.session.scalar(stmt)
    if cohort is None:
        db.session.rollback()
        return 0
    expired = _expire_lapsed(cohort, clock.now())
    if expired:
        offer_free_seats(cohort)
    db.session.commit()
    return len(expired)
