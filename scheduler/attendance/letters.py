"""The attendance letter: the dates a person attended, as the clinic states them."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..enrolment.models import Enrolment
from ..foundation import clock
from ..foundation.errors import Conflict, NotFound
from ..foundation.extensions import db
from . import rule
from .records import summaries


def local_date(instant: datetime, zone: ZoneInfo) -> str:
    """A date as the letter (and the follow-up email) writes it: "Monday, March 3, 2025"."""
    local = instant.astimezone(zone)
    return f"{local:%A, %B} {local.day}, {local.year}"


@dataclass(frozen=True)
class Letter:
    """An attendance letter: who attended which sessions of which program, as the clinic states it."""

    enrolment: Enrolment
    program_name: str
    attended: list[str]  # local dates, oldest first
    sessions_held: int
    completed: bool | None
    issued_on: str


def attendance_letter(enrolment_id: str) -> Letter:
    """The letter listing the dates a person attended (409 while there is none to list)."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound("No such enrolment.")
    at = clock.now()
    summary = summaries([enrolment], at)[enrolment.id]
    zone = ZoneInfo(enrolment.cohort.timezone)
    dates = [local_date(mark.starts_at, zone) for mark in rule.attended(summary.marks)]
    if not dates:
        raise Conflict("No attended session is recorded for this enrolment yet; the letter lists the dates attended.")
    return Letter(
        enrolment=enrolment,
        program_name=enrolment.cohort.program.name,
        attended=dates,
        sessions_held=sum(1 for m in summary.marks if not m.cancelled and m.starts_at <= at),
        completed=summary.completed,
        issued_on=local_date(at, zone),
    )
