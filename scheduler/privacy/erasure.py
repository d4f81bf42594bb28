"""Erasing a participant's data, on request or after retention.

This domain sits above every other (it rewrites their rows); none imports it.
Erasure keeps what the clinic must keep (amounts, dates, statuses, payments, refunds,
the audit trail, which agreements were accepted when) and removes who it was: names, emails,
phones and time zones become placeholders, the full names typed to sign agreements, message
bodies, subjects, recipients and attachments are blanked (and unsent ones never go out),
idempotency records go (their request hash covers the email), and every token of the
person's enrolments and intakes is replaced, so that old manage links, join links and calendar
feeds stop working. Each erased enrolment gets an audit entry `erased` naming the staff member
(none for the retention job), never the person.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from ..admission import services as intake_services
from ..admission.models import OPEN as OPEN_INTAKES
from ..admission.models import Intake
from ..appointments.models import Appointment
from ..attendance.models import AttendanceFlag
from ..cohorts.models import Cohort, Session
from ..enrolment import audit as enrolment_audit
from ..enrolment import seat_keeping, self_service
from ..enrolment.models import ACTIVE, AgreementAcceptance, AuditEntry, Enrolment, IdempotencyRecord, Participant
from ..foundation import clock
from ..foundation.database import after_commit, end_read, lock, lock_one, new_token, write_transaction
from ..foundation.errors import Conflict, NotFound
from ..foundation.extensions import db
from ..inbox import services as inbox
from ..notifications import sender
from ..notifications.models import OutboxMessage, OutboxStatus
from ..payments.models import Payment, Refund
from .participants import UNKNOWN, find_participant

log = logging.getLogger(__name__)

ERASED_NAME = "Erased participant"
ERASED_DOMAIN = "erased.invalid"  # .invalid never resolves (RFC 2606): nothing can be delivered there
NOT_SENT = "not sent: the person's data was erased"


def placeholder_email(participant_id: str) -> str:
    """What an erased person's email becomes: unique per participant, and undeliverable."""
    return f"erased-{participant_id}@{ERASED_DOMAIN}"


@dataclass
class ErasureSummary:
    """What an erasure did (ids and counts only: the response names nobody)."""

    participant_id: str | None
    erased_at: datetime
    enrolments: list[dict] = field(default_factory=list)
    messages_erased: int = 0
    messages_cancelled: int = 0
    idempotency_records_deleted: int = 0
    requests_deleted: int = 0  # public requests: waiting ones with the address, settled ones that made these enrolments
    intakes_erased: int = 0  # requests for a place (admission), open ones withdrawn first
    message_ids: list[str] = field(default_factory=list)

    def add(self, other: "ErasureSummary") -> None:
        self.enrolments += other.enrolments
        self.messages_erased += other.messages_erased
        self.messages_cancelled += other.messages_cancelled
        self.idempotency_records_deleted += other.idempotency_records_deleted
        self.requests_deleted += other.requests_deleted
        self.message_ids += other.message_ids


class _Scrubber:
    """Removes a person's identity from free text (a desk payment's reference, an error, an audit value).

    Matches whole words only, any case, so that a short name does not eat into other words.
    """

    def __init__(self, *identities):
        words = sorted({i.strip() for i in identities if i and len(i.strip()) >= 2}, key=len, reverse=True)
        self.pattern = (
            re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in words), re.IGNORECASE) if words else None
        )

    def text(self, value):
        if self.pattern is None or not isinstance(value, str):
            return value
        return self.pattern.sub("[erased]", value)

    def json(self, value):
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return self.text(value)


def _replace_tokens(enrolment: Enrolment) -> None:
    """A fresh random value for every token column (manage, feed, and join when it exists)."""
    for column in Enrolment.__table__.columns:
        if column.name.endswith("_token"):
            old = getattr(enrolment, column.key) or ""
            prefix = old.split("_", 1)[0] if "_" in old else column.name.removesuffix("_token")
            setattr(enrolment, column.key, new_token(prefix))


