"""HTTP views for a participant's message history (staff): parse, call one service, dump."""

from flask import Blueprint

from ..foundation.auth import DESK, current_staff, staff
from ..foundation.http import PageQuery, endpoint
from . import services
from .schemas import MessageOut

bp = Blueprint("notifications", __name__, url_prefix="/api/v1")


@bp.get("/enrolments/<enrolment_id>/messages")
@endpoint(staff(*DESK), query=PageQuery, response=MessageOut, many=True)
def list_messages(enrolment_id, query):
    """The emails written for an enrolment: subject, kind, status, attempts, last error."""
    return services.list_messages(enrolment_id, query["page"], query["page_size"])


@bp.post("/enrolments/<enrolment_id>/messages/<message_id>/resend")
@endpoint(staff(*DESK), response=MessageOut, status=201)
def resend_message(enrolment_id, message_id):
    """Send a message again (a new copy, queued now)."""
    return services.resend_message(enrolment_id, message_id, current_staff())
