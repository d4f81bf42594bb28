"""The console's accounts and access: API tokens made in the console, staff accounts managed by
admins, programs and cohorts created from the console, and what a facilitator may see."""

import re

from sqlalchemy import select

from scheduler.enrolment import staff_actions
from scheduler.foundation.extensions import db
from scheduler.staff.models import Staff
from tests.desk_support import csrf_of, post_form, sign_in, text_of
from tests.helpers import enrol_opened


def _enrol(cohort, name, email):
    return enrol_opened(cohort.id, {"name": name, "email": email})


def _page(enrolment_id):
    return f"/desk/enrolments/{enrolment_id}"


def test_an_api_token_made_in_the_console_works_until_revoked(desk, make_cohort):
    page = desk.get("/desk/account")
    made = desk.post("/desk/account/tokens", data={"csrf_token": csrf_of(page), "label": "Report script"})
    assert made.status_code == 201
    token = re.search(r'<code class="token" id="new-token">(stf_[^<]+)</code>', made.get_data(as_text=True))[1]
    headers = {"Authorization": f"Bearer {token}"}
    assert desk.get("/api/v1/enrolments", headers=headers).status_code == 200
    page = desk.get("/desk/account")
    assert "Report script" in text_of(page) and token not in page.get_data(as_text=True)
    token_id = re.search(r"/desk/account/tokens/([^/]+)/revoke", page.get_data(as_text=True))[1]
    desk.post(f"/desk/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(page)})
    assert desk.get("/api/v1/enrolments", headers=headers).status_code == 401
    nameless = desk.post("/desk/account/tokens", data={"csrf_token": csrf_of(page), "label": " "})
    assert nameless.status_code == 422


def test_admins_manage_staff_accounts(client, make_staff):
    admin, _ = make_staff("admin", name="Ada Admin")
    sign_in(client, admin)
    made = post_form(
        client,
        "/desk/staff",
        "/desk/staff",
        {"name": "Fay Cilitator", "email": "fay@clinic.test", "role": "facilitator"},
    )
    assert made.status_code == 303
    fay = db.session.scalar(select(Staff).where(Staff.email == "fay@clinic.test"))
    assert fay.role == "facilitator"
    post_form(client, "/desk/staff", f"/desk/staff/{fay.id}/role", {"role": "front_desk"})
    db.session.rollback()
    assert db.session.get(Staff, fay.id).role == "front_desk"
    duplicate = post_form(
        client, "/desk/staff", "/desk/staff", {"name": "X", "email": "fay@clinic.test", "role": "admin"}
    )
    assert duplicate.status_code == 409 and "already exists" in text_of(duplicate)
    post_form(client, "/desk/staff", f"/desk/staff/{fay.id}/revoke")
    db.session.rollback()
    assert db.session.get(Staff, fay.id).revoked_at is not None
    log = text_of(client.get("/desk/staff"))
    assert "Role changed: Facilitator → Front desk" in log and "Access revoked Fay Cilitator" in log
    assert "Staff account created" in log and "Ada Admin" in log


def test_a_front_desk_member_cannot_reach_staff_management(desk):
    for path in ("/desk/staff", "/desk/programs", "/desk/cohorts/new"):
        refused = desk.get(path)
        assert refused.status_code == 403 and refused.mimetype == "text/html", path
        assert "This page is not available to you" in text_of(refused)
    assert (
        "Staff" not in re.findall(r'<nav class="desk-nav".*?</nav>', desk.get("/desk/").get_data(as_text=True), re.S)[0]
    )


def test_admins_create_programs_and_cohorts(client, make_staff):
    admin, _ = make_staff("admin")
    facilitator, _ = make_staff("facilitator", name="Fay Cilitator")
    sign_in(client, admin)
    answer = post_form(
        client,
        "/desk/programs",
        "/desk/programs",
        {
            "name": "Skills group",
            "description": "Twelve weeks.",
            "session_titles": "Orientation\nWise mind\n",
            "default_session_count": "12",
            "default_duration_minutes": "90",
            "default_capacity": "8",
            "price_amount": "360",
            "currency": "usd",
            "calendar_title": "Group session",
        },
    )
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/desk/cohorts/new?program=prg_")
    program_id = answer.headers["Location"].split("=")[1]
    form = {
        "program_id": program_id,
        "name": "Thursday evenings",
        "start_date": "2030-10-03",
        "start_time": "18:00",
        "timezone": "America/New_York",
        "status": "open",
        "facilitator_ids": facilitator.id,
        "skip_dates": "2030-10-10",
    }
    wrong = post_form(client, "/desk/cohorts/new", "/desk/cohorts/new", {**form, "start_time": "6pm"})
    assert wrong.status_code == 422 and "Use HH:MM on a 24-hour clock" in text_of(wrong)
    made = post_form(client, "/desk/cohorts/new", "/desk/cohorts/new", form)
    assert made.status_code == 303
    page = text_of(client.get(made.headers["Location"]))
    assert "Thursday evenings" in page and "Fay Cilitator" in page and "0 / 8" in page
    assert "Session 1: Orientation" in page and "Thu, Oct 17" in page  # the skipped week moves it on


def test_facilitators_see_their_own_cohorts_without_payments(client, make_staff, make_cohort):
    fay, _ = make_staff("facilitator", name="Fay Cilitator")
    mine = make_cohort(name="Fay's group", facilitator_ids=[fay.id])
    other = make_cohort(name="Someone else's group")
    person = _enrol(mine, "Sam Rivera", "sam@example.org")
    staff_actions.confirm(person.id, {"method": "cash", "amount": 36000}, None)
    sign_in(client, fay)
    today = text_of(client.get("/desk/"))
    assert "Fay's group" in today and "Someone else's group" not in today and "Search people" not in today
    page = client.get(f"/desk/cohorts/{mine.id}")
    text = text_of(page)
    assert "Sam Rivera" in text and "https://video.example/j/123" in text and "Attendance" in text
    assert "Paid" not in text and "360.00" not in text and "Offer a seat" not in text and "Settings" not in text
    assert "/calendar/cohorts/" in page.get_data(as_text=True)
    csv_text = client.get(f"/desk/cohorts/{mine.id}/roster.csv").get_data(as_text=True)
    assert "amount_paid" not in csv_text and "Sam Rivera" in csv_text
    for path in (f"/desk/cohorts/{other.id}", f"/desk/cohorts/{other.id}/roster.csv", _page(person.id)):
        refused = client.get(path)
        assert refused.status_code == 403 and refused.mimetype == "text/html", path
