"""Attendance use cases: joining through a personal link, recording a session, the missed-sessions
rule (rule.py) and its follow-up, completion and the attendance letter.

Attendance sits above the domains it reads (cohorts, enrolment) and the one it writes
through (notifications: the follow-up email to staff). Every write that can raise a flag
runs under the cohort's lock, so a crossing is seen by one transaction only; the unique
index on open flags is the database's last word on it.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, CohortStatus, Session, SessionStatus
from ..cohorts.revisions import touch
from ..enrolment.audit import record
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..enrolment.views import lock_enrolment
from ..foundation import clock
from ..foundation.database import (
    dialect_insert,
    end_read,
    hash_token,
    lock_one,
    new_id,
    new_token,
    require_lock,
    write_transaction,
)
from ..foundation.errors import Conflict, Invalid, NotFound
from ..foundation.extensions import db
from ..foundation.links import public_url
from ..notifications.models import MessageKind
from ..notifications.outbox import format_when, queue_to_staff
from ..staff.models import Role, Staff
from . import rule
from .models import AttendanceFlag, AttendanceRecord, EndedJoinLink, FlagReason, RecordSource

# ---- reading one person's attendance ---------------------------------------------------------


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
            run=rule.current_run(marks, program.excused_counts_as_missed),
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
        if summary.completed is not None:
            values["completed"] = summary.completed
        described[enrolment_id] = values
    return described


def _confirmed(cohort_id: str) -> list[Enrolment]:
    return db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort_id, Enrolment.status == EnrolmentStatus.CONFIRMED)
        .order_by(Enrolment.name, Enrolment.id)
    ).all()


def _may_see(cohort: Cohort, staff) -> bool:
    """Admin and front desk see every cohort; a facilitator only the cohorts assigned to them."""
    return staff is not None and (staff.role != Role.FACILITATOR or any(f.id == staff.id for f in cohort.facilitators))


def _cohort_for(cohort_id: str, staff) -> Cohort:
    cohort = db.session.scalar(
        select(Cohort)
        .options(selectinload(Cohort.sessions), selectinload(Cohort.facilitators))
        .where(Cohort.id == cohort_id)
    )
    if cohort is None or not _may_see(cohort, staff):
        raise NotFound("No such cohort.")
    return cohort


def cohort_attendance(cohort_id: str, staff) -> list[Summary]:
    """Per confirmed enrolment of the cohort: records per session, run of misses, flag."""
    cohort = _cohort_for(cohort_id, staff)
    people = _confirmed(cohort.id)
    found = summaries(people)
    return [found[e.id] for e in people]


@dataclass(frozen=True)
class SessionAttendance:
    """A session's attendance sheet: every confirmed participant with their record (or None)."""

    session: Session
    rows: list[tuple[Enrolment, AttendanceRecord | None]]


def _session_for(session_id: str, staff) -> Session:
    session = db.session.get(Session, session_id)
    if session is None or not _may_see(session.cohort, staff):
        raise NotFound("No such session.")
    return session


def session_attendance(session_id: str, staff) -> SessionAttendance:
    """A session's attendance sheet (facilitators: sessions of their own cohorts)."""
    session = _session_for(session_id, staff)
    people = _confirmed(session.cohort_id)
    records = {
        r.enrolment_id: r
        for r in db.session.scalars(
            select(AttendanceRecord)
            .options(selectinload(AttendanceRecord.recorded_by))
            .where(AttendanceRecord.session_id == session.id)
        )
    }
    return SessionAttendance(session, [(e, records.get(e.id)) for e in people])


# ---- recording --------------------------------------------------------------------------------


def _upsert(rows: list[dict], update: dict):
    """INSERT … ON CONFLICT (session, enrolment) DO UPDATE: one row per person per session, however many race."""
    insert = dialect_insert(AttendanceRecord.__table__).values(rows)
    values = {key: make(insert.excluded) for key, make in update.items()}
    return insert.on_conflict_do_update(index_elements=["session_id", "enrolment_id"], set_=values)


