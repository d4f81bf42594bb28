"""Roster (JSON and CSV), search, refunds, desk payments, transfers and who may do what."""

from datetime import timedelta

import time_machine

from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from tests.helpers import enrolled


def test_roster_for_desk_and_assigned_facilitator_only(client, make_cohort, make_staff, auth):
    facilitator, fac_token = make_staff("facilitator")
    _, other_token = make_staff("facilitator")
    cohort = make_cohort(capacity=2, price_amount=100, facilitator_ids=[facilitator.id])
    desk = auth("front_desk")
    held = enrolled(client, cohort.id, "held@example.org", name="=HYPERLINK(1)")
    paid = enrolled(client, cohort.id, "paid@example.org", name="Paid Person")
    enrolled(client, cohort.id, "waiting@example.org")
    client.post(
        f"/api/v1/enrolments/{paid['id']}/confirm",
        headers=desk,
        json={"method": "check", "amount": 100, "reference": "chk 12"},
    )
    roster = client.get(f"/api/v1/cohorts/{cohort.id}/roster", headers=desk).json
    assert {r["id"] for r in roster} == {held["id"], paid["id"]}
    assert {(r["status"], r["amount_paid"], r["payment_method"]) for r in roster} == {
        ("pending_payment", 0, None),
        ("confirmed", 100, "check"),
    }
    fac = {"Authorization": f"Bearer {fac_token}"}
    fac_roster = client.get(f"/api/v1/cohorts/{cohort.id}/roster", headers=fac).json
    assert len(fac_roster) == 2 and not {"amount_paid", "payment_method"} & set(fac_roster[0])
    assert (
        client.get(
            f"/api/v1/cohorts/{cohort.id}/roster", headers={"Authorization": f"Bearer {other_token}"}
        ).status_code
        == 404
    )
    csv = client.get(f"/api/v1/cohorts/{cohort.id}/roster.csv", headers=desk)
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0].split(",")[:3] == ["id", "name", "email"] and "amount_paid" in lines[0]
    assert any("'=HYPERLINK(1)" in line for line in lines)  # no formula runs in a spreadsheet
    fac_csv = client.get(f"/api/v1/cohorts/{cohort.id}/roster.csv", headers=fac).get_data(as_text=True)
    assert "amount_paid" not in fac_csv
    # Staff actions are for the desk only.
    assert (
        client.post(
            f"/api/v1/enrolments/{held['id']}/confirm", headers=fac, json={"method": "cash", "amount": 1}
        ).status_code
        == 403
    )
    assert client.get(f"/api/v1/cohorts/{cohort.id}/waitlist", headers=fac).status_code == 403
    assert (
        client.get(
            f"/api/v1/cohorts/{cohort.id}/roster", headers={"Authorization": f"Bearer {held['manage_token']}"}
        ).status_code
        == 401
    )
    assert (
        client.post(
            f"/api/v1/enrolments/{held['id']}/offer", headers={"Authorization": f"Bearer {held['manage_token']}"}
        ).status_code
        == 401
    )


def test_search_by_email_in_any_case(client, make_cohort, auth):
    cohort = make_cohort(capacity=2, price_amount=0)
    made = enrolled(client, cohort.id, "Sam@Example.org")
    enrolled(client, cohort.id, "other@example.org")
    found = client.get("/api/v1/enrolments?email=sam@EXAMPLE.org", headers=auth("front_desk"))
    assert [e["id"] for e in found.json] == [made["id"]]
    assert "manage_token" not in found.json[0]
    assert '"total": 1' in found.headers["X-Pagination"]


def test_refund_is_full_before_the_cutoff_none_after_and_staff_may_override(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=5, price_amount=36000, refund_cutoff_hours=48)
    first = cohort.sessions[0].starts_at
    people = [enrolled(client, cohort.id, f"p{i}@example.org") for i in range(3)]
    for person in people:
        client.post(
            f"/api/v1/enrolments/{person['id']}/confirm", headers=desk, json={"method": "cash", "amount": 36000}
        )
    with time_machine.travel(first - timedelta(hours=48, seconds=1), tick=False):
        early = client.post(f"/api/v1/enrolments/{people[0]['id']}/withdraw?token={people[0]['manage_token']}")
        assert early.json["refund"]["amount"] == 36000
    with time_machine.travel(first - timedelta(hours=48), tick=False):
        late = client.post(f"/api/v1/enrolments/{people[1]['id']}/withdraw?token={people[1]['manage_token']}")
        assert late.status_code == 200 and "refund" not in late.json
        token = people[2]["manage_token"]
        sneaky = client.post(
            f"/api/v1/enrolments/{people[2]['id']}/withdraw?token={token}", json={"refund_amount": 36000}
        )
        assert sneaky.status_code == 403
        too_much = client.post(
            f"/api/v1/enrolments/{people[2]['id']}/withdraw", headers=desk, json={"refund_amount": 36001}
        )
        assert too_much.status_code == 422 and db.session.get(Enrolment, people[2]["id"]).status == "confirmed"
        override = client.post(
            f"/api/v1/enrolments/{people[2]['id']}/withdraw", headers=desk, json={"refund_amount": 10000}
        )
        assert override.json["refund"]["amount"] == 10000
    twice = client.post(f"/api/v1/enrolments/{people[0]['id']}/withdraw", headers=desk)
    assert twice.status_code == 409


