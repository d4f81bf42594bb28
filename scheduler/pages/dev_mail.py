"""The development mailbox: `GET /dev/mail` lists the .eml files the file transport wrote.

With no MAIL_URL, the worker writes each message to MAIL_DIR (instance/mail/ under `make
run`) as `<created>-<kind>-<row id>.eml` (notifications/transports.py, FileTransport). These
pages show them, newest first, with every link in the text clickable, so that a newcomer
opens an emailed link in one click.

They exist only in development (the config's PRODUCTION is False: SCHEDULER_ENV=development,
as `make run` sets, or no DATABASE_URL) while mail goes to files (no MAIL_URL, a MAIL_DIR).
Anywhere else, the test suite's configuration included, the blueprint is never registered:
/dev/mail and everything under it is 404 exactly as an unknown address is. The pages show
personal links, so they are never stored and never indexed. Nothing of an email's HTML is
ever rendered: the text part is escaped, then its http(s) URLs are made links.
"""

import os
import re
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, render_template, url_for
from markupsafe import Markup, escape

from ..foundation.security import private
from .views import PUBLIC_PAGE, page

bp = Blueprint("dev_mail", __name__)

SUFFIX = ".eml"
LIMIT = 200  # the newest this many are listed
URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
CLOSING = {")": "(", "]": "[", "}": "{"}
_parser = BytesParser(policy=policy.default)


def mail_folder(config) -> Path | None:
    """Where mail is written, when the mailbox may be shown: development, and mail to files; else None.

    `is False`, not falsiness: only settings read from the environment say PRODUCTION at all, so a
    configuration built by hand (the tests' for_tests()) without it never shows the mailbox.
    """
    if config.get("PRODUCTION") is not False or config.get("MAIL_URL") or not config.get("MAIL_DIR"):
        return None
    return Path(config["MAIL_DIR"])


def init_app(app: Flask) -> None:
    """Register /dev/mail only where it may exist; elsewhere there is no such route at all."""
    if mail_folder(app.config) is not None:
        app.register_blueprint(bp)


def _folder() -> Path:
    folder = mail_folder(current_app.config)
    if folder is None:  # the settings changed after start: answer as an unknown address does
        abort(404)
    return folder


def _is_message_name(name: str) -> bool:
    return (
        name.endswith(SUFFIX)
        and len(name) > len(SUFFIX)
        and not name.startswith(".")
        and not any(bad in name for bad in ("/", "\\", "..", "\x00"))
    )


def _files(folder: Path) -> list[tuple[float, str]]:
    """(modification time, name) of every message file, newest first (then by name, last first)."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []  # nothing sent yet: the worker makes the folder when it writes the first message
    files = []
    for entry in entries:
        if not _is_message_name(entry.name):
            continue
        try:
            if entry.is_file():
                files.append((entry.stat().st_mtime, entry.name))
        except FileNotFoundError:  # deleted meanwhile (an erasure deletes a person's mail files)
            continue
    files.sort(reverse=True)
    return files


def _header(msg: EmailMessage, name: str) -> str:
    """A header decoded (RFC 2047 words included), or as written if it cannot be parsed."""
    try:
        value = msg[name]
    except Exception:  # a header the parser trips over: its raw text is better than no page
        value = next((raw for key, raw in msg.raw_items() if key.lower() == name.lower()), None)
    return "" if value is None else " ".join(str(value).split())


def _written(mtime: float) -> dict:
    moment = datetime.fromtimestamp(mtime).astimezone()
    return {"iso": moment.isoformat(timespec="seconds"), "text": moment.strftime("%Y-%m-%d %H:%M:%S")}


def _read(path: Path, headers_only: bool) -> EmailMessage:
    with path.open("rb") as file:
        return _parser.parse(file, headersonly=headers_only)


def _trim(url: str) -> str:
    """A URL without the sentence's punctuation after it (a closing bracket it opened stays)."""
    while url:
        last = url[-1]
        if last in ".,;:!?" or (last in CLOSING and url.count(last) > url.count(CLOSING[last])):
            url = url[:-1]
        else:
            break
    return url


def linkify(text: str) -> Markup:
    """The text HTML-escaped, with each http(s) URL in it a link to itself."""
    parts, position = [], 0
    for match in URL.finditer(text):
        url = _trim(match.group(0))
        if not urlsplit(url).netloc:
            continue
        start = match.start()
        parts.append(escape(text[position:start]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        position = start + len(url)
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


def _plain_text(msg: EmailMessage) -> str | None:
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        return None
    try:
        text = part.get_content()
    except Exception:  # an unknown charset or a broken encoding: show what can be read
        text = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n")


def _html(template: str, status: int = 200, **context) -> Response:
    return private(Response(render_template(template, **context), status=status, mimetype="text/html"))


@bp.get("/dev/mail", strict_slashes=False)
@page(PUBLIC_PAGE)
def mailbox():
    """The messages written to MAIL_DIR, newest first."""
    folder = _folder()
    files = _files(folder)
    messages = []
    for mtime, name in files[:LIMIT]:
        try:
            msg = _read(folder / name, headers_only=True)
        except FileNotFoundError:
            continue
        messages.append(
            {
                "name": name,
                "url": url_for("dev_mail.message", name=name),
                "to": _header(msg, "To"),
                "subject": _header(msg, "Subject"),
                "written": _written(mtime),
            }
        )
    return _html("pages/dev_mail.html", folder=str(folder), messages=messages, total=len(files), limit=LIMIT)


@bp.get("/dev/mail/<path:name>")
@page(PUBLIC_PAGE)
def message(name):
    """One message: its headers, and its text with the links clickable."""
    folder = _folder()
    # Only a name the folder lists is opened: never a path built from what the address says.
    if not _is_message_name(name) or name not in {file_name for _, file_name in _files(folder)}:
        return _not_found()
    try:
        msg = _read(folder / name, headers_only=False)
        mtime = (folder / name).stat().st_mtime
    except FileNotFoundError:
        return _not_found()
    text = _plain_text(msg)
    return _html(
        "pages/dev_mail_message.html",
        name=name,
        sender=_header(msg, "From"),
        to=_header(msg, "To"),
        subject=_header(msg, "Subject"),
        date=_header(msg, "Date"),
        written=_written(mtime),
        body=None if text is None else linkify(text),
    )


def _not_found() -> Response:
    return _html(
        "pages/error.html",
        status=404,
        heading="There is no such message",
        text="It may have been deleted (erasing a person deletes their mail files), or the address is mistyped. "
        "The development mailbox at /dev/mail lists every message written.",
        participant=False,
    )
