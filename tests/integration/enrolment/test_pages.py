"""The participant pages over HTTP (the Flask test client): forms, the token exchange, CSRF,
what each status shows, error pages and headers. The browser journeys are in tests/browser/."""

import re
from datetime import date

import pytest
import time_machine
from sqlalchemy import func, select

from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.payments.models import Refund
from tests.helpers import cohort_form, emailed_link, enrolled, handle_inbox
from tests.integration.admission.test_intakes import mail_to


def _field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html)[1]


def _person(**overrides) -> dict:
    return {"name": "Sam Rivera", "email": "sam@example.org", "phone": "", "timezone": "America/Chicago", **overrides}


def _enrol_by_form(client, cohort_id, **overrides):
    return client.post(f"/cohorts/{cohort_id}", data={**cohort_form(client, cohort_id), **_person(**overrides)})


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def _status(enrolment_id: str) -> str:
    db.session.rollback()
    return db.session.get(Enrolment, enrolment_id).status


def _page(client, enrolment_id) -> str:
    response = client.get(f"/me/{enrolment_id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _api_enrol(client, cohort_id, email, name="Alex Doe") -> dict:
    return enrolled(client, cohort_id, email, name)


def _paid_at_desk(client, auth, enrolment: dict) -> None:
    paid = client.post(
        f"/api/v1/enrolments/{enrolment['id']}/confirm",
        headers=auth("front_desk"),
        json={"method": "cash", "amount": 36000},
    )
    assert paid.status_code == 200, paid.json


def _withdraw_by_api(client, enrolment: dict) -> None:
    headers = {"Authorization": f"Bearer {enrolment['manage_token']}"}
    assert client.post(f"/api/v1/enrolments/{enrolment['id']}/withdraw", headers=headers).status_code == 200


def _open_link(client, enrolment: dict) -> None:
    """Follow the emailed link: the token becomes this browser's cookie for that enrolment."""
    assert client.get(f"/me/{enrolment['id']}?token={enrolment['manage_token']}").status_code == 303


# ---- public pages ------------------------------------------------------------------------------


def test_home_lists_open_cohorts_grouped_by_program(client, make_program, make_cohort):
    skills = make_program(name="Skills group", description="Twelve weeks of skills practice.")
    ipt = make_program(name="Interpersonal group", price_amount=0)
    evening = make_cohort(program=skills, name="Thursday evenings", capacity=3)
    make_cohort(program=skills, name="Hidden draft", status="draft")
    free = make_cohort(program=ipt, name="Monday mornings", capacity=1, start_date=date(2030, 10, 7))
    _api_enrol(client, free.id, "someone@example.org")

    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert '<html lang="en">' in html
    assert html.index("Interpersonal group") < html.index("Skills group")  # programs in name order
    assert "Twelve weeks of skills practice." in html
    assert f'href="/cohorts/{evening.id}">Thursday evenings</a>' in html
    assert f'href="/cohorts/{free.id}">Monday mornings</a>' in html
    assert "Hidden draft" not in html
    assert "3 seats left" in html and "Full: waitlist open" in html
    assert "Thursdays at 6:00 PM EDT" in html and "$360.00" in html and "Free" in html


def test_cohort_page_shows_every_date_the_skipped_week_the_refund_policy_and_the_right_button(client, make_cohort):
    cohort = make_cohort(capacity=1, skip_dates=[date(2030, 10, 17)])
    html = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert html.count('class="schedule__row"') == 12
    skipped = re.search(r'schedule__row--skipped">\s*<span class="schedule__date">([^<]+)</span>', html)[1]
    assert skipped == "Thursday, October 17, 2030" and "No session this week" in html
    assert "Thursday, October 24, 2030" in html  # the schedule moved out a week
    # 48 hours before Thursday 2030-10-03 18:00 in New York.
    assert "If you withdraw before" in html and "Tuesday, October 1, 2030 at 6:00 PM EDT" in html
    assert "you get all your money back" in html
    for label in ("Name", "Email", "Phone", "Time zone"):
        assert re.search(rf'<label for="\w+">{label}</label>', html), label
    assert ">Reserve a seat</button>" in html
    assert 'value="America/New_York" selected' in html  # without JavaScript: the group's own zone

    _api_enrol(client, cohort.id, "first@example.org")
    html = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert ">Join the waitlist</button>" in html and "Reserve a seat" not in html


def test_an_unknown_or_draft_cohort_is_a_404_page(client, make_cohort):
    draft = make_cohort(status="draft")
    for path in ("/cohorts/coh_nope", f"/cohorts/{draft.id}"):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "text/html"
        assert "We could not find this page" in response.get_data(as_text=True)


# ---- the enrolment form --------------------------------------------------------------------------


def test_the_form_answers_check_your_email_and_the_emailed_link_opens_the_page_with_a_cookie(client, make_cohort):
    cohort = make_cohort()
    response = _enrol_by_form(client, cohort.id)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cohorts/{cohort.id}/check-email"
    assert not any(c.startswith("manage_token=") for c in response.headers.getlist("Set-Cookie"))
    told = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Check your email" in told and "sam@example.org" in told
    assert handle_inbox() == 1  # the worker carries the request out
    [enrolment] = db.session.scalars(select(Enrolment)).all()
    assert (enrolment.name, enrolment.email, enrolment.phone, enrolment.timezone) == (
        "Sam Rivera",
        "sam@example.org",
        None,
        "America/Chicago",
    )
    enrolment_id, token = emailed_link(cohort.id, "sam@example.org")
    opened = client.get(f"/me/{enrolment_id}?token={token}")
    cookie = next(c for c in opened.headers.getlist("Set-Cookie") if c.startswith("manage_token="))
    assert f"Path=/me/{enrolment.id};" in cookie + ";" and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    page = client.get(f"/me/{enrolment.id}")
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert "Hello Sam Rivera" in html and "Your place is held until" in html
    # Manual payments: how to pay the clinic, from the settings.
    assert "How to pay" in html and "Call or visit the front desk" in html and enrolment.id in html
    assert "+1 555 0100" in html and "desk@clinic.test" in html
    assert "Times are in Chicago (America/Chicago)" in html and "5:00 PM – 6:30 PM CDT" in html


def test_a_form_with_mistakes_keeps_what_was_typed_and_says_beside_each_field_what_to_fix(client, make_cohort):
    cohort = make_cohort()
    response = _enrol_by_form(client, cohort.id, name="", email="sam@example", phone="call me")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and _count(Enrolment) == 0
    assert 'value="sam@example"' in html and 'value="call me"' in html
    assert 'value="America/Chicago" selected' in html
    assert '<p class="field-error" id="name-error">Please enter your name.</p>' in html
    assert re.search(r'id="email-error">Not a valid email address', html)
    assert re.search(r'id="phone-error">Use digits', html)
    assert re.search(r'id="email"[^>]*aria-describedby="email-error email-hint" aria-invalid="true"', html)
    assert 'role="alert" id="form-errors"' in html and "these 3 fields" in html


def test_submitting_the_same_form_twice_enrols_once(client, make_cohort):
    cohort = make_cohort()
    fields = {**cohort_form(client, cohort.id), **_person()}
    first = client.post(f"/cohorts/{cohort.id}", data=fields)
    again = client.post(f"/cohorts/{cohort.id}", data=fields)  # a double click, or a reload of the POST
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert handle_inbox() == 1  # one request: the retry added none
    assert _count(Enrolment) == 1
    assert _count(OutboxMessage) == 1  # one email with the link


def test_enrolling_twice_with_one_email_gets_the_same_answer_and_enrols_once(client, make_cohort):
    cohort = make_cohort()
    first = _enrol_by_form(client, cohort.id)
    again = _enrol_by_form(client, cohort.id, email="SAM@example.org")
    assert first.status_code == again.status_code == 303 and first.headers["Location"] == again.headers["Location"]
    handle_inbox()
    assert _count(Enrolment) == 1


def test_check_your_email_can_send_the_link_again_and_says_the_same_for_every_address(client, make_cohort):
    cohort = make_cohort()
    _enrol_by_form(client, cohort.id)
    page = client.get(f"/cohorts/{cohort.id}/check-email").get_data(as_text=True)
    assert "Send it again" in page and "+1 555 0100" in page  # the clinic's contact, too
    token = re.search(r'name="csrf_token" value="([^"]*)"', page)[1]
    answers = [
        client.post(f"/cohorts/{cohort.id}/check-email", data={"csrf_token": token, "email": email})
        for email in ("sam@example.org", "nobody@example.org")
    ]
    assert {(a.status_code, a.headers["Location"]) for a in answers} == {(303, f"/cohorts/{cohort.id}/check-email")}
    handle_inbox()
    sent = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()
    # The enrolled address gets its link twice (the request, then "send it again"); the other nothing.
    assert [m.to_address for m in sent] == ["sam@example.org", "sam@example.org"]
    assert "Here is your personal link" in sent[1].body_text and "/me/" in sent[1].body_text
    bad = client.post(f"/cohorts/{cohort.id}/check-email", data={"csrf_token": token, "email": "not-an-email"})
    assert bad.status_code == 422 and 'id="email-error"' in bad.get_data(as_text=True)


def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(client, make_cohort, auth):
    cohort = make_cohort()
    refused = client.post(f"/cohorts/{cohort.id}", data=_person())
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "Nothing was changed" in refused.get_data(as_text=True)
    forged = client.post(f"/cohorts/{cohort.id}", data={**_person(), "csrf_token": "forged"})
    assert forged.status_code == 400 and _count(Enrolment) == 0

    person = _api_enrol(client, cohort.id, "paid@example.org")
    client.post(
        f"/api/v1/enrolments/{person['id']}/confirm",
        headers=auth("front_desk"),
        json={"method": "cash", "amount": 36000},
    )
    _open_link(client, person)
    withdraw = client.post(f"/me/{person['id']}/withdraw")
    assert withdraw.status_code == 400 and _status(person["id"]) == "confirmed" and _count(Refund) == 0


# ---- the participant's page ----------------------------------------------------------------------


def test_the_emailed_token_is_exchanged_for_a_cookie_and_dropped_from_the_address(client, make_cohort):
    cohort = make_cohort()
    person = _api_enrol(client, cohort.id, "sam@example.org")
    assert person["manage_url"] == f"https://scheduler.test/me/{person['id']}?token={person['manage_token']}"
    response = client.get(f"/me/{person['id']}?token={person['manage_token']}")
    assert response.status_code == 303 and response.headers["Location"] == f"/me/{person['id']}"
    assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["Cache-Control"] == "no-store"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"manage_token={person['manage_token']};") and "HttpOnly" in cookie
    assert "Hello Alex Doe" in _page(client, person["id"])


