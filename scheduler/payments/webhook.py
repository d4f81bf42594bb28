"""Stripe's webhook as an untrusted trigger: verify the signature on the raw body, then read the event."""

from dataclasses import dataclass

import stripe
from flask import current_app

from ..foundation.errors import BadRequest, Unavailable

SIGNATURE_TOLERANCE_SECONDS = 300
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
    """The event, if the signature matches the raw body and is at most 5 minutes old; else BadRequest."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise Unavailable("Stripe webhooks are not configured here (STRIPE_WEBHOOK_SECRET is unset).", 60)
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", secret, SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        if "tolerance" in str(exc).lower():
            raise BadRequest(
                "The Stripe-Signature timestamp is too old (more than 5 minutes); a stale event is refused."
            ) from None
        raise BadRequest("The Stripe-Signature header does not match this body and the webhook secret.") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The event is not a Stripe event object (id, type, data.object).") from None
    raw = event.to_dict()
    data = raw.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(raw.get("id"), str) or not isinstance(raw.get("type"), str) or not isinstance(obj, dict):
        raise BadRequest("The event is not a Stripe event object (id, type, data.object).")
    return StripeEvent(raw["id"], raw["type"], obj)
