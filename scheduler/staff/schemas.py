"""Input and output shapes of staff accounts."""

from marshmallow import Schema, fields, validate

from ..foundation.auth import ROLES
from ..foundation.validation import Instant, Name, PlainEmail


class StaffCreate(Schema):
    email = PlainEmail(required=True)
    name = Name(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="Use one of: " + ", ".join(ROLES) + "."))
    # Runs intake assessments (any role): publishes availability and is booked for them.
    assessor = fields.Boolean(truthy={True}, falsy={False})


class StaffPatch(Schema):
    assessor = fields.Boolean(truthy={True}, falsy={False})
    # A clinician's National Provider Identifier (10 digits), printed on statements of services.
    npi = fields.String(
        allow_none=True, validate=validate.Regexp(r"^\d{10}$", error="An NPI is ten digits, e.g. 1234567893.")
    )


class StaffOut(Schema):
    id = fields.String()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    assessor = fields.Boolean()
    npi = fields.String(allow_none=True)
    created_at = Instant()
    revoked_at = Instant(allow_none=True)


class StaffCreatedOut(StaffOut):
    """Shown once, at creation: the only time the token is ever visible."""

    token = fields.String()


class SignInLinkRequest(Schema):
    """The console's sign-in form: the address a one-time link is sent to."""

    email = PlainEmail(required=True, error_messages={"required": "Please enter your email address."})


class ApiTokenCreate(Schema):
    label = Name(max_length=100, required=True, error_messages={"required": "Give the token a name."})


class RoleChange(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="Use one of: " + ", ".join(ROLES) + "."))
