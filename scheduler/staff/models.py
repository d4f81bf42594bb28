"""Staff accounts. Only a hash of each bearer token is stored."""

from enum import StrEnum

from ..foundation.clock import now
from ..foundation.database import UTCDateTime, new_id, one_of
from ..foundation.extensions import db


class Role(StrEnum):
    """admin: everything; front_desk: programs, cohorts, enrolments, payments; facilitator:
    reads the cohorts assigned to it and records attendance."""

    ADMIN = "admin"
    FRONT_DESK = "front_desk"
    FACILITATOR = "facilitator"


ROLES = tuple(Role)
DESK = (Role.ADMIN, Role.FRONT_DESK)


class Staff(db.Model):
    __tablename__ = "staff"
    __table_args__ = (one_of("role", Role, name="role"),)

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("stf"))
    email = db.Column(db.String(254), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    role = db.Column(db.String(20), nullable=False)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    # Runs intake assessments: publishes availability, is booked for assessments (admission).
    assessor = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    # A clinician's National Provider Identifier, for the statement of services (10 digits).
    npi = db.Column(db.String(10))
    # The secret in the member's own calendar feed URL (/calendar/staff/<token>.ics): made when the
    # console first shows it, replaced from there; a revoked account's feed is not served.
    feed_token = db.Column(db.String(80), unique=True)
    # The language the console speaks to this member (en, es), chosen on their account page;
    # None: their browser's language, then the clinic's.
    locale = db.Column(db.String(8))
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    revoked_at = db.Column(UTCDateTime)


class ApiToken(db.Model):
    """A further bearer token a staff member made for themselves in the console (scripts, tools).

    Works like the account's own token until its owner revokes it, or the account is revoked.
    """

    __tablename__ = "staff_api_tokens"

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("tok"))
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"), nullable=False, index=True)
    label = db.Column(db.String(100), nullable=False)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    # The last characters, so that a person can tell their tokens apart (never enough to use one).
    hint = db.Column(db.String(8), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    revoked_at = db.Column(UTCDateTime)

    staff = db.relationship(Staff)


class SignInLink(db.Model):
    """A one-time link to the console, sent by email: valid SIGN_IN_LINK_MINUTES, once. Only its hash is kept."""

    __tablename__ = "staff_sign_in_links"

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("sil"))
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"), nullable=False, index=True)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    expires_at = db.Column(UTCDateTime, nullable=False)
    used_at = db.Column(UTCDateTime)

    staff = db.relationship(Staff)


class ConsoleSession(db.Model):
    """A signed-in browser. The cookie holds a secret; only its hash is kept here.

    It ends at sign-out, when the account is revoked, or after SESSION_IDLE_HOURS without a request.
    """

    __tablename__ = "staff_console_sessions"

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("css"))
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"), nullable=False, index=True)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    last_seen_at = db.Column(UTCDateTime, nullable=False, default=now)
    ended_at = db.Column(UTCDateTime)

    staff = db.relationship(Staff)


class StaffAuditEntry(db.Model):
    """Who did what to staff access, programs and cohorts, and when: sign-ins and sign-outs,
    API tokens, accounts created, roles changed, access revoked (changes to an enrolment
    have their own log, enrolment.models.AuditEntry)."""

    __tablename__ = "staff_audit_entries"

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("sau"))
    # Who acted (None: the command line, or the system).
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"), index=True)
    action = db.Column(db.String(40), nullable=False)
    # What it was done to: "staff:stf_…", "program:prg_…", "session:…" (None: the actor's own session).
    target = db.Column(db.String(80))
    detail = db.Column(db.JSON)
    created_at = db.Column(UTCDateTime, nullable=False, default=now, index=True)

    staff = db.relationship(Staff)