def record_session(session_id: str, records: list[dict], staff) -> SessionAttendance:
    """Record the attendance of a session that has started (the records given; others stay as they are)."""
    with write_transaction():
        cohort_id = db.session.scalar(select(Session.cohort_id).where(Session.id == session_id))
        if cohort_id is None:
            raise NotFound("No such session.")
        cohort = lock_one(Cohort, cohort_id)
        session = _session_for(session_id, staff)
        at = clock.now()
        if cohort.status == CohortStatus.CANCELLED or session.status == SessionStatus.CANCELLED:
            raise Conflict("This session was cancelled; there is no attendance to record.")
        if session.starts_at > at:
            raise Conflict(
                f"This session starts at {session.starts_at:%Y-%m-%dT%H:%M:%SZ}; "
                "its attendance can be recorded once it has started."
            )
        people = {e.id: e for e in _confirmed(cohort.id)}
        _check_records(records, people)
        before = dict(
            db.session.execute(
                select(AttendanceRecord.enrolment_id, AttendanceRecord.status).where(
                    AttendanceRecord.session_id == session.id
                )
            ).all()
        )
        rows = [
            {
                "id": new_id("att"),
                "session_id": session.id,
                "enrolment_id": item["enrolment_id"],
                "status": item["status"],
                "source": RecordSource.STAFF,
                "recorded_by_id": staff.id,
                "recorded_at": at,
            }
            for item in records
        ]
        touch(cohort.id)  # the roster shows them; the upsert goes past the ORM
        db.session.execute(
            _upsert(
                rows,
                {
                    "status": lambda new: new.status,
                    "source": lambda new: new.source,
                    "recorded_by_id": lambda new: new.recorded_by_id,
                    "recorded_at": lambda new: new.recorded_at,
                },
            )
        )
        for item in records:
            if before.get(item["enrolment_id"]) != item["status"]:
                record(
                    people[item["enrolment_id"]],
                    staff,
                    "attendance_recorded",
                    {"session_number": session.number, "attendance": before.get(item["enrolment_id"])},
                    session_id=session.id,
                    session_number=session.number,
                    attendance=item["status"],
                )
        evaluate(cohort, [people[item["enrolment_id"]] for item in records])
    return session_attendance(session_id, staff)


def _check_records(records: list[dict], people: dict) -> None:
    """Each record names a confirmed participant of this cohort, once (422 naming the item otherwise)."""
    errors, seen = {}, set()
    for index, item in enumerate(records):
        key, enrolment_id = f"records.{index}.enrolment_id", item["enrolment_id"]
        if enrolment_id in seen:
            errors[key] = [f"{enrolment_id} appears twice; give one record per person."]
        elif enrolment_id not in people:
            errors[key] = [f"{enrolment_id} is not a confirmed participant of this cohort."]
        seen.add(enrolment_id)
    if errors:
        count = len(errors)
        raise Invalid(f"{count} record{'s are' if count > 1 else ' is'} invalid", errors=errors)


# ---- the rule: flags and the follow-up email ------------------------------------------------


def evaluate(cohort: Cohort, enrolments: list[Enrolment]) -> list[AttendanceFlag]:
    """Raise a flag for each of these enrolments whose run of misses crossed the limit (under the cohort's lock).

    The front desk and the cohort's facilitators each get one email per crossing.
    """
    require_lock("cohort", cohort.id)
    program = cohort.program
    people = [e for e in enrolments if e.status == EnrolmentStatus.CONFIRMED and e.cohort_id == cohort.id]
    if program.missed_sessions_limit <= 0 or not people:
        return []
    db.session.flush()
    at = clock.now()
    raised = []
    for enrolment_id, summary in summaries(people, at).items():
        flag_open = summary.open_flag is not None
        if rule.crosses_limit(summary.run, program.missed_sessions_limit, summary.acknowledged_through, flag_open):
            flag = AttendanceFlag(
                id=new_id("afl"),
                enrolment_id=enrolment_id,
                cohort_id=cohort.id,
                reason=FlagReason.MISSED_LIMIT,
                missed_in_a_row=len(summary.run),
                raised_at=at,
            )
            db.session.add(flag)
            raised.append((flag, summary))
    if raised:
        db.session.flush()
        _tell_staff(cohort, raised)
    return [flag for flag, _ in raised]


def _follow_up_staff(cohort: Cohort) -> list[Staff]:
    """Who hears of a flag: the front desk (admins when there is none) and the cohort's facilitators."""
    desk_roles = (Role.FRONT_DESK, Role.ADMIN)
    active = db.session.scalars(
        select(Staff).where(Staff.revoked_at.is_(None), Staff.role.in_(desk_roles)).order_by(Staff.id)
    ).all()
    desk = [s for s in active if s.role == Role.FRONT_DESK] or [s for s in active if s.role == Role.ADMIN]
    facilitators = [f for f in cohort.facilitators if f.revoked_at is None]
    return list({s.id: s for s in desk + facilitators}.values())


