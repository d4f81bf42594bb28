"""Payment shapes in the contract: the `payment` and `refund` objects, and the webhook's answer."""

from marshmallow import Schema, fields


class PaymentOut(Schema):
    """How to pay for a held seat (API.md `payment`)."""

    provider = fields.String(metadata={"enum": ["stripe", "manual"]})
    payment_intent_id = fields.String()
    client_secret = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    publishable_key = fields.String()


class RefundOut(Schema):
    """Money going back (API.md `refund`): status pending, succeeded, failed or owed_by_front_desk."""

    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()


class WebhookReceived(Schema):
    received = fields.Boolean()
    outcome = fields.String()
