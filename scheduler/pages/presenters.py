"""View-models for the pages: plain dicts built from what the services return.

Templates read only these values, never ORM rows, so a service may change the shape
of what it returns and only this module follows. Times are shown in a named zone with
its abbreviation, and carried as UTC in `iso` so the browser may add the visitor's zone.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext

from ..appointments import individual
from ..cohorts.joining import joining
from ..enrolment.models import payment_reference
from ..enrolment.refunding import refund_deadline, refund_due
from ..foundation import clock, i18n
from ..foundation.links import join_url, subscribe_links
from ..foundation.money import format_money
from ..payments import gateway
from ..payments.receipts import method_label
from .clinic_texts import clinic_text
from .zones import zone_label

ACTIVE = ("pending_payment", "waitlisted", "offered", "confirmed")


# ---- small formatting helpers -----------------------------------------------------------------


def money(amount: int, currency: str) -> str:
    return _("Free") if amount == 0 else format_money(amount, currency)


def hold_text(cohort) -> str:
    """How long a seat is held while the person pays: hold_minutes by card, manual_hold_hours by hand."""
    if gateway.configured():
        return ngettext("%(num)d minute", "%(num)d minutes", cohort.hold_minutes)
    return ngettext("%(num)d hour", "%(num)d hours", cohort.manual_hold_hours)


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone)


def day_text(instant: datetime, zone: ZoneInfo) -> str:
    """Thursday, October 3, 2030 (jueves, 3 de octubre de 2030), in the page's language."""
    return i18n.day_text(_local(instant, zone))


def time_text(instant: datetime, zone: ZoneInfo) -> str:
    """6:00 PM (18:00), in the page's language."""
    return i18n.time_text(_local(instant, zone))


def moment(instant: datetime | None, zone: ZoneInfo) -> dict | None:
    """An instant as the page shows it: text in `zone`, and ISO UTC for <time datetime>."""
    if instant is None:
        return None
    local = _local(instant, zone)
    return {
        "iso": instant.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "text": i18n.when_text(local),
        "zone": str(zone),
    }


def person_zone(enrolment) -> ZoneInfo:
    """The zone a person's times are shown in: theirs, else their cohort's."""
    return ZoneInfo(enrolment.timezone or enrolment.cohort.timezone)


# Each language named in itself, for the Language field.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def language_choices() -> list[dict]:
    """The shipped languages, for the Language field of the forms."""
    return [{"value": code, "label": LANGUAGE_NAMES.get(code, code)} for code in i18n.LOCALES]


def clinic() -> dict:
    config = current_app.config
    return {
        "name": config["CLINIC_NAME"],
        "phone": config.get("CLINIC_PHONE", ""),
        "email": config.get("CLINIC_EMAIL", ""),
    }


# ---- cohorts ----------------------------------------------------------------------------------


def schedule(cohort, zone: ZoneInfo) -> list[dict]:
    """Every session in order, with the skipped weeks between them (they push the schedule out)."""
    rows = []
    for session in cohort.sessions:
        local_end = _local(session.ends_at, zone)
        rows.append(
            {
                "kind": "session",
                "number": session.number,
                # Untitled sessions are called "Session N" already: say it once.
                "title": "" if session.title == f"Session {session.number}" else session.title,
                "at": session.starts_at,
                "date": day_text(session.starts_at, zone),
                "time": f"{time_text(session.starts_at, zone)} – {time_text(session.ends_at, zone)} {local_end:%Z}",
                "iso": moment(session.starts_at, zone)["iso"],
                "zone": str(zone),
                "cancelled": session.status == "cancelled",
            }
        )
    cohort_zone = ZoneInfo(cohort.timezone)
    hour, minute = (int(part) for part in cohort.start_time.split(":"))
    for iso_date in cohort.skip_dates or []:
        skipped = datetime.combine(datetime.fromisoformat(iso_date).date(), time(hour, minute), cohort_zone)
        rows.append({"kind": "skipped", "at": skipped, "date": day_text(skipped, zone)})
    rows.sort(key=lambda row: row["at"])
    return rows


def refund_policy(cohort, zone: ZoneInfo) -> dict:
    deadline = refund_deadline(cohort)
    return {
        "hours": cohort.refund_cutoff_hours,
        "deadline": moment(deadline, zone),
        "note": clinic_text("REFUND_POLICY_NOTE"),
    }


# ---- a participant's page ----------------------------------------------------------------------


def _shown_status(enrolment, at) -> str:
    # A lapsed hold or offer holds nothing even before the job marks it expired.
    if enrolment.status in ("pending_payment", "offered") and not enrolment.holds_seat(at):
        return "expired"
    return enrolment.status


