"""The queue: seats offered to approved people in queue order, and what becomes of the offers.

Offers go through enrolment (enrolling.offer_place): an `offered` enrolment with the waitlist's
deadline, accepted then paid or confirmed. offer_to_queue is enrolment's `queue_offers` plug-in,
run under a cohort's lock whenever seats free that nobody on its waitlist takes; the job
(offer_open_seats) also offers the seats of cohorts that opened since, and expires approvals.
Locks are taken cohort first, then intakes (in id order), as everywhere else.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ..cohorts.models import Cohort, CohortStatus, Program, cohort_status_word
from ..enrolment import enrolling, self_service
from ..enrolment import events as enrolment_events
from ..enrolment.models import ACTIVE, Enrolment
from ..enrolment.seat_keeping import offer_free_seats
from ..enrolment.seats import seat_counts
from ..foundation import clock
from ..foundation.database import lock, lock_one, write_transaction
from ..foundation.errors import Conflict, Invalid
from ..foundation.extensions import db
from .models import Intake, intake_status_word
from .models import IntakeStatus as Status
from .records import INTAKE, audit, get_intake, snapshot


def _person(intake: Intake) -> dict:
    return {
        "name": intake.name,
        "email": intake.email,
        "phone": intake.phone,
        "timezone": intake.timezone,
        "locale": intake.locale,
    }


def _offers_open(intakes: list[Intake]) -> set[str]:
    """The intakes whose last offer is still open (offered, or taken and not yet paid)."""
    ids = [intake.offer_enrolment_id for intake in intakes if intake.offer_enrolment_id]
    if not ids:
        return set()
    active = set(db.session.scalars(select(Enrolment.id).where(Enrolment.id.in_(ids), Enrolment.status.in_(ACTIVE))))
    return {intake.id for intake in intakes if intake.offer_enrolment_id in active}


def offer_to_queue(cohort: Cohort, count: int, at) -> list[Enrolment]:
    """Offer up to `count` seats of this cohort to the approved people next in its program's queue."""
    program = cohort.program
    if program.admission != INTAKE or cohort.display_status_by_bounds(at) != CohortStatus.OPEN:
        return []
    approved = lock(
        Intake,
        where=[
            Intake.program_id == program.id,
            Intake.status == Status.APPROVED,
            or_(Intake.approved_cohort_id.is_(None), Intake.approved_cohort_id == cohort.id),
        ],
    )
    busy = _offers_open(approved)
    waiting = sorted(
        (
            intake
            for intake in approved
            if intake.id not in busy
            and cohort.id not in (intake.passed_cohort_ids or [])
            and (intake.approval_expires_at is None or intake.approval_expires_at > at)
        ),
        key=lambda intake: (intake.queue_rank, intake.id),
    )
    offered = []
    for intake in waiting:
        if len(offered) == count:
            break
        enrolment = enrolling.offer_place(cohort, _person(intake), intake.participant_id, at)
        if enrolment is None:  # already has a place here (staff enrolled them): the next person
            continue
        _note_offer(intake, enrolment, None, "offered")
        offered.append(enrolment)
    return offered


def _note_offer(intake: Intake, enrolment: Enrolment, staff, action: str) -> None:
    before = snapshot(intake)
    intake.offer_enrolment_id, intake.updated_at = enrolment.id, clock.now()
    audit(intake, staff, action, before, cohort_id=enrolment.cohort_id, enrolment_id=enrolment.id)


def offer(intake_id: str, cohort_id: str, staff):
    """Staff offer a seat of this cohort to an approved person now, out of turn (audited)."""
    with write_transaction():
        cohort = lock_one(Cohort, cohort_id)
        intake = lock_one(Intake, intake_id, _l("No such intake."))
        if cohort.program_id != intake.program_id:
            raise Invalid.field("cohort_id", "Give a cohort of this intake's program.")
        if intake.status != Status.APPROVED:
            raise Conflict(
                _l(
                    "Seats are offered to approved intakes; this one is %(status)s.",
                    status=intake_status_word(intake.status),
                )
            )
        if _offers_open([intake]):
            raise Conflict(_l("A seat is already offered to this person; it must be answered or lapse first."))
        at = clock.now()
        status = cohort.display_status_by_bounds(at)
        if status in (CohortStatus.CANCELLED, CohortStatus.COMPLETED, CohortStatus.DRAFT):
            raise Conflict(
                _l(
                    "This cohort is %(status)s: its seats cannot be offered.",
                    status=cohort_status_word(status),
                )
            )
        if seat_counts([cohort], at)[cohort.id].available <= 0:
            raise Conflict(_l("No seat is free in this cohort; raise the capacity or wait for one to free."))
        enrolment = enrolling.offer_place(cohort, _person(intake), intake.participant_id, at, staff)
        if enrolment is None:
            raise Conflict(_l("This person already has a place in this cohort."))
        _note_offer(intake, enrolment, staff, "offered_by_staff")
    return get_intake(intake_id)


