"""Database helpers shared by every domain: ids, UTC instants, the write transaction, paging."""

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import CheckConstraint, DateTime, event, func, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from . import changes
from .errors import NotFound
from .extensions import db

log = logging.getLogger(__name__)


def one_of(column: str, values, name: str) -> CheckConstraint:
    """A CHECK constraint that `column` holds one of `values` (an enum's members)."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


def new_id(prefix: str) -> str:
    """An opaque, unguessable id: a type prefix and 128 bits from `secrets`."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


def hash_token(token: str) -> str:
    """What is stored of a bearer token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    """A bearer secret: 256 bits from `secrets`, prefixed so it can be recognised."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


class UTCDateTime(TypeDecorator):
    """An instant stored as naive UTC (SQLite keeps no offsets) and read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite raw text, e.g. from server defaults
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def dialect_insert(table):
    """An INSERT in this database's dialect, which has ON CONFLICT (on_conflict_do_nothing/_do_update)."""
    return (sqlite_insert if is_sqlite() else postgresql_insert)(table)


def begin_write() -> None:
    """Start a write transaction that holds the database's write lock (call through write_transaction).

    On SQLite the transaction must begin IMMEDIATE, or two writers that both read
    first will race (pysqlite's default deferred BEGIN, FOR UPDATE being ignored).
    A read-only transaction already open (the credential lookup) is ended first.
    On PostgreSQL this opens an ordinary transaction; callers then lock rows with
    SELECT … FOR UPDATE, waiting at most DB_LOCK_TIMEOUT_SECONDS.
    """
    session = db.session()  # the scoped_session proxy has no in_transaction()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("a write transaction began with unsaved changes in the session")
        session.commit()
    connection = session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    if connection.dialect.name == "postgresql":
        # Wait for row locks only so long; then the request fails as 503 and is retried
        # (SQLite's equivalent is the connection's busy timeout, set in create_app).
        timeout_ms = int(current_app.config["DB_LOCK_TIMEOUT_SECONDS"] * 1000)
        session.execute(text("SELECT set_config('lock_timeout', :value, true)"), {"value": f"{timeout_ms}ms"})


_WRITING = "write_transaction"
_LOCKS = "locked_rows"
_AFTER_COMMIT = "after_commit"
_HELD_SINCE = "lock_held_since"
_STATE = "transaction_state"


@contextmanager
def write_transaction(*, keep_loaded: bool = False) -> Iterator[None]:
    """The one way to change the database: begin (holding the write lock), run the block, commit.

    Before the commit, the data derived from what the block changed is brought up to date
    (foundation/changes.py). An exception rolls everything back and propagates. Work registered with
    after_commit() runs once the commit succeeded, outside every lock (network
    calls go there, never inside the block); it is dropped on rollback.
    With keep_loaded, the rows the block wrote stay loaded as committed instead of being
    read again on their next use (for a use case that answers with what it just wrote;
    values that a Core UPDATE moved, like a cohort's revision, are then those before it).
    """
    session = db.session()
    if session.info.get(_WRITING):
        raise RuntimeError("write_transaction() is not re-entrant: call the inner use case's helpers instead")
    begin_write()
    session.info[_WRITING] = True
    session.info[_LOCKS] = set()
    session.info[_AFTER_COMMIT] = []
    session.info[_STATE] = {}
    if is_sqlite():  # BEGIN IMMEDIATE: the whole database is this transaction's from here
        session.info[_HELD_SINCE] = ("database", time.perf_counter())
    try:
        yield
        changes.settle()  # derived data (revisions, stored feeds), in the order wiring.py declares
        session.expire_on_commit = not keep_loaded
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.expire_on_commit = True
        session.info.pop(_WRITING, None)
        session.info.pop(_LOCKS, None)
        pending = session.info.pop(_AFTER_COMMIT, [])
        session.info.pop(_STATE, None)
        _observe_lock_hold(session.info.pop(_HELD_SINCE, None))
    for work in pending:
        try:
            work()
        except Exception:  # after-commit work is retried by the job that owns it
            db.session.rollback()
            log.exception("after-commit work failed; its job will retry it")


