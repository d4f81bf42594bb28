"""Delivering the outbox: claim due rows under a lease, send them on one connection, record each outcome.

A row is claimed by writing a lease (owner and expiry, by the database's clock) in a short
transaction: `FOR UPDATE SKIP LOCKED` on PostgreSQL lets several workers claim different
rows at once; on SQLite the claim runs under BEGIN IMMEDIATE, so claims take turns. A
worker claims only as many rows as it can send in half its lease at the pace it has seen,
renews the lease of the rows still to send at half time, and sends a row only while it
holds it; each outcome is written only if this worker still holds the lease.

What is sent is the row's prebuilt bytes (mime.py), or, for a row without usable ones, the
message built from its columns now. Each outcome is written as soon as the server answered
(bookkeeping.py), so a worker killed mid-batch repeats at most the message in hand, under
the same Message-ID (the same bytes) once its lease runs out. A worker told to stop
(SIGTERM) finishes the message in hand and hands the rest of its batch back at once.
"""

import logging
import secrets
import smtplib
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import selectinload

from ..cohorts.models import CohortStatus, Session, SessionStatus
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..foundation import clock, shutdown
from ..foundation.database import write_transaction
from ..foundation.extensions import db
from .bookkeeping import Outcomes, renew
from .mime import CONTENT, build_email, stored_bytes
from .models import MessageKind, OutboxMessage, OutboxStatus
from .outbox import render_row
from .transports import (  # noqa: F401 (the names this module has always offered)
    LOOPBACK,
    SMTP_TIMEOUT,
    ConnectionTrouble,
    FileTransport,
    MailConfigError,
    SmtpTransport,
    forget_files,
    transport,
)
from .transports import describe as _describe

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 30  # about a day of hourly retries after the first few fast ones


