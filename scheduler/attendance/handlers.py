"""How attendance plugs into the domains below it (imported once by create_app)."""

from ..cohorts.events import SessionChanged
from ..cohorts.revisions import watch
from ..enrolment import events as enrolment_events
from ..enrolment.handlers import cohorts_of_enrolments
from ..enrolment.services import describe_with
from ..foundation.events import subscribe
from . import flags, join_links, records
from .models import AttendanceFlag, AttendanceRecord

# Every enrolment view and roster row carries the person's attendance (enrolment/schemas.py).
describe_with(records.describe_enrolments)
# … so a record or a flag moves the revision of the cohort whose roster shows it (records
# written by upsert, past the ORM, touch it in services.py and join_links.py).
watch(AttendanceRecord, lambda record: [record.enrolment_id], cohorts_of_enrolments)
watch(AttendanceFlag, lambda flag: [flag.cohort_id])


@subscribe(enrolment_events.Transferred)
def _end_the_join_link_left_behind(event: enrolment_events.Transferred) -> None:
    """The join link of the cohort left answers 410 from now on (the transfer email has the new one)."""
    if event.previous_join_token:
        join_links.end_join_link(event.enrolment, event.from_cohort.id, event.previous_join_token, "transferred")


@subscribe(SessionChanged)
def _apply_the_rule_again(event: SessionChanged) -> None:
    """A cancelled (or restored, or moved) session changes runs of misses: apply the rule again."""
    flags.reevaluate_cohort(event.session.cohort_id)
