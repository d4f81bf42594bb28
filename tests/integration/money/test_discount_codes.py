"""Discount codes: percent and amount off, scope, limits, expiry, bad codes that say which to staff
(and one thing to the public), and the staff endpoints. (Racing enrolments for the last use:
tests/e2e/test_discount_race.py.)"""

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from tests.helpers import enrol, enrolled, handle_inbox

PRICE = 36000
T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
CANNOT_USE = "This discount code cannot be used for this group; check it, or enrol without it."


def make_code(client, desk, **body):
    response = client.post("/api/v1/discount-codes", json=body, headers=desk)
    assert response.status_code == 201, response.json
    return response.json


def code_error(response):
    assert response.status_code == 422, response.json
    return response.json["errors"]["discount_code"][0]


def test_percent_and_amount_off_are_shown_on_the_enrolment_and_in_the_email(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=5, price_amount=PRICE)
    spring = make_code(client, desk, code="Spring", percent_off=20)
    assert spring["code"] == "SPRING" and spring["uses"] == 0 and spring["active"] is True
    make_code(client, desk, code="WELCOME", amount_off=5000, currency="usd")

    percent = enrolled(client, cohort.id, "a@example.org", discount_code="spring")
    assert (percent["price_before_discount"], percent["discount_amount"], percent["amount_due"]) == (PRICE, 7200, 28800)
    assert percent["discount_code"] == "SPRING" and percent["balance"] == 28800
    assert percent["payment"]["amount"] == 28800
    amount = enrolled(client, cohort.id, "b@example.org", discount_code="WELCOME")
    assert (amount["discount_amount"], amount["amount_due"]) == (5000, 31000)

    db.session.rollback()
    email = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.enrolment_id == percent["id"], OutboxMessage.kind == "enrolment_received"
        )
    )
    assert "to pay $288.00" in email.body_text  # once the emailed link is opened
    assert "Discount: SPRING (20% off): -$72.00 (price $288.00)." in email.body_text
    listed = {c["code"]: c["uses"] for c in client.get("/api/v1/discount-codes", headers=desk).json}
    assert listed == {"SPRING": 1, "WELCOME": 1}


def test_a_full_discount_confirms_at_once(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=5, price_amount=PRICE)
    make_code(client, desk, code="STAFF", percent_off=100)
    body = enrolled(client, cohort.id, "a@example.org", discount_code="STAFF")
    assert (body["status"], body["amount_due"], body["balance"]) == ("confirmed", 0, 0)


def test_scope_currency_and_price_make_a_code_inapplicable(client, make_cohort, make_program, auth):
    desk = auth("front_desk")
    program, other_program = make_program(), make_program(name="Other")
    cohort = make_cohort(program=program, capacity=5, price_amount=PRICE)
    sibling = make_cohort(program=program, capacity=5, price_amount=PRICE)
    elsewhere = make_cohort(program=other_program, capacity=5, price_amount=PRICE)
    euros = make_cohort(program=program, capacity=5, price_amount=PRICE, currency="eur")
    free = make_cohort(program=program, capacity=5, price_amount=0)
    make_code(client, desk, code="ONLYHERE", percent_off=10, cohort_id=cohort.id)
    make_code(client, desk, code="PROGRAM", percent_off=10, program_id=program.id)
    make_code(client, desk, code="DOLLARS", amount_off=1000, currency="usd")

    assert enrol(client, cohort.id, "a@example.org", discount_code="ONLYHERE").status_code == 202
    assert code_error(enrol(client, sibling.id, "a@example.org", discount_code="ONLYHERE", headers=desk)) == (
        "This discount code is for another group, not this one."
    )
    assert enrol(client, sibling.id, "b@example.org", discount_code="PROGRAM").status_code == 202
    assert code_error(enrol(client, elsewhere.id, "a@example.org", discount_code="PROGRAM", headers=desk)) == (
        "This discount code is for another program, not this one."
    )
    assert "for prices in USD" in code_error(
        enrol(client, euros.id, "a@example.org", discount_code="DOLLARS", headers=desk)
    )
    assert "nothing to pay" in code_error(
        enrol(client, free.id, "a@example.org", discount_code="DOLLARS", headers=desk)
    )


