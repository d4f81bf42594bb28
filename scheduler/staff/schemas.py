"""Input and output shapes of staff accounts."""

from marshmallow import Schema, fields, validate

from ..auth import ROLES
from ..validation import Instant, Name, PlainEmail


class StaffCreate(Schema):
    email = PlainEmail(required=True)
    name = Name(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="Use one of: " + ", ".join(ROLES) + "."))


class StaffOut(Schema):
    id = fields.String()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    created_at = Instant()
    revoked_at = Instant(allow_none=True)


class StaffCreatedOut(StaffOut):
    """Shown once, at creation: the only time the token is ever visible."""

    token = fields.String()