def _erase_enrolment(enrolment: Enrolment, email: str, staff, reason: str, at: datetime) -> ErasureSummary:
    """Erase one enrolment's identity, messages and idempotency records (caller holds its cohort's lock)."""
    summary = ErasureSummary(enrolment.participant_id, at)
    scrub = _Scrubber(enrolment.email, enrolment.participant.email_normalised, enrolment.name, enrolment.phone)
    enrolment.name = ERASED_NAME
    enrolment.email = email
    enrolment.phone = None
    enrolment.timezone = None
    enrolment.diagnosis_codes = None
    _replace_tokens(enrolment)
    enrolment.erased_at = at
    enrolment.updated_at = at

    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.enrolment_id == enrolment.id)).all()
    for message in messages:
        _erase_message(message, scrub, summary)

    for payment in db.session.scalars(select(Payment).where(Payment.enrolment_id == enrolment.id)):
        payment.reference, payment.last_error = scrub.text(payment.reference), scrub.text(payment.last_error)
    for refund in db.session.scalars(select(Refund).where(Refund.enrolment_id == enrolment.id)):
        refund.last_error = scrub.text(refund.last_error)
    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.enrolment_id == enrolment.id)):
        entry.before, entry.after = scrub.json(entry.before), scrub.json(entry.after)
    for acceptance in db.session.scalars(
        select(AgreementAcceptance).where(AgreementAcceptance.enrolment_id == enrolment.id)
    ):
        acceptance.full_name = None  # the signature goes; which version, its hash and when stay
    for flag in db.session.scalars(select(AttendanceFlag).where(AttendanceFlag.enrolment_id == enrolment.id)):
        flag.clear_note = scrub.text(flag.clear_note)  # staff's note stays, like the audit trail, without the identity
    for appointment in db.session.scalars(select(Appointment).where(Appointment.enrolment_id == enrolment.id)):
        appointment.join_token = new_token("join")  # an individual session's old link leads nowhere

    summary.idempotency_records_deleted = db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.enrolment_id == enrolment.id)
    ).rowcount
    enrolment_audit.record(enrolment, staff, "erased", None, reason=reason)
    summary.enrolments.append({"id": enrolment.id, "cohort_id": enrolment.cohort_id, "status": str(enrolment.status)})
    return summary


def _erase_message(message: OutboxMessage, scrub: _Scrubber, summary: ErasureSummary) -> None:
    """Blank one message to the person (an unsent one is cancelled), counted in `summary`."""
    if message.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
        # Nothing more goes to this person; a worker that holds the row now cannot record an
        # outcome over this (its update requires status `sending`).
        message.status, message.last_error = OutboxStatus.SKIPPED, NOT_SENT
        message.lease_owner, message.lease_expires_at = None, None
        summary.messages_cancelled += 1
    else:
        message.last_error = scrub.text(message.last_error)
    message.to_address = ""
    message.subject = ""
    message.body_text = ""
    message.body_html = ""
    message.attachments = []
    message.mime, message.mime_digest = None, None  # the sendable copy of all of the above
    message.render_values = None  # and what it would have been rendered from: never rendered now
    message.refused_recipients = None
    summary.messages_erased += 1
    summary.message_ids.append(message.id)


def _erase_intakes(participant_id: str, email: str, at: datetime, summary: ErasureSummary) -> list[str]:
    """Blank the person's intakes (open ones were withdrawn before); their ids (the inbox forgets them)."""
    intakes = lock(Intake, where=[Intake.participant_id == participant_id])
    for intake in intakes:
        if intake.erased_at is None:
            intake.name, intake.email, intake.phone, intake.timezone = ERASED_NAME, email, None, None
            intake.outcome_note = intake.outcome_message = None
            intake.manage_token = new_token("mng")
            intake.feed_token = new_token("cal")  # the appointment feed's old URL answers 404
            intake.erased_at = intake.updated_at = at
            summary.intakes_erased += 1
    for appointment in db.session.scalars(
        select(Appointment).where(Appointment.intake_id.in_([intake.id for intake in intakes]))
    ):
        appointment.join_token = new_token("join")  # an old link leads nowhere
    return [intake.id for intake in intakes]


def _erase_requests_and_their_mail(address: str, enrolment_ids: list[str], summary: ErasureSummary) -> None:
    """The person's public requests go, and the messages to the address about no enrolment
    (a request that could not be carried out) are blanked like the rest."""
    summary.requests_deleted = inbox.forget(address, enrolment_ids)
    about_nothing = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.enrolment_id.is_(None),
            OutboxMessage.staff_id.is_(None),
            func.lower(OutboxMessage.to_address) == address.strip().lower(),
        )
    ).all()
    for message in about_nothing:
        _erase_message(message, _Scrubber(address), summary)


def _erase_identity(participant: Participant, at: datetime) -> None:
    participant.email_normalised = placeholder_email(participant.id)
    participant.erased_at = at


def _forget_mail_files(message_ids: list[str]) -> None:
    """Mail kept as files (no MAIL_URL) holds the address and the body too: remove those files."""
    if message_ids:
        after_commit(lambda: sender.forget_files(message_ids))


