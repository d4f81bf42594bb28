"""A cohort's revision: a number that moves in every transaction that changes what its lists show.

The cohort list and a cohort's roster are rendered once per revision (scheduler/foundation/rendered.py).
This is a deriver of foundation/changes.py: each flush notes the cohorts its new, changed and
deleted rows belong to, for the models scheduler/wiring.py lists as WATCHED; before the commit
one UPDATE moves those cohorts' revisions, in the same transaction as the change (so it commits
or rolls back with it). A write that goes past the ORM (a bulk upsert) calls `touch` itself.
The cohorts whose sessions changed also get their first start and last end read again.
"""

from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import inspect, select, update

from ..foundation import changes
from .models import Cohort, Session

NAME = "list revisions"
_SESSIONS = "sessions"  # the cohorts whose sessions changed: their first start and last end are read again

# model -> (keys of a changed row, how keys become cohort ids: None when they already are)
Watch = tuple[Callable[[object], Iterable[str]], Callable | None]
_watched: dict[type, Watch] = {}


def install_watched(table: Mapping[type, Watch]) -> None:
    """Watch these models (scheduler/wiring.py, WATCHED): `keys_of(row)` gives cohort ids, or (with
    `resolve`) other keys that `resolve(keys)`, a SELECT of cohort ids, turns into cohort ids."""
    _watched.clear()
    _watched.update(table)


def watched() -> dict[type, Watch]:
    return dict(_watched)


def touch(*cohort_ids: str) -> None:
    """Move these cohorts' revisions at the commit (for writes that go past the ORM)."""
    changes.pending(NAME).setdefault(None, set()).update(cohort_ids)


def was_and_is(row, column: str) -> list:
    """A column's value now and, if this flush changed it, before (a transfer touches both cohorts)."""
    return [getattr(row, column), *inspect(row).attrs[column].history.deleted]


def note(session, pending: dict) -> None:
    changed = [*session.new, *session.deleted]
    changed += [row for row in session.dirty if session.is_modified(row, include_collections=True)]
    for row in changed:
        if isinstance(row, Session):
            keys = {key for key in was_and_is(row, "cohort_id") if key is not None}
            pending.setdefault(_SESSIONS, set()).update(keys)
        spec = _watched.get(type(row))
        if spec is not None:
            keys_of, resolve = spec
            keys = {key for key in keys_of(row) if key is not None}
            if keys:
                pending.setdefault(resolve, set()).update(keys)


def settle(session, pending: dict) -> None:
    cohort_ids = set(pending.pop(None, ()))
    if moved := pending.pop(_SESSIONS, None):
        _keep_first_and_last(session, sorted(moved))
    for resolve, keys in pending.items():
        cohort_ids.update(session.scalars(resolve(sorted(keys))))
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


DERIVER = changes.Deriver(NAME, note, settle)
