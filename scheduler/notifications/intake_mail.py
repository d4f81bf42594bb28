"""Emails about intakes (admission): the request's answer and the outcome, to the person's address.

An intake is no enrolment: its messages go to the address (queue_to_address), each with the
person's intake link, in the language the person chose (the intake's `locale`). Subjects never
name the program: the answer has the one answer subject, the outcome a neutral one.
"""

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select, update

from ..admission import events
from ..admission.booking import zone_of
from ..admission.models import Intake, IntakeStatus
from ..appointments.models import Appointment, AppointmentStatus
from ..foundation import clock, i18n
from ..foundation.database import write_transaction
from ..foundation.extensions import db
from ..foundation.links import intake_subscribe_links, intake_url, join_url, public_url
from .models import MessageKind as K
from .models import OutboxMessage, OutboxStatus
from .outbox import queue_to_address
from .rendering import format_when, in_their_language
from .wording import REFUSALS

OUTCOME_SUBJECT = lazy_gettext("News about your request")


def _when(appointment, intake) -> str:
    return format_when(appointment.starts_at, zone_of(intake))


_in_their_language = in_their_language(lambda event: event.intake.locale)


@_in_their_language
def assessment_booked(event: events.AssessmentBooked) -> None:
    intake, appointment = event.intake, event.appointment
    if event.previous is not None:
        skip_reminder(event.previous)
    when = _when(appointment, intake)
    queue_to_address(
        intake.email,
        intake.name,
        K.ASSESSMENT_BOOKED,
        subject=gettext("Your appointment on %(when)s", when=when),
        locale=intake.locale,
        when=when,
        minutes=int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        join_url=join_url(appointment),
        intake_url=intake_url(intake),
        cancel_hours=intake.program.assessment_cancel_hours,
        changed=event.changed,
        # The person's appointment feed (one per intake): a move or a cancellation follows by itself.
        **intake_subscribe_links(intake),
    )


@_in_their_language
def assessment_cancelled(event: events.AssessmentCancelled) -> None:
    intake = event.intake
    skip_reminder(event.appointment)
    when = _when(event.appointment, intake)
    queue_to_address(
        intake.email,
        intake.name,
        K.ASSESSMENT_CANCELLED,
        subject=gettext("Your appointment is cancelled"),
        locale=intake.locale,
        when=when,
        intake_url=intake_url(intake),
        by_staff=event.by_staff,
    )


@_in_their_language
def intake_answered(event: events.IntakeAnswered) -> None:
    intake = event.intake
    queue_to_address(
        intake.email,
        intake.name,
        K.INTAKE_LINK,
        locale=intake.locale,
        intake_url=intake_url(intake),
        again=event.again,
        asked=event.asked,
    )


def intake_refused(event: events.IntakeRefused) -> None:
    queue_to_address(
        event.email,
        event.name,
        K.REQUEST_REFUSED,
        locale=event.locale,
        reason=REFUSALS[event.reason],
        cohort_url=public_url("/"),
    )


@_in_their_language
def outcome_recorded(event: events.OutcomeRecorded) -> None:
    intake = event.intake
    queue_to_address(
        intake.email,
        intake.name,
        K.INTAKE_OUTCOME,
        subject=str(OUTCOME_SUBJECT),
        locale=intake.locale,
        intake_url=intake_url(intake),
        approved=intake.status == IntakeStatus.APPROVED,
        message=intake.outcome_message,
    )


def assessment_reminders(at: datetime | None = None) -> int:
    """A reminder for each booked assessment starting within REMINDER_HOURS, once per appointment
    (its dedupe key; a second worker's insert of the same key fails and is left out)."""
    at = at or clock.now()
    until = at + timedelta(hours=current_app.config["REMINDER_HOURS"])
    written = 0
    with write_transaction():
        due = db.session.execute(
            select(Appointment, Intake)
            .join(Intake, Intake.id == Appointment.intake_id)
            .where(
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.starts_at > at,
                Appointment.starts_at <= until,
            )
            .order_by(Appointment.starts_at)
        ).all()
        keys = {f"reminder:{appointment.id}": (appointment, intake) for appointment, intake in due}
        if not keys:
            return 0
        sent = set(db.session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(keys)))))
        for key, (appointment, intake) in keys.items():
            if key in sent:
                continue
            with i18n.speaking(intake.locale):
                when = _when(appointment, intake)
                subject = gettext("Reminder: your appointment on %(when)s", when=when)
            queue_to_address(
                intake.email,
                intake.name,
                K.ASSESSMENT_REMINDER,
                subject=subject,
                locale=intake.locale,
                when=when,
                join_url=join_url(appointment),
                intake_url=intake_url(intake),
            ).dedupe_key = key
            written += 1
    return written


def skip_reminder(appointment) -> None:
    """A cancelled or moved appointment's reminder, not yet sent, is not sent."""
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.dedupe_key == f"reminder:{appointment.id}",
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.SKIPPED, last_error="not sent: the appointment was cancelled or moved")
    )
