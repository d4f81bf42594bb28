"""PATCH /api/v1/sessions/{id}: reschedule (UTC or local), retitle, cancel; `sequence` counts changes."""

from datetime import date, time

import pytest


@pytest.fixture
def cohort(make_cohort):
    # Thursdays 18:00 New York from 2030-10-03; session 1 is 22:00Z.
    return make_cohort()


def _patch(client, headers, session_id, body):
    return client.patch(f"/api/v1/sessions/{session_id}", headers=headers, json=body)


def test_reschedule_by_instant_keeps_the_id_and_raises_sequence(client, auth, cohort):
    headers = auth("front_desk")
    session = cohort.sessions[0]
    response = _patch(client, headers, session.id, {"starts_at": "2030-10-04T21:00:00Z"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["id"] == session.id and body["sequence"] == 1
    assert body["starts_at"] == "2030-10-04T21:00:00Z" and body["ends_at"] == "2030-10-04T22:30:00Z"
    assert body["local_start"] == "2030-10-04T17:00:00-04:00"
    again = _patch(client, headers, session.id, {"starts_at": "2030-10-04T17:00:00-04:00"})
    assert again.json["sequence"] == 1, "the same instant again is no change"
    shown = client.get(f"/api/v1/cohorts/{cohort.id}", headers=headers).json["sessions"][0]
    assert shown["starts_at"] == "2030-10-04T21:00:00Z" and shown["id"] == session.id


def test_reschedule_by_local_time_uses_the_cohorts_zone(client, auth, cohort):
    headers = auth()
    session = cohort.sessions[6]  # after the November change: New York is UTC-5
    response = _patch(client, headers, session.id, {"local_start": "2030-11-15T19:30", "duration_minutes": 60})
    assert response.status_code == 200, response.json
    assert response.json["starts_at"] == "2030-11-16T00:30:00Z"
    assert response.json["ends_at"] == "2030-11-16T01:30:00Z"
    assert response.json["local_start"] == "2030-11-15T19:30:00-05:00"
    with_offset = _patch(client, headers, session.id, {"local_start": "2030-11-15T20:00:00-05:00"})
    assert with_offset.json["starts_at"] == "2030-11-16T01:00:00Z" and with_offset.json["sequence"] == 2


def test_a_local_time_inside_the_spring_gap_is_refused_not_shifted(client, auth, make_cohort):
    cohort = make_cohort(start_date=date(2031, 2, 27), start_time=time(18, 0))
    session = cohort.sessions[1]
    headers = auth()
    for local in ("2031-03-09T02:30", "2031-03-09T02:30:00-05:00", "2031-03-09T02:30:00-04:00"):
        response = _patch(client, headers, session.id, {"local_start": local})
        assert response.status_code == 422, (local, response.json)
        assert "2031-03-09" in response.json["errors"]["local_start"][0]
    wrong_offset = _patch(client, headers, session.id, {"local_start": "2031-03-20T18:00:00+02:00"})
    assert wrong_offset.status_code == 422 and "offset" in wrong_offset.json["errors"]["local_start"][0]
    unchanged = client.get(f"/api/v1/cohorts/{cohort.id}", headers=headers).json["sessions"][1]
    assert unchanged["sequence"] == 0 and unchanged["local_start"] == "2031-03-06T18:00:00-05:00"


def test_an_ambiguous_local_time_takes_its_first_occurrence_unless_the_offset_says(client, auth, cohort):
    headers = auth()
    session = cohort.sessions[4]
    first = _patch(client, headers, session.id, {"local_start": "2030-11-03T01:30"})
    assert first.json["starts_at"] == "2030-11-03T05:30:00Z"
    second = _patch(client, headers, session.id, {"local_start": "2030-11-03T01:30:00-05:00"})
    assert second.json["starts_at"] == "2030-11-03T06:30:00Z"


def test_cancel_and_retitle(client, auth, cohort):
    headers = auth()
    session = cohort.sessions[2]
    cancelled = _patch(client, headers, session.id, {"status": "cancelled"})
    assert cancelled.json["status"] == "cancelled" and cancelled.json["sequence"] == 1
    retitled = _patch(client, headers, session.id, {"title": "Wise mind, part two"})
    assert retitled.json["title"] == "Wise mind, part two" and retitled.json["sequence"] == 2
    restored = _patch(client, headers, session.id, {"status": "scheduled"})
    assert restored.json["status"] == "scheduled" and restored.json["sequence"] == 3


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "_schema"),
        ({"starts_at": "2030-10-04T21:00:00"}, "starts_at"),
        ({"starts_at": "soon"}, "starts_at"),
        ({"starts_at": "2030-10-04T21:00:00Z", "local_start": "2030-10-04T17:00"}, "local_start"),
        ({"local_start": "6pm"}, "local_start"),
        ({"status": "completed"}, "status"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"title": ""}, "title"),
        ({"sequence": 9}, "sequence"),
        ({"starts_at": "0001-01-01T00:00:00+05:00"}, "starts_at"),
        ({"local_start": "2030-02-30T10:00"}, "local_start"),
    ],
)
def test_bad_session_changes_are_422(client, auth, cohort, body, field):
    session = cohort.sessions[0]
    response = _patch(client, auth(), session.id, body)
    assert response.status_code == 422 and field in response.json["errors"], response.json
    assert client.get(f"/api/v1/cohorts/{cohort.id}").json["sessions"][0]["sequence"] == 0


