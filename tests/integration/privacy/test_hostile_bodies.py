"""Deeply nested JSON and lone surrogates are the client's error (400/422), never a 500 (issue 14, 7).

Before: `[[[[…` 30,000 deep raised RecursionError inside the JSON parser (500, with a
2,000-line traceback in the log), and "\\ud800" in any string reached the database,
which cannot encode it (500 on PostgreSQL). Tracebacks in the log are capped.
"""

import io
import logging
import sys

import pytest

from scheduler import create_app, logs
from scheduler.foundation.config import for_tests
from scheduler.foundation.http import MAX_JSON_DEPTH, endpoint
from scheduler.foundation.meta import OPEN
from tests.helpers import opened


def _problem(response, status):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json"
    return response.json


@pytest.mark.parametrize(("opener", "closer"), [(b"[", b"]"), (b'{"a":', b"}")])
def test_deeply_nested_json_is_400(client, make_cohort, opener, closer):
    cohort = make_cohort()
    depth = 60 * 1024 // (len(opener) + len(closer))  # as deep as fits under the 64 KiB limit
    body = b'{"name": ' + opener * depth + b"1" + closer * depth + b"}"
    response = client.post(f"/api/v1/cohorts/{cohort.id}/enrolments", data=body, content_type="application/json")
    assert "levels deep" in _problem(response, 400)["detail"]


def test_nesting_to_the_limit_is_parsed_and_past_it_refused(client, make_cohort):
    cohort = make_cohort()
    path = f"/api/v1/cohorts/{cohort.id}/enrolments"
    within = '{"name": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"
    assert _problem(client.post(path, data=within, content_type="application/json"), 422)["errors"]["name"]
    beyond = '{"name": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}"
    assert "levels deep" in _problem(client.post(path, data=beyond, content_type="application/json"), 400)["detail"]
    # Brackets inside strings are text, not nesting.
    text = '{"name": "' + "[{" * 90 + '", "email": "sam@example.org"}'
    assert client.post(path, data=text, content_type="application/json").status_code == 202


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "\\ud800", "email": "sam@example.org"}',
        b'{"name": "Sam", "email": "sam@example.org", "phone": "\\udfff"}',
        b'{"\\ud83d": "a lone high surrogate as a key"}',
        b'{"name": "Sam", "email": "sam@example.org", "extra": ["\\udc00"]}',
    ],
)
def test_a_lone_surrogate_anywhere_in_a_body_is_400(client, make_cohort, body):
    cohort = make_cohort()
    response = client.post(f"/api/v1/cohorts/{cohort.id}/enrolments", data=body, content_type="application/json")
    assert "lone surrogate" in _problem(response, 400)["detail"]


def test_a_surrogate_pair_is_fine(client, make_cohort):
    cohort = make_cohort(price_amount=0)
    body = b'{"name": "Sam \\ud83d\\ude00", "email": "sam@example.org"}'
    response = client.post(f"/api/v1/cohorts/{cohort.id}/enrolments", data=body, content_type="application/json")
    assert response.status_code == 202
    assert opened(client, cohort.id, "sam@example.org")["name"] == "Sam \U0001f600"


def test_staff_bodies_and_query_strings_refuse_surrogates_too(client, auth, make_cohort):
    headers = auth("admin")
    response = client.post(
        "/api/v1/programs", data=b'{"name": "Skills \\udbff"}', content_type="application/json", headers=headers
    )
    assert response.status_code == 400
    # Query strings are percent-decoded as UTF-8 with replacement: a surrogate's bytes are no 500 either.
    assert client.get("/api/v1/enrolments?email=%ED%A0%80", headers=headers).status_code in (200, 422)
    assert client.get("/api/v1/cohorts/%ED%A0%80", headers=headers).status_code == 404
    assert client.get("/api/v1/enrolments?email=a%00b", headers=headers).status_code == 400


def _recurse(n):
    return _recurse(n + 1) + 1 if n % 2 else _other(n + 1)


def _other(n):
    return _recurse(n + 1)


def test_a_500s_traceback_is_capped_in_the_log():
    app = create_app(for_tests("sqlite://"))

    @app.get("/deep")
    @endpoint(OPEN)
    def deep():
        return _recurse(0)  # RecursionError through two alternating frames: Python cannot fold them

    handler = logs.app_handler()
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        old_limit = sys.getrecursionlimit()
        response = app.test_client().get("/deep")
    finally:
        handler.setStream(previous)
        sys.setrecursionlimit(old_limit)
    assert response.status_code == 500
    logged = stream.getvalue()
    assert "RecursionError" in logged and "lines of traceback omitted" in logged, logged[-1500:]
    assert logged.count("\n") < logs.MAX_TRACEBACK_LINES + 20


def test_json_logs_cap_tracebacks_too():
    try:
        _recurse(0)
    except RecursionError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line and "lines of traceback omitted" in line and len(line) < 20_000
