"""The person's statement of services (superbill), from their page: the printable statement itself."""

from flask import Response, render_template

from ..attendance import statements
from ..foundation.security import private
from .views import PARTICIPANT_PAGE, _require_participant, bp, page


@bp.get("/me/<enrolment_id>/statement")
@page(PARTICIPANT_PAGE)
def statement(enrolment_id):
    """Every attended date of service with its CPT code, for an insurer (print or save as PDF)."""
    _require_participant(enrolment_id)
    found = statements.statement(enrolment_id)
    return private(Response(render_template("attendance/statement.html", s=found), mimetype="text/html"))
