"""View-models of the public list of groups and of one group's page (the participant pages: presenters.py)."""

from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext

from ..cohorts.schedule import planned_start
from ..foundation import i18n
from .presenters import _local, day_text, hold_text, moment, money, refund_policy, schedule, time_text
from .zones import zone_label

# The weekly day a group meets on ("Thursdays at 6:00 PM"), by Python's weekday number.
WEEKDAYS = (
    lazy_gettext("Mondays"),
    lazy_gettext("Tuesdays"),
    lazy_gettext("Wednesdays"),
    lazy_gettext("Thursdays"),
    lazy_gettext("Fridays"),
    lazy_gettext("Saturdays"),
    lazy_gettext("Sundays"),
)


def seats_text(free: int) -> str:
    if not free:
        return _("Full: waitlist open")
    return ngettext("%(num)d seat left", "%(num)d seats left", free)


def _seats(cohort):
    # Attached by cohorts.services.describe(); the one place that reads it.
    return cohort.seats


def cohort_summary(cohort) -> dict:
    """What a list of groups shows about one cohort."""
    zone = ZoneInfo(cohort.timezone)
    scheduled = [s for s in cohort.sessions if s.status == "scheduled"]
    first = scheduled[0] if scheduled else (cohort.sessions[0] if cohort.sessions else None)
    rule = planned_start(cohort)  # the weekly day and time, not whichever session was moved
    seats = _seats(cohort)
    free = seats.available if seats.free_for_newcomers else 0
    return {
        "id": cohort.id,
        "name": cohort.name,
        "url": url_for("pages.cohort", cohort_id=cohort.id),
        "weekday": str(WEEKDAYS[_local(rule, zone).weekday()]) if rule else "",
        "time": f"{time_text(rule, zone)} {_local(rule, zone):%Z}" if rule else "",
        "rule": moment(rule, zone),
        "at_one": bool(rule) and i18n.at_one(_local(rule, zone)),  # "a la 1:00" in Spanish
        "first": moment(first.starts_at, zone) if first else None,
        "start_day": day_text(first.starts_at, zone) if first else "",
        "timezone": cohort.timezone,
        "zone_label": zone_label(cohort.timezone),
        "session_count": cohort.session_count,
        "duration_minutes": cohort.duration_minutes,
        # What enrolling now costs (CohortView.price_now: pro-rated for a late joiner, as charged).
        "price": money(cohort.price_now(), cohort.currency),
        "seat_free": free > 0,
        "seats_text": seats_text(free),
        "status": cohort.view_status,
        # A running cohort still taking people: the session a person joining now starts with.
        "joining_from": cohort.joining.from_session if cohort.joining.public and cohort.joining.late else None,
    }


def home(cohorts: list) -> dict:
    """The open cohorts grouped by program, programs in name order."""
    programs: dict[str, dict] = {}
    for cohort in cohorts:
        program = cohort.program
        entry = programs.setdefault(
            program.id, {"name": program.name, "description": program.description, "cohorts": []}
        )
        entry["cohorts"].append(cohort_summary(cohort))
    return {"programs": sorted(programs.values(), key=lambda p: p["name"].lower())}


def cohort_page(cohort) -> dict:
    """One cohort's page: what it is, when, what it costs, the refund policy, and whether one can enrol."""
    zone = ZoneInfo(cohort.timezone)
    by_intake = cohort.program.admission == "intake"
    return {
        **cohort_summary(cohort),
        "program": cohort.program.name,
        "description": cohort.program.description,
        "schedule": schedule(cohort, zone),
        "refund": refund_policy(cohort, zone),
        "paid": cohort.price_now() > 0,
        "hold_minutes": cohort.hold_minutes,
        "hold_text": hold_text(cohort),
        "offer_hours": cohort.offer_hours,
        "enrolment_open": cohort.joining.public,  # open, or running and still taking people (cohorts/joining.py)
        "late": _late_joining(cohort),
        "by_intake": by_intake,
        "action_url": url_for("pages.request_place" if by_intake else "pages.enrol", cohort_id=cohort.id),
    }


def _late_joining(cohort) -> dict | None:
    """For a running cohort that still takes people: from which session, until when, at what price."""
    now = cohort.joining
    if not (now.public and now.late):
        return None
    zone = ZoneInfo(cohort.timezone)
    prorated = cohort.price_now() != cohort.price_amount
    return {
        "from_session": now.from_session,
        "until_session": cohort.enrol_until_session,
        "closes": moment(now.closes_at, zone) if now.closes_at else None,
        "sessions_left": now.sessions_left,
        "sessions_held": now.sessions_held,
        "full_price": money(cohort.price_amount, cohort.currency) if prorated else None,
    }
