"""Programs over HTTP: create, list, read, patch (admin and front desk only)."""


def test_program_crud(client, auth):
    headers = auth("front_desk")
    created = client.post(
        "/api/v1/programs",
        headers=headers,
        json={
            "name": "  Skills group  ",
            "description": "Twelve weeks.",
            "session_titles": ["Orientation"],
            "price_amount": 36000,
            "currency": "usd",
        },
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["name"] == "Skills group" and body["calendar_title"] == "Group session"
    assert body["default_session_count"] == 12 and body["id"].startswith("prg_")
    assert client.get(f"/api/v1/programs/{body['id']}", headers=headers).json == body
    patched = client.patch(
        f"/api/v1/programs/{body['id']}", headers=headers, json={"price_amount": 0, "calendar_title": "Weekly meeting"}
    )
    assert patched.status_code == 200
    assert (patched.json["price_amount"], patched.json["calendar_title"], patched.json["name"]) == (
        0,
        "Weekly meeting",
        "Skills group",
    )
    client.post("/api/v1/programs", headers=headers, json={"name": "Second"})
    listed = client.get("/api/v1/programs?page_size=1&page=2", headers=headers)
    assert [p["name"] for p in listed.json] == ["Second"]
    assert listed.headers["X-Pagination"] == '{"total": 2, "page": 2, "page_size": 1}'


def test_programs_are_staff_only(client, auth):
    assert client.get("/api/v1/programs").status_code == 401
    assert client.get("/api/v1/programs", headers=auth("facilitator")).status_code == 403
    assert client.post("/api/v1/programs", headers=auth("facilitator"), json={"name": "x"}).status_code == 403


def test_patch_program_validates_like_create(client, auth, make_program):
    program = make_program(default_session_count=2)
    headers = auth()
    response = client.patch(f"/api/v1/programs/{program.id}", headers=headers, json={"session_titles": ["a", "b", "c"]})
    assert response.status_code == 422 and "session_titles" in response.json["errors"]
    assert client.get(f"/api/v1/programs/{program.id}", headers=headers).json["session_titles"] == []
    assert client.patch(f"/api/v1/programs/{program.id}", headers=headers, json={"name": None}).status_code == 422