@pytest.mark.parametrize("kind", ["wrong", "cut", "missing", "unknown enrolment"])
def test_a_wrong_cut_or_missing_link_gets_a_calm_page_that_says_how_to_get_a_new_one(client, make_cohort, kind):
    cohort = make_cohort()
    person = _api_enrol(client, cohort.id, "sam@example.org")
    path = {
        "wrong": f"/me/{person['id']}?token=mng_wrong",
        "cut": f"/me/{person['id']}?token={person['manage_token'][:20]}",
        "missing": f"/me/{person['id']}",
        "unknown enrolment": f"/me/enr_nope?token={person['manage_token']}",
    }[kind]
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == (403 if kind == "missing" else 404)
    # No manage cookie is set from a bad link (only the form's CSRF session), and no token is echoed.
    assert response.mimetype == "text/html" and "manage_token" not in response.headers.get("Set-Cookie", "")
    assert "Send my link again" in html and "+1 555 0100" in html
    assert "Traceback" not in html and "token=" not in html and person["manage_token"][:20] not in html


def test_a_confirmed_page_has_the_link_the_calendars_and_the_refund_a_withdrawal_would_give(client, make_cohort, auth):
    cohort = make_cohort()
    person = _api_enrol(client, cohort.id, "sam@example.org")
    client.post(
        f"/api/v1/enrolments/{person['id']}/confirm",
        headers=auth("front_desk"),
        json={"method": "cash", "amount": 36000},
    )
    _open_link(client, person)
    html = _page(client, person["id"])
    assert "You are enrolled" in html
    # The personal join link, never the raw meeting link (issue 12).
    assert re.search(
        r'<a class="button button--primary" href="https://scheduler\.test/join/[^"]+" [^>]*>Join</a>', html
    )
    assert "video.example" not in html
    assert re.search(r'href="webcal://scheduler\.test/calendar/cal_[^"]+\.ics">Apple Calendar</a>', html)
    assert re.search(r'href="https://calendar\.google\.com/calendar/r\?cid=[^"]+"[^>]*>Google Calendar</a>', html)
    assert re.search(r'href="https://outlook\.live\.com/calendar/0/addfromweb\?[^"]+"[^>]*>Outlook</a>', html)
    assert f'href="/me/{person["id"]}/sessions.ics">Download .ics</a>' in html
    assert "You would get $360.00 back" in html

    ics = client.get(f"/me/{person['id']}/sessions.ics")
    assert ics.mimetype == "text/calendar" and ics.headers["Content-Disposition"].startswith("attachment")
    assert ics.get_data(as_text=True).count("BEGIN:VEVENT") == 12


