"""What staff see of a participant's messages."""

from marshmallow import Schema, fields


class MessageOut(Schema):
    id = fields.String()
    kind = fields.String()
    subject = fields.String()
    to = fields.String(attribute="to_address")
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    refused_recipients = fields.Dict(allow_none=True)
    message_id = fields.String()
    resend_of = fields.String(allow_none=True)
    created_at = fields.DateTime(format="%Y-%m-%dT%H:%M:%SZ")
    next_attempt_at = fields.DateTime(format="%Y-%m-%dT%H:%M:%SZ")
    sent_at = fields.DateTime(format="%Y-%m-%dT%H:%M:%SZ", allow_none=True)
