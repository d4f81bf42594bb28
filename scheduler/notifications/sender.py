"""Delivering the outbox: claim due rows under a lease, send them on one connection, record the outcome.

A row is claimed by writing a lease (owner and expiry) in a short transaction:
`FOR UPDATE SKIP LOCKED` on PostgreSQL lets several workers claim different rows
at once; on SQLite the claim runs under BEGIN IMMEDIATE, so claims take turns. A
worker that dies after claiming leaves the lease to run out, and the row is then
due again. Each outcome is written only if this worker still holds the lease.
"""

import base64
import logging
import os
import secrets
import smtplib
import ssl
import tempfile
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import and_, or_, select, update

from .. import clock
from ..cohorts.models import CohortStatus, Session, SessionStatus
from ..database import write_transaction
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..extensions import db
from .models import MessageKind, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 30  # about a day of hourly retries after the first few fast ones
SMTP_TIMEOUT = 30  # seconds, per socket operation
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class MailConfigError(Exception):
    """MAIL_URL cannot be used as given."""


class ConnectionTrouble(Exception):
    """Could not connect, secure or log in to the mail server: not the message's fault."""


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 1, 2, 4 … minutes, at most an hour."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def build_email(row: OutboxMessage) -> EmailMessage:
    """The MIME message of a row: text, HTML alternative, attachments; one recipient."""
    msg = EmailMessage()
    msg["Message-ID"] = row.message_id
    msg["Date"] = format_datetime(row.created_at)
    msg["From"] = row.from_address
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row.body_text)
    msg.add_alternative(row.body_html, subtype="html")
    for item in row.attachments or []:
        maintype, _, subtype = item["content_type"].partition("/")
        msg.add_attachment(
            base64.b64decode(item["content"]), maintype=maintype, subtype=subtype, filename=item["filename"]
        )
    return msg


# ---- transports ---------------------------------------------------------------------------------


class FileTransport:
    """No MAIL_URL: each message becomes an .eml file (named by its row, so a retry overwrites)."""

    def __init__(self, directory: str):
        self.directory = Path(directory)

    def ensure_open(self):
        self.directory.mkdir(parents=True, exist_ok=True)

    def drop(self):
        pass

    def send(self, row: OutboxMessage, msg: EmailMessage) -> dict:
        name = f"{row.created_at:%Y%m%d-%H%M%S}-{row.kind}-{row.id}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(msg.as_bytes())
        os.replace(tmp, self.directory / name)
        return {}

    def close(self):
        pass

    def forget(self, row_ids) -> int:
        """Delete the files written for these rows (an erased person's mail); returns how many."""
        suffixes = tuple(f"-{row_id}.eml" for row_id in row_ids)
        if not suffixes or not self.directory.is_dir():
            return 0
        gone = 0
        for path in self.directory.iterdir():
            if path.name.endswith(suffixes):
                path.unlink(missing_ok=True)
                gone += 1
        return gone


def forget_files(row_ids) -> int:
    """Mail kept as files (no MAIL_URL) holds addresses and bodies: delete these rows' files."""
    way = transport()
    return way.forget(row_ids) if isinstance(way, FileTransport) else 0


class SmtpTransport:
    """One SMTP connection, opened lazily and reused for a batch.

    smtp:// upgrades with STARTTLS whenever the server offers it, and insists on it
    for any host but loopback (a relay on the same machine may offer none);
    smtps:// is TLS from the first byte. user:password in the URL logs in.
    """

    def __init__(self, url: str, timeout: float = SMTP_TIMEOUT):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailConfigError("MAIL_URL must look like smtp://user:pass@host:587 or smtps://host:465")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 587)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password or "")
        self.timeout = timeout
        self.conn = None

    def ensure_open(self):
        if self.conn is None:
            try:
                self._open()
            except (smtplib.SMTPException, OSError, MailConfigError) as exc:
                raise ConnectionTrouble(_describe(exc)) from exc

    def _open(self):
        context = ssl.create_default_context()
        if self.scheme == "smtps":
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            conn.ehlo()
            if self.scheme == "smtp":
                if conn.has_extn("starttls"):
                    conn.starttls(context=context)
                    conn.ehlo()
                elif self.host not in LOOPBACK:
                    raise MailConfigError(f"{self.host} does not offer STARTTLS; use smtps:// or a relay that does")
            if self.user:
                conn.login(self.user, self.password)
        except BaseException:
            conn.close()
            raise
        self.conn = conn

    def send(self, row: OutboxMessage, msg: EmailMessage) -> dict:
        envelope_from = parseaddr(row.from_address)[1]
        # Exactly one recipient: the participant. No Cc, no Bcc, ever.
        return self.conn.send_message(msg, from_addr=envelope_from, to_addrs=[row.to_address])

    def drop(self):
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.drop()


