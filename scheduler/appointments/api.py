"""HTTP views for assessors' weekly availability (the desk, an admin, or the assessor themselves)."""

from flask import Blueprint

from ..foundation.auth import current_staff, staff
from ..foundation.http import endpoint
from . import services
from .schemas import AvailabilityIn, AvailabilityOut

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
