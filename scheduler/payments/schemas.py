"""Payment shapes in the contract: the `payment` and `refund` objects, and the webhook's answer."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..http import PageQuery
from ..validation import Currency, Instant


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
    active = fields.Boolean()
    max_uses = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=1_000_000, error="Must be 1 or more.")
    )
    expires_at = Instant(allow_none=True)

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Nothing to change: give active, max_uses or expires_at.", "_schema")


class DiscountCodeCreate(Schema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            r"\s*[A-Za-z0-9][A-Za-z0-9_-]{0,39}\s*$", error="Use 1 to 40 letters, digits, - and _, for example SPRING."
        ),
    )
    percent_off = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=100, error="Must be a whole percentage from 1 to 100.")
    )
    amount_off = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=10_000_000, error="Must be a whole number of minor units (cents) above 0."),
    )
    currency = Currency()
    program_id = fields.String(validate=validate.Length(min=1, max=40))
    cohort_id = fields.String(validate=validate.Length(min=1, max=40))
    max_uses = fields.Integer(strict=True, validate=validate.Range(min=1, max=1_000_000, error="Must be 1 or more."))
    expires_at = Instant()

    @validates_schema
    def _one_kind(self, data, **kwargs):
        if ("percent_off" in data) == ("amount_off" in data):
            raise ValidationError("Give percent_off or amount_off (one of them).", "percent_off")
        if "currency" in data and "amount_off" not in data:
            raise ValidationError("currency goes with amount_off only.", "currency")


class DiscountCodeQuery(PageQuery):
    active = fields.Boolean()
    program_id = fields.String(validate=validate.Length(max=40))
    cohort_id = fields.String(validate=validate.Length(max=40))


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
