"""Paying for a seat: by card or at the desk, how to pay now, money taken at the desk, receipts.

The payment rows are written under the cohort's lock; Stripe's PaymentIntent is created only
after the commit (payment_after_commit -> payments.ledger.create_intent).
"""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..cohorts.models import Cohort
from ..foundation import clock, i18n
from ..foundation.database import require_lock, write_transaction
from ..foundation.errors import Conflict, Invalid, NotFound
from ..foundation.events import publish
from ..foundation.extensions import db
from ..foundation.money import format_money
from ..payments import gateway, ledger, receipts
from ..payments.accounts import Account
from ..payments.models import Payment, PaymentStatus, Provider, Refund, RefundStatus
from . import agreements, events, prices
from .audit import iso, record, snapshot
from .models import Enrolment, status_word
from .models import EnrolmentStatus as S
from .seat_keeping import apply_payment, offer_seat
from .seats import seat_counts
from .views import load_enrolment, lock_enrolment


def pays_by_card(cohort: Cohort, pay_at_desk: bool | None) -> bool:
    """Card when Stripe is set up, unless the person chose the desk where the cohort allows it."""
    if not gateway.configured():
        return False
    if pay_at_desk and not cohort.allow_pay_at_desk:
        raise Invalid.field("pay_at_desk", "This group takes payment by card; paying at the front desk is not offered.")
    return not pay_at_desk


def tell_held(enrolment: Enrolment, staff=None, account: Account | None = None, *, answers_request=False) -> None:
    """Publish SeatHeld with how to pay what is owed now (staff-made holds are told after a delay).

    `account`: the enrolment's ledger, when the caller has it (else it is read).
    """
    account = account if account is not None else prices.account_of(enrolment)
    owed, currency = enrolment.owes(account), enrolment.cohort.currency
    if enrolment.pays_at_desk:
        how = ledger.manual_instructions(owed, currency)
    else:
        how = {"provider": "stripe", "amount": owed, "currency": currency}
    publish(
        events.SeatHeld(enrolment, how, by_staff=staff is not None, account=account, answers_request=answers_request)
    )


def payment_after_commit(card: Payment | None, enrolment: Enrolment, account: Account | None = None) -> dict | None:
    """The `payment` a held seat shows: Stripe's intent, created now that no lock is held."""
    if card is not None and enrolment.status in (S.PENDING_PAYMENT, S.CONFIRMED):
        return ledger.create_intent(card.id, enrolment.cohort_id)
    if enrolment.status != S.PENDING_PAYMENT:
        return None
    owed = enrolment.owes(account) if account is not None else prices.owed(enrolment)
    return ledger.manual_instructions(owed, enrolment.cohort.currency)


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


def retry_payment(enrolment_id: str) -> dict:
    """A fresh way to pay what is owed for a held seat (or the balance of a confirmed one).

    The hold is neither extended nor cut short; a person who chose the desk may pay by card after all.
    """
    card = None
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        owed = prices.owed(enrolment)
        if enrolment.status == S.CONFIRMED and owed <= 0:
            raise Conflict(_l("This enrolment is paid in full; there is nothing to pay."))
        if enrolment.status not in (S.PENDING_PAYMENT, S.CONFIRMED):
            raise Conflict(
                _l(
                    "Only an enrolment pending payment can be paid; this one is %(status)s.",
                    status=status_word(enrolment.status),
                )
            )
        if enrolment.status == S.PENDING_PAYMENT and enrolment.hold_expires_at <= clock.now():
            raise Conflict(
                _l(
                    "The hold expired at %(at)s; enrol again to get a new one.",
                    at=f"{enrolment.hold_expires_at:%Y-%m-%dT%H:%M:%SZ}",
                )
            )
        if gateway.configured():
            card = ledger.open_card_payment(enrolment.id, owed, enrolment.cohort.currency)
            enrolment.pays_at_desk = False
        elif enrolment.status == S.CONFIRMED:
            return ledger.manual_instructions(owed, enrolment.cohort.currency)
    return payment_after_commit(card, enrolment)


