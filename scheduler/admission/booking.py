"""An intake's assessment: the free slots in the person's zone, booking one, changing or cancelling it.

The slot is taken through the appointments domain (one person per slot, an assessor never in two
places); the intake becomes `scheduled`, and back to `requested` when the booking is cancelled.
The person may cancel up to the program's assessment_cancel_hours before it; staff any time.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..appointments import services as appointments
from ..appointments.models import Appointment, AppointmentStatus, Availability
from ..cohorts.models import Cohort
from ..foundation import clock
from ..foundation.database import write_transaction
from ..foundation.errors import Conflict
from ..foundation.events import publish
from ..foundation.extensions import db
from . import events
from .models import Intake, intake_status_word
from .models import IntakeStatus as Status
from .records import IntakeView, audit, get_intake, lock_intake, snapshot, view

BOOKABLE = (Status.REQUESTED, Status.SCHEDULED)


def zone_of(intake: Intake) -> ZoneInfo:
    """The person's own zone; else the clinic's, as its program's latest cohort or its assessors' hours
    keep it; else UTC."""
    if intake.timezone:
        return ZoneInfo(intake.timezone)
    zone = db.session.scalar(
        select(Cohort.timezone).where(Cohort.program_id == intake.program_id).order_by(Cohort.created_at.desc())
    ) or db.session.scalar(
        select(Availability.timezone).where(Availability.removed_at.is_(None)).order_by(Availability.created_at)
    )
    return ZoneInfo(zone or "UTC")


def booked(intake_id: str) -> Appointment | None:
    return db.session.scalar(
        select(Appointment).where(Appointment.intake_id == intake_id, Appointment.status == AppointmentStatus.BOOKED)
    )


def slots(intake_id: str, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    """The free assessment slots of the intake's program, as the person reads them (their zone)."""
    found = get_intake(intake_id)
    if found.status not in BOOKABLE:
        return []
    zone = zone_of(found.intake)
    return [
        {
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
            "timezone": str(zone),
            "local": slot.starts_at.astimezone(zone),
        }
        for slot in appointments.free_slots(found.program_id, start, end)
    ]


def book(intake_id: str, starts_at: datetime, staff=None) -> IntakeView:
    """Book the assessment slot starting at `starts_at` (a booked one is given up for it)."""
    with write_transaction():
        intake = lock_intake(intake_id)
        if intake.status not in BOOKABLE:
            raise Conflict(
                _l(
                    "An assessment is booked for a requested intake; this one is %(status)s.",
                    status=intake_status_word(intake.status),
                )
            )
        before = snapshot(intake)
        current = booked(intake.id)
        if current is not None:
            if current.starts_at == starts_at:
                return view(intake)  # the same slot again: nothing changes
            _check_cutoff(intake, current, staff, "changed")
            appointments.cancel(current)
            db.session.flush()
        appointment = appointments.book(intake.program_id, starts_at, intake.id)
        intake.status, intake.updated_at = Status.SCHEDULED, clock.now()
        audit(
            intake, staff, "assessment_booked", before, appointment_id=appointment.id, starts_at=starts_at.isoformat()
        )
        publish(events.AssessmentBooked(intake, appointment, previous=current))
    return view(intake)


def cancel(intake_id: str, staff=None) -> IntakeView:
    """Cancel the booked assessment: the person up to the cutoff, staff any time; the intake is requested again."""
    with write_transaction():
        intake = lock_intake(intake_id)
        current = booked(intake.id)
        if current is None:
            raise Conflict(_l("No assessment is booked for this request."))
        _check_cutoff(intake, current, staff, "cancelled")
        before = snapshot(intake)
        appointments.cancel(current)
        if intake.status == Status.SCHEDULED:
            intake.status = Status.REQUESTED
        intake.updated_at = clock.now()
        audit(intake, staff, "assessment_cancelled", before, appointment_id=current.id)
        publish(events.AssessmentCancelled(intake, current, by_staff=staff is not None))
    return view(intake)


def _check_cutoff(intake: Intake, appointment: Appointment, staff, verb: str) -> None:
    if staff is not None:
        return
    hours = intake.program.assessment_cancel_hours
    if appointment.starts_at - timedelta(hours=hours) <= clock.now():
        raise Conflict(f"An assessment can be {verb} online until {hours} hours before it; please contact the clinic.")


def cancel_with_intake(intake: Intake) -> None:
    """The intake left the queue (withdrawn, erased): its booked assessment is cancelled too."""
    current = booked(intake.id)
    if current is not None:
        appointments.cancel(current)
