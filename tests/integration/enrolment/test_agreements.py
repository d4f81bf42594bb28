"""A program's agreements over HTTP: versions, the gate before `confirmed` (card, free place, offer,
the desk's confirm and paper signatures), agreements_due on the roster, who may do what, and the
person's export and erasure."""

import hashlib

import pytest
from sqlalchemy import select

from scheduler.enrolment.models import AgreementAcceptance
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.payments.models import WebhookEvent
from tests.helpers import QueryCounter, as_participant, enrolled
from tests.stripe_double import fresh, status_of, wait_until

GUIDELINES = "What is said in the group stays in the group.\n\nNo contact between members outside it."
CONSENT = "Sessions are held by video. I will join from a private place."


def _add(client, headers, program_id, title, body) -> dict:
    response = client.post(
        f"/api/v1/programs/{program_id}/agreements", json={"title": title, "body": body}, headers=headers
    )
    assert response.status_code == 201, response.json
    return response.json


def _current(client, headers, program_id) -> list[dict]:
    response = client.get(f"/api/v1/programs/{program_id}/agreements", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def _accept(client, enrolment: dict, agreement_id: str, full_name="Sam Rivera", headers=None):
    return client.post(
        f"/api/v1/enrolments/{enrolment['id']}/agreements/{agreement_id}/accept",
        json={"full_name": full_name},
        headers=as_participant(enrolment) if headers is None else headers,
    )


def _mine(client, enrolment: dict) -> dict:
    db.session.rollback()
    response = client.get(f"/api/v1/enrolments/{enrolment['id']}", headers=as_participant(enrolment))
    assert response.status_code == 200, response.json
    return response.json


def _roster(client, headers, cohort_id) -> dict:
    response = client.get(f"/api/v1/cohorts/{cohort_id}/roster", headers=headers)
    assert response.status_code == 200, response.json
    return {row["name"]: row for row in response.json}


@pytest.fixture
def desk(auth):
    return auth("front_desk")


@pytest.fixture
def program(make_program):
    return make_program(name="DBT skills group", price_amount=0)


# ---- versions ------------------------------------------------------------------------------------


def test_the_same_title_again_is_a_new_version_that_supersedes_the_old(client, desk, auth, program):
    first = _add(client, desk, program.id, "Group guidelines", GUIDELINES)
    consent = _add(client, desk, program.id, "Telehealth consent", CONSENT)
    assert (first["version"], consent["version"], first["superseded_at"]) == (1, 1, None)
    assert first["text_hash"] == hashlib.sha256(GUIDELINES.encode()).hexdigest()
    assert first["id"].startswith("agr_") and first["created_by"].startswith("stf_")

    second = _add(client, auth("admin"), program.id, "group guidelines", GUIDELINES + "\n\nPhones off.")
    assert second["version"] == 2 and second["id"] != first["id"]
    current = _current(client, auth("facilitator"), program.id)  # facilitators may read them
    assert [(a["title"], a["version"]) for a in current] == [("Telehealth consent", 1), ("group guidelines", 2)]
    assert current[1]["body"].endswith("Phones off.")
    # A third version still counts from every earlier one.
    assert _add(client, desk, program.id, "Group Guidelines", "Be kind.")["version"] == 3


def test_adding_needs_the_desk_a_title_and_a_text(client, desk, auth, program):
    url = f"/api/v1/programs/{program.id}/agreements"
    body = {"title": "Group guidelines", "body": GUIDELINES}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=auth("facilitator")).status_code == 403
    assert client.post("/api/v1/programs/prg_nope/agreements", json=body, headers=desk).status_code == 404
    blank = client.post(url, json={"title": " ", "body": "  \n "}, headers=desk)
    assert blank.status_code == 422 and set(blank.json["errors"]) == {"title", "body"}
    assert blank.json["errors"]["body"] == ["Give the agreement's text."]
    assert _current(client, desk, program.id) == []


# ---- the gate before `confirmed` ----------------------------------------------------------------


