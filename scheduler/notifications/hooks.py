"""What other domains tell the notifications domain, inside their own transaction.

Each function writes the outbox row(s) for one event in the caller's transaction,
so that the email exists exactly when the change it reports was committed.
Callers hold the cohort's lock where they change enrolments; these functions
never commit.
"""

import logging

from .outbox import format_money, format_when, local_zone, manage_url, queue

log = logging.getLogger(__name__)


def enrolment_received(enrolment, payment: dict | None) -> None:
    """A seat is held pending payment: how to pay, and until when."""
    payment = payment or {}
    cohort = enrolment.cohort
    queue(
        enrolment,
        "enrolment_received",
        hold_deadline=format_when(enrolment.hold_expires_at, local_zone(enrolment)),
        provider=payment.get("provider", "manual"),
        amount=format_money(payment.get("amount", cohort.price_amount), payment.get("currency", cohort.currency)),
        reference=enrolment.id,
    )


def enrolment_confirmed(enrolment) -> None:
    """Paid (or free, or confirmed at the desk): link, schedule, calendar, manage link, .ics."""
    queue(enrolment, "enrolment_confirmed", attachments=_ics(enrolment), **_feed_links(enrolment))


def waitlisted(enrolment, position: int) -> None:
    """No seat was free: the person's place in the waitlist."""
    queue(enrolment, "waitlisted", position=position)


def seat_offered(enrolment) -> None:
    """A seat was offered from the waitlist: accept link and deadline."""
    queue(
        enrolment,
        "seat_offered",
        accept_url=manage_url(enrolment),
        offer_deadline=format_when(enrolment.offer_expires_at, local_zone(enrolment)),
    )


def hold_expired(enrolment) -> None:
    """A pending payment's hold lapsed."""
    queue(enrolment, "hold_expired", refund=None)


def offer_expired(enrolment) -> None:
    """An offer lapsed without an answer."""
    queue(enrolment, "offer_expired")


def withdrawn(enrolment, refund: dict | None) -> None:
    """The person withdrew (or declined an offer), with any refund."""
    queue(enrolment, "withdrawn", refund=refund)


def transferred(enrolment, from_cohort) -> None:
    """Staff moved a confirmed participant to another cohort (same enrolment row)."""
    queue(enrolment, "transferred", attachments=_ics(enrolment))


def cohort_cancelled(enrolment, refund: dict | None) -> None:
    """The whole cohort was cancelled: this enrolment is cancelled, with any refund."""
    queue(enrolment, "cohort_cancelled", refund=refund)


def session_changed(session) -> None:
    """A session was rescheduled, retitled or cancelled: confirmed participants hear of it."""
    from sqlalchemy import select

    from ..enrolment.models import Enrolment
    from ..extensions import db

    kind = "session_cancelled" if session.status == "cancelled" else "session_changed"
    confirmed = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == session.cohort_id, Enrolment.status == "confirmed")
        .order_by(Enrolment.id)
    )
    for enrolment in confirmed:
        queue(enrolment, kind, session=session)


def payment_refunded_after_expiry(enrolment, refund: dict | None) -> None:
    """A payment arrived after the hold lapsed with no seat free: released and refunded in full."""
    queue(enrolment, "hold_expired", refund=refund)


def _feed_links(enrolment) -> dict:
    from ..calendars.links import subscribe_links

    return subscribe_links(enrolment.participant)


def _ics(enrolment) -> list:
    """The enrolment's sessions as an .ics attachment, built by the calendars domain."""
    try:
        from ..calendars.services import enrolment_ics
    except ImportError:  # the calendars domain has not shipped it yet: send without
        log.warning("calendars.services.enrolment_ics is missing; confirmation sent without .ics")
        return []
    return [("invite.ics", "text/calendar", enrolment_ics(enrolment))]
