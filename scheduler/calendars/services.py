"""Calendar feeds: which sessions a feed shows, the stored bytes it is served from, and token rotation.

Calendar apps poll feeds for months, mostly to hear "nothing changed". So each feed's
bytes, ETag and Last-Modified are stored (calendar_feeds) by the transaction that
changes one of its inputs (calendars/watching.py notices which), and serving a feed is
one indexed lookup by the token's hash: no aggregate, no build, for a 200 as for a 304.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import bindparam, null, select

from ..appointments.models import Appointment, AppointmentStatus
from ..cohorts.models import Cohort, Session
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..foundation import clock
from ..foundation.database import hash_token, lock, lock_one, new_token, write_transaction
from ..foundation.errors import NotFound
from ..foundation.extensions import db
from ..foundation.links import FEED_NAME, join_url
from .builder import BUILDER_VERSION, FeedEvent, build_feed, build_feeds_with_links
from .models import FeedKind, StoredFeed
from .wording import Words, words_for

NO_FEED = "No such calendar feed (the link may have been replaced)."


@dataclass(frozen=True)
class Feed:
    """A feed as served: its bytes and HTTP validators."""

    body: bytes | None  # None: not read (a revalidation that may end in 304)
    etag: str
    last_modified: datetime


def _host() -> str:
    return urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"


def event_uid(row_id: str) -> str:
    """The UID of a session's or an appointment's VEVENT, the same in every feed and email for its whole life."""
    return f"{row_id}@{_host()}"


STAFF_WORDS = Words()  # the cohort's staff feed: the builder's English, the program's calendar title


def _event(session: Session, link: str | None, words: Words = STAFF_WORDS) -> FeedEvent:
    """A session as a calendar shows it, with `link` as its place: a participant's personal join
    link in their feed and .ics (in `words`, their language), the raw meeting link only in the
    cohort's staff feed."""
    cohort, program = session.cohort, session.cohort.program
    by_cohort = cohort.status == "cancelled" and session.status != "cancelled"
    return FeedEvent(
        uid=event_uid(session.id),
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        tz=cohort.timezone,
        summary=words.title(program.calendar_title),
        meeting_url=link,
        # A cancelled cohort cancels its sessions without touching their rows; the
        # event still changed, so it needs a higher SEQUENCE for clients to apply it.
        sequence=session.sequence + (1 if by_cohort else 0),
        # The event shows the cohort's link and the program's title too.
        last_modified=max(session.updated_at, cohort.updated_at, program.updated_at),
        created=session.created_at,
        cancelled=session.status == "cancelled" or cohort.status == "cancelled",
        join_text=words.join,
        no_link_text=words.no_link,
    )


def _appointment_event(appointment: Appointment, tz: str, words: Words) -> FeedEvent:
    """An individual session in the person's feed, with its own join link while booked."""
    booked = appointment.status == AppointmentStatus.BOOKED
    return FeedEvent(
        uid=event_uid(appointment.id),
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        tz=tz,
        summary=words.appointment,  # an individual session beside the group: no program, no therapist
        meeting_url=join_url(appointment) if booked else None,
        sequence=appointment.sequence,
        last_modified=appointment.updated_at,
        created=appointment.created_at,
        cancelled=not booked,
        join_text=words.join,
        no_link_text=words.no_link,
    )


def _individual_of(enrolment_ids) -> dict[str, list[Appointment]]:
    """Each enrolment's individual sessions (the full programme), in time order, read afresh."""
    found: dict[str, list[Appointment]] = {enrolment_id: [] for enrolment_id in enrolment_ids}
    if found:
        rows = db.session.scalars(
            select(Appointment)
            .where(Appointment.enrolment_id.in_(list(found)))
            .order_by(Appointment.starts_at, Appointment.id)
            .execution_options(populate_existing=True)
        )
        for row in rows:
            found[row.enrolment_id].append(row)
    return found


# ---- cohort feed ------------------------------------------------------------------------------


def _cohort_feed_name(cohort: Cohort) -> str:
    # The weekday and time tell facilitators which group it is; the program name might
    # name a diagnosis, so it stays out.
    return (
        f"{cohort.program.calendar_title}: {cohort.start_date:%A}s {cohort.start_time} "
        f"from {cohort.start_date.isoformat()}"
    )


