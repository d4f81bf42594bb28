"""Individual sessions beside the group (the full programme): a therapist's weekly series for one
enrolment, rescheduling and cancelling them, and their attendance.

A series follows the cohorts' schedule rules (cohorts/schedule.py: the local time kept across DST,
skipped dates push it out a week). Writing it takes the therapist's row lock and refuses, naming it,
any clash with their booked appointments (assessments, other people's sessions) or their groups'
sessions: however many book at once, a therapist is never in two places.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..cohorts.schedule import ScheduleError, plan_sessions
from ..enrolment.models import ACTIVE, Enrolment, status_word
from ..enrolment.views import lock_enrolment
from ..foundation import clock
from ..foundation.database import lock_one, new_id, write_transaction
from ..foundation.errors import Conflict, Forbidden, Invalid, NotFound
from ..foundation.events import publish
from ..foundation.extensions import db
from ..staff.models import DESK, Staff
from .events import AppointmentChanged, IndividualAttendanceRecorded, SeriesScheduled
from .models import Appointment, AppointmentKind, AppointmentStatus, AttendanceMark
from .services import WEEKDAYS, busy


@dataclass(frozen=True)
class Clash:
    starts_at: datetime
    what: str


def _therapist(staff_id: str) -> Staff:
    member = db.session.get(Staff, staff_id)
    if member is None or member.revoked_at is not None:
        raise Invalid.field("staff_id", "Give the id of an active staff member (the therapist).")
    return member


def _describe(clash: Clash, zone: str) -> str:
    local = clash.starts_at.astimezone(ZoneInfo(zone))
    return f"{clash.what} on {local:%A %d %B %Y at %H:%M} ({zone})"


def _clashes(staff_id: str, planned: list[tuple[datetime, datetime]], ignore: str | None = None) -> list[Clash]:
    """What the therapist already does at any of these times (their row must be locked by the caller)."""
    if not planned:
        return []
    doing = busy([staff_id], min(s for s, _ in planned), max(e for _, e in planned), ignore=ignore)[staff_id]
    return [
        Clash(begins, what)
        for starts, ends in planned
        for begins, finishes, what in doing
        if begins < ends and finishes > starts
    ]


def create_series(enrolment_id: str, data: dict, staff) -> list[Appointment]:
    """A weekly series of individual sessions for this enrolment's person with one therapist."""
    start_date = data["start_date"]
    weekday = WEEKDAYS.index(data["weekday"])
    first = start_date + timedelta(days=(weekday - start_date.weekday()) % 7)
    skips = list(data.get("skip_dates") or [])
    try:
        planned = plan_sessions(
            first, data["start_time"], data["timezone"], data["count"], data["duration_minutes"], skips
        )
    except ScheduleError as error:
        raise Invalid.field(error.field, error.message) from None
    with write_transaction():
        # Locks in one order everywhere: the person's cohort, the therapist, then the sessions.
        enrolment = lock_enrolment(enrolment_id)
        if enrolment.status not in ACTIVE:
            raise Conflict(
                _l(
                    "This enrolment is %(status)s; individual sessions go with an active place.",
                    status=status_word(enrolment.status),
                )
            )
        therapist = _therapist(data["staff_id"])
        lock_one(Staff, therapist.id)
        clashes = _clashes(therapist.id, [(p.starts_at, p.ends_at) for p in planned])
        if clashes:
            shown = "; ".join(_describe(c, data["timezone"]) for c in clashes[:3])
            more = f" (and {len(clashes) - 3} more)" if len(clashes) > 3 else ""
            raise Conflict(f"{therapist.name} already has {shown}{more}.")
        series_id = new_id("ser")
        made = [
            Appointment(
                kind=AppointmentKind.INDIVIDUAL,
                status=AppointmentStatus.BOOKED,
                staff_id=therapist.id,
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                enrolment_id=enrolment.id,
                series_id=series_id,
                number=p.number,
                meeting_url=data.get("meeting_url"),
            )
            for p in planned
        ]
        db.session.add_all(made)
        db.session.flush()
        publish(SeriesScheduled(enrolment, made, data["timezone"]))
    return made


