"""How the cohorts domain reacts to staff changes (scheduler/wiring.py lists when)."""

from sqlalchemy import select

from ..foundation.database import new_token
from ..foundation.extensions import db
from ..staff.events import StaffRevoked
from .models import Cohort, cohort_facilitators


def replace_feeds_a_revoked_facilitator_knew(event: StaffRevoked) -> None:
    """A revoked facilitator's cohort feed links stop working: the feeds get new tokens."""
    cohorts = db.session.scalars(
        select(Cohort).join(cohort_facilitators).where(cohort_facilitators.c.staff_id == event.member.id)
    )
    for cohort in cohorts:
        cohort.feed_token = new_token("cal")
