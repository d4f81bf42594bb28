"""Rendering a message: the templates, the subjects, and money and times as a person reads them.

A participant's message speaks of their own enrolment, in their own zone and their own language
(the enrolment's `locale`, English or Spanish: each is rendered under i18n.speaking, so the
templates' _(), the subjects, dates and money follow it); a subject names the program only by
its calendar title, and a staff message names no participant in its subject and speaks the
language the member chose for the console. Nothing here writes a row: outbox.py adds what is rendered to a transaction.
"""

import base64
import secrets
from datetime import datetime
from email.utils import parseaddr
from functools import wraps
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import current_app
from flask_babel import get_translations, lazy_gettext
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..foundation import clock, i18n
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
    extensions=["jinja2.ext.i18n"],
)
# _("... %(name)s", name=...) and ngettext(…) in the templates, in the language the message is
# rendered under; Jinja fills the placeholders (escaped in HTML), so the callables only translate.
_env.install_gettext_callables(
    lambda message: get_translations().ugettext(message),
    lambda singular, plural, n: get_translations().ungettext(singular, plural, n),
    newstyle=True,
)
# A value in bold inside a translated sentence of an HTML part: _("by %(when)s", when=deadline|strong).
_env.filters["strong"] = lambda value: Markup("<strong>%s</strong>") % value
_env.globals["message_language"] = i18n.page_language  # <html lang> of an HTML part


# Subjects name the program only by its calendar_title ("Group session"): a subject
# shows on lock screens and in shared inboxes, so it never says what the group treats.
# Translated when rendered, in the reader's language.
SUBJECTS = {
    "enrolment_received": lazy_gettext("Your place is held until %(hold_deadline)s: how to pay"),
    "enrolment_confirmed": lazy_gettext("You're enrolled, first session %(first_session)s"),
    "waitlisted": lazy_gettext("You're on the waitlist (number %(position)s)"),
    "seat_offered": lazy_gettext("A place is free for you: reply by %(offer_deadline)s"),
    "hold_expired": lazy_gettext("Your held place has lapsed"),
    "offer_expired": lazy_gettext("The place offered to you has lapsed"),
    "withdrawn": lazy_gettext("You have withdrawn"),
    "transferred": lazy_gettext("Your group has changed, first session %(first_session)s"),
    "cohort_cancelled": lazy_gettext("Cancelled: your group will not run"),
    "session_changed": lazy_gettext("Changed: the session on %(session_date)s"),
    "session_cancelled": lazy_gettext("Cancelled: the session on %(session_date)s"),
    "reminder": lazy_gettext("Reminder: %(session_when)s"),
    "refund_paid": lazy_gettext("Your refund has been paid"),
    "already_enrolled": lazy_gettext("You are already enrolled or waiting"),
    "individual_scheduled": lazy_gettext("Your individual sessions, the first on %(first_when)s"),
    "individual_moved": lazy_gettext("Moved: your individual session of %(was_when)s"),
    "individual_cancelled": lazy_gettext("Cancelled: your individual session of %(was_when)s"),
    "individual_reminder": lazy_gettext("Reminder: your individual session, %(now_when)s"),
}
# A declined offer or a left waitlist is no withdrawal from a seat: its subject says which.
NO_LONGER_WAITING = lazy_gettext("You are no longer waiting for a place")

# The email that answers a public request ("check your email") has one subject whatever
# happened, without the group's title: the outcome is inside, behind the personal link.
ANSWER_SUBJECT = lazy_gettext("Your personal link")

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


def in_their_language(locale_of):
    """A handler's decorator: run it in its person's language (`locale_of(event)`: their enrolment's or
    intake's `locale`), so that the dates, amounts and words it writes read as the rest of the message."""

    def decorate(handler):
        @wraps(handler)
        def handle(event) -> None:
            with i18n.speaking(locale_of(event)):
                handler(event)

        return handle

    return decorate


