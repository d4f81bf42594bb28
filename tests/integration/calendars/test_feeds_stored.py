"""Stored feeds equal fresh builds after every kind of change (issue 15).

Feeds are served from bytes stored when one of their inputs commits (calendars/handlers.py).
A property test drives random sequences of changes through the API, as staff and
participants make them (and one the API has no route for, a session added), and after
each asserts that every feed served — enrolment and cohort — is byte for byte the feed
built afresh from the rows, that its ETag is that of its bytes, and that a feed whose
bytes changed has a later Last-Modified. On SQLite and PostgreSQL, like every DB test.
"""

import hashlib
import threading
import time
from datetime import UTC, date, datetime, timedelta

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from scheduler.calendars import services as calendars
from scheduler.calendars.builder import FeedEvent, build_feed, build_feeds_with_links
from scheduler.calendars.models import FeedKind, StoredFeed
from scheduler.cohorts import programs as cohort_programs
from scheduler.cohorts import services as cohort_services
from scheduler.cohorts.models import Cohort, Session
from scheduler.enrolment.models import Enrolment
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db
from tests.helpers import add_session_after_last

ACTIONS = (
    "enrol",
    "enrol_paid",
    "desk_confirm",
    "withdraw",
    "transfer",
    "rotate_feed",
    "rotate_join",
    "reschedule",
    "retitle_session",
    "cancel_session",
    "restore_session",
    "add_session",
    "meeting_link",
    "capacity",
    "calendar_title",
    "rotate_cohort_feed",
    "cancel_cohort",
)

steps = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 1), st.integers(0, 50), st.integers(0, 11)),
    min_size=1,
    max_size=10,
)


def _check_every_feed(cohort_ids: list[str], seen: dict) -> None:
    """Every feed of these cohorts, as served, equals a fresh build; validators follow the bytes."""
    db.session.rollback()
    db.session.expire_all()
    feeds = []
    for cohort in db.session.scalars(select(Cohort).where(Cohort.id.in_(cohort_ids))):
        feeds.append((FeedKind.COHORT, cohort.id, cohort.feed_token, calendars.fresh_cohort_feed(cohort)))
    for enrolment in db.session.scalars(select(Enrolment).where(Enrolment.cohort_id.in_(cohort_ids))):
        feeds.append(
            (FeedKind.ENROLMENT, enrolment.id, enrolment.feed_token, calendars.fresh_enrolment_feed(enrolment))
        )
    for kind, owner, token, fresh in feeds:
        served = calendars.served_feed(kind, token)
        assert served.body == fresh, (kind, owner)
        assert served.etag == hashlib.sha256(fresh).hexdigest()[:40]
        before = seen.get((kind, owner))
        if before is not None and before.body != served.body:
            assert served.last_modified > before.last_modified, (kind, owner)
        seen[(kind, owner)] = served
        stored = db.session.get(StoredFeed, (kind, owner))
        if kind == FeedKind.COHORT:
            assert stored is not None  # every cohort feed is stored
        if stored is not None:
            assert stored.body == fresh
    # A confirmed enrolment's feed is served from its row: one lookup.
    confirmed = db.session.scalars(
        select(Enrolment.id).where(Enrolment.cohort_id.in_(cohort_ids), Enrolment.status == "confirmed")
    ).all()
    for enrolment_id in confirmed:
        assert db.session.get(StoredFeed, (FeedKind.ENROLMENT, enrolment_id)) is not None


