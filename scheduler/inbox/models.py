"""One row per public request, in arrival order; settled once, then stripped of personal data."""

from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text

from ..foundation.clock import now
from ..foundation.database import UTCDateTime, one_of
from ..foundation.extensions import db


class RequestKind(StrEnum):
    ENROL = "enrol"  # a place in a cohort (subject_id: the cohort)
    SIGN_IN = "sign_in"  # a one-time link to the staff console
    LINK_AGAIN = "link_again"  # "send it again": an enrolment's link (subject_id: the cohort)
    INTAKE = "intake"  # a place in an intake program's queue (subject_id: the program)


class Outcome(StrEnum):
    """What handling a request did (the email the person got says which)."""

    ENROLLED = "enrolled"  # a new enrolment: held, confirmed or waitlisted (result_id)
    ALREADY = "already"  # the address was enrolled or waiting: its link was sent again (result_id)
    REQUESTED = "requested"  # a new intake: a place in the program's queue (result_id)
    REFUSED = "refused"  # it could not be done any more (the cohort closed meanwhile): told why
    LINK_SENT = "link_sent"  # a sign-in link went to a staff address (result_id: the staff member)
    NOTHING = "nothing"  # a sign-in request for an address that is not staff
    FAILED = "failed"  # handling failed MAX_ATTEMPTS times: logged, kept for the desk


class PublicRequest(db.Model):
    __tablename__ = "public_requests"
    __table_args__ = (
        one_of("kind", RequestKind, name="kind"),
        one_of("outcome", Outcome, name="outcome"),
        # A retry with the same Idempotency-Key finds the first request (and adds none).
        UniqueConstraint("kind", "subject_id", "idempotency_key", name="uq_public_requests_idempotency"),
        # The worker's head-of-queue read: unsettled rows in arrival order.
        Index(
            "ix_public_requests_waiting",
            "seq",
            sqlite_where=text("settled_at IS NULL"),
            postgresql_where=text("settled_at IS NULL"),
        ),
    )

    # Arrival order; requests are never named outside the service, so no opaque id is needed.
    seq = db.Column(db.Integer, primary_key=True, autoincrement=True)
    kind = db.Column(db.String(20), nullable=False)
    subject_id = db.Column(db.String(40))  # the cohort asked for (enrol)
    # What the person typed; NULL once settled (the outcome's row keeps what it needs).
    email = db.Column(db.String(254))
    payload = db.Column(db.JSON(none_as_null=True))
    idempotency_key = db.Column(db.String(200))
    request_hash = db.Column(db.String(64))
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    # The deadline the answer named (a retry with the same key is told the same).
    expires_at = db.Column(UTCDateTime, nullable=False)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    last_error = db.Column(db.Text)
    settled_at = db.Column(UTCDateTime)
    outcome = db.Column(db.String(20))
    result_id = db.Column(db.String(40))
