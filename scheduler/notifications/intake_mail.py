"""Emails about intakes (admission): the request's answer and the outcome, to the person's address.

An intake is no enrolment: its messages go to the address (queue_to_address), each with the
person's intake link. Subjects never name the program: the answer has the one answer subject,
the outcome a neutral one.
"""

from ..admission import events
from ..admission.models import IntakeStatus
from ..foundation.links import intake_url, public_url
from .models import MessageKind as K
from .outbox import queue_to_address

OUTCOME_SUBJECT = "News about your request"


def intake_answered(event: events.IntakeAnswered) -> None:
    intake = event.intake
    queue_to_address(
        intake.email,
        intake.name,
        K.INTAKE_LINK,
        title=intake.program.calendar_title,
        intake_url=intake_url(intake),
        again=event.again,
        asked=event.asked,
    )


def intake_refused(event: events.IntakeRefused) -> None:
    queue_to_address(
        event.email,
        event.name,
        K.REQUEST_REFUSED,
        title=event.program.calendar_title,
        reason=event.reason,
        cohort_url=public_url("/"),
    )


def outcome_recorded(event: events.OutcomeRecorded) -> None:
    intake = event.intake
    queue_to_address(
        intake.email,
        intake.name,
        K.INTAKE_OUTCOME,
        subject=OUTCOME_SUBJECT,
        title=intake.program.calendar_title,
        intake_url=intake_url(intake),
        approved=intake.status == IntakeStatus.APPROVED,
        message=intake.outcome_message,
    )
