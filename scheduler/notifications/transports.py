"""The ways out for a message: an SMTP connection (MAIL_URL) or .eml files (MAIL_DIR).

Each takes a row and what to send: its prebuilt bytes (notifications/mime.py) or, for a
row without usable ones, the message built from its columns at send time.
"""

import functools
import os
import re
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app

SMTP_TIMEOUT = 30  # seconds, per socket operation
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class MailConfigError(Exception):
    """MAIL_URL cannot be used as given."""


class ConnectionTrouble(Exception):
    """Could not connect, secure or log in to the mail server: not the message's fault."""


def describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}"


class FileTransport:
    """No MAIL_URL: each message becomes an .eml file (named by its row, so a retry overwrites)."""

    def __init__(self, directory: str):
        self.directory = Path(directory)

    def ensure_open(self):
        self.directory.mkdir(parents=True, exist_ok=True)

    def drop(self):
        pass

    def send(self, row, msg: bytes | EmailMessage) -> dict:
        name = f"{row.created_at:%Y%m%d-%H%M%S}-{row.kind}-{row.id}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(msg if isinstance(msg, bytes) else msg.as_bytes())
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
    """One SMTP connection, opened lazily and reused for every batch of a pass.

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
                raise ConnectionTrouble(describe(exc)) from exc

    def _open(self):
        if self.scheme == "smtps":
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            conn.ehlo()
            if self.scheme == "smtp":
                if conn.has_extn("starttls"):
                    # Made only when needed: loading the system's CA certificates takes ~20 ms.
                    conn.starttls(context=ssl.create_default_context())
                    conn.ehlo()
                elif self.host not in LOOPBACK:
                    raise MailConfigError(f"{self.host} does not offer STARTTLS; use smtps:// or a relay that does")
            if self.user:
                conn.login(self.user, self.password)
        except BaseException:
            conn.close()
            raise
        self.conn = conn

    def send(self, row, msg: bytes | EmailMessage) -> dict:
        envelope_from = _envelope_address(row.from_address)
        # Exactly one recipient: the participant. No Cc, no Bcc, ever.
        if isinstance(msg, bytes):  # prebuilt: exactly what send_message() would have sent (mime.py)
            if self.conn.has_extn("pipelining"):
                return pipelined_sendmail(self.conn, envelope_from, row.to_address, msg)
            return self.conn.sendmail(envelope_from, [row.to_address], msg)
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


def pipelined_sendmail(conn: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> dict:
    """smtplib's sendmail() for one recipient, with MAIL, RCPT and DATA sent together (RFC 2920).

    Two round trips per message instead of four, for a server that offers PIPELINING.
    The same commands, bytes, replies and exceptions as sendmail(): a refusal raises
    SMTPSenderRefused, SMTPRecipientsRefused or SMTPDataError, and the transaction is
    reset (or the connection closed after a 421), so the next message starts clean.
    """
    size = f" size={len(data)}" if conn.has_extn("size") else ""
    commands = f"mail FROM:{_quoted(sender)}{size}\r\nrcpt TO:{quoteaddr(recipient)}\r\ndata\r\n"
    if commands.count("\r") != 3 or commands.count("\n") != 3:  # putcmd()'s own check, for the whole group
        raise ValueError("command and arguments contain prohibited newline characters")
    conn.send(commands)
    mail, rcpt, start = conn.getreply(), conn.getreply(), conn.getreply()
    if start[0] == 354 and (mail[0] != 250 or rcpt[0] not in (250, 251)):
        conn.close()  # a server that takes DATA without a sender or recipient: end it without sending anything
    try:
        if mail[0] != 250:
            raise smtplib.SMTPSenderRefused(*mail, sender)
        if rcpt[0] not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
        if start[0] != 354:
            raise smtplib.SMTPDataError(*start)
        quoted = smtplib._quote_periods(data)
        conn.send(quoted + (b".\r\n" if quoted.endswith(b"\r\n") else b"\r\n.\r\n"))
        done = conn.getreply()
        if done[0] != 250:
            raise smtplib.SMTPDataError(*done)
    except smtplib.SMTPResponseException as exc:
        _after_refusal(conn, exc.smtp_code)
        raise
    except smtplib.SMTPRecipientsRefused:
        _after_refusal(conn, rcpt[0])
        raise
    return {}


# A plain address (dot-separated atoms of letters, digits, _ + -): quoteaddr() returns it in
# angle brackets as it is, and parsing it to find that out costs more than the rest of a send.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def quoteaddr(address: str) -> str:
    """smtplib.quoteaddr(address), without parsing an address that is plainly plain."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address)


_quoted = functools.lru_cache(maxsize=64)(quoteaddr)  # the envelope sender: the same for nearly every row


def _after_refusal(conn: smtplib.SMTP, code: int) -> None:
    # As sendmail(): the server is closing after a 421; otherwise reset the transaction.
    if code == 421 or conn.sock is None:
        conn.close()
        return
    try:
        conn.rset()
    except smtplib.SMTPServerDisconnected:
        pass


@functools.lru_cache(maxsize=64)
def _envelope_address(header: str) -> str:
    return parseaddr(header)[1]  # the same MAIL_FROM for nearly every row: parsed once


def transport():
    """The configured way out: SMTP from MAIL_URL, else files under MAIL_DIR, else None."""
    config = current_app.config
    if config.get("MAIL_URL"):
        return SmtpTransport(config["MAIL_URL"], config["MAIL_TIMEOUT"])
    if config.get("MAIL_DIR"):
        return FileTransport(config["MAIL_DIR"])
    return None