def test_withdrawing_states_the_refund_first_then_gives_exactly_that(client, make_cohort, auth):
    cohort = make_cohort()
    person = _api_enrol(client, cohort.id, "sam@example.org")
    client.post(
        f"/api/v1/enrolments/{person['id']}/confirm",
        headers=auth("front_desk"),
        json={"method": "cash", "amount": 36000},
    )
    _open_link(client, person)
    step = client.get(f"/me/{person['id']}/withdraw")
    html = step.get_data(as_text=True)
    assert step.headers["Cache-Control"] == "no-store"
    assert "You would get $360.00 back" in html and ">Confirm withdrawal</button>" in html
    assert _status(person["id"]) == "confirmed"  # the step itself changes nothing

    done = client.post(f"/me/{person['id']}/withdraw", data={"csrf_token": _field(html, "csrf_token")})
    assert done.status_code == 303 and _status(person["id"]) == "withdrawn"
    [refund] = db.session.scalars(select(Refund)).all()
    assert (refund.amount, refund.status) == (36000, "owed_by_front_desk")
    html = _page(client, person["id"])
    assert "The front desk will return $360.00 to you" in html and "You have withdrawn from this group" in html
    # A withdrawn person's page shows no link to the group and no calendar.
    assert "video.example" not in html and "Apple Calendar" not in html and "/calendar/" not in html
    assert ">Withdraw</button>" not in html
    assert client.get(f"/me/{person['id']}/sessions.ics").status_code == 404


