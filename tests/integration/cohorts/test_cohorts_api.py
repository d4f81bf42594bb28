"""Cohorts over HTTP: create, read (public and staff shapes), list, patch, status moves."""

import pytest
import time_machine
from sqlalchemy import func, select

from scheduler.enrolment.models import Enrolment, Participant
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db


def _take_seats(cohort, n):
    """Seats taken the way enrolment will take them: confirmed Enrolment rows."""
    with write_transaction():
        for i in range(n):
            person = Participant(email_normalised=f"p{i}@example.org")
            db.session.add(
                Enrolment(
                    cohort_id=cohort.id,
                    participant=person,
                    status="confirmed",
                    name=f"P {i}",
                    email=f"p{i}@example.org",
                )
            )


@time_machine.travel("2026-10-01T12:00:00Z", tick=False)
def test_staff_creates_a_cohort_and_the_public_sees_it_without_the_link(client, auth, make_program):
    program = make_program(session_titles=["Orientation", "Wise mind"])
    headers = auth("front_desk")
    created = client.post(
        "/api/v1/cohorts",
        headers=headers,
        json={
            "program_id": program.id,
            "name": "Thursday evenings",
            "start_date": "2026-10-22",
            "start_time": "18:00",
            "timezone": "America/New_York",
            "skip_dates": ["2026-11-26"],
            "meeting_url": "https://video.example/j/123",
            "status": "open",
        },
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["weekday"] == "thursday" and body["seats_available"] == 10 and body["seats_taken"] == 0
    assert body["price_amount"] == 36000 and body["currency"] == "usd" and body["session_count"] == 12
    assert [s["title"] for s in body["sessions"][:3]] == ["Orientation", "Wise mind", "Session 3"]
    first, last = body["sessions"][0], body["sessions"][-1]
    assert first["starts_at"] == "2026-10-22T22:00:00Z" and first["ends_at"] == "2026-10-22T23:30:00Z"
    assert first["local_start"] == "2026-10-22T18:00:00-04:00"
    # After the November change New York is UTC-5; 2026-11-26 is skipped, so 12 sessions end 2027-01-14.
    assert last["starts_at"] == "2027-01-14T23:00:00Z" and last["local_start"] == "2027-01-14T18:00:00-05:00"
    assert "2026-11-26" not in {s["local_start"][:10] for s in body["sessions"]}
    public = client.get(f"/api/v1/cohorts/{body['id']}")
    assert public.status_code == 200
    for hidden in ("meeting_url", "calendar_url", "facilitators", "facilitator_ids", "hold_minutes"):
        assert hidden not in public.json
    listed = client.get("/api/v1/cohorts")
    assert [c["id"] for c in listed.json] == [body["id"]] and "meeting_url" not in listed.json[0]
    assert listed.headers["X-Pagination"] == '{"total": 1, "page": 1, "page_size": 50}'
    staff_view = client.get(f"/api/v1/cohorts/{body['id']}", headers=headers)
    assert staff_view.json["meeting_url"] == "https://video.example/j/123"
    with time_machine.travel("2026-10-23T12:00:00Z"):
        # Once the first session has passed the cohort is running: shown by id, not listed as open.
        assert client.get(f"/api/v1/cohorts/{body['id']}").json["status"] == "running"
        assert client.get("/api/v1/cohorts").json == []
    with time_machine.travel("2027-02-01T12:00:00Z"):
        assert client.get(f"/api/v1/cohorts/{body['id']}").status_code == 404
        assert client.get(f"/api/v1/cohorts/{body['id']}", headers=headers).json["status"] == "completed"


def test_defaults_come_from_the_program(client, auth, make_program):
    program = make_program(default_session_count=8, default_capacity=6, default_duration_minutes=60, price_amount=0)
    body = client.post(
        "/api/v1/cohorts",
        headers=auth(),
        json={"program_id": program.id, "start_date": "2030-01-07", "start_time": "09:30", "timezone": "Europe/London"},
    ).json
    assert (body["session_count"], body["capacity"], body["duration_minutes"], body["price_amount"]) == (8, 6, 60, 0)
    assert body["status"] == "draft" and len(body["sessions"]) == 8
    assert body["hold_minutes"] == 30 and body["offer_hours"] == 24 and body["refund_cutoff_hours"] == 48


def test_the_public_sees_neither_drafts_nor_cancelled_cohorts(client, auth, make_cohort):
    draft = make_cohort(status="draft")
    assert client.get(f"/api/v1/cohorts/{draft.id}").status_code == 404
    assert client.get("/api/v1/cohorts").json == []
    assert client.get(f"/api/v1/cohorts/{draft.id}", headers=auth()).status_code == 200
    assert [c["id"] for c in client.get("/api/v1/cohorts?status=draft", headers=auth()).json] == [draft.id]


def test_staff_filter_by_status_and_program(client, auth, make_cohort, make_program):
    other = make_program(name="Other")
    a, b = make_cohort(), make_cohort(program=other, status="draft")
    headers = auth()
    assert {c["id"] for c in client.get("/api/v1/cohorts", headers=headers).json} == {a.id, b.id}
    assert [c["id"] for c in client.get(f"/api/v1/cohorts?program_id={other.id}", headers=headers).json] == [b.id]
    assert client.get("/api/v1/cohorts?status=bogus", headers=headers).status_code == 422
    assert client.get("/api/v1/cohorts?page_size=500", headers=headers).status_code == 422


def test_status_moves_draft_open_closed_and_cancelled_is_final(client, auth, make_cohort):
    cohort = make_cohort(status="draft")
    headers = auth("front_desk")

    def move(status):
        return client.patch(f"/api/v1/cohorts/{cohort.id}", headers=headers, json={"status": status})

    assert move("closed").status_code == 409  # a draft has never been open
    assert move("open").json["status"] == "open"
    assert move("closed").json["status"] == "closed"
    assert move("open").json["status"] == "open"  # reopening a closed cohort is allowed
    assert move("cancelled").json["status"] == "cancelled"
    refused = move("open")
    assert refused.status_code == 409 and "cancelled cohort cannot become open" in refused.json["detail"]
    assert move("running").status_code == 422


def test_capacity_cannot_go_below_seats_taken(client, auth, make_cohort):
    cohort = make_cohort(capacity=5)
    _take_seats(cohort, 3)
    headers = auth()
    refused = client.patch(f"/api/v1/cohorts/{cohort.id}", headers=headers, json={"capacity": 2})
    assert refused.status_code == 409 and "3 seats are taken" in refused.json["detail"]
    db.session.expire_all()
    assert client.get(f"/api/v1/cohorts/{cohort.id}", headers=headers).json["capacity"] == 5
    ok = client.patch(f"/api/v1/cohorts/{cohort.id}", headers=headers, json={"capacity": 3, "name": "Renamed"})
    assert ok.status_code == 200 and ok.json["seats_available"] == 0 and ok.json["name"] == "Renamed"


def test_cancelling_a_cohort_cancels_its_enrolments(client, auth, make_cohort):
    cohort = make_cohort(price_amount=0)
    _take_seats(cohort, 2)
    response = client.patch(f"/api/v1/cohorts/{cohort.id}", headers=auth(), json={"status": "cancelled"})
    assert response.status_code == 200
    statuses = db.session.scalars(select(Enrolment.status).where(Enrolment.cohort_id == cohort.id)).all()
    assert statuses == ["cancelled", "cancelled"]


def test_patch_refuses_what_cannot_change(client, auth, make_cohort):
    cohort = make_cohort()
    headers = auth()
    for body, field in [
        ({"timezone": "Europe/London"}, "timezone"),
        ({"seats_taken": 1}, "seats_taken"),
        ({"capacity": 0}, "capacity"),
        ({"meeting_url": "ftp://x.example"}, "meeting_url"),
        ({"facilitator_ids": ["stf_nobody"]}, "facilitator_ids"),
    ]:
        response = client.patch(f"/api/v1/cohorts/{cohort.id}", headers=headers, json=body)
        assert response.status_code == 422 and field in response.json["errors"], response.json
    assert client.patch("/api/v1/cohorts/coh_missing", headers=headers, json={"name": "x"}).status_code == 404


def test_facilitators_see_only_their_cohorts(client, auth, make_cohort, make_staff):
    mine, theirs = make_cohort(), make_cohort()
    facilitator, token = make_staff("facilitator")
    assigned = client.patch(f"/api/v1/cohorts/{mine.id}", headers=auth(), json={"facilitator_ids": [facilitator.id]})
    assert assigned.json["facilitator_ids"] == [facilitator.id]
    headers = {"Authorization": f"Bearer {token}"}
    assert [c["id"] for c in client.get("/api/v1/cohorts", headers=headers).json] == [mine.id]
    assert client.get(f"/api/v1/cohorts/{mine.id}", headers=headers).json["meeting_url"]
    assert client.get(f"/api/v1/cohorts/{theirs.id}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/cohorts/{mine.id}", headers=headers, json={"name": "x"}).status_code == 403


def test_a_front_desk_member_cannot_be_a_facilitator(client, auth, make_cohort, make_staff):
    cohort = make_cohort()
    desk, _ = make_staff("front_desk")
    response = client.patch(f"/api/v1/cohorts/{cohort.id}", headers=auth(), json={"facilitator_ids": [desk.id]})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 0


@pytest.mark.parametrize("path", ["/api/v1/cohorts/coh_nope", "/api/v1/programs/prg_nope"])
def test_unknown_ids_are_404(client, auth, path):
    response = client.get(path, headers=auth())
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