@pytest.mark.slow
def test_a_card_payment_holds_the_seat_until_the_agreements_are_accepted(
    stripe_app, client, desk, make_program, make_cohort, localstripe_server
):
    program = make_program(price_amount=36000)
    cohort = make_cohort(program=program, price_amount=36000)
    guidelines = _add(client, desk, program.id, "Group guidelines", GUIDELINES)
    consent = _add(client, desk, program.id, "Telehealth consent", CONSENT)
    sam = enrolled(client, cohort.id, "sam@example.org")
    assert sam["status"] == "pending_payment" and [a["accepted"] for a in sam["agreements"]] == [False, False]

    intent = sam["payment"]["payment_intent_id"]
    localstripe_server.pay(intent, "pm_card_visa")
    outcome = wait_until(
        lambda: fresh(select(WebhookEvent.outcome).where(WebhookEvent.payment_intent_id == intent)),
        what="the webhook for the card payment",
    )
    assert outcome == ["agreements_due"]
    paid = _mine(client, sam)
    assert (paid["status"], paid["balance"], paid["amount_paid"]) == ("pending_payment", 0, 36000)
    assert "join_url" not in paid

    half = _accept(client, sam, guidelines["id"])
    assert half.status_code == 200 and half.json["enrolment_status"] == "pending_payment"
    done = _accept(client, sam, consent["id"], full_name="  Sam Rivera ")
    assert done.status_code == 200, done.json
    assert (done.json["enrolment_status"], done.json["full_name"], done.json["version"]) == (
        "confirmed",
        "Sam Rivera",
        1,
    )
    assert done.json["text_hash"] == hashlib.sha256(CONSENT.encode()).hexdigest()
    assert status_of(client, sam) == "confirmed"
    kinds = fresh(select(OutboxMessage.kind).where(OutboxMessage.enrolment_id == sam["id"]))
    assert kinds.count("enrolment_confirmed") == 1


def test_a_free_place_is_held_until_the_agreements_are_accepted_then_confirmed(client, desk, program, make_cohort):
    cohort = make_cohort(program=program, price_amount=0, capacity=5)
    agreement = _add(client, desk, program.id, "Group guidelines", GUIDELINES)
    sam = enrolled(client, cohort.id, "sam@example.org")
    assert sam["status"] == "pending_payment" and sam["hold_expires_at"] and sam["balance"] == 0
    assert sam["agreements"] == [
        {
            "id": agreement["id"],
            "title": "Group guidelines",
            "body": GUIDELINES,
            "version": 1,
            "text_hash": agreement["text_hash"],
            "accepted": False,
            "accepted_at": None,
            "full_name": None,
            "on_paper": False,
        }
    ]
    [held] = fresh(select(OutboxMessage).where(OutboxMessage.enrolment_id == sam["id"]))
    assert "read and accept the group's agreements" in held.body_text and "$0.00" not in held.body_text
    assert "agreement" not in held.subject.lower()

    assert _accept(client, sam, agreement["id"]).json["enrolment_status"] == "confirmed"
    mine = _mine(client, sam)
    assert mine["status"] == "confirmed" and mine["join_url"] and mine["agreements_due"] is False
    assert mine["agreements"][0]["accepted"] is True and mine["agreements"][0]["full_name"] == "Sam Rivera"


def test_a_free_seat_offered_from_the_waitlist_is_held_for_the_agreements(client, desk, program, make_cohort):
    cohort = make_cohort(program=program, price_amount=0, capacity=1)
    agreement = _add(client, desk, program.id, "Group guidelines", GUIDELINES)
    first = enrolled(client, cohort.id, "first@example.org")
    waiting = enrolled(client, cohort.id, "next@example.org", "Nico Next")
    assert (first["status"], waiting["status"]) == ("pending_payment", "waitlisted")
    assert client.post(f"/api/v1/enrolments/{first['id']}/withdraw", headers=as_participant(first)).status_code == 200
    assert _mine(client, waiting)["status"] == "offered"

    accepted = client.post(f"/api/v1/enrolments/{waiting['id']}/accept", json={}, headers=as_participant(waiting))
    assert accepted.status_code == 200 and accepted.json["status"] == "pending_payment"
    assert _accept(client, waiting, agreement["id"], "Nico Next").json["enrolment_status"] == "confirmed"