def _payment(enrolment, card: dict | None) -> dict:
    """How this person pays for their held seat: the card form, a retry, or the clinic's instructions."""
    amount = money(enrolment.balance, enrolment.cohort.currency)  # what is still owed (level, discount, paid)
    if card is None:
        return {
            "kind": "manual",
            "amount": amount,
            "instructions": clinic_text("PAYMENT_INSTRUCTIONS"),
            "reference": payment_reference(enrolment.id),
        }
    status = card["status"]
    if status in ("processing", "succeeded", "requires_capture"):
        return {"kind": "confirming", "amount": amount}
    if status in ("requires_payment_method", "requires_confirmation", "requires_action", "open", "failed"):
        if card.get("client_secret"):
            return {
                "kind": "card",
                "amount": amount,
                "client_secret": card["client_secret"],
                "publishable_key": card.get("publishable_key", ""),
                "failed": card.get("failed", False),
                "stripe_js_url": current_app.config["STRIPE_JS_URL"],
            }
    if status == "unavailable":
        return {"kind": "unavailable", "amount": amount}
    return {"kind": "restart", "amount": amount}  # none yet, or cancelled: start a new one


def _calendar(enrolment) -> dict:
    links = subscribe_links(enrolment)
    return {
        "apple": links["apple_url"],
        "google": links["google_url"],
        "outlook": links["outlook_url"],
        "download": url_for("pages.download_ics", enrolment_id=enrolment.id),
        "feed": links["calendar_url"],
    }


def refund_text(enrolment, amount: int) -> str:
    """The refund a person gets by withdrawing now, in plain words."""
    cohort = enrolment.cohort
    held = enrolment.amount_paid - enrolment.amount_refunded
    if held == 0:
        return _("You have not paid anything, so there is nothing to refund.")
    paid = money(held, cohort.currency)
    if amount == 0:
        deadline = moment(refund_deadline(cohort), person_zone(enrolment))
        if deadline:
            return _(
                "The refund period ended on %(when)s, so the %(paid)s you paid would not be refunded.",
                when=deadline["text"],
                paid=paid,
            )
        return _("The refund period ended, so the %(paid)s you paid would not be refunded.", paid=paid)
    back = money(amount, cohort.currency)
    if enrolment.payment_method == "card":
        return _(
            "You would get %(amount)s back, to the card you paid with (it usually shows within 5 to 10 days).",
            amount=back,
        )
    return _("You would get %(amount)s back; the front desk returns money paid at the desk.", amount=back)


_ATTENDED = {
    "present": lazy_gettext("Attended"),
    "late": lazy_gettext("Attended (late)"),
    "absent": lazy_gettext("Missed"),
    "excused": lazy_gettext("Excused"),
}


def _attendance(enrolment, zone: ZoneInfo) -> list[dict]:
    """The person's own attendance, session by session (only what was recorded; nobody else's)."""
    extras = getattr(enrolment, "extras", None) or {}
    starts = {s.id: s.starts_at for s in enrolment.cohort.sessions}
    return [
        {
            "number": mark["number"],
            "when": moment(starts[mark["session_id"]], zone),
            "said": str(_ATTENDED[mark["status"]]),
        }
        for mark in extras.get("attendance", [])
        if mark["status"] in _ATTENDED and mark["session_id"] in starts
    ]


def _agreements(enrolment, status: str, zone: ZoneInfo) -> list[dict]:
    """The program's current agreements, to read and accept while the place is held (or, a newer
    version, once confirmed): the text in paragraphs, and when each was accepted."""
    if status not in ("pending_payment", "confirmed"):
        return []
    shown = []
    for item in (getattr(enrolment, "extras", None) or {}).get("agreements", []):
        paragraphs = [p.splitlines() for p in item["body"].replace("\r\n", "\n").split("\n\n") if p.strip()]
        shown.append({**item, "paragraphs": paragraphs, "when": moment(item["accepted_at"], zone)})
    return shown


def agreements_pending(enrolment) -> bool:
    """Whether the person has a current agreement of their program still to accept."""
    return any(not item["accepted"] for item in (getattr(enrolment, "extras", None) or {}).get("agreements", []))


