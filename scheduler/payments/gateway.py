"""The only place that talks to Stripe: a thin layer over stripe-python's StripeClient.

Every create, refund and cancel carries an idempotency key derived from our own ids,
so a retried call (by stripe-python, a job, or a second worker) never moves money twice.
Metadata carries ids only; the description is generic (this is health care).
"""

import logging

import stripe
from flask import current_app

from ..foundation.errors import Unavailable

log = logging.getLogger(__name__)

MAX_NETWORK_RETRIES = 2
# (connect, read) seconds. No call is made under a lock (the hold commits first), but a
# person waits on the answer, so a slow Stripe must fail fast.
TIMEOUT_SECONDS = (3.05, 10)
DESCRIPTION = "Group program enrolment"


def configured() -> bool:
    """Stripe is used only when a secret key is set; otherwise payments are manual."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def client() -> stripe.StripeClient:
    config = current_app.config
    base = config.get("STRIPE_API_BASE") or None
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base} if base else None,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )


def _unavailable(exc: Exception) -> Unavailable:
    log.warning("stripe call failed: %s", exc)
    return Unavailable("The payment provider did not answer; try again shortly.", retry_after=10)


def intent_params(
    *, amount: int, currency: str, enrolment_id: str, cohort_id: str, attempt: int, with_description: bool
) -> dict:
    params = {
        "amount": amount,
        "currency": currency,
        "payment_method_types": ["card"],
        "metadata": {"enrolment_id": enrolment_id, "cohort_id": cohort_id, "attempt": str(attempt)},
    }
    if with_description:
        params["description"] = DESCRIPTION
    return params


def create_payment_intent(
    *, amount: int, currency: str, enrolment_id: str, cohort_id: str, attempt: int, idempotency_key: str
):
    """A PaymentIntent for one Payment row; raises Unavailable when Stripe cannot be reached."""
    # localstripe rejects any parameter it does not model (description among them);
    # real Stripe shows the generic description on the dashboard and receipts.
    with_description = not current_app.config.get("STRIPE_API_BASE")
    params = intent_params(
        amount=amount,
        currency=currency,
        enrolment_id=enrolment_id,
        cohort_id=cohort_id,
        attempt=attempt,
        with_description=with_description,
    )
    try:
        return client().v1.payment_intents.create(params, {"idempotency_key": idempotency_key})
    except stripe.StripeError as exc:
        raise _unavailable(exc) from exc


def cancel_payment_intent(payment_intent_id: str, idempotency_key: str):
    """Cancel an unpaid PaymentIntent. Raises stripe errors to the caller (a job decides)."""
    return client().v1.payment_intents.cancel(payment_intent_id, options={"idempotency_key": idempotency_key})


def retrieve_payment_intent(payment_intent_id: str):
    return client().v1.payment_intents.retrieve(payment_intent_id)


def create_refund(*, payment_intent_id: str, amount: int, refund_id: str, idempotency_key: str):
    """Refund part or all of a PaymentIntent. Raises stripe errors to the caller (a job retries)."""
    params = {"payment_intent": payment_intent_id, "amount": amount, "metadata": {"refund_id": refund_id}}
    return client().v1.refunds.create(params, {"idempotency_key": idempotency_key})
