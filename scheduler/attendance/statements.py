"""The statement of services (a superbill): what a person attended, coded as insurers ask.

Each attended date of service (a group session recorded present or late, an individual session
likewise), with its CPT code (the program's), units, fee and the rendering clinician with their
NPI; the payments; the clinic's name, address, tax id and NPI; and the diagnosis codes staff
entered on the enrolment. Those codes are staff-only: this statement is the one place they show.
"""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select

from ..appointments.models import Appointment, AppointmentKind, AppointmentStatus
from ..cohorts.models import SessionStatus
from ..enrolment.audit import record
from ..enrolment.models import Enrolment
from ..enrolment.views import lock_enrolment
from ..foundation import clock, i18n
from ..foundation.database import write_transaction
from ..foundation.errors import NotFound
from ..foundation.extensions import db
from ..foundation.money import format_money
from ..payments.accounts import accounts
from . import rule
from .records import summaries


def local_date(instant: datetime, zone: ZoneInfo) -> str:
    """A date in the language being written: Thursday, October 3, 2030 / jueves, 3 de octubre de 2030."""
    return i18n.day_text(instant.astimezone(zone))


# The services a statement lists (line.service), in English as insurers' forms name them; the page
# and the PDF say them in their reader's language (SERVICE_NAMES there).
GROUP = "Group psychotherapy"
INDIVIDUAL = "Individual psychotherapy"


@dataclass(frozen=True)
class ServiceLine:
    day: str  # the local date of service
    starts_at: datetime
    service: str
    cpt_code: str
    units: int
    fee: str
    clinician: str
    npi: str


@dataclass(frozen=True)
class Statement:
    enrolment: Enrolment
    program_name: str
    lines: list[ServiceLine]
    total: str
    payments: list[dict]
    paid: str
    diagnosis_codes: list[str]
    clinic: dict
    issued_on: str
    period: tuple[str, str] | None = field(default=None)

    @property
    def period_text(self) -> str | None:
        """The period asked for, in words: "2030-10-01 to 2030-12-31", or from the start or to today
        (each its own sentence: Spanish says "del 1 al 31" but "desde el inicio")."""
        if not self.period:
            return None
        start, end = self.period
        if start and end:
            return gettext("%(start)s to %(end)s", start=start, end=end)
        if start:
            return gettext("%(start)s to today", start=start)
        if end:
            return gettext("From the start to %(end)s", end=end)
        return None


def set_diagnosis_codes(enrolment_id: str, codes: list[str], staff) -> list[str]:
    """Staff enter the ICD-10 codes the statement carries (an empty list removes them); audited
    without the codes, which stay out of every other record."""
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        enrolment.diagnosis_codes = list(dict.fromkeys(code.upper() for code in codes)) or None
        record(enrolment, staff, "diagnosis_codes_set", None, count=len(enrolment.diagnosis_codes or []))
    return enrolment.diagnosis_codes or []


def _clinician(member) -> tuple[str, str]:
    return (member.name, member.npi or "—") if member is not None else ("—", "—")


def statement(enrolment_id: str, start: datetime | None = None, end: datetime | None = None) -> Statement:
    """The statement of the services this enrolment's person received between two instants (all by default)."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound("No such enrolment.")
    at = clock.now()
    cohort, program = enrolment.cohort, enrolment.cohort.program
    zone = ZoneInfo(enrolment.timezone or cohort.timezone)
    currency = cohort.currency

    def within(instant: datetime) -> bool:
        return (start is None or instant >= start) and (end is None or instant < end)

    held = [s for s in cohort.sessions if s.status != SessionStatus.CANCELLED]
    # What the price covered: every session, or for a pro-rated late joiner those still ahead when
    # they enrolled (cohorts/joining.py prices them so), so that each date's fee is what was charged.
    covered = [s for s in held if s.starts_at > enrolment.created_at] if cohort.prorate_late_joiners else held
    covered = covered or held
    group_fee = enrolment.amount_due // len(covered) if covered else 0
    facilitator = _clinician(cohort.facilitators[0] if cohort.facilitators else None)
    summary = summaries([enrolment], at)[enrolment.id]
    lines = [
        ServiceLine(
            local_date(mark.starts_at, zone),
            mark.starts_at,
            GROUP,
            program.group_cpt_code,
            1,
            format_money(group_fee, currency),
            *facilitator,
        )
        for mark in rule.attended(summary.marks)
        if within(mark.starts_at)
    ]
    individual = db.session.scalars(
        select(Appointment).where(
            Appointment.enrolment_id == enrolment.id,
            Appointment.kind == AppointmentKind.INDIVIDUAL,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.attendance.in_(tuple(rule.ATTENDED)),
        )
    ).all()
    lines += [
        ServiceLine(
            local_date(a.starts_at, zone),
            a.starts_at,
            INDIVIDUAL,
            program.individual_cpt_code,
            1,
            format_money(program.individual_fee_amount, currency),
            *_clinician(a.staff),
        )
        for a in individual
        if within(a.starts_at)
    ]
    lines.sort(key=lambda line: line.starts_at)
    total = len([line for line in lines if line.service == GROUP]) * group_fee + sum(
        program.individual_fee_amount for line in lines if line.service == INDIVIDUAL
    )
    account = accounts([enrolment.id])[enrolment.id]
    config = current_app.config
    return Statement(
        enrolment=enrolment,
        program_name=program.name,
        lines=lines,
        total=format_money(total, currency),
        payments=[
            {"day": local_date(p.created_at, zone), "amount": format_money(p.amount, p.currency)}
            for p in account.payments
        ],
        paid=format_money(account.net_paid, currency),
        diagnosis_codes=list(enrolment.diagnosis_codes or []),
        clinic={
            "name": config["CLINIC_NAME"],
            "address": config.get("CLINIC_ADDRESS", ""),
            "tax_id": config.get("CLINIC_TAX_ID", ""),
            "npi": config.get("CLINIC_NPI", ""),
        },
        issued_on=local_date(at, zone),
        period=(local_date(start, zone) if start else None, local_date(end, zone) if end else None)
        if start or end
        else None,
    )
