"""Input and output shapes of enrolments, rosters, waitlists and the audit log."""

import re

from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from ..cohorts.schemas import SessionOut
from ..foundation.http import PageQuery
from ..foundation.links import enrolment_feed_urls, join_url, manage_url
from ..foundation.validation import Amount, Code, Identifier, Instant, Language, Name, PlainEmail, Timezone, Trimmed
from ..payments.accounts import payment_summary, refund_summary
from ..payments.models import PAYOUT_METHODS, RefundStatus
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


DESK_METHODS = ("cash", "check", "card_in_person", "insurance", "waived")


class DeskPaymentIn(Schema):
    """Money taken at the front desk: the whole balance confirms; less keeps the hold (or confirm_with_balance)."""

    method = fields.String(
        required=True, validate=validate.OneOf(DESK_METHODS, error="Use one of: " + ", ".join(DESK_METHODS) + ".")
    )
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000))
    reference = Trimmed(validate=validate.Length(max=200), allow_none=True)
    confirm_with_balance = fields.Boolean(load_default=False, truthy={True}, falsy={False})
    # The person signed the program's agreements on paper: recorded so, with who said it (audited).
    agreements_on_paper = fields.Boolean(load_default=False, truthy={True}, falsy={False})


class EnrolmentCreate(Schema):
    name = Name(required=True)
    email = PlainEmail(required=True)
    phone = Phone(allow_none=True)
    timezone = Timezone(allow_none=True)
    # The language of the person's page (and, in later steps, of their emails): en or es.
    locale = Language(allow_none=True)
    # The program's price level, when it lets people choose (staff may always set one).
    price_level = Code(lowercase=True)
    discount_code = Code()
    # Pay at the front desk instead of by card, where the cohort allows it (a longer hold).
    pay_at_desk = fields.Boolean(truthy={True}, falsy={False})
    # Staff only: enrol and record the money taken in one step (one email for the result).
    desk_payment = fields.Nested(DeskPaymentIn)


class LinkAgainIn(Schema):
    """ "Send it again": the address to send the person's link to, if it has one here."""

    email = PlainEmail(required=True)


class AcceptIn(Schema):
    pay_at_desk = fields.Boolean(truthy={True}, falsy={False})


_SIGN = "Type your full name to accept the agreement."


class AgreementAcceptIn(Schema):
    """The person signs an agreement by typing their full name."""

    full_name = Trimmed(
        required=True,
        validate=[validate.Length(min=1, error=_SIGN), validate.Length(max=200, error="Use at most 200 characters.")],
        error_messages={"required": _SIGN, "null": _SIGN},
    )


class AgreementAcceptanceOut(Schema):
    """One acceptance: which version of which agreement, its text's hash, who signed and when."""

    id = fields.String()
    enrolment_id = fields.String()
    agreement_id = fields.String()
    title = fields.Function(lambda a: a.agreement.title)
    version = fields.Integer()
    text_hash = fields.String(metadata={"description": "SHA-256 (hex) of the text accepted"})
    full_name = fields.String(allow_none=True, metadata={"description": "as typed; null when signed on paper"})
    on_paper = fields.Boolean()
    accepted_at = Instant()
    enrolment_status = fields.Function(
        lambda a: a.enrolment.status, metadata={"description": "confirmed once the last one is accepted"}
    )


class AgreementStateOut(Schema):
    """A current agreement of the enrolment's program, and whether (and how) it was accepted."""

    id = fields.String()
    title = fields.String()
    body = fields.String()
    version = fields.Integer()
    text_hash = fields.String()
    accepted = fields.Boolean()
    accepted_at = Instant(allow_none=True)
    full_name = fields.String(allow_none=True)
    on_paper = fields.Boolean()


