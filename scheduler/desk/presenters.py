"""Words and numbers as the console shows them: statuses, actions, money, times and deadlines.

Templates call these through `fmt` (blueprint.py). Times are shown in the cohort's own zone,
which is the zone the group meets in and the one the desk talks about on the phone.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_babel import ngettext, pgettext

from ..cohorts.schedule import planned_start
from ..enrolment.models import payment_reference as reference  # noqa: F401  (templates: fmt.reference)
from ..foundation import clock, i18n
from ..foundation.money import format_money
from .forms import major_units

# Labels carry a context (extract with `-k _lp:1c,2`): Spanish agrees "Cancelled" with what is
# cancelled (una inscripción cancelada, un grupo cancelado).

ENROLMENT_STATUS = {
    "pending_payment": _lp("enrolment status", "Pending payment"),
    "waitlisted": _lp("enrolment status", "Waitlisted"),
    "offered": _lp("enrolment status", "Offered a seat"),
    "confirmed": _lp("enrolment status", "Confirmed"),
    "expired": _lp("enrolment status", "Expired"),
    "withdrawn": _lp("enrolment status", "Withdrawn"),
    "cancelled": _lp("enrolment status", "Cancelled"),
}
COHORT_STATUS = {
    "draft": _lp("cohort status", "Draft"),
    "open": _lp("cohort status", "Open"),
    "closed": _lp("cohort status", "Closed"),
    "running": _lp("cohort status", "Running"),
    "completed": _lp("cohort status", "Completed"),
    "cancelled": _lp("cohort status", "Cancelled"),
}
METHODS = {
    "cash": _lp("payment method", "Cash"),
    "check": _lp("payment method", "Check"),
    "card_in_person": _lp("payment method", "Card, in person"),
    "insurance": _lp("payment method", "Insurance"),
    "waived": _lp("payment method", "Waived"),
    "card": _lp("payment method", "Card, online"),
    # How the desk may pay a refund out (payments.models.PAYOUT_METHODS).
    "bank_transfer": _lp("payment method", "Bank transfer"),
    "other": _lp("payment method", "Other"),
}
DESK_METHODS = ("cash", "check", "card_in_person", "insurance", "waived")
ACTIONS = {
    "enrolled": _lp("history entry", "Enrolled"),
    "expired": _lp("history entry", "Hold or offer lapsed"),
    "expired_unpaid_seat_gone": _lp("history entry", "Lapsed: paid late and the seat was gone"),
    "offered": _lp("history entry", "Offered a seat from the waitlist"),
    "offered_by_staff": _lp("history entry", "Offered a seat by staff"),
    "accepted": _lp("history entry", "Accepted the offer"),
    "declined": _lp("history entry", "Declined the offer"),
    "withdrawn": _lp("history entry", "Withdrawn"),
    "moved": _lp("history entry", "Moved in the waitlist"),
    "confirmed_at_desk": _lp("history entry", "Payment confirmed at the desk"),
    "transferred": _lp("history entry", "Transferred to another cohort"),
    "cohort_cancelled": _lp("history entry", "Cohort cancelled"),
    "refunded_in_stripe_dashboard": _lp("history entry", "Refunded in the Stripe dashboard"),
    "message_resent": _lp("history entry", "Message sent again"),
    "refund_paid_out": _lp("history entry", "Refund paid out by the desk"),
    "agreements_accepted": _lp("history entry", "Accepted the program's agreements"),
    "agreements_on_paper": _lp("history entry", "Agreements signed on paper"),
    # Written with the code's own words until they had a label of their own.
    "link_opened": _lp("history entry", "Link opened"),
    "offered_from_queue": _lp("history entry", "Offered from queue"),
    "paid_at_desk": _lp("history entry", "Paid at desk"),
    "part_paid_at_desk": _lp("history entry", "Part paid at desk"),
    "price_changed": _lp("history entry", "Price changed"),
    "diagnosis_codes_set": _lp("history entry", "Diagnosis codes set"),
    "attendance_flag_cleared": _lp("history entry", "Attendance flag cleared"),
    "join_link_rotated": _lp("history entry", "Join link rotated"),
    "erased": _lp("history entry", "Erased"),
    # The staff audit log.
    "signed_in": _lp("history entry", "Signed in"),
    "signed_out": _lp("history entry", "Signed out"),
    "sign_in_link_printed": _lp("history entry", "Sign-in link printed on the command line"),
    "api_token_created": _lp("history entry", "API token created"),
    "api_token_revoked": _lp("history entry", "API token revoked"),
    "staff_created": _lp("history entry", "Staff account created"),
    "role_changed": _lp("history entry", "Role changed"),
    "staff_revoked": _lp("history entry", "Access revoked"),
    "staff_updated": _lp("history entry", "Staff account changed"),
    "calendar_link_replaced": _lp("history entry", "Calendar link replaced"),
    "language_chosen": _lp("history entry", "Console language chosen"),
    "agreement_added": _lp("history entry", "Agreement added to a program"),
}
MESSAGES = {
    "enrolment_received": _lp("message kind", "Place held: how to pay"),
    "enrolment_confirmed": _lp("message kind", "Enrolment confirmed"),
    "waitlisted": _lp("message kind", "On the waitlist"),
    "seat_offered": _lp("message kind", "Seat offered"),
    "hold_expired": _lp("message kind", "Held place lapsed"),
    "offer_expired": _lp("message kind", "Offer lapsed"),
    "withdrawn": _lp("message kind", "Withdrawal"),
    "transferred": _lp("message kind", "Moved to another group"),
    "cohort_cancelled": _lp("message kind", "Group cancelled"),
    "session_changed": _lp("message kind", "Session changed"),
    "session_cancelled": _lp("message kind", "Session cancelled"),
    "reminder": _lp("message kind", "Session reminder"),
    "already_enrolled": _lp("message kind", "Already enrolled"),
}
MESSAGE_STATUS = {
    "pending": _lp("message status", "Waiting to send"),
    "sending": _lp("message status", "Sending"),
    "sent": _lp("message status", "Sent"),
    "failed": _lp("message status", "Failed"),
    "skipped": _lp("message status", "Not sent"),
}
REFUND_STATUS = {
    "pending": _lp("refund status", "On its way (card)"),
    "succeeded": _lp("refund status", "Refunded (card)"),
    "failed": _lp("refund status", "Failed"),
    "owed_by_front_desk": _lp("refund status", "Owed by the front desk"),
    "paid_by_front_desk": _lp("refund status", "Paid out by the front desk"),
}
INTAKE_STATUS = {
    "requested": _lp("intake status", "Requested"),
    "scheduled": _lp("intake status", "Assessment booked"),
    "approved": _lp("intake status", "Approved"),
    "not_suitable": _lp("intake status", "Not suitable"),
    "withdrawn": _lp("intake status", "Withdrawn"),
    "enrolled": _lp("intake status", "Enrolled"),
    "expired": _lp("intake status", "Approval lapsed"),
}
# A payment's status, a refund's reason and an individual session's attendance: the English is the
# code's own words (what the page showed before it was translated).
PAYMENT_STATUS = {
    "creating": _lp("payment status", "Creating"),
    "open": _lp("payment status", "Open"),
    "failed": _lp("payment status", "Failed"),
    "succeeded": _lp("payment status", "Succeeded"),
    "cancelled": _lp("payment status", "Cancelled"),
}
REFUND_REASONS = {
    "withdrawn": _lp("refund reason", "Withdrawn"),
    "hold_lapsed": _lp("refund reason", "Hold lapsed"),
    "cohort_cancelled": _lp("refund reason", "Cohort cancelled"),
    "no_seat": _lp("refund reason", "No seat"),
    "overpaid": _lp("refund reason", "Overpaid"),
    "paid_while_expired": _lp("refund reason", "Paid while expired"),
    "paid_while_withdrawn": _lp("refund reason", "Paid while withdrawn"),
    "paid_while_cancelled": _lp("refund reason", "Paid while cancelled"),
    "paid_while_waitlisted": _lp("refund reason", "Paid while waitlisted"),
    "transfer_price_difference": _lp("refund reason", "Transfer price difference"),
    "stripe_dashboard": _lp("refund reason", "Stripe dashboard"),
}
ATTENDANCE = {
    "present": _lp("attendance", "Present"),
    "late": _lp("attendance", "Late"),
    "absent": _lp("attendance", "Absent"),
    "excused": _lp("attendance", "Excused"),
}
# What was done to an intake request, as its history lists it (lower case, in a sentence).
INTAKE_ACTIONS = {
    "outcome": _lp("intake history", "outcome"),
    "withdrawn": _lp("intake history", "withdrawn"),
    "moved": _lp("intake history", "moved"),
    "assessment_booked": _lp("intake history", "assessment booked"),
    "assessment_cancelled": _lp("intake history", "assessment cancelled"),
    "offered": _lp("intake history", "offered"),
    "offered_by_staff": _lp("intake history", "offered by staff"),
    "enrolled": _lp("intake history", "enrolled"),
    "offer_passed": _lp("intake history", "offer passed"),
    "approval_expired": _lp("intake history", "approval expired"),
}
WEEKDAY_NAMES = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
ROLES = {
    "admin": _lp("staff role", "Admin"),
    "front_desk": _lp("staff role", "Front desk"),
    "facilitator": _lp("staff role", "Facilitator"),
}


# "Thursdays" as the weekly rule reads (datetime.weekday(): Monday is 0).
WEEKDAYS = (
    _l("Mondays"),
    _l("Tuesdays"),
    _l("Wednesdays"),
    _l("Thursdays"),
    _l("Fridays"),
    _l("Saturdays"),
    _l("Sundays"),
)


def label(table: dict, value) -> str:
    """A code's words in the page's language (a code without a label: its own words, as a fallback)."""
    return str(table.get(str(value), str(value).replace("_", " ").capitalize())) if value is not None else ""


def intake_action(action: str) -> str:
    return str(INTAKE_ACTIONS.get(action, action.replace("_", " ")))


def weekday_name(index: int) -> str:
    """Monday for 0 (the weekday of a weekly availability)."""
    return str(WEEKDAY_NAMES[index])


def weekdays_of(index: int) -> str:
    """Mondays for 0: a weekly rule's day."""
    return str(WEEKDAYS[index])


