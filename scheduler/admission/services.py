"""Intakes: a public request for a place, the person's view of it, and what staff do with it.

A request is answered "check your email" like a public enrolment (the inbox, the same for every
address); the worker makes the intake (handle), or sends the address's open intake's link again.
Staff list the queue, record the outcome (approved or not suitable), reorder it; the person or
staff withdraw. Offers of seats to approved people are in queue.py.
"""

import hmac
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..appointments.models import Appointment, AppointmentStatus
from ..cohorts.models import Cohort, Program
from ..enrolment.enrolling import known_participant, participant_for
from ..foundation import clock
from ..foundation.database import lock, lock_one, write_transaction
from ..foundation.errors import Conflict, Forbidden, Invalid, NotFound
from ..foundation.events import publish
from ..foundation.extensions import db
from ..inbox import services as inbox
from ..inbox.models import Outcome, PublicRequest, RequestKind
from ..staff.models import DESK
from . import booking, events, queue
from .models import OPEN, Intake, intake_status_word
from .models import IntakeStatus as Status
from .records import INTAKE, IntakeView, appointments_of, audit, lock_intake, positions, snapshot, view

# A public request is carried out within seconds; the answer's deadline says by when the email comes.
ANSWER_WITHIN = timedelta(hours=1)


def _program(program_id: str) -> Program:
    program = db.session.get(Program, program_id)
    if program is None:
        raise NotFound(_l("No such program."))
    return program


# ---- the public request ---------------------------------------------------------------------------


def request_place(program_id: str, data: dict, idempotency_key: str | None = None) -> inbox.Received:
    """Queue a request for a place, answered the same for every address (nothing about it is read)."""
    program = _program(program_id)
    if program.admission != INTAKE:
        raise Conflict(_l("This program takes enrolments directly: enrol in one of its cohorts instead."))
    return inbox.receive(
        RequestKind.INTAKE,
        data["email"],
        data,
        subject_id=program.id,
        expires_at=clock.now() + ANSWER_WITHIN,
        idempotency_key=idempotency_key,
    )


def request_link_again(program_id: str, email: str) -> inbox.Received:
    """ "Send it again": the address's open intake's link, if it has one (answered alike either way)."""
    program = _program(program_id)
    return inbox.receive(
        RequestKind.INTAKE,
        email,
        {"email": email, "link_only": True},
        subject_id=program.id,
        expires_at=clock.now() + ANSWER_WITHIN,
    )


def handle(request: PublicRequest) -> tuple[str, str | None]:
    """Carry out one queued request in the inbox's transaction: a new intake, or the open one's link again."""
    data = dict(request.payload)
    if data.get("link_only"):
        known = known_participant(data["email"])
        already = _open_intake_of(request.subject_id, known) if known else None
        if already is None:
            return Outcome.NOTHING, None
        publish(events.IntakeAnswered(already, again=True, asked=True))
        return Outcome.ALREADY, already.id
    program = db.session.get(Program, request.subject_id)
    if program is None or program.admission != INTAKE:
        raise Conflict(_l("This program no longer admits by request."))
    participant_id, new_person = participant_for(data["email"], known_participant(data["email"]))
    # The program's queue is ordered by its row: two requests never take the same rank.
    lock_one(Program, program.id, _l("No such program."))
    if not new_person:
        already = _open_intake_of(program.id, participant_id)
        if already is not None:
            publish(events.IntakeAnswered(already, again=True))
            return Outcome.ALREADY, already.id
    at = clock.now()
    last = db.session.scalar(select(func.max(Intake.queue_rank)).where(Intake.program_id == program.id))
    intake = Intake(
        program_id=program.id,
        participant_id=participant_id,
        status=Status.REQUESTED,
        name=data["name"],
        email=data["email"],
        phone=data.get("phone"),
        timezone=data.get("timezone"),
        locale=data.get("locale"),
        queue_rank=(last or 0) + 1,
        requested_at=at,
        updated_at=at,
    )
    db.session.add(intake)
    db.session.flush()
    publish(events.IntakeAnswered(intake))
    return Outcome.REQUESTED, intake.id


def refuse(request: PublicRequest, error) -> None:
    """The program stopped admitting by request before this was handled: the address is told."""
    program = db.session.get(Program, request.subject_id)
    if program is None or request.payload.get("link_only"):
        return
    locale = request.payload.get("locale")
    publish(events.IntakeRefused(request.email, request.payload["name"], program, "admits_directly", locale))


def _open_intake_of(program_id: str, participant_id: str) -> Intake | None:
    return db.session.scalar(
        select(Intake).where(
            Intake.program_id == program_id, Intake.participant_id == participant_id, Intake.status.in_(OPEN)
        )
    )


def intake_token_matches(intake_id: str, token: str | None) -> bool:
    """Whether `token` is this intake's manage token (constant-time)."""
    if not token or not intake_id or "\x00" in intake_id + token:
        return False
    stored = db.session.scalar(select(Intake.manage_token).where(Intake.id == intake_id))
    return stored is not None and hmac.compare_digest(stored.encode(), token.encode())


