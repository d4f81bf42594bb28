"""The notifications domain listens: one email per event, written in the changing transaction.

Each handler writes the outbox row(s) for one event (enrolment/events.py,
cohorts/events.py) in the publisher's write transaction, so that the email exists
exactly when the change it reports was committed. Handlers never commit.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from ..calendars.services import enrolment_ics
from ..cohorts.events import SessionChanged
from ..enrolment import events, prices
from ..enrolment.models import Enrolment, EnrolmentStatus, payment_reference
from ..enrolment.wording import moved_money
from ..foundation import clock, i18n
from ..foundation.database import lock
from ..foundation.extensions import db
from ..foundation.links import manage_url, public_url, subscribe_links
from ..foundation.money import format_money
from ..payments.accounts import receipt_path
from ..payments.receipts import method_label
from ..staff.events import SignInLinkIssued
from .mime import rebuild
from .models import MessageKind as K
from .models import OutboxMessage, OutboxStatus
from .outbox import queue, queue_to_address, queue_to_staff, render
from .rendering import format_when, in_their_language, local_zone
from .wording import REFUSALS, STANDING, discount_text, hold_after_opening

_in_their_language = in_their_language(lambda event: event.enrolment.locale)


def _money_lines(enrolment, account=None) -> dict:
    """What the emails say about the price: the discount taken, and anything still owed
    (`account`: the ledger as the event's publisher read it; read here when it did not)."""
    currency = enrolment.cohort.currency
    account = account if account is not None else prices.account_of(enrolment)
    discount = None
    if enrolment.discount_code is not None:
        taken = format_money(enrolment.discount_amount, currency)
        discount = f"{discount_text(enrolment.discount_code, currency)}: -{taken}"
    receipts = [
        {
            "label": f"{format_money(p.amount, p.currency)} ({method_label(p.method)})",
            # The person opens it from the email with their manage token, like the manage link.
            "url": public_url(receipt_path(p.id)) + f"?token={enrolment.manage_token}",
        }
        for p in account.payments
    ]
    return {
        "amount_due": format_money(enrolment.amount_due, currency),
        "discount": discount,
        "balance": format_money(enrolment.owes(account), currency) if enrolment.owes(account) > 0 else None,
        "paid": format_money(account.net_paid, currency) if account.net_paid else None,
        "receipts": receipts,
    }


def _supersede(enrolment, kinds: tuple, reason: str) -> None:
    """Skip this enrolment's messages of `kinds` that are still waiting for their delay.

    A hold staff made is told after STAFF_NOTICE_DELAY_SECONDS; if it is confirmed (or
    told anew) meanwhile, the person gets only the newer message. Rows already due are
    left alone: a worker may be sending them.
    """
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.enrolment_id == enrolment.id,
            OutboxMessage.kind.in_(kinds),
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.attempts == 0,
            OutboxMessage.next_attempt_at > clock.now(),
        )
        .values(status=OutboxStatus.SKIPPED, last_error=reason)
    )


@_in_their_language
def seat_held(event: events.SeatHeld) -> None:
    """A seat is held pending payment: how much to pay, how, and until when (the real deadline)."""
    enrolment, payment = event.enrolment, event.payment
    _supersede(enrolment, (K.ENROLMENT_RECEIVED,), "not sent: a newer notice of the hold replaced it")
    message = queue(
        enrolment,
        K.ENROLMENT_RECEIVED,
        hold_deadline=format_when(enrolment.hold_expires_at, local_zone(enrolment)),
        provider=payment["provider"],
        amount=format_money(payment["amount"], payment["currency"]),
        # Nothing to pay: the seat is held for the program's agreements (read on the page, never named here).
        nothing_to_pay=payment["amount"] == 0,
        reference=payment_reference(enrolment.id),
        answers_request=event.answers_request,
        hold_after_opening=hold_after_opening(enrolment) if event.answers_request else None,
        **_money_lines(enrolment, event.account),
    )
    if event.by_staff:
        message.next_attempt_at = clock.now() + timedelta(seconds=current_app.config["STAFF_NOTICE_DELAY_SECONDS"])


