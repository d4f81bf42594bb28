"""A person's whole programme on one screen, and one individual session's page.

/desk/enrolments/<id>/programme: the group's sessions and the person's individual sessions in time
order, each with its attendance; what the missed-sessions rule counts; the statement; and, for the
front desk, a form that books a weekly series with a therapist. /desk/appointments/<id>: one
individual session, to move, cancel, or record attendance for.

The same services as the JSON API (appointments.individual, attendance.records). The front desk
sees everyone's; a facilitator, the people of their groups and of their own individual sessions.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from flask import flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from marshmallow import ValidationError
from sqlalchemy import select

from ..appointments import individual
from ..appointments.models import Appointment, AppointmentKind, AppointmentStatus
from ..appointments.schemas import AppointmentAttendanceIn, SeriesIn
from ..appointments.services import WEEKDAYS
from ..attendance import rule
from ..attendance.records import summaries
from ..cohorts.schedule import ScheduleError, local_to_utc
from ..enrolment.models import ACTIVE, Enrolment
from ..foundation import clock
from ..foundation.auth import DESK
from ..foundation.errors import Conflict, Forbidden, Invalid, NotFound
from ..foundation.extensions import db
from ..foundation.validation import StrictDate, WallTime
from ..staff.models import Staff
from . import presenters
from .blueprint import bp
from .forms import FormErrors, parse, text
from .screens import answer_form, render
from .session import desk_page

MARKS = presenters.ATTENDANCE  # the attendance codes, as people read them
SERIES_FIELDS = {
    "staff_id": "text",
    "weekday": "text",
    "start_time": "text",
    "timezone": "text",
    "start_date": "text",
    "count": "int",
    "duration_minutes": "int",
    "meeting_url": "text",
    "skip_dates": "lines",
}


@dataclass(frozen=True)
class Row:
    """One line of the programme: a group session or an individual session."""

    starts_at: datetime
    what: str
    with_whom: str
    cancelled: bool
    attendance: str | None
    link: str | None
    link_label: str


def _may_see(enrolment: Enrolment) -> None:
    member = g.desk_member
    if member.role in DESK or any(f.id == member.id for f in enrolment.cohort.facilitators):
        return
    treats = select(Appointment.id).where(Appointment.enrolment_id == enrolment.id, Appointment.staff_id == member.id)
    if db.session.scalar(treats.limit(1)) is None:
        raise Forbidden(_("This person is neither in your groups nor in your individual sessions."))


def _enrolment(enrolment_id: str) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(_("No such enrolment."))
    _may_see(enrolment)
    return enrolment


def zone_of(enrolment: Enrolment) -> str:
    return enrolment.timezone or enrolment.cohort.timezone


def _counts(rows: list[Row], at: datetime) -> dict:
    held = [r for r in rows if not r.cancelled and r.starts_at <= at]
    return {"held": len(held), "attended": len([r for r in held if r.attendance in rule.ATTENDED])}


def programme_page(enrolment_id, *, errors=None, values=None, problem=None, status=200):
    enrolment = _enrolment(enrolment_id)
    cohort, program = enrolment.cohort, enrolment.cohort.program
    at = clock.now()
    summary = summaries([enrolment], at)[enrolment.id]
    leaders = ", ".join(f.name for f in cohort.facilitators) or "—"
    group = [
        Row(
            mark.starts_at,
            _("Group session %(number)s", number=mark.number),
            leaders,
            mark.cancelled,
            mark.status,
            url_for("desk.attendance_sheet", session_id=mark.session_id) if mark.starts_at <= at else None,
            _("Open the attendance sheet of group session %(number)s", number=mark.number),
        )
        for mark in summary.marks
    ]
    alone = [
        Row(
            a.starts_at,
            _("Individual session %(number)s", number=a.number) if a.number else _("Individual session"),
            a.staff.name,
            a.status == AppointmentStatus.CANCELLED,
            a.attendance,
            url_for("desk.appointment", appointment_id=a.id),
            _("Open individual session %(number)s", number=a.number) if a.number else _("Open individual session"),
        )
        for a in summary.individual
    ]
    therapists = db.session.scalars(select(Staff).where(Staff.revoked_at.is_(None)).order_by(Staff.name)).all()
    return render(
        "desk/programme.html",
        status,
        e=enrolment,
        c=cohort,
        program=program,
        zone=zone_of(enrolment),
        rows=sorted(group + alone, key=lambda r: r.starts_at),
        group=_counts(group, at),
        alone=_counts(alone, at),
        summary=summary,
        may_book=g.desk_member.role in DESK and enrolment.status in ACTIVE,
        therapists=[(m.id, m.name) for m in therapists],
        weekdays=[(d, presenters.weekday_name(i)) for i, d in enumerate(WEEKDAYS)],
        marks=MARKS,
        errors=errors or {},
        values=values or {},
        problem=problem,
    )


@bp.get("/enrolments/<enrolment_id>/programme")
@desk_page()
def programme(enrolment_id):
    """One person's group and individual sessions, attendance and statement, on one screen."""
    return programme_page(enrolment_id)


