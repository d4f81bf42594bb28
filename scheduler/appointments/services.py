"""Availability and bookings: the free slots of a program's assessors, and taking one.

Times are kept as UTC instants; availability is kept as a local weekday, wall-clock window and
zone, so that 09:00 stays 09:00 across a DST change. A slot is free when its assessor has no
booked appointment and no session of a group they facilitate overlapping it.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from ..cohorts.models import Cohort, CohortStatus, Session, SessionStatus, cohort_facilitators
from ..foundation import clock
from ..foundation.database import lock_one, require_write, write_transaction
from ..foundation.errors import Conflict, Forbidden, Invalid, NotFound
from ..foundation.extensions import db
from ..staff.models import DESK, Staff
from .models import Appointment, AppointmentKind, AppointmentStatus, Availability

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HORIZON = timedelta(days=56)  # how far ahead slots are listed by default


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    staff_id: str
    availability_id: str
    meeting_url: str | None


# ---- availability ----------------------------------------------------------------------------------


def _assessor(staff_id: str, by) -> Staff:
    member = db.session.get(Staff, staff_id)
    if member is None or member.revoked_at is not None:
        raise NotFound(_l("No such staff member."))
    if by.id != member.id and by.role not in DESK:
        raise Forbidden(_l("Only the front desk, an admin or the assessor themselves set an assessor's hours."))
    if not member.assessor:
        raise Conflict(
            _l("%(name)s is not an assessor; an admin marks the account assessor: true first.", name=member.name)
        )
    return member


def add_availability(staff_id: str, data: dict, by) -> Availability:
    """Weekly hours for assessments (POST /api/v1/staff/{id}/availability)."""
    with write_transaction():
        member = _assessor(staff_id, by)
        start, end = data["start_time"], data["end_time"]
        if end <= start:
            raise Invalid.field("end_time", "The hours must end after they start.")
        minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        if data["slot_minutes"] > minutes:
            raise Invalid.field("slot_minutes", f"A slot cannot be longer than the hours ({minutes} minutes).")
        if data.get("until_date") and data["until_date"] < data["from_date"]:
            raise Invalid.field("until_date", "The last date must be on or after from_date.")
        row = Availability(
            staff_id=member.id,
            weekday=WEEKDAYS.index(data["weekday"]),
            start_minute=start.hour * 60 + start.minute,
            end_minute=end.hour * 60 + end.minute,
            timezone=data["timezone"],
            slot_minutes=data["slot_minutes"],
            from_date=data["from_date"],
            until_date=data.get("until_date"),
            program_ids=sorted(set(data.get("program_ids") or [])),
            skip_dates=sorted({d.isoformat() for d in data.get("skip_dates") or []}),
            meeting_url=data.get("meeting_url"),
        )
        db.session.add(row)
    return row


def list_availability(staff_id: str, by) -> list[Availability]:
    _assessor(staff_id, by)
    return db.session.scalars(
        select(Availability)
        .where(Availability.staff_id == staff_id, Availability.removed_at.is_(None))
        .order_by(Availability.weekday, Availability.start_minute, Availability.id)
    ).all()


def remove_availability(staff_id: str, availability_id: str, by) -> Availability:
    """Stop offering these hours (booked appointments in them stand)."""
    with write_transaction():
        _assessor(staff_id, by)
        row = db.session.get(Availability, availability_id)
        if row is None or row.staff_id != staff_id or row.removed_at is not None:
            raise NotFound(_l("No such availability."))
        row.removed_at = clock.now()
    return row


# ---- slots ---------------------------------------------------------------------------------------------


def _windows(row: Availability, start: datetime, end: datetime):
    """Each slot of these hours between two instants, in UTC (09:00 local stays 09:00 across DST)."""
    zone = ZoneInfo(row.timezone)
    first = max(row.from_date, (start.astimezone(zone) - timedelta(days=1)).date())
    last = (end.astimezone(zone) + timedelta(days=1)).date()
    if row.until_date is not None:
        last = min(last, row.until_date)
    skipped = set(row.skip_dates or [])
    day = first + timedelta(days=(row.weekday - first.weekday()) % 7)
    while day <= last:
        if day.isoformat() not in skipped:
            minute = row.start_minute
            while minute + row.slot_minutes <= row.end_minute:
                local = datetime.combine(day, time(minute // 60, minute % 60), zone)
                begins = local.astimezone(ZoneInfo("UTC"))
                # A wall time DST skipped does not exist: no slot then.
                if begins.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
                    yield begins, begins + timedelta(minutes=row.slot_minutes)
                minute += row.slot_minutes
        day += timedelta(days=7)


def busy(
    staff_ids, start: datetime, end: datetime, *, ignore: str | None = None
) -> dict[str, list[tuple[datetime, datetime, str]]]:
    """What each clinician is doing between two instants: booked appointments (but `ignore`) and
    their groups' sessions."""
    found: dict[str, list] = {staff_id: [] for staff_id in staff_ids}
    if not found:
        return found
    booked = db.session.execute(
        select(Appointment.staff_id, Appointment.starts_at, Appointment.ends_at, Appointment.kind).where(
            Appointment.staff_id.in_(list(found)),
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at < end,
            Appointment.ends_at > start,
            Appointment.id != ignore if ignore else True,
        )
    ).all()
    for staff_id, begins, ends, kind in booked:
        what = "an assessment" if kind == AppointmentKind.ASSESSMENT else "an individual session"
        found[staff_id].append((begins, ends, what))
    sessions = db.session.execute(
        select(cohort_facilitators.c.staff_id, Session.starts_at, Session.ends_at, Cohort.name)
        .join(Cohort, Cohort.id == cohort_facilitators.c.cohort_id)
        .join(Session, Session.cohort_id == Cohort.id)
        .where(
            cohort_facilitators.c.staff_id.in_(list(found)),
            Cohort.status != CohortStatus.CANCELLED,
            Session.status == SessionStatus.SCHEDULED,
            Session.starts_at < end,
            Session.ends_at > start,
        )
    ).all()
    for staff_id, begins, ends, name in sessions:
        found[staff_id].append((begins, ends, f"a session of {name}"))
    return found