def _sessions_of(cohort_ids) -> dict[str, list[Session]]:
    rows = db.session.scalars(
        select(Session)
        .where(Session.cohort_id.in_(list(cohort_ids)))
        .order_by(Session.starts_at, Session.id)
        .execution_options(populate_existing=True)
    )
    found: dict[str, list[Session]] = {cohort_id: [] for cohort_id in cohort_ids}
    for row in rows:
        found[row.cohort_id].append(row)
    return found


def cohort_events(cohorts: list[Cohort], words: Words = STAFF_WORDS) -> list[FeedEvent]:
    """Every session of these cohorts with its raw meeting link, as a cohort's staff feed shows it
    (a facilitator's own feed too, in `words`, their language: calendars/personal_feeds.py)."""
    sessions = _sessions_of([cohort.id for cohort in cohorts])
    return [_event(session, cohort.meeting_url, words) for cohort in cohorts for session in sessions[cohort.id]]


# ---- fresh builds: what a stored feed must always equal --------------------------------------


def fresh_enrolment_feed(enrolment: Enrolment) -> bytes:
    """One enrolment's feed built now from its rows: its cohort's sessions while it is confirmed (it
    follows a transfer), each with the person's own join link; empty otherwise. Nothing that its
    manage token could not see."""
    events = []
    words = words_for(enrolment.locale)
    if enrolment.status == EnrolmentStatus.CONFIRMED:
        sessions = _sessions_of([enrolment.cohort_id])[enrolment.cohort_id]
        events = [_event(s, join_url(enrolment), words) for s in sessions]
        tz = enrolment.cohort.timezone
        events += [_appointment_event(a, tz, words) for a in _individual_of([enrolment.id])[enrolment.id]]
        return build_feed(events, name=words.feed_name)
    return empty_feed(words.feed_name)


def fresh_cohort_feed(cohort: Cohort) -> bytes:
    """Every session of one cohort with its raw meeting link, for its facilitators and staff: no participants."""
    sessions = _sessions_of([cohort.id])[cohort.id]
    return build_feed([_event(s, cohort.meeting_url) for s in sessions], name=_cohort_feed_name(cohort))


def empty_feed(name: str = FEED_NAME) -> bytes:
    """The feed of an enrolment that is not confirmed (the same for all who read one language): it
    keeps the name the person's calendar showed."""
    return build_feed([], name=name)


def etag_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:40]


def built_for() -> str:
    """What stored bytes depend on besides the rows: the builder's version and the public address
    (in every UID and join link). A row built for another is not served (flask calendar-feeds rebuild)."""
    key = f"{BUILDER_VERSION} {current_app.config['PUBLIC_BASE_URL']}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# ---- serving ----------------------------------------------------------------------------------


# Built once: the hot path of the service, so not even the statement is made per request.
_FEEDS = StoredFeed.__table__.c
_WHERE = (_FEEDS.token_hash == bindparam("token_hash"), _FEEDS.kind == bindparam("kind"))
_LOOKUP = select(_FEEDS.body, _FEEDS.etag, _FEEDS.last_modified, _FEEDS.built_for).where(*_WHERE)
# Most polls are revalidations that end in 304: those read the validators, not the bytes.
_VALIDATORS = select(null().label("body"), _FEEDS.etag, _FEEDS.last_modified, _FEEDS.built_for).where(*_WHERE)