def transport():
    """The configured way out: SMTP from MAIL_URL, else files under MAIL_DIR, else None."""
    config = current_app.config
    if config.get("MAIL_URL"):
        return SmtpTransport(config["MAIL_URL"], config["MAIL_TIMEOUT"])
    if config.get("MAIL_DIR"):
        return FileTransport(config["MAIL_DIR"])
    return None


# ---- claiming and delivering --------------------------------------------------------------------


def claim(owner: str, at: datetime, limit: int, lease: timedelta = LEASE) -> list[OutboxMessage]:
    """Lease up to `limit` due rows to `owner` and commit; returns them (detached from the session)."""
    with write_transaction():
        return _claim(owner, at, limit, lease)


def _claim(owner: str, at: datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
    due = or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= at),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_expires_at <= at),
    )
    stmt = select(OutboxMessage).where(due).order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(stmt))
    claimed = []
    for row in rows:
        reason = _stale_reason(row)
        if reason:
            row.status, row.last_error, row.lease_owner = OutboxStatus.SKIPPED, reason, None
            for column, value in _scrubbed(row).items():
                setattr(row, column, value)
            continue
        row.status, row.lease_owner, row.lease_expires_at = OutboxStatus.SENDING, owner, at + lease
        claimed.append(row)
    db.session.flush()
    for row in claimed:  # detached with its loaded values, so sending needs no further reads
        db.session.expunge(row)
    return claimed


# Messages carrying a one-time secret: sent only while it works, and their body is not
# kept once sent (only a hash of the secret is stored anywhere else).
SIGN_IN_LINK_VALID = timedelta(minutes=15)
SCRUBBED = "(Removed after sending: this message held a one-time sign-in link.)"


def _scrubbed(row: OutboxMessage) -> dict:
    return {"body_text": SCRUBBED, "body_html": SCRUBBED} if row.kind == MessageKind.SIGN_IN_LINK else {}


# Kinds that carry the meeting link or the calendar feed: they go only to a person whose
# enrolment is still confirmed when the message's turn comes (a withdrawal may have come
# between the write and the send, or staff may resend an old confirmation).
CARRIES_LINK = frozenset(
    {MessageKind.ENROLMENT_CONFIRMED, MessageKind.TRANSFERRED, MessageKind.REMINDER, MessageKind.SESSION_CHANGED}
)


def _stale_reason(row: OutboxMessage) -> str | None:
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


def _finish(row: OutboxMessage, owner: str, **values) -> None:
    # Only the lease holder may record an outcome: if this worker stalled past its
    # lease and another took the row over, the other's outcome stands.
    if values.get("status") in ("sent", "failed"):
        values.update(_scrubbed(row))
    with write_transaction():
        db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row.id,
                OutboxMessage.lease_owner == owner,
                OutboxMessage.status == OutboxStatus.SENDING,
            )
            .values(lease_owner=None, lease_expires_at=None, **values)
        )


def _retry(row: OutboxMessage, owner: str, at: datetime, error: str) -> str:
    attempts = row.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        _finish(row, owner, status="failed", attempts=attempts, last_error=f"gave up after {attempts} tries: {error}")
        return "failed"
    _finish(row, owner, status="pending", attempts=attempts, last_error=error, next_attempt_at=at + backoff(attempts))
    return "retry"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}"