def slots_of(row: Availability, weeks: int = 8) -> list[Slot]:
    """The free slots of one assessor's hours in the weeks ahead (what adding them made bookable)."""
    at = clock.now()
    start = at + timedelta(minutes=current_app.config["ASSESSMENT_NOTICE_MINUTES"])
    end = at + timedelta(weeks=weeks)
    taken = busy([row.staff_id], start, end)[row.staff_id]
    return [
        Slot(begins, ends, row.staff_id, row.id, row.meeting_url)
        for begins, ends in _windows(row, start, end)
        if start <= begins < end and not any(b < ends and e > begins for b, e, _ in taken)
    ]


def _hours_for(program_id: str) -> list[Availability]:
    rows = db.session.scalars(
        select(Availability)
        .join(Staff, Staff.id == Availability.staff_id)
        .where(Availability.removed_at.is_(None), Staff.revoked_at.is_(None), Staff.assessor.is_(True))
        .order_by(Availability.staff_id, Availability.id)
    ).all()
    return [row for row in rows if not row.program_ids or program_id in row.program_ids]


def free_slots(program_id: str, start: datetime | None = None, end: datetime | None = None) -> list[Slot]:
    """The program's bookable assessment slots between two instants, earliest first; one per start
    time (when several assessors are free then, the booking takes one of them)."""
    at = clock.now()
    earliest = at + timedelta(minutes=current_app.config["ASSESSMENT_NOTICE_MINUTES"])
    start = max(start or earliest, earliest)
    end = end or at + HORIZON
    hours = _hours_for(program_id)
    taken = busy({row.staff_id for row in hours}, start, end)
    slots: dict[datetime, Slot] = {}
    for row in hours:
        for begins, ends in _windows(row, start, end):
            if begins < start or begins >= end or begins in slots:
                continue
            if any(b < ends and e > begins for b, e, _ in taken[row.staff_id]):
                continue
            slots[begins] = Slot(begins, ends, row.staff_id, row.id, row.meeting_url)
    return [slots[key] for key in sorted(slots)]


def book(program_id: str, starts_at: datetime, intake_id: str) -> Appointment:
    """Take the slot starting at `starts_at` for an intake (in the caller's write transaction).

    Each assessor with hours then is tried in turn under their row lock, checked again and booked:
    however many race for one slot, one gets it; 409 when none is free any more.
    """
    require_write()
    candidates = [
        s for s in free_slots(program_id, starts_at, starts_at + timedelta(minutes=1)) if s.starts_at == starts_at
    ]
    if not candidates:
        # Not a slot, or every assessor with hours then is busy (another booking was first).
        raise Conflict(_l("That time is not free (any more); choose another from the free slots."))
    for slot in _every_assessor_at(program_id, starts_at):
        lock_one(Staff, slot.staff_id)
        clash = busy([slot.staff_id], slot.starts_at, slot.ends_at)[slot.staff_id]
        if clash:
            continue
        appointment = Appointment(
            kind=AppointmentKind.ASSESSMENT,
            status=AppointmentStatus.BOOKED,
            staff_id=slot.staff_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            intake_id=intake_id,
            availability_id=slot.availability_id,
            meeting_url=slot.meeting_url,
        )
        db.session.add(appointment)
        db.session.flush()
        return appointment
    raise Conflict(_l("That time was just taken; choose another from the free slots."))


def _every_assessor_at(program_id: str, starts_at: datetime) -> list[Slot]:
    """Every assessor's slot starting at this instant (free or not), in staff id order."""
    found = []
    for row in _hours_for(program_id):
        for begins, ends in _windows(row, starts_at, starts_at + timedelta(minutes=1)):
            if begins == starts_at:
                found.append(Slot(begins, ends, row.staff_id, row.id, row.meeting_url))
    return sorted({slot.staff_id: slot for slot in found}.values(), key=lambda slot: slot.staff_id)


def cancel(appointment: Appointment) -> None:
    """Cancel a booked appointment (in the caller's write transaction): its time is free again."""
    require_write()
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = appointment.updated_at = clock.now()
    appointment.sequence += 1


def bookings_of(staff_id: str, start: datetime, end: datetime) -> list[Appointment]:
    """An assessor's booked appointments between two instants (their console page)."""
    return db.session.scalars(
        select(Appointment)
        .where(
            Appointment.staff_id == staff_id,
            Appointment.status == AppointmentStatus.BOOKED,
            and_(Appointment.starts_at < end, Appointment.ends_at > start),
        )
        .order_by(Appointment.starts_at)
    ).all()
