"""Input and output shapes of attendance: session sheets, the cohort grid, flags, join links."""

from marshmallow import Schema, fields, validate

from ..foundation.validation import Identifier, Instant, Trimmed
from .models import AttendanceStatus, RecordSource

STATUSES = tuple(AttendanceStatus)


class RecordIn(Schema):
    enrolment_id = Identifier(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(STATUSES, error="Use one of: " + ", ".join(STATUSES) + "."),
    )


class AttendanceIn(Schema):
    records = fields.List(
        fields.Nested(RecordIn),
        required=True,
        validate=validate.Length(min=1, max=500, error="Give 1 to 500 records, one per person."),
    )


class FlagClearIn(Schema):
    note = Trimmed(
        required=True,
        validate=validate.Length(min=1, max=2000, error="Say in 1 to 2000 characters how it was followed up."),
    )


def _provisional(record) -> bool:
    return record is not None and record.source == RecordSource.JOIN


class SessionRecordOut(Schema):
    """One row of a session's sheet: a confirmed participant and their record (status null: none yet)."""

    enrolment_id = fields.Function(lambda row: row[0].id)
    name = fields.Function(lambda row: row[0].name)
    status = fields.Function(lambda row: row[1].status if row[1] else None)
    # True while the only record is the one the join link wrote (a facilitator may correct it).
    provisional = fields.Function(lambda row: _provisional(row[1]))
    joined_at = fields.Function(lambda row: _instant(row[1].joined_at) if row[1] else None)
    recorded_at = fields.Function(lambda row: _instant(row[1].recorded_at) if row[1] else None)
    recorded_by_id = fields.Function(lambda row: row[1].recorded_by_id if row[1] else None)
    recorded_by_name = fields.Function(lambda row: row[1].recorded_by.name if row[1] and row[1].recorded_by else None)


def _instant(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


class SessionAttendanceOut(Schema):
    session_id = fields.Function(lambda s: s.session.id)
    cohort_id = fields.Function(lambda s: s.session.cohort_id)
    number = fields.Function(lambda s: s.session.number)
    title = fields.Function(lambda s: s.session.title)
    starts_at = fields.Function(lambda s: _instant(s.session.starts_at))
    ends_at = fields.Function(lambda s: _instant(s.session.ends_at))
    session_status = fields.Function(lambda s: s.session.status)
    records = fields.Function(lambda s: SessionRecordOut(many=True).dump(s.rows))


class MarkOut(Schema):
    session_id = fields.Function(lambda item: item["mark"].session_id)
    number = fields.Function(lambda item: item["mark"].number)
    starts_at = fields.Function(lambda item: _instant(item["mark"].starts_at))
    session_cancelled = fields.Function(lambda item: item["mark"].cancelled)
    status = fields.Function(lambda item: item["mark"].status)
    provisional = fields.Function(lambda item: _provisional(item["record"]))


class PersonAttendanceOut(Schema):
    """One confirmed participant in the cohort's attendance grid."""

    enrolment_id = fields.String()
    name = fields.String()
    status = fields.String()
    records = fields.Function(lambda s: MarkOut(many=True).dump(s.per_session()))
    attended = fields.Integer()
    consecutive_missed = fields.Integer()
    attendance_flag = fields.String(allow_none=True)
    flag_raised_at = Instant(allow_none=True)


class JoinLinkOut(Schema):
    enrolment_id = fields.String()
    join_url = fields.String()


class DiagnosisCodesIn(Schema):
    """ICD-10 codes for the statement of services (staff-only; shown on that statement alone)."""

    diagnosis_codes = fields.List(
        fields.String(
            validate=validate.Regexp(
                r"^[A-TV-Za-tv-z][0-9][0-9ABab](\.[0-9A-Za-z]{1,4})?$",
                error="An ICD-10 code looks like F43.10 or F33.1.",
            )
        ),
        required=True,
        validate=validate.Length(max=12, error="At most 12 codes."),
    )


STATEMENT_FORMATS = ("html", "pdf")


def _statement_format() -> fields.String:
    """?format=html or pdf, for a plain link that cannot send Accept (another value: 422, as every
    query value the API refuses)."""
    return fields.String(
        validate=validate.OneOf(
            STATEMENT_FORMATS, error="Use html or pdf (or leave it out and send Accept: application/pdf)."
        ),
        metadata={"description": "html or pdf; without it, Accept decides (PDF only when preferred to HTML)."},
    )


# ?from=&to= (instants), ?format=: "from" is a Python keyword, so the schema is made from a dict.
StatementQuery = Schema.from_dict(
    {"from": Instant(), "to": Instant(), "format": _statement_format()}, name="StatementQuery"
)