def format_when(instant: datetime, zone: ZoneInfo) -> str:
    """An instant in words, in the language being written: Thursday, October 3, 2030 at 6:00 PM EDT /
    jueves, 3 de octubre de 2030 a las 18:00 EDT (a la 1:30 EDT)."""
    return i18n.when_text(instant.astimezone(zone))


_SHORT_DAY = {"en": "EEE MMM d"}  # Thu Oct 3; jue 3 oct


def format_day(instant: datetime, zone: ZoneInfo) -> str:
    """A day in a subject, short: Thu Oct 3 / jue 3 oct."""
    language = i18n.page_language()
    return format_date(instant.astimezone(zone), _SHORT_DAY.get(language, "EEE d MMM"), locale=language)


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
        "title": i18n.shown_title(cohort.program.calendar_title),
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
    """The columns of an outbox row for `kind`, for this enrolment's person only (without its bytes),
    in their language."""
    with i18n.speaking(enrolment.locale):
        return _columns(enrolment, kind, session=session, attachments=attachments, **extra)


def _subject(kind: str, context: dict) -> str:
    if kind == "withdrawn" and not context.get("had_seat", True):
        return str(NO_LONGER_WAITING)
    return str(SUBJECTS[kind]) % {k: v for k, v in context.items() if isinstance(v, (str, int))}


def _columns(enrolment, kind: str, *, session=None, attachments=None, **extra) -> dict:
    zone = local_zone(enrolment)
    if session is not None:
        extra.update(
            session=session,
            session_when=format_when(session.starts_at, zone),
            session_date=format_day(session.starts_at, zone),
        )
    context = _context(enrolment, kind=kind, **extra)
    if context.get("answers_request"):
        subject = str(ANSWER_SUBJECT)
        full_subject = _shorten(f"{subject} · {context['clinic']}", SUBJECT_MAX)
    else:
        subject = _subject(kind, context)
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
    "attendance_flag": lazy_gettext("Attendance follow-up needed"),
    "sign_in_link": lazy_gettext("Your sign-in link"),
}


def render_to_staff(member, kind: str, **extra) -> dict:
    """The subject and bodies of message `kind` for one staff member, in the language they chose
    for the console (else the clinic's), whoever it is about."""
    with i18n.speaking(member.locale):
        return _to_staff(member, kind, **extra)


def _to_staff(member, kind: str, **extra) -> dict:
    context = {
        "clinic": current_app.config["CLINIC_NAME"],
        "staff_name": member.name,
        "kind": kind,
        "public_url": public_url,
        **extra,
    }
    subject = str(STAFF_SUBJECTS[kind])
    context["subject"] = subject
    return {
        "subject": f"{subject} · {context['clinic']}",
        "body_text": _env.get_template(f"{kind}.txt").render(context),
        "body_html": _env.get_template(f"{kind}.html").render(context),
    }


def render_to_address(
    email: str, name: str, kind: str, *, subject: str | None = None, locale: str | None = None, **extra
) -> dict:
    """The subject and bodies of message `kind` for an address with no enrolment (a refused
    request, an intake).

    Most answer a public request, so their subject is the one every answer has; `subject`
    gives another, which names no program either. `locale`: the person's language (an intake's).
    """
    with i18n.speaking(locale):
        return _to_address(name, kind, subject=subject, **extra)


def _to_address(name: str, kind: str, *, subject: str | None, **extra) -> dict:
    context = {"clinic": current_app.config["CLINIC_NAME"], "name": name, "kind": kind, "manage_url": None, **extra}
    context["subject"] = str(subject or ANSWER_SUBJECT)
    return {
        "subject": _shorten(f"{context['subject']} · {context['clinic']}", SUBJECT_MAX),
        "body_text": _env.get_template(f"{kind}.txt").render(context),
        "body_html": _env.get_template(f"{kind}.html").render(context),
    }
