"""Races with real processes against a real gunicorn server, on SQLite and PostgreSQL.

However many clients race, seats taken never pass capacity and the waitlist has
positions 1..N with no gap or duplicate.
"""

from collections import Counter
from datetime import timedelta

from live_server import LiveServer, fire, run_jobs, settle_requests
from sqlalchemy import select, update

from scheduler.enrolment.models import Enrolment
from scheduler.enrolment.seats import seat_counts
from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from scheduler.jobs.runner import SKIPPED
from tests.helpers import enrolled

CLIENTS = 40


def _enrolments(url, cohort_id, count, prefix="p"):
    return [
        (
            "POST",
            f"{url}/api/v1/cohorts/{cohort_id}/enrolments",
            {"name": f"Person {i}", "email": f"{prefix}{i}@example.org"},
            None,
        )
        for i in range(count)
    ]


def _state(cohort):
    db.session.rollback()  # see what the server committed
    rows = db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id)).all()
    return rows, seat_counts([cohort], clock.now())[cohort.id]


def _in_arrival_order(rows):
    """The waitlist follows the order the requests arrived in (the inbox's sequence)."""
    from scheduler.inbox.models import PublicRequest

    arrival = dict(db.session.execute(select(PublicRequest.result_id, PublicRequest.seq)).all())
    waiting = sorted((e for e in rows if e.status == "waitlisted"), key=lambda e: arrival[e.id])
    assert [e.waitlist_rank for e in waiting] == sorted(e.waitlist_rank for e in waiting)


def _racers(rows, prefix="p"):
    """The racers' enrolments (every public answer is 202 check_email: the outcome is in the database)."""
    return [e for e in rows if e.email.startswith(prefix)]


def _gapless_waitlist(rows, count):
    ranks = sorted(e.waitlist_rank for e in rows if e.status == "waitlisted")
    assert len(ranks) == count and len(set(ranks)) == count, ranks


def test_many_clients_for_the_last_seat_get_exactly_one(app, database_url, make_cohort):
    cohort = make_cohort(capacity=3, price_amount=0)
    with LiveServer(database_url, workers=3) as server:
        warmup = fire(_enrolments(server.url, cohort.id, 2, prefix="early"), processes=2)
        assert [r[0] for r in warmup] == [202, 202]
        results = fire(_enrolments(server.url, cohort.id, CLIENTS), processes=10)
    assert Counter(r[0] for r in results) == {202: CLIENTS}
    assert settle_requests(database_url) == CLIENTS + 2
    rows, seats = _state(cohort)
    racers = _racers(rows)
    assert Counter(e.status for e in racers) == {"confirmed": 1, "waitlisted": CLIENTS - 1}
    _gapless_waitlist(racers, CLIENTS - 1)
    _in_arrival_order(rows)
    assert seats.taken == 3 and seats.waitlisted == CLIENTS - 1


def test_n_clients_for_c_seats_fill_c_and_number_the_rest_without_gaps(app, database_url, make_cohort):
    capacity = 5
    cohort = make_cohort(capacity=capacity, price_amount=36000)
    with LiveServer(database_url, workers=3) as server:
        results = fire(_enrolments(server.url, cohort.id, CLIENTS), processes=10)
    assert all(r[0] == 202 for r in results), [r for r in results if r[0] != 202][:3]
    assert settle_requests(database_url) == CLIENTS
    rows, seats = _state(cohort)
    assert Counter(e.status for e in rows) == {"pending_payment": capacity, "waitlisted": CLIENTS - capacity}
    _gapless_waitlist(rows, CLIENTS - capacity)
    _in_arrival_order(rows)
    assert seats.taken == capacity and seats.waitlisted == CLIENTS - capacity


def test_a_withdrawal_racing_new_enrolments_never_oversells(app, database_url, make_cohort, client):
    capacity = 3
    cohort = make_cohort(capacity=capacity, price_amount=0)
    seated = [enrolled(client, cohort, f"seated{i}@example.org", "Seated") for i in range(capacity)]
    leaver = seated[0]
    with LiveServer(database_url, workers=3) as server:
        jobs = _enrolments(server.url, cohort.id, 20)
        jobs.insert(
            7,
            (
                "POST",
                f"{server.url}/api/v1/enrolments/{leaver['id']}/withdraw",
                None,
                {"Authorization": f"Bearer {leaver['manage_token']}"},
            ),
        )
        results = fire(jobs, processes=10)
    assert all(r[0] in (200, 202) for r in results)
    assert settle_requests(database_url) == 20
    rows, seats = _state(cohort)
    assert seats.taken == capacity  # the freed seat went to exactly one person, never two
    holding = [e for e in rows if e.holds_seat(clock.now())]
    assert len(holding) == capacity
    waiting = sorted(e.waitlist_rank for e in rows if e.status == "waitlisted")
    assert len(set(waiting)) == len(waiting)


def test_workers_expiring_the_same_holds_offer_each_seat_once(app, database_url, make_cohort, client):
    cohort = make_cohort(capacity=2, price_amount=100)
    made = [enrolled(client, cohort, f"w{i}@example.org", "P") for i in range(5)]
    assert [m["status"] for m in made] == ["pending_payment"] * 2 + ["waitlisted"] * 3
    # Both holds lapsed a minute ago (the job processes run on the real clock).
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.id.in_([m["id"] for m in made[:2]]))
        .values(hold_expires_at=clock.now() - timedelta(minutes=1))
    )
    db.session.commit()
    printed = run_jobs(database_url, count=3)
    # One worker at a time runs the job (its lease): the others find it running, or nothing left.
    expired = [p["expire-holds-and-offers"] for p in printed]
    assert expired.count("2") == 1 and all(e in ("2", "0", SKIPPED) for e in expired), printed
    rows, seats = _state(cohort)
    by_id = {e.id: e for e in rows}
    assert [by_id[m["id"]].status for m in made] == ["expired", "expired", "offered", "offered", "waitlisted"]
    assert seats.taken == 2


def test_racing_retries_and_duplicates_of_one_person_enrol_them_once(app, database_url, make_cohort):
    cohort = make_cohort(capacity=5, price_amount=0)
    url = f"/api/v1/cohorts/{cohort.id}/enrolments"
    with LiveServer(database_url, workers=3) as server:
        body = {"name": "Sam", "email": "sam@example.org"}
        retries = fire([("POST", server.url + url, body, {"Idempotency-Key": "retry-1"})] * 12, processes=6)
        cases = ["Twin@Example.org", "twin@example.org", "TWIN@EXAMPLE.ORG"] * 4
        twins = fire([("POST", server.url + url, {"name": "Twin", "email": e}, None) for e in cases], processes=6)
    # Every answer is the same "check your email"; one enrolment each, whatever raced.
    assert {r[0] for r in retries} == {202} and {r[0] for r in twins} == {202}
    assert settle_requests(database_url) == 1 + 12  # the retries added no request
    rows, seats = _state(cohort)
    assert sorted(e.email.lower() for e in rows) == ["sam@example.org", "twin@example.org"] and seats.taken == 2
