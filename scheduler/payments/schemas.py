"""Payment shapes in the contract: the `payment` and `refund` objects, and the webhook's answer."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..foundation.http import PageQuery
from ..foundation.validation import Code, Currency, Identifier, Instant


class PaymentOut(Schema):
    """How to pay for a held seat (API.md `payment`)."""

    provider = fields.String(metadata={"enum": ["stripe", "manual"]})
    payment_intent_id = fields.String()
    client_secret = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    publishable_key = fields.String()


class RefundOut(Schema):
    """Money going back (API.md `refund`): pending, succeeded, failed, owed_by_front_desk, paid_by_front_desk."""

    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()


class WebhookReceived(Schema):
    received = fields.Boolean()
    outcome = fields.String()


# ---- discount codes -------------------------------------------------------------------------


class DiscountCodePatch(Schema):
    # What _something says, for /openapi.json.
    openapi_rules = {"minProperties": 1}

    active = fields.Boolean(truthy={True}, falsy={False})
    max_uses = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=1_000_000, error="Must be 1 or more.")
    )
    expires_at = Instant(allow_none=True)

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Nothing to change: give active, max_uses or expires_at.", "_schema")


class DiscountCodeCreate(Schema):
    # What _one_kind says, for /openapi.json: percent_off or amount_off, and a currency only with an amount.
    openapi_rules = {
        "oneOf": [{"required": ["percent_off"]}, {"required": ["amount_off"]}],
        "not": {"required": ["currency", "percent_off"]},
    }

    code = Code(required=True)
    percent_off = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=100, error="Must be a whole percentage from 1 to 100.")
    )
    amount_off = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=10_000_000, error="Must be a whole number of minor units (cents) above 0."),
    )
    currency = Currency()
    program_id = Identifier()
    cohort_id = Identifier()
    max_uses = fields.Integer(strict=True, validate=validate.Range(min=1, max=1_000_000, error="Must be 1 or more."))
    expires_at = Instant()

    @validates_schema
    def _one_kind(self, data, **kwargs):
        if ("percent_off" in data) == ("amount_off" in data):
            raise ValidationError("Give percent_off or amount_off (one of them).", "percent_off")
        if "currency" in data and "amount_off" not in data:
            raise ValidationError("currency goes with amount_off only.", "currency")


class DiscountCodeQuery(PageQuery):
    active = fields.Boolean(truthy={True, "true"}, falsy={False, "false"})
    program_id = Identifier()
    cohort_id = Identifier()


class DiscountCodeOut(Schema):
    id = fields.String()
    code = fields.String()
    percent_off = fields.Integer(allow_none=True)
    amount_off = fields.Integer(allow_none=True)
    currency = fields.String(allow_none=True)
    program_id = fields.String(allow_none=True)
    cohort_id = fields.String(allow_none=True)
    max_uses = fields.Integer(allow_none=True)
    uses = fields.Integer()
    expires_at = Instant(allow_none=True)
    active = fields.Boolean()
    created_at = Instant()
    updated_at = Instant()
