"""Money arriving for enrolments: Stripe's events, and the jobs that tidy card payments.

Stripe's webhook is an untrusted trigger: payments.webhook verifies it; here it
takes effect at most once, in one write transaction with the record of the event,
under the enrolment's cohort lock, moving state only forward.
"""

import logging
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ..foundation import clock
from ..foundation.database import end_read, write_transaction
from ..foundation.events import publish
from ..foundation.extensions import db
from ..payments import ledger
from ..payments.models import (
    REFUND_COUNTS,
    UNPAID,
    Payment,
    PaymentStatus,
    Provider,
    Refund,
    RefundSource,
    WebhookEvent,
)
from ..payments.webhook import HANDLED, verify_event
from . import events, prices
from .audit import record, snapshot
from .models import Enrolment
from .models import EnrolmentStatus as S
from .refunding import refunded
from .seat_keeping import apply_payment, offer_free_seats
from .views import lock_enrolment

log = logging.getLogger(__name__)

MAX_CANCEL_ATTEMPTS = ledger.MAX_CANCEL_ATTEMPTS


def handle_stripe_event(payload: bytes, signature: str | None) -> dict:
    """Verify a Stripe event and apply it at most once, in one transaction with its record."""
    event = verify_event(payload, signature)
    if event.type not in HANDLED:
        return {"received": True, "outcome": "ignored"}
    intent_id = event.payment_intent_id
    enrolment_id = (
        db.session.scalar(select(Payment.enrolment_id).where(Payment.stripe_payment_intent_id == intent_id))
        if intent_id
        else None
    )
    end_read()  # before the write transaction takes its locks
    try:
        with write_transaction():
            # Checked under the lock: a parallel delivery of the same event has committed by then.
            enrolment = lock_enrolment(enrolment_id) if enrolment_id else None
            if db.session.get(WebhookEvent, event.id) is not None:
                return {"received": True, "outcome": "replay"}
            if enrolment is None:
                log.warning("stripe event %s (%s) for unknown payment intent %s", event.id, event.type, intent_id)
                outcome = "unknown_payment_intent"
            else:
                payment = db.session.scalar(select(Payment).where(Payment.stripe_payment_intent_id == intent_id))
                outcome = _HANDLERS[event.type](payment, enrolment, event.object)
            db.session.add(WebhookEvent(id=event.id, type=event.type, payment_intent_id=intent_id, outcome=outcome))
    except IntegrityError:  # the same event, recorded meanwhile by a parallel delivery
        return {"received": True, "outcome": "replay"}
    log.info("stripe event %s (%s): %s", event.id, event.type, outcome)
    return {"received": True, "outcome": outcome}


def _matches(payment: Payment, obj: dict, amount_key: str = "amount") -> bool:
    ok = obj.get(amount_key) == payment.amount and str(obj.get("currency", "")).lower() == payment.currency
    if not ok:
        log.error(
            "stripe amount/currency mismatch for payment %s: %s %s, ours %s %s",
            payment.id,
            obj.get(amount_key),
            obj.get("currency"),
            payment.amount,
            payment.currency,
        )
    return ok


def _succeeded(payment: Payment, enrolment: Enrolment, obj: dict) -> str:
    if not _matches(payment, obj):
        return "amount_mismatch"
    if not payment.move_to(PaymentStatus.SUCCEEDED):
        return "already_recorded" if payment.status == PaymentStatus.SUCCEEDED else f"ignored_{payment.status}"
    if enrolment.status not in (S.PENDING_PAYMENT, S.OFFERED, S.CONFIRMED):
        # Paid after the enrolment ended (expired, withdrawn, cancelled): give it all back.
        given_back = refunded(enrolment, payment.amount, f"paid_while_{enrolment.status}", None)
        if enrolment.status == S.EXPIRED:
            # They were told of the lapse already; now they hear the late payment went back.
            publish(events.HoldExpired(enrolment, given_back))
        return f"refunded_{enrolment.status}"
    # More than is owed (a second intent, a desk payment meanwhile): the excess goes back.
    over = -prices.owed(enrolment)
    excess = refunded(enrolment, min(over, payment.amount), "overpaid", None) if over > 0 else None
    if enrolment.status == S.CONFIRMED:
        if excess and excess["amount"] == payment.amount:
            return "refunded_duplicate"
        return "applied_to_balance" if excess is None else "applied_to_balance_excess_refunded"
    result = apply_payment(enrolment, method="card")
    if result == "no_seat":
        # Everything paid for the seat goes back (a desk part payment too).
        held = prices.account_of(enrolment).net_paid
        publish(events.HoldExpired(enrolment, refunded(enrolment, held, "no_seat", None)))
        return "refunded_no_seat"
    return result if excess is None else f"{result}_excess_refunded"


def _failed(payment: Payment, enrolment: Enrolment, obj: dict) -> str:
    if not payment.move_to(PaymentStatus.FAILED):
        return f"ignored_{payment.status}"
    error = obj.get("last_payment_error") or {}
    payment.last_error = (error.get("code") or error.get("message") or "payment failed")[:500]
    return "failure_recorded"


