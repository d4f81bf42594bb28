"""Input and output shapes of programs, cohorts and sessions."""

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..foundation.http import PageQuery
from ..foundation.links import cohort_feed_urls
from ..foundation.validation import (
    Amount,
    Code,
    Count,
    Currency,
    HttpsUrl,
    Identifier,
    Instant,
    LocalDateTime,
    MultiLineText,
    Name,
    StrictDate,
    Timezone,
    Trimmed,
    WallTime,
)
from .models import ADMISSIONS


class CptCode(Trimmed):
    """A CPT code for the statement of services: four digits and a digit or capital letter (90853)."""

    pattern = r"\d{4}[0-9A-Z]"

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(self.pattern, value):
            raise ValidationError("A CPT code is five characters: four digits and a digit or capital, e.g. 90853.")
        return value

    def openapi_properties(self) -> dict:
        return {"pattern": f"^{self.pattern}$", "example": "90853"}


# ---- programs ---------------------------------------------------------------------------------


class PriceLevel(Schema):
    """One step of a sliding scale: {"code": "reduced", "name": "Reduced", "amount": 18000}."""

    code = Code(required=True, lowercase=True)
    name = Name(required=True, max_length=100)
    amount = Amount(required=True)


class ProgramPatch(Schema):
    name = Name()
    description = MultiLineText(validate=validate.Length(max=5000))
    session_titles = fields.List(Name(max_length=300), validate=validate.Length(max=100))
    default_session_count = Count(1, 100)
    default_duration_minutes = Count(15, 480)
    default_capacity = Count(1, 500)
    price_amount = Amount()
    currency = Currency()
    calendar_title = Name()
    # Each level's code must be its own (checked by the service: a rule no JSON Schema states).
    price_levels = fields.List(
        fields.Nested(PriceLevel), validate=validate.Length(max=10, error="At most 10 price levels.")
    )
    self_select_price_level = fields.Boolean(truthy={True}, falsy={False})
    missed_sessions_limit = Count(0, 100)
    excused_counts_as_missed = fields.Boolean(truthy={True}, falsy={False})
    rule_counts_individual = fields.Boolean(truthy={True}, falsy={False})
    group_cpt_code = CptCode()  # the statement of services' codes
    individual_cpt_code = CptCode()
    individual_fee_amount = Amount()
    completion_min_sessions = Count(1, 100, allow_none=True)
    admission = fields.String(
        validate=validate.OneOf(ADMISSIONS, error="Use open (people enrol and pay) or intake (after an assessment).")
    )
    approval_valid_days = Count(1, 3650)
    assessment_cancel_hours = Count(0, 720)
    individual_cancel_hours = Count(0, 720)


class ProgramCreate(ProgramPatch):
    name = Name(required=True)


class ProgramOut(Schema):
    id = fields.String()
    name = fields.String()
    description = fields.String()
    session_titles = fields.List(fields.String())
    default_session_count = fields.Integer()
    default_duration_minutes = fields.Integer()
    default_capacity = fields.Integer()
    price_amount = fields.Integer()
    currency = fields.String()
    calendar_title = fields.String()
    price_levels = fields.List(fields.Dict())
    self_select_price_level = fields.Boolean()
    missed_sessions_limit = fields.Integer()
    excused_counts_as_missed = fields.Boolean()
    rule_counts_individual = fields.Boolean(
        metadata={"description": "misses of individual sessions count toward missed_sessions_limit"}
    )
    group_cpt_code = fields.String()
    individual_cpt_code = fields.String()
    individual_fee_amount = fields.Integer()
    # null: 80 % of a cohort's sessions (rounded up)
    completion_min_sessions = fields.Integer(allow_none=True)
    admission = fields.String(metadata={"description": "open: people enrol; intake: after an assessment"})
    approval_valid_days = fields.Integer(metadata={"description": "intake: days an approval stands without a seat"})
    assessment_cancel_hours = fields.Integer(
        metadata={"description": "intake: the person may cancel their assessment up to this many hours before"}
    )
    individual_cancel_hours = fields.Integer(
        metadata={"description": "the person may cancel an individual session up to this many hours before"}
    )
    created_at = Instant()
    updated_at = Instant()


class AgreementCreate(Schema):
    """A version of one of the program's agreements; the title of a current one supersedes it."""

    title = Name(required=True)
    body = MultiLineText(
        required=True,
        validate=[
            validate.Length(min=1, error="Give the agreement's text."),
            validate.Length(max=20000, error="Use at most 20000 characters."),
        ],
    )


class AgreementOut(Schema):
    id = fields.String()
    program_id = fields.String()
    title = fields.String()
    body = fields.String()
    version = fields.Integer()
    text_hash = fields.String(metadata={"description": "SHA-256 (hex) of body, UTF-8"})
    created_at = Instant()
    created_by = fields.String(metadata={"description": "the staff member who added it"})
    superseded_at = Instant(allow_none=True)


# ---- sessions ---------------------------------------------------------------------------------


class SessionOut(Schema):
    id = fields.String()
    number = fields.Integer()
    title = fields.String()
    starts_at = Instant()
    ends_at = Instant()
    local_start = fields.Method("_local_start")
    status = fields.String()
    sequence = fields.Integer()

    def _local_start(self, session) -> str:
        from zoneinfo import ZoneInfo

        return session.starts_at.astimezone(ZoneInfo(session.cohort.timezone)).isoformat()


