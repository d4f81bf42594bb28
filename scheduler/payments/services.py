"""Payment use cases.

start_payment, refund and record_desk_payment are called by enrolment services inside
their transaction (they never commit). handle_stripe_event, send_refund and the jobs are
transactions of their own.

No money is lost when Stripe fails: a refund is a Refund row written in the caller's
transaction and sent afterwards (right after the request, else by the worker) with an
idempotency key made from the row's id, so sending it twice refunds once.
"""

import json
import logging
from datetime import timedelta

import stripe
from flask import current_app, g, has_app_context
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from .. import clock
from ..database import begin_write, new_id
from ..errors import BadRequest, Unavailable
from ..extensions import db
from ..notifications import hooks
from . import gateway
from .models import Payment, Refund, WebhookEvent

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
CLAIM_SECONDS = 120
MAX_CANCEL_ATTEMPTS = 5

# ---- called by enrolment services, inside their transaction ------------------------------------


def start_payment(enrolment) -> dict:
    """How to pay for a held seat: a Stripe PaymentIntent, or "manual" without Stripe keys."""
    cohort = enrolment.cohort
    if not gateway.configured():
        return {"provider": "manual", "amount": cohort.price_amount, "currency": cohort.currency}
    if enrolment.id is None:
        db.session.flush()
    attempt = 1 + db.session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(Payment.enrolment_id == enrolment.id, Payment.provider == "stripe")
    )
    # Same enrolment and attempt -> same key -> Stripe returns the same intent if our
    # transaction rolled back after the call and the request is retried.
    intent = gateway.create_payment_intent(
        amount=cohort.price_amount,
        currency=cohort.currency,
        enrolment_id=enrolment.id,
        cohort_id=cohort.id,
        attempt=attempt,
        idempotency_key=f"pi-{enrolment.id}-{attempt}",
    )
    db.session.add(
        Payment(
            enrolment_id=enrolment.id,
            provider="stripe",
            method="card",
            stripe_payment_intent_id=intent.id,
            amount=cohort.price_amount,
            currency=cohort.currency,
            status="open",
        )
    )
    return {
        "provider": "stripe",
        "payment_intent_id": intent.id,
        "client_secret": intent.client_secret,
        "amount": cohort.price_amount,
        "currency": cohort.currency,
        "publishable_key": current_app.config.get("STRIPE_PUBLISHABLE_KEY", ""),
    }


def card_payment(enrolment_id: str) -> dict | None:
    """The enrolment's latest card payment as a page shows it; None when payments are manual.

    A read (no lock, no write): the PaymentIntent's status and client secret come from
    Stripe, where they live. {"status": "none"} when no card payment was started,
    "unavailable" when Stripe does not answer.
    """
    if not gateway.configured():
        return None
    payment = db.session.scalar(
        select(Payment)
        .where(Payment.enrolment_id == enrolment_id, Payment.provider == "stripe")
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(1)
    )
    if payment is None:
        return {"status": "none"}
    state = {"status": payment.status, "amount": payment.amount, "currency": payment.currency}
    if payment.status in ("succeeded", "canceled"):
        return state
    try:
        intent = gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
    except stripe.StripeError as exc:
        log.warning("stripe did not answer for payment %s: %s", payment.id, exc)
        return {**state, "status": "unavailable"}
    return {
        **state,
        "status": intent.status,  # requires_payment_method, requires_action, processing, succeeded, canceled …
        "client_secret": intent.client_secret,
        "publishable_key": current_app.config.get("STRIPE_PUBLISHABLE_KEY", ""),
        "failed": payment.status == "failed",
    }


def record_desk_payment(enrolment, method: str, amount: int, reference: str | None, staff) -> Payment:
    """Record money taken at the front desk (no Stripe). The caller commits."""
    payment = Payment(
        enrolment_id=enrolment.id,
        provider="desk",
        method=method,
        amount=amount,
        currency=enrolment.cohort.currency,
        status="succeeded",
        succeeded_at=clock.now(),
        reference=reference,
        staff_id=staff.id if staff else None,
    )
    db.session.add(payment)
    return payment


