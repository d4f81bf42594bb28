"""HTTP views for enrolment, waitlists, rosters and the audit log: parse, call one service, dump."""

import io

from defusedcsv import csv
from flask import Blueprint, Response, current_app, g, request
from flask_limiter.util import get_remote_address

from ..foundation.auth import DESK, FACILITATOR, PUBLIC, Access, current_staff, participant_or_staff, staff
from ..foundation.errors import Invalid
from ..foundation.extensions import limiter, per_address
from ..foundation.http import endpoint, json_response, json_text_response
from . import enrolling, paying, refunding, requested, self_service, staff_actions
from .rosters import roster_rendered
from .schemas import (
    AcceptIn,
    AgreementAcceptanceOut,
    AgreementAcceptIn,
    AuditOut,
    AuditQuery,
    CheckEmailOut,
    ConfirmIn,
    EnrolmentCreate,
    EnrolmentCreatedOut,
    EnrolmentOut,
    EnrolmentQuery,
    EnrolmentStaffOut,
    EnrolmentSummaryOut,
    MoveIn,
    PriceChangeIn,
    ReceiptQuery,
    RefundListOut,
    RefundPaidIn,
    RefundQuery,
    RosterFacilitatorOut,
    RosterOut,
    TransferIn,
    WaitlistOut,
    WithdrawIn,
)

bp = Blueprint("enrolment", __name__, url_prefix="/api/v1")
# The person alone (their manage token): staff do not sign for them (they note paper signatures at confirm).
THE_PERSON = Access("participant")


def _enrol_limit() -> str:
    return current_app.config.get("ENROL_RATE_LIMIT", "20 per minute;200 per hour")


def _is_staff_call() -> bool:
    # Staff enrolling people by phone are not throttled; a forged stf_ token only earns a 401.
    return request.headers.get("Authorization", "").startswith("Bearer stf_")


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key.strip()) <= 200):
        raise Invalid.field("Idempotency-Key", "Use 1 to 200 characters, for example a UUID.")
    return key.strip() if key else None


@bp.post("/cohorts/<cohort_id>/enrolments")
@limiter.limit(_enrol_limit, key_func=get_remote_address, exempt_when=_is_staff_call)
@per_address
@endpoint(PUBLIC, body=EnrolmentCreate, response=EnrolmentCreatedOut, status=201)
def enrol(cohort_id, data):
    """Enrol in a cohort: confirmed, pending payment with a held seat, or waitlisted.

    Staff get the enrolment (201). A public request is queued and answered 202 check_email,
    the same for every address: the email carries the link to what happened.
    """
    staff_member = current_staff()
    if staff_member is None:
        answer = requested.request_enrolment(cohort_id, data, _idempotency_key())
        return json_response(CheckEmailOut().dump(answer), 202)
    return enrolling.enrol(cohort_id, data, staff_member, _idempotency_key())


# The public's answer (staff get the 201 above).
enrol.endpoint_spec.extra["responses"] = {
    "202": {
        "description": "A public request, queued: the same answer for every address; the email says what happened",
        "content": {"application/json": {"schema": CheckEmailOut}},
    }
}


@bp.get("/enrolments/<enrolment_id>")
@endpoint(participant_or_staff(), response=EnrolmentOut, staff_response=EnrolmentStaffOut)
def get_enrolment(enrolment_id):
    """One enrolment with its sessions; the link and calendar feeds once confirmed."""
    return self_service.get_enrolment(enrolment_id)


@bp.post("/enrolments/<enrolment_id>/withdraw")
@endpoint(participant_or_staff(), body=WithdrawIn, response=EnrolmentOut)
def withdraw(enrolment_id, data):
    """Withdraw, with the refund the policy gives (staff may set refund_amount)."""
    return self_service.withdraw(enrolment_id, current_staff(), data.get("refund_amount"))


@bp.patch("/enrolments/<enrolment_id>")
@endpoint(staff(*DESK), body=PriceChangeIn, response=EnrolmentOut)
def change_price(enrolment_id, data):
    """Set what the enrolment owes (amount_due or price_level) before it is paid in full, with a reason."""
    return staff_actions.change_price(enrolment_id, data, current_staff())


@bp.post("/enrolments/<enrolment_id>/accept")
@endpoint(participant_or_staff(), body=AcceptIn, response=EnrolmentOut)
def accept(enrolment_id, data):
    """Accept an offered seat (pay_at_desk: pay by hand, where the cohort allows it)."""
    return self_service.accept(enrolment_id, current_staff(), data.get("pay_at_desk"))


@bp.post("/enrolments/<enrolment_id>/agreements/<agreement_id>/accept")
@endpoint(THE_PERSON, body=AgreementAcceptIn, response=AgreementAcceptanceOut)
def accept_agreement(enrolment_id, agreement_id, data):
    """Accept the current version of one of the program's agreements, signing with a full name."""
    [acceptance] = self_service.accept_agreements(enrolment_id, [agreement_id], data["full_name"])
    return acceptance


@bp.post("/enrolments/<enrolment_id>/decline")
@endpoint(participant_or_staff(), response=EnrolmentOut)
def decline(enrolment_id):
    """Decline an offered seat."""
    return self_service.decline(enrolment_id, current_staff())


@bp.post("/enrolments/<enrolment_id>/payment")
@endpoint(participant_or_staff())
def retry_payment(enrolment_id):
    """A fresh payment object for a held seat (the hold is not extended)."""
    return paying.retry_payment(enrolment_id)


