"""Names, titles and other one-line text never carry a line break or a control character (issue 14, 2 and 3).

A line break in a calendar title stopped the mail (the Subject header refused it) and a
name could inject lines into a plain-text email ("Hello Sam / URGENT: pay at …"). Every
single-line text field of every request body and query string refuses them at the edge,
with a 422 naming the field; only multi-line fields (a program's description, an agreement's text) keep \\n.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields

from scheduler import create_app
from scheduler.foundation.config import for_tests
from scheduler.foundation.validation import LINE_BREAKS

# Fields that may hold several lines; everything else that takes text is one line.
MULTI_LINE_FIELDS = {
    ("ProgramCreate", "description"),
    ("ProgramPatch", "description"),
    ("AgreementCreate", "body"),  # a program agreement's text
    ("OutcomeIn", "note"),  # an assessment's outcome: the staff note and the message to the person
    ("OutcomeIn", "message"),
}
SEPARATORS = sorted(LINE_BREAKS)  # \n \r \v \f \x1c-\x1e U+0085 U+2028 U+2029


def _text_fields():
    """(schema class, field name, field) for every text field a client can send, in bodies and query strings."""
    app = create_app(for_tests("sqlite://"))
    schemas = set()
    for view in app.view_functions.values():
        spec = getattr(view, "endpoint_spec", None)
        if spec is not None:
            schemas |= {s for s in (spec.body, spec.query) if s is not None}
    found = []
    for schema in sorted(schemas, key=lambda s: s.__name__):
        for name, field in schema().fields.items():
            inner = field.inner if isinstance(field, fields.List) else field
            if isinstance(inner, fields.String):
                found.append((schema, name, field))
    return found


TEXT_FIELDS = _text_fields()
ONE_LINE = [(s, n, f) for s, n, f in TEXT_FIELDS if (s.__name__, n) not in MULTI_LINE_FIELDS]


def test_the_walk_finds_the_fields_that_matter():
    names = {(s.__name__, n) for s, n, _ in ONE_LINE}
    assert {
        ("ProgramCreate", "calendar_title"),
        ("ProgramCreate", "name"),
        ("ProgramCreate", "session_titles"),
        ("CohortCreate", "name"),
        ("EnrolmentCreate", "name"),
        ("EnrolmentCreate", "email"),
        ("EnrolmentCreate", "phone"),
        ("StaffCreate", "name"),
        ("StaffCreate", "email"),
        ("SessionPatch", "title"),
        ("ConfirmIn", "reference"),
        ("EnrolmentQuery", "email"),
    } <= names
    assert len(ONE_LINE) >= 25


def _load_error(schema, name, field, value):
    payload = {name: [value] if isinstance(field, fields.List) else value}
    try:
        schema().load(payload, partial=True)
    except ValidationError as error:
        return error.messages.get(name)
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    field=st.sampled_from(ONE_LINE),
    before=st.text(max_size=20),
    separator=st.sampled_from(SEPARATORS),
    after=st.text(max_size=20),
)
def test_no_one_line_field_accepts_a_line_separator(field, before, separator, after):
    schema, name, f = field
    assert _load_error(schema, name, f, before + separator + after), (schema.__name__, name)


def test_every_one_line_field_refuses_every_line_break():
    # Deterministic companion of the property: an otherwise plausible value, each separator.
    accepted = [
        (schema.__name__, name, repr(separator))
        for schema, name, field in ONE_LINE
        for separator in SEPARATORS
        if not _load_error(schema, name, field, "Thursday" + separator + "evenings")
    ]
    assert accepted == []


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x9b", "\ud800"])
def test_other_control_characters_are_refused_too(control):
    for schema, name, field in TEXT_FIELDS:
        assert _load_error(schema, name, field, "a" + control + "b"), (schema.__name__, name)


def test_a_description_keeps_its_lines_and_refuses_the_rest():
    from scheduler.cohorts.schemas import ProgramPatch

    loaded = ProgramPatch().load({"description": "Week 1: skills\r\nWeek 2:\tpractice\rEnd"})
    assert loaded["description"] == "Week 1: skills\nWeek 2:\tpractice\nEnd"
    for odd in ("\u2028", "\u2029", "\x85", "\x0b", "\x00", "\x1b"):
        with pytest.raises(ValidationError):
            ProgramPatch().load({"description": "a" + odd + "b"})


# ---- over HTTP --------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\n", "\r\n", "\u2028", "\u2029", "\x85"])
def test_a_calendar_title_with_a_line_break_is_422_naming_the_field(client, auth, make_program, separator):
    headers = auth("admin")
    created = client.post(
        "/api/v1/programs",
        json={"name": "Skills group", "calendar_title": f"Group{separator}Bcc: everyone@example.org"},
        headers=headers,
    )
    assert created.status_code == 422 and created.mimetype == "application/problem+json"
    [message] = created.json["errors"]["calendar_title"]
    assert "single line" in message

    program = make_program()
    patched = client.patch(f"/api/v1/programs/{program.id}", json={"calendar_title": f"a{separator}b"}, headers=headers)
    assert patched.status_code == 422 and set(patched.json["errors"]) == {"calendar_title"}
    assert client.get(f"/api/v1/programs/{program.id}", headers=headers).json["calendar_title"] == "Group session"


def test_a_name_cannot_inject_lines_into_an_email(client, make_cohort):
    cohort = make_cohort(price_amount=0)
    injected = "Sam\n\nURGENT: your place lapses today, pay at https://evil.example/pay\n"
    response = client.post(
        f"/api/v1/cohorts/{cohort.id}/enrolments", json={"name": injected, "email": "sam@example.org"}
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"name"}
    assert "line feed" in response.json["errors"]["name"][0]
    # Nothing was written: no enrolment, no email.
    from scheduler.enrolment.models import Enrolment
    from scheduler.foundation.extensions import db
    from scheduler.notifications.models import OutboxMessage

    assert db.session.query(Enrolment).count() == 0 and db.session.query(OutboxMessage).count() == 0


def test_staff_names_session_titles_and_search_refuse_line_breaks(client, auth, make_cohort):
    headers = auth("admin")
    staff = client.post(
        "/api/v1/staff", json={"email": "new@staff.test\u2028", "name": "New\nPerson", "role": "admin"}, headers=headers
    )
    assert staff.status_code == 422 and set(staff.json["errors"]) == {"email", "name"}
    session = make_cohort().sessions[0]
    retitled = client.patch(f"/api/v1/sessions/{session.id}", json={"title": "Wise\u2029mind"}, headers=headers)
    assert retitled.status_code == 422 and set(retitled.json["errors"]) == {"title"}
    search = client.get("/api/v1/enrolments", query_string={"email": "a@b.example\r\n"}, headers=headers)
    assert search.status_code == 422 and set(search.json["errors"]) == {"email"}