@bp.post("/enrolments/<enrolment_id>/programme/series")
@desk_page(*DESK)
def book_series(enrolment_id):
    """Book a weekly series of individual sessions with a therapist (a clash is refused, naming it)."""

    def act():
        data = parse(SeriesIn, SERIES_FIELDS)
        made = individual.create_series(enrolment_id, data, g.desk_member)
        flash(
            ngettext(
                "%(num)s individual session is booked; the person is told by email.",
                "%(num)s individual sessions are booked; the person is told by email.",
                len(made),
            ),
            "success",
        )
        return redirect(url_for("desk.programme", enrolment_id=enrolment_id), 303)

    return answer_form(partial(programme_page, enrolment_id), act, refusals=(Conflict, Invalid))


# ---- one individual session ----------------------------------------------------------------------


def _appointment(appointment_id: str) -> Appointment:
    """The session, for the front desk and its own therapist (others: the 403 page)."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.kind != AppointmentKind.INDIVIDUAL:
        raise NotFound(_("No such session."))
    if g.desk_member.role not in DESK and appointment.staff_id != g.desk_member.id:
        raise Forbidden(_("This is another therapist's session."))
    return appointment


def appointment_page(appointment_id, *, errors=None, values=None, problem=None, status=200):
    appointment = _appointment(appointment_id)
    at = clock.now()
    booked = appointment.status == AppointmentStatus.BOOKED
    return render(
        "desk/appointment.html",
        status,
        a=appointment,
        e=appointment.enrolment,
        zone=zone_of(appointment.enrolment),
        ahead=booked and appointment.starts_at > at,
        started=booked and appointment.starts_at <= at,
        marks=list(MARKS.items()),
        errors=errors or {},
        values=values or {},
        problem=problem,
    )


def _to_appointment(appointment_id: str, message: str):
    flash(message, "success")
    return redirect(url_for("desk.appointment", appointment_id=appointment_id), 303)


@bp.get("/appointments/<appointment_id>")
@desk_page()
def appointment(appointment_id):
    """One individual session: move it, cancel it, or record its attendance."""
    return appointment_page(appointment_id)


def _new_start(appointment: Appointment) -> datetime:
    """The form's local date and time, in the person's zone, as an instant."""
    values = {"date": text("date"), "time": text("time")}
    try:
        day, wall = StrictDate().deserialize(values["date"]), WallTime().deserialize(values["time"])
        starts = local_to_utc(day, wall, ZoneInfo(zone_of(appointment.enrolment)))
    except ValidationError as exc:
        raise FormErrors({"starts_at": [_("Give the new date (YYYY-MM-DD) and time (HH:MM).")]}, values) from exc
    except ScheduleError as exc:
        raise FormErrors({"starts_at": [exc.message]}, values) from None
    return starts


@bp.post("/appointments/<appointment_id>/move")
@desk_page()
def move_appointment(appointment_id):
    found = _appointment(appointment_id)

    def act():
        individual.change(appointment_id, {"starts_at": _new_start(found)}, g.desk_member)
        return _to_appointment(appointment_id, _("The session is moved; the person is told by email."))

    page = partial(appointment_page, appointment_id)
    return answer_form(page, act, refusals=(Conflict, Invalid), field="starts_at")


@bp.post("/appointments/<appointment_id>/cancel")
@desk_page()
def cancel_appointment(appointment_id):
    _appointment(appointment_id)

    def act():
        individual.change(appointment_id, {"status": "cancelled"}, g.desk_member)
        return _to_appointment(appointment_id, _("The session is cancelled; the person is told by email."))

    return answer_form(partial(appointment_page, appointment_id), act, refusals=(Conflict,))


@bp.post("/appointments/<appointment_id>/attendance")
@desk_page()
def appointment_attendance(appointment_id):
    _appointment(appointment_id)

    def act():
        data = parse(AppointmentAttendanceIn, {"status": "text"})
        individual.record_attendance(appointment_id, data["status"], g.desk_member)
        return _to_appointment(appointment_id, _("Attendance recorded: %(mark)s.", mark=MARKS[data["status"]]))

    return answer_form(partial(appointment_page, appointment_id), act, refusals=(Conflict, Invalid), field="status")
