"""Holds and offers expire at their instant; offers cascade in order; staff run the waitlist."""

from datetime import UTC, datetime, timedelta

import time_machine

from scheduler.enrolment.jobs import expire_holds_and_offers
from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from tests.helpers import enrolled

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
TICK = timedelta(seconds=1)


def status_of(enrolment):
    db.session.rollback()
    return db.session.get(Enrolment, enrolment["id"]).status


def seats(client, cohort_id):
    return client.get(f"/api/v1/cohorts/{cohort_id}").json


def test_a_hold_frees_its_seat_at_its_instant_and_the_job_offers_it_to_the_head(client, make_cohort):
    # No Stripe keys: payment is taken by hand, so the hold is manual_hold_hours.
    cohort = make_cohort(capacity=1, price_amount=100, manual_hold_hours=1, offer_hours=24)
    with time_machine.travel(T0, tick=False) as traveller:
        holder = enrolled(client, cohort.id, "holder@example.org")
        first = enrolled(client, cohort.id, "first@example.org")
        second = enrolled(client, cohort.id, "second@example.org")
        traveller.move_to(T0 + timedelta(hours=1) - TICK)
        assert seats(client, cohort.id)["seats_available"] == 0
        traveller.move_to(T0 + timedelta(hours=1))
        # Free at once, before any job runs.
        assert seats(client, cohort.id)["seats_available"] == 1
        assert expire_holds_and_offers() == 1
        assert [status_of(e) for e in (holder, first, second)] == ["expired", "offered", "waitlisted"]
        offered = client.get(f"/api/v1/enrolments/{first['id']}?token={first['manage_token']}").json
        assert offered["offer_expires_at"] == "2030-09-02T13:00:00Z"
        # The offer lapses at its instant and cascades to the next in line.
        traveller.move_to(T0 + timedelta(hours=25))
        late = client.post(f"/api/v1/enrolments/{first['id']}/accept?token={first['manage_token']}")
        assert late.status_code == 409 and "expired" in late.json["detail"]
        assert status_of(first) == "offered"  # a refused request changes nothing
        assert expire_holds_and_offers() == 1
        assert [status_of(e) for e in (first, second)] == ["expired", "offered"]
        assert expire_holds_and_offers() == 0  # a second pass finds nothing


def test_accept_just_before_the_offer_expires_holds_the_seat_for_payment(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=100, hold_minutes=30, offer_hours=24)
    with time_machine.travel(T0, tick=False) as traveller:
        holder = enrolled(client, cohort.id, "holder@example.org")
        waiting = enrolled(client, cohort.id, "waiting@example.org")
        withdrawn = client.post(f"/api/v1/enrolments/{holder['id']}/withdraw?token={holder['manage_token']}")
        assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
        assert status_of(waiting) == "offered"
        traveller.move_to(T0 + timedelta(hours=24) - TICK)
        accepted = client.post(f"/api/v1/enrolments/{waiting['id']}/accept?token={waiting['manage_token']}")
        assert accepted.status_code == 200
        assert accepted.json["status"] == "pending_payment" and accepted.json["payment"]["provider"] == "manual"
        again = client.post(f"/api/v1/enrolments/{waiting['id']}/accept?token={waiting['manage_token']}")
        assert again.status_code == 409


def test_a_newcomer_never_jumps_the_waitlist_when_a_hold_lapses(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=100, manual_hold_hours=1)
    with time_machine.travel(T0, tick=False) as traveller:
        enrolled(client, cohort.id, "holder@example.org")
        waiting = enrolled(client, cohort.id, "waiting@example.org")
        traveller.move_to(T0 + timedelta(hours=2))
        newcomer = enrolled(client, cohort.id, "new@example.org")
        assert newcomer["status"] == "waitlisted" and newcomer["waitlist_position"] == 1
        assert status_of(waiting) == "offered"


def test_offers_stop_once_the_first_session_started_but_staff_may_offer_by_hand(client, make_cohort, auth):
    cohort = make_cohort(capacity=1, price_amount=0)
    desk = auth("front_desk")
    first_session = cohort.sessions[0].starts_at
    with time_machine.travel(first_session - timedelta(hours=2), tick=False) as traveller:
        seated = enrolled(client, cohort.id, "seated@example.org")
        waiting = enrolled(client, cohort.id, "waiting@example.org")
        traveller.move_to(first_session + timedelta(minutes=5))
        client.post(f"/api/v1/enrolments/{seated['id']}/withdraw", headers=desk)
        assert status_of(waiting) == "waitlisted"
        by_hand = client.post(f"/api/v1/enrolments/{waiting['id']}/offer", headers=desk)
        assert by_hand.status_code == 200 and by_hand.json["status"] == "offered"


def test_staff_move_reorders_and_refuses_bad_positions(client, make_cohort, auth):
    cohort = make_cohort(capacity=1, price_amount=0)
    desk = auth("front_desk")
    enrolled(client, cohort.id, "seated@example.org")
    a, b, c = (enrolled(client, cohort.id, f"{n}@example.org") for n in "abc")
    moved = client.post(f"/api/v1/enrolments/{c['id']}/move", headers=desk, json={"position": 1})
    assert moved.status_code == 200
    line = client.get(f"/api/v1/cohorts/{cohort.id}/waitlist", headers=desk).json
    assert [(e["id"], e["waitlist_position"]) for e in line] == [(c["id"], 1), (a["id"], 2), (b["id"], 3)]
    for position, code in ((0, 422), (4, 422), ("1", 422)):
        response = client.post(f"/api/v1/enrolments/{a['id']}/move", headers=desk, json={"position": position})
        assert response.status_code == code and "position" in response.json["errors"]
    assert [e["id"] for e in client.get(f"/api/v1/cohorts/{cohort.id}/waitlist", headers=desk).json] == [
        c["id"],
        a["id"],
        b["id"],
    ]
    entries = client.get(f"/api/v1/audit?enrolment_id={c['id']}", headers=desk).json
    assert entries[0]["action"] == "moved" and entries[0]["staff_id"]
    assert entries[0]["before"]["waitlist_position"] == 3 and entries[0]["after"]["waitlist_position"] == 1


def test_raising_capacity_offers_the_new_seats_in_order(client, make_cohort, auth):
    cohort = make_cohort(capacity=1, price_amount=0)
    enrolled(client, cohort.id, "seated@example.org")
    a, b, c = (enrolled(client, cohort.id, f"{n}@example.org") for n in "abc")
    assert client.patch(f"/api/v1/cohorts/{cohort.id}", headers=auth(), json={"capacity": 3}).status_code == 200
    assert [status_of(e) for e in (a, b, c)] == ["offered", "offered", "waitlisted"]
    below = client.patch(f"/api/v1/cohorts/{cohort.id}", headers=auth(), json={"capacity": 2})
    assert below.status_code == 409
