"""Issue 21: a request for a place in an intake program, answered alike for every address; the
person's intake by their emailed link; the desk's queue, outcomes, offers in queue order."""

import re
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from tests.helpers import bearer, enrolled, handle_inbox

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
LINK = re.compile(r"/me/intakes/(itk_[A-Za-z0-9_-]+)\?token=(mng_[A-Za-z0-9_-]+)")


def ask(client, program, email="ana@example.org", name="Ana Ruiz", **fields):
    return client.post(f"/api/v1/programs/{program.id}/intake-requests", json={"name": name, "email": email, **fields})


def mail_to(email: str, kind: str | None = None) -> list[OutboxMessage]:
    db.session.rollback()
    query = select(OutboxMessage).where(func.lower(OutboxMessage.to_address) == email.lower())
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return db.session.scalars(query.order_by(OutboxMessage.created_at, OutboxMessage.id)).all()


def intake_link(email: str) -> tuple[str, dict]:
    """Handle the inbox; the (intake id, the person's headers) the newest email to `email` links to."""
    handle_inbox()
    found = LINK.search(mail_to(email, "intake_link")[-1].body_text)
    return found[1], bearer(found[2])


def requested(client, program, email="ana@example.org", **fields) -> tuple[str, dict]:
    assert ask(client, program, email, **fields).status_code == 202
    return intake_link(email)


def test_a_request_is_answered_alike_and_its_email_links_to_the_persons_intake(client, make_program):
    program = make_program(admission="intake")
    first = ask(client, program, "ana@example.org")
    assert first.status_code == 202 and first.json["status"] == "check_email"
    intake_id, me = intake_link("ana@example.org")
    again = ask(client, program, "ana@example.org")  # the same address: the same answer, no second intake
    assert again.status_code == 202 and again.json.keys() == first.json.keys()
    handle_inbox()
    links = [LINK.search(m.body_text)[1] for m in mail_to("ana@example.org", "intake_link")]
    assert links == [intake_id, intake_id]
    subjects = {m.subject for m in mail_to("ana@example.org")}
    assert len(subjects) == 1 and next(iter(subjects)).startswith("Your personal link ·")
    assert all("Skills" not in subject for subject in subjects)
    mine = client.get(f"/api/v1/intakes/{intake_id}", headers=me)
    assert mine.status_code == 200
    assert mine.json["status"] == "requested" and mine.json["queue_position"] == 1
    assert mine.json["program_id"] == program.id and mine.json["appointment"] is None
    assert "note" not in mine.json and "email" not in mine.json
    _, other = requested(client, program, "ben@example.org")
    assert client.get(f"/api/v1/intakes/{intake_id}", headers=other).status_code == 404
    assert client.get(f"/api/v1/intakes/{intake_id}").status_code == 401


def test_requests_that_cannot_be_taken_say_what_to_do(client, make_program):
    open_program = make_program()
    refused = ask(client, open_program)
    assert refused.status_code == 409 and "enrol in one of its cohorts" in refused.json["detail"]
    assert (
        client.post("/api/v1/programs/prg_nope/intake-requests", json={"name": "A", "email": "a@b.org"}).status_code
        == 404
    )
    bad = ask(client, make_program(admission="intake"), email="not an address")
    assert bad.status_code == 422 and "email" in bad.json["errors"]


