"""Attendance records, attendance flags (the missed-sessions rule), and join links that ended."""

from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text

from ..foundation.clock import now
from ..foundation.database import UTCDateTime, new_id, one_of
from ..foundation.extensions import db


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"


class RecordSource(StrEnum):
    """join: written by the person's join link (a provisional present); staff: recorded by staff."""

    JOIN = "join"
    STAFF = "staff"


class FlagReason(StrEnum):
    MISSED_LIMIT = "missed_limit"


class AttendanceRecord(db.Model):
    """One person's attendance of one session: at most one row per (session, enrolment)."""

    __tablename__ = "attendance_records"
    __table_args__ = (
        # The join link inserts with ON CONFLICT on this: concurrent joins record once.
        UniqueConstraint("session_id", "enrolment_id", name="uq_attendance_records_session_enrolment"),
        one_of("status", AttendanceStatus, name="status"),
        one_of("source", RecordSource, name="source"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("att"))
    session_id = db.Column(db.String(40), db.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False)
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), nullable=False, index=True)
    status = db.Column(db.String(20), nullable=False)
    source = db.Column(db.String(20), nullable=False)
    recorded_by_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    recorded_at = db.Column(UTCDateTime, nullable=False, default=now)
    # When the person first opened the meeting through their join link (kept through corrections).
    joined_at = db.Column(UTCDateTime)

    recorded_by = db.relationship("Staff")


_OPEN_FLAG = "cleared_at IS NULL"


class AttendanceFlag(db.Model):
    """A crossing of the missed-sessions limit: raised once, cleared by staff with a note.

    A cleared flag remembers the last missed session it acknowledged (acknowledged_through),
    so that only misses after it can raise the next flag.
    """

    __tablename__ = "attendance_flags"
    __table_args__ = (
        one_of("reason", FlagReason, name="reason"),
        # At most one open flag per enrolment and cohort: one crossing, one flag, one email.
        Index(
            "uq_attendance_flags_one_open",
            "enrolment_id",
            "cohort_id",
            unique=True,
            sqlite_where=text(_OPEN_FLAG),
            postgresql_where=text(_OPEN_FLAG),
        ),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("afl"))
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), nullable=False, index=True)
    cohort_id = db.Column(db.String(40), db.ForeignKey("cohorts.id"), nullable=False)
    reason = db.Column(db.String(20), nullable=False, default=FlagReason.MISSED_LIMIT)
    missed_in_a_row = db.Column(db.Integer, nullable=False)
    raised_at = db.Column(UTCDateTime, nullable=False, default=now)
    cleared_at = db.Column(UTCDateTime)
    cleared_by_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    clear_note = db.Column(db.Text)
    acknowledged_through = db.Column(UTCDateTime)


class EndedJoinLink(db.Model):
    """A join link that ended with a transfer: it answers 410, not 404. Only a hash is kept."""

    __tablename__ = "ended_join_links"

    token_hash = db.Column(db.String(64), primary_key=True)
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), nullable=False, index=True)
    cohort_id = db.Column(db.String(40), db.ForeignKey("cohorts.id"), nullable=False)
    reason = db.Column(db.String(20), nullable=False)
    ended_at = db.Column(UTCDateTime, nullable=False, default=now)
