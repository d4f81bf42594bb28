"""The payments ledger: Payment and Refund rows, and the calls that move money at Stripe.

Payments sit below enrolment: nothing here knows what an enrolment is for. The
functions that write rows run inside the caller's write transaction (they check
it); Stripe is only ever called outside it:

- a card payment is a Payment row in `creating`, committed with the hold; the
  PaymentIntent is created after the commit with the row's idempotency key
  (create_intent), and attached in a short second transaction;
- a refund is a Refund row written in the caller's transaction and sent after
  the commit (else by the worker), with an idempotency key made from its id, so
  sending it twice refunds once. No money is lost when Stripe fails.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

import stripe
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update

from ..foundation import clock
from ..foundation.database import after_commit, end_read, lock_one, new_id, require_write, write_transaction
from ..foundation.errors import Conflict, Unavailable
from ..foundation.extensions import db
from . import gateway
from .models import Payment, PaymentStatus, Provider, Refund, RefundStatus, refund_status_word

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120
MAX_CANCEL_ATTEMPTS = 5


@dataclass(frozen=True)
class RefundSummary:
    """What went back for one change: its total, and whether Stripe or the desk pays it."""

    amount: int
    currency: str
    status: RefundStatus

    def as_dict(self) -> dict:
        return {"amount": self.amount, "currency": self.currency, "status": str(self.status)}


# ---- taking money (inside the caller's write transaction) ----------------------------------------


def manual_instructions(amount: int, currency: str) -> dict:
    """How to pay without Stripe keys: the front desk takes the money and confirms."""
    return {"provider": "manual", "amount": amount, "currency": currency}


def open_card_payment(enrolment_id: str, amount: int, currency: str) -> Payment:
    """A card payment row waiting for its PaymentIntent (create_intent makes it after the commit)."""
    require_write()
    attempt = 1 + db.session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(Payment.enrolment_id == enrolment_id, Payment.provider == Provider.STRIPE)
    )
    payment = Payment(
        id=new_id("pay"),
        enrolment_id=enrolment_id,
        provider=Provider.STRIPE,
        method="card",
        amount=amount,
        currency=currency,
        status=PaymentStatus.CREATING,
        # Same enrolment and attempt -> same key -> Stripe returns the same intent to a retry.
        idempotency_key=f"pi-{enrolment_id}-{attempt}",
    )
    db.session.add(payment)
    return payment


def instructions(payment: Payment) -> dict:
    """The `payment` object of the contract for a card payment row."""
    body = {"provider": "stripe", "amount": payment.amount, "currency": payment.currency}
    if payment.stripe_payment_intent_id:
        body.update(
            payment_intent_id=payment.stripe_payment_intent_id,
            client_secret=payment.stripe_client_secret,
            publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY", ""),
        )
    else:
        body.update(
            status="unavailable",
            detail="The payment provider did not answer; the seat stays held. "
            "Ask for a new payment (POST …/payment) in a moment.",
        )
    return body


def create_intent(payment_id: str, cohort_id: str) -> dict:
    """Create the PaymentIntent of a `creating` row (no lock held), record it, return instructions.

    Stripe down: the row stays `creating` (the job retries it) and the instructions say so.
    """
    payment = db.session.get(Payment, payment_id)
    if payment.status != PaymentStatus.CREATING:
        return instructions(payment)
    # Metadata carries ids only; the attempt number is the idempotency key's suffix.
    params = {
        "amount": payment.amount,
        "currency": payment.currency,
        "enrolment_id": payment.enrolment_id,
        "cohort_id": cohort_id,
        "attempt": int(payment.idempotency_key.rsplit("-", 1)[1]),
        "idempotency_key": payment.idempotency_key,
    }
    end_read()  # nothing is held while Stripe answers
    try:
        intent = gateway.create_payment_intent(**params)
    except Unavailable:
        return instructions(db.session.get(Payment, payment_id))
    with write_transaction():
        payment = lock_one(Payment, payment_id)
        if payment.status == PaymentStatus.CREATING:
            payment.stripe_payment_intent_id = intent.id
            payment.stripe_client_secret = intent.client_secret
            payment.move_to(PaymentStatus.OPEN)
    return instructions(payment)


def card_payment_state(enrolment_id: str) -> dict | None:
    """The enrolment's latest card payment as a page shows it; None when payments are manual.

    A read (no lock, no write): the PaymentIntent's status and client secret come from
    Stripe, where they live. {"status": "none"} when no card payment was started (or
    none reached Stripe yet), "unavailable" when Stripe does not answer.
    """
    if not gateway.configured():
        return None
    payment = db.session.scalar(
        select(Payment)
        .where(Payment.enrolment_id == enrolment_id, Payment.provider == Provider.STRIPE)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(1)
    )
    if payment is None or payment.stripe_payment_intent_id is None:
        return {"status": "none"}
    state = {"status": str(payment.status), "amount": payment.amount, "currency": payment.currency}
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELLED):
        return state
    intent_id, failed = payment.stripe_payment_intent_id, payment.status == PaymentStatus.FAILED
    end_read()
    try:
        intent = gateway.retrieve_payment_intent(intent_id)
    except stripe.StripeError as exc:
        log.warning("stripe did not answer for intent %s: %s", intent_id, exc)
        return {**state, "status": "unavailable"}
    return {
        **state,
        "status": intent.status,  # requires_payment_method, requires_action, processing, succeeded, canceled …
        "client_secret": intent.client_secret,
        "publishable_key": current_app.config.get("STRIPE_PUBLISHABLE_KEY", ""),
        "failed": failed,
    }


def record_desk_payment(enrolment_id: str, currency: str, method: str, amount: int, reference, staff) -> Payment:
    """Record money taken at the front desk (no Stripe), inside the caller's transaction."""
    require_write()
    payment = Payment(
        enrolment_id=enrolment_id,
        provider=Provider.DESK,
        method=method,
        amount=amount,
        currency=currency,
        status=PaymentStatus.SUCCEEDED,
        succeeded_at=clock.now(),
        reference=reference,
        staff_id=staff.id if staff else None,
    )
    db.session.add(payment)
    return payment


