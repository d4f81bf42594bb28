"""The outbox: every email, written in the transaction of the change it reports."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, Index

from ..foundation.clock import now
from ..foundation.database import UTCDateTime, new_id, one_of
from ..foundation.extensions import db


class OutboxStatus(StrEnum):
    """pending: waiting to be sent (maybe after a backoff); sending: claimed by a worker
    until lease_expires_at; sent; failed: a permanent refusal (5xx) or too many tries;
    skipped: no longer true when its turn came (a reminder for a cancelled session)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class MessageKind(StrEnum):
    ENROLMENT_RECEIVED = "enrolment_received"
    ENROLMENT_CONFIRMED = "enrolment_confirmed"
    WAITLISTED = "waitlisted"
    SEAT_OFFERED = "seat_offered"
    HOLD_EXPIRED = "hold_expired"
    OFFER_EXPIRED = "offer_expired"
    WITHDRAWN = "withdrawn"
    TRANSFERRED = "transferred"
    COHORT_CANCELLED = "cohort_cancelled"
    SESSION_CHANGED = "session_changed"
    SESSION_CANCELLED = "session_cancelled"
    REMINDER = "reminder"
    REFUND_PAID = "refund_paid"
    ALREADY_ENROLLED = "already_enrolled"
    # To an address with no enrolment: its public request could not be carried out.
    REQUEST_REFUSED = "request_refused"
    # To the address of an intake (a request for a place): its link, and the assessment's outcome.
    INTAKE_LINK = "intake_link"
    INTAKE_OUTCOME = "intake_outcome"
    ASSESSMENT_BOOKED = "assessment_booked"
    ASSESSMENT_CANCELLED = "assessment_cancelled"
    ASSESSMENT_REMINDER = "assessment_reminder"
    # Individual sessions beside the group: a new series, one moved, one cancelled.
    INDIVIDUAL_SCHEDULED = "individual_scheduled"
    INDIVIDUAL_MOVED = "individual_moved"
    INDIVIDUAL_CANCELLED = "individual_cancelled"
    INDIVIDUAL_REMINDER = "individual_reminder"
    # To a staff member, not a participant: a one-time link to sign in to the console.
    SIGN_IN_LINK = "sign_in_link"
    # To staff, not to a participant: someone reached the missed-sessions limit.
    ATTENDANCE_FLAG = "attendance_flag"


class OutboxMessage(db.Model):
    """One email to one person, rendered when the change it reports is committed.

    Most go to a participant (enrolment_id: whose). A message to a staff member has
    staff_id set, and enrolment_id then names the enrolment it is about.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        one_of("status", OutboxStatus, name="status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The sender's claim query: due rows in order.
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("msg"))
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), index=True)
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    session_id = db.Column(db.String(40), db.ForeignKey("sessions.id", ondelete="SET NULL"))
    kind = db.Column(db.String(40), nullable=False)
    # Set for messages that must exist at most once (reminders: one per session per
    # enrolment); the unique index is what keeps several workers from both writing one.
    dedupe_key = db.Column(db.String(200), unique=True)
    resend_of = db.Column(db.String(40))
    # Kept from the first write through every retry, so a receiving server (or a
    # person's mail client) can tell a retried delivery from a new message.
    message_id = db.Column(db.String(200), nullable=False, unique=True)
    from_address = db.Column(db.String(300), nullable=False)
    to_address = db.Column(db.String(254), nullable=False)
    subject = db.Column(db.String(300), nullable=False)
    body_text = db.Column(db.Text, nullable=False)
    body_html = db.Column(db.Text, nullable=False)
    # [{"filename", "content_type", "content" (base64)}]
    attachments = db.Column(db.JSON, nullable=False, default=list)
    # The message's bytes as sent, built from the columns above when the row was written,
    # and a digest of those columns: stale bytes (columns changed since) are never sent
    # (notifications/mime.py). Blanked with the body (erasure, a sent sign-in link).
    mime = db.Column(db.LargeBinary)
    mime_digest = db.Column(db.String(64))
    status = db.Column(db.String(20), nullable=False, default=OutboxStatus.PENDING)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    next_attempt_at = db.Column(UTCDateTime, nullable=False, default=now)
    lease_owner = db.Column(db.String(40))
    lease_expires_at = db.Column(UTCDateTime)
    last_error = db.Column(db.Text)
    refused_recipients = db.Column(db.JSON)
    # What a not-yet-sent message was built from, for one that later changes merge into
    # (a session's time as the person was last told it, before the first of several edits).
    details = db.Column(db.JSON)
    # A message written under a lock others wait for is rendered just after its transaction
    # commits (outbox.py): until then its subject and bodies are empty and these are the values
    # its kind's templates need beyond the rows (a waitlist position, the money lines). NULL
    # once rendered; whoever meets it first (the committing request, the sender) renders it.
    render_values = db.Column(db.JSON(none_as_null=True))
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    sent_at = db.Column(UTCDateTime)
