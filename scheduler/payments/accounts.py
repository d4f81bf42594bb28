"""What each enrolment has paid and had refunded, read from the ledger (Payment and Refund rows).

The ledger is the one truth: `paid` counts every payment that succeeded (a late or
duplicate payment too), `refunded` every refund that went or is going back. What an
enrolment owes (its `amount_due`) and so its balance is the enrolment domain's
business; this module only adds up rows, two queries for any number of enrolments.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from ..foundation.extensions import db
from ..foundation.links import public_url
from .models import REFUND_COUNTS, Payment, PaymentStatus, Refund


@dataclass(frozen=True)
class Account:
    """One enrolment's money: its succeeded payments and its refunds, oldest first."""

    payments: list = field(default_factory=list)
    refunds: list = field(default_factory=list)

    @property
    def paid(self) -> int:
        return sum(p.amount for p in self.payments)

    @property
    def refunded(self) -> int:
        return sum(r.amount for r in self.refunds if r.status in REFUND_COUNTS)

    @property
    def net_paid(self) -> int:
        """What the clinic holds for the enrolment now."""
        return self.paid - self.refunded


def accounts(enrolment_ids) -> dict[str, Account]:
    """The Account of each enrolment id (empty ones included), in two queries whatever the count."""
    ids = list(dict.fromkeys(i for i in enrolment_ids if i))
    payments, refunds = defaultdict(list), defaultdict(list)
    if ids:
        db.session.flush()
        for payment in db.session.scalars(
            select(Payment)
            .where(Payment.enrolment_id.in_(ids), Payment.status == PaymentStatus.SUCCEEDED)
            .order_by(Payment.succeeded_at, Payment.id)
        ):
            payments[payment.enrolment_id].append(payment)
        for refund in db.session.scalars(
            select(Refund).where(Refund.enrolment_id.in_(ids)).order_by(Refund.created_at, Refund.id)
        ):
            refunds[refund.enrolment_id].append(refund)
    return {i: Account(payments[i], refunds[i]) for i in ids}


def receipt_path(payment_id: str) -> str:
    return f"/api/v1/payments/{payment_id}/receipt"


def receipt_url(payment_id: str) -> str:
    """Where a payment's receipt is (the participant's manage token, or staff, opens it)."""
    return public_url(receipt_path(payment_id))


def payment_summary(payment: Payment) -> dict:
    """A payment as an enrolment lists it (API.md "Prices, balances and receipts")."""
    return {
        "id": payment.id,
        "amount": payment.amount,
        "currency": payment.currency,
        "method": payment.method,
        "created_at": payment.succeeded_at or payment.created_at,
        "receipt_url": receipt_url(payment.id),
    }


def refund_summary(refund: Refund) -> dict:
    return {
        "id": refund.id,
        "amount": refund.amount,
        "currency": refund.currency,
        "status": refund.status,
        "created_at": refund.created_at,
    }