def refund(enrolment, amount: int, reason: str, staff=None) -> dict | None:
    """Give back `amount` (minor units) of what the enrolment paid; None when nothing is due.

    Spread over the enrolment's payments, never beyond what each still holds. Stripe
    payments get a pending Refund sent after commit; desk payments are owed by the desk.
    """
    if amount <= 0:
        return None
    db.session.flush()
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.enrolment_id == enrolment.id, Payment.status == "succeeded")
        .order_by(Payment.succeeded_at.desc(), Payment.id)
    ).all()
    currency = enrolment.cohort.currency
    remaining, rows = amount, []
    for payment in payments:
        take = min(remaining, payment.refundable)
        if take <= 0:
            continue
        status = "pending" if payment.provider == "stripe" else "owed_by_front_desk"
        rows.append(
            Refund(
                id=new_id("rfd"),
                payment_id=payment.id,
                enrolment_id=enrolment.id,
                amount=take,
                currency=payment.currency,
                reason=reason,
                status=status,
                staff_id=staff.id if staff else None,
            )
        )
        payment.amount_refunded += take
        remaining -= take
        if remaining == 0:
            break
    if remaining > 0:
        log.warning("refund for enrolment %s capped: %s of %s not refundable", enrolment.id, remaining, amount)
    if not rows:
        return None
    db.session.add_all(rows)
    to_send = [r.id for r in rows if r.status == "pending"]
    db.session.info.setdefault("refunds_to_send", []).extend(to_send)
    total = sum(r.amount for r in rows)
    return {"amount": total, "currency": currency, "status": "pending" if to_send else "owed_by_front_desk"}


@event.listens_for(OrmSession, "after_commit")
def _remember_committed_refunds(session):
    pending = session.info.pop("refunds_to_send", None)
    if pending and has_app_context():
        g.setdefault("refunds_to_send", []).extend(pending)


@event.listens_for(OrmSession, "after_rollback")
def _forget_rolled_back_refunds(session):
    session.info.pop("refunds_to_send", None)


def send_committed_refunds() -> None:
    """After a request: send the refunds its transaction committed (the worker retries failures)."""
    for refund_id in g.pop("refunds_to_send", []):
        try:
            send_refund(refund_id)
        except Exception:  # the row stays pending; the send-refunds job retries it
            db.session.rollback()
            log.exception("refund %s not sent now; the worker will retry", refund_id)


# ---- refunds and cancellations sent to Stripe ----------------------------------------------------