def test_after_the_refund_deadline_the_page_says_no_refund_and_the_withdrawal_gives_none(client, make_cohort, auth):
    cohort = make_cohort()
    person = _api_enrol(client, cohort.id, "sam@example.org")
    client.post(
        f"/api/v1/enrolments/{person['id']}/confirm",
        headers=auth("front_desk"),
        json={"method": "cash", "amount": 36000},
    )
    _open_link(client, person)
    with time_machine.travel("2030-10-02T12:00:00Z", tick=False):
        html = client.get(f"/me/{person['id']}/withdraw").get_data(as_text=True)
        assert "The refund period ended on Tuesday, October 1, 2030 at 6:00 PM EDT" in html
        assert "would not be refunded" in html
        client.post(f"/me/{person['id']}/withdraw", data={"csrf_token": _field(html, "csrf_token")})
        assert "No refund is due" in _page(client, person["id"])  # (the flash lives in a session signed "now")
    assert _status(person["id"]) == "withdrawn" and _count(Refund) == 0


def test_waitlisted_then_offered_then_accepted_on_the_page(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=0)
    holder = _api_enrol(client, cohort.id, "holder@example.org")
    _enrol_by_form(client, cohort.id)
    enrolment_id, token = emailed_link(cohort.id, "sam@example.org")
    client.get(f"/me/{enrolment_id}?token={token}")
    html = _page(client, enrolment_id)
    assert "You are on the waitlist" in html and "You are number 1 in line" in html
    assert ">Withdraw</button>" in html and "Join</a>" not in html

    client.post(
        f"/api/v1/enrolments/{holder['id']}/withdraw", headers={"Authorization": f"Bearer {holder['manage_token']}"}
    )
    html = _page(client, enrolment_id)
    assert "A place is free for you" in html and ">Accept</button>" in html and ">Decline</button>" in html
    accepted = client.post(f"/me/{enrolment_id}/accept", data={"csrf_token": _field(html, "csrf_token")})
    assert accepted.status_code == 303 and _status(enrolment_id) == "confirmed"
    html = _page(client, enrolment_id)
    assert "You have accepted the place" in html and "You are enrolled" in html and ">Join</a>" in html


def test_declining_an_offer_on_the_page(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=0)
    holder = _api_enrol(client, cohort.id, "holder@example.org")
    waiting = _api_enrol(client, cohort.id, "waiting@example.org")
    client.post(
        f"/api/v1/enrolments/{holder['id']}/withdraw", headers={"Authorization": f"Bearer {holder['manage_token']}"}
    )
    _open_link(client, waiting)
    html = _page(client, waiting["id"])
    client.post(f"/me/{waiting['id']}/decline", data={"csrf_token": _field(html, "csrf_token")})
    assert _status(waiting["id"]) == "withdrawn"
    after = _page(client, waiting["id"])
    assert "You have declined the place" in after and "You declined the place" in after
    # Someone who never had a seat is not told they withdrew from the group or lost a calendar.
    assert "You have withdrawn" not in after and "calendar subscription" not in after
    [email] = mail_to("waiting@example.org", "withdrawn")
    assert email.subject.startswith("You are no longer waiting for a place")
    assert "calendar" not in email.body_text and "You have withdrawn" not in email.body_text