def list_intakes(query: dict) -> list[IntakeView]:
    """Staff: the queue, in order (open ones first, by place), of one program or all; by status."""
    statement = select(Intake)
    if query.get("program_id"):
        statement = statement.where(Intake.program_id == query["program_id"])
    if query.get("status"):
        statement = statement.where(Intake.status == query["status"])
    intakes = db.session.scalars(
        statement.order_by(Intake.program_id, Intake.status.not_in(OPEN), Intake.queue_rank, Intake.id)
    ).all()
    places = positions({intake.program_id for intake in intakes})
    booked = appointments_of([intake.id for intake in intakes])
    return [IntakeView(intake, places.get(intake.id), booked.get(intake.id)) for intake in intakes]


# ---- what staff and the person do ------------------------------------------------------------------------


def record_outcome(intake_id: str, data: dict, staff) -> IntakeView:
    """Approved (for the program, or one of its cohorts) or not suitable; the person is told by email."""
    with write_transaction():
        intake = lock_intake(intake_id)
        _check_may_decide(intake, staff)
        if intake.status not in (Status.REQUESTED, Status.SCHEDULED):
            raise Conflict(
                _l(
                    "An outcome is recorded once, for a requested or scheduled intake; this one is %(status)s.",
                    status=intake_status_word(intake.status),
                )
            )
        cohort_id = data.get("cohort_id")
        if cohort_id is not None:
            cohort = db.session.get(Cohort, cohort_id)
            if cohort is None or cohort.program_id != intake.program_id:
                raise Invalid.field("cohort_id", "Give a cohort of this intake's program, or leave cohort_id out.")
            if data["outcome"] != Status.APPROVED:
                raise Invalid.field("cohort_id", "A cohort is named only with an approval.")
        before = snapshot(intake)
        at = clock.now()
        intake.status = Status(data["outcome"])
        intake.outcome_at, intake.outcome_by, intake.updated_at = at, staff.id, at
        intake.outcome_note = data.get("note") or None
        intake.outcome_message = data.get("message") or None
        if intake.status == Status.APPROVED:
            intake.approved_cohort_id = cohort_id
            intake.approval_expires_at = at + timedelta(days=intake.program.approval_valid_days)
        audit(intake, staff, "outcome", before, cohort_id=cohort_id)
        publish(events.OutcomeRecorded(intake))
    if intake.status == Status.APPROVED:  # seats free now go to the queue at once, in its order
        queue.offer_open_seats(intake.program_id)
    return view(intake)


def _check_may_decide(intake: Intake, staff) -> None:
    """The front desk and admins record outcomes; so does the assessor booked for this person."""
    if staff.role in DESK:
        return
    assessed = staff.assessor and db.session.scalar(
        select(Appointment.id).where(
            Appointment.intake_id == intake.id,
            Appointment.staff_id == staff.id,
            Appointment.status == AppointmentStatus.BOOKED,
        )
    )
    if not assessed:
        raise Forbidden(_l("Only the front desk, an admin or this person's assessor records the outcome."))


def withdraw(intake_id: str, staff=None) -> IntakeView:
    """The person (or staff for them) leaves the queue; a seat offered meanwhile is declined."""
    with write_transaction():
        intake = lock_intake(intake_id)
        if intake.status not in OPEN:
            raise Conflict(
                _l(
                    "Only a requested, scheduled or approved intake can be withdrawn; this one is %(status)s.",
                    status=intake_status_word(intake.status),
                )
            )
        before = snapshot(intake)
        intake.status, intake.updated_at = Status.WITHDRAWN, clock.now()
        booking.cancel_with_intake(intake)  # a booked assessment's time is free again
        audit(intake, staff, "withdrawn", before)
        offered = intake.offer_enrolment_id
    if offered is not None:
        queue.decline_open_offer(offered, staff)
    return view(intake)


def move(intake_id: str, position: int, staff) -> IntakeView:
    """Put an open intake at `position` (1 is next) in its program's queue; audited."""
    with write_transaction():
        program_id = db.session.scalar(select(Intake.program_id).where(Intake.id == intake_id))
        if program_id is None:
            raise NotFound(_l("No such intake."))
        # The program's row orders changes to its queue; then the queue's rows, in id order.
        lock_one(Program, program_id)
        line = lock(Intake, where=[Intake.program_id == program_id, Intake.status.in_(OPEN)])
        intake = next((item for item in line if item.id == intake_id), None)
        if intake is None:
            status = db.session.scalar(select(Intake.status).where(Intake.id == intake_id))
            raise Conflict(
                _l(
                    "Only an intake in the queue can be moved; this one is %(status)s.",
                    status=intake_status_word(status),
                )
            )
        line.sort(key=lambda item: (item.queue_rank, item.id))
        if position > len(line):
            people = "person" if len(line) == 1 else "people"
            raise Invalid.field("position", f"The queue has {len(line)} {people}; give 1 to {len(line)}.")
        before = snapshot(intake, queue_position=line.index(intake) + 1)
        ranks = sorted(item.queue_rank for item in line)
        line.remove(intake)
        line.insert(position - 1, intake)
        for rank, item in zip(ranks, line, strict=True):
            item.queue_rank = rank
        intake.updated_at = clock.now()
        audit(intake, staff, "moved", before, queue_position=position)
    return view(intake)
