"""HTTP views for a participant's data: export (admin, front desk) and erasure (admin)."""

from flask import Blueprint

from ..foundation.auth import ADMIN, DESK, current_staff, staff
from ..foundation.http import endpoint
from . import erasure, export
from .schemas import EraseIn, ErasureOut, ExportQuery, ParticipantExportOut

bp = Blueprint("privacy", __name__, url_prefix="/api/v1/participants")


@bp.get("/export")
@endpoint(staff(*DESK), query=ExportQuery, response=ParticipantExportOut)
def export_participant(query):
    """Everything held about the person with this email: enrolments, payments, refunds, messages, audit."""
    return export.export_participant(query["email"])


@bp.post("/erase")
@endpoint(staff(ADMIN), body=EraseIn, response=ErasureOut)
def erase_participant(data):
    """Withdraw the person's active enrolments (policy refund), then erase their identity, messages and links."""
    return erasure.erase_participant(data["email"], current_staff())
