"""Input and output shapes of assessors' availability."""

from marshmallow import Schema, fields, validate

from ..foundation.links import join_url
from ..foundation.validation import HttpsUrl, Identifier, Instant, StrictDate, Timezone, WallTime
from .models import AppointmentStatus, AttendanceMark
from .services import WEEKDAYS, slots_of


class AvailabilityIn(Schema):
    weekday = fields.String(
        required=True, validate=validate.OneOf(WEEKDAYS, error="Use a lower-case English day name, e.g. tuesday.")
    )
    start_time = WallTime(required=True)
    end_time = WallTime(required=True)
    timezone = Timezone(required=True)
    slot_minutes = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=10, max=240, error="Use 10 to 240 minutes.")
    )
    from_date = StrictDate(required=True)
    until_date = StrictDate(allow_none=True)
    program_ids = fields.List(Identifier(), validate=validate.Length(max=50))
    skip_dates = fields.List(StrictDate(), validate=validate.Length(max=100))
    meeting_url = HttpsUrl(allow_none=True)


class SlotSpanOut(Schema):
    starts_at = Instant()
    ends_at = Instant()


class AvailabilityOut(Schema):
    id = fields.String()
    staff_id = fields.String()
    weekday = fields.Function(lambda a: WEEKDAYS[a.weekday])
    start_time = fields.Function(lambda a: f"{a.start_minute // 60:02d}:{a.start_minute % 60:02d}")
    end_time = fields.Function(lambda a: f"{a.end_minute // 60:02d}:{a.end_minute % 60:02d}")
    timezone = fields.String()
    slot_minutes = fields.Integer()
    from_date = fields.Date()
    until_date = fields.Date(allow_none=True)
    program_ids = fields.List(fields.String())
    skip_dates = fields.List(fields.String())
    meeting_url = fields.String(allow_none=True)
    created_at = Instant()
    # What these hours make bookable in the next eight weeks: free slots, without the assessor's
    # booked appointments and the sessions of their groups.
    slots = fields.Method("_slots")

    def _slots(self, row):
        return [
            {
                "starts_at": Instant()._serialize(s.starts_at, None, None),
                "ends_at": Instant()._serialize(s.ends_at, None, None),
            }
            for s in slots_of(row)
        ]


class SeriesIn(Schema):
    staff_id = Identifier(required=True)
    weekday = fields.String(
        required=True, validate=validate.OneOf(WEEKDAYS, error="Use a lower-case English day name, e.g. tuesday.")
    )
    start_time = WallTime(required=True)
    timezone = Timezone(required=True)
    start_date = StrictDate(required=True)
    count = fields.Integer(load_default=12, strict=True, validate=validate.Range(min=1, max=52, error="Use 1 to 52."))
    duration_minutes = fields.Integer(
        load_default=50, strict=True, validate=validate.Range(min=10, max=240, error="Use 10 to 240 minutes.")
    )
    skip_dates = fields.List(StrictDate(), validate=validate.Length(max=52))
    meeting_url = HttpsUrl(allow_none=True)


class AppointmentPatch(Schema):
    starts_at = Instant()
    status = fields.String(validate=validate.OneOf([AppointmentStatus.CANCELLED], error="Use cancelled."))


class AppointmentAttendanceIn(Schema):
    status = fields.String(
        required=True,
        validate=validate.OneOf(tuple(AttendanceMark), error="Use present, late, absent or excused."),
    )


class IndividualAppointmentOut(Schema):
    id = fields.String()
    kind = fields.String()
    enrolment_id = fields.String()
    series_id = fields.String()
    number = fields.Integer()
    staff_id = fields.String()
    therapist = fields.Function(lambda a: a.staff.name)
    starts_at = Instant()
    ends_at = Instant()
    status = fields.String()
    attendance = fields.String(allow_none=True)
    sequence = fields.Integer()
    # The person's own link to the video room: it opens shortly before the start, until the end.
    join_url = fields.Function(lambda a: join_url(a))