def refund(enrolment_id: str, amount: int, reason: str, staff=None) -> RefundSummary | None:
    """Give back `amount` (minor units) of what the enrolment paid; None when nothing is due.

    Spread over the enrolment's payments, never beyond what each still holds. Stripe
    payments get a pending Refund sent after the commit; desk payments are owed by the desk.
    """
    require_write()
    if amount <= 0:
        return None
    db.session.flush()
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.enrolment_id == enrolment_id, Payment.status == PaymentStatus.SUCCEEDED)
        .order_by(Payment.succeeded_at.desc(), Payment.id)
    ).all()
    remaining, rows = amount, []
    for payment in payments:
        take = min(remaining, payment.refundable)
        if take <= 0:
            continue
        status = RefundStatus.PENDING if payment.provider == Provider.STRIPE else RefundStatus.OWED_BY_FRONT_DESK
        rows.append(
            Refund(
                id=new_id("rfd"),
                payment_id=payment.id,
                enrolment_id=enrolment_id,
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
        log.warning("refund for enrolment %s capped: %s of %s not refundable", enrolment_id, remaining, amount)
    if not rows:
        return None
    db.session.add_all(rows)
    to_send = [r.id for r in rows if r.status == RefundStatus.PENDING]
    for refund_id in to_send:
        after_commit(lambda refund_id=refund_id: send_refund(refund_id))
    return RefundSummary(
        sum(r.amount for r in rows),
        rows[0].currency,
        RefundStatus.PENDING if to_send else RefundStatus.OWED_BY_FRONT_DESK,
    )


# ---- refunds and cancellations sent to Stripe (no lock held while Stripe answers) -----------------


def send_refund(refund_id: str) -> str:
    """Send one pending refund to Stripe (idempotency key = its id); returns its status after."""
    at = clock.now()
    with write_transaction():
        claimed = db.session.execute(
            update(Refund)
            .where(
                Refund.id == refund_id,
                Refund.status == RefundStatus.PENDING,
                or_(Refund.claimed_until.is_(None), Refund.claimed_until < at),
            )
            .values(claimed_until=at + timedelta(seconds=CLAIM_SECONDS), attempts=Refund.attempts + 1)
        ).rowcount
    if claimed != 1:
        return "skipped"
    row = db.session.get(Refund, refund_id)
    intent_id, amount, attempts = row.payment.stripe_payment_intent_id, row.amount, row.attempts
    end_read()
    try:
        result = gateway.create_refund(
            payment_intent_id=intent_id, amount=amount, refund_id=refund_id, idempotency_key=f"refund-{refund_id}"
        )
    except (stripe.InvalidRequestError, stripe.AuthenticationError, stripe.PermissionError) as exc:
        # Stripe refuses it for good: staff must look; the money is refundable again.
        with write_transaction():
            row = db.session.get(Refund, refund_id)
            row.status, row.last_error = RefundStatus.FAILED, str(exc)[:500]
            row.payment.amount_refunded -= row.amount
        log.error("refund %s refused by Stripe: %s", refund_id, exc)
        return RefundStatus.FAILED
    except stripe.StripeError as exc:
        with write_transaction():
            row = db.session.get(Refund, refund_id)
            backoff = timedelta(seconds=min(3600, 30 * 2 ** min(attempts, 7)))
            row.last_error, row.claimed_until = str(exc)[:500], clock.now() + backoff
        log.warning("refund %s not sent (attempt %s): %s", refund_id, attempts, exc)
        return RefundStatus.PENDING
    with write_transaction():
        row = db.session.get(Refund, refund_id)
        row.stripe_refund_id = result.id
        row.status = RefundStatus.FAILED if result.status in ("failed", "canceled") else RefundStatus.SUCCEEDED
        row.updated_at = clock.now()
    return row.status


def send_pending_refunds() -> int:
    """Send every pending Stripe refund that no worker holds; returns how many were sent."""
    at = clock.now()
    ids = db.session.scalars(
        select(Refund.id)
        .where(Refund.status == RefundStatus.PENDING, or_(Refund.claimed_until.is_(None), Refund.claimed_until < at))
        .order_by(Refund.created_at)
        .limit(100)
    ).all()
    end_read()
    return sum(1 for refund_id in ids if send_refund(refund_id) == RefundStatus.SUCCEEDED)


def cancel_intent(payment_id: str) -> bool:
    """Cancel an unpaid card payment at Stripe and record it; False when it could not be (yet).

    A row still `creating` has no intent yet: cancelling it at Stripe is not possible,
    so the row is marked cancelled (a later create with its key would be refused).
    """
    unpaid = (PaymentStatus.CREATING, PaymentStatus.OPEN, PaymentStatus.FAILED)
    payment = db.session.get(Payment, payment_id)
    intent_id = payment.stripe_payment_intent_id
    end_read()
    if intent_id is not None:
        try:
            gateway.cancel_payment_intent(intent_id, idempotency_key=f"cancel-{payment_id}")
        except stripe.InvalidRequestError as exc:
            # Usually: it was paid (the webhook will confirm or refund) or already cancelled.
            try:
                status = gateway.retrieve_payment_intent(intent_id).status
            except stripe.StripeError:
                status = None
            if status != "canceled":
                _note_cancel_failure(payment_id, str(exc), give_up=True)
                return False
        except stripe.StripeError as exc:
            _note_cancel_failure(payment_id, str(exc), give_up=False)
            log.warning("could not cancel payment intent of %s: %s", payment_id, exc)
            return False
    # Conditional, so a success recorded meanwhile by the webhook is never undone.
    with write_transaction():
        changed = db.session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.status.in_(unpaid))
            .values(status=PaymentStatus.CANCELLED, updated_at=clock.now())
        ).rowcount
    return changed == 1


