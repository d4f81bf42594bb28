"""Output shapes of the calendar routes that answer JSON."""

from marshmallow import Schema, fields


class CalendarLinksOut(Schema):
    cohort_id = fields.String()
    calendar_url = fields.String()
    webcal_url = fields.String()


class ParticipantCalendarLinksOut(Schema):
    enrolment_id = fields.String()
    calendar_url = fields.String()
    webcal_url = fields.String()
