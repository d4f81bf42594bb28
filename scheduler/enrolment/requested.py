"""Public enrolment requests: answered alike, carried out by the worker, started by their link.

A public enrolment is checked only for what does not depend on who the address is (the cohort
open, the price it asks for), written to the inbox and answered "check your email"
(request_enrolment). The worker carries it out as the enrolment use case (handle): a seat held
for at most confirm_email_minutes, a place on the waitlist, a confirmed free place, or, for an
address already enrolled or waiting here, its link sent again; every outcome is emailed with the
person's link. The first use of that link (open_link) starts the normal hold and the card payment.
"""

import hmac
from datetime import timedelta

from sqlalchemy import select

from ..cohorts.joining import check_can_enrol
from ..cohorts.models import Cohort, CohortStatus
from ..foundation import clock
from ..foundation.database import lock_one, write_transaction
from ..foundation.errors import Conflict, DomainError, Invalid, NotFound
from ..foundation.events import publish
from ..foundation.extensions import db
from ..inbox import services as inbox
from ..inbox.models import Outcome, PublicRequest, RequestKind
from ..payments import ledger
from . import events, prices
from .audit import record
from .enrolling import enrol_locked, hold_length, known_participant, participant_for
from .models import ACTIVE, Enrolment, Participant, normalise_email
from .models import EnrolmentStatus as S
from .paying import pays_by_card
from .views import lock_enrolment


def request_enrolment(cohort_id: str, data: dict, idempotency_key: str | None = None) -> inbox.Received:
    """Queue a public enrolment and answer it the same for every address (nothing about it is read).

    Refused at once only for what is the same for everyone: a cohort not taking public enrolments
    now (409 saying until when it did, a draft 404), a price level or discount code that cannot be
    used here (422).
    """
    at = clock.now()
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("No such cohort.")
    check_can_enrol(cohort, at, by_staff=False)
    if cohort.program.admission == "intake":
        raise Conflict(
            "This program admits people after an assessment: request a place "
            f"(POST /api/v1/programs/{cohort.program_id}/intake-requests) instead of enrolling."
        )
    if data.get("desk_payment") is not None:
        raise Invalid.field("desk_payment", "Only the front desk records payments; leave desk_payment out.")
    prices.check_public_price(cohort, data, at)
    pays_by_card(cohort, data.get("pay_at_desk"))  # paying at the desk where the group does not offer it: 422
    deadline = at + timedelta(minutes=cohort.confirm_email_minutes)
    return inbox.receive(
        RequestKind.ENROL,
        data["email"],
        data,
        subject_id=cohort_id,
        expires_at=deadline,
        idempotency_key=idempotency_key,
    )


def request_link_again(cohort_id: str, email: str) -> inbox.Received:
    """Queue "send my link again" for this cohort and answer it the same for every address."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or cohort.display_status_by_bounds(clock.now()) == CohortStatus.DRAFT:
        raise NotFound("No such cohort.")
    deadline = clock.now() + timedelta(minutes=cohort.confirm_email_minutes)
    return inbox.receive(RequestKind.LINK_AGAIN, email, {"email": email}, subject_id=cohort_id, expires_at=deadline)


def handle_link_again(request: PublicRequest) -> tuple[str, str | None]:
    """Send the link of the address's enrolment in this cohort again; nothing when it has none."""
    enrolment_id = _active_enrolment_id(request.subject_id, request.email)
    if enrolment_id is None:
        return Outcome.NOTHING, None
    publish(events.LinkAskedAgain(db.session.get(Enrolment, enrolment_id)))
    return Outcome.ALREADY, enrolment_id


def handle(request: PublicRequest) -> tuple[str, str]:
    """Carry out one queued enrolment in the inbox's transaction: (outcome, the enrolment's id)."""
    data = dict(request.payload)
    participant = participant_for(data["email"], known_participant(data["email"]))
    cohort = lock_one(Cohort, request.subject_id)
    made = enrol_locked(cohort, data, None, participant, unopened=True)
    if made is None:  # already enrolled or waiting here: that enrolment's link went to the address
        return Outcome.ALREADY, _active_enrolment_id(cohort.id, data["email"])
    enrolment, _card, _position = made
    return Outcome.ENROLLED, enrolment.id


def refuse(request: PublicRequest, error: DomainError) -> None:
    """The request can no longer be carried out: the address is told why, and nothing is kept."""
    cohort = db.session.get(Cohort, request.subject_id)
    if cohort is None or request.kind != RequestKind.ENROL:
        return
    if isinstance(error, Invalid):
        reason = "discount_code" if "discount_code" in (error.errors or {}) else "invalid"
    else:
        reason = "closed"
    locale = request.payload.get("locale")
    publish(events.RequestRefused(request.email, request.payload["name"], cohort, reason, locale))


def _active_enrolment_id(cohort_id: str, email: str) -> str:
    return db.session.scalar(
        select(Enrolment.id)
        .join(Participant, Participant.id == Enrolment.participant_id)
        .where(
            Enrolment.cohort_id == cohort_id,
            Enrolment.status.in_(ACTIVE),
            Participant.email_normalised == normalise_email(email),
        )
    )


def use_manage_link(enrolment_id: str, token: str | None) -> bool:
    """Whether `token` is this enrolment's manage token; its first use opens the emailed link.

    One read for both (the token and whether the link was opened); constant-time comparison.
    """
    if not token or not enrolment_id or "\x00" in enrolment_id + token:
        return False
    row = db.session.execute(
        select(Enrolment.manage_token, Enrolment.email_confirmed_at).where(Enrolment.id == enrolment_id)
    ).first()
    if row is None or not hmac.compare_digest(row.manage_token.encode(), token.encode()):
        return False
    if row.email_confirmed_at is None:
        open_link(enrolment_id)
    return True


def open_link(enrolment_id: str) -> None:
    """The person opened their emailed link (their page, or the API with its token): once, it
    records email_confirmed_at, holds a held seat anew for the normal length from now and opens
    its card payment (Stripe's intent after the commit). A hold that already lapsed stays lapsed.
    """
    card = None
    with write_transaction():
        enrolment = lock_enrolment(enrolment_id)
        if enrolment.email_confirmed_at is not None:
            return
        at = clock.now()
        enrolment.email_confirmed_at = at
        if enrolment.status == S.PENDING_PAYMENT and enrolment.hold_expires_at > at:
            before = enrolment.hold_expires_at
            enrolment.hold_expires_at = at + hold_length(enrolment.cohort, not enrolment.pays_at_desk)
            if not enrolment.pays_at_desk:
                card = ledger.open_card_payment(enrolment.id, prices.owed(enrolment), enrolment.cohort.currency)
            record(enrolment, None, "link_opened", None, hold_was=before.isoformat())
    if card is not None:
        ledger.create_intent(card.id, enrolment.cohort_id)
