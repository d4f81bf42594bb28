"""Programs (what a clinic offers), cohorts (one run of it) and their sessions."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_pgettext
from sqlalchemy import CheckConstraint, Index, UniqueConstraint

from ..foundation.clock import now
from ..foundation.database import UTCDateTime, new_id, new_token, one_of
from ..foundation.extensions import db


class CohortStatus(StrEnum):
    """What staff set (draft, open, closed, cancelled) and what the clock derives (running, completed)."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    RUNNING = "running"
    COMPLETED = "completed"


STORED_COHORT_STATUSES = (CohortStatus.DRAFT, CohortStatus.OPEN, CohortStatus.CLOSED, CohortStatus.CANCELLED)
# A status inside a refusal's sentence: the code itself in English, a word agreeing with "grupo" in Spanish.
_COHORT_STATUS_IN_A_SENTENCE = {
    CohortStatus.DRAFT: lazy_pgettext("cohort status in a sentence", "draft"),
    CohortStatus.OPEN: lazy_pgettext("cohort status in a sentence", "open"),
    CohortStatus.CLOSED: lazy_pgettext("cohort status in a sentence", "closed"),
    CohortStatus.CANCELLED: lazy_pgettext("cohort status in a sentence", "cancelled"),
    CohortStatus.RUNNING: lazy_pgettext("cohort status in a sentence", "running"),
    CohortStatus.COMPLETED: lazy_pgettext("cohort status in a sentence", "completed"),
}


def cohort_status_word(status: str):
    """A status as a refusal's sentence says it (the code in English, a word in Spanish)."""
    return _COHORT_STATUS_IN_A_SENTENCE.get(status, status)


# Moves staff may make; `running` and `completed` are derived from the clock.
COHORT_TRANSITIONS = {
    CohortStatus.DRAFT: {CohortStatus.OPEN, CohortStatus.CANCELLED},
    CohortStatus.OPEN: {CohortStatus.CLOSED, CohortStatus.CANCELLED},
    CohortStatus.CLOSED: {CohortStatus.OPEN, CohortStatus.CANCELLED},
    CohortStatus.CANCELLED: set(),
}


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


