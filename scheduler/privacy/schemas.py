"""Input and output shapes of a participant's data export and erasure."""

import re

from marshmallow import Schema, fields

from ..foundation.validation import Instant, PlainEmail

# Bearer secrets inside message bodies (manage links, feed URLs, join links): an export goes to
# staff and from them to the person, so it shows where a link was, never a working credential.
_TOKEN = re.compile(r"\b(mng|cal|join|stf)_[A-Za-z0-9_-]{20,}")


def _without_tokens(text: str | None) -> str | None:
    return _TOKEN.sub(r"\1_[token removed]", text) if text else text


class ExportQuery(Schema):
    email = PlainEmail(required=True, metadata={"description": "the person's address, in any case"})


class EraseIn(Schema):
    email = PlainEmail(required=True, metadata={"description": "the person's address, in any case"})


class ParticipantOut(Schema):
    id = fields.String()
    email = fields.String(attribute="email_normalised")
    created_at = Instant()
    erased_at = Instant(allow_none=True)


class ExportedPaymentOut(Schema):
    id = fields.String()
    provider = fields.String()
    method = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()
    amount_refunded = fields.Integer()
    reference = fields.String(allow_none=True)
    stripe_payment_intent_id = fields.String(allow_none=True)
    staff_id = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    succeeded_at = Instant(allow_none=True)
    created_at = Instant()
    updated_at = Instant()


class ExportedRefundOut(Schema):
    id = fields.String()
    payment_id = fields.String(allow_none=True)
    amount = fields.Integer()
    currency = fields.String()
    reason = fields.String()
    status = fields.String()
    source = fields.String()
    stripe_refund_id = fields.String(allow_none=True)
    staff_id = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = Instant()
    updated_at = Instant()


class AttachmentOut(Schema):
    filename = fields.String()
    content_type = fields.String()
    content = fields.String(metadata={"description": "base64"})


class ExportedMessageOut(Schema):
    id = fields.String()
    kind = fields.String()
    staff_id = fields.String(allow_none=True, metadata={"description": "set when it went to staff, about this person"})
    to = fields.String(attribute="to_address")
    sender = fields.String(attribute="from_address", data_key="from")
    subject = fields.String()
    body_text = fields.Function(lambda m: _without_tokens(m.body_text))
    body_html = fields.Function(lambda m: _without_tokens(m.body_html))
    attachments = fields.List(fields.Nested(AttachmentOut))
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    resend_of = fields.String(allow_none=True)
    created_at = Instant()
    sent_at = Instant(allow_none=True)


class ExportedAuditOut(Schema):
    id = fields.String()
    staff_id = fields.String(allow_none=True)
    staff_name = fields.Function(lambda a: a.staff.name if a.staff else None, allow_none=True)
    action = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    created_at = Instant()


class ExportedAttendanceOut(Schema):
    session_id = fields.String()
    session_number = fields.Integer()
    session_starts_at = Instant()
    status = fields.String()
    source = fields.String(metadata={"description": "join (their join link) or staff"})
    recorded_by = fields.String(allow_none=True)
    recorded_at = Instant()
    joined_at = Instant(allow_none=True)


class ExportedAttendanceFlagOut(Schema):
    id = fields.String()
    cohort_id = fields.String()
    reason = fields.String()
    missed_in_a_row = fields.Integer()
    raised_at = Instant()
    cleared_at = Instant(allow_none=True)
    cleared_by_id = fields.String(allow_none=True)
    clear_note = fields.String(allow_none=True)


class ExportedAgreementOut(Schema):
    """An agreement of the program they accepted: the version, its text and hash, how and when."""

    id = fields.String()
    agreement_id = fields.String()
    title = fields.Function(lambda a: a.agreement.title)
    version = fields.Integer()
    text = fields.Function(lambda a: a.agreement.body)
    text_hash = fields.String()
    full_name = fields.String(allow_none=True, metadata={"description": "as they typed it; null on paper"})
    on_paper = fields.Boolean()
    staff_id = fields.String(allow_none=True, metadata={"description": "who recorded a paper signature"})
    accepted_at = Instant()