@_in_their_language
def confirmed(event: events.Confirmed) -> None:
    """Paid (or free, or confirmed at the desk): link, schedule, calendar, manage link, .ics, receipts."""
    enrolment = event.enrolment
    _supersede(enrolment, (K.ENROLMENT_RECEIVED,), "not sent: confirmed before it was due")
    queue(
        enrolment,
        K.ENROLMENT_CONFIRMED,
        attachments=_ics(enrolment),
        answers_request=event.answers_request,
        **subscribe_links(enrolment),
        **_money_lines(enrolment, event.account),
    )


@_in_their_language
def refund_paid(event: events.RefundPaidOut) -> None:
    """The desk paid a refund back: told once (the dedupe key keeps it to one message)."""
    refund = event.refund
    queue(
        event.enrolment,
        K.REFUND_PAID,
        dedupe_key=f"refund_paid:{refund.id}",
        refund_amount=format_money(refund.amount, refund.currency),
        refund_method=method_label(refund.paid_method),
    )


@_in_their_language
def waitlisted(event: events.Waitlisted) -> None:
    """No seat was free: the person's place in the waitlist."""
    queue(event.enrolment, K.WAITLISTED, position=event.position, answers_request=event.answers_request)


@_in_their_language
def seat_offered(event: events.SeatOffered) -> None:
    """A seat was offered from the waitlist: accept link and deadline."""
    enrolment = event.enrolment
    queue(
        enrolment,
        K.SEAT_OFFERED,
        accept_url=manage_url(enrolment),
        offer_deadline=format_when(enrolment.offer_expires_at, local_zone(enrolment)),
    )


@_in_their_language
def hold_expired(event: events.HoldExpired) -> None:
    """A held seat lapsed (with the refund, when a late payment went back)."""
    queue(event.enrolment, K.HOLD_EXPIRED, refund=event.refund)


@_in_their_language
def offer_expired(event: events.OfferExpired) -> None:
    queue(event.enrolment, K.OFFER_EXPIRED)


@_in_their_language
def withdrawn(event: events.Withdrawn) -> None:
    # A declined offer or a left waitlist is not a withdrawal from a seat: the email says which.
    had_seat = event.enrolment.confirmed_at is not None
    queue(event.enrolment, K.WITHDRAWN, refund=event.refund, had_seat=had_seat)


@_in_their_language
def transferred(event: events.Transferred) -> None:
    queue(event.enrolment, K.TRANSFERRED, attachments=_ics(event.enrolment), money_detail=moved_money(event.change))


@_in_their_language
def cohort_cancelled(event: events.CancelledWithCohort) -> None:
    queue(event.enrolment, K.COHORT_CANCELLED, refund=event.refund)


def _as_told(state: dict) -> dict:
    """A session's state as JSON: what a notice says it was, and compares against."""
    return {
        "starts_at": state["starts_at"].isoformat(),
        "ends_at": state["ends_at"].isoformat(),
        "title": state["title"],
        "status": str(state["status"]),
    }