class PriceChangeIn(Schema):
    """Staff set what an enrolment owes, before it is paid in full, with the reason (audited)."""

    # What _one_price says, for /openapi.json.
    openapi_rules = {"oneOf": [{"required": ["amount_due"]}, {"required": ["price_level"]}]}

    amount_due = Amount()
    price_level = Code(lowercase=True)
    reason = Trimmed(required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _one_price(self, data, **kwargs):
        if ("amount_due" in data) == ("price_level" in data):
            raise ValidationError("Give amount_due or price_level (one of them).", "amount_due")


class WithdrawIn(Schema):
    refund_amount = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000_000))


class MoveIn(Schema):
    position = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, error="Positions start at 1 (1 is next in line).")
    )


class ConfirmIn(DeskPaymentIn):
    """POST …/confirm: a desk payment, possibly part of the balance."""


class TransferIn(Schema):
    cohort_id = Identifier(required=True)


class EnrolmentQuery(PageQuery):
    email = Trimmed(validate=validate.Length(min=1, max=254))
    cohort_id = Identifier()
    status = fields.String(validate=validate.OneOf(STATUSES, error="Use one of: " + ", ".join(STATUSES) + "."))


class AuditQuery(PageQuery):
    enrolment_id = Identifier()
    cohort_id = Identifier()


_REFUND_STATUSES = tuple(RefundStatus)


class RefundQuery(PageQuery):
    status = fields.String(
        validate=validate.OneOf(_REFUND_STATUSES, error="Use one of: " + ", ".join(_REFUND_STATUSES) + ".")
    )


class RefundPaidIn(Schema):
    method = fields.String(
        required=True,
        validate=validate.OneOf(PAYOUT_METHODS, error="Use one of: " + ", ".join(PAYOUT_METHODS) + "."),
    )
    reference = Trimmed(validate=validate.Length(max=200), allow_none=True)


class RefundListOut(Schema):
    """A refund for the desk's list: how much, to whom, why, and whether it was paid out."""

    id = fields.String()
    enrolment_id = fields.String()
    payment_id = fields.String(allow_none=True)
    name = fields.Function(lambda r: r.enrolment.name)
    email = fields.Function(lambda r: r.enrolment.email)
    cohort_id = fields.Function(lambda r: r.enrolment.cohort_id)
    cohort_name = fields.Function(lambda r: r.enrolment.cohort.name)
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()
    reason = fields.String()
    created_at = Instant()
    paid_method = fields.String(allow_none=True)
    paid_reference = fields.String(allow_none=True)
    paid_at = Instant(allow_none=True)


class ReceiptQuery(Schema):
    # ?for=insurer names the program on the receipt (otherwise the neutral calendar title).
    for_ = fields.String(
        data_key="for", validate=validate.OneOf(["insurer"], error="Leave it out, or use for=insurer.")
    )


class PaymentListedOut(Schema):
    id = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    method = fields.String()
    created_at = Instant()
    receipt_url = fields.String()


class RefundListedOut(Schema):
    id = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()
    created_at = Instant()


def _payments(e) -> list:
    return PaymentListedOut(many=True).dump([payment_summary(p) for p in e.account.payments])


def _refunds(e) -> list:
    return RefundListedOut(many=True).dump([refund_summary(r) for r in e.account.refunds])


class EnrolmentSummaryOut(Schema):
    """An enrolment in lists (search): no sessions, no links, no token."""

    id = fields.String()
    cohort_id = fields.String()
    status = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    hold_expires_at = Instant(allow_none=True)
    offer_expires_at = Instant(allow_none=True)
    waitlist_position = fields.Integer(allow_none=True)
    currency = fields.Function(lambda e: e.cohort.currency)
    # What is owed and paid (API.md "Prices, balances and receipts"), from the ledger.
    amount_due = fields.Integer()
    amount_paid = fields.Integer()
    amount_refunded = fields.Integer()
    balance = fields.Integer()
    price_level = fields.String(allow_none=True)
    price_before_discount = fields.Integer()
    discount_code = fields.Function(lambda e: e.discount_code.code if e.discount_code else None)
    discount_amount = fields.Integer()
    pays_at_desk = fields.Boolean()
    payments = fields.Function(_payments)
    refunds = fields.Function(_refunds)
    payment_method = fields.String(allow_none=True)
    created_at = Instant()
    updated_at = Instant()