def _fail(row: OutboxMessage, owner: str, reason: str) -> str:
    """This message can never go as it is (no retry would help): record why, and move on."""
    # Storable anywhere: no lone surrogate, no NUL (PostgreSQL's text refuses both).
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:2000]
    log.warning("message %s failed: %s", row.id, reason)
    _finish(row, owner, status="failed", attempts=row.attempts + 1, last_error=reason)
    return "failed"


def send_one(way, row: OutboxMessage, owner: str, at: datetime) -> str:
    """Try one claimed row; returns sent | retry | failed. Raises on a broken connection.

    A row that cannot become a message (a header with a line break, a broken
    attachment, an address the server cannot take) fails alone: the connection
    and the rest of the batch are not its business.
    """
    try:
        msg = build_email(row)
    except Exception as exc:  # any fault in the row's own content
        return _fail(row, owner, f"cannot build the message: {_describe(exc)}")
    try:
        refused = way.send(row, msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {
            addr: [code, msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)]
            for addr, (code, msg) in exc.recipients.items()
        }
        error = "; ".join(f"{addr}: {code} {msg}" for addr, (code, msg) in codes.items())
        if all(400 <= code < 500 for code, _ in codes.values()):
            return _retry(row, owner, at, error)
        _finish(row, owner, status="failed", attempts=row.attempts + 1, last_error=error, refused_recipients=codes)
        return "failed"
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code == 421:
            way.drop()  # the server is closing this connection; the next row reconnects
        if 400 <= exc.smtp_code < 500:
            return _retry(row, owner, at, _describe(exc))
        _finish(row, owner, status="failed", attempts=row.attempts + 1, last_error=_describe(exc))
        return "failed"
    except smtplib.SMTPNotSupportedError as exc:  # e.g. a non-ASCII address and no SMTPUTF8: said before sending
        return _fail(row, owner, f"the mail server cannot take this message: {_describe(exc)}")
    except (smtplib.SMTPException, OSError):
        raise  # the connection's trouble, not the message's: the batch decides
    except Exception as exc:  # the message could not be serialised (an unencodable header, …)
        return _fail(row, owner, f"cannot send the message: {_describe(exc)}")
    _finish(
        row,
        owner,
        status="sent",
        attempts=row.attempts + 1,
        sent_at=clock.now(),
        last_error=None,
        refused_recipients=({a: [c, m.decode(errors="replace")] for a, (c, m) in refused.items()} or None),
    )
    return "sent"


def deliver_outbox(at: datetime | None = None, batch_size: int = 100, lease: timedelta = LEASE) -> dict:
    """Send every due message, a batch per connection; returns counts by outcome."""
    way = transport()
    if way is None:
        return {"not_configured": "set MAIL_URL or MAIL_DIR"}
    owner = "wrk_" + secrets.token_hex(8)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    while True:
        when = at or clock.now()
        rows = claim(owner, when, batch_size, lease)
        if not rows:
            break
        broken = _deliver_batch(way, rows, owner, when, counts)
        if broken or len(rows) < batch_size:
            break
    return counts


def _deliver_batch(way, rows, owner, at, counts) -> bool:
    """Send a batch on one connection; returns True when the connection could not be used."""
    try:
        for index, row in enumerate(rows):
            try:
                way.ensure_open()
                counts[send_one(way, row, owner, at)] += 1
            except (ConnectionTrouble, smtplib.SMTPException, OSError) as exc:
                # No usable connection (refused, timed out, dropped): this row may or may
                # not have reached the server, and the rest cannot go now. All wait and
                # retry; a duplicate, if any, carries the same Message-ID.
                way.drop()
                error = _describe(exc)
                log.warning("mail transport failed: %s", error)
                db.session.rollback()
                for rest in rows[index:]:
                    counts[_retry(rest, owner, at, error)] += 1
                return True
            except Exception as exc:  # a bug met while handling this row: it alone stops, the others go on
                log.exception("delivering message %s failed", row.id)
                db.session.rollback()
                counts[_fail(row, owner, f"unexpected error: {_describe(exc)}")] += 1
        return False
    finally:
        way.close()
