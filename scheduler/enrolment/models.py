"""Participants, their enrolments (with the guarded state machine), and the staff audit log."""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext, lazy_pgettext
from sqlalchemy import CheckConstraint, Index, UniqueConstraint, and_, event, or_, select, text
from sqlalchemy.ext.hybrid import hybrid_method

from ..foundation.clock import now
from ..foundation.database import UTCDateTime, new_id, new_token, one_of
from ..foundation.errors import Conflict
from ..foundation.extensions import db
from ..payments.accounts import Account, accounts


class EnrolmentStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


S = EnrolmentStatus
# A status inside a refusal's sentence ("this one is confirmed"): the code itself in English, as the
# API has always said it, and a word agreeing with "inscripción" in Spanish (errors.DomainError.said).
_STATUS_IN_A_SENTENCE = {
    S.PENDING_PAYMENT: lazy_pgettext("enrolment status in a sentence", "pending_payment"),
    S.WAITLISTED: lazy_pgettext("enrolment status in a sentence", "waitlisted"),
    S.OFFERED: lazy_pgettext("enrolment status in a sentence", "offered"),
    S.CONFIRMED: lazy_pgettext("enrolment status in a sentence", "confirmed"),
    S.EXPIRED: lazy_pgettext("enrolment status in a sentence", "expired"),
    S.WITHDRAWN: lazy_pgettext("enrolment status in a sentence", "withdrawn"),
    S.CANCELLED: lazy_pgettext("enrolment status in a sentence", "cancelled"),
}


def status_word(status: str):
    """A status as a refusal's sentence says it (the code in English, a word in Spanish)."""
    return _STATUS_IN_A_SENTENCE.get(status, status)


# status -> the statuses it may become (the table in API.md).
TRANSITIONS = {
    S.PENDING_PAYMENT: {S.CONFIRMED, S.EXPIRED, S.WITHDRAWN, S.CANCELLED},
    S.WAITLISTED: {S.OFFERED, S.WITHDRAWN, S.CANCELLED},
    S.OFFERED: {S.PENDING_PAYMENT, S.CONFIRMED, S.EXPIRED, S.WITHDRAWN, S.CANCELLED},
    S.CONFIRMED: {S.WITHDRAWN, S.CANCELLED},
    S.EXPIRED: set(),
    S.WITHDRAWN: set(),
    S.CANCELLED: set(),
}
STATUSES = tuple(EnrolmentStatus)
ACTIVE = (S.PENDING_PAYMENT, S.WAITLISTED, S.OFFERED, S.CONFIRMED)
# Who holds or held a seat: the roster.
SEAT_STATUSES = (S.CONFIRMED, S.PENDING_PAYMENT, S.OFFERED)
_ACTIVE_SQL = "status IN (" + ", ".join(f"'{s}'" for s in ACTIVE) + ")"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def payment_reference(enrolment_id: str) -> str:
    """A reference short enough to read out on the phone ("HRGX-XKK2"): the first eight letters and
    digits of the enrolment's random id (its "-" and "_" left out: nobody reads those out), upper
    case, in two groups. The console's search finds it."""
    body = "".join(c for c in enrolment_id.split("_", 1)[-1] if c.isalnum())[:8].upper()
    return f"{body[:4]}-{body[4:]}"


def reference_prefix(text: str) -> str | None:
    """The letters and digits a typed payment reference starts its enrolment's id with (any case,
    with or without its dash), or None when the text is not one. References given before they left
    out "-" and "_" ("OIHX-36-A", the id's first eight characters) are found too (`_by_reference`)."""
    cleaned = "".join(text.split()).replace("-", "").replace("_", "")
    if len(cleaned) != 8 or not cleaned.isalnum() or not cleaned.isascii():
        return None
    return cleaned


