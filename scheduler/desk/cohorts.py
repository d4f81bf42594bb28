"""A cohort's page: roster, waitlist, sessions and settings; enrolling someone; cancelling the cohort.

Facilitators see their own cohorts, without payments; the desk and admins see all and
change them. The sessions' forms (desk/sessions.py) and the waitlist's buttons
(desk/waitlist.py) post from this page and, when refused, come back to it.
"""

from functools import partial

from flask import current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..cohorts import services as cohort_services
from ..cohorts.models import COHORT_TRANSITIONS, CohortStatus
from ..cohorts.schemas import CohortPatch
from ..enrolment import enrolling
from ..enrolment.api import roster_csv_response
from ..enrolment.schemas import EnrolmentCreate
from ..foundation import clock
from ..foundation.auth import DESK
from ..foundation.errors import Conflict, Invalid
from ..foundation.links import cohort_feed_urls
from . import presenters, queries
from .blueprint import bp
from .forms import parse
from .screens import answer_form, render
from .session import desk_page

ATTENDANCE_ENDPOINT = "desk.attendance_sheet"  # the attendance sheet of a session (desk/attendance.py)
SETTINGS_FIELDS = {
    "name": "text",
    "capacity": "int",
    "meeting_url": "text",
    "status": "text",
    "hold_minutes": "int",
    "confirm_email_minutes": "int",
    "offer_hours": "int",
    "refund_cutoff_hours": "int",
    "enrol_until_session": "int",
    "prorate_late_joiners": "yesno",
    "facilitator_ids": "multi",
}


def cohort_page(cohort_id, *, form=None, errors=None, values=None, problem=None, status=200):
    """The cohort's page; `form` names the form that was refused, shown open with `errors` and `problem`."""
    detail = queries.cohort_detail(cohort_id, g.desk_member)
    cohort = detail.cohort
    stored = CohortStatus(cohort.status)
    current = _attendance_session(cohort)
    return render(
        "desk/cohort.html",
        status,
        d=detail,
        c=cohort,
        feed=cohort_feed_urls(cohort),
        facilitator_view=queries.is_facilitator(g.desk_member),
        status_choices=[stored, *sorted(s for s in COHORT_TRANSITIONS[stored] if s != CohortStatus.CANCELLED)],
        can_cancel=CohortStatus.CANCELLED in COHORT_TRANSITIONS[stored],
        facilitators=queries.facilitators() if g.desk_member.role in DESK else [],
        attendance_session=current,
        attendance_url=url_for(ATTENDANCE_ENDPOINT, session_id=current.id) if current else None,
        sheet_endpoint=ATTENDANCE_ENDPOINT if ATTENDANCE_ENDPOINT in current_app.view_functions else None,
        form=form,
        errors=errors or {},
        values=values or {},
        problem=problem,
        focus=request.args.get("focus", ""),
        now=clock.now(),
    )


def _attendance_session(cohort):
    """The session under way or held most recently, whose sheet the cohort page offers first (None before)."""
    if ATTENDANCE_ENDPOINT not in current_app.view_functions or cohort.status == CohortStatus.CANCELLED:
        return None
    at = clock.now()
    started = [s for s in cohort.sessions if s.status != "cancelled" and s.starts_at <= at]
    return max(started, key=lambda s: s.starts_at, default=None)


def back_to_cohort(cohort_id: str, message: str, focus: str | None = None, anchor: str | None = None):
    flash(message, "success")
    return redirect(url_for("desk.cohort", cohort_id=cohort_id, focus=focus, _anchor=anchor), 303)


@bp.get("/cohorts/<cohort_id>")
@desk_page()
def cohort(cohort_id):
    """Roster, waitlist, sessions and settings of one cohort (facilitators: their own, without payments)."""
    return cohort_page(cohort_id)


@bp.get("/cohorts/<cohort_id>/roster.csv")
@desk_page()
def roster_csv(cohort_id):
    """The roster as a spreadsheet (facilitators: without payment fields), as the JSON API exports it."""
    queries.visible_cohort(cohort_id, g.desk_member)
    return roster_csv_response(cohort_id, g.desk_member)


@bp.post("/cohorts/<cohort_id>")
@desk_page(*DESK)
def update_cohort(cohort_id):
    """Capacity, status, name, meeting link and facilitators of a cohort."""

    def act():
        data = parse(CohortPatch, SETTINGS_FIELDS)
        if data.get("status") == CohortStatus.CANCELLED:
            raise Invalid.field("status", _l("Cancel a cohort with the Cancel this cohort button."))
        cohort_services.update_cohort(cohort_id, data, g.desk_member)
        return back_to_cohort(cohort_id, _("The cohort's settings are saved."), anchor="settings-heading")

    return answer_form(partial(cohort_page, cohort_id, form="settings"), act)


@bp.get("/cohorts/<cohort_id>/cancel")
@desk_page(*DESK)
def cancel_cohort_step(cohort_id):
    """What cancelling the cohort means, before anything happens."""
    detail = queries.cohort_detail(cohort_id, g.desk_member)
    return render("desk/cancel_cohort.html", d=detail, c=detail.cohort)


@bp.post("/cohorts/<cohort_id>/cancel")
@desk_page(*DESK)
def cancel_cohort(cohort_id):
    """Cancel the cohort: everyone's place is cancelled and refunded in full, and they are told."""
    try:
        cohort_services.update_cohort(cohort_id, {"status": CohortStatus.CANCELLED}, g.desk_member)
    except Conflict as exc:
        flash(exc.said(), "error")
    else:
        flash(_("The cohort is cancelled. Everyone in it is told by email; money paid goes back in full."), "success")
    return redirect(url_for("desk.cohort", cohort_id=cohort_id), 303)


@bp.post("/cohorts/<cohort_id>/enrol")
@desk_page(*DESK)
def enrol(cohort_id):
    """Enrol someone on the phone (a seat if one is free and nobody waits, else the waitlist)."""

    def act():
        data = parse(EnrolmentCreate, {"name": "text", "email": "text", "phone": "text"})
        created = enrolling.enrol(cohort_id, data, g.desk_member)
        status = presenters.label(presenters.ENROLMENT_STATUS, created.status)
        flash(_("%(name)s is enrolled: %(status)s.", name=created.name, status=status), "success")
        return redirect(url_for("desk.enrolment", enrolment_id=created.id), 303)

    return answer_form(partial(cohort_page, cohort_id, form="enrol"), act)
