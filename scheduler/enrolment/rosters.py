"""A cohort's roster as JSON text, rendered once per revision of the cohort (scheduler/foundation/rendered.py).

Every row a roster shows (enrolments, payments, refunds, attendance records and flags,
sessions) moves the cohort's revision when it changes (cohorts/revisions.py, with the
watchers in enrolment/handlers.py and attendance/handlers.py). The attendance summaries
also change by time alone, when a session starts or ends: the text is made again then.
"""

from collections.abc import Callable

from flask import json
from sqlalchemy import select

from ..cohorts.models import Session
from ..cohorts.services import cohort_revision
from ..foundation import clock
from ..foundation.extensions import db
from ..foundation.rendered import Rendering, earliest_after, rendered
from .staff_actions import roster


def roster_rendered(cohort_id: str, staff, shape: str, render: Callable[[list], list]) -> str:
    """The roster dumped by `render` in the caller's `shape`, as JSON text."""
    revision = cohort_revision(cohort_id, staff)  # who may see it is checked every time
    at = clock.now()

    def build() -> Rendering:
        text = json.dumps(render(roster(cohort_id, staff)))
        instants = db.session.execute(select(Session.starts_at, Session.ends_at).where(Session.cohort_id == cohort_id))
        return Rendering(text, earliest_after(at, [instant for pair in instants for instant in pair]))

    return rendered().text(("roster", shape, cohort_id), revision, at, build)