def test_the_desk_lists_the_queue_and_records_outcomes_the_person_hears_neutrally(client, auth, make_program):
    program = make_program(admission="intake", name="Dialectical skills")
    ana, ana_me = requested(client, program, "ana@example.org")
    ben, _ = requested(client, program, "ben@example.org")
    desk = auth("front_desk")
    queue = client.get(f"/api/v1/intakes?program_id={program.id}", headers=desk)
    assert [(i["id"], i["queue_position"]) for i in queue.json] == [(ana, 1), (ben, 2)]
    assert queue.json[0]["email"] == "ana@example.org"
    assert client.get("/api/v1/intakes", headers=auth("facilitator")).status_code == 403
    assert client.get(f"/api/v1/intakes/{ana}/", headers=desk).status_code in (404, 308)

    outcome = client.post(
        f"/api/v1/intakes/{ben}/outcome",
        json={
            "outcome": "not_suitable",
            "note": "Needs individual work first",
            "message": "We suggest individual sessions.",
        },
        headers=desk,
    )
    assert outcome.status_code == 200 and outcome.json["status"] == "not_suitable"
    assert outcome.json["note"] == "Needs individual work first"
    told = mail_to("ben@example.org", "intake_outcome")[-1]
    assert "Dialectical" not in told.subject and told.subject.startswith("News about your request")
    assert "We suggest individual sessions." in told.body_text and "individual work first" not in told.body_text
    twice = client.post(f"/api/v1/intakes/{ben}/outcome", json={"outcome": "approved"}, headers=desk)
    assert twice.status_code == 409
    # Ben left the queue: Ana is still first, and sees no staff note.
    assert client.get(f"/api/v1/intakes/{ana}", headers=ana_me).json["queue_position"] == 1
    wrong = client.post(f"/api/v1/intakes/{ana}/outcome", json={"outcome": "maybe"}, headers=desk)
    assert wrong.status_code == 422 and "approved" in wrong.json["errors"]["outcome"][0]
    filtered = client.get("/api/v1/intakes?status=not_suitable", headers=desk)
    assert [i["id"] for i in filtered.json] == [ben]


def test_approved_people_are_offered_seats_in_queue_order_whatever_order_they_were_approved(
    client, auth, make_program, make_cohort
):
    program = make_program(admission="intake")
    desk = auth("front_desk")
    cohort = make_cohort(program=program, capacity=1, price_amount=0, offer_hours=24)
    with time_machine.travel(T0, tick=False) as traveller:
        holder = enrolled(client, cohort.id, "holder@example.org", headers=desk)  # the one seat is taken
        ana, ana_me = requested(client, program, "ana@example.org")
        ben, ben_me = requested(client, program, "ben@example.org")
        for intake in (ben, ana):  # Ben is approved first
            assert (
                client.post(f"/api/v1/intakes/{intake}/outcome", json={"outcome": "approved"}, headers=desk).status_code
                == 200
            )
        assert mail_to("ana@example.org", "seat_offered") == []
        client.post(f"/api/v1/enrolments/{holder['id']}/withdraw", json={}, headers=desk)
        offered = client.get(f"/api/v1/intakes/{ana}", headers=ana_me).json
        assert offered["status"] == "approved" and offered["offer_enrolment_id"]
        assert len(mail_to("ana@example.org", "seat_offered")) == 1 and mail_to("ben@example.org", "seat_offered") == []
        # Ana declines: the seat goes to Ben; Ana keeps her place for the program's other cohorts.
        declined = client.post(f"/api/v1/enrolments/{offered['offer_enrolment_id']}/decline", headers=desk)
        assert declined.status_code == 200
        bens = client.get(f"/api/v1/intakes/{ben}", headers=ben_me).json
        assert bens["offer_enrolment_id"]
        accepted = client.post(f"/api/v1/enrolments/{bens['offer_enrolment_id']}/accept", json={}, headers=desk)
        assert accepted.status_code == 200 and accepted.json["status"] == "confirmed"
        assert client.get(f"/api/v1/intakes/{ben}", headers=ben_me).json["status"] == "enrolled"
        anas = client.get(f"/api/v1/intakes/{ana}", headers=ana_me).json
        assert anas["status"] == "approved" and anas["queue_position"] == 1
        # A new cohort opens: the job offers it to Ana, first in the queue.
        later = make_cohort(program=program, capacity=2, price_amount=0, start_date=datetime(2031, 1, 9).date())
        from scheduler.admission.queue import run_queue

        assert run_queue() == 1
        anas = client.get(f"/api/v1/intakes/{ana}", headers=ana_me).json
        offer = client.get(f"/api/v1/enrolments/{anas['offer_enrolment_id']}", headers=desk).json
        assert offer["cohort_id"] == later.id and offer["status"] == "offered"
        # Unanswered, the offer lapses: Ana is still approved; a year on, the approval expires.
        traveller.move_to(T0 + timedelta(hours=25))
        from scheduler.enrolment.jobs import expire_holds_and_offers

        expire_holds_and_offers()
        assert client.get(f"/api/v1/intakes/{ana}", headers=ana_me).json["status"] == "approved"
        traveller.move_to(T0 + timedelta(days=181))
        run_queue()
        assert client.get(f"/api/v1/intakes/{ana}", headers=ana_me).json["status"] == "expired"