class Participant(db.Model):
    """One person, known by their normalised email.

    Owns nothing a request can unlock: holding one enrolment's manage token proves
    nothing about the email's other enrolments, so feeds and links hang off enrolments.
    """

    __tablename__ = "participants"

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("par"))
    email_normalised = db.Column(db.String(254), nullable=False, unique=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    # Set when the person's data was erased (scheduler/privacy): the email is then a placeholder.
    erased_at = db.Column(UTCDateTime)


class Enrolment(db.Model):
    __tablename__ = "enrolments"
    __table_args__ = (
        one_of("status", EnrolmentStatus, name="status"),
        CheckConstraint("status != 'pending_payment' OR hold_expires_at IS NOT NULL", name="hold_has_expiry"),
        CheckConstraint("status != 'offered' OR offer_expires_at IS NOT NULL", name="offer_has_expiry"),
        CheckConstraint("amount_due >= 0", name="amount_due_not_negative"),
        CheckConstraint("discount_amount >= 0", name="discount_not_negative"),
        # One active enrolment per person per cohort: the database's last word on it.
        Index(
            "uq_enrolments_one_active",
            "cohort_id",
            "participant_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index("ix_enrolments_cohort_status", "cohort_id", "status"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("enr"))
    cohort_id = db.Column(db.String(40), db.ForeignKey("cohorts.id"), nullable=False)
    participant_id = db.Column(db.String(40), db.ForeignKey("participants.id"), nullable=False, index=True)
    status = db.Column(db.String(20), nullable=False)
    name = db.Column(db.String(200), nullable=False)
    email = db.Column(db.String(254), nullable=False)
    phone = db.Column(db.String(40))
    timezone = db.Column(db.String(64))
    # The language the person chose for their page (en, es); null: their browser's, then the clinic's.
    locale = db.Column(db.String(8))
    manage_token = db.Column(db.String(80), nullable=False, unique=True, default=lambda: new_token("mng"))
    # This enrolment's calendar feed (one per enrolment, rotated on its own).
    feed_token = db.Column(db.String(80), nullable=False, unique=True, default=lambda: new_token("cal"))
    # The personal join link (/join/<token>, links.join_url) in place of the cohort's raw meeting
    # link: replaced on a transfer (the old one then answers 410) or when a leaked link is rotated.
    join_token = db.Column(db.String(80), nullable=False, unique=True, default=lambda: new_token("join"))
    hold_expires_at = db.Column(UTCDateTime)
    offer_expires_at = db.Column(UTCDateTime)
    # Order in the waitlist: lower goes first. Positions (1, 2, …) are computed from it.
    waitlist_rank = db.Column(db.Integer)
    # What the person owes for the seat (minor units, the cohort's currency): the price of
    # their level (or the cohort's price), less any discount, or what staff set with a reason.
    # What was paid and refunded lives in the payments ledger (payments/accounts.py).
    amount_due = db.Column(db.Integer, nullable=False)
    price_before_discount = db.Column(db.Integer, nullable=False)
    price_level = db.Column(db.String(40))
    discount_code_id = db.Column(db.String(40), db.ForeignKey("discount_codes.id"), index=True)
    discount_amount = db.Column(db.Integer, nullable=False, default=0)
    # The hold is for payment taken by hand (manual_hold_hours), not by card (hold_minutes).
    pays_at_desk = db.Column(db.Boolean, nullable=False, default=False)
    # The last way money was taken (card or a desk method).
    payment_method = db.Column(db.String(20))
    # First time it became confirmed: a discount code's use stays taken after that.
    confirmed_at = db.Column(UTCDateTime)
    # When the person first opened their emailed link (staff-made enrolments: when made). A public
    # request's seat is held at most the cohort's confirm_email_minutes until then.
    email_confirmed_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    updated_at = db.Column(UTCDateTime, nullable=False, default=now)
    # Set when its personal data was erased (on request or by retention, scheduler/privacy):
    # name, email, phone and messages are placeholders and every token was replaced.
    erased_at = db.Column(UTCDateTime)
    # ICD-10 codes staff entered for the statement of services: staff-only, shown on that statement
    # alone (never in emails, feeds, other pages, the roster or exports to anyone else).
    diagnosis_codes = db.Column(db.JSON)

    cohort = db.relationship("Cohort")
    participant = db.relationship(Participant)
    discount_code = db.relationship("DiscountCode")

    # What was paid and refunded lives in the payments ledger; these read it (two queries
    # each time). Use cases return EnrolmentView, whose account a list loads for a whole page.

    @property
    def account(self) -> Account:
        """This enrolment's payments and refunds, read now."""
        return accounts([self.id])[self.id] if self.id else Account()

    @property
    def amount_paid(self) -> int:
        """Everything paid for this enrolment (refunds not deducted)."""
        return self.account.paid

    @property
    def amount_refunded(self) -> int:
        return self.account.refunded

    def owes(self, account: Account) -> int:
        """What is still owed given this account: amount_due less what the clinic holds; 0 once it has ended."""
        return self.amount_due - account.net_paid if self.status in ACTIVE else 0

    @property
    def balance(self) -> int:
        return self.owes(self.account)

    # The two seat rules, each written once and usable in Python and in SQL
    # (Enrolment.holds_seat(at) in a WHERE clause): counting, expiry and lists share them.

    @hybrid_method
    def holds_seat(self, at: datetime) -> bool:
        """Takes a seat at instant `at`: confirmed, or a hold or offer not yet past its expiry."""
        if self.status == S.CONFIRMED:
            return True
        if self.status == S.PENDING_PAYMENT:
            return self.hold_expires_at > at
        if self.status == S.OFFERED:
            return self.offer_expires_at > at
        return False

    @holds_seat.expression
    def holds_seat(cls, at: datetime):
        return or_(
            cls.status == S.CONFIRMED,
            and_(cls.status == S.PENDING_PAYMENT, cls.hold_expires_at > at),
            and_(cls.status == S.OFFERED, cls.offer_expires_at > at),
        )

    @hybrid_method
    def lapsed(self, at: datetime) -> bool:
        """A hold or offer past its expiry that no job has marked expired yet (it holds nothing)."""
        if self.status == S.PENDING_PAYMENT:
            return self.hold_expires_at <= at
        if self.status == S.OFFERED:
            return self.offer_expires_at <= at
        return False

    @lapsed.expression
    def lapsed(cls, at: datetime):
        return or_(
            and_(cls.status == S.PENDING_PAYMENT, cls.hold_expires_at <= at),
            and_(cls.status == S.OFFERED, cls.offer_expires_at <= at),
        )

    def move_to(self, status: EnrolmentStatus) -> None:
        """The one place an enrolment's status changes; refuses moves the contract forbids.

        Moving on to another active status clears the deadline of the one left, so a
        confirmed person shows no stale hold or offer expiry (a finished enrolment
        keeps its last deadline, for the record).
        """
        if status not in TRANSITIONS[self.status]:
            raise Conflict(
                lazy_gettext(
                    "An enrolment that is %(status)s cannot become %(new_status)s.",
                    status=status_word(self.status),
                    new_status=status_word(status),
                )
            )
        if status in ACTIVE:
            if status != S.PENDING_PAYMENT:
                self.hold_expires_at = None
            if status != S.OFFERED:
                self.offer_expires_at = None
        self.status = status
        self.updated_at = now()
        if status == S.CONFIRMED and self.confirmed_at is None:
            self.confirmed_at = self.updated_at


@event.listens_for(Enrolment, "before_insert")
def _price_from_the_cohort(mapper, connection, enrolment: Enrolment) -> None:
    """An enrolment written without a price owes the cohort's (services always set one)."""
    if enrolment.amount_due is None or enrolment.price_before_discount is None:
        from ..cohorts.models import Cohort

        price = connection.scalar(select(Cohort.price_amount).where(Cohort.id == enrolment.cohort_id))
        if enrolment.price_before_discount is None:
            enrolment.price_before_discount = price
        if enrolment.amount_due is None:
            enrolment.amount_due = enrolment.price_before_discount - (enrolment.discount_amount or 0)


class AuditEntry(db.Model):
    """Who did what to an enrolment (or to a cohort: a new meeting link), when, with the state before and after."""

    __tablename__ = "audit_entries"
    __table_args__ = (CheckConstraint("enrolment_id IS NOT NULL OR cohort_id IS NOT NULL", name="names_what_changed"),)

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("aud"))
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), index=True)
    # Set for changes to a cohort itself (enrolment_id is then empty).
    cohort_id = db.Column(db.String(40), db.ForeignKey("cohorts.id"), index=True)
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    action = db.Column(db.String(40), nullable=False)
    before = db.Column(db.JSON)
    after = db.Column(db.JSON)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)

    staff = db.relationship("Staff")


