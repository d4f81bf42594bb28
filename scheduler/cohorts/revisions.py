"""A cohort's revision: a number that moves in every transaction that changes what its lists show.

The cohort list and a cohort's roster are rendered once per revision (scheduler/foundation/rendered.py).
Rather than trusting every use case that writes a row a list shows to say so (a new one
would be forgotten), the domains that own those rows register them here with `watch`:
each flush notes the cohorts its new, changed and deleted rows belong to, and just before
the commit one UPDATE moves those cohorts' revisions, in the same transaction as the
change (so it commits or rolls back with it). A write that goes past the ORM (a bulk
upsert) calls `touch` itself.

Watched here: cohorts (and who facilitates them), their sessions, programs, staff names.
The enrolment and attendance domains add theirs (enrolments, payments, refunds, records,
flags) in their handlers; lower domains import nothing from above.
"""

from collections.abc import Callable, Iterable

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session as OrmSession

from ..foundation.extensions import db
from ..staff.models import Staff
from .models import Cohort, Program, Session, cohort_facilitators

_PENDING = "cohort_revisions_pending"
_SESSIONS = "sessions"  # the cohorts whose sessions changed: their first start and last end are read again
_MOVED = "cohort_revisions_moved"

# model -> (keys of a changed row, how keys become cohort ids: None when they already are)
_watched: dict[type, tuple[Callable[[object], Iterable[str]], Callable | None]] = {}


def watch(model: type, keys_of: Callable[[object], Iterable[str]], resolve: Callable | None = None) -> None:
    """Move the revision of the cohorts a new, changed or deleted `model` row belongs to.

    `keys_of(row)` gives cohort ids, or (with `resolve`) other keys that `resolve(keys)`, a
    SELECT of cohort ids, turns into cohort ids just before the commit.
    """
    _watched[model] = (keys_of, resolve)


def moved_already(cohort_id: str) -> None:
    """This transaction moved the cohort's revision itself (lock_cohort_moving_revision): not again at the commit."""
    db.session.info.setdefault(_MOVED, set()).add(cohort_id)


def touch(*cohort_ids: str) -> None:
    """Move these cohorts' revisions at the commit (for writes that go past the ORM)."""
    _pending(db.session)[None].update(cohort_ids)


def was_and_is(row, column: str) -> list:
    """A column's value now and, if this flush changed it, before (a transfer touches both cohorts)."""
    return [getattr(row, column), *inspect(row).attrs[column].history.deleted]


def _pending(session) -> dict:
    return session.info.setdefault(_PENDING, {None: set(), _SESSIONS: set()})


@event.listens_for(OrmSession, "after_flush")
def _note_changed_rows(session, flush_context) -> None:
    changed = [*session.new, *session.deleted]
    changed += [row for row in session.dirty if session.is_modified(row, include_collections=True)]
    for row in changed:
        if isinstance(row, Session):
            _pending(session)[_SESSIONS].update(key for key in was_and_is(row, "cohort_id") if key is not None)
        spec = _watched.get(type(row))
        if spec is not None:
            keys_of, resolve = spec
            _pending(session).setdefault(resolve, set()).update(key for key in keys_of(row) if key is not None)


@event.listens_for(OrmSession, "before_commit")
def _move_revisions(session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # commit flushes after this hook: what it would write must be noted first
    pending = session.info.pop(_PENDING, None)
    moved_already_ids = session.info.pop(_MOVED, set())
    if not pending:
        return
    cohort_ids = set(pending.pop(None))
    if moved := pending.pop(_SESSIONS):
        _keep_first_and_last(session, sorted(moved))
    for resolve, keys in pending.items():
        if keys:
            cohort_ids.update(session.scalars(resolve(sorted(keys))))
    cohort_ids -= moved_already_ids
    if cohort_ids:
        # Rows in one order (by id), so two transactions never wait on each other crosswise;
        # updated_at stays as it is: a revision is bookkeeping, not a change of the cohort.
        session.execute(
            update(Cohort)
            .where(Cohort.id.in_(sorted(cohort_ids)))
            .values(revision=Cohort.revision + 1, updated_at=Cohort.updated_at)
            .execution_options(synchronize_session=False)
        )


def _keep_first_and_last(session, cohort_ids: list[str]) -> None:
    """Cohort.first_starts_at and last_ends_at, read again from the sessions (by number)."""
    first = select(Session.starts_at).where(Session.cohort_id == Cohort.id).order_by(Session.number).limit(1)
    last = select(Session.ends_at).where(Session.cohort_id == Cohort.id).order_by(Session.number.desc()).limit(1)
    session.execute(
        update(Cohort)
        .where(Cohort.id.in_(cohort_ids))
        .values(
            first_starts_at=first.scalar_subquery(), last_ends_at=last.scalar_subquery(), updated_at=Cohort.updated_at
        )
        .execution_options(synchronize_session=False)
    )


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_on_rollback(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_MOVED, None)


watch(Cohort, lambda cohort: [cohort.id])
watch(Session, lambda session: was_and_is(session, "cohort_id"))
watch(Program, lambda program: [program.id], lambda ids: select(Cohort.id).where(Cohort.program_id.in_(ids)))
watch(
    Staff,
    lambda member: [member.id],
    lambda ids: select(cohort_facilitators.c.cohort_id).where(cohort_facilitators.c.staff_id.in_(ids)),
)