def test_wrong_disabled_expired_and_spent_codes_say_which_to_staff(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=10, price_amount=PRICE)
    make_code(client, desk, code="ONCE", percent_off=10, max_uses=1)
    summer = make_code(client, desk, code="SUMMER", percent_off=10, expires_at="2030-09-02T00:00:00Z")
    retired = make_code(client, desk, code="RETIRED", percent_off=10)
    off = client.patch(f"/api/v1/discount-codes/{retired['id']}", json={"active": False}, headers=desk)
    assert off.status_code == 200 and off.json["active"] is False

    assert code_error(enrol(client, cohort.id, "a@example.org", discount_code="NOPE", headers=desk)) == (
        "No such discount code; check the spelling."
    )
    assert code_error(enrol(client, cohort.id, "a@example.org", discount_code="retired", headers=desk)) == (
        "This discount code is no longer offered."
    )
    with time_machine.travel(T0, tick=False) as traveller:
        assert enrol(client, cohort.id, "early@example.org", discount_code="SUMMER").status_code == 202
        traveller.move_to(datetime(2030, 9, 2, tzinfo=UTC))
        assert code_error(enrol(client, cohort.id, "late@example.org", discount_code="SUMMER", headers=desk)) == (
            "This discount code expired on 2030-09-02."
        )
    assert summer["expires_at"] == "2030-09-02T00:00:00Z"

    assert enrol(client, cohort.id, "first@example.org", discount_code="ONCE").status_code == 202
    handle_inbox()  # the request takes the code's one use when the worker carries it out
    assert code_error(enrol(client, cohort.id, "second@example.org", discount_code="ONCE", headers=desk)) == (
        "This discount code has been used up."
    )
    # A refused code enrols nobody.
    assert client.get("/api/v1/enrolments?email=second@example.org", headers=desk).json == []


def test_a_use_comes_back_when_the_enrolment_ends_unconfirmed_and_stays_once_confirmed(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=10, price_amount=PRICE)
    make_code(client, desk, code="ONCE", percent_off=10, max_uses=1)
    first = enrolled(client, cohort.id, "first@example.org", discount_code="ONCE")
    client.post(f"/api/v1/enrolments/{first['id']}/withdraw", headers=desk)  # never paid: the use is free again
    second = enrolled(client, cohort.id, "second@example.org", discount_code="ONCE")
    assert second["discount_code"] == "ONCE"
    client.post(f"/api/v1/enrolments/{second['id']}/confirm", json={"method": "cash", "amount": 32400}, headers=desk)
    client.post(f"/api/v1/enrolments/{second['id']}/withdraw", headers=desk)  # confirmed once: the use stays taken
    assert code_error(enrol(client, cohort.id, "third@example.org", discount_code="ONCE", headers=desk)) == (
        "This discount code has been used up."
    )


