"""Attendance use cases for staff: the attendance sheets of a cohort and of a session, and
recording a session that has started.

A facilitator sees only the cohorts assigned to them. Recording runs under the cohort's
lock and applies the missed-sessions rule to the people recorded (flags.py). Joining
through a personal link is join_links.py; the attendance letter, letters.py.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, CohortStatus, Session, SessionStatus
from ..cohorts.revisions import touch
from ..enrolment.audit import record
from ..enrolment.models import Enrolment
from ..foundation import clock
from ..foundation.database import lock_one, new_id, write_transaction
from ..foundation.errors import Conflict, Invalid, NotFound
from ..foundation.extensions import db
from ..staff.models import Role
from .flags import evaluate
from .models import AttendanceRecord, RecordSource
from .records import Summary, confirmed, summaries, upsert


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
        raise NotFound(_l("No such cohort."))
    return cohort


def cohort_attendance(cohort_id: str, staff) -> list[Summary]:
    """Per confirmed enrolment of the cohort: records per session, run of misses, flag."""
    cohort = _cohort_for(cohort_id, staff)
    people = confirmed(cohort.id)
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
        raise NotFound(_l("No such session."))
    return session


def session_attendance(session_id: str, staff) -> SessionAttendance:
    """A session's attendance sheet (facilitators: sessions of their own cohorts)."""
    session = _session_for(session_id, staff)
    people = confirmed(session.cohort_id)
    records = {
        r.enrolment_id: r
        for r in db.session.scalars(
            select(AttendanceRecord)
            .options(selectinload(AttendanceRecord.recorded_by))
            .where(AttendanceRecord.session_id == session.id)
        )
    }
    return SessionAttendance(session, [(e, records.get(e.id)) for e in people])


def record_session(session_id: str, records: list[dict], staff) -> SessionAttendance:
    """Record the attendance of a session that has started (the records given; others stay as they are)."""
    with write_transaction():
        cohort_id = db.session.scalar(select(Session.cohort_id).where(Session.id == session_id))
        if cohort_id is None:
            raise NotFound(_l("No such session."))
        cohort = lock_one(Cohort, cohort_id)
        session = _session_for(session_id, staff)
        at = clock.now()
        if cohort.status == CohortStatus.CANCELLED or session.status == SessionStatus.CANCELLED:
            raise Conflict(_l("This session was cancelled; there is no attendance to record."))
        if session.starts_at > at:
            raise Conflict(
                _l(
                    "This session starts at %(at)s; its attendance can be recorded once it has started.",
                    at=f"{session.starts_at:%Y-%m-%dT%H:%M:%SZ}",
                )
            )
        people = {e.id: e for e in confirmed(cohort.id)}
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
            upsert(
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
        # Two sentences rather than ngettext: `make translations` extracts lazy_gettext and _l.
        said = _l("1 record is invalid") if count == 1 else _l("%(count)s records are invalid", count=count)
        raise Invalid(said, errors=errors)
