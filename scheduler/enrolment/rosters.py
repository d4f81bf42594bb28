"""A cohort's roster as JSON text, rendered once per revision of the cohort (scheduler/rendered.py).

Every row a roster shows (enrolments, payments, refunds, attendance records and flags,
sessions) moves the cohort's revision when it changes (cohorts/revisions.py, with the
watchers in enrolment/handlers.py and attendance/handlers.py). The attendance summaries
also change by time alone, when a session starts or ends: the text is made again then.
"""

from collections.abc import Callable

from flask import json

from .. import clock
from ..cohorts.services import visible_cohort
from ..rendered import Rendering, earliest_after, rendered
from .services import roster


def roster_rendered(cohort_id: str, staff, shape: str, render: Callable[[list], list]) -> str:
    """The roster dumped by `render` in the caller's `shape`, as JSON text."""
    cohort = visible_cohort(cohort_id, staff)  # who may see it is checked every time
    at = clock.now()

    def build() -> Rendering:
        boundaries = [instant for s in cohort.sessions for instant in (s.starts_at, s.ends_at)]
        return Rendering(json.dumps(render(roster(cohort_id, staff))), earliest_after(at, boundaries))

    return rendered().text(("roster", shape, cohort.id), cohort.revision, at, build)