def served_feed(kind: FeedKind, feed_token: str, *, body: bool = True) -> Feed:
    """The feed behind a token: one indexed lookup of the stored bytes (NotFound for an unknown token).

    body=False reads only the validators of a stored feed (its body is None then).

    Without a stored row (an enrolment never confirmed, or rows built for another public
    address) the feed is built from the rows here, the old, slower way.
    """
    params = {"token_hash": hash_token(feed_token), "kind": str(kind)}
    row = db.session.execute(_LOOKUP if body else _VALIDATORS, params).one_or_none()
    if row is not None and row.built_for == built_for():
        return Feed(row[0], row.etag, row.last_modified)
    if kind == FeedKind.COHORT:
        cohort = db.session.scalar(select(Cohort).where(Cohort.feed_token == feed_token))
        if cohort is None:
            raise NotFound(NO_FEED)
        sessions = _sessions_of([cohort.id])[cohort.id]
        instants = [cohort.updated_at, cohort.program.updated_at, *(s.updated_at for s in sessions)]
        body = fresh_cohort_feed(cohort)
    else:
        enrolment = db.session.scalar(select(Enrolment).where(Enrolment.feed_token == feed_token))
        if enrolment is None:
            raise NotFound(NO_FEED)
        # Never confirmed (else it would have a row): the empty feed since it was made.
        instants = [enrolment.created_at]
        if enrolment.status == EnrolmentStatus.CONFIRMED:
            instants.append(enrolment.updated_at)
            cohort = enrolment.cohort
            sessions = _sessions_of([cohort.id])[cohort.id]
            instants += [cohort.updated_at, cohort.program.updated_at, *(s.updated_at for s in sessions)]
            instants += [a.updated_at for a in _individual_of([enrolment.id])[enrolment.id]]
        body = fresh_enrolment_feed(enrolment)
    return Feed(body, etag_of(body), max(instants).replace(microsecond=0))


# ---- storing: in the transaction that changed an input ----------------------------------------


def refresh_stored_feeds(cohort_ids: set[str], enrolment_ids: set[str]) -> None:
    """Rebuild and store the feeds whose inputs changed in this transaction (calendars/watching.py).

    `cohort_ids`: a cohort, its program or a session changed: the cohort's feed and those of
    its confirmed enrolments. `enrolment_ids`: an enrolment's status, cohort, join link or feed
    token changed. An enrolment that is not confirmed and has no stored feed keeps none (its feed
    is the empty one), so the waitlisted and the pending cost nothing here.
    """
    # On PostgreSQL two transactions may change inputs of the same feeds at once (a program's title
    # and a session of one of its cohorts). Each rebuilds holding the row locks of the cohorts
    # concerned (taken in id order) and reads every input after taking them, afresh: the last
    # to commit builds from both changes. (SQLite's write transaction already holds the database.)
    around = set(db.session.scalars(select(Enrolment.cohort_id).where(Enrolment.id.in_(list(enrolment_ids)))))
    locked = lock(Cohort, *(cohort_ids | around))
    cohorts = {c.id: c for c in locked if c.id in cohort_ids}
    enrolments = list(
        db.session.scalars(
            select(Enrolment)
            .where(
                (Enrolment.id.in_(list(enrolment_ids)))
                | (Enrolment.cohort_id.in_(list(cohorts)) & (Enrolment.status == EnrolmentStatus.CONFIRMED))
            )
            .execution_options(populate_existing=True)
        )
    )
    owners = [(FeedKind.COHORT, c) for c in cohorts] + [(FeedKind.ENROLMENT, e.id) for e in enrolments]
    stored = {
        (row.kind, row.owner_id): row
        for row in db.session.scalars(
            select(StoredFeed)
            .where(StoredFeed.owner_id.in_([owner for _, owner in owners]))
            .execution_options(populate_existing=True)
        )
    }
    gone = [(FeedKind.COHORT, c) for c in cohort_ids - set(cohorts)]
    found = {e.id for e in enrolments}
    gone += [(FeedKind.ENROLMENT, e) for e in enrolment_ids - found]
    for key in gone:
        row = db.session.get(StoredFeed, key)
        if row is not None:
            db.session.delete(row)

    confirmed = [e for e in enrolments if e.status == EnrolmentStatus.CONFIRMED]
    sessions = _sessions_of(set(cohorts) | {e.cohort_id for e in confirmed})
    for cohort in cohorts.values():
        body = build_feed([_event(s, cohort.meeting_url) for s in sessions[cohort.id]], name=_cohort_feed_name(cohort))
        _store(stored, FeedKind.COHORT, cohort.id, cohort.feed_token, body)
    languages = {e.locale for e in confirmed}
    words_of = {locale: words_for(locale) for locale in languages}  # a few languages, many people
    by_cohort: dict[tuple[str, Words], list[Enrolment]] = {}
    for enrolment in confirmed:
        by_cohort.setdefault((enrolment.cohort_id, words_of[enrolment.locale]), []).append(enrolment)
    individual = _individual_of([e.id for e in confirmed])
    for (cohort_id, words), group in by_cohort.items():
        # Every event carries the person's own join link: one build for the cohort and language,
        # filled per person; a person with individual sessions beside the group gets a build of their own.
        events = [_event(s, None, words) for s in sessions[cohort_id]]
        plain = [e for e in group if not individual[e.id]]
        bodies = build_feeds_with_links(events, {e.id: join_url(e) for e in plain}, name=words.feed_name)
        for enrolment in group:
            if individual[enrolment.id]:
                tz = enrolment.cohort.timezone
                own = [_event(s, join_url(enrolment), words) for s in sessions[cohort_id]]
                own += [_appointment_event(a, tz, words) for a in individual[enrolment.id]]
                bodies[enrolment.id] = build_feed(own, name=words.feed_name)
        for enrolment in group:
            _store(
                stored,
                FeedKind.ENROLMENT,
                enrolment.id,
                enrolment.feed_token,
                bodies[enrolment.id],
                enrolment.created_at,
            )
    for enrolment in enrolments:
        if enrolment.status != EnrolmentStatus.CONFIRMED and (FeedKind.ENROLMENT, enrolment.id) in stored:
            # It showed sessions once: now the empty feed, with a Last-Modified after theirs.
            _store(
                stored,
                FeedKind.ENROLMENT,
                enrolment.id,
                enrolment.feed_token,
                empty_feed(words_for(enrolment.locale).feed_name),
            )


