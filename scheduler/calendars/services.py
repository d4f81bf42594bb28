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
from ..database import begin_write, new_token
from ..enrolment.models import Enrolment, Participant
from ..errors import NotFound
from ..extensions import db
from .builder import BUILDER_VERSION, FeedEvent, build_feed

PARTICIPANT_FEED_NAME = "Group sessions"  # generic: a glance at a phone must not reveal a diagnosis
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


def _event(session: Session) -> FeedEvent:
    cohort, program = session.cohort, session.cohort.program
    by_cohort = cohort.status == "cancelled" and session.status != "cancelled"
    return FeedEvent(
        uid=session_uid(session.id),
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        tz=cohort.timezone,
        summary=program.calendar_title,
        meeting_url=cohort.meeting_url,
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


# ---- participant feed -------------------------------------------------------------------------


def participant_feed_state(feed_token: str) -> FeedState:
    """The participant feed's validators, from aggregates only (NotFound for an unknown token)."""
    participant = db.session.scalar(select(Participant).where(Participant.feed_token == feed_token))
    if participant is None:
        raise NotFound("No such calendar feed (the link may have been replaced).")
    confirmed = Cohort.id.in_(
        select(Enrolment.cohort_id).where(Enrolment.participant_id == participant.id, Enrolment.status == "confirmed")
    )
    rows = _session_aggregates(confirmed)
    # Every enrolment of theirs counts, whatever its status: a withdrawal removes a
    # cohort from the feed, and that is a change Last-Modified must show.
    enrolled = db.session.execute(
        select(func.max(Enrolment.updated_at), func.count(Enrolment.id)).where(
            Enrolment.participant_id == participant.id
        )
    ).one()
    instants = [participant.created_at, *_instants(rows)] + ([enrolled[0]] if enrolled[0] else [])
    parts = [tuple(map(str, row)) for row in rows] + [str(enrolled[1])]
    return _state("participant", participant.id, parts, instants)


def participant_feed(state: FeedState) -> bytes:
    """Every session of every cohort in which the participant is confirmed."""
    return _cache.get_or_build(state.etag, lambda: _build_participant_feed(state))


def _build_participant_feed(state: FeedState) -> bytes:
    sessions = db.session.scalars(
        select(Session)
        .join(Cohort, Cohort.id == Session.cohort_id)
        .join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(Enrolment.participant_id == state.owner_id, Enrolment.status == "confirmed")
        .order_by(Session.starts_at, Session.id)
    ).all()
    return build_feed([_event(s) for s in sessions], name=PARTICIPANT_FEED_NAME)


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
    return build_feed([_event(s) for s in cohort.sessions], name=_cohort_feed_name(cohort))


def rotate_cohort_feed(cohort_id: str) -> Cohort:
    """Replace a cohort's feed token: the old feed URL stops working at once."""
    begin_write()
    cohort = lock_cohort(cohort_id)
    cohort.feed_token = new_token("cal")
    db.session.commit()
    return cohort


def rotate_participant_feed(enrolment_id: str) -> Participant:
    """Replace the feed token of an enrolment's participant (a leaked link): the old URL stops at once."""
    begin_write()
    participant = db.session.scalar(
        select(Participant)
        .join(Enrolment, Enrolment.participant_id == Participant.id)
        .where(Enrolment.id == enrolment_id)
        .with_for_update(of=Participant)
    )
    if participant is None:
        raise NotFound("No such enrolment.")
    participant.feed_token = new_token("cal")
    db.session.commit()
    return participant


# ---- email attachment -------------------------------------------------------------------------


def enrolment_ics(enrolment: Enrolment) -> bytes:
    """The .ics of one enrolment's sessions for the confirmation email (same UIDs as the feeds)."""
    sessions = db.session.scalars(
        select(Session).where(Session.cohort_id == enrolment.cohort_id).order_by(Session.number)
    ).all()
    return build_feed([_event(s) for s in sessions], name=PARTICIPANT_FEED_NAME, refresh=None)
