"""Creating a cohort over HTTP: the schedule, the two shapes, the error shape."""


def test_staff_creates_a_cohort_and_the_public_sees_it_without_the_link(client, auth, make_program):
    program = make_program(session_titles=["Orientation", "Wise mind"])
    headers = auth("front_desk")
    created = client.post("/api/v1/cohorts", headers=headers, json={
        "program_id": program.id, "name": "Thursday evenings", "start_date": "2026-10-22",
        "start_time": "18:00", "timezone": "America/New_York", "skip_dates": ["2026-11-26"],
        "meeting_url": "https://video.example/j/123", "status": "open"})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["weekday"] == "thursday" and body["seats_available"] == 10
    assert [s["title"] for s in body["sessions"][:3]] == ["Orientation", "Wise mind", "Session 3"]
    first, last = body["sessions"][0], body["sessions"][-1]
    assert first["starts_at"] == "2026-10-22T22:00:00Z"
    assert first["local_start"] == "2026-10-22T18:00:00-04:00"
    # After the November change New York is UTC-5; 2026-11-26 is skipped, so 12 sessions end 2027-01-14.
    assert last["starts_at"] == "2027-01-14T23:00:00Z"
    public = client.get(f"/api/v1/cohorts/{body['id']}")
    assert public.status_code == 200
    assert "meeting_url" not in public.json and "calendar_url" not in public.json
    staff_view = client.get(f"/api/v1/cohorts/{body['id']}", headers=headers)
    assert staff_view.json["meeting_url"] == "https://video.example/j/123"


def test_errors_are_problem_json(client, auth):
    response = client.post("/api/v1/cohorts", headers=auth(), json={"start_time": "6pm"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert set(response.json["errors"]) >= {"program_id", "start_date", "start_time", "timezone"}
    assert client.get("/no/such/path").mimetype == "application/problem+json"
