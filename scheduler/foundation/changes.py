"""What a write transaction changed, and the data kept from it, brought up to date before it commits.

Some rows are derived from others: a cohort's revision (its lists are rendered once per
revision) and the stored calendar feeds. Rather than trusting every use case that writes
an input to say so (a new one would be forgotten), each kind of derived data is a `Deriver`:
after every flush the collector hands it the session, whose new, changed and deleted rows it
notes; and write_transaction() calls settle() once, before the commit, which lets every
deriver bring its rows up to date in the order scheduler/wiring.py declares (DERIVERS). This
runs in the use case's own transaction, after its statements, with the locks it takes noted
like any other (database.lock): never inside a commit hook. A commit outside
write_transaction() that leaves derived data behind is refused.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from .extensions import db

_PENDING = "derived_data_pending"


@dataclass(frozen=True)
class Deriver:
    """One kind of derived data: `note(session, pending)` after each flush records in `pending`
    (a dict of its own, for this transaction) what the flush touched; `settle(session, pending)`
    brings the derived rows up to date, once, before the commit."""

    name: str
    note: Callable[[OrmSession, dict], None]
    settle: Callable[[OrmSession, dict], None]


_derivers: tuple[Deriver, ...] = ()


def install(derivers: Sequence[Deriver]) -> None:
    """Make these the derivers, in this order, and listen to the ORM's flushes (once per process)."""
    global _derivers
    _derivers = tuple(derivers)
    for name, listener in (
        ("after_flush", _note),
        ("before_commit", _refuse_unsettled),
        ("after_transaction_end", _forget),
    ):
        if not event.contains(OrmSession, name, listener):
            event.listen(OrmSession, name, listener)


def installed() -> tuple[Deriver, ...]:
    return _derivers


def settle() -> None:
    """Bring every deriver's rows up to date with what this transaction changed (write_transaction calls it)."""
    session = db.session()
    session.flush()
    for deriver in _derivers:
        pending = session.info.get(_PENDING, {}).pop(deriver.name, None)
        if pending:
            deriver.settle(session, pending)
            session.flush()
    left = [name for name, pending in session.info.get(_PENDING, {}).items() if pending]
    if left:
        raise RuntimeError(f"settling derived data changed an input of {left} (see DERIVERS' order)")


def _note(session, flush_context) -> None:
    pending = session.info.setdefault(_PENDING, {})
    for deriver in _derivers:
        deriver.note(session, pending.setdefault(deriver.name, {}))


def _refuse_unsettled(session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # the commit would write these: what they change must have been settled
    left = [name for name, pending in session.info.get(_PENDING, {}).items() if pending]
    if left:
        raise RuntimeError(
            f"a commit outside write_transaction() changed rows that {left} are derived from: write them in one"
        )


def _forget(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def pending(name: str) -> dict:
    """The current transaction's pending dict of deriver `name` (for writes past the ORM: revisions.touch)."""
    return db.session().info.setdefault(_PENDING, {}).setdefault(name, {})
