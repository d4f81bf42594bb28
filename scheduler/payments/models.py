"""Payment rows: every PaymentIntent or desk payment, every refund, every Stripe event seen.

Amounts are integers in the currency's minor unit. States only move forward.
"""

from enum import StrEnum

from sqlalchemy import CheckConstraint

from ..clock import now
from ..database import UTCDateTime, new_id, one_of
from ..extensions import db

DESK_METHODS = ("cash", "check", "card_in_person", "insurance", "waived")


class Provider(StrEnum):
    STRIPE = "stripe"
    DESK = "desk"


class PaymentStatus(StrEnum):
    # creating: the row is committed (with the hold) but Stripe has not been asked yet, or
    # its answer not yet recorded; the intent is created after the commit, outside the lock.
    CREATING = "creating"
    OPEN = "open"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"


P = PaymentStatus
# Forward-only: a late payment_failed never undoes a success; a failed intent may still
# succeed (the person retries with another card on the same intent).
PAYMENT_TRANSITIONS = {
    P.CREATING: {P.OPEN, P.FAILED, P.SUCCEEDED, P.CANCELLED},
    P.OPEN: {P.FAILED, P.SUCCEEDED, P.CANCELLED},
    P.FAILED: {P.FAILED, P.SUCCEEDED, P.CANCELLED},
    P.SUCCEEDED: set(),
    P.CANCELLED: set(),
}
# Not paid and not finished: what a lapsed hold's job cancels at Stripe.
UNPAID = (P.CREATING, P.OPEN, P.FAILED)


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    OWED_BY_FRONT_DESK = "owed_by_front_desk"


class RefundSource(StrEnum):
    APP = "app"
    STRIPE_DASHBOARD = "stripe_dashboard"


class Payment(db.Model):
    """One attempt to take money for an enrolment: a Stripe PaymentIntent or a desk payment."""

    __tablename__ = "payments"
    __table_args__ = (
        one_of("status", PaymentStatus, name="status"),
        one_of("provider", Provider, name="provider"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount", name="refund_within_amount"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("pay"))
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), nullable=False, index=True)
    provider = db.Column(db.String(10), nullable=False)
    method = db.Column(db.String(20), nullable=False)  # card (Stripe) or a desk method
    stripe_payment_intent_id = db.Column(db.String(255), unique=True)
    # Stripe.js needs it to confirm the intent in the participant's browser.
    stripe_client_secret = db.Column(db.String(255))
    # Sent with the create call: a retry (the job, a second request) gets the same intent.
    idempotency_key = db.Column(db.String(100), unique=True)
    amount = db.Column(db.Integer, nullable=False)
    currency = db.Column(db.String(3), nullable=False)
    status = db.Column(db.String(20), nullable=False, default=PaymentStatus.OPEN)
    # What has been given back or is on its way back (pending refunds included), so
    # that two refunds can never together exceed what was paid.
    amount_refunded = db.Column(db.Integer, nullable=False, default=0)
    reference = db.Column(db.String(200))
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    last_error = db.Column(db.String(500))
    cancel_attempts = db.Column(db.Integer, nullable=False, default=0)
    succeeded_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now)

    enrolment = db.relationship("Enrolment")

    @property
    def refundable(self) -> int:
        return self.amount - self.amount_refunded if self.status == P.SUCCEEDED else 0

    def move_to(self, status: PaymentStatus) -> bool:
        """Move forward; returns False (and changes nothing) for a move backwards or sideways."""
        if status == self.status and status != P.FAILED:
            return False
        if status not in PAYMENT_TRANSITIONS[self.status]:
            return False
        self.status = status
        self.updated_at = now()
        if status == P.SUCCEEDED:
            self.succeeded_at = now()
        return True


class Refund(db.Model):
    """Money going back: sent to Stripe by a job (idempotency key = our id), or owed by the desk."""

    __tablename__ = "refunds"
    __table_args__ = (
        one_of("status", RefundStatus, name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        one_of("source", RefundSource, name="source"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("rfd"))
    payment_id = db.Column(db.String(40), db.ForeignKey("payments.id"), index=True)
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), nullable=False, index=True)
    amount = db.Column(db.Integer, nullable=False)
    currency = db.Column(db.String(3), nullable=False)
    reason = db.Column(db.String(40), nullable=False)
    status = db.Column(db.String(20), nullable=False)
    source = db.Column(db.String(20), nullable=False, default=RefundSource.APP)
    stripe_refund_id = db.Column(db.String(255), unique=True)
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    attempts = db.Column(db.Integer, nullable=False, default=0)
    # A worker that takes a pending refund claims it until then, so others skip it.
    claimed_until = db.Column(UTCDateTime)
    last_error = db.Column(db.String(500))
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now)

    payment = db.relationship(Payment)

    def as_contract(self) -> dict:
        return {"amount": self.amount, "currency": self.currency, "status": self.status}


class WebhookEvent(db.Model):
    """A Stripe event that took effect; written in the same transaction as its effect."""

    __tablename__ = "webhook_events"

    id = db.Column(db.String(255), primary_key=True)  # Stripe's event id
    type = db.Column(db.String(100), nullable=False)
    payment_intent_id = db.Column(db.String(255), index=True)
    outcome = db.Column(db.String(100), nullable=False)
    received_at = db.Column(UTCDateTime, nullable=False, default=now)