def decline_open_offer(enrolment_id: str, staff) -> None:
    """Decline the seat offered to someone who left the queue (if it is still only offered)."""
    try:
        self_service.decline(enrolment_id, staff)
    except Conflict:  # taken, declined or lapsed meanwhile: nothing to decline
        pass


# ---- what enrolment tells us (wiring.py): an offer taken, declined or lapsed -----------------------------


def _intake_offered(enrolment: Enrolment) -> Intake | None:
    intake_id = db.session.scalar(select(Intake.id).where(Intake.offer_enrolment_id == enrolment.id))
    return lock_one(Intake, intake_id) if intake_id is not None else None


def seat_taken(event: enrolment_events.Confirmed) -> None:
    """A seat offered from the queue was confirmed: the intake is enrolled (it leaves the queue)."""
    intake = _intake_offered(event.enrolment)
    if intake is not None and intake.status == Status.APPROVED:
        before = snapshot(intake)
        intake.status, intake.updated_at = Status.ENROLLED, clock.now()
        audit(intake, None, "enrolled", before, enrolment_id=event.enrolment.id)


def offer_passed(event) -> None:
    """An offer from the queue was declined or lapsed (or its hold did): the person keeps their place
    in the queue for the program's other cohorts; this one is not offered to them again on its own."""
    enrolment = event.enrolment
    intake = _intake_offered(enrolment)
    if intake is None or intake.status != Status.APPROVED:
        return
    before = snapshot(intake)
    intake.passed_cohort_ids = sorted({*(intake.passed_cohort_ids or []), enrolment.cohort_id})
    intake.updated_at = clock.now()
    audit(intake, None, "offer_passed", before, enrolment_id=enrolment.id, enrolment_status=str(enrolment.status))


# ---- the job ------------------------------------------------------------------------------------------------


def offer_open_seats(program_id: str | None = None) -> int:
    """Offer the free seats of open cohorts of intake programs (or one program) to their queues.

    Catches what no seat change announced: a cohort that opened, an approval just recorded while
    seats were free. Each cohort in a short transaction of its own (skipped if another holds it).
    """
    at = clock.now()
    cohort_ids = db.session.scalars(
        select(Cohort.id)
        .join(Program, Program.id == Cohort.program_id)
        .where(
            Program.admission == INTAKE,
            Program.id == program_id if program_id is not None else True,
            Cohort.status == CohortStatus.OPEN,
            or_(Cohort.first_starts_at.is_(None), Cohort.first_starts_at > at),
            select(Intake.id).where(Intake.program_id == Program.id, Intake.status == Status.APPROVED).exists(),
        )
        .order_by(Cohort.first_starts_at, Cohort.id)
    ).all()
    offered = 0
    for cohort_id in cohort_ids:
        with write_transaction():
            locked = lock(Cohort, cohort_id, skip_locked=True)
            if locked:
                offered += len(offer_free_seats(locked[0]))
    return offered


def run_queue() -> int:
    """The job: expire old approvals, then offer every open seat to the queues."""
    return expire_approvals(clock.now()) + offer_open_seats()


def expire_approvals(at) -> int:
    """Approvals past approval_valid_days with no seat taken (and no offer open) expire."""
    with write_transaction():
        due = lock(
            Intake,
            where=[Intake.status == Status.APPROVED, Intake.approval_expires_at <= at],
            skip_locked=True,
        )
        busy = _offers_open(due)
        for intake in due:
            if intake.id in busy:
                continue
            before = snapshot(intake)
            intake.status, intake.updated_at = Status.EXPIRED, at
            audit(intake, None, "approval_expired", before)
    return len(due) - len(busy)
