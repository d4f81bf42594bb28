"""Staff accounts. Only a hash of each bearer token is stored."""

from enum import StrEnum

from ..clock import now
from ..database import UTCDateTime, new_id, one_of
from ..extensions import db


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
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    revoked_at = db.Column(UTCDateTime)
