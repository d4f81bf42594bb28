"""One person's attendance records: read as the missed-sessions rule sees them (Summary), and
written one row per person per session (upsert), however many writers race.

The rule itself is pure (rule.py); this reads what it runs over, for the staff sheets
(services.py), the follow-up flags (flags.py), the letter (letters.py) and every enrolment
view (registered with the enrolment domain by handlers.py).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..appointments.models import Appointment, AppointmentKind, AppointmentStatus
from ..cohorts.models import CohortStatus, Session, SessionStatus
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..foundation import clock
from ..foundation.database import dialect_insert
from ..foundation.extensions import db
from . import rule
from .models import AttendanceFlag, AttendanceRecord


@dataclass(frozen=True)
class Summary:
    """One enrolment's attendance in its current cohort, as the rule sees it."""

    enrolment: Enrolment
    marks: list[rule.Mark]
    records: dict  # session id -> AttendanceRecord
    run: list[rule.Mark]
    open_flag: AttendanceFlag | None
    acknowledged_through: datetime | None
    completed: bool | None  # None until the cohort has ended
    individual: list = ()  # the person's individual sessions beside the group (the full programme)

    @property
    def enrolment_id(self) -> str:
        return self.enrolment.id

    @property
    def name(self) -> str:
        return self.enrolment.name

    @property
    def status(self) -> str:
        return self.enrolment.status

    @property
    def consecutive_missed(self) -> int:
        return len(self.run)

    @property
    def attended(self) -> int:
        return len(rule.attended(self.marks))

    @property
    def attendance_flag(self) -> str | None:
        return self.open_flag.reason if self.open_flag is not None else None

    @property
    def flag_raised_at(self) -> datetime | None:
        return self.open_flag.raised_at if self.open_flag is not None else None

    def per_session(self) -> list[dict]:
        """Each session of the cohort with the person's record of it (status None: none yet)."""
        return [
            {"mark": mark, "record": self.records.get(mark.session_id)}
            for mark in sorted(self.marks, key=lambda m: m.number)
        ]


def summaries(enrolments: list[Enrolment], at: datetime | None = None) -> dict[str, Summary]:
    """Summaries of these enrolments (each in its current cohort), in three queries whatever their number."""
    if not enrolments:
        return {}
    at = at or clock.now()
    ids = [e.id for e in enrolments]
    cohort_ids = {e.cohort_id for e in enrolments}
    sessions = db.session.scalars(
        select(Session).where(Session.cohort_id.in_(cohort_ids)).order_by(Session.starts_at, Session.number)
    ).all()
    records = db.session.scalars(
        select(AttendanceRecord)
        .join(Session, Session.id == AttendanceRecord.session_id)
        .where(AttendanceRecord.enrolment_id.in_(ids), Session.cohort_id.in_(cohort_ids))
        # Fresh values even for rows already loaded: recording writes them with an upsert, past the ORM.
        .execution_options(populate_existing=True)
    ).all()
    flags = db.session.scalars(
        select(AttendanceFlag).where(AttendanceFlag.enrolment_id.in_(ids), AttendanceFlag.cohort_id.in_(cohort_ids))
    ).all()
    individual = defaultdict(list)
    for appointment in db.session.scalars(
        select(Appointment)
        .where(Appointment.enrolment_id.in_(ids), Appointment.kind == AppointmentKind.INDIVIDUAL)
        .order_by(Appointment.starts_at, Appointment.id)
    ):
        individual[appointment.enrolment_id].append(appointment)
    sessions_of = defaultdict(list)
    for session in sessions:
        sessions_of[session.cohort_id].append(session)
    records_of = defaultdict(dict)
    for item in records:
        records_of[item.enrolment_id][item.session_id] = item
    flags_of = defaultdict(list)
    for flag in flags:
        flags_of[(flag.enrolment_id, flag.cohort_id)].append(flag)
    result = {}
    for enrolment in enrolments:
        cohort, mine = enrolment.cohort, records_of[enrolment.id]
        program = cohort.program
        marks = [
            rule.Mark(
                session_id=s.id,
                number=s.number,
                starts_at=s.starts_at,
                cancelled=s.status == SessionStatus.CANCELLED,
                status=mine[s.id].status if s.id in mine else None,
            )
            for s in sessions_of[cohort.id]
        ]
        alone = [
            rule.Mark(
                session_id=a.id,
                number=a.number or 0,
                starts_at=a.starts_at,
                cancelled=a.status == AppointmentStatus.CANCELLED,
                status=a.attendance,
            )
            for a in individual[enrolment.id]
        ]
        # With rule_counts_individual, a missed individual session counts toward the missed-sessions limit.
        counted = marks + alone if program.rule_counts_individual else marks
        own_flags = flags_of[(enrolment.id, cohort.id)]
        acknowledged = [f.acknowledged_through for f in own_flags if f.cleared_at and f.acknowledged_through]
        completed = None
        if cohort.display_status(at) == CohortStatus.COMPLETED:
            completed = enrolment.status == EnrolmentStatus.CONFIRMED and rule.completed(
                marks, program.completion_min_sessions
            )
        result[enrolment.id] = Summary(
            enrolment=enrolment,
            marks=marks,
            records=mine,
            run=rule.current_run(counted, program.excused_counts_as_missed),
            individual=individual[enrolment.id],
            open_flag=next((f for f in own_flags if f.cleared_at is None), None),
            acknowledged_through=max(acknowledged, default=None),
            completed=completed,
        )
    return result


def describe_enrolments(enrolments: list[Enrolment]) -> dict[str, dict]:
    """What every enrolment view and roster row shows of attendance (registered with the enrolment domain)."""
    described = {}
    for enrolment_id, summary in summaries(enrolments).items():
        values = {
            "attendance": [
                {
                    "session_id": item["mark"].session_id,
                    "number": item["mark"].number,
                    "status": item["mark"].status,
                }
                for item in summary.per_session()
            ],
            "consecutive_missed": summary.consecutive_missed,
            "attendance_flag": summary.attendance_flag,
        }
        if summary.individual:
            values["individual_attendance"] = [
                {
                    "appointment_id": a.id,
                    "number": a.number,
                    "starts_at": a.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "status": a.attendance,
                    "cancelled": a.status == AppointmentStatus.CANCELLED,
                }
                for a in summary.individual
            ]
        if summary.completed is not None:
            values["completed"] = summary.completed
        described[enrolment_id] = values
    return described


def confirmed(cohort_id: str) -> list[Enrolment]:
    """The cohort's confirmed participants, by name: the people attendance is kept for."""
    return db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort_id, Enrolment.status == EnrolmentStatus.CONFIRMED)
        .order_by(Enrolment.name, Enrolment.id)
    ).all()


def upsert(rows: list[dict], update: dict):
    """INSERT … ON CONFLICT (session, enrolment) DO UPDATE: one row per person per session, however many race."""
    insert = dialect_insert(AttendanceRecord.__table__).values(rows)
    values = {key: make(insert.excluded) for key, make in update.items()}
    return insert.on_conflict_do_update(index_elements=["session_id", "enrolment_id"], set_=values)
