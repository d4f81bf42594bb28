"""Enrolment over HTTP: the three outcomes, idempotency, bad input, privacy of the token."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from tests.helpers import QueryCounter, bearer, enrol, enrolled, handle_inbox

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)


def test_free_paid_and_full_cohorts_give_confirmed_pending_and_waitlisted(client, make_cohort):
    free = make_cohort(capacity=1, price_amount=0)
    paid = make_cohort(capacity=1, price_amount=36000, hold_minutes=30)
    with time_machine.travel(T0, tick=False):
        assert enrolled(client, free.id, "a@example.org")["status"] == "confirmed"
        held = enrolled(client, paid.id, "a@example.org")
        assert held["status"] == "pending_payment"
        # No Stripe keys: the desk takes payment, so the hold is manual_hold_hours (72), not hold_minutes.
        assert held["hold_expires_at"] == "2030-09-04T12:00:00Z"
        assert held["payment"]["provider"] == "manual"
        assert held["manage_token"].startswith("mng_") and held["manage_url"].startswith("https://")
        w1 = enrolled(client, paid.id, "b@example.org")
        w2 = enrolled(client, paid.id, "c@example.org")
        assert (w1["status"], w1["waitlist_position"]) == ("waitlisted", 1)
        assert w2["waitlist_position"] == 2


def test_the_emailed_manage_token_opens_only_its_enrolment_and_is_never_shown_again(client, make_cohort):
    cohort = make_cohort(capacity=5, price_amount=0)
    mine = enrolled(client, cohort.id, "a@example.org")
    other = enrolled(client, cohort.id, "b@example.org")
    got = client.get(f"/api/v1/enrolments/{mine['id']}", headers=bearer(mine["manage_token"]))
    assert got.status_code == 200
    assert "manage_token" not in got.json
    # The participant gets their personal join link, never the cohort's raw meeting link.
    assert "meeting_url" not in got.json
    assert got.json["join_url"].startswith("https://scheduler.test/join/join_")
    assert got.json["calendar_url"].startswith("https://") and got.json["webcal_url"].startswith("webcal://")
    assert len(got.json["sessions"]) == 12
    assert client.get(f"/api/v1/enrolments/{other['id']}", headers=bearer(mine["manage_token"])).status_code == 404
    assert (
        client.post(f"/api/v1/enrolments/{other['id']}/withdraw", headers=bearer(mine["manage_token"])).status_code
        == 404
    )
    assert client.get(f"/api/v1/enrolments/{mine['id']}").status_code == 401


def test_no_meeting_link_until_confirmed(client, make_cohort):
    cohort = make_cohort(capacity=5, price_amount=100)
    held = enrolled(client, cohort.id, "a@example.org")
    got = client.get(f"/api/v1/enrolments/{held['id']}?token={held['manage_token']}").json
    assert got["status"] == "pending_payment"
    assert not {"meeting_url", "join_url", "calendar_url", "webcal_url"} & set(got)


def test_idempotency_key_replays_the_first_response(client, make_cohort):
    cohort = make_cohort(capacity=5, price_amount=0)
    with time_machine.travel(T0, tick=False):
        first = enrol(client, cohort.id, "a@example.org", headers={"Idempotency-Key": "k-1"})
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):  # the retry replays the first deadline
        again = enrol(client, cohort.id, "a@example.org", headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert first.json["status"] == "check_email" and first.json == again.json
    handle_inbox()
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 1
    other = client.post(
        f"/api/v1/cohorts/{cohort.id}/enrolments",
        headers={"Idempotency-Key": "k-1"},
        json={"name": "Someone else", "email": "b@example.org"},
    )
    assert other.status_code == 409


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "Sam"}, "email"),
        ({"name": "Sam", "email": "not-an-email"}, "email"),
        ({"name": "Sam", "email": "Sam <sam@example.org>"}, "email"),
        ({"name": "Sam", "email": "sam @example.org"}, "email"),
        ({"name": "Sam", "email": "sam@exa mple.org"}, "email"),
        ({"email": "sam@example.org"}, "name"),
        ({"name": "  ", "email": "sam@example.org"}, "name"),
        ({"name": "Sam", "email": "sam@example.org", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "Sam", "email": "sam@example.org", "status": "confirmed"}, "status"),
        ({"name": "Sam", "email": "sam@example.org", "phone": "call me"}, "phone"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_changes_nothing(client, make_cohort, body, field):
    cohort = make_cohort(capacity=5, price_amount=0)
    response = client.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json=body)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_same_email_in_another_case_while_active_enrols_once(client, make_cohort, auth):
    cohort = make_cohort(capacity=5, price_amount=0)
    assert enrol(client, cohort.id, "Sam@Example.org").status_code == 202
    assert enrol(client, cohort.id, "sam@EXAMPLE.ORG").status_code == 202  # the public is not told
    handle_inbox()
    staff = enrol(client, cohort.id, "sam@EXAMPLE.ORG", headers=auth("front_desk"))
    assert staff.status_code == 409 and "already" in staff.json["detail"]
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 1


@pytest.mark.parametrize("status", ["closed", "cancelled"])
def test_cohort_not_open_is_409(client, make_cohort, auth, status):
    cohort = make_cohort(status="open")
    client.patch(f"/api/v1/cohorts/{cohort.id}", headers=auth(), json={"status": status})
    response = enrol(client, cohort.id, "a@example.org")
    assert response.status_code == 409 and "not open" in response.json["detail"]
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_a_draft_cohort_is_404_like_one_that_does_not_exist(client, make_cohort):
    cohort = make_cohort(status="draft")
    response = enrol(client, cohort.id, "a@example.org")
    assert response.status_code == 404 and response.json == enrol(client, "coh_nope", "a@example.org").json
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_unknown_cohort_is_404(client):
    assert enrol(client, "coh_nope", "a@example.org").status_code == 404


def test_rate_limit_is_problem_json_with_retry_after(database_url, make_cohort):
    from scheduler import create_app
    from scheduler.foundation.config import for_tests

    limited = create_app(for_tests(database_url, RATELIMIT_ENABLED=True, ENROL_RATE_LIMIT="2 per minute"))
    cohort = make_cohort(capacity=5, price_amount=0)
    client = limited.test_client()
    codes = [enrol(client, cohort.id, f"p{i}@example.org").status_code for i in range(3)]
    assert codes == [202, 202, 429]
    response = enrol(client, cohort.id, "p9@example.org")
    assert response.mimetype == "application/problem+json" and int(response.headers["Retry-After"]) > 0


def test_query_count_of_enrol_and_roster_does_not_grow(client, make_cohort, auth):
    headers = auth("front_desk")
    counts = {}
    for size in (2, 25):
        cohort = make_cohort(capacity=size + 5, price_amount=100)
        for i in range(size):
            enrol(client, cohort.id, f"p{size}-{i}@example.org")
        with QueryCounter() as enrol_queries:
            assert enrol(client, cohort.id, f"new{size}@example.org").status_code == 202
        handle_inbox()
        with QueryCounter() as roster_queries:
            assert len(client.get(f"/api/v1/cohorts/{cohort.id}/roster", headers=headers).json) == size + 1
        counts[size] = (enrol_queries.count, roster_queries.count)
    assert counts[2] == counts[25]


def test_a_duplicate_says_nothing_of_the_status_and_the_owner_hears_of_each_request(client, make_cohort):
    """Issue 14, finding 4: whoever sends an address may not own it. Each request is answered by
    email to the address (its link again); the per-address limit keeps that from flooding it."""
    from scheduler.notifications.models import OutboxMessage

    cohort = make_cohort(capacity=1, price_amount=0)
    assert enrolled(client, cohort.id, "sam@example.org")["status"] == "confirmed"
    for _ in range(3):
        again = enrol(client, cohort.id, "SAM@example.org")
        assert again.status_code == 202 and set(again.json) == {"status", "email", "expires_at"}
    handle_inbox()
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "already_enrolled")).all()
    assert len(told) == 3 and {m.to_address for m in told} == {"sam@example.org"}
    assert "you have a confirmed place" in told[0].body_text and "you have a confirmed place" in told[0].body_html
