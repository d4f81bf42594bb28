"""A cohort's sessions, from its page: move one to another date and time, cancel one, restore one.

The same service as `PATCH /api/v1/sessions/{id}` (participants are told; calendars follow);
a refusal comes back on the cohort page, by the session's form.
"""

from functools import partial

from flask import request
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from ..cohorts import services as cohort_services
from ..cohorts.models import Session
from ..cohorts.schemas import SessionPatch
from ..foundation.auth import DESK
from ..foundation.errors import Conflict, Invalid, NotFound
from ..foundation.extensions import db
from .blueprint import bp
from .cohorts import back_to_cohort, cohort_page
from .forms import FormErrors
from .screens import answer_form
from .session import desk_page


def _session_change(session_id: str, data: dict, message: str):
    session = cohort_services.update_session(session_id, data)
    return back_to_cohort(session.cohort_id, message, anchor=f"session-{session.id}")


def _session_form(session_id: str) -> partial:
    """The cohort page with this session's form open (a session that does not exist: the 404 page)."""
    cohort_id = db.session.scalar(select(Session.cohort_id).where(Session.id == session_id))
    if cohort_id is None:
        raise NotFound(_("No such session."))
    return partial(cohort_page, cohort_id, form=f"session-{session_id}")


def _new_start(values: dict) -> dict:
    """The form's local date and time, through the API's schema (a mistake: beside the fields)."""
    if not values["date"] or not values["time"]:
        raise FormErrors({"local_start": [_("Give the new date and start time.")]}, values)
    try:
        return SessionPatch().load({"local_start": f"{values['date']}T{values['time']}"})
    except ValidationError as exc:
        errors = {"local_start": [m for msgs in exc.messages.values() for m in msgs]}
        raise FormErrors(errors, values) from None


@bp.post("/sessions/<session_id>")
@desk_page(*DESK)
def reschedule_session(session_id):
    """Move one session to another local date and time (participants are told; calendars follow)."""
    page = _session_form(session_id)
    values = {"date": request.form.get("date", "").strip(), "time": request.form.get("time", "").strip()}

    message = _("The session is moved; its participants are told by email.")

    def act():
        return _session_change(session_id, _new_start(values), message)

    return answer_form(page, act, refusals=(Conflict, Invalid), values=values)


@bp.post("/sessions/<session_id>/cancel")
@desk_page(*DESK)
def cancel_session(session_id):
    """Cancel one session (its participants are told; calendars show it cancelled)."""
    page = _session_form(session_id)
    message = _("The session is cancelled; participants are told.")
    act = partial(_session_change, session_id, {"status": "cancelled"}, message)
    return answer_form(page, act, refusals=(Conflict,), values={})


@bp.post("/sessions/<session_id>/restore")
@desk_page(*DESK)
def restore_session(session_id):
    """Bring back a cancelled session that has not passed."""
    page = _session_form(session_id)
    message = _("The session is back on; participants are told.")
    act = partial(_session_change, session_id, {"status": "scheduled"}, message)
    return answer_form(page, act, refusals=(Conflict,), values={})