class SessionPatch(Schema):
    # What _one_start says, for /openapi.json: something to change, and not both starts.
    openapi_rules = {"minProperties": 1, "not": {"required": ["starts_at", "local_start"]}}

    starts_at = Instant()
    # Wall-clock time in the cohort's zone; resolved (and gap-checked) by the service.
    local_start = LocalDateTime()
    duration_minutes = Count(15, 480)
    title = Name(max_length=300)
    status = fields.String(validate=validate.OneOf(["cancelled", "scheduled"]))

    @validates_schema
    def _one_start(self, data, **kwargs):
        if "starts_at" in data and "local_start" in data:
            raise ValidationError("Give starts_at or local_start, not both.", "local_start")
        if not data:
            raise ValidationError(
                "Nothing to change: give starts_at, local_start, duration_minutes, title or status.", "_schema"
            )


# ---- cohorts ----------------------------------------------------------------------------------

_SETTABLE_STATUS = validate.OneOf(
    ["draft", "open", "closed", "cancelled"],
    error="Use draft, open, closed or cancelled (running and completed follow from the dates).",
)


class CohortPatch(Schema):
    name = Name()
    capacity = Count(1, 500)
    meeting_url = HttpsUrl(allow_none=True)
    hold_minutes = Count(5, 7 * 24 * 60)
    confirm_email_minutes = Count(5, 24 * 60)
    offer_hours = Count(1, 14 * 24)
    refund_cutoff_hours = Count(0, 60 * 24)
    manual_hold_hours = Count(1, 14 * 24)
    allow_pay_at_desk = fields.Boolean(truthy={True}, falsy={False})
    # Late joiners (cohorts/joining.py); at most session_count, checked by the service.
    enrol_until_session = Count(1, 100)
    prorate_late_joiners = fields.Boolean(truthy={True}, falsy={False})
    facilitator_ids = fields.List(Identifier(), validate=validate.Length(max=20))
    status = fields.String(validate=_SETTABLE_STATUS)


class CohortCreate(CohortPatch):
    program_id = Identifier(required=True)
    start_date = StrictDate(required=True)
    start_time = WallTime(required=True)
    timezone = Timezone(required=True)
    session_count = Count(1, 100)
    duration_minutes = Count(15, 480)
    price_amount = Amount()
    currency = Currency()
    skip_dates = fields.List(StrictDate(), validate=validate.Length(max=52))
    status = fields.String(validate=validate.OneOf(["draft", "open"], error="A new cohort starts as draft or open."))


class CohortQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["draft", "open", "closed", "cancelled", "running", "completed"]))
    program_id = Identifier()


class CohortPublicOut(Schema):
    """What anyone may see: enough to decide to enrol, nothing about people or links."""

    id = fields.String()
    program_id = fields.String()
    program_name = fields.Function(lambda c: c.program.name)
    description = fields.Function(lambda c: c.program.description)
    name = fields.String()
    status = fields.Function(lambda c: c.view_status)
    timezone = fields.String()
    start_date = fields.Date()
    start_time = fields.String()
    weekday = fields.Function(lambda c: c.start_date.strftime("%A").lower())
    session_count = fields.Integer()
    duration_minutes = fields.Integer()
    capacity = fields.Integer()
    seats_taken = fields.Function(lambda c: c.seats.taken)
    seats_available = fields.Function(lambda c: c.seats.available)
    waitlist_count = fields.Function(lambda c: c.seats.waitlisted)
    price_amount = fields.Integer()
    currency = fields.String()
    # What a person may choose when enrolling: a price level (when the program lets them), the desk.
    # Each level's joining_amount is what it costs when enrolling now (pro-rated for a late joiner).
    price_levels = fields.Function(
        lambda c: (
            [{**level, "joining_amount": c.price_now(level["amount"])} for level in c.program.price_levels or []]
            if c.program.self_select_price_level
            else []
        ),
    )
    allow_pay_at_desk = fields.Boolean()
    # Late joiners: until when the public may enrol, from which session, and at what price now.
    enrol_until_session = fields.Integer(
        metadata={"description": "the public may enrol until this session (by number) has started"}
    )
    prorate_late_joiners = fields.Boolean(
        metadata={"description": "a late joiner pays for the sessions left (rounded down to the minor unit)"}
    )
    enrolment_open = fields.Function(
        lambda c: c.joining.public,
        metadata={"description": "the public may enrol now (open, or running and still taking people)"},
    )
    enrolment_closes_at = Instant(
        attribute="joining.closes_at", allow_none=True, metadata={"description": "when public enrolment closes"}
    )
    joining_from_session = fields.Function(
        lambda c: c.joining.from_session,
        metadata={"description": "the first session a person enrolling now attends (null: none left)"},
    )
    joining_price_amount = fields.Function(
        lambda c: c.price_now(),
        metadata={"description": "what enrolling now costs: price_amount, pro-rated for a late joiner"},
    )
    sessions = fields.List(fields.Nested(SessionOut))


class FacilitatorOut(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()


class CohortStaffOut(CohortPublicOut):
    meeting_url = fields.String(allow_none=True)
    hold_minutes = fields.Integer()
    confirm_email_minutes = fields.Integer()
    offer_hours = fields.Integer()
    refund_cutoff_hours = fields.Integer()
    manual_hold_hours = fields.Integer()
    all_price_levels = fields.Function(lambda c: c.program.price_levels or [])
    skip_dates = fields.List(fields.String())
    facilitator_ids = fields.Function(lambda c: [f.id for f in c.facilitators])
    facilitators = fields.List(fields.Nested(FacilitatorOut))
    calendar_url = fields.Function(lambda c: cohort_feed_urls(c)["calendar_url"])
    created_at = Instant()
    updated_at = Instant()
