"""An assessor's hours and bookings (/desk/availability): the weekly hours offered for intake
assessments, adding and removing them, and the appointments booked in the weeks ahead.

An assessor sees their own; the front desk and admins may open any assessor's (?staff_id=).
The same services as the JSON API (appointments.services).
"""

from datetime import timedelta
from functools import partial

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..admission.models import Intake
from ..appointments import services
from ..appointments.schemas import AvailabilityIn
from ..cohorts.models import Program
from ..foundation import clock
from ..foundation.auth import DESK
from ..foundation.errors import Conflict, Forbidden, Invalid, NotFound
from ..foundation.extensions import db
from ..staff.models import Staff
from .blueprint import bp
from .forms import parse
from .screens import answer_form, render
from .session import desk_page

AHEAD = timedelta(weeks=4)


def whose() -> Staff:
    """The clinician whose page this is: ?staff_id= for the desk, else the member signed in."""
    wanted = request.values.get("staff_id") or g.desk_member.id
    member = db.session.get(Staff, wanted)
    if member is None or member.revoked_at is not None:
        raise NotFound(_("No such staff member."))
    if member.id != g.desk_member.id and g.desk_member.role not in DESK:
        raise Forbidden(_("This is another clinician's page."))
    return member


def availability_page(*, errors=None, values=None, problem=None, status=200):
    member = whose()
    assessors = (
        db.session.scalars(
            select(Staff).where(Staff.assessor.is_(True), Staff.revoked_at.is_(None)).order_by(Staff.name)
        ).all()
        if g.desk_member.role in DESK
        else []
    )
    hours = services.list_availability(member.id, g.desk_member) if member.assessor else []
    at = clock.now()
    bookings = services.bookings_of(member.id, at - timedelta(hours=2), at + AHEAD) if member.assessor else []
    people = {
        i.id: i
        for i in db.session.scalars(select(Intake).where(Intake.id.in_([b.intake_id for b in bookings if b.intake_id])))
    }
    programs = db.session.scalars(select(Program).where(Program.admission == "intake").order_by(Program.name)).all()
    return render(
        "desk/availability.html",
        status,
        member=member,
        assessors=assessors,
        hours=hours,
        bookings=bookings,
        people=people,
        programs=programs,
        weekdays=services.WEEKDAYS,
        errors=errors or {},
        values=values or {},
        problem=problem,
    )


def _back(member: Staff, message: str):
    flash(message, "success")
    staff_id = member.id if member.id != g.desk_member.id else None
    return redirect(url_for("desk.availability", staff_id=staff_id), 303)


@bp.get("/availability")
@desk_page()
def availability():
    """An assessor's weekly hours for assessments and the appointments booked in them."""
    return availability_page()


@bp.post("/availability")
@desk_page()
def add_availability():
    member = whose()

    def act():
        data = parse(
            AvailabilityIn,
            {
                "weekday": "text",
                "start_time": "text",
                "end_time": "text",
                "timezone": "text",
                "slot_minutes": "int",
                "from_date": "text",
                "until_date": "text",
                "program_ids": "multi",
                "skip_dates": "lines",
                "meeting_url": "text",
            },
        )
        services.add_availability(member.id, data, g.desk_member)
        return _back(member, _("The hours are added; their free times can be booked now."))

    return answer_form(partial(availability_page), act, refusals=(Conflict, Invalid))


@bp.post("/availability/<availability_id>/remove")
@desk_page()
def remove_availability(availability_id):
    member = whose()
    services.remove_availability(member.id, availability_id, g.desk_member)
    return _back(member, _("Those hours are no longer offered; appointments already booked in them stand."))
