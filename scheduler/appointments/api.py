"""HTTP views for assessors' weekly availability (the desk, an admin, or the assessor themselves)."""

from flask import Blueprint

from ..foundation.auth import DESK, current_staff, participant_or_staff, staff
from ..foundation.http import endpoint
from . import individual, services
from .schemas import (
    AppointmentAttendanceIn,
    AppointmentPatch,
    AvailabilityIn,
    AvailabilityOut,
    IndividualAppointmentOut,
    SeriesIn,
)

bp = Blueprint("appointments", __name__, url_prefix="/api/v1")


@bp.post("/staff/<staff_id>/availability")
@endpoint(staff(), body=AvailabilityIn, response=AvailabilityOut, status=201)
def add_availability(staff_id, data):
    """Weekly hours an assessor offers for intake assessments, cut into bookable slots."""
    return services.add_availability(staff_id, data, current_staff())


@bp.get("/staff/<staff_id>/availability")
@endpoint(staff(), response=AvailabilityOut, many=True)
def list_availability(staff_id):
    """An assessor's weekly hours in force."""
    return services.list_availability(staff_id, current_staff())


@bp.delete("/staff/<staff_id>/availability/<availability_id>")
@endpoint(staff(), response=AvailabilityOut)
def remove_availability(staff_id, availability_id):
    """Stop offering these hours (appointments already booked in them stand)."""
    return services.remove_availability(staff_id, availability_id, current_staff())


@bp.post("/enrolments/<enrolment_id>/individual-series")
@endpoint(staff(*DESK), body=SeriesIn, response=IndividualAppointmentOut, many=True, status=201)
def create_series(enrolment_id, data):
    """Weekly individual sessions with a therapist beside the group; a clash is 409, naming it."""
    return individual.create_series(enrolment_id, data, current_staff())


@bp.get("/enrolments/<enrolment_id>/appointments")
@endpoint(participant_or_staff(), response=IndividualAppointmentOut, many=True)
def list_appointments(enrolment_id):
    """The enrolment's individual sessions, booked and cancelled, in time order."""
    return individual.appointments_of(enrolment_id)


@bp.patch("/appointments/<appointment_id>")
@endpoint(participant_or_staff(), body=AppointmentPatch, response=IndividualAppointmentOut)
def change_appointment(appointment_id, data):
    """Staff move (starts_at) or cancel (status: cancelled) a session; the person may cancel it up to
    the program's individual_cancel_hours before."""
    return individual.change(appointment_id, data, current_staff())


@bp.put("/appointments/<appointment_id>/attendance")
@endpoint(staff(), body=AppointmentAttendanceIn, response=IndividualAppointmentOut)
def record_attendance(appointment_id, data):
    """Present, late, absent or excused (the session's therapist or the front desk)."""
    return individual.record_attendance(appointment_id, data["status"], current_staff())
