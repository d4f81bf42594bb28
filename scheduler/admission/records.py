"""An intake as it is read (with its place in the queue) and the audit of what was done to it."""

from dataclasses import dataclass

from sqlalchemy import select

from ..appointments.models import Appointment, AppointmentStatus
from ..foundation.database import lock_one
from ..foundation.errors import NotFound
from ..foundation.extensions import db
from .models import OPEN, Intake, IntakeAudit

INTAKE = "intake"  # a program's admission that runs through intakes


@dataclass
class IntakeView:
    """An intake with its place in the program's queue (None once it left the queue)."""

    intake: Intake
    queue_position: int | None
    appointment: Appointment | None = None  # the booked assessment

    def __getattr__(self, name):
        return getattr(self.intake, name)


def positions(program_ids) -> dict[str, int]:
    """Each open intake's place in its program's queue (1 is next)."""
    rows = db.session.execute(
        select(Intake.id, Intake.program_id)
        .where(Intake.program_id.in_(list(program_ids)), Intake.status.in_(OPEN))
        .order_by(Intake.program_id, Intake.queue_rank, Intake.id)
    ).all()
    places, counts = {}, {}
    for intake_id, program_id in rows:
        counts[program_id] = counts.get(program_id, 0) + 1
        places[intake_id] = counts[program_id]
    return places


def view(intake: Intake) -> IntakeView:
    position = positions([intake.program_id]).get(intake.id) if intake.status in OPEN else None
    return IntakeView(intake, position, appointments_of([intake.id]).get(intake.id))


def appointments_of(intake_ids: list[str]) -> dict[str, Appointment]:
    """The booked assessment of each of these intakes (one query)."""
    if not intake_ids:
        return {}
    rows = db.session.scalars(
        select(Appointment).where(Appointment.intake_id.in_(intake_ids), Appointment.status == AppointmentStatus.BOOKED)
    )
    return {row.intake_id: row for row in rows}


def get_intake(intake_id: str) -> IntakeView:
    intake = db.session.get(Intake, intake_id)
    if intake is None:
        raise NotFound("No such intake.")
    return view(intake)


def audit(intake: Intake, staff, action: str, before: dict | None, **extra) -> None:
    db.session.add(
        IntakeAudit(
            intake_id=intake.id,
            staff_id=staff.id if staff is not None else None,
            action=action,
            before=before,
            after=snapshot(intake, **extra),
        )
    )


def snapshot(intake: Intake, **extra) -> dict:
    return {"status": str(intake.status), "queue_rank": intake.queue_rank, **extra}


def lock_intake(intake_id: str) -> Intake:
    return lock_one(Intake, intake_id, "No such intake.")


def intakes_of_participant(participant_id: str) -> list[Intake]:
    """Every intake of one person, oldest first (the privacy export and erasure)."""
    return db.session.scalars(
        select(Intake).where(Intake.participant_id == participant_id).order_by(Intake.requested_at, Intake.id)
    ).all()


def audit_of(intake_ids: list[str]) -> dict[str, list[IntakeAudit]]:
    """The audit entries of these intakes, oldest first, by intake."""
    found: dict[str, list[IntakeAudit]] = {}
    for entry in db.session.scalars(
        select(IntakeAudit)
        .where(IntakeAudit.intake_id.in_(intake_ids))
        .order_by(IntakeAudit.created_at, IntakeAudit.id)
    ):
        found.setdefault(entry.intake_id, []).append(entry)
    return found


def all_appointments_of(intake_ids: list[str]) -> dict[str, list[Appointment]]:
    """Every appointment of these intakes, booked or cancelled, oldest first (the privacy export)."""
    found: dict[str, list[Appointment]] = {}
    if intake_ids:
        rows = db.session.scalars(
            select(Appointment).where(Appointment.intake_id.in_(intake_ids)).order_by(Appointment.starts_at)
        )
        for row in rows:
            found.setdefault(row.intake_id, []).append(row)
    return found
