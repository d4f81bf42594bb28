"""Database helpers shared by every domain: ids, UTC instants, write transactions."""

import secrets
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from .extensions import db


def new_id(prefix: str) -> str:
    """An opaque, unguessable id: a type prefix and 128 bits from `secrets`."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


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


def begin_write():
    """Start the current request's write transaction, taking the database's write lock.

    On SQLite the transaction must begin IMMEDIATE, or two writers that both read
    first will race (pysqlite's default deferred BEGIN, FOR UPDATE being ignored).
    A read-only transaction already open (the credential lookup) is ended first.
    On PostgreSQL this opens an ordinary transaction; callers then lock rows with
    SELECT … FOR UPDATE.
    """
    session = db.session()  # the scoped_session proxy has no in_transaction()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() called with unsaved changes in the session")
        session.commit()
    connection = session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    if connection.dialect.name == "postgresql":
        # Wait for row locks only so long; then the request fails as 503 and is retried
        # (SQLite's equivalent is the connection's busy timeout, set in create_app).
        timeout_ms = int(current_app.config["DB_LOCK_TIMEOUT_SECONDS"] * 1000)
        session.execute(text("SELECT set_config('lock_timeout', :value, true)"), {"value": f"{timeout_ms}ms"})


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
