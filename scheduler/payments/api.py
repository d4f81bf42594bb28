"""The Stripe webhook: Stripe calls it; the signature on the raw body is the credential."""

from flask import Blueprint, request

from ..auth import WEBHOOK
from ..http import endpoint
from . import services
from .schemas import WebhookReceived

bp = Blueprint("payments", __name__, url_prefix="/api/v1/payments")


@bp.post("/stripe/webhook")
@endpoint(WEBHOOK, response=WebhookReceived)
def stripe_webhook():
    """Apply a signed Stripe event at most once (400 bad or stale signature, 503 retry later)."""
    return services.handle_stripe_event(request.get_data(cache=True), request.headers.get("Stripe-Signature"))


@bp.after_app_request
def _send_committed_refunds(response):
    # Refunds committed by this request go out now; failures stay pending for the worker.
    services.send_committed_refunds()
    return response
