"""Emails about individual sessions (the full programme): a new series, and a session moved or cancelled.

They go to the enrolment's person (queue), in their zone and language, with each session's personal
join link; subjects name no program and no therapist.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from ..appointments import events
from ..appointments.models import Appointment, AppointmentKind, AppointmentStatus
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..foundation import clock, i18n
from ..foundation.database import write_transaction
from ..foundation.extensions import db
from ..foundation.links import join_url
from .models import MessageKind as K
from .models import OutboxMessage, OutboxStatus
from .outbox import queue
from .rendering import format_when, in_their_language, local_zone


@in_their_language(lambda event: event.enrolment.locale)
def series_scheduled(event: events.SeriesScheduled) -> None:
    enrolment = event.enrolment
    zone = local_zone(enrolment)
    sessions = [
        {"number": a.number, "when": format_when(a.starts_at, zone), "join_url": join_url(a)}
        for a in event.appointments
    ]
    first = event.appointments[0]
    queue(
        enrolment,
        K.INDIVIDUAL_SCHEDULED,
        first_when=format_when(first.starts_at, zone),
        individual=sessions,
        therapist=first.staff.name,
        minutes=int((first.ends_at - first.starts_at).total_seconds() // 60),
    )


@in_their_language(lambda event: event.appointment.enrolment.locale)
def appointment_changed(event: events.AppointmentChanged) -> None:
    appointment = event.appointment
    skip_reminder(appointment)  # one not yet sent is for the time it had
    enrolment = appointment.enrolment
    zone = local_zone(enrolment)
    cancelled = appointment.status == AppointmentStatus.CANCELLED
    queue(
        enrolment,
        K.INDIVIDUAL_CANCELLED if cancelled else K.INDIVIDUAL_MOVED,
        was_when=format_when(event.was["starts_at"], zone),
        now_when=format_when(appointment.starts_at, zone),
        join_url=join_url(appointment),
        by_staff=event.by_staff,
    )


def individual_reminders(at: datetime | None = None) -> int:
    """A reminder for each booked individual session starting within REMINDER_HOURS, once per
    session at its current time (the dedupe key names both)."""
    at = at or clock.now()
    until = at + timedelta(hours=current_app.config["REMINDER_HOURS"])
    written = 0
    with write_transaction():
        due = db.session.scalars(
            select(Appointment)
            .join(Enrolment, Enrolment.id == Appointment.enrolment_id)
            .where(
                Appointment.kind == AppointmentKind.INDIVIDUAL,
                Appointment.status == AppointmentStatus.BOOKED,
                Enrolment.status == EnrolmentStatus.CONFIRMED,
                Appointment.starts_at > at,
                Appointment.starts_at <= until,
            )
            .order_by(Appointment.starts_at)
            .execution_options(populate_existing=True)  # the sequence as committed now
        ).all()
        keys = {f"reminder:{a.id}:{a.sequence}": a for a in due}
        if not keys:
            return 0
        sent = set(db.session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(keys)))))
        for key, appointment in keys.items():
            if key not in sent:
                enrolment = appointment.enrolment
                with i18n.speaking(enrolment.locale):
                    now_when = format_when(appointment.starts_at, local_zone(enrolment))
                link = join_url(appointment)
                queue(enrolment, K.INDIVIDUAL_REMINDER, dedupe_key=key, now_when=now_when, join_url=link)
                written += 1
    return written


def skip_reminder(appointment) -> None:
    """A moved or cancelled session's reminder, not yet sent, is not sent."""
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.dedupe_key.startswith(f"reminder:{appointment.id}:"),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.SKIPPED, last_error="not sent: the session was moved or cancelled")
    )