def _store(
    stored: dict, kind: FeedKind, owner_id: str, feed_token: str, body: bytes, created_at: datetime | None = None
) -> None:
    etag, token_hash, version = etag_of(body), hash_token(feed_token), built_for()
    now = clock.now().replace(microsecond=0)
    row = stored.get((kind, owner_id))
    if row is None:
        if created_at is not None:  # until now served as the empty feed, modified when it was made
            now = max(now, created_at.replace(microsecond=0) + timedelta(seconds=1))
        row = StoredFeed(kind=kind, owner_id=owner_id, etag="", last_modified=now)
        db.session.add(row)
        stored[(kind, owner_id)] = row
    elif row.etag != etag:
        # Strictly later than the bytes it replaces, even within the same second: a client that
        # revalidates with If-Modified-Since only must not keep the old bytes.
        row.last_modified = max(now, row.last_modified + timedelta(seconds=1))
    if row.etag != etag:
        row.body, row.etag = body, etag
    if row.token_hash != token_hash:
        row.token_hash = token_hash
    if row.built_for != version:
        row.built_for = version


def rebuild_all_feeds() -> int:
    """Store every feed afresh (after PUBLIC_BASE_URL or the builder changed); returns how many cohorts."""
    cohort_ids = set(db.session.scalars(select(Cohort.id)))
    enrolment_ids = set(db.session.scalars(select(StoredFeed.owner_id).where(StoredFeed.kind == FeedKind.ENROLMENT)))
    with write_transaction():
        refresh_stored_feeds(cohort_ids, enrolment_ids)
    return len(cohort_ids)


def rotate_cohort_feed(cohort_id: str) -> Cohort:
    """Replace a cohort's feed token: the old feed URL stops working at once."""
    with write_transaction():
        cohort = lock_one(Cohort, cohort_id)
        cohort.feed_token = new_token("cal")
    return cohort


def rotate_enrolment_feed(enrolment_id: str) -> Enrolment:
    """Replace one enrolment's feed token (a leaked link): the old URL stops at once.

    Only this enrolment's feed: the email's other enrolments are not this token's to touch.
    """
    with write_transaction():
        enrolment = lock_one(Enrolment, enrolment_id)
        enrolment.feed_token = new_token("cal")
    return enrolment


# ---- email attachment -------------------------------------------------------------------------


def enrolment_ics(enrolment: Enrolment) -> bytes:
    """The .ics of one enrolment's sessions for the confirmation email (same UIDs as the feeds)."""
    sessions = db.session.scalars(
        select(Session).where(Session.cohort_id == enrolment.cohort_id).order_by(Session.number)
    ).all()
    words = words_for(enrolment.locale)
    return build_feed([_event(s, join_url(enrolment), words) for s in sessions], name=words.feed_name, refresh=None)