def session_changed(event: SessionChanged) -> None:
    """A session was rescheduled, retitled or cancelled: confirmed participants hear of it once.

    Edits within CHANGE_NOTICE_DELAY_MINUTES make one email per person: the first edit
    writes it with a not-before time, later ones rewrite it (still unsent) so that it says
    what changed from what the person was last told to how it is now. Runs under the
    cohort's lock (update_session takes it), so two edits never write two notices.
    """
    session = event.session
    at = clock.now()
    if event.before and event.before["starts_at"] <= at and session.starts_at <= at:
        return  # the record of a session already held was corrected: nothing to tell anyone
    now_state = _as_told(
        {"starts_at": session.starts_at, "ends_at": session.ends_at, "title": session.title, "status": session.status}
    )
    was_default = _as_told(event.before) if event.before else now_state
    confirmed = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == session.cohort_id, Enrolment.status == EnrolmentStatus.CONFIRMED)
        .order_by(Enrolment.id)
    ).all()
    waiting = {
        row.enrolment_id: row
        # Locked: a worker claiming one meanwhile waits, or we see it claimed.
        for row in lock(
            OutboxMessage,
            where=[
                OutboxMessage.session_id == session.id,
                OutboxMessage.kind.in_((K.SESSION_CHANGED, K.SESSION_CANCELLED)),
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.attempts == 0,
                OutboxMessage.details.is_not(None),
            ],
        )
    }
    delay = timedelta(minutes=current_app.config["CHANGE_NOTICE_DELAY_MINUTES"])
    for enrolment in confirmed:
        row = waiting.get(enrolment.id)
        was = row.details["was"] if row is not None else was_default
        if was == now_state and event.before is not None:  # moved and moved back: nothing to tell
            if row is not None:
                row.status, row.last_error = OutboxStatus.SKIPPED, "not sent: the changes cancelled out"
            continue
        kind = K.SESSION_CANCELLED if session.status == "cancelled" else K.SESSION_CHANGED
        with i18n.speaking(enrolment.locale):
            values = render(enrolment, kind, session=session, **_what_changed(enrolment, was, now_state))
        if row is None:
            values.update(details={"was": was}, next_attempt_at=clock.now() + delay)
            db.session.add(OutboxMessage(**values))
        else:
            row.kind, row.subject = kind, values["subject"]
            row.body_text, row.body_html = values["body_text"], values["body_html"]
            rebuild(row)


def _what_changed(enrolment, was: dict, now: dict) -> dict:
    """The template's words for a change: old and new time in the person's zone, title, status."""
    zone = local_zone(enrolment)
    was_start = datetime.fromisoformat(was["starts_at"])
    moved = was["starts_at"] != now["starts_at"] or was["ends_at"] != now["ends_at"]
    return {
        "was_when": format_when(was_start, zone),
        "time_changed": moved,
        "was_title": was["title"],
        "title_changed": was["title"] != now["title"],
        "restored": was["status"] == "cancelled" and now["status"] != "cancelled",
    }


@_in_their_language
def enrol_again_attempted(event: events.EnrolAgainAttempted) -> None:
    """Told to the address's owner at most once an hour, however often someone tries; a public
    request is always answered (it was told "check your email"; the inbox limits requests per address)."""
    enrolment = event.enrolment
    key = None if event.answers_request else f"already_enrolled:{enrolment.id}:{clock.now():%Y%m%d%H}"
    if key is None or db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is None:
        queue(
            enrolment,
            K.ALREADY_ENROLLED,
            dedupe_key=key,
            standing=str(STANDING[enrolment.status]),
            answers_request=event.answers_request,
        )


@_in_their_language
def link_asked_again(event: events.LinkAskedAgain) -> None:
    """ "Send it again": the enrolment's link and where it stands, under the one answer subject."""
    enrolment = event.enrolment
    standing = str(STANDING[enrolment.status])
    queue(enrolment, K.ALREADY_ENROLLED, standing=standing, answers_request=True, asked_again=True)


def request_refused(event: events.RequestRefused) -> None:
    """A public request could not be carried out: why, and the group's page (no enrolment exists)."""
    cohort = event.cohort
    queue_to_address(
        event.email,
        event.name,
        K.REQUEST_REFUSED,
        locale=event.locale,
        reason=REFUSALS.get(event.reason, REFUSALS["closed"]),
        cohort_url=public_url(f"/cohorts/{cohort.id}"),
    )


def sign_in_link(event: SignInLinkIssued) -> None:
    """A staff member asked for a one-time link to the console: it goes to them alone."""
    queue_to_staff(event.member, K.SIGN_IN_LINK, sign_in_url=event.url, minutes=event.minutes)


def _ics(enrolment) -> list:
    """The enrolment's sessions as an .ics attachment, built by the calendars domain."""
    return [("invite.ics", "text/calendar", enrolment_ics(enrolment))]