def end_read() -> None:
    """End a read-only transaction, so that nothing is held while a network call is waited on."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_read() with unsaved changes: write them inside write_transaction()")
    session.commit()


def transaction_state() -> dict:
    """A dict that lives as long as the current write transaction (for work gathered until it commits)."""
    require_write()
    return db.session().info[_STATE]


def writing() -> bool:
    """Whether this runs inside write_transaction() (and so, until it commits, holds its locks)."""
    return bool(db.session().info.get(_WRITING))


def require_write() -> None:
    """Raise unless called inside write_transaction() (a precondition, checked)."""
    if not db.session().info.get(_WRITING):
        raise RuntimeError("this must run inside write_transaction()")


def lock_kind(model) -> str:
    """The name of a model's locks (note_lock, require_lock, the lock metric): Cohort -> "cohort"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", model.__name__).lower()


def lock(model, *ids: str, where=None, skip_locked: bool = False) -> list:
    """Load rows of `model` and hold their row locks until the write transaction ends; the one way to lock.

    The rows are those with these ids, or (with `where`, a list of conditions) those matching;
    locked in id order, so two transactions never wait on each other crosswise, and read
    afresh (populate_existing: what another transaction committed before the lock is seen).
    On PostgreSQL this waits at most DB_LOCK_TIMEOUT_SECONDS (begin_write), then fails as 503;
    on SQLite the write transaction already holds the database. With skip_locked, rows another
    transaction holds are left out (jobs pass over them). Each lock is noted (require_lock,
    and the lock-hold metric). Rows that do not exist are simply not returned.
    """
    require_write()
    conditions = list(where) if where is not None else [model.id.in_(sorted(set(ids)))]
    rows = db.session.scalars(
        select(model)
        .where(*conditions)
        .order_by(model.id)
        .with_for_update(of=model, skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    ).all()
    kind = lock_kind(model)
    for row in rows:
        note_lock(kind, row.id)
    return list(rows)


def lock_one(model, row_id: str, not_found: str | None = None):
    """lock() of one row by id; NotFound ("No such cohort.", or `not_found`) when there is none."""
    rows = lock(model, row_id)
    if not rows:
        raise NotFound(not_found or f"No such {lock_kind(model).replace('_', ' ')}.")
    return rows[0]


def note_lock(kind: str, row_id: str) -> None:
    """Remember that this transaction holds the lock of row `row_id` of `kind`."""
    require_write()
    info = db.session().info
    info[_LOCKS].add((kind, row_id))
    info.setdefault(_HELD_SINCE, (kind, time.perf_counter()))


def _observe_lock_hold(held: tuple[str, float] | None) -> None:
    """Tell the observers (the metrics) how long this transaction held its first lock, until it ended."""
    if held is None:
        return
    kind, since = held
    seconds = time.perf_counter() - since
    for observe in current_app.extensions.get("lock_observers", ()):
        observe(kind, seconds)


def require_lock(kind: str, row_id: str) -> None:
    """Raise unless this transaction holds the lock of that row (taken with note_lock)."""
    require_write()
    if (kind, row_id) not in db.session().info[_LOCKS]:
        raise RuntimeError(f"this must run while holding the lock of {kind} {row_id}")


def after_commit(work: Callable[[], None]) -> None:
    """Run `work` after the current write transaction commits (never if it rolls back)."""
    require_write()
    db.session().info[_AFTER_COMMIT].append(work)


@dataclass
class Page:
    """One page of a list, as services return it."""

    items: list
    total: int
    page: int
    page_size: int


def paginate(select_stmt, page: int, page_size: int, params: dict | None = None) -> Page:
    """Run a SELECT one page at a time, with the total count (`params`: its bound parameters)."""
    total = count(select_stmt, params)
    items = db.session.scalars(select_stmt.limit(page_size).offset((page - 1) * page_size), params).all()
    return Page(list(items), total, page, page_size)


def count(select_stmt, params: dict | None = None) -> int:
    """How many rows a SELECT gives."""
    return db.session.scalar(select(func.count()).select_from(select_stmt.order_by(None).subquery()), params)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (see below). The busy
        # timeout comes from the `timeout` connect argument (DB_LOCK_TIMEOUT_SECONDS).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name == "sqlite":
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