_CONFIRMED_ONLY = ("join_url", "meeting_url", "calendar_url", "webcal_url")
_NOT_DESCRIBED = object()


def _extra(name: str, **kwargs) -> fields.Function:
    """A field a higher domain describes (enrolment.views.describers); left out when it did not."""
    return fields.Function(lambda e: (getattr(e, "extras", None) or {}).get(name, _NOT_DESCRIBED), **kwargs)


def _agreements(e):
    described = (getattr(e, "extras", None) or {}).get("agreements", _NOT_DESCRIBED)
    return described if described is _NOT_DESCRIBED else AgreementStateOut(many=True).dump(described)


def _drop_not_described(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not _NOT_DESCRIBED}


class EnrolmentOut(EnrolmentSummaryOut):
    """One enrolment for its participant or staff; the personal join link and feeds only once confirmed.

    The participant never sees the cohort's raw meeting link (staff do: EnrolmentStaffOut).
    `attendance` lists their own record per session; `completed` appears once the cohort has ended.
    """

    cohort_name = fields.Function(lambda e: e.cohort.name)
    cohort_timezone = fields.Function(lambda e: e.cohort.timezone)
    price_amount = fields.Function(lambda e: e.cohort.price_amount)
    sessions = fields.Function(lambda e: SessionOut(many=True).dump(e.cohort.sessions))
    join_url = fields.Function(lambda e: join_url(e))
    calendar_url = fields.Function(lambda e: enrolment_feed_urls(e)["calendar_url"])
    webcal_url = fields.Function(lambda e: enrolment_feed_urls(e)["webcal_url"])
    attendance = _extra("attendance")
    # Individual sessions beside the group: each with its attendance (the full programme).
    individual_attendance = _extra("individual_attendance")
    completed = _extra("completed")
    # The program's current agreements and whether each is accepted; agreements_due: confirmed,
    # but a newer version is not accepted yet.
    agreements = fields.Function(_agreements)
    agreements_due = _extra("agreements_due")
    payment = fields.Raw()
    refund = fields.Raw()
    # After a transfer: what it did to the money (amount_due before and after, balance, refund, detail).
    transfer = fields.Raw()

    @post_dump(pass_original=True)
    def _hide_unless_confirmed(self, data, original, **kwargs):
        data = _drop_not_described(data)
        if original.status != "confirmed":
            for key in _CONFIRMED_ONLY:
                data.pop(key, None)
        for key in ("payment", "refund", "transfer"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class EnrolmentStaffOut(EnrolmentOut):
    """What staff see of one enrolment: also the raw meeting link and the attendance follow-up."""

    meeting_url = fields.Function(lambda e: e.cohort.meeting_url)
    consecutive_missed = _extra("consecutive_missed")
    attendance_flag = _extra("attendance_flag")


class CheckEmailOut(Schema):
    """A public request's answer, the same for every address: the email carries the outcome."""

    status = fields.String()
    email = fields.String()
    expires_at = Instant()


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
    individual_attendance = _extra("individual_attendance")
    consecutive_missed = _extra("consecutive_missed")
    attendance_flag = _extra("attendance_flag")
    # Confirmed, but some current agreement of the program (a newer version) is not accepted yet.
    agreements_due = _extra("agreements_due")

    @post_dump
    def _described_only(self, data, **kwargs):
        return _drop_not_described(data)


class RosterOut(RosterFacilitatorOut):
    amount_due = fields.Integer()
    amount_paid = fields.Integer()
    amount_refunded = fields.Integer()
    balance = fields.Integer()
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
