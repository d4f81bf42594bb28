"""Calendar feed routes (secret token in the URL) and the staff route that rotates a cohort's token."""

from collections.abc import Callable

from flask import Blueprint, Response, request
from werkzeug.http import is_resource_modified

from ..foundation.auth import DESK, TOKEN_IN_URL, participant_or_staff, staff
from ..foundation.http import endpoint
from ..foundation.links import cohort_feed_urls, enrolment_feed_urls
from . import personal_feeds, services
from .models import FeedKind
from .schemas import CalendarLinksOut, ParticipantCalendarLinksOut

bp = Blueprint("calendars", __name__)

ICS_MIMETYPE = "text/calendar"


def _stored(kind: FeedKind, feed_token: str) -> Callable[..., services.Feed]:
    return lambda body=True: services.served_feed(kind, feed_token, body=body)


def _feed_response(lookup: Callable[..., services.Feed]) -> Response:
    """200 with the feed, or 304 when the client's validators still match.

    `lookup(body=False)` may leave the bytes unread (a stored feed's revalidation: one query either
    way); a feed built on request (personal_feeds) always has them.
    """
    conditional = "HTTP_IF_NONE_MATCH" in request.environ or "HTTP_IF_MODIFIED_SINCE" in request.environ
    feed = lookup(body=not conditional)
    response = Response(mimetype=ICS_MIMETYPE)  # Flask adds "; charset=utf-8" for text/*
    # The URL is a secret and the feed carries a meeting link: no cache may keep it. Calendar
    # apps keep their own copy regardless and revalidate it cheaply (ETag, 304).
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    if is_resource_modified(request.environ, etag=feed.etag, last_modified=feed.last_modified):
        if feed.body is None:
            # The client's copy is old: the bytes, with the validators read beside them.
            feed = lookup()
        response.set_data(feed.body)
    else:
        response.status_code = 304
    response.set_etag(feed.etag)
    response.last_modified = feed.last_modified
    return response


def _document_as_ics(view):
    view.endpoint_spec.extra["content"] = {ICS_MIMETYPE: {"schema": {"type": "string"}}}
    return view


@bp.get("/calendar/<feed_token>.ics")
@_document_as_ics
@endpoint(TOKEN_IN_URL)
def participant_feed(feed_token):
    """One enrolment's calendar feed: the sessions of its cohort while it is confirmed."""
    return _feed_response(_stored(FeedKind.ENROLMENT, feed_token))


@bp.get("/calendar/cohorts/<feed_token>.ics")
@_document_as_ics
@endpoint(TOKEN_IN_URL)
def cohort_feed(feed_token):
    """A cohort's calendar feed for its facilitators and staff."""
    return _feed_response(_stored(FeedKind.COHORT, feed_token))


@bp.get("/calendar/intakes/<feed_token>.ics")
@_document_as_ics
@endpoint(TOKEN_IN_URL)
def intake_feed(feed_token):
    """A person's calendar feed of their intake's assessment appointments (titled "Appointment")."""
    return _feed_response(lambda body=True: personal_feeds.intake_feed(feed_token))


@bp.get("/calendar/staff/<feed_token>.ics")
@_document_as_ics
@endpoint(TOKEN_IN_URL)
def staff_feed(feed_token):
    """A staff member's own calendar feed: their assessments and the sessions of the groups they facilitate."""
    return _feed_response(lambda body=True: personal_feeds.staff_feed(feed_token))


@bp.post("/api/v1/cohorts/<cohort_id>/calendar/rotate")
@endpoint(staff(*DESK), response=CalendarLinksOut)
def rotate_cohort_feed(cohort_id):
    """Replace a cohort's feed token; the old feed URL answers 404 from now on."""
    cohort = services.rotate_cohort_feed(cohort_id)
    return {"cohort_id": cohort.id, **cohort_feed_urls(cohort)}


@bp.post("/api/v1/enrolments/<enrolment_id>/calendar/rotate")
@endpoint(participant_or_staff(), response=ParticipantCalendarLinksOut)
def rotate_participant_feed(enrolment_id):
    """Replace this enrolment's feed token (a shared or leaked link); the old URL answers 404."""
    enrolment = services.rotate_enrolment_feed(enrolment_id)
    return {"enrolment_id": enrolment_id, **enrolment_feed_urls(enrolment)}
