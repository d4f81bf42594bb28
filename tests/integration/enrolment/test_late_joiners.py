"""Late joiners: a running cohort takes people until its enrol_until_session starts, at a price
pro-rated by the sessions left when the cohort says so; staff may add people until the last session."""

from datetime import timedelta

import time_machine

from scheduler.cohorts.joining import prorated
from scheduler.foundation.extensions import db
from tests.desk_support import post_form, sign_in, text_of
from tests.helpers import enrol, enrolled

# make_cohort: twelve weekly sessions from Thursday 3 October 2030, 18:00 New York time.
PRICE = 10000  # $100.00: ten of twelve sessions come to 8333.33…, rounded down to 8333


def _between_sessions_2_and_3(cohort):
    """An instant after session 2 has started and before session 3: whoever joins now starts with 3."""
    return time_machine.travel(cohort.sessions[1].starts_at + timedelta(days=1), tick=False)


def test_a_late_joiner_enrols_in_session_3_at_the_price_of_the_sessions_left(client, make_cohort, auth, make_staff):
    cohort = make_cohort(price_amount=PRICE, enrol_until_session=4, prorate_late_joiners=True)
    with _between_sessions_2_and_3(cohort):
        shown = client.get(f"/api/v1/cohorts/{cohort.id}").json
        assert (shown["status"], shown["enrolment_open"], shown["joining_from_session"]) == ("running", True, 3)
        assert (shown["enrol_until_session"], shown["prorate_late_joiners"]) == (4, True)
        assert shown["price_amount"] == PRICE and shown["joining_price_amount"] == 8333
        assert shown["enrolment_closes_at"] == "2030-10-24T22:00:00Z"  # session 4, 18:00 EDT
        # The public list offers it, and its page says from which session and at what price.
        assert [c["id"] for c in client.get("/api/v1/cohorts").json] == [cohort.id]
        page = text_of(client.get(f"/cohorts/{cohort.id}"))
        assert "Joining from session 3" in page and "$83.33 for the 10 sessions left of 12" in page
        assert "Reserve a seat" in page and "joining from session 3" in text_of(client.get("/"))
        # The price seen is the price held and asked for.
        person = enrolled(client, cohort, "late@example.org")
        assert person["status"] == "pending_payment" and person["amount_due"] == 8333
        assert person["payment"]["amount"] == 8333 and person["balance"] == 8333
        # The desk's confirm form proposes what is owed, and a cancelled cohort gives back what was paid.
        desk, _ = make_staff("front_desk")
        sign_in(client, desk)
        assert 'value="83.33"' in client.get(f"/desk/enrolments/{person['id']}").get_data(as_text=True)
        paid = client.post(
            f"/api/v1/enrolments/{person['id']}/confirm",
            headers=auth("front_desk"),
            json={"method": "cash", "amount": 8333},
        )
        assert paid.status_code == 200 and paid.json["status"] == "confirmed" and paid.json["balance"] == 0
        cancelled = client.patch(f"/api/v1/cohorts/{cohort.id}", headers=auth(), json={"status": "cancelled"})
        assert cancelled.status_code == 200
        after = client.get(f"/api/v1/enrolments/{person['id']}", headers=auth()).json
        assert after["status"] == "cancelled" and after["amount_refunded"] == 8333


def test_without_pro_rating_a_late_joiner_pays_the_full_price(client, make_cohort):
    cohort = make_cohort(price_amount=PRICE, enrol_until_session=4)
    with _between_sessions_2_and_3(cohort):
        shown = client.get(f"/api/v1/cohorts/{cohort.id}").json
        assert (shown["enrolment_open"], shown["prorate_late_joiners"], shown["joining_price_amount"]) == (
            True,
            False,
            PRICE,
        )
        person = enrolled(client, cohort, "late@example.org")
        assert person["amount_due"] == PRICE and person["payment"]["amount"] == PRICE
        page = text_of(client.get(f"/cohorts/{cohort.id}"))
        assert "Joining from session 3" in page and "$100.00" in page and "sessions left" not in page


def test_pro_rating_counts_the_sessions_held_and_rounds_down(client, make_cohort, auth):
    """amount × sessions not cancelled and not started ÷ sessions not cancelled, rounded down."""
    cohort = make_cohort(price_amount=PRICE, enrol_until_session=4, prorate_late_joiners=True)
    before = cohort.sessions[0].starts_at - timedelta(minutes=1)
    assert prorated(cohort, PRICE, before) == PRICE  # nothing started: the whole price
    fifth = cohort.sessions[4].id
    assert client.patch(f"/api/v1/sessions/{fifth}", headers=auth(), json={"status": "cancelled"}).status_code == 200
    db.session.rollback()
    with _between_sessions_2_and_3(cohort):
        # Sessions 3, 4 and 6 to 12 are left of the 11 held: 10000 × 9 / 11 = 8181.8…, rounded down.
        assert client.get(f"/api/v1/cohorts/{cohort.id}").json["joining_price_amount"] == 8181
        assert enrolled(client, cohort, "late@example.org")["amount_due"] == 8181
    at_session_4 = cohort.sessions[3].starts_at
    assert prorated(cohort, 36000, at_session_4) == 36000 * 7 // 11  # sessions 6 to 12: 22909.09…
    assert prorated(cohort, 0, at_session_4) == 0