def send_refund(refund_id: str) -> str:
    """Send one pending refund to Stripe (idempotency key = its id); returns its status after."""
    at = clock.now()
    claimed = db.session.execute(
        update(Refund)
        .where(
            Refund.id == refund_id,
            Refund.status == "pending",
            or_(Refund.claimed_until.is_(None), Refund.claimed_until < at),
        )
        .values(claimed_until=at + timedelta(seconds=CLAIM_SECONDS), attempts=Refund.attempts + 1)
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return "skipped"
    row = db.session.get(Refund, refund_id)
    payment = row.payment
    try:
        result = gateway.create_refund(
            payment_intent_id=payment.stripe_payment_intent_id,
            amount=row.amount,
            refund_id=row.id,
            idempotency_key=f"refund-{row.id}",
        )
    except (stripe.InvalidRequestError, stripe.AuthenticationError, stripe.PermissionError) as exc:
        # Stripe refuses it for good: staff must look; the money is refundable again.
        row.status, row.last_error = "failed", str(exc)[:500]
        db.session.execute(
            update(Payment).where(Payment.id == payment.id).values(amount_refunded=Payment.amount_refunded - row.amount)
        )
        db.session.commit()
        log.error("refund %s refused by Stripe: %s", row.id, exc)
        return "failed"
    except stripe.StripeError as exc:
        backoff = timedelta(seconds=min(3600, 30 * 2 ** min(row.attempts, 7)))
        row.last_error, row.claimed_until = str(exc)[:500], clock.now() + backoff
        db.session.commit()
        log.warning("refund %s not sent (attempt %s): %s", row.id, row.attempts, exc)
        return "pending"
    row.stripe_refund_id = result.id
    row.status = "failed" if result.status in ("failed", "canceled") else "succeeded"
    row.updated_at = clock.now()
    db.session.commit()
    return row.status


def send_pending_refunds() -> int:
    """Send every pending Stripe refund that no worker holds; returns how many were sent."""
    at = clock.now()
    ids = db.session.scalars(
        select(Refund.id)
        .where(Refund.status == "pending", or_(Refund.claimed_until.is_(None), Refund.claimed_until < at))
        .order_by(Refund.created_at)
        .limit(100)
    ).all()
    db.session.commit()
    return sum(1 for refund_id in ids if send_refund(refund_id) == "succeeded")


def cancel_lapsed_payment_intents() -> int:
    """Cancel PaymentIntents that can no longer buy a seat (lapsed, superseded, or enrolment over)."""
    from ..enrolment.models import Enrolment

    at = clock.now()
    candidates = db.session.execute(
        select(
            Payment.id,
            Payment.stripe_payment_intent_id,
            Payment.enrolment_id,
            Enrolment.status,
            Enrolment.hold_expires_at,
        )
        .join(Enrolment, Enrolment.id == Payment.enrolment_id)
        .where(
            Payment.provider == "stripe",
            Payment.status.in_(("open", "failed")),
            Payment.cancel_attempts < MAX_CANCEL_ATTEMPTS,
        )
    ).all()
    latest = dict(
        db.session.execute(
            select(Payment.enrolment_id, func.max(Payment.created_at))
            .where(Payment.provider == "stripe")
            .group_by(Payment.enrolment_id)
        ).all()
    )
    created = (
        dict(
            db.session.execute(
                select(Payment.id, Payment.created_at).where(Payment.id.in_([c.id for c in candidates]))
            ).all()
        )
        if candidates
        else {}
    )
    db.session.commit()
    cancelled = 0
    for c in candidates:
        still_payable = (
            c.status == "pending_payment" and c.hold_expires_at > at and created[c.id] >= latest[c.enrolment_id]
        )
        if still_payable:
            continue
        cancelled += _cancel_one(c.id, c.stripe_payment_intent_id)
    return cancelled


def _cancel_one(payment_id: str, intent_id: str) -> int:
    open_states = ("open", "failed")
    try:
        gateway.cancel_payment_intent(intent_id, idempotency_key=f"cancel-{payment_id}")
    except stripe.InvalidRequestError as exc:
        # Usually: it was paid (the webhook will confirm or refund) or already cancelled.
        try:
            status = gateway.retrieve_payment_intent(intent_id).status
        except stripe.StripeError:
            status = None
        if status == "canceled":
            db.session.execute(
                update(Payment)
                .where(Payment.id == payment_id, Payment.status.in_(open_states))
                .values(status="canceled", updated_at=clock.now())
            )
        else:
            db.session.execute(
                update(Payment)
                .where(Payment.id == payment_id)
                .values(cancel_attempts=MAX_CANCEL_ATTEMPTS, last_error=str(exc)[:500])
            )
        db.session.commit()
        return 0
    except stripe.StripeError as exc:
        db.session.execute(
            update(Payment)
            .where(Payment.id == payment_id)
            .values(cancel_attempts=Payment.cancel_attempts + 1, last_error=str(exc)[:500])
        )
        db.session.commit()
        log.warning("could not cancel payment intent of %s: %s", payment_id, exc)
        return 0
    # Conditional, so a success recorded meanwhile by the webhook is never undone.
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status.in_(open_states))
        .values(status="canceled", updated_at=clock.now())
    )
    db.session.commit()
    return 1


# ---- the Stripe webhook ------------------------------------------------------------------------------


