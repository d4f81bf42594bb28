"""Words and numbers as the console shows them: statuses, actions, money, times and deadlines.

Templates call these through `fmt` (blueprint.py). Times are shown in the cohort's own zone,
which is the zone the group meets in and the one the desk talks about on the phone.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from ..cohorts.schedule import planned_start
from ..enrolment.models import payment_reference as reference  # noqa: F401  (templates: fmt.reference)
from ..foundation import clock
from ..foundation.money import format_money
from .forms import major_units

ENROLMENT_STATUS = {
    "pending_payment": "Pending payment",
    "waitlisted": "Waitlisted",
    "offered": "Offered a seat",
    "confirmed": "Confirmed",
    "expired": "Expired",
    "withdrawn": "Withdrawn",
    "cancelled": "Cancelled",
}
COHORT_STATUS = {
    "draft": "Draft",
    "open": "Open",
    "closed": "Closed",
    "running": "Running",
    "completed": "Completed",
    "cancelled": "Cancelled",
}
METHODS = {
    "cash": "Cash",
    "check": "Check",
    "card_in_person": "Card, in person",
    "insurance": "Insurance",
    "waived": "Waived",
    "card": "Card, online",
    "bank_transfer": "Bank transfer",  # how the desk may pay a refund out (payments.models.PAYOUT_METHODS)
    "other": "Other",
}
DESK_METHODS = ("cash", "check", "card_in_person", "insurance", "waived")
ACTIONS = {
    "enrolled": "Enrolled",
    "expired": "Hold or offer lapsed",
    "expired_unpaid_seat_gone": "Lapsed: paid late and the seat was gone",
    "offered": "Offered a seat from the waitlist",
    "offered_by_staff": "Offered a seat by staff",
    "accepted": "Accepted the offer",
    "declined": "Declined the offer",
    "withdrawn": "Withdrawn",
    "moved": "Moved in the waitlist",
    "confirmed_at_desk": "Payment confirmed at the desk",
    "transferred": "Transferred to another cohort",
    "cohort_cancelled": "Cohort cancelled",
    "refunded_in_stripe_dashboard": "Refunded in the Stripe dashboard",
    "message_resent": "Message sent again",
    "refund_paid_out": "Refund paid out by the desk",
    "agreements_accepted": "Accepted the program's agreements",
    "agreements_on_paper": "Agreements signed on paper",
    # The staff audit log.
    "signed_in": "Signed in",
    "signed_out": "Signed out",
    "sign_in_link_printed": "Sign-in link printed on the command line",
    "api_token_created": "API token created",
    "api_token_revoked": "API token revoked",
    "staff_created": "Staff account created",
    "role_changed": "Role changed",
    "staff_revoked": "Access revoked",
    "agreement_added": "Agreement added to a program",
}
MESSAGES = {
    "enrolment_received": "Place held: how to pay",
    "enrolment_confirmed": "Enrolment confirmed",
    "waitlisted": "On the waitlist",
    "seat_offered": "Seat offered",
    "hold_expired": "Held place lapsed",
    "offer_expired": "Offer lapsed",
    "withdrawn": "Withdrawal",
    "transferred": "Moved to another group",
    "cohort_cancelled": "Group cancelled",
    "session_changed": "Session changed",
    "session_cancelled": "Session cancelled",
    "reminder": "Session reminder",
    "already_enrolled": "Already enrolled",
}
MESSAGE_STATUS = {
    "pending": "Waiting to send",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "skipped": "Not sent",
}
REFUND_STATUS = {
    "pending": "On its way (card)",
    "succeeded": "Refunded (card)",
    "failed": "Failed",
    "owed_by_front_desk": "Owed by the front desk",
    "paid_by_front_desk": "Paid out by the front desk",
}
INTAKE_STATUS = {
    "requested": "Requested",
    "scheduled": "Assessment booked",
    "approved": "Approved",
    "not_suitable": "Not suitable",
    "withdrawn": "Withdrawn",
    "enrolled": "Enrolled",
    "expired": "Approval lapsed",
}
ROLES = {"admin": "Admin", "front_desk": "Front desk", "facilitator": "Facilitator"}


def label(table: dict, value) -> str:
    return table.get(str(value), str(value).replace("_", " ").capitalize()) if value is not None else ""


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
    return f"{local:%a, %b} {local.day}, {local:%-I:%M %p %Z}"


def day(instant: datetime | None, zone: str) -> str:
    if instant is None:
        return ""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%a, %b} {local.day}, {local.year}"


def iso(instant: datetime | None) -> str:
    return "" if instant is None else instant.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def relative(instant: datetime | None) -> str:
    """'in 25 min', 'in 3 h', 'in 2 days', '5 min ago'."""
    if instant is None:
        return ""
    seconds = (instant - clock.now()).total_seconds()
    past, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        text = "less than a minute"
    elif seconds < 3600:
        text = f"{int(seconds // 60)} min"
    elif seconds < 48 * 3600:
        text = f"{int(seconds // 3600)} h"
    else:
        text = f"{int(seconds // 86400)} days"
    return f"{text} ago" if past else f"in {text}"


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
    return f"{local:%A}s, {local:%-I:%M %p %Z}"


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
        parts.append(f"position {before.get('waitlist_position', '?')} → {after['waitlist_position']}")
    if after.get("method"):
        parts.append(label(METHODS, after["method"]))
    if after.get("reference"):
        parts.append(f"reference {after['reference']}")
    refund = after.get("refund")
    if isinstance(refund, dict) and refund.get("amount"):
        parts.append(f"refund {money(refund['amount'], refund.get('currency', 'usd'))}")
    if before.get("cohort_id") and after.get("cohort_id") and before["cohort_id"] != after["cohort_id"]:
        source, target = names.get(before["cohort_id"], "another cohort"), names.get(after["cohort_id"], "another")
        parts.append(f"from {source} to {target}")
    if after.get("message"):
        parts.append(label(MESSAGES, after["message"]))
    return "; ".join(parts)
