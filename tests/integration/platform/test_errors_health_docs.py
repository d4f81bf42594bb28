"""One error shape everywhere; health, readiness, the OpenAPI document and the offline docs page."""

import re

import pytest
from openapi_spec_validator import validate

from scheduler import create_app
from scheduler.foundation.config import for_tests
from scheduler.foundation.extensions import limiter
from scheduler.foundation.http import endpoint
from scheduler.foundation.meta import OPEN
from tests.helpers import as_participant, opened


def _is_problem(response, status):
    assert response.status_code == status, response.data
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"].startswith("https://scheduler.example/problems/")
    return body


def test_router_404_and_405_are_problem_json(client):
    _is_problem(client.get("/no/such/path"), 404)
    _is_problem(client.get("/no/such/path", headers={"Accept": "application/json, text/html;q=0.5"}), 404)
    _is_problem(client.get("/api/v1/nope", headers={"Accept": BROWSER}), 404)  # the API's stays JSON
    _is_problem(client.get("/calendar/nope", headers={"Accept": BROWSER}), 404)
    not_allowed = client.delete("/api/v1/programs")
    _is_problem(not_allowed, 405)
    assert set(not_allowed.headers["Allow"].split(", ")) >= {"GET", "POST"}


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_mistyped_address_in_a_browser_is_a_page_not_json(client):
    for path in ("/nope", "/cohorts", "/me"):
        response = client.get(path, headers={"Accept": BROWSER})
        assert response.status_code == 404 and response.mimetype == "text/html", path
        page = response.get_data(as_text=True)
        assert "We could not find this page" in page and 'rel="stylesheet"' in page


def _bare_app(url="sqlite://", **overrides):
    return create_app(for_tests(url, **overrides))


def test_an_unexpected_exception_is_a_500_problem_that_leaks_nothing():
    app = _bare_app()

    @app.get("/boom")
    @endpoint(OPEN)
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    body = _is_problem(response, 500)
    assert "secret" not in response.get_data(as_text=True) and body["type"].endswith("/internal")


def test_rate_limited_requests_get_429_problem_with_retry_after():
    app = _bare_app(RATELIMIT_ENABLED=True)

    @app.get("/limited")
    @limiter.limit("2/minute")
    @endpoint(OPEN)
    def limited():
        return {"ok": True}

    client = app.test_client()
    assert [client.get("/limited").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/limited")
    _is_problem(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["database"] == "ok"


@pytest.mark.parametrize(
    "url", ["sqlite:////nonexistent-dir/cannot/open.db", "postgresql://nobody:nothing@127.0.0.1:9/scheduler"]
)
def test_readyz_is_503_with_retry_after_when_the_database_is_down(url):
    app = _bare_app(
        url, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}} if url.startswith("postgresql") else {}
    )
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # the process is up all the same
    down = client.get("/readyz")
    _is_problem(down, 503)
    assert int(down.headers["Retry-After"]) > 0
    # Any endpoint that needs the database says the same, not 500.
    listed = client.get("/api/v1/cohorts")
    _is_problem(listed, 503)
    assert listed.headers["Retry-After"]


def test_openapi_is_a_valid_openapi_3_document_of_every_route(app, client):
    document = client.get("/openapi.json").json
    validate(document)
    assert document["openapi"].startswith("3.")
    # Pages (HTML for people, declared with page_access) are not part of the API's document.
    paths = {
        re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", r.rule)
        for r in app.url_map.iter_rules()
        if not hasattr(app.view_functions[r.endpoint], "page_access")
    }
    assert paths == set(document["paths"])
    create = document["paths"]["/api/v1/cohorts"]["post"]
    schema_name = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    body = document["components"]["schemas"][schema_name]
    assert set(body["required"]) == {"program_id", "start_date", "start_time", "timezone"}
    assert body["additionalProperties"] is False
    assert "meeting_url" not in document["components"]["schemas"]["CohortPublicOut"]["properties"]


def test_docs_page_works_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "/api/v1/cohorts" in html
    # Nothing fetched from elsewhere: no external scripts, styles, fonts or images.
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html


@pytest.mark.parametrize("name", ["²", "0", "١"])  # digit-like names are field names, not list indexes
def test_unknown_fields_with_digit_like_names_are_422_naming_them(client, auth, name):
    query = client.get(f"/api/v1/programs?{name}=1", headers=auth("admin"))
    assert query.status_code == 422 and query.mimetype == "application/problem+json"
    assert query.json["errors"] == {name: ["Unknown field."]}
    body = client.post("/api/v1/programs", headers=auth("admin"), json={"name": "Skills group", name: 1})
    assert body.status_code == 422
    assert body.json["errors"] == {name: ["Unknown field."]}


def test_the_root_is_the_clinics_home_page(client):
    home = client.get("/")
    assert home.status_code == 200 and home.mimetype == "text/html"


def test_docs_page_says_which_endpoints_need_a_token(client):
    html = client.get("/docs").get_data(as_text=True)
    labels = {
        (method.upper(), path): label
        for method, path, label in re.findall(
            r'<span class="method">(\w+)</span><code>([^<]+)</code>.*?<span class="access">([^<]+)</span>', html, re.S
        )
    }
    assert labels[("GET", "/healthz")] == "Public"
    assert labels[("GET", "/api/v1/cohorts")] == "Optional staff token"  # staff see more
    assert labels[("POST", "/api/v1/cohorts/{cohort_id}/enrolments")] == "Optional staff token"  # the desk, by phone
    assert labels[("POST", "/api/v1/cohorts")] == "Needs a bearer token"
    assert labels[("GET", "/api/v1/staff")] == "Needs a bearer token"
    # Every operation of the document is labelled, and as its `security` says.
    document = client.get("/openapi.json").json
    expected = {
        (method.upper(), path): (
            "Public"
            if not op.get("security")
            else "Optional staff token"
            if {} in op["security"]
            else "Needs a bearer token"
        )
        for path, operations in document["paths"].items()
        for method, op in operations.items()
    }
    assert labels == expected


def test_private_responses_are_never_stored_and_every_response_is_nosniff(client, auth, make_cohort):
    """Issue 14, finding 10: a person, a token or a meeting link is never kept by a browser or cache."""
    cohort = make_cohort(price_amount=0)
    desk = auth("front_desk")
    public = client.get(f"/api/v1/cohorts/{cohort.id}")
    assert "no-store" not in public.headers.get("Cache-Control", "")
    answered = client.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json={"name": "Sam", "email": "s@example.org"})
    enrolment = opened(client, cohort.id, "s@example.org")
    mine = as_participant(enrolment)
    for response in (
        answered,  # names the address
        client.get(f"/api/v1/enrolments/{enrolment['id']}", headers=mine),  # a person, the link
        client.get(f"/api/v1/cohorts/{cohort.id}", headers=desk),  # staff shape: the meeting link
        client.get(f"/api/v1/cohorts/{cohort.id}/roster", headers=desk),
        client.get(f"/api/v1/cohorts/{cohort.id}/roster.csv", headers=desk),
        client.get(
            client.get(f"/api/v1/enrolments/{enrolment['id']}", headers=mine)
            .json["calendar_url"]
            .removeprefix("https://scheduler.test")
        ),
    ):
        assert response.status_code in (200, 202), response.request.path
        assert "no-store" in response.headers["Cache-Control"], response.request.path
    for response in (public, client.get("/healthz"), client.get("/api/v1/cohorts/nope"), client.get("/")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
