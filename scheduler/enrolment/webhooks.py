"""Stripe's webhook: an untrusted trigger (DESIGN.md 9) for enrolment's checkout.

It lives in enrolment because what a payment does to a seat is enrolment's; the payments
domain below verifies the signature and reads the event (payments/webhook.py) and never
imports enrolment. The URL stays under /api/v1/payments, where Stripe is told to call.
"""

from flask import Blueprint, request

from ..foundation.auth import WEBHOOK
from ..foundation.http import endpoint
from ..payments.schemas import WebhookReceived
from . import checkout

bp = Blueprint("webhooks", __name__, url_prefix="/api/v1/payments")


@bp.post("/stripe/webhook")
@endpoint(WEBHOOK, response=WebhookReceived)
def stripe_webhook():
    """Apply a signed Stripe event at most once (400 bad or stale signature, 503 retry later)."""
    return checkout.handle_stripe_event(request.get_data(cache=True), request.headers.get("Stripe-Signature"))
