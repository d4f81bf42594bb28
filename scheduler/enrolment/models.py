"""Participants, their enrolments (with the guarded state machine), and the staff audit log."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text

from ..clock import now
from ..database import UTCDateTime, new_id, new_token
from ..errors import Conflict
from ..extensions import db

# status -> the statuses it may become (the table in API.md).
TRANSITIONS = {
    "pending_payment": {"confirmed", "expired", "withdrawn", "cancelled"},
    "waitlisted": {"offered", "withdrawn", "cancelled"},
    "offered": {"pending_payment", "confirmed", "expired", "withdrawn", "cancelled"},
    "confirmed": {"withdrawn", "cancelled"},
    "expired": set(),
    "withdrawn": set(),
    "cancelled": set(),
}
STATUSES = tuple(TRANSITIONS)
ACTIVE = ("pending_payment", "waitlisted", "offered", "confirmed")
_ACTIVE_SQL = "status IN ('pending_payment', 'waitlisted', 'offered', 'confirmed')"


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Participant(db.Model):
    """One person, known by their normalised email; owns one calendar feed."""

    __tablename__ = "participants"

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("par"))
    email_normalised = db.Column(db.String(254), nullable=False, unique=True)
    feed_token = db.Column(db.String(80), nullable=False, unique=True, default=lambda: new_token("cal"))
    created_at = db.Column(UTCDateTime, nullable=False, default=now)


class Enrolment(db.Model):
    __tablename__ = "enrolments"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint("status != 'pending_payment' OR hold_expires_at IS NOT NULL", name="hold_has_expiry"),
        CheckConstraint("status != 'offered' OR offer_expires_at IS NOT NULL", name="offer_has_expiry"),
        CheckConstraint("amount_paid >= 0", name="amount_paid_not_negative"),
        # One active enrolment per person per cohort: the database's last word on it.
        Index(
            "uq_enrolments_one_active",
            "cohort_id",
            "participant_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index("ix_enrolments_cohort_status", "cohort_id", "status"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("enr"))
    cohort_id = db.Column(db.String(40), db.ForeignKey("cohorts.id"), nullable=False)
    participant_id = db.Column(db.String(40), db.ForeignKey("participants.id"), nullable=False, index=True)
    status = db.Column(db.String(20), nullable=False)
    name = db.Column(db.String(200), nullable=False)
    email = db.Column(db.String(254), nullable=False)
    phone = db.Column(db.String(40))
    timezone = db.Column(db.String(64))
    manage_token = db.Column(db.String(80), nullable=False, unique=True, default=lambda: new_token("mng"))
    hold_expires_at = db.Column(UTCDateTime)
    offer_expires_at = db.Column(UTCDateTime)
    # Order in the waitlist: lower goes first. Positions (1, 2, …) are computed from it.
    waitlist_rank = db.Column(db.Integer)
    amount_paid = db.Column(db.Integer, nullable=False, default=0)
    payment_method = db.Column(db.String(20))
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now)

    cohort = db.relationship("Cohort")
    participant = db.relationship(Participant)

    def holds_seat(self, at: datetime) -> bool:
        """Whether this enrolment takes a seat at instant `at` (expired holds take none)."""
        if self.status == "confirmed":
            return True
        if self.status == "pending_payment":
            return self.hold_expires_at > at
        if self.status == "offered":
            return self.offer_expires_at > at
        return False

    def move_to(self, status: str) -> None:
        """The one place an enrolment's status changes; refuses moves the contract forbids."""
        if status not in TRANSITIONS[self.status]:
            raise Conflict(f"An enrolment that is {self.status} cannot become {status}.")
        self.status = status
        self.updated_at = now()


class AuditEntry(db.Model):
    """Who did what to an enrolment, when, with the state before and after."""

    __tablename__ = "audit_entries"

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("aud"))
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), nullable=False, index=True)
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    action = db.Column(db.String(40), nullable=False)
    before = db.Column(db.JSON)
    after = db.Column(db.JSON)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)


class IdempotencyRecord(db.Model):
    """The first response to a request sent with an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_records_scope_key"),)

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("idm"))
    scope = db.Column(db.String(200), nullable=False)
    key = db.Column(db.String(200), nullable=False)
    request_hash = db.Column(db.String(64), nullable=False)
    response_status = db.Column(db.Integer, nullable=False)
    response_body = db.Column(db.JSON, nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