def group_label(cohort: Cohort) -> str:
    """A cohort as staff recognise it without naming what it treats: weekday, time, zone, first date."""
    start = cohort.start_date
    return (
        f"the {start:%A} {cohort.start_time} group ({cohort.timezone} time) "
        f"that started on {start:%B} {start.day}, {start.year}"
    )


def _tell_staff(cohort: Cohort, raised: list) -> None:
    zone = ZoneInfo(cohort.timezone)
    recipients = _follow_up_staff(cohort)
    for flag, summary in raised:
        last = rule.attended(summary.marks)
        for member in recipients:
            queue_to_staff(
                member,
                MessageKind.ATTENDANCE_FLAG,
                about=summary.enrolment,
                dedupe_key=f"attendance_flag:{flag.id}:{member.id}",
                participant_name=summary.enrolment.name,
                missed=flag.missed_in_a_row,
                limit=cohort.program.missed_sessions_limit,
                group=group_label(cohort),
                last_attended=_local_date(last[-1].starts_at, zone) if last else "",
                desk_url=public_url(f"/desk/enrolments/{summary.enrolment.id}"),
            )


def _local_date(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local:%A, %B} {local.day}, {local.year}"


def reevaluate_cohort(cohort_id: str) -> list[AttendanceFlag]:
    """Apply the rule to every confirmed participant again (a session was cancelled or moved).

    Takes the cohort's lock (a no-op when the caller, as update_session does, holds it already).
    """
    cohort = lock_one(Cohort, cohort_id)
    return evaluate(cohort, _confirmed(cohort.id))


def clear_flag(enrolment_id: str, note: str, staff) -> Summary:
    """Clear an enrolment's attendance flag with a note (audited); the misses so far are acknowledged."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        flag = db.session.scalar(
            select(AttendanceFlag).where(
                AttendanceFlag.enrolment_id == enrolment.id,
                AttendanceFlag.cohort_id == enrolment.cohort_id,
                AttendanceFlag.cleared_at.is_(None),
            )
        )
        if flag is None:
            raise Conflict("This enrolment has no attendance flag to clear.")
        at = clock.now()
        run = summaries([enrolment], at)[enrolment.id].run
        flag.cleared_at, flag.cleared_by_id, flag.clear_note = at, staff.id, note
        # The next flag needs `limit` misses after the last one seen now.
        flag.acknowledged_through = run[-1].starts_at if run else None
        record(enrolment, staff, "attendance_flag_cleared", {"attendance_flag": flag.reason}, note=note)
    return summaries([enrolment])[enrolment.id]


# ---- the personal join link -------------------------------------------------------------------


@dataclass(frozen=True)
class JoinOutcome:
    """What a join link does now.

    open: redirect to meeting_url · wait: opens at opens_at · ended: no session left ·
    no_link: in a session's window, but the cohort has no meeting link yet ·
    gone: the enrolment left the cohort (410) · unknown: no such link (404).
    """

    state: str
    meeting_url: str | None = None
    opens_at: datetime | None = None
    starts_at: datetime | None = None
    zone: ZoneInfo | None = None

    def when(self, instant: datetime) -> str:
        return format_when(instant, self.zone)


def join_window(session: Session) -> tuple[datetime, datetime]:
    """From JOIN_OPENS_MINUTES before the session's start until its end."""
    return session.starts_at - timedelta(minutes=current_app.config["JOIN_OPENS_MINUTES"]), session.ends_at


