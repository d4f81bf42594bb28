"""Enrolment jobs: expire lapsed holds and offers (offering the freed seats), and tidy card payments."""

from ..foundation import clock
from . import checkout, seat_keeping


def expire_holds_and_offers() -> int:
    """Move lapsed holds and offers to expired and cascade offers; returns how many expired."""
    expired = 0
    # One short transaction per cohort, so one busy cohort does not hold up the rest.
    for cohort_id in seat_keeping.cohorts_with_lapsed(clock.now()):
        expired += seat_keeping.settle_cohort(cohort_id)
    return expired


def cancel_lapsed_payment_intents() -> int:
    """A lapsed hold cancels its PaymentIntent, so nobody pays for a seat they no longer hold."""
    return checkout.cancel_lapsed_payment_intents()


def finish_creating_payments() -> int:
    """Create the PaymentIntents a request could not (Stripe was down) for holds that still stand."""
    return checkout.finish_creating_payments()
