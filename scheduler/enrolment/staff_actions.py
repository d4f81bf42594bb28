"""What staff do with enrolments: find them, see a cohort's roster and waitlist, reorder the
waitlist, offer a seat out of order, take a payment at the desk, change a price, transfer
someone to another cohort, and read the audit log. Every change is audited with who made it.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, CohortStatus, cohort_status_word
from ..cohorts.services import get_cohort
from ..foundation import clock, i18n
from ..foundation.database import Page, lock_one, new_token, paginate, write_transaction
from ..foundation.errors import Conflict, Invalid, NotFound
from ..foundation.events import publish
from ..foundation.extensions import db
from ..foundation.money import format_money
from ..payments import gateway, ledger
from . import events, prices
from .audit import record, snapshot
from .models import ACTIVE, SEAT_STATUSES, AuditEntry, Enrolment, Participant, normalise_email, status_word
from .models import EnrolmentStatus as S
from .paying import payment_after_commit, take_desk_payment, tell_held
from .refunding import refunded
from .seat_keeping import apply_payment, expire_lapsed, offer_free_seats, offer_seat
from .seats import seat_counts
from .views import EnrolmentView, describe, load_enrolment, lock_enrolment, view, views, waitlist_positions
from .wording import moved_money


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
    positions = waitlist_positions({e.cohort_id for e in page.items if e.status == S.WAITLISTED})
    page.items = views(page.items, positions)
    return page


def roster(cohort_id: str, staff) -> list[EnrolmentView]:
    """Everyone who holds or held a seat in the cohort (facilitators: their own cohorts only),
    with what higher domains add (attendance per session, the current run of misses)."""
    return roster_of(get_cohort(cohort_id, staff).id)


def roster_of(cohort_id: str) -> list[EnrolmentView]:
    """`roster` of a cohort whose visibility the caller has checked already (one query fewer)."""
    rows = db.session.scalars(
        select(Enrolment)
        .options(selectinload(Enrolment.discount_code))
        .where(Enrolment.cohort_id == cohort_id, Enrolment.status.in_(SEAT_STATUSES))
        .order_by(Enrolment.name, Enrolment.id)
    ).all()
    return views(rows, extras=describe(rows))


def waitlist(cohort_id: str, staff) -> list[EnrolmentView]:
    """Offered then waitlisted enrolments, in the order seats go to them."""
    return waitlist_of(get_cohort(cohort_id, staff).id)


def waitlist_of(cohort_id: str) -> list[EnrolmentView]:
    """`waitlist` of a cohort whose visibility the caller has checked already."""
    rows = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort_id, Enrolment.status.in_((S.OFFERED, S.WAITLISTED)))
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
            raise Conflict(
                _l(
                    "Only a waitlisted enrolment can be moved; this one is %(status)s.",
                    status=status_word(enrolment.status),
                )
            )
        line = db.session.scalars(
            select(Enrolment)
            .where(Enrolment.cohort_id == enrolment.cohort_id, Enrolment.status == S.WAITLISTED)
            .order_by(Enrolment.waitlist_rank, Enrolment.id)
        ).all()
        if position > len(line):
            people = "person" if len(line) == 1 else "people"
            raise Invalid.field("position", f"The waitlist has {len(line)} {people}; give 1 to {len(line)}.")
        old = line.index(enrolment) + 1
        before = snapshot(enrolment, waitlist_position=old)
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
            raise Conflict(
                _l(
                    "Only a waitlisted enrolment can be offered a seat; this one is %(status)s.",
                    status=status_word(enrolment.status),
                )
            )
        expire_lapsed(cohort, at)
        db.session.flush()
        if seat_counts([cohort], at)[cohort.id].available <= 0:
            raise Conflict(_l("No seat is free in this cohort; raise the capacity or wait for one to free."))
        before = snapshot(enrolment)
        offer_seat(enrolment, cohort, at)
        record(enrolment, staff, "offered_by_staff", before)
        offer_free_seats(cohort)
    return view(enrolment)


def confirm(enrolment_id: str, data: dict, staff) -> EnrolmentView:
    """Record a payment taken at the desk: confirmed once the balance is 0, or with confirm_with_balance."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        take_desk_payment(enrolment, enrolment.cohort, clock.now(), data, staff)
    return view(enrolment)


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
            raise Conflict(
                _l(
                    "This enrolment is %(status)s; its price can no longer change.",
                    status=status_word(enrolment.status),
                )
            )
        account = prices.account_of(enrolment)
        if enrolment.status == S.CONFIRMED and enrolment.owes(account) <= 0:
            raise Conflict(
                _l("This enrolment is paid in full; its price can no longer change (a refund goes by withdraw).")
            )
        before = snapshot(enrolment, price_level=enrolment.price_level)
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
                    raise Conflict(_l("The hold has lapsed and no seat is free; the enrolment cannot be confirmed."))
                apply_payment(enrolment, method=enrolment.payment_method)
            else:
                if not enrolment.pays_at_desk and gateway.configured():
                    card = ledger.open_card_payment(enrolment.id, owed, cohort.currency)
                tell_held(enrolment, staff)
        record(enrolment, staff, "price_changed", before, price_level=enrolment.price_level, reason=data["reason"])
    return view(enrolment, payment=payment_after_commit(card, enrolment))


