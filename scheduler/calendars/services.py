"""Calendar feeds: which sessions a feed shows, its HTTP validators, and token rotation.

Calendar apps poll feeds for months, mostly to hear "nothing changed". So the
validators (ETag, Last-Modified) come from one cheap aggregate query over the
feed's inputs (ids, change counters, last-change instants), and the feed itself
is built only when they differ from what the client holds.
"""

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select

from ..cohorts.models import Cohort, Program, Session
from ..cohorts.services import lock_cohort
from ..database import new_token, write_transaction
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..errors import NotFound
from ..extensions import db
from ..links import FEED_NAME, join_url
from .builder import BUILDER_VERSION, FeedEvent, build_feed

FEED_CACHE_SIZE = 256


class _FeedCache:
    """Built feeds by ETag, per process. The ETag covers every input of the bytes, so an
    entry can never be stale; it spares rebuilding for clients that poll without
    validators (Google's fetcher sends none)."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get_or_build(self, etag: str, build) -> bytes:
        with self.lock:
            if etag in self.items:
                self.items.move_to_end(etag)
                return self.items[etag]
        body = build()
        with self.lock:
            self.items[etag] = body
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return body


_cache = _FeedCache(FEED_CACHE_SIZE)


@dataclass(frozen=True)
class FeedState:
    """What a feed's validators are made of, and whose feed it is."""

    kind: str  # "participant" | "cohort"
    owner_id: str
    etag: str
    last_modified: datetime


def _host() -> str:
    return urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"


def session_uid(session_id: str) -> str:
    """The UID of a session's VEVENT, the same in every feed and email for its whole life."""
    return f"{session_id}@{_host()}"


def _event(session: Session, link: str | None) -> FeedEvent:
    """A session as a calendar shows it, with `link` as its place: a participant's personal join
    link in their feed and .ics, the raw meeting link only in the cohort's staff feed."""
    cohort, program = session.cohort, session.cohort.program
    by_cohort = cohort.status == "cancelled" and session.status != "cancelled"
    return FeedEvent(
        uid=session_uid(session.id),
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        tz=cohort.timezone,
        summary=program.calendar_title,
        meeting_url=link,
        # A cancelled cohort cancels its sessions without touching their rows; the
        # event still changed, so it needs a higher SEQUENCE for clients to apply it.
        sequence=session.sequence + (1 if by_cohort else 0),
        # The event shows the cohort's link and the program's title too.
        last_modified=max(session.updated_at, cohort.updated_at, program.updated_at),
        created=session.created_at,
        cancelled=session.status == "cancelled" or cohort.status == "cancelled",
    )


def _state(kind: str, owner_id: str, parts: list, instants: list[datetime]) -> FeedState:
    fingerprint = repr((BUILDER_VERSION, current_app.config["PUBLIC_BASE_URL"], kind, owner_id, parts))
    etag = hashlib.sha256(fingerprint.encode()).hexdigest()[:40]
    newest = max(instants, default=datetime(1970, 1, 1, tzinfo=UTC))
    return FeedState(kind, owner_id, etag, newest.replace(microsecond=0))


def _session_aggregates(where) -> list:
    """Per cohort: status, last changes, session count, change counters. Loads no session rows."""
    stmt = (
        select(
            Cohort.id,
            Cohort.status,
            Cohort.updated_at,
            Program.updated_at,
            func.count(Session.id),
            func.max(Session.updated_at),
            func.sum(Session.sequence),
        )
        .join(Program, Program.id == Cohort.program_id)
        .join(Session, Session.cohort_id == Cohort.id)
        .where(where)
        .group_by(Cohort.id, Cohort.status, Cohort.updated_at, Program.updated_at)
        .order_by(Cohort.id)
    )
    return db.session.execute(stmt).all()


def _instants(rows) -> list[datetime]:
    return [t for row in rows for t in (row[2], row[3], row[5]) if t is not None]


# ---- an enrolment's feed -----------------------------------------------------------------------


