"""Every bad input the issue lists gets a clear 4xx problem+json and writes nothing."""

import pytest
from sqlalchemy import func, select

from scheduler.cohorts.models import Cohort, Program, Session
from scheduler.foundation.extensions import db

GOOD = {
    "start_date": "2026-10-22",
    "start_time": "18:00",
    "timezone": "America/New_York",
    "meeting_url": "https://video.example/j/123",
    "status": "open",
}


def _counts():
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Program, Cohort, Session))


@pytest.fixture
def program(make_program):
    return make_program()


@pytest.fixture
def post(client, auth):
    headers = auth("front_desk")

    def send(path, **kwargs):
        before = _counts()
        response = client.post(path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
        assert response.mimetype == "application/problem+json", response.data
        body = response.json
        assert body["status"] == response.status_code and body["detail"] and body["type"].startswith("https://")
        db.session.rollback()
        assert _counts() == before, "a refused request wrote something"
        return response

    return send


COHORT_FIELD_CASES = [
    ("unknown timezone", {"timezone": "Mars/Olympus_Mons"}, "timezone", "IANA"),
    ("timezone as an offset", {"timezone": "+05:00"}, "timezone", "IANA"),
    ("hour 25", {"start_time": "25:00"}, "start_time", "HH:MM"),
    ("12-hour clock", {"start_time": "6pm"}, "start_time", "HH:MM"),
    ("not a calendar date", {"start_date": "2026-02-30"}, "start_date", "YYYY-MM-DD"),
    ("malformed date", {"start_date": "22/10/2026"}, "start_date", "YYYY-MM-DD"),
    ("date far in the future", {"start_date": "9999-12-30"}, "start_date", "between"),
    ("zero sessions", {"session_count": 0}, "session_count", "between"),
    ("500 sessions", {"session_count": 500}, "session_count", "between"),
    ("zero capacity", {"capacity": 0}, "capacity", "between"),
    ("negative capacity", {"capacity": -3}, "capacity", "between"),
    ("negative price", {"price_amount": -1}, "price_amount", "minor units"),
    ("fractional price", {"price_amount": 10.5}, "price_amount", "integer"),
    ("unsupported currency", {"currency": "xyz"}, "currency", "usd"),
    ("http meeting link", {"meeting_url": "http://video.example/j/1"}, "meeting_url", "https"),
    ("skip date not on the weekday", {"skip_dates": ["2026-11-25"]}, "skip_dates", "weekly dates"),
    ("duplicate skip dates", {"skip_dates": ["2026-11-26", "2026-11-26"]}, "skip_dates", "more than once"),
    ("10,000-character name", {"name": "x" * 10_000}, "name", "200"),
    ("null name", {"name": None}, "name", "null"),
    ("null timezone", {"timezone": None}, "timezone", "null"),
    ("number where a string is required", {"start_time": 1800}, "start_time", "string"),
    ("client-chosen id", {"id": "coh_mine"}, "id", "Unknown"),
    ("client-set seats_taken", {"seats_taken": 0}, "seats_taken", "Unknown"),
    ("status beyond draft/open", {"status": "closed"}, "status", "draft or open"),
    ("derived status", {"status": "running"}, "status", "draft or open"),
    ("unknown program", {"program_id": "prg_nope"}, "program_id", "No such program"),
    (
        "time inside the spring-forward gap",
        {"start_date": "2027-03-14", "start_time": "02:30"},
        "start_time",
        "2027-03-14",
    ),
]


@pytest.mark.parametrize("why,change,field,message", COHORT_FIELD_CASES, ids=[c[0] for c in COHORT_FIELD_CASES])
def test_bad_cohort_field_is_422_naming_the_field(post, program, why, change, field, message):
    body = {**GOOD, "program_id": program.id, **change}
    response = post("/api/v1/cohorts", json=body)
    assert response.status_code == 422, (why, response.json)
    errors = response.json["errors"]
    assert set(errors) == {field}, errors
    assert message.lower() in " ".join(map(str, errors[field])).lower(), errors


def test_missing_required_fields_are_each_named(post):
    response = post("/api/v1/cohorts", json={})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"program_id", "start_date", "start_time", "timezone"}
    assert response.json["detail"] == "4 fields are invalid"


PROGRAM_CASES = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": None}, "name"),
    ({"name": "n" * 10_000}, "name"),
    ({"name": "ok", "price_amount": -100}, "price_amount"),
    ({"name": "ok", "currency": "USDX"}, "currency"),
    ({"name": "ok", "id": "prg_x"}, "id"),
    ({"name": "ok", "default_capacity": 0}, "default_capacity"),
    ({"name": "ok", "session_titles": "Wise mind"}, "session_titles"),
    ({"name": "ok", "default_session_count": 2, "session_titles": ["a", "b", "c"]}, "session_titles"),
]


@pytest.mark.parametrize("body,field", PROGRAM_CASES)
def test_bad_program_is_422(post, body, field):
    response = post("/api/v1/programs", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


@pytest.mark.parametrize("raw", ["[]", '["name"]', '"a string"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_400(post, raw):
    response = post("/api/v1/cohorts", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert "JSON object" in response.json["detail"]


@pytest.mark.parametrize("raw", ["{", "{'name': 'x'}", '{"name": "x",}', "\xff\xfe"])
def test_malformed_json_is_400(post, raw):
    response = post("/api/v1/programs", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_other_content_types_are_415(post, content_type):
    response = post("/api/v1/programs", data='{"name": "x"}', content_type=content_type)
    assert response.status_code == 415
    assert "application/json" in response.json["detail"]


def test_a_body_over_64_kib_is_413(post, program):
    body = '{"name": "' + "x" * (64 * 1024) + '"}'
    response = post("/api/v1/programs", data=body, content_type="application/json")
    assert response.status_code == 413


def test_nul_characters_are_refused_not_a_server_error(post, program):
    response = post("/api/v1/programs", json={"name": "a\u0000b"})
    assert response.status_code in (400, 422)
    response = post("/api/v1/cohorts", json={**GOOD, "program_id": "prg_\u0000"})
    assert response.status_code in (400, 422)