def _canceled(payment: Payment, enrolment: Enrolment, obj: dict) -> str:
    return "canceled" if payment.move_to(PaymentStatus.CANCELLED) else f"ignored_{payment.status}"


def _charge_refunded(payment: Payment, enrolment: Enrolment, obj: dict) -> str:
    """Refunds made in Stripe's dashboard: whatever Stripe refunded beyond what we know of."""
    if str(obj.get("currency", "")).lower() != payment.currency or not isinstance(obj.get("amount_refunded"), int):
        return "amount_mismatch"
    unknown = min(obj["amount_refunded"], payment.amount) - payment.amount_refunded
    if unknown <= 0:
        return "already_recorded"
    db.session.add(
        Refund(
            payment_id=payment.id,
            enrolment_id=enrolment.id,
            amount=unknown,
            currency=payment.currency,
            reason="stripe_dashboard",
            status="succeeded",
            source=RefundSource.STRIPE_DASHBOARD,
        )
    )
    payment.amount_refunded += unknown
    if enrolment.status == S.CONFIRMED and _all_money_back(enrolment):
        # Everything went back in the dashboard: the place goes with it (and the link, the feed).
        before = snapshot(enrolment)
        enrolment.move_to(S.WITHDRAWN)
        refund = {"amount": unknown, "currency": payment.currency, "status": "succeeded"}
        publish(events.Withdrawn(enrolment, refund))
        record(enrolment, None, "refunded_in_stripe_dashboard", before, refund=refund)
        offer_free_seats(enrolment.cohort)
        return "dashboard_refund_withdrew"
    return "dashboard_refund_recorded"


def _all_money_back(enrolment: Enrolment) -> bool:
    db.session.flush()
    paid, back = db.session.execute(
        select(func.coalesce(func.sum(Payment.amount), 0), func.coalesce(func.sum(Payment.amount_refunded), 0)).where(
            Payment.enrolment_id == enrolment.id, Payment.status == PaymentStatus.SUCCEEDED
        )
    ).one()
    return paid > 0 and back >= paid


_HANDLERS = {
    "payment_intent.succeeded": _succeeded,
    "payment_intent.payment_failed": _failed,
    "payment_intent.canceled": _canceled,
    "charge.refunded": _charge_refunded,
}


# ---- jobs: card payments no longer able to buy a seat, and ones stuck before Stripe answered ------


def cancel_lapsed_payment_intents() -> int:
    """Cancel card payments that can no longer buy a seat: the hold lapsed, a newer attempt
    replaced them, or the enrolment is over. Only those rows are read (one query)."""
    at = clock.now()
    newer = aliased(Payment)
    superseded = (
        select(func.count())
        .select_from(newer)
        .where(
            newer.enrolment_id == Payment.enrolment_id,
            newer.provider == Provider.STRIPE,
            newer.created_at > Payment.created_at,
        )
        .scalar_subquery()
    )
    # What is still owed, from the ledger: an intent for more than that (the desk took part of
    # it meanwhile, or staff lowered the price) would only be refunded in part once paid.
    settled = aliased(Payment)
    paid = (
        select(func.coalesce(func.sum(settled.amount), 0))
        .where(settled.enrolment_id == Payment.enrolment_id, settled.status == PaymentStatus.SUCCEEDED)
        .scalar_subquery()
    )
    refunded = (
        select(func.coalesce(func.sum(Refund.amount), 0))
        .where(Refund.enrolment_id == Payment.enrolment_id, Refund.status.in_(REFUND_COUNTS))
        .scalar_subquery()
    )
    balance = Enrolment.amount_due - paid + refunded
    held = (Enrolment.status == S.PENDING_PAYMENT) & (Enrolment.hold_expires_at > at)
    # A confirmed enrolment with a balance (confirmed with one, or moved to a dearer group) may pay it by card.
    still_payable = (held | (Enrolment.status == S.CONFIRMED)) & (superseded == 0) & (Payment.amount <= balance)
    ids = db.session.scalars(
        select(Payment.id)
        .join(Enrolment, Enrolment.id == Payment.enrolment_id)
        .where(
            Payment.provider == Provider.STRIPE,
            Payment.status.in_(UNPAID),
            Payment.cancel_attempts < MAX_CANCEL_ATTEMPTS,
            ~still_payable,
        )
        .order_by(Payment.created_at)
    ).all()
    end_read()
    return sum(1 for payment_id in ids if ledger.cancel_intent(payment_id))


def finish_creating_payments(older_than_seconds: int = 30) -> int:
    """Create the PaymentIntents that a request could not (Stripe down, or the process died
    between the commit and the call), for holds that still stand; the rest are cancelled above."""
    at = clock.now()
    rows = db.session.execute(
        select(Payment.id, Enrolment.cohort_id)
        .join(Enrolment, Enrolment.id == Payment.enrolment_id)
        .where(
            Payment.status == PaymentStatus.CREATING,
            Payment.created_at <= at - timedelta(seconds=older_than_seconds),
            Enrolment.status == S.PENDING_PAYMENT,
            Enrolment.hold_expires_at > at,
        )
    ).all()
    end_read()
    created = 0
    for payment_id, cohort_id in rows:
        created += "client_secret" in ledger.create_intent(payment_id, cohort_id)
    return created