def open_join_link(token: str, *, record_join: bool = True) -> JoinOutcome:
    """Follow a personal join link: where it leads now, recording the first join of a session."""
    at = clock.now()
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.join_token == token))
    if enrolment is None:
        ended = db.session.get(EndedJoinLink, hash_token(token)) is not None
        end_read()
        return JoinOutcome("gone" if ended else "unknown")
    if enrolment.status in (EnrolmentStatus.WITHDRAWN, EnrolmentStatus.CANCELLED):
        end_read()
        return JoinOutcome("gone")
    if enrolment.status != EnrolmentStatus.CONFIRMED:
        end_read()  # never handed out: the link shows only once confirmed
        return JoinOutcome("unknown")
    cohort = enrolment.cohort
    zone = ZoneInfo(enrolment.timezone or cohort.timezone)
    held = sorted((s for s in cohort.sessions if s.status == SessionStatus.SCHEDULED), key=lambda s: s.starts_at)
    live = [s for s in held if join_window(s)[0] <= at < join_window(s)[1]]
    if not live:
        upcoming = [s for s in held if join_window(s)[0] > at]
        end_read()
        if not upcoming:
            return JoinOutcome("ended", zone=zone)
        return JoinOutcome("wait", opens_at=join_window(upcoming[0])[0], starts_at=upcoming[0].starts_at, zone=zone)
    session, meeting_url = live[0], cohort.meeting_url
    if not meeting_url:
        end_read()
        return JoinOutcome("no_link", starts_at=session.starts_at, zone=zone)
    if record_join:
        _record_join(session, enrolment.id, at)
    else:
        end_read()
    return JoinOutcome("open", meeting_url=meeting_url, starts_at=session.starts_at, zone=zone)


def _record_join(session: Session, enrolment_id: str, at: datetime) -> None:
    """The first join of a session: a provisional present (or, when staff recorded first, only the time)."""
    session_id = session.id
    joined = db.session.scalar(
        select(AttendanceRecord.joined_at).where(
            AttendanceRecord.session_id == session_id, AttendanceRecord.enrolment_id == enrolment_id
        )
    )
    if joined is not None:
        end_read()  # joined before: nothing to write
        return
    row = {
        "id": new_id("att"),
        "session_id": session_id,
        "enrolment_id": enrolment_id,
        "status": "present",
        "source": RecordSource.JOIN,
        "recorded_by_id": None,
        "recorded_at": at,
        "joined_at": at,
    }
    with write_transaction():
        # Concurrent joins meet the unique (session, enrolment) constraint: one row, the first time kept.
        table = AttendanceRecord.__table__
        db.session.execute(_upsert([row], {"joined_at": lambda new: func.coalesce(table.c.joined_at, new.joined_at)}))
        touch(session.cohort_id)  # the roster shows it; the upsert went past the ORM


def rotate_join_link(enrolment_id: str, staff=None) -> Enrolment:
    """Replace a confirmed enrolment's join link (a forwarded or leaked one): the old link answers 404."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        if enrolment.status != EnrolmentStatus.CONFIRMED:
            raise Conflict(f"Only a confirmed enrolment has a join link; this one is {enrolment.status}.")
        enrolment.join_token = new_token("join")
        enrolment.updated_at = clock.now()
        record(enrolment, staff, "join_link_rotated", None)
    return enrolment


def end_join_link(enrolment: Enrolment, cohort_id: str, token: str, reason: str) -> None:
    """Remember a join link that ended (a transfer), so that it answers 410 rather than 404."""
    db.session.add(
        EndedJoinLink(
            token_hash=hash_token(token),
            enrolment_id=enrolment.id,
            cohort_id=cohort_id,
            reason=reason,
            ended_at=clock.now(),
        )
    )


# ---- completion and the attendance letter ---------------------------------------------------


@dataclass(frozen=True)
class Letter:
    """An attendance letter: who attended which sessions of which program, as the clinic states it."""

    enrolment: Enrolment
    program_name: str
    attended: list[str]  # local dates, oldest first
    sessions_held: int
    completed: bool | None
    issued_on: str


def attendance_letter(enrolment_id: str) -> Letter:
    """The letter listing the dates a person attended (409 while there is none to list)."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound("No such enrolment.")
    at = clock.now()
    summary = summaries([enrolment], at)[enrolment.id]
    zone = ZoneInfo(enrolment.cohort.timezone)
    dates = [_local_date(mark.starts_at, zone) for mark in rule.attended(summary.marks)]
    if not dates:
        raise Conflict("No attended session is recorded for this enrolment yet; the letter lists the dates attended.")
    return Letter(
        enrolment=enrolment,
        program_name=enrolment.cohort.program.name,
        attended=dates,
        sessions_held=sum(1 for m in summary.marks if not m.cancelled and m.starts_at <= at),
        completed=summary.completed,
        issued_on=_local_date(at, zone),
    )
