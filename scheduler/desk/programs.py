"""Admin: programs (what the clinic offers) and new cohorts of a program, with their weekly sessions."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from ..cohorts import programs as programs_service
from ..cohorts import services as cohort_services
from ..cohorts.schemas import CohortCreate, ProgramCreate
from ..foundation.auth import ADMIN
from ..foundation.errors import Conflict, Invalid, NotFound
from ..pages.zones import zone_options
from . import queries
from .blueprint import bp
from .forms import parse
from .screens import answer_form, render
from .session import desk_page

PROGRAM_FIELDS = {
    "name": "text",
    "description": "text",
    "session_titles": "lines",
    "default_session_count": "int",
    "default_duration_minutes": "int",
    "default_capacity": "int",
    "price_amount": "money",
    "currency": "text",
    "calendar_title": "text",
}
COHORT_FIELDS = {
    "program_id": "text",
    "name": "text",
    "start_date": "text",
    "start_time": "text",
    "timezone": "text",
    "session_count": "int",
    "duration_minutes": "int",
    "capacity": "int",
    "price_amount": "money",
    "currency": "text",
    "meeting_url": "text",
    "skip_dates": "lines",
    "facilitator_ids": "multi",
    "hold_minutes": "int",
    "offer_hours": "int",
    "refund_cutoff_hours": "int",
    "enrol_until_session": "int",
    "prorate_late_joiners": "yesno",
    "status": "text",
}


def _programs_page(*, errors=None, values=None, problem=None, status=200):
    # problem: never set (the program form's refusals all name a field); answer_form passes it.
    programs = programs_service.list_programs(1, 200).items
    return render(
        "desk/programs.html",
        status,
        programs=programs,
        errors=errors or {},
        values=values or {},
    )


@bp.get("/programs")
@desk_page(ADMIN)
def programs():
    """Programs (what the clinic offers), and a form for a new one."""
    return _programs_page()


@bp.post("/programs")
@desk_page(ADMIN)
def create_program():
    """Create a program."""

    def act():
        created = programs_service.create_program(parse(ProgramCreate, PROGRAM_FIELDS))
        flash(_("The program “%(name)s” is created. Add its first cohort below.", name=created.name), "success")
        return redirect(url_for("desk.new_cohort", program=created.id), 303)

    return answer_form(_programs_page, act, refusals=(Invalid,), field="name")


def _new_cohort_page(*, errors=None, values=None, problem=None, status=200):
    programs = programs_service.list_programs(1, 200).items
    return render(
        "desk/cohort_new.html",
        status,
        programs=programs,
        program_options=[(p.id, p.name) for p in programs],
        facilitators=queries.facilitators(),
        zone_options=zone_options,
        errors=errors or {},
        values=values or {"program_id": request.args.get("program", ""), "timezone": "America/New_York"},
        problem=problem,
    )


@bp.get("/cohorts/new")
@desk_page(ADMIN)
def new_cohort():
    """A form for a new cohort of a program."""
    return _new_cohort_page()


@bp.post("/cohorts/new")
@desk_page(ADMIN)
def create_cohort():
    """Create a cohort and its weekly sessions."""

    def act():
        created = cohort_services.create_cohort(parse(CohortCreate, COHORT_FIELDS))
        made = ngettext(
            "The cohort “%(name)s” is created with %(num)s session.",
            "The cohort “%(name)s” is created with %(num)s sessions.",
            len(created.sessions),
            name=created.name,
        )
        flash(made, "success")
        return redirect(url_for("desk.cohort", cohort_id=created.id), 303)

    values = {**request.form.to_dict(), "facilitator_ids": request.form.getlist("facilitator_ids")}
    return answer_form(_new_cohort_page, act, refusals=(Conflict, Invalid, NotFound), values=values)