def enrolment_feed_state(feed_token: str) -> FeedState:
    """One enrolment's feed validators, from aggregates only (NotFound for an unknown token).

    The feed shows the sessions of the enrolment's cohort while it is confirmed (and
    follows a transfer): nothing that its manage token could not see.
    """
    row = db.session.execute(
        select(Enrolment.id, Enrolment.cohort_id, Enrolment.status, Enrolment.updated_at, Enrolment.join_token).where(
            Enrolment.feed_token == feed_token
        )
    ).one_or_none()
    if row is None:
        raise NotFound("No such calendar feed (the link may have been replaced).")
    enrolment_id, cohort_id, status, updated_at, join_token = row
    rows = _session_aggregates(Cohort.id == cohort_id) if status == EnrolmentStatus.CONFIRMED else []
    # A withdrawal or a transfer changes the feed: the enrolment's own change counts too, and
    # so does its join link (in every event's LOCATION).
    parts = [tuple(map(str, r)) for r in rows] + [str(status), cohort_id, join_token]
    return _state("enrolment", enrolment_id, parts, [updated_at, *_instants(rows)])


def enrolment_feed(state: FeedState) -> bytes:
    """Every session of the enrolment's cohort while it is confirmed; empty otherwise."""
    return _cache.get_or_build(state.etag, lambda: _build_enrolment_feed(state))


def _build_enrolment_feed(state: FeedState) -> bytes:
    enrolment = db.session.get(Enrolment, state.owner_id)
    sessions = []
    if enrolment is not None and enrolment.status == EnrolmentStatus.CONFIRMED:
        sessions = db.session.scalars(
            select(Session).where(Session.cohort_id == enrolment.cohort_id).order_by(Session.starts_at, Session.id)
        ).all()
    return build_feed([_event(s, join_url(enrolment)) for s in sessions], name=FEED_NAME)


# ---- cohort feed ------------------------------------------------------------------------------


def _cohort_feed_name(cohort: Cohort) -> str:
    # The weekday and time tell facilitators which group it is; the program name might
    # name a diagnosis, so it stays out.
    return (
        f"{cohort.program.calendar_title}: {cohort.start_date:%A}s {cohort.start_time} "
        f"from {cohort.start_date.isoformat()}"
    )


def cohort_feed_state(feed_token: str) -> FeedState:
    """The cohort feed's validators, from aggregates only (NotFound for an unknown token)."""
    cohort_id = db.session.scalar(select(Cohort.id).where(Cohort.feed_token == feed_token))
    if cohort_id is None:
        raise NotFound("No such calendar feed (the link may have been replaced).")
    rows = _session_aggregates(Cohort.id == cohort_id)
    return _state("cohort", cohort_id, [tuple(map(str, row)) for row in rows], _instants(rows))


def cohort_feed(state: FeedState) -> bytes:
    """Every session of one cohort, for its facilitators and staff: no participants in it."""
    return _cache.get_or_build(state.etag, lambda: _build_cohort_feed(state))


def _build_cohort_feed(state: FeedState) -> bytes:
    cohort = db.session.get(Cohort, state.owner_id)
    if cohort is None:
        raise NotFound("No such calendar feed (the link may have been replaced).")
    return build_feed([_event(s, cohort.meeting_url) for s in cohort.sessions], name=_cohort_feed_name(cohort))


def rotate_cohort_feed(cohort_id: str) -> Cohort:
    """Replace a cohort's feed token: the old feed URL stops working at once."""
    with write_transaction():
        cohort = lock_cohort(cohort_id)
        cohort.feed_token = new_token("cal")
    return cohort


def rotate_enrolment_feed(enrolment_id: str) -> Enrolment:
    """Replace one enrolment's feed token (a leaked link): the old URL stops at once.

    Only this enrolment's feed: the email's other enrolments are not this token's to touch.
    """
    with write_transaction():
        enrolment = db.session.get(Enrolment, enrolment_id, with_for_update=True)
        if enrolment is None:
            raise NotFound("No such enrolment.")
        enrolment.feed_token = new_token("cal")
    return enrolment


# ---- email attachment -------------------------------------------------------------------------


def enrolment_ics(enrolment: Enrolment) -> bytes:
    """The .ics of one enrolment's sessions for the confirmation email (same UIDs as the feeds)."""
    sessions = db.session.scalars(
        select(Session).where(Session.cohort_id == enrolment.cohort_id).order_by(Session.number)
    ).all()
    return build_feed([_event(s, join_url(enrolment)) for s in sessions], name=FEED_NAME, refresh=None)