def test_staff_create_list_and_disable_codes_with_clear_errors(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort()
    bad = client.post("/api/v1/discount-codes", json={"code": "X", "percent_off": 10, "amount_off": 100}, headers=desk)
    assert bad.status_code == 422 and "percent_off" in bad.json["errors"]
    assert client.post("/api/v1/discount-codes", json={"code": "X"}, headers=desk).status_code == 422
    over = client.post("/api/v1/discount-codes", json={"code": "X", "percent_off": 120}, headers=desk)
    assert over.json["errors"]["percent_off"] == ["Must be a whole percentage from 1 to 100."]
    spaces = client.post("/api/v1/discount-codes", json={"code": "two words", "percent_off": 5}, headers=desk)
    assert "code" in spaces.json["errors"]
    no_currency = client.post("/api/v1/discount-codes", json={"code": "X", "amount_off": 500}, headers=desk)
    assert no_currency.status_code == 422 and "currency" in no_currency.json["errors"]
    scoped = make_code(client, desk, code="COHORT", amount_off=500, cohort_id=cohort.id)
    assert scoped["currency"] == "usd"  # the cohort's
    unknown = client.post(
        "/api/v1/discount-codes", json={"code": "Y", "percent_off": 5, "cohort_id": "coh_x"}, headers=desk
    )
    assert unknown.status_code == 422 and unknown.json["errors"] == {"cohort_id": ["No such cohort."]}
    twice = client.post("/api/v1/discount-codes", json={"code": "cohort", "percent_off": 5}, headers=desk)
    assert twice.status_code == 409

    listed = client.get("/api/v1/discount-codes?page_size=1", headers=desk)
    assert listed.status_code == 200 and len(listed.json) == 1 and '"total": 1' in listed.headers["X-Pagination"]
    assert client.get("/api/v1/discount-codes?active=false", headers=desk).json == []
    assert client.patch("/api/v1/discount-codes/dsc_nope", json={"active": False}, headers=desk).status_code == 404
    assert client.patch(f"/api/v1/discount-codes/{scoped['id']}", json={}, headers=desk).status_code == 422
    facilitator = auth("facilitator")
    assert client.get("/api/v1/discount-codes", headers=facilitator).status_code == 403
    assert client.get("/api/v1/discount-codes").status_code == 401


def test_a_code_past_its_expiry_is_refused_at_its_instant(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=10, price_amount=PRICE)
    expiry = T0 + timedelta(days=3)
    make_code(client, desk, code="SOON", percent_off=15, expires_at=expiry.strftime("%Y-%m-%dT%H:%M:%SZ"))
    with time_machine.travel(expiry - timedelta(seconds=1), tick=False):
        assert enrol(client, cohort.id, "in-time@example.org", discount_code="SOON").status_code == 202
    with time_machine.travel(expiry, tick=False):
        assert "expired" in code_error(
            enrol(client, cohort.id, "too-late@example.org", discount_code="SOON", headers=desk)
        )


def test_the_public_hears_one_answer_for_every_code_it_cannot_use(client, make_cohort, make_program, auth):
    """Issue 20, finding 7: a stranger trying codes on the public form or API cannot tell a code that
    exists (withdrawn, expired, spent, for another group or program) from one that never did."""
    desk = auth("front_desk")
    program = make_program()
    cohort = make_cohort(program=program, capacity=20, price_amount=PRICE)
    sibling = make_cohort(program=program, capacity=20, price_amount=PRICE)
    elsewhere = make_cohort(program=make_program(name="Other"), capacity=20, price_amount=PRICE)
    euros = make_cohort(program=program, capacity=20, price_amount=PRICE, currency="eur")
    free = make_cohort(program=program, capacity=20, price_amount=0)
    make_code(client, desk, code="ONCE", percent_off=10, max_uses=1)
    make_code(client, desk, code="SUMMER", percent_off=10, expires_at="2030-09-02T00:00:00Z")
    retired = make_code(client, desk, code="RETIRED", percent_off=10)
    client.patch(f"/api/v1/discount-codes/{retired['id']}", json={"active": False}, headers=desk)
    make_code(client, desk, code="ONLYHERE", percent_off=10, cohort_id=cohort.id)
    make_code(client, desk, code="PROGRAM", percent_off=10, program_id=program.id)
    make_code(client, desk, code="DOLLARS", amount_off=1000, currency="usd")
    tries = {
        "no such code": (cohort, "NOPE"),
        "withdrawn": (cohort, "RETIRED"),
        "expired": (cohort, "SUMMER"),
        "spent": (cohort, "ONCE"),
        "another group": (sibling, "ONLYHERE"),
        "another program": (elsewhere, "PROGRAM"),
        "another currency": (euros, "DOLLARS"),
        "nothing to pay": (free, "DOLLARS"),
    }
    with time_machine.travel(datetime(2030, 9, 3, tzinfo=UTC), tick=False):
        assert enrol(client, cohort.id, "first@example.org", discount_code="ONCE").status_code == 202  # its one use
        handle_inbox()
        answers = {
            why: enrol(client, group.id, "x@example.org", discount_code=code) for why, (group, code) in tries.items()
        }
        staff_answers = {
            why: enrol(client, group.id, "x@example.org", discount_code=code, headers=desk)
            for why, (group, code) in tries.items()
        }
    bodies = set()
    for why, response in answers.items():
        assert response.status_code == 422, why
        assert response.mimetype == "application/problem+json", why
        body = response.get_json()
        assert body["errors"] == {"discount_code": [CANNOT_USE]}, why
        bodies.add(response.get_data(as_text=True))
    assert len(bodies) == 1  # byte for byte the same answer, whichever code it was
    # Staff (a staff token) still see why, each reason its own.
    reasons = {why: code_error(response) for why, response in staff_answers.items()}
    assert CANNOT_USE not in reasons.values() and len(set(reasons.values())) == len(tries)
    assert reasons["no such code"] == "No such discount code; check the spelling."
    # A refused code enrols nobody, and a good code still works for the public.
    assert client.get("/api/v1/enrolments?email=x@example.org", headers=desk).json == []
    assert enrol(client, cohort.id, "y@example.org", discount_code="ONLYHERE").status_code == 202


def test_a_code_used_up_while_a_request_waited_is_refused_by_email(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=10, price_amount=PRICE)
    make_code(client, desk, code="ONCE", percent_off=10, max_uses=1)
    # Both are answered alike: the code can still be used when each is queued.
    for email in ("first@example.org", "second@example.org"):
        assert enrol(client, cohort.id, email, discount_code="ONCE").status_code == 202
    assert handle_inbox() == 2
    assert [e["email"] for e in client.get("/api/v1/enrolments", headers=desk).json] == ["first@example.org"]
    refusal = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "second@example.org"))
    assert refusal.kind == "request_refused" and "discount code could not be used" in refusal.body_text
    assert f"/cohorts/{cohort.id}" in refusal.body_text  # the way back to ask again