def test_an_offer_that_lapsed_is_not_offered_again(client, make_cohort):
    cohort = make_cohort(capacity=1, price_amount=0, offer_hours=1)
    holder = _api_enrol(client, cohort.id, "holder@example.org")
    waiting = _api_enrol(client, cohort.id, "waiting@example.org")
    client.post(
        f"/api/v1/enrolments/{holder['id']}/withdraw", headers={"Authorization": f"Bearer {holder['manage_token']}"}
    )
    _open_link(client, waiting)
    html = _page(client, waiting["id"])
    with time_machine.travel(db.session.get(Enrolment, waiting["id"]).offer_expires_at, tick=False):
        page = _page(client, waiting["id"])
        assert "This place has lapsed" in page and ">Accept</button>" not in page
        late = client.post(f"/me/{waiting['id']}/accept", data={"csrf_token": _field(html, "csrf_token")})
        assert late.status_code == 303
        assert "can no longer be accepted" in _page(client, waiting["id"])


# ---- errors and headers ----------------------------------------------------------------------------


def test_errors_on_page_routes_are_pages_and_on_the_api_stay_problem_json(app, client, monkeypatch):
    for path, status in (("/cohorts/coh_nope", 404), ("/me/enr_x/nothing-here", 404)):
        response = client.get(path)
        assert (response.status_code, response.mimetype) == (status, "text/html"), path
    not_allowed = client.put("/")
    assert (not_allowed.status_code, not_allowed.mimetype) == (405, "text/html") and "GET" in not_allowed.headers[
        "Allow"
    ]
    api = client.get("/api/v1/cohorts/coh_nope")
    assert (api.status_code, api.mimetype) == (404, "application/problem+json")
    assert client.get("/no/such/path").mimetype == "application/problem+json"

    from scheduler.cohorts import services as cohort_services

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(cohort_services, "list_cohorts", broken)
    monkeypatch.setattr(cohort_services, "list_cohorts_rendered", broken)
    failed = client.get("/")
    html = failed.get_data(as_text=True)
    assert (failed.status_code, failed.mimetype) == (500, "text/html")
    assert "Something went wrong on our side" in html and "secret" not in html and "Traceback" not in html
    api_failed = client.get("/api/v1/cohorts")
    assert (api_failed.status_code, api_failed.mimetype) == (500, "application/problem+json")


def test_security_headers_on_pages_and_nosniff_everywhere(app, client, make_cohort):
    cohort = make_cohort()
    app.config["STRIPE_JS_URL"] = "http://127.0.0.1:8420/js.stripe.com/v3/"
    page = client.get(f"/cohorts/{cohort.id}")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "script-src 'self' http://127.0.0.1:8420" in csp and "object-src 'none'" in csp
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    for path in ("/", f"/cohorts/{cohort.id}", "/api/v1/cohorts", "/healthz", "/static/site.css", "/openapi.json"):
        assert client.get(path).headers["X-Content-Type-Options"] == "nosniff", path
    css = client.get("/static/site.css")
    assert css.mimetype == "text/css" and "max-age=3600" in css.headers["Cache-Control"]
    assert client.get("/static/../config.py").status_code == 404


def test_nul_characters_in_a_form_or_an_address_are_refused_as_mistakes(client, make_cohort):
    cohort = make_cohort()
    response = _enrol_by_form(client, cohort.id, name="Sam\x00")
    assert response.status_code == 422 and "character we cannot store" in response.get_data(as_text=True)
    assert _count(Enrolment) == 0
    for path in ("/cohorts/coh\x00x", "/me/enr\x00x?token=mng_x"):
        assert client.get(path).status_code == 404


def test_the_participant_page_shows_their_own_attendance_and_nobody_elses(client, make_cohort, auth):
    """Issue 12: a participant sees their own attendance on their page."""
    cohort = make_cohort(price_amount=0)
    sam, robin = _api_enrol(client, cohort.id, "sam@example.org"), _api_enrol(client, cohort.id, "robin@example.org")
    first = cohort.sessions[0]
    with time_machine.travel(first.ends_at, tick=False):
        marked = client.put(
            f"/api/v1/sessions/{first.id}/attendance",
            headers=auth("front_desk"),
            json={
                "records": [
                    {"enrolment_id": sam["id"], "status": "present"},
                    {"enrolment_id": robin["id"], "status": "absent"},
                ]
            },
        )
        assert marked.status_code == 200, marked.json
        _open_link(client, sam)
        html = _page(client, sam["id"])
    assert "Your attendance" in html and "Session 1" in html and "Attended" in html
    assert "Missed" not in html and "Robin" not in html
