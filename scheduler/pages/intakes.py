"""A person's intake page (their request for a place in an intake program): thin views over admission.

Like the enrolment page, the emailed ?token= is exchanged once for an HttpOnly cookie scoped to
this intake's path, and the person is sent on to the same address without it.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from ..admission import booking, records, services
from ..admission.models import Intake
from ..enrolment.models import Enrolment
from ..foundation import i18n
from ..foundation.errors import Conflict, Forbidden, NotFound
from ..foundation.extensions import db
from ..foundation.links import intake_subscribe_links, join_url, manage_url
from ..foundation.security import private
from . import field_errors, presenters
from .views import COOKIE, PARTICIPANT_PAGE, bp, page, remember

_STANDING = {
    "requested": lazy_gettext(
        "Your request is in the queue. Next comes a short assessment with one of our clinicians."
    ),
    "scheduled": lazy_gettext("Your assessment is booked."),
    "approved": lazy_gettext(
        "We would be glad to offer you a place. Places are offered in the order requests came in."
    ),
    "not_suitable": lazy_gettext("We do not think this program is the right fit for you at the moment."),
    "withdrawn": lazy_gettext("You withdrew this request."),
    "enrolled": lazy_gettext("You took a place in a group."),
    "expired": lazy_gettext("This approval has lapsed: no place was taken in time. You may ask for a place again."),
}


SLOTS_SHOWN = 40


def _slot_days(found, zone: ZoneInfo) -> list[dict]:
    """Free assessment slots grouped by day, in the person's zone (the first SLOTS_SHOWN)."""
    days: dict[str, dict] = {}
    for slot in booking.slots(found.id)[:SLOTS_SHOWN]:
        local = slot["starts_at"].astimezone(zone)
        day = days.setdefault(
            local.date().isoformat(), {"day": presenters.day_text(slot["starts_at"], zone), "slots": []}
        )
        day["slots"].append(
            {
                "starts_at": slot["starts_at"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "time": presenters.time_text(slot["starts_at"], zone),
                "id": f"slot-{local:%Y%m%d%H%M}",
            }
        )
    return list(days.values())


def _calendar(intake) -> dict:
    """Subscribe links to the person's appointment feed: it follows a change or a cancellation."""
    links = intake_subscribe_links(intake)
    return {
        "apple": links["apple_url"],
        "google": links["google_url"],
        "outlook": links["outlook_url"],
        "feed": links["calendar_url"],
    }


def _view_model(found, offer, offer_url: str | None, with_slots: bool = False) -> dict:
    """What the intake page shows: the standing, the place in the queue, the assessment, the message,
    an open offer."""
    zone = booking.zone_of(found.intake)
    open_offer = offer is not None and offer.status in ("offered", "pending_payment")
    appointment = found.appointment
    return {
        "appointment": {
            "when": presenters.moment(appointment.starts_at, zone),
            "minutes": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
            "join_url": join_url(appointment),
            "calendar": _calendar(found.intake),
        }
        if appointment is not None
        else None,
        "slots": _slot_days(found, zone) if with_slots and found.status in ("requested", "scheduled") else [],
        "zone": str(zone),
        "id": found.id,
        "name": found.name,
        "program": found.program.name,
        "status": found.status,
        "standing": str(_STANDING[found.status]),
        "queue_position": found.queue_position,
        "requested": presenters.moment(found.requested_at, zone),
        "message": found.outcome_message,
        "offer": {"cohort": offer.cohort.name or found.program.name, "url": offer_url, "status": offer.status}
        if offer is not None and (open_offer or found.status == "enrolled")
        else None,
        "can_withdraw": found.status in ("requested", "scheduled", "approved"),
        "withdraw_url": url_for("pages.intake_confirm_withdrawal", intake_id=found.id),
    }


def _require_owner(intake_id: str) -> None:
    token = request.cookies.get(COOKIE)
    if not token:
        raise Forbidden("This page is personal: open it from the link in your email.")
    if not services.intake_token_matches(intake_id, token):
        raise NotFound("This link is not valid any more.")
    i18n.use_locale(db.session.get(Intake, intake_id).locale)  # the person's page speaks their language


def _to_intake_page(intake_id: str) -> Response:
    return private(redirect(url_for("pages.intake", intake_id=intake_id), 303))


@bp.get("/me/intakes/<intake_id>")
@page(PARTICIPANT_PAGE)
def intake(intake_id):
    """The person's request: where it stands in the queue, the outcome, and any place offered."""
    token = request.args.get("token")
    if token is not None:
        if not services.intake_token_matches(intake_id, token):
            raise NotFound("This link is not valid any more.")
        return remember(_to_intake_page(intake_id), url_for("pages.intake", intake_id=intake_id), token)
    _require_owner(intake_id)
    found = records.get_intake(intake_id)
    offer = db.session.get(Enrolment, found.offer_enrolment_id) if found.offer_enrolment_id else None
    me = _view_model(found, offer, manage_url(offer) if offer is not None else None, with_slots=True)
    return private(Response(render_template("pages/intake.html", me=me)))


@bp.get("/me/intakes/<intake_id>/withdraw")
@page(PARTICIPANT_PAGE)
def intake_withdraw(intake_id):
    """The confirmation step before leaving the queue."""
    _require_owner(intake_id)
    found = records.get_intake(intake_id)
    offer = db.session.get(Enrolment, found.offer_enrolment_id) if found.offer_enrolment_id else None
    me = _view_model(found, offer, None)
    if not me["can_withdraw"]:
        return _to_intake_page(intake_id)
    return private(Response(render_template("pages/intake_withdraw.html", me=me)))


@bp.post("/me/intakes/<intake_id>/withdraw")
@page(PARTICIPANT_PAGE)
def intake_confirm_withdrawal(intake_id):
    _require_owner(intake_id)
    try:
        services.withdraw(intake_id)
    except Conflict:
        flash(_("There was nothing left to withdraw: your request had already ended."), "error")
    else:
        flash(_("You have withdrawn your request. Thank you for letting us know."), "success")
    return _to_intake_page(intake_id)


@bp.post("/me/intakes/<intake_id>/book")
@page(PARTICIPANT_PAGE)
def intake_book(intake_id):
    """Book (or move the assessment to) the slot chosen on the page."""
    _require_owner(intake_id)
    try:
        starts_at = datetime.fromisoformat(request.form.get("starts_at", "").replace("Z", "+00:00"))
        if starts_at.tzinfo is None:
            raise ValueError
    except ValueError:
        flash(_("Choose one of the free times below."), "error")
        return _to_intake_page(intake_id)
    try:
        done = booking.book(intake_id, starts_at)
    except Conflict as refused:
        flash(field_errors.refusal(refused.detail), "error")
    else:
        when = presenters.moment(done.appointment.starts_at, booking.zone_of(done.intake))["text"]
        flash(_("Your assessment is booked for %(when)s. We have emailed you the link.", when=when), "success")
    return _to_intake_page(intake_id)


@bp.get("/me/intakes/<intake_id>/appointment")
@page(PARTICIPANT_PAGE)
def intake_appointment(intake_id):
    """Change or cancel: another free time, or cancelling (until the program's cutoff)."""
    _require_owner(intake_id)
    found = records.get_intake(intake_id)
    if found.appointment is None:
        return _to_intake_page(intake_id)
    me = _view_model(found, None, None, with_slots=True)
    return private(Response(render_template("pages/intake_appointment.html", me=me)))


@bp.post("/me/intakes/<intake_id>/appointment/cancel")
@page(PARTICIPANT_PAGE)
def intake_cancel_appointment(intake_id):
    _require_owner(intake_id)
    try:
        booking.cancel(intake_id)
    except Conflict as refused:
        flash(field_errors.refusal(refused.detail), "error")
    else:
        flash(_("Your appointment is cancelled. You can book another time below."), "success")
    return _to_intake_page(intake_id)