def verify_event(payload: bytes, signature: str | None) -> dict:
    """The event, if the signature matches the raw body and is recent; else BadRequest."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise Unavailable("Stripe webhooks are not configured here (STRIPE_WEBHOOK_SECRET is unset).", 60)
    try:
        # Recency is checked below against the service's clock, not the library's.
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance=None)
        timestamp, _ = stripe.WebhookSignature._get_timestamp_and_signatures(signature, "v1")
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, IndexError):
        raise BadRequest("The Stripe-Signature header does not match this body and the webhook secret.") from None
    if timestamp < clock.now().timestamp() - SIGNATURE_TOLERANCE_SECONDS:
        raise BadRequest("The Stripe-Signature timestamp is too old (more than 5 minutes); a stale event is refused.")
    try:
        evt = json.loads(payload)
        assert isinstance(evt, dict) and isinstance(evt["id"], str) and isinstance(evt["type"], str)
        assert isinstance(evt["data"]["object"], dict)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise BadRequest("The event is not a Stripe event object (id, type, data.object).") from None
    return evt


HANDLED = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "charge.refunded")


def handle_stripe_event(payload: bytes, signature: str | None) -> dict:
    """Verify a Stripe event and apply it at most once, in one transaction with its record."""
    evt = verify_event(payload, signature)
    if evt["type"] not in HANDLED:
        return {"received": True, "outcome": "ignored"}
    obj = evt["data"]["object"]
    intent_id = obj.get("payment_intent") if evt["type"] == "charge.refunded" else obj.get("id")
    payment = (
        db.session.scalar(select(Payment).where(Payment.stripe_payment_intent_id == intent_id))
        if isinstance(intent_id, str)
        else None
    )
    if payment is None:
        log.warning("stripe event %s (%s) for unknown payment intent %s", evt["id"], evt["type"], intent_id)
        db.session.rollback()
        begin_write()
        return _finish(evt, intent_id, "unknown_payment_intent")

    from ..enrolment import services as enrolment_services

    enrolment = enrolment_services.lock_enrolment(payment.enrolment_id)
    if db.session.get(WebhookEvent, evt["id"]) is not None:
        db.session.rollback()
        return {"received": True, "outcome": "replay"}
    db.session.refresh(payment)
    handler = {
        "payment_intent.succeeded": _succeeded,
        "payment_intent.payment_failed": _failed,
        "payment_intent.canceled": _canceled,
        "charge.refunded": _charge_refunded,
    }[evt["type"]]
    return _finish(evt, intent_id, handler(payment, enrolment, obj))


def _finish(evt: dict, intent_id, outcome: str) -> dict:
    db.session.add(WebhookEvent(id=evt["id"], type=evt["type"], payment_intent_id=intent_id, outcome=outcome))
    try:
        db.session.commit()
    except IntegrityError:  # the same event, recorded meanwhile by a parallel delivery
        db.session.rollback()
        return {"received": True, "outcome": "replay"}
    log.info("stripe event %s (%s): %s", evt["id"], evt["type"], outcome)
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


def _succeeded(payment: Payment, enrolment, obj: dict) -> str:
    from ..enrolment import services as enrolment_services

    if not _matches(payment, obj):
        return "amount_mismatch"
    if not payment.move_to("succeeded"):
        return "already_recorded" if payment.status == "succeeded" else f"ignored_{payment.status}"
    if enrolment.status not in ("pending_payment", "offered", "confirmed"):
        # Paid after the enrolment ended (expired, withdrawn, cancelled): give it all back.
        given_back = refund(enrolment, payment.amount, f"paid_while_{enrolment.status}")
        if enrolment.status == "expired":
            # They were told of the lapse already; now they hear the late payment went back.
            hooks.payment_refunded_after_expiry(enrolment, given_back)
        return f"refunded_{enrolment.status}"
    result = enrolment_services.apply_payment(
        enrolment,
        amount=payment.amount,
        currency=payment.currency,
        method="card",
        reference=payment.stripe_payment_intent_id,
    )
    if result == "no_seat":
        hooks.payment_refunded_after_expiry(enrolment, refund(enrolment, payment.amount, "no_seat"))
        return "refunded_no_seat"
    if result == "already_confirmed":
        # A second payment for a seat already paid for (another intent, or at the desk).
        refund(enrolment, payment.amount, "duplicate_payment")
        return "refunded_duplicate"
    return result


def _failed(payment: Payment, enrolment, obj: dict) -> str:
    if not payment.move_to("failed"):
        return f"ignored_{payment.status}"
    error = obj.get("last_payment_error") or {}
    payment.last_error = (error.get("code") or error.get("message") or "payment failed")[:500]
    return "failure_recorded"


def _canceled(payment: Payment, enrolment, obj: dict) -> str:
    return "canceled" if payment.move_to("canceled") else f"ignored_{payment.status}"


def _charge_refunded(payment: Payment, enrolment, obj: dict) -> str:
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
            source="stripe_dashboard",
        )
    )
    payment.amount_refunded += unknown
    return "dashboard_refund_recorded"
