"""Rendering a message: the templates, the subjects, and money and times as a person reads them.

A participant's message speaks of their own enrolment, in their own zone; a subject names
the program only by its calendar title, and a staff message names no participant in its
subject. Nothing here writes a row: outbox.py adds what is rendered to a transaction.
"""

import base64
import secrets
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..foundation import clock
from ..foundation.database import new_id
from ..foundation.links import join_url, manage_url, public_url
from ..foundation.money import format_money
from .models import OutboxMessage, OutboxStatus

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

# Subjects name the program only by its calendar_title ("Group session"): a subject
# shows on lock screens and in shared inboxes, so it never says what the group treats.
SUBJECTS = {
    "enrolment_received": "Your place is held until {hold_deadline}: how to pay",
    "enrolment_confirmed": "You're enrolled, first session {first_session}",
    "waitlisted": "You're on the waitlist (number {position})",
    "seat_offered": "A place is free for you: reply by {offer_deadline}",
    "hold_expired": "Your held place has lapsed",
    "offer_expired": "The place offered to you has lapsed",
    "withdrawn": "{withdrawn_subject}",
    "transferred": "Your group has changed, first session {first_session}",
    "cohort_cancelled": "Cancelled: your group will not run",
    "session_changed": "Changed: the session on {session_date}",
    "session_cancelled": "Cancelled: the session on {session_date}",
    "reminder": "Reminder: {session_when}",
    "refund_paid": "Your refund has been paid",
    "already_enrolled": "You are already enrolled or waiting",
    "individual_scheduled": "Your individual sessions, the first on {first_when}",
    "individual_moved": "Moved: your individual session of {was_when}",
    "individual_cancelled": "Cancelled: your individual session of {was_when}",
    "individual_reminder": "Reminder: your individual session, {now_when}",
}

# The email that answers a public request ("check your email") has one subject whatever
# happened, without the group's title: the outcome is inside, behind the personal link.
ANSWER_SUBJECT = "Your personal link"

SUBJECT_MAX = OutboxMessage.__table__.c.subject.type.length
_PART_MAX = 60  # a long title or clinic name is shortened to this before the message's own words


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def fit_subject(specific: str, title: str, clinic: str) -> str:
    """ "<what happened> · <calendar title> · <clinic>", within the column's length.

    What happened comes first and is kept whole when it can be; a long title or
    clinic name gives way first (a 200-character title would otherwise overflow
    PostgreSQL's varchar and fail the request that wrote the message).
    """
    full = f"{specific} · {title} · {clinic}"
    if len(full) <= SUBJECT_MAX:
        return full
    return _shorten(f"{specific} · {_shorten(title, _PART_MAX)} · {_shorten(clinic, _PART_MAX)}", SUBJECT_MAX)


def local_zone(enrolment) -> ZoneInfo:
    """The participant's own zone when they gave one, else the cohort's."""
    return ZoneInfo(enrolment.timezone or enrolment.cohort.timezone)


def format_when(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local:%A, %B} {local.day}, {local.year} at {local:%-I:%M %p} {local:%Z}"


def new_message_id() -> str:
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "scheduler.invalid"
    # Random, not the row id: a Message-ID travels to mail providers and must not be guessable.
    return f"<{secrets.token_hex(16)}@{domain}>"


def _context(enrolment, **extra) -> dict:
    cohort = enrolment.cohort
    zone = local_zone(enrolment)
    sessions = [
        {
            "number": s.number,
            "title": s.title,
            "when": format_when(s.starts_at, zone),
            "cancelled": s.status == "cancelled",
        }
        for s in cohort.sessions
    ]
    scheduled = [s for s in cohort.sessions if s.status == "scheduled"]
    context = {
        "clinic": current_app.config["CLINIC_NAME"],
        "title": cohort.program.calendar_title,
        "name": enrolment.name,
        "timezone": str(zone),
        "sessions": sessions,
        "first_session": format_when(scheduled[0].starts_at, zone) if scheduled else "",
        # The person's own join link, never the cohort's raw meeting link (which outlives a
        # withdrawal and can be forwarded); the templates call it meeting_url.
        "meeting_url": join_url(enrolment),
        "manage_url": manage_url(enrolment),
        "price": format_money(enrolment.amount_due, cohort.currency),
        "format_when": lambda instant: format_when(instant, zone),
        "format_money": format_money,
    }
    context.update(extra)
    return context


def render_columns(enrolment, kind: str, *, session=None, attachments=None, **extra) -> dict:
    """The columns of an outbox row for `kind`, for this enrolment's person only (without its bytes)."""
    zone = local_zone(enrolment)
    if session is not None:
        extra.update(
            session=session,
            session_when=format_when(session.starts_at, zone),
            session_date=f"{session.starts_at.astimezone(zone):%a %b} {session.starts_at.astimezone(zone).day}",
        )
    context = _context(enrolment, kind=kind, **extra)
    if context.get("answers_request"):
        subject = ANSWER_SUBJECT
        full_subject = _shorten(f"{subject} · {context['clinic']}", SUBJECT_MAX)
    else:
        subject = SUBJECTS[kind].format(**{k: v for k, v in context.items() if isinstance(v, (str, int))})
        full_subject = fit_subject(subject, context["title"], context["clinic"])
    context["subject"] = subject
    values = {
        "id": new_id("msg"),
        "enrolment_id": enrolment.id,
        "session_id": session.id if session is not None else None,
        "kind": kind,
        "message_id": new_message_id(),
        "from_address": current_app.config["MAIL_FROM"],
        "to_address": enrolment.email,
        "subject": full_subject,
        "body_text": _env.get_template(f"{kind}.txt").render(context),
        "body_html": _env.get_template(f"{kind}.html").render(context),
        "attachments": [
            {"filename": name, "content_type": ctype, "content": base64.b64encode(data).decode()}
            for name, ctype, data in (attachments or [])
        ],
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": clock.now(),
        "created_at": clock.now(),
    }
    return values


# Subjects of messages to staff: no participant name, no program name (lock screens again).
STAFF_SUBJECTS = {
    "attendance_flag": "Attendance follow-up needed",
    "sign_in_link": "Your sign-in link",
}


def render_to_staff(member, kind: str, **extra) -> dict:
    """The subject and bodies of message `kind` for one staff member."""
    context = {
        "clinic": current_app.config["CLINIC_NAME"],
        "staff_name": member.name,
        "kind": kind,
        "public_url": public_url,
        **extra,
    }
    subject = STAFF_SUBJECTS[kind].format(**{k: v for k, v in context.items() if isinstance(v, (str, int))})
    context["subject"] = subject
    return {
        "subject": f"{subject} · {context['clinic']}",
        "body_text": _env.get_template(f"{kind}.txt").render(context),
        "body_html": _env.get_template(f"{kind}.html").render(context),
    }


def render_to_address(email: str, name: str, kind: str, *, subject: str | None = None, **extra) -> dict:
    """The subject and bodies of message `kind` for an address with no enrolment (a refused
    request, an intake).

    Most answer a public request, so their subject is the one every answer has; `subject`
    gives another, which names no program either.
    """
    context = {"clinic": current_app.config["CLINIC_NAME"], "name": name, "kind": kind, "manage_url": None, **extra}
    context["subject"] = subject or ANSWER_SUBJECT
    return {
        "subject": _shorten(f"{context['subject']} · {context['clinic']}", SUBJECT_MAX),
        "body_text": _env.get_template(f"{kind}.txt").render(context),
        "body_html": _env.get_template(f"{kind}.html").render(context),
    }
