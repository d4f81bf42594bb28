"""Payment jobs: send pending refunds, cancel PaymentIntents that can no longer buy a seat."""

from ..jobs import job
from . import services


@job("send-refunds")
def send_refunds() -> int:
    """Send pending Stripe refunds (idempotency keys make a second send harmless)."""
    return services.send_pending_refunds()


@job("cancel-lapsed-payment-intents")
def cancel_lapsed_payment_intents() -> int:
    """A lapsed hold cancels its PaymentIntent, so nobody pays for a seat they no longer hold."""
    return services.cancel_lapsed_payment_intents()