def test_desk_confirm_needs_a_seat(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=100)
    enrolled(client, cohort.id, "holder@example.org")
    waiting = enrolled(client, cohort.id, "waiting@example.org")
    refused = client.post(
        f"/api/v1/enrolments/{waiting['id']}/confirm", headers=desk, json={"method": "cash", "amount": 100}
    )
    assert refused.status_code == 409
    db.session.rollback()
    assert db.session.get(Enrolment, waiting["id"]).status == "waitlisted"
    bad = client.post(
        f"/api/v1/enrolments/{waiting['id']}/confirm", headers=desk, json={"method": "bitcoin", "amount": -1}
    )
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"method", "amount"}


def test_transfer_keeps_payment_and_refuses_full_or_same_cohort(client, make_cohort, auth):
    desk = auth("front_desk")
    source = make_cohort(capacity=1, price_amount=100)
    roomy = make_cohort(capacity=3, price_amount=100)
    full = make_cohort(capacity=1, price_amount=0)
    enrolled(client, full.id, "someone@example.org")
    person = enrolled(client, source.id, "mover@example.org")
    waiting = enrolled(client, source.id, "waiting@example.org")
    client.post(f"/api/v1/enrolments/{person['id']}/confirm", headers=desk, json={"method": "cash", "amount": 100})
    url = f"/api/v1/enrolments/{person['id']}/transfer"
    assert client.post(url, headers=desk, json={"cohort_id": source.id}).status_code == 409
    assert client.post(url, headers=desk, json={"cohort_id": full.id}).status_code == 409
    assert client.post(url, headers=desk, json={"cohort_id": "coh_nope"}).status_code == 422
    moved = client.post(url, headers=desk, json={"cohort_id": roomy.id})
    assert moved.status_code == 200
    assert (moved.json["cohort_id"], moved.json["status"], moved.json["amount_paid"]) == (roomy.id, "confirmed", 100)
    db.session.rollback()
    assert db.session.get(Enrolment, waiting["id"]).status == "offered"  # the freed seat goes on
    audit = client.get(f"/api/v1/audit?enrolment_id={person['id']}", headers=desk).json
    assert audit[0]["action"] == "transferred"
    assert (audit[0]["before"]["cohort_id"], audit[0]["after"]["cohort_id"]) == (source.id, roomy.id)


def test_confirmed_people_show_no_stale_hold_or_offer_deadline(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=100)
    held = enrolled(client, cohort, "a@example.org", "A")
    waiting = enrolled(client, cohort, "b@example.org", "B")
    assert held["hold_expires_at"] and waiting["status"] == "waitlisted"
    client.post(f"/api/v1/enrolments/{held['id']}/confirm", headers=desk, json={"method": "cash", "amount": 100})
    client.patch(f"/api/v1/cohorts/{cohort.id}", headers=desk, json={"capacity": 2})  # B is offered the new seat
    offered = client.get(f"/api/v1/enrolments/{waiting['id']}", headers=desk).json
    assert offered["status"] == "offered" and offered["offer_expires_at"]
    client.post(f"/api/v1/enrolments/{waiting['id']}/confirm", headers=desk, json={"method": "cash", "amount": 100})
    roster = client.get(f"/api/v1/cohorts/{cohort.id}/roster", headers=desk).json
    assert [(r["status"], r["hold_expires_at"], r["offer_expires_at"]) for r in roster] == [
        ("confirmed", None, None)
    ] * 2


FORMULAS = [
    "-2+3+cmd|' /C calc'!A0",
    '+1+HYPERLINK("https://evil.example/","Click")',
    "=1+1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "%2B1",
    "|cmd",
]


def test_roster_csv_defuses_every_formula_and_leaves_empty_cells_empty(client, make_cohort, auth):
    """Issue 14, 5: a sign followed by a digit slipped through; empty cells came out as '."""
    import csv as stdlib_csv
    import io

    cohort = make_cohort(capacity=20, price_amount=0)
    for n, name in enumerate(FORMULAS):
        enrolled(client, cohort.id, f"f{n}@example.org", name=name)
    with_plus = enrolled(client, cohort.id, "phone1@example.org", name="Phone Plus", phone="+1 555 0100")
    without_plus = enrolled(client, cohort.id, "phone2@example.org", name="Phone Plain", phone="555 0100")
    assert with_plus["status"] == without_plus["status"] == "confirmed"

    response = client.get(f"/api/v1/cohorts/{cohort.id}/roster.csv", headers=auth("front_desk"))
    assert response.mimetype == "text/csv"
    header, *rows = list(stdlib_csv.reader(io.StringIO(response.get_data(as_text=True))))
    names = [row[header.index("name")] for row in rows]
    for formula in FORMULAS:
        # defusedcsv prefixes ' and escapes | (so no DDE command runs either).
        assert "'" + formula.replace("|", "\\|") in names, (formula, names)
    by_name = {row[header.index("name")]: dict(zip(header, row, strict=True)) for row in rows}
    # A phone with a leading + is escaped too (defusedcsv has no exception for it): still readable.
    assert by_name["Phone Plus"]["phone"] == "'+1 555 0100"
    assert by_name["Phone Plain"]["phone"] == "555 0100"
    # Empty stays empty: no phone, no payment method.
    plain = by_name["'=1+1"]
    assert plain["phone"] == "" and plain["payment_method"] == "" and plain["hold_expires_at"] == ""
    assert plain["amount_paid"] == "0"
