"""Absolute links people receive: manage pages, join links and calendar feeds (PUBLIC_BASE_URL + a path).

Low in the stack on purpose: the enrolment schemas, the emails and the calendar
domain all hand out the same links, so they are built in one place from tokens.
"""

from urllib.parse import quote, urlencode

from flask import current_app
from flask_babel import gettext

from . import i18n

FEED_NAME = "Group sessions"  # generic: a glance at a phone must not reveal a diagnosis
APPOINTMENTS_FEED_NAME = "Appointments"  # a person's assessment appointments: as generic


def public_url(path: str) -> str:
    """An absolute URL on the service's public address (PUBLIC_BASE_URL)."""
    return current_app.config["PUBLIC_BASE_URL"] + path


def manage_url(enrolment) -> str:
    """The participant's page: the manage token rides in the URL once, then becomes a cookie."""
    return public_url(f"/me/{enrolment.id}?token={enrolment.manage_token}")


def join_url(enrolment) -> str:
    """The participant's personal join link (it redirects to the cohort's meeting link in a session's window).

    Participants get this, never the raw meeting link: it stops working when they leave,
    and follows the cohort's link when staff replace it.
    """
    return public_url(f"/join/{enrolment.join_token}")


def _feed_urls(path: str) -> dict:
    url = public_url(path)
    return {"calendar_url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}


def enrolment_feed_urls(enrolment) -> dict:
    """One enrolment's feed as {"calendar_url" (https), "webcal_url"}."""
    return _feed_urls(f"/calendar/{enrolment.feed_token}.ics")


def cohort_feed_urls(cohort) -> dict:
    """A cohort's staff feed as {"calendar_url", "webcal_url"}."""
    return _feed_urls(f"/calendar/cohorts/{cohort.feed_token}.ics")


def intake_feed_urls(intake) -> dict:
    """A person's feed of their intake's assessment appointments as {"calendar_url", "webcal_url"}."""
    return _feed_urls(f"/calendar/intakes/{intake.feed_token}.ics")


def staff_feed_urls(member) -> dict:
    """A staff member's own feed (their assessments and groups) as {"calendar_url", "webcal_url"}."""
    return _feed_urls(f"/calendar/staff/{member.feed_token}.ics")


def _one_click(urls: dict, name: str) -> dict:
    """The two feed URLs and one-click subscribe links.

    Google Calendar subscribes to the https URL (it refuses webcal:// in `cid`);
    Apple Calendar opens webcal:// itself; Outlook on the web takes the https URL.
    """
    return {
        **urls,
        "google_url": "https://calendar.google.com/calendar/r?cid=" + quote(urls["calendar_url"], safe=""),
        "outlook_url": "https://outlook.live.com/calendar/0/addfromweb?"
        + urlencode({"url": urls["calendar_url"], "name": name}),
        "apple_url": urls["webcal_url"],
    }


def _named(name: str, locale: str | None) -> str:
    """A feed's name in its person's language, as their feed calls itself (calendars/wording.py
    marks these names for translation)."""
    with i18n.speaking(locale):
        return gettext(name)


def subscribe_links(enrolment) -> dict:
    """Everything a confirmation offers: the two feed URLs and one-click subscribe links."""
    return _one_click(enrolment_feed_urls(enrolment), _named(FEED_NAME, enrolment.locale))


def intake_subscribe_links(intake) -> dict:
    """The same for a person's assessment appointments (their intake page and the booking email)."""
    return _one_click(intake_feed_urls(intake), _named(APPOINTMENTS_FEED_NAME, intake.locale))


def intake_url(intake) -> str:
    """A person's intake page (their request for a place), with its token, as their emails carry it."""
    return public_url(f"/me/intakes/{intake.id}?token={intake.manage_token}")


def intake_page_url(intake) -> str:
    """The same page without its token: it opens in the browser that opened the emailed link before."""
    return public_url(f"/me/intakes/{intake.id}")
