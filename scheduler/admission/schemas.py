"""Input and output shapes of intakes."""

from marshmallow import Schema, fields, validate

from ..enrolment.schemas import Phone
from ..foundation.links import join_url
from ..foundation.validation import Identifier, Instant, Language, MultiLineText, Name, PlainEmail, Timezone
from .models import IntakeStatus

STATUSES = tuple(IntakeStatus)
OUTCOMES = (IntakeStatus.APPROVED, IntakeStatus.NOT_SUITABLE)


class IntakeRequestIn(Schema):
    name = Name(required=True)
    email = PlainEmail(required=True)
    phone = Phone(allow_none=True)
    timezone = Timezone(allow_none=True)
    locale = Language(allow_none=True)


class IntakeQuery(Schema):
    program_id = Identifier()
    status = fields.String(validate=validate.OneOf(STATUSES, error="Use one of: " + ", ".join(STATUSES) + "."))


class OutcomeIn(Schema):
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(OUTCOMES, error="Use approved or not_suitable."),
    )
    # Staff-only: never shown to the person.
    note = MultiLineText(validate=validate.Length(max=5000))
    # Shown to the person, in a neutral email and on their page.
    message = MultiLineText(validate=validate.Length(max=2000))
    cohort_id = Identifier(allow_none=True)


class IntakeMoveIn(Schema):
    position = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, error="Positions start at 1 (1 is next in line).")
    )


class IntakeOfferIn(Schema):
    cohort_id = Identifier(required=True)


class AppointmentOut(Schema):
    id = fields.String()
    starts_at = Instant()
    ends_at = Instant()
    status = fields.String()
    # The person's own link to the video room: it opens shortly before the start, until the end.
    join_url = fields.Function(lambda a: join_url(a))


class SlotOut(Schema):
    starts_at = Instant()
    ends_at = Instant()
    timezone = fields.String(metadata={"description": "the person's zone"})
    local = fields.Function(lambda s: s["local"].isoformat(), metadata={"description": "the start in that zone"})


# ?from=&to= (instants): "from" is a Python keyword, so the schema is made from a dict.
SlotQuery = Schema.from_dict({"from": Instant(), "to": Instant()}, name="SlotQuery")


class BookIn(Schema):
    starts_at = Instant(required=True)


class IntakeOut(Schema):
    """What the person sees of their intake (never the staff note)."""

    id = fields.String()
    program_id = fields.String()
    status = fields.String()
    queue_position = fields.Integer(allow_none=True)
    requested_at = Instant()
    locale = fields.String(allow_none=True)
    # The assessment appointment, once booked (null until then).
    appointment = fields.Nested(AppointmentOut, allow_none=True)
    outcome_at = Instant(allow_none=True)
    approved_cohort_id = fields.String(allow_none=True)
    message = fields.String(attribute="outcome_message", allow_none=True)
    approval_expires_at = Instant(allow_none=True)
    # The enrolment a seat was last offered through (its own link was emailed).
    offer_enrolment_id = fields.String(allow_none=True)


class IntakeStaffOut(IntakeOut):
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    note = fields.String(attribute="outcome_note", allow_none=True)
    outcome_by = fields.String(allow_none=True)
    passed_cohort_ids = fields.List(fields.String())