cohort_facilitators = db.Table(
    "cohort_facilitators",
    db.Column("cohort_id", db.String(40), db.ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    db.Column("staff_id", db.String(40), db.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
)


ADMISSIONS = ("open", "intake")


class Program(db.Model):
    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("default_capacity > 0", name="capacity_positive"),
        CheckConstraint("default_session_count > 0", name="session_count_positive"),
        CheckConstraint("missed_sessions_limit >= 0", name="missed_sessions_limit_not_negative"),
        CheckConstraint("completion_min_sessions IS NULL OR completion_min_sessions > 0", name="completion_positive"),
        one_of("admission", ADMISSIONS, name="admission"),
        CheckConstraint("approval_valid_days > 0", name="approval_valid_days_positive"),
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
    # Sliding scale: [{"code": "reduced", "name": "Reduced", "amount": 18000}], in the program's currency.
    price_levels = db.Column(db.JSON, nullable=False, default=list)
    # Whether people may choose a level when enrolling; otherwise only staff set it.
    self_select_price_level = db.Column(db.Boolean, nullable=False, default=False)
    # Attendance rules (the attendance domain applies them): consecutive misses that flag a
    # person for follow-up (0: never), whether an excused absence counts as one, and how many
    # sessions attended complete the program (None: 80 % of the cohort's sessions).
    missed_sessions_limit = db.Column(db.Integer, nullable=False, default=4)
    excused_counts_as_missed = db.Column(db.Boolean, nullable=False, default=False)
    # The full programme: misses of individual sessions count toward missed_sessions_limit too.
    rule_counts_individual = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    # The statement of services (superbill): the CPT codes of a group and an individual session, and the
    # fee of an individual session (minor units; the group's fee is the enrolment's price per session).
    group_cpt_code = db.Column(db.String(10), nullable=False, default="90853", server_default="90853")
    individual_cpt_code = db.Column(db.String(10), nullable=False, default="90837", server_default="90837")
    individual_fee_amount = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    completion_min_sessions = db.Column(db.Integer)
    # How people get a seat: "open" (enrol, pay), or "intake" (a request, an assessment, an
    # outcome, then a seat offered: the public cannot enrol directly; staff still may).
    admission = db.Column(db.String(10), nullable=False, default="open", server_default="open")
    # Intake programs: how long an approval stands while no seat is taken (then the intake expires).
    approval_valid_days = db.Column(db.Integer, nullable=False, default=180, server_default="180")
    # Intake programs: the person may cancel their assessment up to this many hours before it.
    assessment_cancel_hours = db.Column(db.Integer, nullable=False, default=24, server_default="24")
    # The full programme: a person may cancel an individual session up to this many hours before it.
    individual_cancel_hours = db.Column(db.Integer, nullable=False, default=24, server_default="24")
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now, onupdate=now)


class Cohort(db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (
        one_of("status", STORED_COHORT_STATUSES, name="status"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("session_count > 0", name="session_count_positive"),
        CheckConstraint("manual_hold_hours > 0", name="manual_hold_positive"),
        CheckConstraint(
            "enrol_until_session >= 1 AND enrol_until_session <= session_count", name="enrol_until_within_sessions"
        ),
        Index("ix_cohorts_status_first_starts_at", "status", "first_starts_at"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("coh"))
    program_id = db.Column(db.String(40), db.ForeignKey("programs.id"), nullable=False, index=True)
    name = db.Column(db.String(200), nullable=False)
    status = db.Column(db.String(20), nullable=False, default=CohortStatus.DRAFT)
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
    # A seat held for a public request whose emailed link is not opened yet is held this long at most.
    confirm_email_minutes = db.Column(db.Integer, nullable=False, default=30)
    offer_hours = db.Column(db.Integer, nullable=False, default=24)
    refund_cutoff_hours = db.Column(db.Integer, nullable=False, default=48)
    # The hold when payment is taken by hand (no Stripe, or the person pays at the desk).
    manual_hold_hours = db.Column(db.Integer, nullable=False, default=72)
    # Whether a person may choose to pay at the front desk although card payment is set up.
    allow_pay_at_desk = db.Column(db.Boolean, nullable=False, default=False)
    # Late joiners (cohorts/joining.py): the public may enrol until this session (by number) has
    # started; a person joining after the first is charged by the sessions left when this is set.
    enrol_until_session = db.Column(db.Integer, nullable=False, default=1, server_default="1")
    prorate_late_joiners = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    feed_token = db.Column(db.String(80), nullable=False, unique=True, default=lambda: new_token("cal"))
    # Moves in every transaction that changes what the cohort's lists show (cohorts/revisions.py).
    revision = db.Column(db.Integer, nullable=False, default=0)
    # Its first session's start and its last session's end (by number), kept by the same
    # transaction that changes a session (cohorts/revisions.py): lists filter on them.
    first_starts_at = db.Column(UTCDateTime)
    last_ends_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now, onupdate=now)

    program = db.relationship(Program, lazy="joined", innerjoin=True)
    sessions = db.relationship(
        "Session", order_by="Session.number", back_populates="cohort", cascade="all, delete-orphan"
    )
    facilitators = db.relationship("Staff", secondary=cohort_facilitators, order_by="Staff.name")

    def display_status(self, at: datetime) -> CohortStatus:
        """The stored status, or `running`/`completed` once the clock says so."""
        if self.status in (CohortStatus.OPEN, CohortStatus.CLOSED) and self.sessions:
            if at >= self.sessions[-1].ends_at:
                return CohortStatus.COMPLETED
            if at >= self.sessions[0].starts_at:
                return CohortStatus.RUNNING
        return CohortStatus(self.status)

    def display_status_by_bounds(self, at: datetime) -> CohortStatus:
        """display_status(at) from first_starts_at and last_ends_at, without loading the sessions.

        Equal to display_status for a row read in a transaction that has not changed its
        sessions (the bounds are kept, at the commit, by the transaction that changes one).
        """
        if self.status in (CohortStatus.OPEN, CohortStatus.CLOSED) and self.first_starts_at is not None:
            if at >= self.last_ends_at:
                return CohortStatus.COMPLETED
            if at >= self.first_starts_at:
                return CohortStatus.RUNNING
        return CohortStatus(self.status)

    def first_session_start(self) -> datetime | None:
        return self.sessions[0].starts_at if self.sessions else None

    def price_level(self, code: str) -> dict | None:
        """The program's price level with this code, or None."""
        return next((level for level in self.program.price_levels or [] if level["code"] == code), None)


class Session(db.Model):
    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("cohort_id", "number", name="uq_sessions_cohort_number"),
        one_of("status", SessionStatus, name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("ses"))
    cohort_id = db.Column(db.String(40), db.ForeignKey("cohorts.id", ondelete="CASCADE"), nullable=False)
    number = db.Column(db.Integer, nullable=False)
    title = db.Column(db.String(300), nullable=False)
    starts_at = db.Column(UTCDateTime, nullable=False)
    ends_at = db.Column(UTCDateTime, nullable=False)
    status = db.Column(db.String(20), nullable=False, default=SessionStatus.SCHEDULED)
    # Raised on every change a participant should see; calendar feeds use it as SEQUENCE.
    sequence = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now)

    cohort = db.relationship(Cohort, back_populates="sessions")


@dataclass(frozen=True)
class SeatCount:
    """A cohort's seats at one instant, counted from its enrolment rows (never stored)."""

    capacity: int
    taken: int
    waitlisted: int
    # The first instant after the count when a hold or offer lapses and the count changes (None: none will).
    changes_at: datetime | None = None

    @property
    def available(self) -> int:
        return max(0, self.capacity - self.taken)

    @property
    def free_for_newcomers(self) -> bool:
        """A newcomer takes a seat only when one is free and nobody is waiting for it."""
        return self.available > 0 and self.waitlisted == 0
