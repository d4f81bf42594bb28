"""Keeping stored feeds equal to their inputs (imported once by create_app).

A feed's bytes depend on rows of lower domains: sessions, their cohort (every column:
its updated_at is in each event's LAST-MODIFIED), the program (title, updated_at), and
an enrolment's status, cohort, join link and feed token. Rather than trusting every use
case that writes one of them to announce it (a new one would be forgotten), the calendars
domain watches the ORM's flushes for those rows and, just before the transaction
commits, rebuilds the feeds they feed (services.refresh_stored_feeds). The stored feed
commits or rolls back with the change: it can never disagree with the data.
Lower domains import nothing from here: the dependency still points down.
"""

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session as OrmSession

from ..cohorts.models import Cohort, Program, Session
from ..enrolment.models import Enrolment, EnrolmentStatus
from .services import refresh_stored_feeds

_PENDING = "calendar_feeds_pending"
# The enrolment columns its feed is made of (cohort: the relationship a transfer sets).
_ENROLMENT_INPUTS = ("status", "cohort_id", "cohort", "join_token", "feed_token")


def _pending(session) -> dict:
    return session.info.setdefault(_PENDING, {"cohorts": set(), "programs": set(), "enrolments": set()})


def _was_or_is_confirmed(enrolment: Enrolment) -> bool:
    history = inspect(enrolment).attrs.status.history
    return EnrolmentStatus.CONFIRMED in (*history.deleted, *history.added, enrolment.status)


def _enrolment_changed(enrolment: Enrolment) -> bool:
    """Whether its feed's bytes or token may have changed: never for the waitlisted or pending,
    whose feed is and stays the empty one (unless its token is replaced)."""
    state = inspect(enrolment)
    changed = {name for name in _ENROLMENT_INPUTS if state.attrs[name].history.has_changes()}
    return bool(changed) and ("feed_token" in changed or _was_or_is_confirmed(enrolment))


@event.listens_for(OrmSession, "after_flush")
def _note_feed_inputs(session, flush_context) -> None:
    """Remember which feeds this flush touched (history and new ids are both known here)."""
    cohorts, programs, enrolments = set(), set(), set()
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
    if cohorts or programs or enrolments:
        pending = _pending(session)
        pending["cohorts"] |= cohorts - {None}
        pending["programs"] |= programs
        pending["enrolments"] |= enrolments


@event.listens_for(OrmSession, "before_commit")
def _rebuild_touched_feeds(session) -> None:
    """Rebuild the touched feeds in the committing transaction (their own writes touch no input)."""
    if session.new or session.dirty or session.deleted:
        session.flush()  # commit flushes after this hook: what it would write must be noted first
    if not session.info.get(_PENDING):
        return
    pending = session.info.pop(_PENDING)
    cohorts = pending["cohorts"]
    if pending["programs"]:
        cohorts |= set(session.scalars(select(Cohort.id).where(Cohort.program_id.in_(list(pending["programs"])))))
    refresh_stored_feeds(cohorts, pending["enrolments"])
    session.flush()
    if session.info.get(_PENDING):
        raise RuntimeError("rebuilding calendar feeds changed one of their inputs")


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_on_rollback(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
