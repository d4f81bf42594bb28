"""The notifications domain listens: one email per event, written in the changing transaction.

Each handler writes the outbox row(s) for one event (enrolment/events.py,
cohorts/events.py) in the publisher's write transaction, so that the email exists
exactly when the change it reports was committed. Handlers never commit.
"""

from sqlalchemy import select

from .. import clock
from ..calendars.services import enrolment_ics
from ..cohorts.events import SessionChanged
from ..enrolment import events
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..events import subscribe
from ..extensions import db
from ..links import subscribe_links
from ..staff.events import SignInLinkIssued
from .models import MessageKind as K
from .models import OutboxMessage
from .outbox import format_money, format_when, local_zone, manage_url, queue, queue_to_staff


@subscribe(events.SeatHeld)
def seat_held(event: events.SeatHeld) -> None:
    """A seat is held pending payment: how to pay, and until when."""
    enrolment, payment = event.enrolment, event.payment
    queue(
        enrolment,
        K.ENROLMENT_RECEIVED,
        hold_deadline=format_when(enrolment.hold_expires_at, local_zone(enrolment)),
        provider=payment["provider"],
        amount=format_money(payment["amount"], payment["currency"]),
        reference=enrolment.id,
    )


@subscribe(events.Confirmed)
def confirmed(event: events.Confirmed) -> None:
    """Paid (or free, or confirmed at the desk): link, schedule, calendar, manage link, .ics."""
    queue(event.enrolment, K.ENROLMENT_CONFIRMED, attachments=_ics(event.enrolment), **subscribe_links(event.enrolment))


@subscribe(events.Waitlisted)
def waitlisted(event: events.Waitlisted) -> None:
    """No seat was free: the person's place in the waitlist."""
    queue(event.enrolment, K.WAITLISTED, position=event.position)


@subscribe(events.SeatOffered)
def seat_offered(event: events.SeatOffered) -> None:
    """A seat was offered from the waitlist: accept link and deadline."""
    enrolment = event.enrolment
    queue(
        enrolment,
        K.SEAT_OFFERED,
        accept_url=manage_url(enrolment),
        offer_deadline=format_when(enrolment.offer_expires_at, local_zone(enrolment)),
    )


@subscribe(events.HoldExpired)
def hold_expired(event: events.HoldExpired) -> None:
    """A held seat lapsed (with the refund, when a late payment went back)."""
    queue(event.enrolment, K.HOLD_EXPIRED, refund=event.refund)


@subscribe(events.OfferExpired)
def offer_expired(event: events.OfferExpired) -> None:
    queue(event.enrolment, K.OFFER_EXPIRED)


@subscribe(events.Withdrawn)
def withdrawn(event: events.Withdrawn) -> None:
    queue(event.enrolment, K.WITHDRAWN, refund=event.refund)


@subscribe(events.Transferred)
def transferred(event: events.Transferred) -> None:
    queue(event.enrolment, K.TRANSFERRED, attachments=_ics(event.enrolment))


@subscribe(events.CancelledWithCohort)
def cohort_cancelled(event: events.CancelledWithCohort) -> None:
    queue(event.enrolment, K.COHORT_CANCELLED, refund=event.refund)


@subscribe(SessionChanged)
def session_changed(event: SessionChanged) -> None:
    """A session was rescheduled, retitled or cancelled: confirmed participants hear of it."""
    session = event.session
    kind = K.SESSION_CANCELLED if session.status == "cancelled" else K.SESSION_CHANGED
    confirmed = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == session.cohort_id, Enrolment.status == EnrolmentStatus.CONFIRMED)
        .order_by(Enrolment.id)
    )
    for enrolment in confirmed:
        queue(enrolment, kind, session=session)


_STANDING = {
    EnrolmentStatus.CONFIRMED: "you have a confirmed place.",
    EnrolmentStatus.PENDING_PAYMENT: "we are holding a place for you until your payment arrives.",
    EnrolmentStatus.OFFERED: "a place is offered to you; the link below lets you accept or decline it.",
    EnrolmentStatus.WAITLISTED: "you are on the waitlist.",
}


@subscribe(events.EnrolAgainAttempted)
def enrol_again_attempted(event: events.EnrolAgainAttempted) -> None:
    """Told to the address's owner at most once an hour, however often someone tries."""
    enrolment = event.enrolment
    key = f"already_enrolled:{enrolment.id}:{clock.now():%Y%m%d%H}"
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is None:
        queue(enrolment, K.ALREADY_ENROLLED, dedupe_key=key, standing=_STANDING[enrolment.status])


@subscribe(SignInLinkIssued)
def sign_in_link(event: SignInLinkIssued) -> None:
    """A staff member asked for a one-time link to the console: it goes to them alone."""
    queue_to_staff(event.member, K.SIGN_IN_LINK, sign_in_url=event.url, minutes=event.minutes)


def _ics(enrolment) -> list:
    """The enrolment's sessions as an .ics attachment, built by the calendars domain."""
    return [("invite.ics", "text/calendar", enrolment_ics(enrolment))]
