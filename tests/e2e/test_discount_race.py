"""A discount code's last use, raced by real client processes against a real gunicorn, on SQLite and
PostgreSQL: exactly one enrolment gets it, in one cohort or across the cohorts of a program."""

from collections import Counter

from live_server import LiveServer, fire, settle_requests
from sqlalchemy import func, select

from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db

RACERS = 20
PRICE = 36000


def _jobs(url, cohort_ids, code):
    return [
        (
            "POST",
            f"{url}/api/v1/cohorts/{cohort_ids[i % len(cohort_ids)]}/enrolments",
            {"name": f"Racer {i}", "email": f"racer{i}@example.org", "discount_code": code},
            None,
        )
        for i in range(RACERS)
    ]


def _discounted():
    db.session.rollback()  # see what the server committed
    return db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.discount_code_id.is_not(None)))


def _refused():
    from scheduler.notifications.models import OutboxMessage

    db.session.rollback()
    return db.session.scalar(select(func.count()).where(OutboxMessage.kind == "request_refused"))


def _make_code(client, desk, **body):
    response = client.post("/api/v1/discount-codes", json=body, headers=desk)
    assert response.status_code == 201, response.json
    return response.json


def test_one_use_left_and_twenty_racers_in_one_cohort_give_exactly_one_discount(
    app, database_url, client, make_cohort, auth
):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=30, price_amount=PRICE)
    _make_code(client, desk, code="LAST", percent_off=50, max_uses=3)
    for i in range(2):  # two uses taken already: one left
        early = client.post(
            f"/api/v1/cohorts/{cohort.id}/enrolments",
            json={"name": "Early", "email": f"early{i}@example.org", "discount_code": "LAST"},
        )
        assert early.status_code == 202
    assert settle_requests(database_url) == 2
    with LiveServer(database_url, workers=3) as server:
        results = fire(_jobs(server.url, [cohort.id], "LAST"), processes=10)
    # The code can still be used while they are queued: every racer is answered alike.
    assert Counter(r[0] for r in results) == {202: RACERS}, Counter(r[0] for r in results)
    assert settle_requests(database_url) == RACERS  # two workers carry them out
    db.session.rollback()
    [taken] = db.session.scalars(
        select(Enrolment).where(Enrolment.email.like("racer%"), Enrolment.discount_code_id.is_not(None))
    ).all()
    assert (taken.discount_code.code, taken.discount_amount) == ("LAST", PRICE // 2)
    # The others are told by email that the code could not be used; none of them is enrolled.
    assert _refused() == RACERS - 1
    assert _discounted() == 3
    code = client.get("/api/v1/discount-codes", headers=desk).json[0]
    assert code["uses"] == 3


def test_a_program_code_raced_across_two_cohorts_is_taken_once(
    app, database_url, client, make_program, make_cohort, auth
):
    desk = auth("front_desk")
    program = make_program()
    cohorts = [make_cohort(program=program, capacity=30, price_amount=PRICE) for _ in range(2)]
    _make_code(client, desk, code="ONCE", amount_off=5000, program_id=program.id, max_uses=1)
    with LiveServer(database_url, workers=3) as server:
        results = fire(_jobs(server.url, [c.id for c in cohorts], "ONCE"), processes=10)
    assert Counter(r[0] for r in results) == {202: RACERS}, Counter(r[0] for r in results)
    assert settle_requests(database_url) == RACERS
    assert _discounted() == 1 and _refused() == RACERS - 1