def test_staff_reorder_the_queue_and_offer_out_of_turn(client, auth, make_program, make_cohort):
    program = make_program(admission="intake")
    desk = auth("front_desk")
    ids = [requested(client, program, f"p{n}@example.org")[0] for n in range(3)]
    moved = client.post(f"/api/v1/intakes/{ids[2]}/move", json={"position": 1}, headers=desk)
    assert moved.status_code == 200 and moved.json["queue_position"] == 1
    order = [i["id"] for i in client.get(f"/api/v1/intakes?program_id={program.id}", headers=desk).json]
    assert order == [ids[2], ids[0], ids[1]]
    too_far = client.post(f"/api/v1/intakes/{ids[0]}/move", json={"position": 9}, headers=desk)
    assert too_far.status_code == 422 and "1 to 3" in too_far.json["errors"]["position"][0]
    cohort = make_cohort(program=program, capacity=1, price_amount=0)
    not_yet = client.post(f"/api/v1/intakes/{ids[1]}/offer", json={"cohort_id": cohort.id}, headers=desk)
    assert not_yet.status_code == 409 and "approved" in not_yet.json["detail"]
    # Approving ids[1] alone: the free seat goes to them at once (nobody approved is ahead).
    client.post(f"/api/v1/intakes/{ids[1]}/outcome", json={"outcome": "approved"}, headers=desk)
    assert client.get(f"/api/v1/intakes/{ids[1]}", headers=desk).json["offer_enrolment_id"]
    client.post(f"/api/v1/intakes/{ids[0]}/outcome", json={"outcome": "approved"}, headers=desk)
    full = client.post(f"/api/v1/intakes/{ids[0]}/offer", json={"cohort_id": cohort.id}, headers=desk)
    assert full.status_code == 409 and "No seat is free" in full.json["detail"]
    other = make_cohort(capacity=3)
    wrong = client.post(f"/api/v1/intakes/{ids[0]}/offer", json={"cohort_id": other.id}, headers=desk)
    assert wrong.status_code == 422


def test_the_person_withdraws_and_a_seat_offered_meanwhile_is_declined(client, auth, make_program, make_cohort):
    program = make_program(admission="intake")
    desk = auth("front_desk")
    make_cohort(program=program, capacity=1, price_amount=0)
    ana, ana_me = requested(client, program, "ana@example.org")
    client.post(f"/api/v1/intakes/{ana}/outcome", json={"outcome": "approved"}, headers=desk)
    offer_id = client.get(f"/api/v1/intakes/{ana}", headers=ana_me).json["offer_enrolment_id"]
    gone = client.post(f"/api/v1/intakes/{ana}/withdraw", headers=ana_me)
    assert gone.status_code == 200 and gone.json["status"] == "withdrawn" and gone.json["queue_position"] is None
    assert client.get(f"/api/v1/enrolments/{offer_id}", headers=desk).json["status"] == "withdrawn"
    assert client.post(f"/api/v1/intakes/{ana}/withdraw", headers=ana_me).status_code == 409
