"""A mail scanner's or chat preview's fetch of a join link, and a HEAD, get a person's answer but record
nothing (API.md "Attendance and join links"): the person's own click later still records the join."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from scheduler.attendance.models import AttendanceRecord
from scheduler.cohorts.models import Cohort
from scheduler.enrolment.models import AuditEntry
from scheduler.foundation.extensions import db
from tests.helpers import bearer

MEETING = "https://video.example/j/123"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15"

SCANNERS = {
    "safe links": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Microsoft Office SafeLinks/1.0",
    "bingpreview": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) BingPreview/1.0b",
    "proofpoint": "Proofpoint URL Defense/1.0",
    "mimecast": "Mozilla/5.0 (compatible; Mimecast-URL-Protect)",
    "barracuda": "Barracuda Sentinel (EE)",
    "slackbot": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "facebookexternalhit": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "twitterbot": "Twitterbot/1.0",
    "whatsapp": "WhatsApp/2.23.20.0 A",
    "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "discordbot": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
}


def records(enrolment_id):
    db.session.rollback()  # see what the requests committed
    return db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.enrolment_id == enrolment_id)).all()


def traces(cohort_id):
    """What a recorded join leaves besides the record: audit entries and the cohort's revision."""
    db.session.rollback()
    audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
    return audits, db.session.get(Cohort, cohort_id).revision


@pytest.fixture
def cohort(make_cohort):
    return make_cohort(price_amount=0)


def fetch(client, person, user_agent=None, method="get"):
    headers = {"User-Agent": user_agent} if user_agent else {}
    return getattr(client, method)(f"/join/{person.join_token}", headers=headers)


@pytest.mark.parametrize("user_agent", SCANNERS.values(), ids=SCANNERS.keys())
def test_a_link_scanner_gets_the_redirect_and_records_nothing(client, cohort, make_enrolment, user_agent):
    person = make_enrolment(cohort)
    first = cohort.sessions[0]
    before = traces(cohort.id)
    with time_machine.travel(first.starts_at - timedelta(minutes=5), tick=False):
        scanned = fetch(client, person, user_agent)
        assert (scanned.status_code, scanned.headers["Location"]) == (302, MEETING)
        assert scanned.headers["Cache-Control"] == "no-store"
        assert records(person.id) == []
        assert traces(cohort.id) == before

        clicked = fetch(client, person, BROWSER)  # the person, later
        assert (clicked.status_code, clicked.headers["Location"]) == (302, MEETING)
    [record] = records(person.id)
    assert (record.session_id, record.status, record.source) == (first.id, "present", "join")
    assert traces(cohort.id) != before  # the click moved the revision: the check above can see a trace


@pytest.mark.parametrize("user_agent", [BROWSER, SCANNERS["slackbot"]], ids=["browser", "slackbot"])
def test_a_head_gets_the_redirect_and_records_nothing(client, cohort, make_enrolment, user_agent):
    person = make_enrolment(cohort)
    first = cohort.sessions[0]
    before = traces(cohort.id)
    with time_machine.travel(first.starts_at, tick=False):
        checked = fetch(client, person, user_agent, method="head")
        assert (checked.status_code, checked.headers["Location"]) == (302, MEETING)
        assert records(person.id) == [] and traces(cohort.id) == before
        assert fetch(client, person, BROWSER).status_code == 302
    assert [r.session_id for r in records(person.id)] == [first.id]


def test_a_scanner_outside_the_window_gets_the_same_page_as_a_person(client, cohort, make_enrolment):
    person = make_enrolment(cohort)
    with time_machine.travel(cohort.sessions[0].starts_at - timedelta(hours=2), tick=False):
        scanned, clicked = fetch(client, person, SCANNERS["proofpoint"]), fetch(client, person, BROWSER)
    assert scanned.status_code == clicked.status_code == 200
    assert scanned.get_data() == clicked.get_data()
    assert records(person.id) == []


def test_the_attendance_letter_does_not_count_a_scanners_visit(client, cohort, make_enrolment):
    person = make_enrolment(cohort)
    with time_machine.travel(cohort.sessions[0].starts_at, tick=False):
        assert fetch(client, person, SCANNERS["safe links"]).status_code == 302
    with time_machine.travel(cohort.sessions[0].ends_at, tick=False):
        letter = client.get(f"/api/v1/enrolments/{person.id}/attendance-letter", headers=bearer(person.manage_token))
    assert letter.status_code == 409  # no attended session to list