def _pick(items: list, n: int):
    return items[n % len(items)] if items else None


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(changes=steps)
def test_stored_feeds_equal_fresh_builds_after_every_change(client, auth, make_program, make_cohort, changes):
    headers = auth("admin")
    program = make_program(calendar_title="Group session", price_amount=0)
    cohorts = [
        make_cohort(program=program, capacity=2, price_amount=0, session_count=4, start_date=date(2030, 10, 3)),
        make_cohort(program=program, capacity=3, price_amount=5000, session_count=3, start_date=date(2030, 11, 5)),
    ]
    cohort_ids = [c.id for c in cohorts]
    enrolments: list[str] = []
    seen: dict = {}
    clock = datetime(2030, 6, 1, 12, tzinfo=UTC)
    _check_every_feed(cohort_ids, seen)
    for step, (action, which, number, session_index) in enumerate(changes):
        clock += timedelta(seconds=number % 3)  # some changes within the same second
        cohort_id = cohort_ids[which]
        enrolment_id = _pick(enrolments, number)
        sessions = db.session.scalars(select(Session.id).where(Session.cohort_id == cohort_id)).all()
        session_id = sessions[session_index % len(sessions)]
        with time_machine.travel(clock, tick=False):
            if action in ("enrol", "enrol_paid"):
                target = cohort_ids[0] if action == "enrol" else cohort_ids[1]
                made = client.post(
                    f"/api/v1/cohorts/{target}/enrolments",
                    json={"name": f"Person {step}", "email": f"p{step}-{number}@example.org"},
                )
                if made.status_code == 201:
                    enrolments.append(made.get_json()["id"])
            elif action == "desk_confirm" and enrolment_id:
                client.post(
                    f"/api/v1/enrolments/{enrolment_id}/confirm",
                    headers=headers,
                    json={"method": "waived", "amount": 0, "confirm_with_balance": True},
                )
            elif action == "withdraw" and enrolment_id:
                client.post(f"/api/v1/enrolments/{enrolment_id}/withdraw", headers=headers, json={})
            elif action == "transfer" and enrolment_id:
                client.post(
                    f"/api/v1/enrolments/{enrolment_id}/transfer", headers=headers, json={"cohort_id": cohort_id}
                )
            elif action == "rotate_feed" and enrolment_id:
                client.post(f"/api/v1/enrolments/{enrolment_id}/calendar/rotate", headers=headers)
            elif action == "rotate_join" and enrolment_id:
                client.post(f"/api/v1/enrolments/{enrolment_id}/join/rotate", headers=headers)
            elif action == "reschedule":
                local = datetime(2030, 12, 1 + number % 28, 8 + number % 12, 30)
                client.patch(
                    f"/api/v1/sessions/{session_id}",
                    headers=headers,
                    json={"local_start": local.isoformat(), "duration_minutes": 30 + number},
                )
            elif action == "retitle_session":
                client.patch(f"/api/v1/sessions/{session_id}", headers=headers, json={"title": f"Week {number}"})
            elif action in ("cancel_session", "restore_session"):
                status = "cancelled" if action == "cancel_session" else "scheduled"
                client.patch(f"/api/v1/sessions/{session_id}", headers=headers, json={"status": status})
            elif action == "add_session":
                add_session_after_last(cohort_id)
                db.session.rollback()
            elif action == "meeting_link":
                client.patch(
                    f"/api/v1/cohorts/{cohort_id}",
                    headers=headers,
                    json={"meeting_url": f"https://video.example/j/{number}"},
                )
            elif action == "capacity":
                client.patch(f"/api/v1/cohorts/{cohort_id}", headers=headers, json={"capacity": 2 + number % 4})
            elif action == "calendar_title":
                client.patch(
                    f"/api/v1/programs/{program.id}", headers=headers, json={"calendar_title": f"Group {number}"}
                )
            elif action == "rotate_cohort_feed":
                client.post(f"/api/v1/cohorts/{cohort_id}/calendar/rotate", headers=headers)
            elif action == "cancel_cohort":
                client.patch(f"/api/v1/cohorts/{cohort_id}", headers=headers, json={"status": "cancelled"})
        _check_every_feed(cohort_ids, seen)


def test_a_rolled_back_change_leaves_the_stored_feed_as_it_was(app, make_cohort, make_enrolment):
    cohort = make_cohort()
    enrolment = make_enrolment(cohort)
    before = calendars.served_feed(FeedKind.ENROLMENT, enrolment.feed_token)
    try:
        with write_transaction():
            db.session.get(Session, cohort.sessions[0].id).title = "Changed"
            db.session.get(Session, cohort.sessions[0].id).sequence += 1
            db.session.flush()
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    db.session.expire_all()
    assert calendars.served_feed(FeedKind.ENROLMENT, enrolment.feed_token) == before
    assert before.body == calendars.fresh_enrolment_feed(db.session.get(Enrolment, enrolment.id))


def test_waitlisted_and_pending_enrolments_store_no_feed(app, make_cohort, make_enrolment):
    """The burst under the cohort lock builds nothing for those whose feed is the empty one."""
    cohort = make_cohort()
    waiting = make_enrolment(cohort, status="waitlisted")
    pending = make_enrolment(cohort, status="pending_payment")
    for enrolment in (waiting, pending):
        assert db.session.get(StoredFeed, (FeedKind.ENROLMENT, enrolment.id)) is None
        served = calendars.served_feed(FeedKind.ENROLMENT, enrolment.feed_token)
        assert served.body == calendars.empty_feed() == calendars.fresh_enrolment_feed(enrolment)


