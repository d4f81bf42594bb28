"""The person's own individual sessions (the full programme): cancelling one from their page.

A confirmation step says what cancelling means before anything happens, as withdrawing does; up to
the program's cutoff the session is cancelled (the therapist's time is free again, an email
confirms it), after it the page says to call the clinic.
"""

from flask import Response, flash, render_template
from flask_babel import gettext as _

from ..appointments import individual
from ..enrolment import self_service
from ..foundation.errors import Conflict, NotFound
from ..foundation.security import private
from . import field_errors, presenters
from .views import PARTICIPANT_PAGE, _require_participant, _to_participant_page, bp, page


def _session_of(enrolment_id: str, appointment_id: str) -> dict:
    """The person's session as their page shows it (404 for another person's or an unknown one)."""
    _require_participant(enrolment_id)
    if individual.owner(appointment_id) != enrolment_id:
        raise NotFound("No such session.")
    enrolment = self_service.get_enrolment(enrolment_id)
    shown = presenters.individual_sessions(enrolment, presenters.person_zone(enrolment))
    [found] = [s for s in shown if s["id"] == appointment_id]
    return {"id": enrolment_id, "session": found, "cutoff_hours": enrolment.cohort.program.individual_cancel_hours}


@bp.get("/me/<enrolment_id>/individual/<appointment_id>/cancel")
@page(PARTICIPANT_PAGE)
def individual_cancel(enrolment_id, appointment_id):
    """The confirmation step before cancelling one individual session."""
    me = _session_of(enrolment_id, appointment_id)
    return private(Response(render_template("pages/individual_cancel.html", me=me), mimetype="text/html"))


@bp.post("/me/<enrolment_id>/individual/<appointment_id>/cancel")
@page(PARTICIPANT_PAGE)
def confirm_individual_cancel(enrolment_id, appointment_id):
    me = _session_of(enrolment_id, appointment_id)
    try:
        individual.change(appointment_id, {"status": "cancelled"}, None)
    except Conflict as refused:
        flash(field_errors.refusal(refused.detail), "error")
    else:
        flash(
            _(
                "Your individual session of %(when)s is cancelled; we have emailed you to confirm.",
                when=me["session"]["when"]["text"],
            ),
            "success",
        )
    return _to_participant_page(enrolment_id)
