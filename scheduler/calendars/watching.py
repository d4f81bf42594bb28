"""Keeping stored feeds equal to their inputs: a deriver of foundation/changes.py (scheduler/wiring.py).

A feed's bytes depend on rows of lower domains: sessions, their cohort (every column:
its updated_at is in each event's LAST-MODIFIED), the program (title, updated_at), an
enrolment's status, cohort, join link and feed token, and its individual sessions. Rather than trusting every use
case that writes one of them to announce it (a new one would be forgotten), each flush's
rows are noted here and, once before the commit, the feeds they feed are rebuilt
(services.refresh_stored_feeds) in the use case's own transaction: the stored feed commits
or rolls back with the change and can never disagree with the data.
Lower domains import nothing from here: the dependency still points down.
"""

from sqlalchemy import inspect, select

from ..appointments.models import Appointment
from ..cohorts.models import Cohort, Program, Session
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..foundation import changes
from .services import refresh_stored_feeds

NAME = "stored feeds"
# The enrolment columns its feed is made of (cohort: the relationship a transfer sets).
_ENROLMENT_INPUTS = ("status", "cohort_id", "cohort", "join_token", "feed_token")


def _was_or_is_confirmed(enrolment: Enrolment) -> bool:
    history = inspect(enrolment).attrs.status.history
    return EnrolmentStatus.CONFIRMED in (*history.deleted, *history.added, enrolment.status)


def _enrolment_changed(enrolment: Enrolment) -> bool:
    """Whether its feed's bytes or token may have changed: never for the waitlisted or pending,
    whose feed is and stays the empty one (unless its token is replaced)."""
    state = inspect(enrolment)
    changed = {name for name in _ENROLMENT_INPUTS if state.attrs[name].history.has_changes()}
    return bool(changed) and ("feed_token" in changed or _was_or_is_confirmed(enrolment))


def note(session, pending: dict) -> None:
    """Remember which feeds this flush touched (history and new ids are both known here)."""
    cohorts, programs, enrolments = set(), set(), set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Appointment) and obj.enrolment_id:  # an individual session beside the group
            enrolments.add(obj.enrolment_id)
    for obj in session.new:
        if isinstance(obj, Session | Cohort):
            cohorts.add(obj.cohort_id if isinstance(obj, Session) else obj.id)
        elif isinstance(obj, Enrolment) and obj.status == EnrolmentStatus.CONFIRMED:
            enrolments.add(obj.id)
    for obj in session.dirty:
        if isinstance(obj, Session | Cohort | Program | Enrolment) and session.is_modified(
            obj, include_collections=False
        ):
            if isinstance(obj, Session):
                cohorts.add(obj.cohort_id)
                cohorts.update(inspect(obj).attrs.cohort_id.history.deleted)
            elif isinstance(obj, Cohort):
                cohorts.add(obj.id)
            elif isinstance(obj, Program):
                programs.add(obj.id)
            elif _enrolment_changed(obj):
                enrolments.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, Session):
            cohorts.add(obj.cohort_id)
        elif isinstance(obj, Cohort):
            cohorts.add(obj.id)
        elif isinstance(obj, Enrolment):
            enrolments.add(obj.id)
    for key, ids in (("cohorts", cohorts - {None}), ("programs", programs), ("enrolments", enrolments)):
        if ids:
            pending.setdefault(key, set()).update(ids)


def settle(session, pending: dict) -> None:
    """Rebuild the touched feeds (their own writes touch no input: changes.settle checks)."""
    cohorts = set(pending.get("cohorts", ()))
    if pending.get("programs"):
        cohorts |= set(session.scalars(select(Cohort.id).where(Cohort.program_id.in_(sorted(pending["programs"])))))
    refresh_stored_feeds(cohorts, set(pending.get("enrolments", ())))


DERIVER = changes.Deriver(NAME, note, settle)
