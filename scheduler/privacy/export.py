"""Exporting a participant's data: everything held about a person, for them to take away.

This domain sits above every other (it reads their rows); none imports it.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..admission import records as intake_records
from ..appointments.models import Appointment
from ..attendance.models import AttendanceFlag, AttendanceRecord
from ..cohorts.models import Session
from ..enrolment.models import AgreementAcceptance, AuditEntry, Enrolment, Participant
from ..foundation import clock
from ..foundation.errors import NotFound
from ..foundation.extensions import db
from ..inbox import services as inbox
from ..notifications.models import OutboxMessage
from ..payments.models import Payment, Refund
from .participants import find_participant


@dataclass(frozen=True)
class EnrolmentRecord:
    """One enrolment with everything held about it."""

    enrolment: Enrolment
    payments: list = field(default_factory=list)
    refunds: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    audit: list = field(default_factory=list)
    attendance: list = field(default_factory=list)
    attendance_flags: list = field(default_factory=list)
    agreements: list = field(default_factory=list)  # the program's agreements they accepted, any version
    appointments: list = field(default_factory=list)  # individual sessions beside the group

    def __getattr__(self, name):  # the row's own fields, for the schema
        return getattr(self.enrolment, name)


@dataclass(frozen=True)
class ParticipantExport:
    participant: Participant | None  # None: nothing but a request not yet handled, or a message
    enrolments: list[EnrolmentRecord]
    exported_at: datetime
    # Public requests with this address not yet carried out (a settled one keeps no personal data).
    requests: list = field(default_factory=list)
    # Messages to the address that belong to no enrolment (a request that could not be carried out, an intake's).
    other_messages: list = field(default_factory=list)
    # Requests for a place in an intake program, each with its audit entries (IntakeRecord).
    intakes: list = field(default_factory=list)

    @property
    def holds(self) -> dict[str, int]:
        """Every kind of record this export holds, and how many of each (zero ones included)."""
        kinds = (
            "payments",
            "refunds",
            "messages",
            "audit",
            "attendance",
            "attendance_flags",
            "agreements",
            "appointments",
        )
        counts = {"enrolments": len(self.enrolments)}
        counts.update({kind: sum(len(getattr(e, kind)) for e in self.enrolments) for kind in kinds})
        counts.update(requests=len(self.requests), other_messages=len(self.other_messages), intakes=len(self.intakes))
        counts["appointments"] += sum(len(i.appointments) for i in self.intakes)
        return counts


@dataclass(frozen=True)
class IntakeRecord:
    """One request for a place (admission) with what staff did to it."""

    intake: object
    audit: list = field(default_factory=list)
    appointments: list = field(default_factory=list)  # its assessments, booked or cancelled

    def __getattr__(self, name):
        return getattr(self.intake, name)


def _by_enrolment(rows) -> dict[str, list]:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row.enrolment_id].append(row)
    return grouped


def _attendance(enrolment_ids: list[str]) -> tuple[dict[str, list], dict[str, list]]:
    """Attendance records (with their session) and attendance flags of these enrolments, by enrolment id."""
    records = defaultdict(list)
    rows = db.session.execute(
        select(AttendanceRecord, Session)
        .join(Session, Session.id == AttendanceRecord.session_id)
        .options(selectinload(AttendanceRecord.recorded_by))
        .where(AttendanceRecord.enrolment_id.in_(enrolment_ids))
        .order_by(Session.starts_at, AttendanceRecord.id)
    )
    for record, session in rows:
        records[record.enrolment_id].append(
            {
                "session_id": session.id,
                "session_number": session.number,
                "session_starts_at": session.starts_at,
                "status": record.status,
                "source": record.source,
                "recorded_by": record.recorded_by.name if record.recorded_by else None,
                "recorded_at": record.recorded_at,
                "joined_at": record.joined_at,
            }
        )
    flags = _by_enrolment(
        db.session.scalars(
            select(AttendanceFlag)
            .where(AttendanceFlag.enrolment_id.in_(enrolment_ids))
            .order_by(AttendanceFlag.raised_at, AttendanceFlag.id)
        )
    )
    return records, flags


def export_participant(email: str) -> ParticipantExport:
    """Everything held about the person with this email (any case): enrolments, payments,
    refunds, messages with their bodies (also those to staff about them, and those to the
    address about no enrolment), attendance, the agreements they accepted, the audit entries
    about them and their public requests not yet carried out."""
    requests = inbox.waiting_for(email)
    other_messages = db.session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.enrolment_id.is_(None),
            OutboxMessage.staff_id.is_(None),
            func.lower(OutboxMessage.to_address) == email.strip().lower(),
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    ).all()
    try:
        participant = find_participant(email)
    except NotFound:
        if not requests and not other_messages:
            raise
        return ParticipantExport(None, [], clock.now(), requests, other_messages)
    enrolments = db.session.scalars(
        select(Enrolment)
        .options(selectinload(Enrolment.cohort))
        .where(Enrolment.participant_id == participant.id)
        .order_by(Enrolment.created_at, Enrolment.id)
    ).all()
    ids = [e.id for e in enrolments]
    payments = _by_enrolment(
        db.session.scalars(
            select(Payment).where(Payment.enrolment_id.in_(ids)).order_by(Payment.created_at, Payment.id)
        )
    )
    refunds = _by_enrolment(
        db.session.scalars(select(Refund).where(Refund.enrolment_id.in_(ids)).order_by(Refund.created_at, Refund.id))
    )
    messages = _by_enrolment(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.enrolment_id.in_(ids))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
    )
    audit = _by_enrolment(
        db.session.scalars(
            select(AuditEntry)
            .options(selectinload(AuditEntry.staff))
            .where(AuditEntry.enrolment_id.in_(ids))
            .order_by(AuditEntry.created_at, AuditEntry.id)
        )
    )
    attendance, flags = _attendance(ids)
    individual = _by_enrolment(
        db.session.scalars(
            select(Appointment).where(Appointment.enrolment_id.in_(ids)).order_by(Appointment.starts_at, Appointment.id)
        )
    )
    accepted = _by_enrolment(
        db.session.scalars(
            select(AgreementAcceptance)
            .options(selectinload(AgreementAcceptance.agreement))
            .where(AgreementAcceptance.enrolment_id.in_(ids))
            .order_by(AgreementAcceptance.accepted_at, AgreementAcceptance.id)
        )
    )
    records = [
        EnrolmentRecord(
            e,
            payments=payments.get(e.id, []),
            refunds=refunds.get(e.id, []),
            messages=messages.get(e.id, []),
            audit=audit.get(e.id, []),
            attendance=attendance.get(e.id, []),
            attendance_flags=flags.get(e.id, []),
            agreements=accepted.get(e.id, []),
            appointments=individual.get(e.id, []),
        )
        for e in enrolments
    ]
    intakes = intake_records.intakes_of_participant(participant.id)
    intake_audit = intake_records.audit_of([i.id for i in intakes])
    assessments = intake_records.all_appointments_of([i.id for i in intakes])
    return ParticipantExport(
        participant,
        records,
        clock.now(),
        requests,
        other_messages,
        [IntakeRecord(i, intake_audit.get(i.id, []), assessments.get(i.id, [])) for i in intakes],
    )