def individual_sessions(enrolment, zone: ZoneInfo) -> list[dict]:
    """The person's individual sessions beside the group (the full programme), with their join links
    and, up to the program's cutoff, a way to cancel one."""
    at = clock.now()
    cutoff = timedelta(hours=enrolment.cohort.program.individual_cancel_hours)
    shown = []
    for a in individual.appointments_of(enrolment.id):
        cancelled = a.status == "cancelled"
        ahead = not cancelled and a.starts_at > at
        shown.append(
            {
                "id": a.id,
                "when": moment(a.starts_at, zone),
                "join_url": join_url(a),
                "cancelled": cancelled,
                "attendance": a.attendance,
                "cancel_url": url_for("pages.individual_cancel", enrolment_id=enrolment.id, appointment_id=a.id)
                if ahead and a.starts_at - cutoff > at
                else None,
                "too_late_to_cancel": ahead and a.starts_at - cutoff <= at,
            }
        )
    return shown


def participant_page(enrolment, card: dict | None) -> dict:
    """What one person sees about their enrolment, by status."""
    at = clock.now()
    cohort = enrolment.cohort
    zone = person_zone(enrolment)
    status = _shown_status(enrolment, at)
    refund = refund_due(enrolment, at) if status in ACTIVE else 0
    page = {
        "id": enrolment.id,
        "name": enrolment.name,
        "status": status,
        "individual": individual_sessions(enrolment, zone) if status == "confirmed" else [],
        "individual_cancel_hours": cohort.program.individual_cancel_hours,
        "receipts": [
            {
                "label": f"{money(p.amount, p.currency)} ({method_label(p.method)}), {day_text(p.created_at, zone)}",
                "url": url_for("pages.receipt", enrolment_id=enrolment.id, payment_id=p.id),
            }
            for p in enrolment.account.payments
        ],
        "had_seat": enrolment.confirmed_at is not None,  # a withdrawal, not a declined offer or a left waitlist
        "declined": enrolment.offer_expires_at is not None and enrolment.confirmed_at is None,
        "cohort": {
            "name": cohort.name,
            "program": cohort.program.name,
            "url": url_for("pages.cohort", cohort_id=cohort.id),
            "open": joining(cohort, at).public,
            "session_count": cohort.session_count,
            "duration_minutes": cohort.duration_minutes,
        },
        "zone": str(zone),
        "zone_label": zone_label(str(zone)),
        "price": money(enrolment.amount_due, cohort.currency),  # this person's price (level, discount)
        "schedule": schedule(cohort, zone) if status in ACTIVE else [],
        "refund_policy": refund_policy(cohort, zone),
        "hold": moment(enrolment.hold_expires_at, zone) if status == "pending_payment" else None,
        "offer": moment(enrolment.offer_expires_at, zone) if status == "offered" else None,
        "position": getattr(enrolment, "waitlist_position", None),
        "paid_price": enrolment.amount_due > 0,
        "hold_minutes": cohort.hold_minutes,
        "hold_text": hold_text(cohort),
        "offer_hours": cohort.offer_hours,
        "can_withdraw": status in ACTIVE,
        "refund_amount": refund,
        "refund_text": refund_text(enrolment, refund),
        "withdraw_url": url_for("pages.withdraw", enrolment_id=enrolment.id),
        "payment": _payment(enrolment, card) if status == "pending_payment" else None,
        # The agreements come first: Pay is shown once every one is accepted.
        "agreements": _agreements(enrolment, status, zone),
        "agreements_url": url_for("pages.accept_agreements", enrolment_id=enrolment.id),
        "balance": money(enrolment.balance, cohort.currency) if enrolment.balance > 0 else None,
    }
    page["agreements_pending"] = [a for a in page["agreements"] if not a["accepted"]]
    page["attendance"] = _attendance(enrolment, zone)
    if status == "confirmed":
        # The personal link: it stops working if they leave, and follows a replaced meeting link.
        page["join_url"] = join_url(enrolment) if cohort.meeting_url else None
        page["calendar"] = _calendar(enrolment)
    return page


def withdrawal_message(result) -> str:
    """What the person is told right after withdrawing, from what withdraw() returned."""
    refund = getattr(result, "refund", None)
    if not refund:
        return _("You have withdrawn. No refund is due.")
    back = money(refund["amount"], refund["currency"])
    if refund["status"] == "owed_by_front_desk":
        return _("You have withdrawn. The front desk will return %(amount)s to you.", amount=back)
    return _(
        "You have withdrawn. %(amount)s is on its way back to your card (it usually shows within 5 to 10 days).",
        amount=back,
    )


def awaits_payment(enrolment) -> bool:
    """Whether the page offers a way to pay: a seat held, not yet paid for, every agreement accepted."""
    held = enrolment.status == "pending_payment" and enrolment.holds_seat(clock.now())
    return held and not agreements_pending(enrolment)