def transfer(enrolment_id: str, cohort_id: str, staff) -> EnrolmentView:
    """Move a confirmed participant to another open cohort with a free seat, keeping what was paid.

    A different price leaves a balance to pay, or refunds what was paid beyond the new
    price; the response's `transfer` and the audit entry say which.
    """
    with write_transaction():
        source_id = db.session.scalar(select(Enrolment.cohort_id).where(Enrolment.id == enrolment_id))
        if source_id is None:
            raise NotFound(_l("No such enrolment."))
        if source_id == cohort_id:
            raise Conflict(_l("The enrolment is already in that cohort; choose another one."))
        if db.session.scalar(select(Cohort.id).where(Cohort.id == cohort_id)) is None:
            raise Invalid.field("cohort_id", "No such cohort.")
        # Two cohort locks, always in the same order, so two opposite transfers cannot deadlock.
        locked = {cid: lock_one(Cohort, cid) for cid in sorted((source_id, cohort_id))}
        target = locked[cohort_id]
        enrolment = load_enrolment(enrolment_id)
        source = enrolment.cohort
        at = clock.now()
        if enrolment.status != S.CONFIRMED:
            raise Conflict(
                _l(
                    "Only a confirmed enrolment can be transferred; this one is %(status)s.",
                    status=status_word(enrolment.status),
                )
            )
        target_status = target.display_status(at)
        if target_status not in (CohortStatus.OPEN, CohortStatus.RUNNING):
            raise Conflict(
                _l(
                    "The target cohort is %(status)s; choose one that is open.",
                    status=cohort_status_word(target_status),
                )
            )
        if target.currency != source.currency:
            raise Conflict(
                _l(
                    "The target cohort is priced in %(target)s, this enrolment was paid in %(source)s; "
                    "withdraw with a refund and enrol there instead.",
                    target=target.currency.upper(),
                    source=source.currency.upper(),
                )
            )
        if seat_counts([target], at)[target.id].available <= 0:
            raise Conflict(_l("The target cohort is full; no seat is free there."))
        clash = db.session.scalar(
            select(Enrolment.id).where(
                Enrolment.cohort_id == target.id,
                Enrolment.participant_id == enrolment.participant_id,
                Enrolment.status.in_(ACTIVE),
            )
        )
        if clash is not None:
            raise Conflict(_l("This person already has an active enrolment in the target cohort."))
        before = snapshot(enrolment)
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
    refund = refunded(enrolment, held - enrolment.amount_due, "transfer_price_difference", staff)
    balance = prices.owed(enrolment)
    change = {
        "from_cohort_id": source.id,
        "amount_due_before": due_before,
        "amount_due": enrolment.amount_due,
        "amount_paid": prices.account_of(enrolment).paid,
        "balance": balance,
        "refund": refund,
        "currency": currency,
    }
    with i18n.speaking(i18n.DEFAULT):  # the API's words are English, whatever language the caller reads
        change["detail"] = moved_money(change)
    return change


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
