"""Payment rows: every PaymentIntent or desk payment, every refund, every Stripe event seen.

Amounts are integers in the currency's minor unit. States only move forward.
"""

from enum import StrEnum

from flask_babel import lazy_pgettext
from sqlalchemy import CheckConstraint

from ..foundation.clock import now
from ..foundation.database import UTCDateTime, new_id, one_of
from ..foundation.extensions import db

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
    # The desk recorded that it paid an owed refund out (method and reference on the row).
    PAID_BY_FRONT_DESK = "paid_by_front_desk"


# A status inside a refusal's sentence: the code itself in English, a word agreeing with "reembolso" in Spanish.
_REFUND_STATUS_IN_A_SENTENCE = {
    RefundStatus.PENDING: lazy_pgettext("refund status in a sentence", "pending"),
    RefundStatus.SUCCEEDED: lazy_pgettext("refund status in a sentence", "succeeded"),
    RefundStatus.FAILED: lazy_pgettext("refund status in a sentence", "failed"),
    RefundStatus.OWED_BY_FRONT_DESK: lazy_pgettext("refund status in a sentence", "owed_by_front_desk"),
    RefundStatus.PAID_BY_FRONT_DESK: lazy_pgettext("refund status in a sentence", "paid_by_front_desk"),
}


def refund_status_word(status: str):
    """A refund's status as a refusal's sentence says it (the code in English, a word in Spanish)."""
    return _REFUND_STATUS_IN_A_SENTENCE.get(status, status)


# Refunds that are money going back (or gone back): a failed one returned nothing.
REFUND_COUNTS = (
    RefundStatus.PENDING,
    RefundStatus.SUCCEEDED,
    RefundStatus.OWED_BY_FRONT_DESK,
    RefundStatus.PAID_BY_FRONT_DESK,
)
# How the desk pays a refund out.
PAYOUT_METHODS = ("cash", "check", "bank_transfer", "card_in_person", "other")


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
    # How and when the desk paid an owed refund out, and who recorded it.
    paid_method = db.Column(db.String(20))
    paid_reference = db.Column(db.String(200))
    paid_at = db.Column(UTCDateTime)
    paid_by_staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now)

    payment = db.relationship(Payment)

    def as_contract(self) -> dict:
        return {"amount": self.amount, "currency": self.currency, "status": self.status}


class DiscountCode(db.Model):
    """A code that takes a percentage or an amount off the price, for a program, a cohort, or any.

    Uses are counted from the enrolment rows that carry the code (payments/discounts.py),
    never from a stored counter, under the code's row lock.
    """

    __tablename__ = "discount_codes"
    __table_args__ = (
        CheckConstraint("(percent_off IS NULL) != (amount_off IS NULL)", name="one_kind_of_discount"),
        CheckConstraint("percent_off IS NULL OR (percent_off >= 1 AND percent_off <= 100)", name="percent_range"),
        CheckConstraint("amount_off IS NULL OR (amount_off > 0 AND currency IS NOT NULL)", name="amount_has_currency"),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("dsc"))
    # Stored upper-case; people type it in any case.
    code = db.Column(db.String(40), nullable=False, unique=True)
    percent_off = db.Column(db.Integer)
    amount_off = db.Column(db.Integer)
    currency = db.Column(db.String(3))
    program_id = db.Column(db.String(40), db.ForeignKey("programs.id"), index=True)
    cohort_id = db.Column(db.String(40), db.ForeignKey("cohorts.id"), index=True)
    max_uses = db.Column(db.Integer)
    expires_at = db.Column(UTCDateTime)
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_by_staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now)

    def discount_on(self, amount: int) -> int:
        """What the code takes off `amount` (minor units): never more than the amount itself."""
        if self.percent_off is not None:
            return min(amount, (amount * self.percent_off + 50) // 100)  # half a cent rounds up
        return min(amount, self.amount_off)


class WebhookEvent(db.Model):
    """A Stripe event that took effect; written in the same transaction as its effect."""

    __tablename__ = "webhook_events"

    id = db.Column(db.String(255), primary_key=True)  # Stripe's event id
    type = db.Column(db.String(100), nullable=False)
    payment_intent_id = db.Column(db.String(255), index=True)
    outcome = db.Column(db.String(100), nullable=False)
    received_at = db.Column(UTCDateTime, nullable=False, default=now)