@bp.get("/enrolments")
@endpoint(staff(*DESK), query=EnrolmentQuery, response=EnrolmentSummaryOut, many=True)
def search(query):
    """Find enrolments by email, cohort and status."""
    return staff_actions.search(query)


def _roster_schema():
    return RosterFacilitatorOut if g.staff.role == FACILITATOR else RosterOut


@bp.get("/cohorts/<cohort_id>/roster")
@endpoint(staff(*DESK, FACILITATOR), response=RosterOut, many=True)
def roster(cohort_id):
    """Everyone who holds or held a seat; facilitators see no payment fields."""
    schema = _roster_schema()
    render = lambda rows: schema(many=True).dump(rows)  # noqa: E731  (built only when the roster is rendered)
    return json_text_response(roster_rendered(cohort_id, current_staff(), schema.__name__, render))


def _leading_control_as_text(value):
    # The rest of OWASP's rule, for rows written before names refused control characters.
    return "'" + value if isinstance(value, str) and value[:1] in ("\t", "\r") else value


@bp.get("/cohorts/<cohort_id>/roster.csv")
@endpoint(staff(*DESK, FACILITATOR))
def roster_csv(cohort_id):
    """The roster as CSV."""
    return roster_csv_response(cohort_id, current_staff())


def roster_csv_response(cohort_id: str, member) -> Response:
    """The roster as a CSV download for this staff member (the staff console's export too)."""
    schema = RosterFacilitatorOut if member.role == FACILITATOR else RosterOut
    rows = schema(many=True).dump(staff_actions.roster(cohort_id, member))
    # Attendance spreads over one column per session ("session_3": "absent").
    attendance = [row.pop("attendance", None) or [] for row in rows]
    numbers = sorted({mark["number"] for marks in attendance for mark in marks})
    columns = [c for c in schema().fields if c != "attendance"] + [f"session_{n}" for n in numbers]
    out = io.StringIO()
    # defusedcsv: a cell that a spreadsheet would run as a formula (=, +, -, @, |, %) gets a
    # leading ' (shown as text); numbers and empty cells stay as they are.
    writer = csv.writer(out)
    writer.writerow(columns)
    for row, marks in zip(rows, attendance, strict=True):
        row.update({f"session_{mark['number']}": mark["status"] for mark in marks})
        writer.writerow([_leading_control_as_text(row.get(c)) for c in columns])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="roster-{cohort_id}.csv"'},
    )


roster_csv.endpoint_spec.extra["content"] = {"text/csv": {"schema": {"type": "string"}}}


@bp.get("/cohorts/<cohort_id>/waitlist")
@endpoint(staff(*DESK), response=WaitlistOut, many=True)
def waitlist(cohort_id):
    """Offered and waitlisted enrolments, in order."""
    return staff_actions.waitlist(cohort_id, current_staff())


@bp.post("/enrolments/<enrolment_id>/move")
@endpoint(staff(*DESK), body=MoveIn, response=EnrolmentStaffOut)
def move(enrolment_id, data):
    """Move a waitlisted person to another position."""
    return staff_actions.move(enrolment_id, data["position"], current_staff())


@bp.post("/enrolments/<enrolment_id>/offer")
@endpoint(staff(*DESK), response=EnrolmentStaffOut)
def offer(enrolment_id):
    """Offer a free seat to this waitlisted person now, out of order."""
    return staff_actions.offer(enrolment_id, current_staff())


@bp.post("/enrolments/<enrolment_id>/confirm")
@endpoint(staff(*DESK), body=ConfirmIn, response=EnrolmentStaffOut)
def confirm(enrolment_id, data):
    """Confirm with a payment taken at the front desk."""
    return staff_actions.confirm(enrolment_id, data, current_staff())


@bp.post("/enrolments/<enrolment_id>/transfer")
@endpoint(staff(*DESK), body=TransferIn, response=EnrolmentStaffOut)
def transfer(enrolment_id, data):
    """Move a confirmed participant to another cohort, keeping the payment."""
    return staff_actions.transfer(enrolment_id, data["cohort_id"], current_staff())


@bp.get("/refunds")
@endpoint(staff(*DESK), query=RefundQuery, response=RefundListOut, many=True)
def refunds(query):
    """Refunds by status: ?status=owed_by_front_desk lists what the desk must pay back."""
    return refunding.refunds(query)


@bp.post("/refunds/<refund_id>/paid")
@endpoint(staff(*DESK), body=RefundPaidIn, response=RefundListOut)
def refund_paid(refund_id, data):
    """Record that the desk paid an owed refund back (the person is told once)."""
    return refunding.refund_paid_out(refund_id, data, current_staff())


@bp.get("/audit")
@endpoint(staff(*DESK), query=AuditQuery, response=AuditOut, many=True)
def audit(query):
    """Who changed which enrolment, when, from what to what."""
    return staff_actions.audit(query)


@bp.get("/payments/<payment_id>/receipt")
@endpoint(participant_or_staff(), query=ReceiptQuery)
def receipt(payment_id, query):
    """A payment's receipt as a printable page (for=insurer names the program)."""
    page = paying.receipt(payment_id, for_insurer=query.get("for_") == "insurer")
    return Response(page, mimetype="text/html", headers={"Cache-Control": "no-store"})
