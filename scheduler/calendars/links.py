"""Subscription links for calendar feeds (https for Google; webcal for Apple and Outlook)."""
from ..http import public_url


def participant_feed_urls(participant) -> dict:
    url = public_url(f"/calendar/{participant.feed_token}.ics")
    return {"calendar_url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}