def test_sessions_of_a_cancelled_cohort_do_not_change(client, auth, cohort):
    headers = auth()
    client.patch(f"/api/v1/cohorts/{cohort.id}", headers=headers, json={"status": "cancelled"})
    response = _patch(client, headers, cohort.sessions[0].id, {"title": "x"})
    assert response.status_code == 409


def test_unknown_session_is_404_and_facilitators_may_not_patch(client, auth, cohort):
    assert _patch(client, auth(), "ses_nope", {"title": "x"}).status_code == 404
    assert _patch(client, auth("facilitator"), cohort.sessions[0].id, {"title": "x"}).status_code == 403


def test_a_session_ahead_is_not_moved_into_the_past_and_a_held_ones_correction_tells_no_one(
    client, auth, cohort, make_enrolment
):
    import time_machine
    from sqlalchemy import select

    from scheduler.foundation.extensions import db
    from scheduler.notifications.models import OutboxMessage

    headers = auth("front_desk")
    make_enrolment(cohort, email="ana@example.org")
    first, second = cohort.sessions[0], cohort.sessions[1]
    with time_machine.travel("2030-10-05T12:00:00Z", tick=False):  # session 1 held, session 2 ahead
        back = _patch(client, headers, second.id, {"local_start": "2030-10-04T18:00"})
        assert back.status_code == 422
        assert back.json["errors"]["local_start"] == [
            "That time has already passed: choose a date and time still ahead."
        ]
        by_instant = _patch(client, headers, second.id, {"starts_at": "2030-10-05T11:00:00Z"})
        assert by_instant.status_code == 422 and "starts_at" in by_instant.json["errors"]
        # Session 1 started at 18:00 but really began at 18:15: the record is corrected, nobody emailed.
        corrected = _patch(client, headers, first.id, {"local_start": "2030-10-03T18:15"})
        assert corrected.status_code == 200 and corrected.json["local_start"] == "2030-10-03T18:15:00-04:00"
        db.session.rollback()
        notices = db.session.scalars(select(OutboxMessage).where(OutboxMessage.session_id == first.id)).all()
        assert notices == []


def test_the_when_line_follows_the_weekly_rule_not_a_moved_first_session(client, auth, cohort):
    from tests.desk_support import sign_in, text_of

    moved = _patch(client, auth("front_desk"), cohort.sessions[0].id, {"local_start": "2030-10-04T10:00"})
    assert moved.status_code == 200, moved.json
    public = text_of(client.get(f"/cohorts/{cohort.id}"))
    assert "Thursdays at 6:00 PM EDT" in public and "Fridays" not in public
    console = client.application.test_client()
    from scheduler.staff.services import create_staff

    sign_in(console, create_staff("fran@staff.test", "Fran Desk", "front_desk"))
    assert "Thursdays, 6:00 PM EDT (America/New_York)" in text_of(console.get(f"/desk/cohorts/{cohort.id}"))