def test_past_the_limit_the_public_gets_409_and_staff_may_still_enrol(client, make_cohort, auth):
    cohort = make_cohort(price_amount=PRICE, enrol_until_session=4, prorate_late_joiners=True)
    with time_machine.travel(cohort.sessions[3].starts_at + timedelta(hours=2), tick=False):
        refused = enrol(client, cohort, "late@example.org")
        assert refused.status_code == 409
        assert "until session 4 began on Thursday 24 October 2030" in refused.json["detail"]
        assert client.get("/api/v1/cohorts").json == []
        shown = client.get(f"/api/v1/cohorts/{cohort.id}").json
        assert (shown["enrolment_open"], shown["joining_from_session"]) == (False, 5)
        assert "Enrolment has closed" in text_of(client.get(f"/cohorts/{cohort.id}"))
        by_staff = enrol(client, cohort, "late@example.org", headers=auth("front_desk"))
        assert by_staff.status_code == 201, by_staff.json
        assert by_staff.json["amount_due"] == PRICE * 8 // 12  # sessions 5 to 12
    with time_machine.travel(cohort.sessions[-1].starts_at + timedelta(minutes=1), tick=False):
        too_late = enrol(client, cohort, "later@example.org", headers=auth("front_desk"))
        assert too_late.status_code == 409 and "last session" in too_late.json["detail"]


def test_by_default_a_running_cohort_takes_nobody_from_the_public(client, make_cohort, auth):
    cohort = make_cohort(price_amount=PRICE)
    with _between_sessions_2_and_3(cohort):
        refused = enrol(client, cohort, "late@example.org")
        assert (
            refused.status_code == 409 and "until session 1 began on Thursday 3 October 2030" in refused.json["detail"]
        )
        assert enrol(client, cohort, "late@example.org", headers=auth("front_desk")).json["amount_due"] == PRICE


def test_enrol_until_session_must_be_one_of_the_cohorts_sessions(client, make_program, make_cohort, auth):
    program = make_program()
    base = {"program_id": program.id, "start_date": "2030-10-03", "start_time": "18:00", "timezone": "UTC"}
    for wrong in (0, 13, "4"):
        answer = client.post(
            "/api/v1/cohorts", headers=auth(), json={**base, "session_count": 12, "enrol_until_session": wrong}
        )
        assert answer.status_code == 422 and "enrol_until_session" in answer.json["errors"], answer.json
    assert (
        "from 1 to 12"
        in client.post("/api/v1/cohorts", headers=auth(), json={**base, "enrol_until_session": 13}).json["errors"][
            "enrol_until_session"
        ][0]
    )
    made = client.post("/api/v1/cohorts", headers=auth(), json=base).json
    assert (made["enrol_until_session"], made["prorate_late_joiners"]) == (1, False)
    patched = client.patch(
        f"/api/v1/cohorts/{made['id']}", headers=auth(), json={"enrol_until_session": 7, "prorate_late_joiners": True}
    )
    assert patched.status_code == 200
    assert (patched.json["enrol_until_session"], patched.json["prorate_late_joiners"]) == (7, True)
    too_far = client.patch(f"/api/v1/cohorts/{made['id']}", headers=auth(), json={"enrol_until_session": 99})
    assert too_far.status_code == 422 and "enrol_until_session" in too_far.json["errors"]
    bad_flag = client.patch(f"/api/v1/cohorts/{made['id']}", headers=auth(), json={"prorate_late_joiners": "yes"})
    assert bad_flag.status_code == 422 and "prorate_late_joiners" in bad_flag.json["errors"]
    assert client.get(f"/api/v1/cohorts/{made['id']}", headers=auth()).json["enrol_until_session"] == 7


