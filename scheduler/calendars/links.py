"""Subscription links for calendar feeds (https for Google; webcal for Apple and Outlook)."""

from urllib.parse import quote, urlencode

from ..http import public_url


def _urls(path: str) -> dict:
    url = public_url(path)
    return {"calendar_url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}


def participant_feed_urls(participant) -> dict:
    """The participant's feed as {"calendar_url" (https), "webcal_url"}."""
    return _urls(f"/calendar/{participant.feed_token}.ics")


def cohort_feed_urls(cohort) -> dict:
    """A cohort's staff feed as {"calendar_url", "webcal_url"}."""
    return _urls(f"/calendar/cohorts/{cohort.feed_token}.ics")


def subscribe_links(participant) -> dict:
    """Everything the confirmation email offers: the two feed URLs and one-click subscribe links.

    Google Calendar subscribes to the https URL (it refuses webcal:// in `cid`);
    Apple Calendar opens webcal:// itself; Outlook on the web takes the https URL.
    """
    urls = participant_feed_urls(participant)
    return {
        **urls,
        "google_url": "https://calendar.google.com/calendar/r?cid=" + quote(urls["calendar_url"], safe=""),
        "outlook_url": "https://outlook.live.com/calendar/0/addfromweb?"
        + urlencode({"url": urls["calendar_url"], "name": "Group sessions"}),
        "apple_url": urls["webcal_url"],
    }
