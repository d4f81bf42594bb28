"""Staff accounts: the CLI, the admin API, revocation, and tokens stored only as hashes."""

from sqlalchemy import select

from scheduler.foundation.auth import hash_token
from scheduler.foundation.extensions import db
from scheduler.staff.models import Staff


def test_cli_creates_a_staff_account_and_prints_the_token_once(app, client):
    result = app.test_cli_runner().invoke(
        args=["staff", "create", "--email", "Desk@Clinic.test", "--name", "Front Desk", "--role", "front_desk"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.split("store it now): ")[1].strip()
    assert token.startswith("stf_") and len(token) > 40
    member = db.session.scalar(select(Staff))
    assert member.email == "desk@clinic.test" and member.token_hash == hash_token(token)
    assert token not in repr([member.id, member.email, member.name, member.token_hash])
    assert client.get("/api/v1/programs", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_cli_refuses_bad_input_and_duplicates(app):
    runner = app.test_cli_runner()
    bad_role = runner.invoke(args=["staff", "create", "--email", "a@clinic.test", "--name", "A", "--role", "boss"])
    assert bad_role.exit_code != 0 and "boss" in bad_role.output
    bad_email = runner.invoke(args=["staff", "create", "--email", "nope", "--name", "A", "--role", "admin"])
    assert bad_email.exit_code != 0 and "email" in bad_email.output.lower()
    runner.invoke(args=["staff", "create", "--email", "a@clinic.test", "--name", "A", "--role", "admin"])
    again = runner.invoke(args=["staff", "create", "--email", "A@clinic.test", "--name", "A", "--role", "admin"])
    assert again.exit_code != 0 and "already exists" in again.output
    assert len(db.session.scalars(select(Staff)).all()) == 1


def test_admin_creates_lists_and_revokes_staff_over_http(client, auth):
    admin = auth("admin")
    created = client.post(
        "/api/v1/staff", headers=admin, json={"email": "facilitator@clinic.test", "name": "Fran", "role": "facilitator"}
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert set(body) >= {"id", "email", "name", "role", "token"}
    their = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/cohorts", headers=their).status_code == 200
    listed = client.get("/api/v1/staff", headers=admin).json
    assert body["id"] in {s["id"] for s in listed} and all("token" not in s for s in listed)
    revoked = client.delete(f"/api/v1/staff/{body['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    refused = client.get("/api/v1/cohorts", headers=their)
    assert refused.status_code == 401 and "revoked" in refused.json["detail"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.delete(f"/api/v1/staff/{body['id']}", headers=admin).status_code == 404


def test_staff_api_refusals(client, auth, make_staff):
    admin = auth("admin")
    me, my_token = make_staff("admin")
    mine = {"Authorization": f"Bearer {my_token}"}
    assert client.delete(f"/api/v1/staff/{me.id}", headers=mine).status_code == 409
    assert (
        client.post(
            "/api/v1/staff", headers=admin, json={"email": "x@clinic.test", "name": "X", "role": "owner"}
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/staff",
            headers=admin,
            json={"email": "x@clinic.test", "name": "X", "role": "admin", "token": "stf_mine"},
        ).status_code
        == 422
    )
    assert client.post("/api/v1/staff", headers=auth("front_desk"), json={}).status_code == 403
    dup = client.post("/api/v1/staff", headers=admin, json={"email": me.email.upper(), "name": "X", "role": "admin"})
    assert dup.status_code == 409


def test_bad_credentials_are_401(client):
    for header in ("Bearer stf_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer ", "stf_no_scheme"):
        response = client.get("/api/v1/programs", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.mimetype == "application/problem+json"
