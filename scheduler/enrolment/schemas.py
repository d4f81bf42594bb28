"""Input and output shapes of enrolments, rosters, waitlists and the audit log."""

import re

from marshmallow import Schema, ValidationError, fields, post_dump, validate

from ..cohorts.schemas import SessionOut
from ..http import PageQuery
from ..links import enrolment_feed_urls, join_url, manage_url
from ..validation import Identifier, Instant, Name, PlainEmail, Timezone, Trimmed
from .models import STATUSES

_PHONE = re.compile(r"\+?[0-9 ()./-]{3,30}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?")


class Phone(Trimmed):
    def openapi_properties(self) -> dict:
        # A subset of what the server takes (it also trims and allows separators first).
        return {"pattern": r"^\+?[0-9]{3}[0-9 ()./-]{0,27}(?: ?(?:x|ext\.?) ?[0-9]{1,6})?$", "maxLength": 40}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if len(value) > 40:
            raise ValidationError("Use at most 40 characters, for example +1 555 0100 ext. 12.")
        if not _PHONE.fullmatch(value) or sum(ch.isdigit() for ch in value) < 3:
            raise ValidationError("Use digits, spaces and + ( ) - only, for example +1 555 0100.")
        return value


class EnrolmentCreate(Schema):
    name = Name(required=True)
    email = PlainEmail(required=True)
    phone = Phone(allow_none=True)
    timezone = Timezone(allow_none=True)


class WithdrawIn(Schema):
    refund_amount = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000_000))


class MoveIn(Schema):
    position = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, error="Positions start at 1 (1 is next in line).")
    )


DESK_METHODS = ("cash", "check", "card_in_person", "insurance", "waived")


class ConfirmIn(Schema):
    method = fields.String(
        required=True, validate=validate.OneOf(DESK_METHODS, error="Use one of: " + ", ".join(DESK_METHODS) + ".")
    )
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000))
    reference = Trimmed(validate=validate.Length(max=200), allow_none=True)


class TransferIn(Schema):
    cohort_id = Identifier(required=True)


class EnrolmentQuery(PageQuery):
    email = Trimmed(validate=validate.Length(min=1, max=254))
    cohort_id = Identifier()
    status = fields.String(validate=validate.OneOf(STATUSES, error="Use one of: " + ", ".join(STATUSES) + "."))


class AuditQuery(PageQuery):
    enrolment_id = Identifier()
    cohort_id = Identifier()


class EnrolmentSummaryOut(Schema):
    """An enrolment in lists (search): no sessions, no links, no token."""

    id = fields.String()
    cohort_id = fields.String()
    status = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    hold_expires_at = Instant(allow_none=True)
    offer_expires_at = Instant(allow_none=True)
    waitlist_position = fields.Integer(allow_none=True)
    amount_paid = fields.Integer()
    payment_method = fields.String(allow_none=True)
    created_at = Instant()
    updated_at = Instant()


_CONFIRMED_ONLY = ("join_url", "meeting_url", "calendar_url", "webcal_url")
_NOT_DESCRIBED = object()


def _extra(name: str, **kwargs) -> fields.Function:
    """A field a higher domain describes (enrolment.services.describe_with); left out when it did not."""
    return fields.Function(lambda e: (getattr(e, "extras", None) or {}).get(name, _NOT_DESCRIBED), **kwargs)


def _drop_not_described(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not _NOT_DESCRIBED}


class EnrolmentOut(EnrolmentSummaryOut):
    """One enrolment for its participant or staff; the personal join link and feeds only once confirmed.

    The participant never sees the cohort's raw meeting link (staff do: EnrolmentStaffOut).
    `attendance` lists their own record per session; `completed` appears once the cohort has ended.
    """

    cohort_name = fields.Function(lambda e: e.cohort.name)
    cohort_timezone = fields.Function(lambda e: e.cohort.timezone)
    currency = fields.Function(lambda e: e.cohort.currency)
    price_amount = fields.Function(lambda e: e.cohort.price_amount)
    sessions = fields.Function(lambda e: SessionOut(many=True).dump(e.cohort.sessions))
    join_url = fields.Function(lambda e: join_url(e))
    calendar_url = fields.Function(lambda e: enrolment_feed_urls(e)["calendar_url"])
    webcal_url = fields.Function(lambda e: enrolment_feed_urls(e)["webcal_url"])
    attendance = _extra("attendance")
    completed = _extra("completed")
    payment = fields.Raw()
    refund = fields.Raw()

    @post_dump(pass_original=True)
    def _hide_unless_confirmed(self, data, original, **kwargs):
        data = _drop_not_described(data)
        if original.status != "confirmed":
            for key in _CONFIRMED_ONLY:
                data.pop(key, None)
        for key in ("payment", "refund"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class EnrolmentStaffOut(EnrolmentOut):
    """What staff see of one enrolment: also the raw meeting link and the attendance follow-up."""

    meeting_url = fields.Function(lambda e: e.cohort.meeting_url)
    consecutive_missed = _extra("consecutive_missed")
    attendance_flag = _extra("attendance_flag")


class EnrolmentCreatedOut(EnrolmentSummaryOut):
    """The create response: the only place, with emails, that shows the manage token."""

    payment = fields.Raw(allow_none=True)
    manage_token = fields.String()
    manage_url = fields.Function(lambda e: manage_url(e))


class RosterFacilitatorOut(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    status = fields.String()
    hold_expires_at = Instant(allow_none=True)
    offer_expires_at = Instant(allow_none=True)
    # Per session: {"session_id", "number", "status"} (present, late, absent, excused, or null).
    attendance = _extra("attendance")
    consecutive_missed = _extra("consecutive_missed")
    attendance_flag = _extra("attendance_flag")

    @post_dump
    def _described_only(self, data, **kwargs):
        return _drop_not_described(data)


class RosterOut(RosterFacilitatorOut):
    amount_paid = fields.Integer()
    payment_method = fields.String(allow_none=True)


class WaitlistOut(Schema):
    id = fields.String()
    waitlist_position = fields.Integer(allow_none=True)
    status = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    created_at = Instant()
    offer_expires_at = Instant(allow_none=True)


class AuditOut(Schema):
    id = fields.String()
    enrolment_id = fields.String(allow_none=True)
    cohort_id = fields.String(allow_none=True)
    staff_id = fields.String(allow_none=True)
    staff_name = fields.Function(lambda a: a.staff.name if a.staff else None)
    action = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    created_at = Instant()