def test_the_desk_cannot_confirm_without_them_unless_signed_on_paper(client, desk, make_program, make_cohort):
    program = make_program(price_amount=36000)
    cohort = make_cohort(program=program, price_amount=36000)
    _add(client, desk, program.id, "Group guidelines", GUIDELINES)
    _add(client, desk, program.id, "Telehealth consent", CONSENT)
    sam = enrolled(client, cohort.id, "sam@example.org", headers=desk)
    url = f"/api/v1/enrolments/{sam['id']}/confirm"

    refused = client.post(url, json={"method": "cash", "amount": 36000}, headers=desk)
    assert refused.status_code == 409
    assert "Group guidelines (version 1), Telehealth consent (version 1)" in refused.json["detail"]
    assert "agreements_on_paper" in refused.json["detail"]
    assert _mine(client, sam)["status"] == "pending_payment" and _mine(client, sam)["amount_paid"] == 0

    confirmed = client.post(url, json={"method": "cash", "amount": 36000, "agreements_on_paper": True}, headers=desk)
    assert confirmed.status_code == 200 and confirmed.json["status"] == "confirmed"
    assert [(a["on_paper"], a["full_name"]) for a in _mine(client, sam)["agreements"]] == [(True, None), (True, None)]
    audit = client.get("/api/v1/audit", query_string={"enrolment_id": sam["id"]}, headers=desk).json
    [paper] = [entry for entry in audit if entry["action"] == "agreements_on_paper"]
    assert paper["staff_name"] and paper["before"]["status"] == "pending_payment"
    assert [a["title"] for a in paper["after"]["agreements"]] == ["Group guidelines", "Telehealth consent"]

    # Enrolling and taking the money in one go is the same confirmation.
    payment = {"method": "check", "amount": 36000}
    walk_in = {"name": "Alex Doe", "email": "alex@example.org", "desk_payment": payment}
    url = f"/api/v1/cohorts/{cohort.id}/enrolments"
    assert client.post(url, json=walk_in, headers=desk).status_code == 409
    payment["agreements_on_paper"] = True
    assert client.post(url, json=walk_in, headers=desk).json["status"] == "confirmed"


def test_a_new_version_marks_confirmed_people_due_on_the_roster_and_nothing_else(client, desk, program, make_cohort):
    cohort = make_cohort(program=program, price_amount=0, capacity=10)
    v1 = _add(client, desk, program.id, "Group guidelines", GUIDELINES)
    sam = enrolled(client, cohort.id, "sam@example.org", "Sam Rivera")
    _accept(client, sam, v1["id"])
    assert _roster(client, desk, cohort.id)["Sam Rivera"]["agreements_due"] is False

    v2 = _add(client, desk, program.id, "Group guidelines", GUIDELINES + "\n\nPhones off.")
    row = _roster(client, desk, cohort.id)["Sam Rivera"]
    assert (row["status"], row["agreements_due"]) == ("confirmed", True)
    mine = _mine(client, sam)
    assert mine["agreements_due"] is True and mine["join_url"]  # still in, with the link
    assert [(a["version"], a["accepted"]) for a in mine["agreements"]] == [(2, False)]
    # The old version can no longer be accepted; accepting it again changes nothing.
    assert _accept(client, sam, v1["id"]).status_code == 200
    assert _accept(client, sam, v2["id"]).status_code == 200
    assert _roster(client, desk, cohort.id)["Sam Rivera"]["agreements_due"] is False


