"""HTTP views for intakes: the public request, the person's intake, and the desk's queue."""

from flask import Blueprint
from flask_limiter.util import get_remote_address

from ..enrolment.api import _enrol_limit, _idempotency_key
from ..enrolment.schemas import CheckEmailOut
from ..foundation.auth import DESK, PUBLIC, current_staff, participant_or_staff, staff
from ..foundation.extensions import limiter, per_address
from ..foundation.http import endpoint, json_response
from . import booking, queue, records, services
from .schemas import (
    BookIn,
    IntakeMoveIn,
    IntakeOfferIn,
    IntakeOut,
    IntakeQuery,
    IntakeRequestIn,
    IntakeStaffOut,
    OutcomeIn,
    SlotOut,
    SlotQuery,
)

bp = Blueprint("admission", __name__, url_prefix="/api/v1")


@bp.post("/programs/<program_id>/intake-requests")
@limiter.limit(_enrol_limit, key_func=get_remote_address)
@per_address
@endpoint(PUBLIC, body=IntakeRequestIn, response=CheckEmailOut, status=202)
def request_place(program_id, data):
    """Ask for a place in a program that admits after an assessment: answered the same for every
    address (202 check_email); the email links to the person's intake page."""
    answer = services.request_place(program_id, data, _idempotency_key())
    return json_response(CheckEmailOut().dump(answer), 202)


@bp.get("/intakes")
@endpoint(staff(*DESK), query=IntakeQuery, response=IntakeStaffOut, many=True)
def list_intakes(query):
    """The queue: intakes by program (open ones in queue order first), optionally of one status."""
    return services.list_intakes(query)


@bp.get("/intakes/<intake_id>")
@endpoint(participant_or_staff(), response=IntakeOut, staff_response=IntakeStaffOut)
def get_intake(intake_id):
    """One intake: its status, place in the queue, outcome and offer (the person: their manage token)."""
    return records.get_intake(intake_id)


@bp.post("/intakes/<intake_id>/withdraw")
@endpoint(participant_or_staff(), response=IntakeOut, staff_response=IntakeStaffOut)
def withdraw_intake(intake_id):
    """Leave the queue (a seat offered meanwhile is declined)."""
    return services.withdraw(intake_id, current_staff())


@bp.post("/intakes/<intake_id>/outcome")
@endpoint(staff(), body=OutcomeIn, response=IntakeStaffOut)
def record_outcome(intake_id, data):
    """Approved (for the program or one cohort) or not suitable; the person is told by a neutral email.
    The front desk, an admin, or the assessor booked for this person (a 403 for other staff)."""
    return services.record_outcome(intake_id, data, current_staff())


@bp.post("/intakes/<intake_id>/move")
@endpoint(staff(*DESK), body=IntakeMoveIn, response=IntakeStaffOut)
def move_intake(intake_id, data):
    """Put an intake at a position in its program's queue (1 is next); audited."""
    return services.move(intake_id, data["position"], current_staff())


@bp.post("/intakes/<intake_id>/offer")
@endpoint(staff(*DESK), body=IntakeOfferIn, response=IntakeStaffOut)
def offer_intake_seat(intake_id, data):
    """Offer an approved person a seat of a cohort now, out of turn; audited."""
    return queue.offer(intake_id, data["cohort_id"], current_staff())


@bp.get("/intakes/<intake_id>/slots")
@endpoint(participant_or_staff(), query=SlotQuery, response=SlotOut, many=True)
def intake_slots(intake_id, query):
    """Free assessment slots (from=, to=: instants; default the next eight weeks), in the person's zone."""
    return booking.slots(intake_id, query.get("from"), query.get("to"))


@bp.post("/intakes/<intake_id>/appointment")
@endpoint(participant_or_staff(), body=BookIn, response=IntakeOut, staff_response=IntakeStaffOut, status=201)
def book_assessment(intake_id, data):
    """Book an assessment slot (a booked one is given up for it); a slot taken meanwhile is 409."""
    return booking.book(intake_id, data["starts_at"], current_staff())


@bp.delete("/intakes/<intake_id>/appointment")
@endpoint(participant_or_staff(), response=IntakeOut, staff_response=IntakeStaffOut)
def cancel_assessment(intake_id):
    """Cancel the booked assessment: the person up to assessment_cancel_hours before it, staff any time."""
    return booking.cancel(intake_id, current_staff())