def take_desk_payment(enrolment: Enrolment, cohort: Cohort, at, data: dict, staff, *, tell_hold: bool = True) -> str:
    """Record money taken at the desk and move the enrolment on (under the cohort's lock).

    Needs a seat the person holds, or a free one. Paying the whole balance confirms; so does
    confirm_with_balance (audited, the balance stays visible). Confirming needs the program's
    agreements accepted, or agreements_on_paper (recorded as paper signatures, audited): else 409.
    A part payment keeps the hold, now for payment by hand: until the later of its deadline and
    manual_hold_hours from now.
    Returns "confirmed", "partial", or "paid" (a confirmed enrolment's balance paid down).
    """
    require_lock("cohort", cohort.id)
    status = enrolment.status
    if status not in (S.PENDING_PAYMENT, S.OFFERED, S.WAITLISTED, S.CONFIRMED):
        raise Conflict(
            _l(
                "An enrolment that is %(status)s cannot be confirmed or take a payment.",
                status=status_word(status),
            )
        )
    owed = prices.owed(enrolment)
    amount, with_balance = data["amount"], bool(data.get("confirm_with_balance"))
    if status == S.CONFIRMED and owed <= 0:
        raise Conflict(_l("This enrolment is confirmed and paid in full (balance 0); there is nothing to record."))
    if amount > owed:
        raise Invalid.field(
            "amount",
            f"The balance is {format_money(owed, cohort.currency)} ({owed}); a payment cannot be more than that.",
        )
    if status != S.CONFIRMED:
        if not enrolment.holds_seat(at) and seat_counts([cohort], at)[cohort.id].available <= 0:
            raise Conflict(_l("This person holds no seat and none is free; offer one first or raise the capacity."))
        if amount == 0 and owed > 0 and not with_balance:
            raise Invalid.field(
                "amount",
                f"The balance is {format_money(owed, cohort.currency)} ({owed}); record the amount taken, "
                "or confirm with confirm_with_balance: true.",
            )
    # The program's agreements: accepted by the person, or signed on paper (staff's word, audited).
    on_paper = bool(data.get("agreements_on_paper"))
    confirms = status != S.CONFIRMED and (amount == owed or with_balance)
    missing = agreements.missing(enrolment) if confirms or on_paper else []
    if missing and not on_paper:
        raise Conflict(
            _l(
                "Not yet accepted: %(agreements)s. The person accepts the program's agreements on their page; "
                "if they signed them on paper, say so to confirm (agreements_on_paper: true).",
                agreements=agreements.named(missing),
            )
        )
    before = snapshot(enrolment)
    if missing:
        agreements.record_on_paper(enrolment, missing, staff)
        record(enrolment, staff, "agreements_on_paper", before, agreements=agreements.noted(missing))
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
        offer_seat(enrolment, cohort, at, tell=False)
    if amount == owed or with_balance:
        if apply_payment(enrolment, method=data["method"], confirm_with_balance=True) != "confirmed":
            raise Conflict(_l("No seat is free in this cohort."))  # cannot happen: the seat was checked under the lock
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
    record(enrolment, staff, "part_paid_at_desk", before, **note, hold_expires_at=iso(enrolment.hold_expires_at))
    if tell_hold:
        tell_held(enrolment, staff)
    return "partial"


def payment_owner(payment_id: str) -> str | None:
    """The enrolment a payment belongs to (whose manage token may open its receipt)."""
    return db.session.scalar(select(Payment.enrolment_id).where(Payment.id == payment_id))


def receipt(payment_id: str, for_insurer: bool = False) -> str:
    """A payment's receipt as printable HTML; the program is named only for an insurer."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != PaymentStatus.SUCCEEDED:
        raise NotFound(_l("No receipt: no such payment, or it did not go through."))
    enrolment = load_enrolment(payment.enrolment_id)
    cohort = enrolment.cohort
    zone = enrolment.timezone or cohort.timezone
    scheduled = [s for s in cohort.sessions if s.status == "scheduled"] or cohort.sessions
    covered = (len(scheduled), scheduled[0].starts_at, scheduled[-1].starts_at) if scheduled else None
    with i18n.speaking(enrolment.locale):  # the receipt's reader: a generic title unless in the clinic's language
        item = (
            f"{cohort.program.name}: {cohort.name}" if for_insurer else i18n.shown_title(cohort.program.calendar_title)
        )
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
            sessions=covered,
            zone=zone,
            refunds=[(r.amount, r.status, r.created_at) for r in given_back],
            language=enrolment.locale,  # the payer's document, in their language wherever it is opened
        )
    )