def test_the_console_cohort_forms_save_both_settings(client, make_staff, make_program):
    admin, _ = make_staff("admin")
    program = make_program()
    sign_in(client, admin)
    form = {
        "program_id": program.id,
        "start_date": "2030-10-03",
        "start_time": "18:00",
        "timezone": "America/New_York",
        "status": "open",
    }
    new_page = client.get("/desk/cohorts/new").get_data(as_text=True)
    assert 'for="c-enrol-until">Takes new people until session' in new_page
    assert 'for="c-prorate">Price for late joiners' in new_page and 'id="c-prorate-hint"' in new_page
    wrong = post_form(client, "/desk/cohorts/new", "/desk/cohorts/new", {**form, "enrol_until_session": "13"})
    assert wrong.status_code == 422 and 'id="c-enrol-until-error"' in wrong.get_data(as_text=True)
    made = post_form(
        client,
        "/desk/cohorts/new",
        "/desk/cohorts/new",
        {**form, "enrol_until_session": "4", "prorate_late_joiners": "yes"},
    )
    assert made.status_code == 303
    path = made.headers["Location"]
    cohort = client.get(f"/api/v1/cohorts/{path.rsplit('/', 1)[1]}", headers={"Authorization": ""}).json
    assert (cohort["enrol_until_session"], cohort["prorate_late_joiners"]) == (4, True)
    page = client.get(path).get_data(as_text=True)
    assert 'id="set-enrol-until" name="enrol_until_session" value="4"' in page
    assert '<option value="yes" selected>By the sessions left</option>' in page
    saved = post_form(
        client,
        path,
        path,
        {"name": "Thursdays", "status": "open", "enrol_until_session": "2", "prorate_late_joiners": "no"},
    )
    assert saved.status_code == 303
    cohort = client.get(f"/api/v1/cohorts/{cohort['id']}").json
    assert (cohort["enrol_until_session"], cohort["prorate_late_joiners"]) == (2, False)
    refused = post_form(client, path, path, {"name": "Thursdays", "enrol_until_session": "40"})
    assert refused.status_code == 422 and 'id="set-enrol-until-error"' in refused.get_data(as_text=True)


def test_a_late_joiner_paying_by_card_is_asked_for_the_pro_rated_price(
    stripe_app, client, make_cohort, localstripe_server
):
    cohort = make_cohort(price_amount=PRICE, enrol_until_session=4, prorate_late_joiners=True)
    with _between_sessions_2_and_3(cohort):
        person = enrolled(client, cohort, "late@example.org")
    payment = person["payment"]
    assert payment["provider"] == "stripe" and payment["amount"] == 8333
    assert localstripe_server.payment_intent(payment["payment_intent_id"])["amount"] == 8333


def test_a_pro_rated_late_joiners_statement_charges_each_date_what_was_paid_for_it(client, make_cohort, auth):
    cohort = make_cohort(price_amount=12000, enrol_until_session=4, prorate_late_joiners=True)
    desk = auth("front_desk")
    with _between_sessions_2_and_3(cohort) as traveller:
        person = enrolled(client, cohort, "late@example.org", headers=desk)
        assert person["amount_due"] == 10000  # $120.00 for twelve, ten of them left
        paid = client.post(
            f"/api/v1/enrolments/{person['id']}/confirm", json={"method": "cash", "amount": 10000}, headers=desk
        )
        assert paid.status_code == 200 and paid.json["status"] == "confirmed", paid.json
        session_3 = cohort.sessions[2]
        traveller.move_to(session_3.starts_at + timedelta(minutes=5))
        marked = client.put(
            f"/api/v1/sessions/{session_3.id}/attendance",
            json={"records": [{"enrolment_id": person["id"], "status": "present"}]},
            headers=desk,
        )
        assert marked.status_code == 200, marked.json
        statement = text_of(client.get(f"/api/v1/enrolments/{person['id']}/statement", headers=desk))
    # $100.00 for the ten sessions joined: $10.00 a session, not $100.00 spread over all twelve ($8.33).
    assert "$10.00" in statement and "$8.33" not in statement


def test_someone_offered_a_seat_late_pays_what_joining_now_costs(client, make_cohort, auth):
    cohort = make_cohort(price_amount=PRICE, capacity=1, enrol_until_session=4, prorate_late_joiners=True)
    desk = auth("front_desk")
    holder = enrolled(client, cohort, "holder@example.org", headers=desk)
    paid = client.post(
        f"/api/v1/enrolments/{holder['id']}/confirm", json={"method": "cash", "amount": PRICE}, headers=desk
    )
    assert paid.status_code == 200, paid.json
    waiting = enrolled(client, cohort, "waiting@example.org", headers=desk)
    assert waiting["status"] == "waitlisted" and waiting["amount_due"] == PRICE
    with _between_sessions_2_and_3(cohort):
        left = client.post(f"/api/v1/enrolments/{holder['id']}/withdraw", json={}, headers=desk)
        assert left.status_code == 200, left.json
        offered = client.get(f"/api/v1/enrolments/{waiting['id']}", headers=desk).json
    assert offered["status"] == "offered" and offered["amount_due"] == 8333  # as a newcomer would pay
