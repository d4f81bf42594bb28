"""A message's bytes: built once from its row's columns, when the row is written.

Building a MIME message with the standard `email` package costs a few milliseconds
(header parsing and folding); sending prebuilt bytes costs a fraction of that. So
the outbox stores, beside the columns, the exact bytes smtplib would put on the
wire (`mime`) and a digest of the columns they were built from (`mime_digest`).
The sender uses the stored bytes only while the digest still matches the row: a
row whose columns were changed by anything that did not rebuild them (an edit, an
erasure, a row written by hand) is built again at send time, from the columns.

Nothing here depends on when it runs: Date is the row's created_at, Message-ID its
own, and the multipart boundaries come from the Message-ID, so a message built
when written and one built when sent are the same bytes (tests/integration/
test_mail_prerendered.py). A retry sends the same bytes too.
"""

import base64
import hashlib
import io
import json
from email.generator import BytesGenerator
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime
from types import SimpleNamespace

# The columns a message is built from; any change to one of them changes the digest.
CONTENT = (
    "message_id",
    "created_at",
    "from_address",
    "to_address",
    "subject",
    "body_text",
    "body_html",
    "attachments",
)


def build_email(row) -> EmailMessage:
    """The MIME message of a row: text, HTML alternative, attachments; one recipient."""
    msg = EmailMessage()
    msg["Message-ID"] = row.message_id
    msg["Date"] = format_datetime(row.created_at)
    msg["From"] = row.from_address
    msg["To"] = row.to_address
    _set_subject(msg, row.subject)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row.body_text)
    msg.add_alternative(row.body_html, subtype="html")
    for item in row.attachments or []:
        maintype, _, subtype = item["content_type"].partition("/")
        msg.add_attachment(
            base64.b64decode(item["content"]), maintype=maintype, subtype=subtype, filename=item["filename"]
        )
    _fix_boundaries(msg, row)
    return msg


def _set_subject(msg: EmailMessage, subject: str) -> None:
    """The Subject header, encoded by email.header when it is not ASCII (every subject has its " · ").

    The email package's own folding of a long non-ASCII subject can lose the space between two
    encoded words and double the one before a fold ("CDT  ·Sesión de grupo"): a Spanish subject
    met it most of the time. Header() encodes and folds the whole text, which reads back as written.
    """
    if subject.isascii():
        msg["Subject"] = subject
    else:
        msg.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())


def _fix_boundaries(msg: EmailMessage, row) -> None:
    # The generator would pick random boundaries; these depend on the Message-ID only
    # (never on a clock or a counter), and are checked against the text they separate.
    seed = hashlib.sha256(row.message_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    texts = (row.body_text, row.body_html)
    for number, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        boundary = f"=_{seed}_{number}"
        while any(boundary in text for text in texts):
            boundary += "_"
        part.set_boundary(boundary)


def wire_bytes(msg: EmailMessage) -> bytes:
    """The bytes smtplib's send_message() sends for this message (ASCII envelope, CRLF)."""
    out = io.BytesIO()
    BytesGenerator(out).flatten(msg, linesep="\r\n")
    return out.getvalue()


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def digest(row) -> str:
    """A fingerprint of the columns the message is built from.

    Each column's UTF-8 bytes behind their length (None as a byte no UTF-8 text has):
    checked for every message as it is sent, so kept cheap (a JSON encoding of the
    bodies cost five times the hash). A row stored with a digest of another form is
    built again when sent, to the same bytes.
    """
    fingerprint = hashlib.sha256(b"outbox-v2")
    for name in CONTENT:
        value = getattr(row, name)
        if name == "created_at":
            value = value.isoformat()
        elif name == "attachments":
            value = _json(value)
        data = b"\xff" if value is None else value.encode("utf-8", "surrogatepass")
        fingerprint.update(b"%d:" % len(data))
        fingerprint.update(data)
    return fingerprint.hexdigest()


def prebuilt(values: dict) -> dict:
    """`mime` and `mime_digest` for the columns of a new or changed row (to store beside them).

    Left empty (built again when sent) where the stored bytes could not be sent as they
    are: an address that needs SMTPUTF8 is sent through send_message(), and a message
    that cannot be built at all fails when its turn comes, with the reason on its row.
    """
    row = SimpleNamespace(**{name: values.get(name) for name in CONTENT})
    try:
        if not (row.from_address.isascii() and row.to_address.isascii()):
            return {"mime": None, "mime_digest": None}
        return {"mime": wire_bytes(build_email(row)), "mime_digest": digest(row)}
    except Exception:  # the sender meets the same fault and records it on the row
        return {"mime": None, "mime_digest": None}


def rebuild(row) -> None:
    """Store fresh bytes for a row whose columns were just set or changed."""
    values = prebuilt({name: getattr(row, name) for name in CONTENT})
    row.mime, row.mime_digest = values["mime"], values["mime_digest"]


def stored_bytes(row) -> bytes | None:
    """The row's prebuilt bytes, if they are still those of its columns; else None."""
    if not row.mime or not row.mime_digest:
        return None
    try:
        return bytes(row.mime) if row.mime_digest == digest(row) else None
    except Exception:
        return None
