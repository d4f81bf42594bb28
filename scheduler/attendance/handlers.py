"""How attendance reacts to the domains below it (scheduler/wiring.py lists when)."""

from ..appointments.events import IndividualAttendanceRecorded
from ..cohorts.events import SessionChanged
from ..enrolment import events as enrolment_events
from . import flags, join_links


def end_the_join_link_left_behind(event: enrolment_events.Transferred) -> None:
    """The join link of the cohort left answers 410 from now on (the transfer email has the new one)."""
    if event.previous_join_token:
        join_links.end_join_link(event.enrolment, event.from_cohort.id, event.previous_join_token, "transferred")


def apply_the_rule_again(event: SessionChanged) -> None:
    """A cancelled (or restored, or moved) session changes runs of misses: apply the rule again."""
    flags.reevaluate_cohort(event.session.cohort_id)


def count_the_individual_session(event: IndividualAttendanceRecorded) -> None:
    """An individual session's attendance: with rule_counts_individual, its miss may cross the limit."""
    enrolment = event.appointment.enrolment
    if enrolment is not None and enrolment.cohort.program.rule_counts_individual:
        flags.reevaluate_cohort(enrolment.cohort_id)