def appointments_of(enrolment_id: str) -> list[Appointment]:
    if db.session.get(Enrolment, enrolment_id) is None:
        raise NotFound(_l("No such enrolment."))
    return db.session.scalars(
        select(Appointment)
        .where(Appointment.enrolment_id == enrolment_id)
        .order_by(Appointment.starts_at, Appointment.id)
    ).all()


def owner(appointment_id: str) -> str | None:
    """The enrolment an individual appointment belongs to (its manage token opens it)."""
    return db.session.scalar(select(Appointment.enrolment_id).where(Appointment.id == appointment_id))


def _lock_appointment(appointment_id: str) -> Appointment:
    """Lock an individual session: its person's cohort first (a withdrawal, holding it, cancels
    their sessions), then its therapist, then the session itself."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.kind != AppointmentKind.INDIVIDUAL:
        raise NotFound(_l("No such appointment."))
    lock_enrolment(appointment.enrolment_id)
    lock_one(Staff, appointment.staff_id)
    return lock_one(Appointment, appointment_id, _l("No such appointment."))


def change(appointment_id: str, data: dict, staff) -> Appointment:
    """Staff move an individual session (starts_at, keeping its length) or cancel it (status:
    cancelled); the person may cancel up to the program's individual_cancel_hours before it."""
    with write_transaction():
        appointment = _lock_appointment(appointment_id)
        if appointment.status != AppointmentStatus.BOOKED:
            raise Conflict(_l("This session is cancelled; book a new one instead."))
        was = {"starts_at": appointment.starts_at, "status": str(appointment.status)}
        at = clock.now()
        if data.get("status") == AppointmentStatus.CANCELLED:
            if staff is None:
                hours = appointment.enrolment.cohort.program.individual_cancel_hours
                if appointment.starts_at - timedelta(hours=hours) <= at:
                    raise Conflict(
                        f"A session can be cancelled online until {hours} hours before it; please contact the clinic."
                    )
            appointment.status, appointment.cancelled_at = AppointmentStatus.CANCELLED, at
        elif "starts_at" in data:
            if staff is None:
                raise Forbidden(_l("Only the clinic moves a session; you may cancel it."))
            length = appointment.ends_at - appointment.starts_at
            starts = data["starts_at"]
            if starts <= at:
                raise Invalid.field("starts_at", "That time has already passed: choose a date and time still ahead.")
            clashes = _clashes(appointment.staff_id, [(starts, starts + length)], ignore=appointment.id)
            if clashes:
                zone = appointment.enrolment.timezone or appointment.enrolment.cohort.timezone
                raise Conflict(f"{appointment.staff.name} already has {_describe(clashes[0], zone)}.")
            appointment.starts_at, appointment.ends_at = starts, starts + length
        else:
            raise Invalid.field("starts_at", "Give starts_at to move the session, or status: cancelled.")
        appointment.sequence += 1
        appointment.updated_at = at
        publish(AppointmentChanged(appointment, was, by_staff=staff is not None))
    return appointment


def record_attendance(appointment_id: str, status: str, staff) -> Appointment:
    """Present, late, absent or excused for one individual session (its therapist or the desk)."""
    with write_transaction():
        appointment = _lock_appointment(appointment_id)
        if staff.role not in DESK and staff.id != appointment.staff_id:
            raise Forbidden(_l("Only the session's therapist or the front desk records its attendance."))
        if appointment.status != AppointmentStatus.BOOKED:
            raise Conflict(_l("This session was cancelled; there is no attendance to record."))
        if appointment.starts_at > clock.now():
            raise Conflict(_l("This session has not started yet; record attendance once it has."))
        appointment.attendance = AttendanceMark(status)
        appointment.attendance_by, appointment.attendance_at = staff.id, clock.now()
        publish(IndividualAttendanceRecorded(appointment))
    return appointment


def cancel_with_the_place(event) -> None:
    """The person left the group (withdrew, the cohort was cancelled): their individual sessions still
    ahead are cancelled, so the therapist's time is free again (the email about leaving says so)."""
    at = clock.now()
    for appointment in db.session.scalars(
        select(Appointment).where(
            Appointment.enrolment_id == event.enrolment.id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at > at,
        )
    ):
        appointment.status, appointment.cancelled_at, appointment.updated_at = AppointmentStatus.CANCELLED, at, at
        appointment.sequence += 1
