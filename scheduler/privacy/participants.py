"""The person a privacy request names, found by email in any case (404 with a hint otherwise)."""

from sqlalchemy import select

from ..enrolment.models import Participant, normalise_email
from ..foundation.errors import NotFound
from ..foundation.extensions import db

UNKNOWN = "No one with this email address is known here; check the spelling (after an erasure the address is not kept)."


def find_participant(email: str) -> Participant:
    """The participant with this email (any case); 404 when there is none, or no longer one."""
    participant = db.session.scalar(select(Participant).where(Participant.email_normalised == normalise_email(email)))
    if participant is None:
        raise NotFound(UNKNOWN)
    return participant