def erase_participant(email: str, staff) -> ErasureSummary:
    """Erase a person: withdraw each active enrolment (the policy's refund), then erase them all."""
    participant = find_participant(email)
    participant_id = participant.id
    active = db.session.execute(
        select(Enrolment.id, Enrolment.cohort_id)
        .where(Enrolment.participant_id == participant_id, Enrolment.status.in_(ACTIVE))
        .order_by(Enrolment.created_at, Enrolment.id)
    ).all()
    open_intakes = db.session.scalars(
        select(Intake.id).where(Intake.participant_id == participant_id, Intake.status.in_(OPEN_INTAKES))
    ).all()
    end_read()
    for intake_id in open_intakes:
        try:
            intake_services.withdraw(intake_id, staff)  # a seat offered meanwhile is declined
        except Conflict:
            pass  # it ended a moment ago
    refunds: dict[str, dict | None] = {}
    for enrolment_id, cohort_id in active:
        try:
            refunds[enrolment_id] = self_service.withdraw(enrolment_id, staff).refund
        except Conflict:
            # Its hold or offer lapsed a moment ago (nothing to withdraw): mark it expired now.
            seat_keeping.settle_cohort(cohort_id)
    at = clock.now()
    with write_transaction():
        cohort_ids = db.session.scalars(
            select(Enrolment.cohort_id).where(Enrolment.participant_id == participant_id).distinct()
        ).all()
        # Cohorts first, always in the same order (as a transfer does), then the person's row.
        for cohort_id in sorted(cohort_ids):
            lock_one(Cohort, cohort_id)
        participant = next(iter(lock(Participant, participant_id)), None)
        if participant is None or participant.erased_at is not None:
            raise NotFound(UNKNOWN)
        enrolments = db.session.scalars(
            select(Enrolment)
            .where(Enrolment.participant_id == participant_id)
            .order_by(Enrolment.created_at, Enrolment.id)
        ).all()
        if any(e.status in ACTIVE for e in enrolments) or {e.cohort_id for e in enrolments} - set(cohort_ids):
            raise Conflict("This person enrolled again while being erased; send the erasure again.")
        summary = ErasureSummary(participant_id, at)
        email = placeholder_email(participant_id)
        for enrolment in enrolments:
            if enrolment.erased_at is None:  # one erased by retention already is left as it is
                summary.add(_erase_enrolment(enrolment, email, staff, "request", at))
        for item in summary.enrolments:
            item["withdrawn"] = item["id"] in refunds
            item["refund"] = refunds.get(item["id"])
        intake_ids = _erase_intakes(participant_id, email, at, summary)
        _erase_requests_and_their_mail(participant.email_normalised, [e.id for e in enrolments] + intake_ids, summary)
        _erase_identity(participant, at)
        _forget_mail_files(summary.message_ids)
    log.info("participant %s erased by staff %s", participant_id, getattr(staff, "id", None))
    return summary


# ---- retention ----------------------------------------------------------------------------------


def _ended_before(cutoff: datetime):
    """Ids of cohorts whose last session ended before `cutoff` (a subquery)."""
    return select(Session.cohort_id).group_by(Session.cohort_id).having(func.max(Session.ends_at) < cutoff)


def erase_after_retention(at: datetime | None = None) -> int:
    """Erase the personal data and messages of enrolments whose cohort ended more than
    RETENTION_DAYS ago (0: keep everything); returns how many enrolments were erased."""
    days = current_app.config.get("RETENTION_DAYS", 0)
    if not days or days <= 0:
        return 0
    at = at or clock.now()
    cutoff = at - timedelta(days=days)
    cohort_ids = db.session.scalars(
        select(Enrolment.cohort_id)
        .where(Enrolment.erased_at.is_(None), Enrolment.cohort_id.in_(_ended_before(cutoff)))
        .distinct()
        .order_by(Enrolment.cohort_id)
    ).all()
    end_read()
    # One short transaction per cohort, so that one large cohort does not hold up the rest.
    return sum(_erase_ended_cohort(cohort_id, cutoff) for cohort_id in cohort_ids)


def _erase_ended_cohort(cohort_id: str, cutoff: datetime) -> int:
    """Erase one ended cohort's enrolments, and the people left with nothing that is not erased."""
    at = clock.now()
    with write_transaction():
        # Another worker erasing this cohort holds it (PostgreSQL): leave it to that worker.
        [cohort] = lock(Cohort, cohort_id, skip_locked=True) or [None]
        still_ended = select(Cohort.id).where(Cohort.id == cohort_id, Cohort.id.in_(_ended_before(cutoff)))
        if cohort is None or db.session.scalar(still_ended) is None:  # a session was moved later meanwhile
            return 0
        enrolments = db.session.scalars(
            select(Enrolment)
            .options(selectinload(Enrolment.participant))
            .where(Enrolment.cohort_id == cohort_id, Enrolment.erased_at.is_(None))
            .order_by(Enrolment.id)
        ).all()
        message_ids = []
        for enrolment in enrolments:
            message_ids += _erase_enrolment(
                enrolment, placeholder_email(enrolment.participant_id), None, "retention", at
            ).message_ids
        inbox.forget(None, [e.id for e in enrolments])
        db.session.flush()
        people = lock(
            Participant,
            where=[Participant.id.in_({e.participant_id for e in enrolments}), Participant.erased_at.is_(None)],
        )
        for person in people:
            kept = db.session.scalar(
                select(func.count())
                .select_from(Enrolment)
                .where(Enrolment.participant_id == person.id, Enrolment.erased_at.is_(None))
            )
            if kept == 0:
                _erase_identity(person, at)
        _forget_mail_files(message_ids)
    return len(enrolments)