def backoff(attempts: int, base: timedelta = BACKOFF_BASE) -> timedelta:
    """Wait before the next try: 1, 2, 4 … minutes (base × 2ⁿ), at most an hour."""
    return min(base * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


# ---- claiming and delivering --------------------------------------------------------------------


# What a claimed row carries: what the message is built from (mime.CONTENT), its prebuilt
# bytes, and what deciding, sending and recording it read.
# render_values: a row written unrendered (outbox.py) is rendered here if nothing rendered it after its commit.
CLAIMED = (*CONTENT, "id", "kind", "enrolment_id", "session_id", "attempts", "mime", "mime_digest", "render_values")


def claim(owner: str, at: datetime, limit: int, lease: timedelta = LEASE) -> list[Row]:
    """Lease up to `limit` due rows to `owner` and commit; returns their columns as they were read.

    Plain rows, not ORM objects: the sender only reads them, and a batch of a hundred
    costs far less to load this way (no identity map, no change tracking, no flush).
    """
    with write_transaction():
        return _claim(owner, at, limit, lease)


def _claim(owner: str, at: datetime, limit: int, lease: timedelta) -> list[Row]:
    table = OutboxMessage.__table__
    due = or_(
        and_(table.c.status == OutboxStatus.PENDING, table.c.next_attempt_at <= at),
        and_(table.c.status == OutboxStatus.SENDING, table.c.lease_expires_at <= at),
    )
    pick = select(table.c.id).where(due).order_by(table.c.created_at, table.c.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # One statement leases the batch and reads back what sending it needs (not the
    # bookkeeping columns: fewer values to decode, no JSON but the attachments).
    rows = db.session.execute(
        update(table)
        .where(table.c.id.in_(pick.scalar_subquery()))
        .values(status=OutboxStatus.SENDING, lease_owner=owner, lease_expires_at=at + lease)
        .returning(*(table.c[name] for name in CLAIMED))
    ).all()
    rows = [_rendered(row) if row.render_values is not None else row for row in rows]
    rows.sort(key=lambda row: (row.created_at, row.id))
    _load_what_stale_reason_reads(rows)
    claimed = []
    for row in rows:
        reason = _stale_reason(row)
        if reason:
            db.session.execute(
                update(table)
                .where(table.c.id == row.id)
                .values(status=OutboxStatus.SKIPPED, last_error=reason, lease_owner=None, **_scrubbed(row))
            )
        else:
            claimed.append(row)
    return claimed


def _rendered(row: Row) -> Row:
    """A row written unrendered whose transaction's request did not render it (outbox.render_later): now."""
    table = OutboxMessage.__table__
    done = render_row(row)
    if done is None:
        return row
    return db.session.execute(update(table).where(table.c.id == row.id).values(**done).returning(*table.c)).one()


# Messages carrying a one-time secret: sent only while it works, and their body is not
# kept once sent (only a hash of the secret is stored anywhere else).
SIGN_IN_LINK_VALID = timedelta(minutes=15)
SCRUBBED = "(Removed after sending: this message held a one-time sign-in link.)"


def _scrubbed(row: Row) -> dict:
    if row.kind != MessageKind.SIGN_IN_LINK:
        return {}
    return {"body_text": SCRUBBED, "body_html": SCRUBBED, "mime": None, "mime_digest": None}


# Kinds that carry the meeting link or the calendar feed: they go only to a person whose
# enrolment is still confirmed when the message's turn comes (a withdrawal may have come
# between the write and the send, or staff may resend an old confirmation).
CARRIES_LINK = frozenset(
    {MessageKind.ENROLMENT_CONFIRMED, MessageKind.TRANSFERRED, MessageKind.REMINDER, MessageKind.SESSION_CHANGED}
)


def _load_what_stale_reason_reads(rows: list[Row]) -> None:
    # Two queries for the batch instead of two per row: the gets below then find them loaded.
    carrying = [row for row in rows if row.kind in CARRIES_LINK]
    enrolment_ids = {row.enrolment_id for row in carrying if row.enrolment_id}
    session_ids = {row.session_id for row in carrying if row.session_id}
    if enrolment_ids:
        db.session.scalars(select(Enrolment).where(Enrolment.id.in_(enrolment_ids))).all()
    if session_ids:
        db.session.scalars(
            select(Session).options(selectinload(Session.cohort)).where(Session.id.in_(session_ids))
        ).all()


def _stale_reason(row: Row) -> str | None:
    """Why a message is no longer true or no longer this person's to receive; None to send it."""
    if row.kind == MessageKind.SIGN_IN_LINK and row.created_at + SIGN_IN_LINK_VALID <= clock.now():
        return "not sent: the sign-in link expired before it could go out"
    if row.kind not in CARRIES_LINK:
        return None
    session = db.session.get(Session, row.session_id) if row.session_id else None
    enrolment = db.session.get(Enrolment, row.enrolment_id) if row.enrolment_id else None
    if row.kind == MessageKind.REMINDER and (
        session is None or session.status != SessionStatus.SCHEDULED or session.cohort.status == CohortStatus.CANCELLED
    ):
        return "not sent: the session was cancelled"
    if enrolment is None or enrolment.status != EnrolmentStatus.CONFIRMED:
        status = enrolment.status if enrolment is not None else "gone"
        return f"not sent: the person is no longer enrolled ({status}) and this message carries the meeting link"
    if session is not None and session.cohort_id != enrolment.cohort_id:
        return "not sent: the person moved to another group"
    return None


# ---- recording outcomes -------------------------------------------------------------------------


def _finish(row: Row, owner: str, **values) -> None:
    """Record one outcome now (the batch's way, for a single row)."""
    outcomes = Outcomes(owner, _scrubbed)
    outcomes.add(row, **values)
    outcomes.write()


def _retry(row: Row, at: datetime, error: str, outcomes: Outcomes) -> str:
    attempts = row.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        outcomes.add(row, status="failed", attempts=attempts, last_error=f"gave up after {attempts} tries: {error}")
        return "failed"
    base = timedelta(seconds=current_app.config.get("OUTBOX_RETRY_BASE_SECONDS", BACKOFF_BASE.total_seconds()))
    due = at + backoff(attempts, base)
    outcomes.add(row, status="pending", attempts=attempts, last_error=error, next_attempt_at=due)
    return "retry"


def _fail(row: Row, reason: str, outcomes: Outcomes) -> str:
    """This message can never go as it is (no retry would help): record why, and move on."""
    # Storable anywhere: no lone surrogate, no NUL (PostgreSQL's text refuses both).
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:2000]
    log.warning("message %s failed: %s", row.id, reason)
    outcomes.add(row, status="failed", attempts=row.attempts + 1, last_error=reason)
    return "failed"


# ---- sending ------------------------------------------------------------------------------------


def send_one(way, row: Row, at: datetime, outcomes: Outcomes) -> str:
    """Try one claimed row; returns sent | retry | failed. Raises on a broken connection.

    A row that cannot become a message (a header with a line break, a broken
    attachment, an address the server cannot take) fails alone: the connection
    and the rest of the batch are not its business.
    """
    msg = stored_bytes(row)
    if msg is None:  # no usable prebuilt bytes: build them from the columns now
        try:
            msg = build_email(row)
        except Exception as exc:  # any fault in the row's own content
            return _fail(row, f"cannot build the message: {_describe(exc)}", outcomes)
    try:
        refused = way.send(row, msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {
            addr: [code, text.decode(errors="replace") if isinstance(text, bytes) else str(text)]
            for addr, (code, text) in exc.recipients.items()
        }
        error = "; ".join(f"{addr}: {code} {text}" for addr, (code, text) in codes.items())
        if all(400 <= code < 500 for code, _ in codes.values()):
            return _retry(row, at, error, outcomes)
        outcomes.add(row, status="failed", attempts=row.attempts + 1, last_error=error, refused_recipients=codes)
        return "failed"
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code == 421:
            way.drop()  # the server is closing this connection; the next row reconnects
        if 400 <= exc.smtp_code < 500:
            return _retry(row, at, _describe(exc), outcomes)
        outcomes.add(row, status="failed", attempts=row.attempts + 1, last_error=_describe(exc))
        return "failed"
    except smtplib.SMTPNotSupportedError as exc:  # e.g. a non-ASCII address and no SMTPUTF8: said before sending
        return _fail(row, f"the mail server cannot take this message: {_describe(exc)}", outcomes)
    except (smtplib.SMTPException, OSError):
        raise  # the connection's trouble, not the message's: the batch decides
    except Exception as exc:  # the message could not be serialised (an unencodable header, …)
        return _fail(row, f"cannot send the message: {_describe(exc)}", outcomes)
    outcomes.add(
        row,
        status="sent",
        attempts=row.attempts + 1,
        last_error=None,
        refused_recipients=({a: [c, m.decode(errors="replace")] for a, (c, m) in refused.items()} or None),
    )
    return "sent"


class Pace:
    """Seconds a message takes to send, as this worker has seen (a moving average)."""

    def __init__(self, first_guess: float = 0.5):
        self.seconds = first_guess

    def observe(self, seconds: float) -> None:
        self.seconds = 0.8 * self.seconds + 0.2 * seconds

    def batch(self, most: int, lease: timedelta) -> int:
        """How many rows to claim: what can be sent in half the lease at this pace (at least one)."""
        return max(1, min(most, int(lease.total_seconds() / 2 / max(self.seconds, 0.001))))


def deliver_outbox(at: datetime | None = None, batch_size: int = 100, lease: timedelta | None = None) -> dict:
    """Send every due message, on one connection kept open across batches; returns counts by outcome.

    Stops early, handing back what it claimed and did not send, when this process is asked
    to stop (foundation/shutdown.py). `lease`: how long a claim holds (OUTBOX_LEASE_SECONDS).
    """
    lease = lease or timedelta(seconds=current_app.config.get("OUTBOX_LEASE_SECONDS", LEASE.total_seconds()))
    way = transport()
    if way is None:
        return {"not_configured": "set MAIL_URL or MAIL_DIR"}
    owner = "wrk_" + secrets.token_hex(8)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    pace = Pace()
    try:
        while not shutdown.requested():
            size = pace.batch(batch_size, lease)
            claimed_at = at or clock.now()
            rows = claim(owner, claimed_at, size, lease)
            if not rows:
                break
            broken = _deliver_batch(way, rows, owner, at, (claimed_at + lease, lease), counts, pace)
            if broken or len(rows) < size:
                break
    finally:
        way.close()
    return counts


def _release(rows: list[Row], owner: str) -> None:
    """Hand claimed rows back, due at once, for this or another worker's next pass."""
    outcomes = Outcomes(owner, _scrubbed)
    for row in rows:
        outcomes.add(row, status=OutboxStatus.PENDING)
    outcomes.write()


def _deliver_batch(way, rows, owner, at, leased, counts, pace) -> bool:
    """Send a batch, recording each outcome at once; returns True when the connection could not be used.

    `leased`: (until when this worker holds the rows, the lease's length). Before each send, by the
    database's clock: once half the lease is gone, the rows still to send are leased anew, and a
    row another worker took over meanwhile (this one stalled past its lease) is left to that worker.
    """
    held_until, lease = leased
    outcomes = Outcomes(owner, _scrubbed)
    held = {row.id for row in rows}
    for index, row in enumerate(rows):
        if shutdown.requested():
            _release([r for r in rows[index:] if r.id in held], owner)
            return False
        now = clock.now()
        if now >= held_until - lease / 2:
            held = renew(owner, [r.id for r in rows[index:] if r.id in held], now + lease)
            held_until = now + lease
        if row.id not in held:  # its lease ran out and another worker took it: it is theirs to send
            continue
        when, started = at or clock.now(), time.monotonic()
        try:
            way.ensure_open()
            counts[send_one(way, row, when, outcomes)] += 1
        except (ConnectionTrouble, smtplib.SMTPException, OSError) as exc:
            # No usable connection (refused, timed out, dropped): this row may or may
            # not have reached the server, and the rest cannot go now. All wait and
            # retry; a duplicate, if any, carries the same Message-ID.
            way.drop()
            error = _describe(exc)
            log.warning("mail transport failed: %s", error)
            for rest in rows[index:]:
                if rest.id in held:
                    counts[_retry(rest, when, error, outcomes)] += 1
            outcomes.write()
            return True
        except Exception as exc:  # a bug met while handling this row: it alone stops, the others go on
            log.exception("delivering message %s failed", row.id)
            counts[_fail(row, f"unexpected error: {_describe(exc)}", outcomes)] += 1
        outcomes.write()  # before the next message: a crash repeats at most this one
        pace.observe(time.monotonic() - started)
    return False