class ExportedEnrolmentOut(Schema):
    """Every field of the enrolment but its tokens (credentials, not data about the person)."""

    id = fields.String()
    cohort_id = fields.String()
    cohort_name = fields.Function(lambda r: r.cohort.name)
    program_name = fields.Function(lambda r: r.cohort.program.name)
    status = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    hold_expires_at = Instant(allow_none=True)
    offer_expires_at = Instant(allow_none=True)
    waitlist_rank = fields.Integer(allow_none=True)
    amount_paid = fields.Integer()
    payment_method = fields.String(allow_none=True)
    created_at = Instant()
    updated_at = Instant()
    erased_at = Instant(allow_none=True)
    payments = fields.List(fields.Nested(ExportedPaymentOut))
    refunds = fields.List(fields.Nested(ExportedRefundOut))
    messages = fields.List(fields.Nested(ExportedMessageOut))
    audit = fields.List(fields.Nested(ExportedAuditOut))
    attendance = fields.List(fields.Nested(ExportedAttendanceOut))
    attendance_flags = fields.List(fields.Nested(ExportedAttendanceFlagOut))
    appointments = fields.List(fields.Nested("ExportedAppointmentOut"))
    agreements = fields.List(fields.Nested(ExportedAgreementOut))


class ExportedRequestOut(Schema):
    """A public request not yet carried out: what the person sent."""

    kind = fields.String(metadata={"description": "enrol, link_again or sign_in"})
    cohort_id = fields.String(attribute="subject_id", allow_none=True)
    email = fields.String()
    sent = fields.Dict(attribute="payload", metadata={"description": "the fields as sent"})
    created_at = Instant()


class ExportedIntakeAuditOut(Schema):
    action = fields.String()
    staff_id = fields.String(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    created_at = Instant()


class ExportedAppointmentOut(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String()
    attendance = fields.String(allow_none=True)
    staff_id = fields.String()
    starts_at = Instant()
    ends_at = Instant()
    created_at = Instant()
    cancelled_at = Instant(allow_none=True)


class ExportedIntakeOut(Schema):
    """A request for a place in an intake program: every field but its token."""

    id = fields.String()
    program_id = fields.String()
    program_name = fields.Function(lambda r: r.program.name)
    status = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    requested_at = Instant()
    outcome_at = Instant(allow_none=True)
    note = fields.String(attribute="outcome_note", allow_none=True, metadata={"description": "the staff note"})
    message = fields.String(attribute="outcome_message", allow_none=True)
    approved_cohort_id = fields.String(allow_none=True)
    approval_expires_at = Instant(allow_none=True)
    offer_enrolment_id = fields.String(allow_none=True)
    erased_at = Instant(allow_none=True)
    audit = fields.List(fields.Nested(ExportedIntakeAuditOut))
    appointments = fields.List(fields.Nested(ExportedAppointmentOut))


class ParticipantExportOut(Schema):
    exported_at = Instant()
    participant = fields.Nested(ParticipantOut, allow_none=True)
    holds = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "every kind of record here, counted"}
    )
    enrolments = fields.List(fields.Nested(ExportedEnrolmentOut))
    requests = fields.List(fields.Nested(ExportedRequestOut))
    other_messages = fields.List(
        fields.Nested(ExportedMessageOut), metadata={"description": "messages to the address about no enrolment"}
    )
    intakes = fields.List(fields.Nested(ExportedIntakeOut))


class ErasedEnrolmentOut(Schema):
    id = fields.String()
    cohort_id = fields.String()
    status = fields.String(metadata={"description": "its status after the erasure (active ones are withdrawn first)"})
    withdrawn = fields.Boolean(metadata={"description": "withdrawn by this erasure"})
    refund = fields.Dict(allow_none=True, metadata={"description": "the refund the withdrawal gave, if any"})


class ErasureOut(Schema):
    participant_id = fields.String()
    erased_at = Instant()
    enrolments = fields.List(fields.Nested(ErasedEnrolmentOut))
    messages_erased = fields.Integer()
    messages_cancelled = fields.Integer(metadata={"description": "unsent messages that will now never be sent"})
    idempotency_records_deleted = fields.Integer()
    requests_deleted = fields.Integer(
        metadata={"description": "public requests (waiting, or that made these enrolments)"}
    )
    intakes_erased = fields.Integer(metadata={"description": "requests for a place (open ones withdrawn first)"})