def test_a_feed_built_for_another_public_address_is_not_served(app, make_cohort, make_enrolment):
    cohort = make_cohort()
    enrolment = make_enrolment(cohort)
    app.config["PUBLIC_BASE_URL"] = "https://elsewhere.test"
    served = calendars.served_feed(FeedKind.ENROLMENT, enrolment.feed_token)
    assert b"elsewhere.test" in served.body
    assert served.body == calendars.fresh_enrolment_feed(enrolment)
    calendars.rebuild_all_feeds()
    assert db.session.get(StoredFeed, (FeedKind.ENROLMENT, enrolment.id)).body == served.body


def test_concurrent_changes_to_one_cohort_feed_leave_it_fresh(app, make_cohort, make_enrolment, monkeypatch):
    """PostgreSQL: a program retitled while a session of its cohort changes. The retitle's rebuild
    holds the cohort's lock from before it reads the sessions until it commits, so the session
    change waits, then rebuilds from both: no feed is stored from a stale snapshot."""
    if db.engine.dialect.name != "postgresql":
        return  # SQLite runs one write transaction at a time
    cohort = make_cohort()
    enrolment = make_enrolment(cohort)
    program_id, session_id = cohort.program_id, cohort.sessions[0].id
    building, release, errors = threading.Event(), threading.Event(), []
    real = calendars.build_feeds_with_links

    def paused(*args, **kwargs):
        if threading.current_thread().name == "retitle":
            building.set()
            release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(calendars, "build_feeds_with_links", paused)

    def run(work):
        try:
            with app.app_context():
                work()
        except Exception as error:  # reported below
            errors.append(error)

    def retitle_program():
        cohort_programs.update_program(program_id, {"calendar_title": "New"})

    retitle = threading.Thread(target=run, name="retitle", args=(retitle_program,))
    move = threading.Thread(
        target=run, name="move", args=(lambda: cohort_services.update_session(session_id, {"title": "Moved"}),)
    )
    retitle.start()
    assert building.wait(60)
    move.start()
    # Let the retitle go on once the session change has either finished or waits for a lock.
    deadline = time.monotonic() + 60
    while move.is_alive() and time.monotonic() < deadline:
        waiting = db.session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
        db.session.rollback()
        if waiting:
            break
        time.sleep(0.01)
    release.set()
    retitle.join(60)
    move.join(60)
    assert not errors, errors
    db.session.expire_all()
    mine = db.session.get(Enrolment, enrolment.id)
    served = calendars.served_feed(FeedKind.ENROLMENT, mine.feed_token)
    assert served.body == calendars.fresh_enrolment_feed(mine)
    assert b"SUMMARY:New" in served.body and db.session.get(Session, session_id).title == "Moved"
    the_cohort = db.session.get(Cohort, cohort.id)
    assert calendars.served_feed(FeedKind.COHORT, the_cohort.feed_token).body == calendars.fresh_cohort_feed(the_cohort)


# ---- the builder's shortcut: one build per cohort, filled per person --------------------------

T0 = datetime(2030, 10, 3, 22, tzinfo=UTC)
links = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:/._?=&%#@+-~,;\\^é", max_size=120
)


@settings(max_examples=150, deadline=None)
@given(
    people=st.dictionaries(st.integers(0, 100), links, min_size=1, max_size=5),
    count=st.integers(0, 4),
    title=st.text(min_size=1, max_size=80),
    zone=st.sampled_from(["America/New_York", "Europe/London", "Asia/Kolkata"]),
)
def test_feeds_filled_per_person_equal_their_own_builds(people, count, title, zone):
    events = [
        FeedEvent(
            uid=f"ses_{n}@scheduler.test",
            starts_at=T0 + timedelta(days=7 * n),
            ends_at=T0 + timedelta(days=7 * n, minutes=90),
            tz=zone,
            summary=title,
            meeting_url=None,
            sequence=n,
            last_modified=T0,
            created=T0,
            cancelled=n == 2,
        )
        for n in range(count)
    ]
    filled = build_feeds_with_links(events, people, name="Group sessions")
    for key, link in people.items():
        own = [FeedEvent(**{**event.__dict__, "meeting_url": link}) for event in events]
        assert filled[key] == build_feed(own, name="Group sessions"), link
