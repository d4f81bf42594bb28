"""HTTP views for staff accounts (admin only)."""

from flask import Blueprint

from ..foundation.auth import ADMIN, current_staff, staff
from ..foundation.http import PageQuery, endpoint
from . import services
from .schemas import StaffCreate, StaffCreatedOut, StaffOut, StaffPatch

bp = Blueprint("staff", __name__, url_prefix="/api/v1")


@bp.post("/staff")
@endpoint(staff(ADMIN), body=StaffCreate, response=StaffCreatedOut, status=201)
def create_staff(data):
    """Create a staff account; the token is shown once."""
    return services.create_staff(**data, acting=current_staff())


@bp.get("/staff")
@endpoint(staff(ADMIN), query=PageQuery, response=StaffOut, many=True)
def list_staff(query):
    """List staff accounts."""
    return services.list_staff(query["page"], query["page_size"])


@bp.delete("/staff/<staff_id>")
@endpoint(staff(ADMIN), response=StaffOut)
def revoke_staff(staff_id):
    """Revoke a staff account's token."""
    return services.revoke_staff(staff_id, current_staff())


@bp.patch("/staff/<staff_id>")
@endpoint(staff(ADMIN), body=StaffPatch, response=StaffOut)
def update_staff(staff_id, data):
    """Mark an account as an assessor (it runs intake assessments and publishes availability), or not;
    set a clinician's NPI (printed on statements of services)."""
    return services.update_staff(staff_id, data, current_staff())
