"""Intakes (one person's request for a place in a program) and what staff did to them."""

from enum import StrEnum

from flask_babel import lazy_pgettext
from sqlalchemy import Index, text

from ..foundation.clock import now
from ..foundation.database import UTCDateTime, new_id, new_token, one_of
from ..foundation.extensions import db


class IntakeStatus(StrEnum):
    REQUESTED = "requested"  # asked for a place; in the queue
    SCHEDULED = "scheduled"  # an assessment is booked
    APPROVED = "approved"  # found suitable: offered seats in queue order
    NOT_SUITABLE = "not_suitable"
    WITHDRAWN = "withdrawn"
    ENROLLED = "enrolled"  # took a seat offered to them
    EXPIRED = "expired"  # approved, and no seat taken within the program's approval_valid_days


# A status inside a refusal's sentence: the code itself in English, a word agreeing with "solicitud" in Spanish.
_INTAKE_STATUS_IN_A_SENTENCE = {
    IntakeStatus.REQUESTED: lazy_pgettext("intake status in a sentence", "requested"),
    IntakeStatus.SCHEDULED: lazy_pgettext("intake status in a sentence", "scheduled"),
    IntakeStatus.APPROVED: lazy_pgettext("intake status in a sentence", "approved"),
    IntakeStatus.NOT_SUITABLE: lazy_pgettext("intake status in a sentence", "not_suitable"),
    IntakeStatus.WITHDRAWN: lazy_pgettext("intake status in a sentence", "withdrawn"),
    IntakeStatus.ENROLLED: lazy_pgettext("intake status in a sentence", "enrolled"),
    IntakeStatus.EXPIRED: lazy_pgettext("intake status in a sentence", "expired"),
}


def intake_status_word(status: str):
    """A status as a refusal's sentence says it (the code in English, a word in Spanish)."""
    return _INTAKE_STATUS_IN_A_SENTENCE.get(status, status)


# Open intakes hold a place in the program's queue (and one person has at most one per program).
OPEN = (IntakeStatus.REQUESTED, IntakeStatus.SCHEDULED, IntakeStatus.APPROVED)
_OPEN_SQL = "status IN (" + ", ".join(f"'{s}'" for s in OPEN) + ")"


class Intake(db.Model):
    __tablename__ = "intakes"
    __table_args__ = (
        one_of("status", IntakeStatus, name="status"),
        # One open request per person per program: the database's last word on it.
        Index(
            "uq_intakes_one_open",
            "program_id",
            "participant_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        Index("ix_intakes_program_status", "program_id", "status", "queue_rank"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("itk"))
    program_id = db.Column(db.String(40), db.ForeignKey("programs.id"), nullable=False)
    participant_id = db.Column(db.String(40), db.ForeignKey("participants.id"), nullable=False, index=True)
    status = db.Column(db.String(20), nullable=False)
    name = db.Column(db.String(200), nullable=False)
    email = db.Column(db.String(254), nullable=False)
    phone = db.Column(db.String(40))
    timezone = db.Column(db.String(64))
    # The language the person chose for their page (en, es); null: their browser's, then the clinic's.
    locale = db.Column(db.String(8))
    # The person's credential for their intake page and /api/v1/intakes/{id} (sent only by email).
    manage_token = db.Column(db.String(80), nullable=False, unique=True, default=lambda: new_token("mng"))
    # The secret in the person's calendar feed URL (/calendar/intakes/<token>.ics): their assessments.
    feed_token = db.Column(db.String(80), nullable=False, unique=True, default=lambda: new_token("cal"))
    # Order in the program's queue (lower first), from the request; staff may reorder.
    queue_rank = db.Column(db.Integer, nullable=False)
    requested_at = db.Column(UTCDateTime, nullable=False, default=now)
    outcome_at = db.Column(UTCDateTime)
    outcome_by = db.Column(db.String(40), db.ForeignKey("staff.id"))
    # Staff-only: never in the person's answers, pages or emails.
    outcome_note = db.Column(db.Text)
    # What the person was told with the outcome (optional), shown on their page.
    outcome_message = db.Column(db.Text)
    # Approved for this cohort only (None: any cohort of the program).
    approved_cohort_id = db.Column(db.String(40), db.ForeignKey("cohorts.id"))
    approval_expires_at = db.Column(UTCDateTime)
    # The enrolment a seat was last offered through (offered, then taken, declined or lapsed).
    offer_enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"))
    # Cohorts whose offer the person declined or let lapse: not offered again on their own.
    passed_cohort_ids = db.Column(db.JSON, nullable=False, default=list)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now)
    # Set when the person's data was erased (scheduler/privacy).
    erased_at = db.Column(UTCDateTime)

    program = db.relationship("Program")
    participant = db.relationship("Participant")


class IntakeAudit(db.Model):
    """Who did what to an intake, when, with what it was before and after."""

    __tablename__ = "intake_audit"

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("iau"))
    intake_id = db.Column(db.String(40), db.ForeignKey("intakes.id"), nullable=False, index=True)
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    action = db.Column(db.String(40), nullable=False)
    before = db.Column(db.JSON)
    after = db.Column(db.JSON)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
