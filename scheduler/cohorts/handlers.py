"""How the cohorts domain reacts to staff changes (imported once by create_app), and the
revisions its lists are rendered by (revisions.py: importing it starts the watching)."""

from sqlalchemy import select

from ..foundation.database import new_token
from ..foundation.events import subscribe
from ..foundation.extensions import db
from ..staff.events import StaffRevoked
from . import revisions  # noqa: F401
from .models import Cohort, cohort_facilitators


@subscribe(StaffRevoked)
def _replace_feeds_a_revoked_facilitator_knew(event: StaffRevoked) -> None:
    """A revoked facilitator's cohort feed links stop working: the feeds get new tokens."""
    cohorts = db.session.scalars(
        select(Cohort).join(cohort_facilitators).where(cohort_facilitators.c.staff_id == event.member.id)
    )
    for cohort in cohorts:
        cohort.feed_token = new_token("cal")
