"""Programs (what a clinic offers), cohorts (one run of it) and their sessions."""

from datetime import datetime

from sqlalchemy import CheckConstraint, UniqueConstraint

from ..clock import now
from ..database import UTCDateTime, new_id, new_token
from ..extensions import db

COHORT_STATUSES = ("draft", "open", "closed", "cancelled")
# Moves staff may make; `running` and `completed` are derived from the clock.
COHORT_TRANSITIONS = {
    "draft": {"open", "cancelled"},
    "open": {"closed", "cancelled"},
    "closed": {"open", "cancelled"},
    "cancelled": set(),
}
SESSION_STATUSES = ("scheduled", "cancelled")

cohort_facilitators = db.Table(
    "cohort_facilitators",
    db.Column("cohort_id", db.String(40), db.ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    db.Column("staff_id", db.String(40), db.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
)


class Program(db.Model):
    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("default_capacity > 0", name="capacity_positive"),
        CheckConstraint("default_session_count > 0", name="session_count_positive"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("prg"))
    name = db.Column(db.String(200), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    session_titles = db.Column(db.JSON, nullable=False, default=list)
    default_session_count = db.Column(db.Integer, nullable=False, default=12)
    default_duration_minutes = db.Column(db.Integer, nullable=False, default=90)
    default_capacity = db.Column(db.Integer, nullable=False, default=10)
    price_amount = db.Column(db.Integer, nullable=False, default=0)
    currency = db.Column(db.String(3), nullable=False, default="usd")
    calendar_title = db.Column(db.String(200), nullable=False, default="Group session")
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now, onupdate=now)


class Cohort(db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (
        CheckConstraint(f"status IN {COHORT_STATUSES!r}", name="status"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("session_count > 0", name="session_count_positive"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("coh"))
    program_id = db.Column(db.String(40), db.ForeignKey("programs.id"), nullable=False, index=True)
    name = db.Column(db.String(200), nullable=False)
    status = db.Column(db.String(20), nullable=False, default="draft")
    timezone = db.Column(db.String(64), nullable=False)
    start_date = db.Column(db.Date, nullable=False)
    start_time = db.Column(db.String(5), nullable=False)  # local wall-clock "HH:MM"
    session_count = db.Column(db.Integer, nullable=False)
    duration_minutes = db.Column(db.Integer, nullable=False)
    capacity = db.Column(db.Integer, nullable=False)
    price_amount = db.Column(db.Integer, nullable=False)
    currency = db.Column(db.String(3), nullable=False)
    meeting_url = db.Column(db.String(2000))
    skip_dates = db.Column(db.JSON, nullable=False, default=list)  # ISO dates
    hold_minutes = db.Column(db.Integer, nullable=False, default=30)
    offer_hours = db.Column(db.Integer, nullable=False, default=24)
    refund_cutoff_hours = db.Column(db.Integer, nullable=False, default=48)
    feed_token = db.Column(db.String(80), nullable=False, unique=True, default=lambda: new_token("cal"))
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now, onupdate=now)

    program = db.relationship(Program, lazy="joined", innerjoin=True)
    sessions = db.relationship(
        "Session", order_by="Session.number", back_populates="cohort", cascade="all, delete-orphan"
    )
    facilitators = db.relationship("Staff", secondary=cohort_facilitators, order_by="Staff.name")

    def display_status(self, at: datetime) -> str:
        """The stored status, or `running`/`completed` once the clock says so."""
        if self.status in ("open", "closed") and self.sessions:
            if at >= self.sessions[-1].ends_at:
                return "completed"
            if at >= self.sessions[0].starts_at:
                return "running"
        return self.status

    def first_session_start(self) -> datetime | None:
        return self.sessions[0].starts_at if self.sessions else None


class Session(db.Model):
    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("cohort_id", "number", name="uq_sessions_cohort_number"),
        CheckConstraint(f"status IN {SESSION_STATUSES!r}", name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("ses"))
    cohort_id = db.Column(db.String(40), db.ForeignKey("cohorts.id", ondelete="CASCADE"), nullable=False)
    number = db.Column(db.Integer, nullable=False)
    title = db.Column(db.String(300), nullable=False)
    starts_at = db.Column(UTCDateTime, nullable=False)
    ends_at = db.Column(UTCDateTime, nullable=False)
    status = db.Column(db.String(20), nullable=False, default="scheduled")
    # Raised on every change a participant should see; calendar feeds use it as SEQUENCE.
    sequence = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now)

    cohort = db.relationship(Cohort, back_populates="sessions")