class AgreementAcceptance(db.Model):
    """A person's acceptance of one version of one of their program's agreements, with the text's
    hash and the time: typed by them (full_name), or recorded by staff as signed on paper."""

    __tablename__ = "agreement_acceptances"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "agreement_id", name="uq_agreement_acceptances_once"),
        CheckConstraint("NOT on_paper OR staff_id IS NOT NULL", name="paper_names_staff"),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("acc"))
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), nullable=False)
    agreement_id = db.Column(db.String(40), db.ForeignKey("program_agreements.id"), nullable=False, index=True)
    version = db.Column(db.Integer, nullable=False)
    text_hash = db.Column(db.String(64), nullable=False)
    # What the person typed to sign (None: signed on paper, or erased with the rest of their data).
    full_name = db.Column(db.String(200))
    on_paper = db.Column(db.Boolean, nullable=False, default=False)
    # Who recorded a paper signature.
    staff_id = db.Column(db.String(40), db.ForeignKey("staff.id"))
    accepted_at = db.Column(UTCDateTime, nullable=False, default=now)

    enrolment = db.relationship(Enrolment)
    agreement = db.relationship("ProgramAgreement")
    staff = db.relationship("Staff")


class IdempotencyRecord(db.Model):
    """A request sent with an Idempotency-Key, and the enrolment it made: a retry replays it."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_records_scope_key"),)

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("idm"))
    scope = db.Column(db.String(200), nullable=False)
    key = db.Column(db.String(200), nullable=False)
    request_hash = db.Column(db.String(64), nullable=False)
    enrolment_id = db.Column(db.String(40), db.ForeignKey("enrolments.id"), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