def test_a_superseded_version_not_accepted_yet_is_refused(client, desk, program, make_cohort):
    cohort = make_cohort(program=program, price_amount=0)
    v1 = _add(client, desk, program.id, "Group guidelines", GUIDELINES)
    _add(client, desk, program.id, "Group guidelines", "Be kind.")
    sam = enrolled(client, cohort.id, "sam@example.org")
    refused = _accept(client, sam, v1["id"])
    assert refused.status_code == 409 and "replaced by a newer one" in refused.json["detail"]


def test_the_roster_reads_acceptances_for_the_whole_page_at_once(client, desk, program, make_cohort):
    counts = {}
    for size in (2, 6):
        cohort = make_cohort(program=program, price_amount=0, capacity=10)
        agreement = _add(client, desk, program.id, f"Guidelines {size}", GUIDELINES)
        for i in range(size):
            person = enrolled(client, cohort.id, f"p{size}-{i}@example.org", f"Person {i}")
            _accept(client, person, agreement["id"], f"Person {i}")
        db.session.rollback()
        with QueryCounter() as queries:
            rows = _roster(client, desk, cohort.id)
        assert len(rows) == size
        counts[size] = queries.count
    assert counts[2] == counts[6]


# ---- who may accept, and what --------------------------------------------------------------------


def test_only_the_person_accepts_their_own_and_again_is_the_same_acceptance(
    client, desk, auth, program, make_program, make_cohort
):
    cohort = make_cohort(program=program, price_amount=0)
    agreement = _add(client, desk, program.id, "Group guidelines", GUIDELINES)
    elsewhere = _add(client, desk, make_program(name="Other").id, "Group guidelines", GUIDELINES)
    sam = enrolled(client, cohort.id, "sam@example.org")
    alex = enrolled(client, cohort.id, "alex@example.org", "Alex Doe")

    assert _accept(client, sam, agreement["id"], headers={}).status_code == 401
    assert _accept(client, sam, agreement["id"], headers=as_participant(alex)).status_code == 404
    assert _accept(client, sam, agreement["id"], headers=desk).status_code == 403  # staff note paper at confirm
    assert _accept(client, sam, "agr_nope").status_code == 404
    assert _accept(client, sam, elsewhere["id"]).status_code == 404
    blank = _accept(client, sam, agreement["id"], full_name="   ")
    assert blank.status_code == 422
    assert blank.json["errors"] == {"full_name": ["Type your full name to accept the agreement."]}
    assert fresh(select(AgreementAcceptance)) == []

    first = _accept(client, sam, agreement["id"])
    again = _accept(client, sam, agreement["id"], full_name="Someone Else")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json == first.json and again.json["full_name"] == "Sam Rivera"
    assert len(fresh(select(AgreementAcceptance))) == 1


# ---- the person's data -----------------------------------------------------------------------------


def test_the_export_lists_acceptances_and_erasure_blanks_the_name_typed(client, desk, auth, program, make_cohort):
    cohort = make_cohort(program=program, price_amount=0)
    agreement = _add(client, desk, program.id, "Group guidelines", GUIDELINES)
    sam = enrolled(client, cohort.id, "sam@example.org")
    _accept(client, sam, agreement["id"], full_name="Samwise Q. Rivera")

    export = client.get("/api/v1/participants/export", query_string={"email": "sam@example.org"}, headers=desk).json
    assert export["holds"]["agreements"] == 1
    [accepted] = export["enrolments"][0]["agreements"]
    assert (accepted["title"], accepted["version"], accepted["full_name"], accepted["on_paper"]) == (
        "Group guidelines",
        1,
        "Samwise Q. Rivera",
        False,
    )
    assert (
        accepted["text"] == GUIDELINES and accepted["text_hash"] == agreement["text_hash"] and accepted["accepted_at"]
    )

    erased = client.post("/api/v1/participants/erase", json={"email": "sam@example.org"}, headers=auth("admin"))
    assert erased.status_code == 200, erased.json
    [row] = fresh(select(AgreementAcceptance))
    assert (row.full_name, row.version, row.text_hash) == (None, 1, agreement["text_hash"])
