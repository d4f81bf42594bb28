"""Stripe's webhook as an untrusted trigger: verify the signature on the raw body, then read the event."""

from dataclasses import dataclass

import stripe
from flask import current_app

from ..foundation.errors import BadRequest, Unavailable
from ..foundation.http import parse_json_object

SIGNATURE_TOLERANCE_SECONDS = 300
NOT_AN_EVENT = "The event is not a Stripe event object (id, type, data.object)."
HANDLED = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
)


@dataclass(frozen=True)
class StripeEvent:
    id: str
    type: str
    object: dict

    @property
    def payment_intent_id(self) -> str | None:
        """The PaymentIntent the event is about (a charge names it; an intent is it)."""
        value = self.object.get("payment_intent") if self.type == "charge.refunded" else self.object.get("id")
        return value if isinstance(value, str) else None


def verify_event(payload: bytes, signature: str | None) -> StripeEvent:
    """The event, if the signature matches the raw body and is at most 5 minutes old; else BadRequest.

    The signature is checked on the raw text before anything parses it; then the body meets the
    guard every JSON body meets (parse_json_object: not too deep, an object), and only then is it
    read as an event. Stripe's own parser is never given the body: it recurses without limit and
    fails on JSON that is not an object."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise Unavailable("Stripe webhooks are not configured here (STRIPE_WEBHOOK_SECRET is unset).", 60)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(NOT_AN_EVENT) from None
    try:
        stripe.WebhookSignature.verify_header(text, signature or "", secret, SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        if "tolerance" in str(exc).lower():
            raise BadRequest(
                "The Stripe-Signature timestamp is too old (more than 5 minutes); a stale event is refused."
            ) from None
        raise BadRequest("The Stripe-Signature header does not match this body and the webhook secret.") from None
    raw = parse_json_object(payload)
    data = raw.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(raw.get("id"), str) or not isinstance(raw.get("type"), str) or not isinstance(obj, dict):
        raise BadRequest(NOT_AN_EVENT)
    return StripeEvent(raw["id"], raw["type"], obj)