def money(amount: int | None, currency: str) -> str:
    """$360.00, and $0.00 for nothing (the participant pages say "Free"; a balance of nothing is $0.00)."""
    return "" if amount is None else format_money(amount, currency)


def amount_field(amount: int | None) -> str:
    return major_units(amount)


def when(instant: datetime | None, zone: str) -> str:
    """'Thu, Oct 22, 6:00 PM EDT' in the given zone."""
    if instant is None:
        return ""
    local = instant.astimezone(ZoneInfo(zone))
    language = i18n.page_language()
    if language == "en":
        return f"{local:%a, %b} {local.day}, {local:%-I:%M %p %Z}"
    # jue 22 oct, 18:00 EDT: the language's own short date and time; the zone as the clock names it.
    return (
        f"{format_date(local, 'EEE d MMM', locale=language)}, {format_time(local, 'H:mm', locale=language)} {local:%Z}"
    )


def day(instant: datetime | None, zone: str) -> str:
    if instant is None:
        return ""
    local = instant.astimezone(ZoneInfo(zone))
    language = i18n.page_language()
    if language == "en":
        return f"{local:%a, %b} {local.day}, {local.year}"
    return format_date(local, "EEE d MMM y", locale=language)  # jue 22 oct 2030


def iso(instant: datetime | None) -> str:
    return "" if instant is None else instant.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def relative(instant: datetime | None) -> str:
    """'in 25 min', 'in 3 h', 'in 2 days', '5 min ago'."""
    if instant is None:
        return ""
    seconds = (instant - clock.now()).total_seconds()
    past, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        return _("less than a minute ago") if past else _("in less than a minute")
    if seconds < 3600:
        n = int(seconds // 60)
        return (
            ngettext("%(num)s min ago", "%(num)s min ago", n)
            if past
            else ngettext("in %(num)s min", "in %(num)s min", n)
        )
    if seconds < 48 * 3600:
        n = int(seconds // 3600)
        return ngettext("%(num)s h ago", "%(num)s h ago", n) if past else ngettext("in %(num)s h", "in %(num)s h", n)
    n = int(seconds // 86400)  # two days or more
    return (
        ngettext("%(num)s day ago", "%(num)s days ago", n) if past else ngettext("in %(num)s day", "in %(num)s days", n)
    )


def local_input(instant: datetime, zone: str) -> tuple[str, str]:
    """(YYYY-MM-DD, HH:MM) in the zone: the values of a date and a time field."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d}", f"{local:%H:%M}"


def weekly(cohort) -> str:
    """'Thursdays, 6:00 PM EDT' from the weekly rule (not from a session that was moved)."""
    rule = planned_start(cohort)
    if rule is None:
        return ""
    local = rule.astimezone(ZoneInfo(cohort.timezone))
    return _(
        "%(weekdays)s, %(time)s %(zone)s",
        weekdays=WEEKDAYS[local.weekday()],
        time=i18n.time_text(local),
        zone=f"{local:%Z}",
    )


def change(entry, cohort_names: dict | None = None) -> str:
    """What an audit entry changed, in a few words: status before -> after, and its details."""
    before, after = entry.before or {}, entry.after or {}
    names = cohort_names or {}
    parts = []
    if before.get("status") and after.get("status") and before["status"] != after["status"]:
        parts.append(f"{label(ENROLMENT_STATUS, before['status'])} → {label(ENROLMENT_STATUS, after['status'])}")
    elif after.get("status") and entry.action == "enrolled":
        parts.append(label(ENROLMENT_STATUS, after["status"]))
    if "waitlist_position" in after:
        parts.append(
            _(
                "position %(before)s → %(after)s",
                before=before.get("waitlist_position", "?"),
                after=after["waitlist_position"],
            )
        )
    if after.get("method"):
        parts.append(label(METHODS, after["method"]))
    if after.get("reference"):
        parts.append(_("reference %(reference)s", reference=after["reference"]))
    refund = after.get("refund")
    if isinstance(refund, dict) and refund.get("amount"):
        parts.append(_("refund %(amount)s", amount=money(refund["amount"], refund.get("currency", "usd"))))
    if before.get("cohort_id") and after.get("cohort_id") and before["cohort_id"] != after["cohort_id"]:
        source, target = names.get(before["cohort_id"]), names.get(after["cohort_id"])
        if source is None:
            source = _("another cohort")
        if target is None:
            target = pgettext("cohort", "another")
        parts.append(_("from %(source)s to %(target)s", source=source, target=target))
    if after.get("message"):
        parts.append(label(MESSAGES, after["message"]))
    return "; ".join(parts)
