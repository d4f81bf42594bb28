"""The statement of services as a PDF (API.md: "a printable document (text/html or application/pdf)"):
asked for by Accept or ?format=pdf on the API, and from the person's page and the console. Its text,
read back with pypdf, holds exactly the attended dates with their codes, fees and NPIs, the clinic's
ids, the diagnosis codes staff entered, and names beyond Latin-1."""

import html
import io
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest.mock import ANY
from urllib.parse import parse_qs, urlsplit

import pytest
from pypdf import PdfReader

from scheduler.attendance.statement_pdf import render
from scheduler.attendance.statements import ServiceLine, Statement
from tests.desk_support import sign_in
from tests.helpers import bearer

CODE = "F43.10"
NAME = "Łucja Wróbel — Nowak"  # beyond Latin-1 (Ł, the dash): the PDF core fonts could not print it
PDF = "application/pdf"
DATE = re.compile(r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, [A-Z][a-z]+ \d{1,2}, \d{4}\b")
ROWS = [
    "Thursday, October 3, 2030 Group psychotherapy 90853 1 $100.00 Fran Facil 1111111112",
    "Tuesday, October 8, 2030 Individual psychotherapy 90837 1 $150.00 Dr Tess Hart 2222222224",
    "Thursday, October 17, 2030 Group psychotherapy 90853 1 $100.00 Fran Facil 1111111112",  # late: attended
]


@pytest.fixture
def person_name() -> str:
    return NAME


def pdf_text(response) -> str:
    """The text of a PDF answer, page after page, white space squeezed."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == PDF and response.data.startswith(b"%PDF-")
    pages = PdfReader(io.BytesIO(response.data)).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


def service_rows(text: str) -> str:
    """What the table of dates of service holds, between its header and its total."""
    return text.split("Rendering clinician NPI", 1)[1].split("Total charges", 1)[0]


def assert_the_statement(text: str) -> None:
    assert DATE.findall(service_rows(text)) == [row.split(" 2030 ")[0] + " 2030" for row in ROWS]
    assert all(row in text for row in ROWS), text
    assert "Total charges $350.00" in text and "Total paid: $300.00" in text
    assert "Provider Test Clinic 1 Example Street Springfield Tax id 12-3456789 NPI 1234567893" in text
    assert f"Patient {NAME} Program Skills group Diagnosis (ICD-10) {CODE}" in text
    assert "Issued Tuesday, October 29, 2030" in text  # in New York


def test_the_api_answers_the_pdf_for_accept_or_format(client, attended):
    person, desk = attended.person, attended.desk
    url = f"/api/v1/enrolments/{person['id']}/statement"
    saved = client.put(
        f"/api/v1/enrolments/{person['id']}/diagnosis-codes", json={"diagnosis_codes": [CODE]}, headers=desk
    )
    assert saved.status_code == 200

    mine = client.get(url, headers={**bearer(person["manage_token"]), "Accept": PDF})
    text = pdf_text(mine)
    assert_the_statement(text)
    assert mine.headers["Content-Disposition"] == 'inline; filename="statement-of-services.pdf"'
    assert mine.headers["Cache-Control"] == "no-store" and mine.headers["Referrer-Policy"] == "no-referrer"
    assert mine.headers["X-Robots-Tag"] == "noindex, nofollow" and "Accept" in mine.headers["Vary"]
    by_link = client.get(url, query_string={"format": "pdf"}, headers=desk)
    assert pdf_text(by_link) == text

    # PDF only when asked for, or preferred to HTML by quality; HTML for */*, nothing or anything else.
    for accept, expected in [
        (None, "text/html"),
        ("*/*", "text/html"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),  # a browser
        ("text/html, application/pdf", "text/html"),
        ("text/html;q=0.5, application/pdf", PDF),
        ("application/pdf, */*;q=0.1", PDF),
        ("application/json", "text/html"),
    ]:
        answer = client.get(url, headers={**desk, **({"Accept": accept} if accept else {})})
        assert (answer.status_code, answer.mimetype) == (200, expected), accept
    assert client.get(url, query_string={"format": "html"}, headers={**desk, "Accept": PDF}).mimetype == "text/html"
    page = client.get(url, query_string={"token": person["manage_token"], "from": "2030-10-05T00:00:00Z"})
    [link] = re.findall(r'<a href="([^"]+)" download>Download PDF</a>', page.text)
    link = urlsplit(html.unescape(link))  # the same statement (its period, the person's link) as a PDF
    assert link.path == url
    assert parse_qs(link.query) == {
        "token": [person["manage_token"]],
        "from": ["2030-10-05T00:00:00Z"],
        "format": ["pdf"],
    }

    window = {"from": "2030-10-05T00:00:00Z", "to": "2030-10-16T00:00:00Z", "format": "pdf"}
    assert DATE.findall(service_rows(pdf_text(client.get(url, query_string=window, headers=desk)))) == [
        "Tuesday, October 8, 2030"
    ]
    empty = pdf_text(client.get(url, query_string={**window, "to": "2030-10-06T00:00:00Z"}, headers=desk))
    assert "No attended session is recorded in this period." in empty and "Total charges $0.00" in empty

    wrong = client.get(url, query_string={"format": "xml"}, headers=desk)
    assert wrong.status_code == 422 and wrong.mimetype == "application/problem+json"
    assert wrong.json["errors"]["format"] == ["Use html or pdf (or leave it out and send Accept: application/pdf)."]
    others = bearer(attended.other["manage_token"])
    for asked in ({"headers": {**others, "Accept": PDF}}, {"headers": others, "query_string": {"format": "pdf"}}):
        assert client.get(url, **asked).status_code == 404  # as for the HTML: someone else's, not said whose


def test_the_api_document_offers_both_media_types_and_the_format_parameter(client):
    operation = client.get("/openapi.json").json["paths"]["/api/v1/enrolments/{enrolment_id}/statement"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"text/html", PDF}
    [format_] = [p for p in operation["parameters"] if p["name"] == "format"]
    assert format_["in"] == "query" and format_["schema"]["enum"] == ["html", "pdf"]
    assert operation["responses"]["422"]["content"] == {"application/problem+json": {"schema": ANY}}


def test_the_person_and_the_desk_download_the_pdf_from_their_pages(client, attended, make_staff):
    person = attended.person
    client.put(
        f"/api/v1/enrolments/{person['id']}/diagnosis-codes", json={"diagnosis_codes": [CODE]}, headers=attended.desk
    )
    me = f"/me/{person['id']}"
    browser = client.application.test_client()
    assert browser.get(f"{me}/statement.pdf").status_code == 403  # no link opened yet: no cookie
    assert browser.get(person["manage_url"].split("scheduler.test", 1)[1]).status_code == 303
    for page in (me, f"{me}/statement"):
        assert f'href="{me}/statement.pdf" download>Download PDF</a>' in browser.get(page).text
    mine = browser.get(f"{me}/statement.pdf")
    assert_the_statement(pdf_text(mine))
    assert mine.headers["Content-Disposition"] == 'inline; filename="statement-of-services.pdf"'
    assert mine.headers["Cache-Control"] == "no-store" and mine.headers["Referrer-Policy"] == "no-referrer"

    # Someone else's link opens their own page only.
    stranger = client.application.test_client()
    stranger.get(attended.other["manage_url"].split("scheduler.test", 1)[1])
    assert stranger.get(f"{me}/statement.pdf").status_code == 403  # their cookie is not sent here
    stranger.set_cookie("manage_token", attended.other["manage_token"], path=me)
    assert stranger.get(f"{me}/statement.pdf").status_code == 404

    console = client.application.test_client()
    desk_pdf = f"/desk/enrolments/{person['id']}/statement.pdf"
    assert console.get(desk_pdf).status_code == 303  # signed out: to the sign-in page
    sign_in(console, make_staff("facilitator")[0])
    assert console.get(desk_pdf).status_code == 403  # the desk's roles only, as the statement page
    sign_in(console, make_staff("front_desk")[0])
    statement_page = console.get(f"/desk/enrolments/{person['id']}/statement").text
    assert f'href="{desk_pdf}" download>Download PDF</a>' in statement_page
    theirs = console.get(desk_pdf)
    assert_the_statement(pdf_text(theirs))
    assert theirs.headers["Cache-Control"] == "no-store" and "filename=" in theirs.headers["Content-Disposition"]


def _statement(lines: int, name: str) -> Statement:
    start = datetime(2030, 1, 1, 18, tzinfo=UTC)
    line = ServiceLine("", start, "Group psychotherapy", "90853", 1, "$30.00", "Fran Facil", "1111111112")
    return Statement(
        enrolment=SimpleNamespace(name=name),
        program_name="Skills group",
        lines=[replace(line, day=f"{start + timedelta(weeks=n):%A, %B %-d, %Y}") for n in range(lines)],
        total=f"${30 * lines}.00",
        payments=[],
        paid="$0.00",
        diagnosis_codes=[],
        clinic={"name": "Test Clinic", "address": "", "tax_id": "", "npi": ""},
        issued_on="Monday, December 1, 2031",
    )


def test_a_long_table_repeats_its_header_on_every_page():
    pages = PdfReader(io.BytesIO(render(_statement(60, "Ana Ruiz")))).pages
    texts = [" ".join(page.extract_text().split()) for page in pages]
    assert len(pages) > 2
    assert all("Date of service Service CPT Units Fee Rendering clinician NPI" in text for text in texts[:-1])
    assert all(f"page {n} of {len(pages)}" in text for n, text in enumerate(texts, 1))
    assert len(DATE.findall(" ".join(texts))) == 60 + 1  # every line, and the date of issue
    assert "Diagnosis" not in texts[0] and "Tax id" not in texts[0] and "No payment is recorded." in texts[-1]


def test_a_character_the_fonts_lack_shows_as_a_mark_and_nothing_reaches_the_log(caplog):
    with caplog.at_level(logging.INFO):  # the app's level
        text = " ".join(PdfReader(io.BytesIO(render(_statement(1, "Wang 王小明")))).pages[0].extract_text().split())
    assert "Patient Wang \ufffd\ufffd\ufffd" in text
    assert not any(char in record.getMessage() for record in caplog.records for char in "王小明")
    assert not [record for record in caplog.records if record.name.startswith(("fontTools", "fpdf"))]
