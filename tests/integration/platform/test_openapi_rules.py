"""/openapi.json states the rules the server enforces (issue 14): what it calls valid, the server takes.

Patterns for wall-clock times, dates, instants, emails, https URLs and one-line text (no
NUL, no line break), IANA zones as an enum, list limits, and roster.csv as text/csv.
Every string a field's documented pattern allows is loaded by that field.
"""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError
from marshmallow.validate import Length

from scheduler import create_app
from scheduler.foundation.config import for_tests
from scheduler.foundation.openapi import build_spec
from scheduler.foundation.validation import (
    DATE_PATTERN,
    EMAIL_PATTERN,
    HTTPS_URL_PATTERN,
    INSTANT_PATTERN,
    LOCAL_DATE_TIME_PATTERN,
    MULTI_LINE_PATTERN,
    ONE_LINE_NOT_BLANK_PATTERN,
    ONE_LINE_PATTERN,
    WALL_TIME_PATTERN,
)


@pytest.fixture(scope="module")
def document():
    app = create_app(for_tests("sqlite://"))
    with app.app_context():
        return build_spec(app)


def _body(document, name):
    return document["components"]["schemas"][name]["properties"]


def test_the_document_states_the_rules(document):
    cohort = _body(document, "CohortCreate")
    assert cohort["start_time"]["pattern"] == WALL_TIME_PATTERN
    assert cohort["start_date"]["pattern"] == DATE_PATTERN and "format" not in cohort["start_date"]
    assert "America/New_York" in cohort["timezone"]["enum"] and "EST5EDT-nope" not in cohort["timezone"]["enum"]
    assert cohort["meeting_url"]["pattern"] == HTTPS_URL_PATTERN and cohort["meeting_url"]["nullable"] is True
    assert cohort["skip_dates"]["maxItems"] == 52 and cohort["skip_dates"]["items"]["pattern"] == DATE_PATTERN
    assert cohort["facilitator_ids"]["maxItems"] == 20 and cohort["facilitator_ids"]["items"]["maxLength"] == 40
    assert cohort["name"]["pattern"] == ONE_LINE_NOT_BLANK_PATTERN
    enrol = _body(document, "EnrolmentCreate")
    assert enrol["email"]["pattern"] == EMAIL_PATTERN and enrol["email"]["maxLength"] == 254
    assert None in enrol["timezone"]["enum"]
    program = _body(document, "ProgramCreate")
    assert program["description"]["pattern"] == MULTI_LINE_PATTERN
    assert program["calendar_title"]["pattern"] == ONE_LINE_NOT_BLANK_PATTERN
    assert program["session_titles"]["maxItems"] == 100
    session = document["components"]["schemas"]["SessionPatch"]
    assert session["properties"]["starts_at"]["pattern"] == INSTANT_PATTERN
    assert session["properties"]["local_start"]["pattern"] == LOCAL_DATE_TIME_PATTERN
    assert session["not"] == {"required": ["starts_at", "local_start"]} and session["minProperties"] == 1
    roster = document["paths"]["/api/v1/cohorts/{cohort_id}/roster.csv"]["get"]["responses"]["200"]["content"]
    assert set(roster) == {"text/csv"}
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert set(metrics) == {"text/plain"}


@pytest.mark.parametrize("pattern", [ONE_LINE_PATTERN, ONE_LINE_NOT_BLANK_PATTERN, MULTI_LINE_PATTERN])
def test_text_patterns_refuse_nul_and_line_separators(pattern):
    compiled = re.compile(pattern)
    for bad in ("a\x00b", "a\u2028b", "a\u2029b", "a\x85b", "a\x1bb", "a\x7fb"):
        assert not compiled.match(bad), (pattern, bad)
    assert compiled.match("Thursday evenings, autumn") and compiled.match("Émilie Ñuñez 🙂")
    assert bool(compiled.match("two\nlines")) == (pattern == MULTI_LINE_PATTERN)


def _text_fields():
    app = create_app(for_tests("sqlite://"))
    found = {}
    for view in app.view_functions.values():
        spec = getattr(view, "endpoint_spec", None)
        for schema in (spec.body, spec.query) if spec else ():
            if schema is None:
                continue
            for name, field in schema().fields.items():
                inner = getattr(field, "inner", field)
                describe = getattr(inner, "openapi_properties", None)
                pattern = describe().get("pattern") if describe else None
                if pattern:
                    found[(schema.__name__, name)] = (inner, pattern)
    return found


FIELDS = _text_fields()


def test_every_typed_field_documents_a_pattern():
    names = {f"{s}.{n}" for s, n in FIELDS}
    assert {"CohortCreate.start_time", "EnrolmentCreate.phone", "SessionPatch.starts_at", "StaffCreate.email"} <= names


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_what_a_documented_pattern_allows_the_field_loads(data):
    (schema_name, name), (field, pattern) = data.draw(st.sampled_from(sorted(FIELDS.items())), label="field")
    value = data.draw(st.from_regex(pattern, fullmatch=True), label="value")
    lengths = [v for v in field.validators if isinstance(v, Length)]
    documented_max = field.openapi_properties().get("maxLength")
    if any(len(value) < (v.min or 0) or (v.max is not None and len(value) > v.max) for v in lengths) or (
        documented_max is not None and len(value) > documented_max
    ):
        return  # minLength or maxLength, stated beside the pattern, rules this one out
    loader = Schema.from_dict({"value": field})()
    try:
        loader.load({"value": value})
    except ValidationError as error:
        pytest.fail(f"{schema_name}.{name}: {value!r} matches the documented pattern but: {error.messages}")
