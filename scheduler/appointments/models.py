"""Assessors' weekly availability and the appointments booked in it."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, text

from ..foundation.clock import now
from ..foundation.database import UTCDateTime, new_id, new_token, one_of
from ..foundation.extensions import db


class AppointmentKind(StrEnum):
    ASSESSMENT = "assessment"  # an intake's initial assessment
    INDIVIDUAL = "individual"  # individual therapy beside the group (an enrolment's series)


class AttendanceMark(StrEnum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class Availability(db.Model):
    """Weekly hours a clinician offers for assessments: a weekday's window, cut into slots."""

    __tablename__ = "availability"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_in_week"),
        CheckConstraint("slot_minutes > 0", name="slot_positive"),
        CheckConstraint("end_minute > start_minute", name="ends_after_start"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("avl"))
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"), nullable=False, index=True)
    weekday = db.Column(db.Integer, nullable=False)  # Monday 0 … Sunday 6
    start_minute = db.Column(db.Integer, nullable=False)  # minutes after local midnight
    end_minute = db.Column(db.Integer, nullable=False)
    timezone = db.Column(db.String(64), nullable=False)
    slot_minutes = db.Column(db.Integer, nullable=False)
    from_date = db.Column(db.Date, nullable=False)
    until_date = db.Column(db.Date)
    # The intake programs these hours are for (empty: every intake program).
    program_ids = db.Column(db.JSON, nullable=False, default=list)
    skip_dates = db.Column(db.JSON, nullable=False, default=list)  # ISO dates off
    # The video room of these appointments (the person reaches it through their own join link).
    meeting_url = db.Column(db.String(500))
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    removed_at = db.Column(UTCDateTime)

    staff = db.relationship("Staff")


_BOOKED_SQL = "status = 'booked'"


class Appointment(db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        one_of("kind", AppointmentKind, name="kind"),
        one_of("status", AppointmentStatus, name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "attendance IS NULL OR attendance IN ('present', 'late', 'absent', 'excused')", name="attendance"
        ),
        # A clinician starts at most one booked appointment at a time: the database's last word.
        Index(
            "uq_appointments_staff_start",
            "staff_id",
            "starts_at",
            unique=True,
            sqlite_where=text(_BOOKED_SQL),
            postgresql_where=text(_BOOKED_SQL),
        ),
        Index("ix_appointments_staff_time", "staff_id", "starts_at", "ends_at"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("apt"))
    kind = db.Column(db.String(20), nullable=False)
    status = db.Column(db.String(20), nullable=False)
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"), nullable=False)
    starts_at = db.Column(UTCDateTime, nullable=False)
    ends_at = db.Column(UTCDateTime, nullable=False)
    # Whose it is: an intake (kind assessment) or an enrolment (kind individual, one of a series).
    intake_id = db.Column(db.String(40), db.ForeignKey("intakes.id"), index=True)
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), index=True)
    series_id = db.Column(db.String(40))
    number = db.Column(db.Integer)  # its place in the series (1, 2, …)
    # Attendance of an individual session (present, late, absent, excused), by whom and when.
    attendance = db.Column(db.String(10))
    attendance_by = db.Column(db.String(40), db.ForeignKey("staff.id"))
    attendance_at = db.Column(UTCDateTime)
    availability_id = db.Column(db.String(40), db.ForeignKey("availability.id"))
    meeting_url = db.Column(db.String(500))
    # The person's own join link (/join/<token>): it leads to meeting_url in the appointment's window.
    join_token = db.Column(db.String(80), nullable=False, unique=True, default=lambda: new_token("join"))
    # Calendar SEQUENCE: raised on every change, so calendar apps take the newest.
    sequence = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now)
    cancelled_at = db.Column(UTCDateTime)

    staff = db.relationship("Staff", foreign_keys=[staff_id])
    enrolment = db.relationship("Enrolment")