def _note_cancel_failure(payment_id: str, error: str, give_up: bool) -> None:
    with write_transaction():
        attempts = MAX_CANCEL_ATTEMPTS if give_up else Payment.cancel_attempts + 1
        db.session.execute(
            update(Payment).where(Payment.id == payment_id).values(cancel_attempts=attempts, last_error=error[:500])
        )


# ---- refunds the front desk owes, and paying them out ------------------------------------------


def refunds_query(status: str | None):
    """Refunds, oldest first (what the desk owes longest comes first), optionally by status."""
    stmt = select(Refund).order_by(Refund.created_at, Refund.id)
    if status:
        stmt = stmt.where(Refund.status == status)
    return stmt


def mark_refund_paid(refund_id: str, method: str, reference: str | None, staff) -> Refund:
    """Record that the desk paid an owed refund out (inside the caller's transaction).

    Only `owed_by_front_desk` moves to `paid_by_front_desk`, once; anything else is a Conflict.
    """
    require_write()
    refund = lock_one(Refund, refund_id)
    if refund.status == RefundStatus.PAID_BY_FRONT_DESK:
        raise Conflict(
            _l(
                "This refund was already paid out on %(day)s (%(method)s).",
                day=f"{refund.paid_at:%Y-%m-%d}",
                method=refund.paid_method,
            )
        )
    if refund.status != RefundStatus.OWED_BY_FRONT_DESK:
        raise Conflict(
            _l(
                "This refund is %(status)s: it goes back to the card, not through the desk.",
                status=refund_status_word(refund.status),
            )
        )
    at = clock.now()
    refund.status = RefundStatus.PAID_BY_FRONT_DESK
    refund.paid_method, refund.paid_reference, refund.paid_at = method, reference, at
    refund.paid_by_staff_id = staff.id if staff else None
    refund.updated_at = at
    return refund
