"""The console's attendance sheet over HTTP: one session, every confirmed person, one Save button.

Saving goes through the attendance service (the API's PUT): the same 409 for a session that
has not started, the same records, audit entries with the staff member. Facilitators see
their own cohorts' sheets only; the sheet shows no payment; the form needs its CSRF token.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from scheduler.attendance.models import AttendanceRecord
from scheduler.enrolment.models import AuditEntry
from scheduler.foundation.extensions import db
from tests.desk_support import csrf_of, sign_in, text_of
from tests.helpers import QueryCounter


@pytest.fixture
def team(make_staff):
    """The cohort's facilitator, another cohort's facilitator, a front-desk member and an admin."""
    return {
        "fay": make_staff("facilitator", name="Fay Cilitator")[0],
        "otto": make_staff("facilitator", name="Otto Other")[0],
        "desk": make_staff("front_desk", name="Fran Desk")[0],
        "admin": make_staff("admin", name="Ada Admin")[0],
    }


@pytest.fixture
def group(make_program, make_cohort, make_enrolment, team):
    """A cohort of Fay's (first session 2030-10-03, 18:00 New York) with Ann, Ben and Cat confirmed."""
    program = make_program(name="Skills group", price_amount=0)
    cohort = make_cohort(program=program, name="Thursday evenings", price_amount=0, facilitator_ids=[team["fay"].id])
    people = {}
    for name in ("Ann Avery", "Ben Brook", "Cat Cole"):
        person = make_enrolment(cohort, email=f"{name.split()[0].lower()}@example.org", name=name)
        people[name.split()[0]] = person
    waiting = make_enrolment(cohort, status="waitlisted", waitlist_rank=1, email="wes@example.org", name="Wes Waiting")
    cohort.people, cohort.waiting = people, waiting
    return cohort


def sheet_path(session) -> str:
    return f"/desk/sessions/{session.id}/attendance"


def records(session) -> dict:
    db.session.rollback()
    rows = db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)).all()
    return {r.enrolment_id: r for r in rows}


def radio(html: str, enrolment_id: str, status: str) -> str:
    return re.search(rf'<input type="radio" name="att-{enrolment_id}" value="{status}"[^>]*>', html)[0]


def person_block(html: str, enrolment_id: str) -> str:
    return re.search(rf'<fieldset [^>]*id="person-{enrolment_id}".*?</fieldset>', html, re.S)[0]


def test_a_facilitator_takes_attendance_for_the_whole_session_and_corrects_it(client, team, group):
    ann, ben, cat = group.people["Ann"], group.people["Ben"], group.people["Cat"]
    first = group.sessions[0]
    with time_machine.travel(first.starts_at + timedelta(minutes=2), tick=False):
        assert client.get(f"/join/{ann.join_token}").status_code == 302  # Ann joins through her own link
    with time_machine.travel(first.starts_at + timedelta(minutes=40), tick=False):
        sign_in(client, team["fay"])
        page = client.get(sheet_path(first))
        html, text = page.get_data(as_text=True), text_of(page)
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert "Attendance: session 1 of 12" in text and "Thu, Oct 3, 6:00 PM EDT" in text
        assert "Ann Avery" in text and "Ben Brook" in text and "Cat Cole" in text
        assert "Wes Waiting" not in text  # only confirmed participants
        # Ann's join made a provisional present, shown as such; the others have nothing yet.
        assert "checked" in radio(html, ann.id, "present")
        assert "Provisional" in person_block(html, ann.id) and "6:02 PM" in person_block(html, ann.id)
        assert "checked" not in person_block(html, ben.id) and "Not recorded yet" in person_block(html, ben.id)
        assert "<legend>Ann Avery</legend>" in html and html.count('type="radio"') == 12
        assert "$" not in text and "Paid" not in text

        answer = client.post(
            sheet_path(first),
            data={"csrf_token": csrf_of(page), f"att-{ann.id}": "present", f"att-{ben.id}": "late"},
        )
        assert answer.status_code == 303
        assert answer.headers["Location"] == sheet_path(first) + "?focus=save"
        after = client.get(answer.headers["Location"])
        after_text = text_of(after)
        assert "Attendance for session 1 (Thu, Oct 3, 2030) is saved: 1 present, 1 late." in after_text
        assert "Not recorded yet: Cat Cole." in after_text
        assert re.search(r'<button type="submit"[^>]*autofocus[^>]*>Save attendance</button>', after.get_data(True))
        assert "Last saved by Fay Cilitator" in after_text

    saved = records(first)
    assert {k: (r.status, r.source, r.recorded_by_id) for k, r in saved.items()} == {
        ann.id: ("present", "staff", team["fay"].id),
        ben.id: ("late", "staff", team["fay"].id),
    }
    assert saved[ann.id].joined_at is not None  # the first join time is kept through the confirmation

    # A correction later in the week replaces the records (one row per person), Ann included.
    with time_machine.travel(first.starts_at + timedelta(days=2), tick=False):
        sign_in(client, team["desk"])
        page = client.get(sheet_path(first))
        assert "checked" in radio(page.get_data(as_text=True), ben.id, "late")
        answer = client.post(
            sheet_path(first),
            data={
                "csrf_token": csrf_of(page),
                f"att-{ann.id}": "absent",
                f"att-{ben.id}": "excused",
                f"att-{cat.id}": "present",
            },
        )
        assert answer.status_code == 303
        assert "1 present, 1 absent, 1 excused." in text_of(client.get(answer.headers["Location"]))
    corrected = records(first)
    assert {k: (r.status, r.recorded_by_id) for k, r in corrected.items()} == {
        ann.id: ("absent", team["desk"].id),
        ben.id: ("excused", team["desk"].id),
        cat.id: ("present", team["desk"].id),
    }

    def audited(person):
        entries = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.enrolment_id == person.id, AuditEntry.action == "attendance_recorded")
            .order_by(AuditEntry.created_at)
        ).all()
        return [(a.staff_id, a.before["attendance"], a.after["attendance"]) for a in entries]

    # Audited as the API's PUT is: each change of a person's record, with who made it.
    assert audited(ben) == [(team["fay"].id, None, "late"), (team["desk"].id, "late", "excused")]
    assert audited(ann) == [(team["desk"].id, "present", "absent")]  # her join's present, confirmed, then corrected


def test_a_provisional_join_can_be_corrected_without_touching_the_others(client, team, group):
    ann, ben = group.people["Ann"], group.people["Ben"]
    first = group.sessions[0]
    with time_machine.travel(first.starts_at + timedelta(minutes=1), tick=False):
        client.get(f"/join/{ann.join_token}")
    with time_machine.travel(first.starts_at + timedelta(minutes=30), tick=False):
        sign_in(client, team["fay"])
        page = client.get(sheet_path(first))
        answer = client.post(sheet_path(first), data={"csrf_token": csrf_of(page), f"att-{ann.id}": "late"})
        assert answer.status_code == 303
    saved = records(first)
    assert (saved[ann.id].status, saved[ann.id].source) == ("late", "staff") and ben.id not in saved


def test_a_session_that_has_not_started_is_read_only_and_saving_it_is_refused(client, team, group):
    ann = group.people["Ann"]
    second = group.sessions[1]
    with time_machine.travel(second.starts_at - timedelta(hours=2), tick=False):
        sign_in(client, team["fay"])
        page = client.get(sheet_path(second))
        html, text = page.get_data(as_text=True), text_of(page)
        assert page.status_code == 200
        assert "This session has not started yet: it starts Thu, Oct 10, 6:00 PM EDT (in 2 h)." in text
        assert "Save attendance" not in text and "Mark everyone present" not in text
        assert person_block(html, ann.id).startswith(f'<fieldset class="sheet__person" id="person-{ann.id}" disabled')
        refused = client.post(sheet_path(second), data={"csrf_token": csrf_of(page), f"att-{ann.id}": "present"})
        assert refused.status_code == 409 and refused.mimetype == "text/html"
        refused_html = refused.get_data(as_text=True)
        problem = re.search(r'<div class="notice notice--error" [^>]*id="sheet-problem".*?</div>', refused_html, re.S)
        assert problem and "Nothing was saved. This session has not started yet" in text_of_html(problem[0])
        assert refused_html.index("sheet-problem") > refused_html.index('<form method="post"')  # beside the form
    assert records(second) == {}


def test_a_cancelled_session_cannot_be_marked(client, team, group):
    from scheduler.cohorts import services as cohort_services

    ann, third = group.people["Ann"], group.sessions[2]
    cohort_services.update_session(third.id, {"status": "cancelled"})
    with time_machine.travel(third.starts_at + timedelta(minutes=10), tick=False):
        sign_in(client, team["desk"])
        page = client.get(sheet_path(third))
        assert "This session was cancelled; there is no attendance to record." in text_of(page)
        refused = client.post(sheet_path(third), data={"csrf_token": csrf_of(page), f"att-{ann.id}": "absent"})
        assert refused.status_code == 409 and "cancelled" in text_of(refused)
    assert records(third) == {}


def test_mistakes_are_named_beside_the_person_and_nothing_is_saved(client, team, group):
    ann, ben = group.people["Ann"], group.people["Ben"]
    first = group.sessions[0]
    with time_machine.travel(first.starts_at + timedelta(minutes=30), tick=False):
        sign_in(client, team["desk"])
        token = csrf_of(client.get(sheet_path(first)))
        wrong = client.post(
            sheet_path(first), data={"csrf_token": token, f"att-{ann.id}": "present", f"att-{ben.id}": "sick"}
        )
        assert wrong.status_code == 422
        html = wrong.get_data(as_text=True)
        assert "Choose one of Present, Late, Absent or Excused." in person_block(html, ben.id)
        assert f'id="person-{ben.id}-error"' in html and "checked" in radio(html, ann.id, "present")
        empty = client.post(sheet_path(first), data={"csrf_token": token})
        assert empty.status_code == 422
        assert "Choose Present, Late, Absent or Excused for at least one person" in text_of(empty)
        stranger = client.post(sheet_path(first), data={"csrf_token": token, "att-enr_somebody_else": "present"})
        assert stranger.status_code == 422 and "list of participants changed" in text_of(stranger)
        no_token = client.post(sheet_path(first), data={f"att-{ann.id}": "present"})
        assert no_token.status_code == 400 and "This form could not be sent" in text_of(no_token)
    assert records(first) == {}


def test_who_may_open_and_save_a_sheet(client, team, group, make_cohort, make_staff):
    ann, first = group.people["Ann"], group.sessions[0]
    with time_machine.travel(first.starts_at + timedelta(minutes=30), tick=False):
        anonymous = client.get(sheet_path(first))
        assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/desk/login?next=")
        assert client.post(sheet_path(first)).status_code in (303, 400)  # no session (and no CSRF token)

        sign_in(client, team["otto"])
        page = client.get(sheet_path(first))
        assert page.status_code == 403 and "This page is not available to you" in text_of(page)
        token = csrf_of(client.get("/desk/account"))
        refused = client.post(sheet_path(first), data={"csrf_token": token, f"att-{ann.id}": "present"})
        assert refused.status_code == 403 and refused.mimetype == "text/html"
        assert client.get("/desk/sessions/ses_nope/attendance").status_code == 404

        for member in (team["fay"], team["desk"], team["admin"]):
            sign_in(client, member)
            assert client.get(sheet_path(first)).status_code == 200, member.role
    assert records(first) == {}


def test_the_cohort_page_links_each_started_session_and_the_latest_first(client, team, group):
    path = f"/desk/cohorts/{group.id}"
    first, second, third = group.sessions[:3]
    with time_machine.travel(first.starts_at - timedelta(days=1), tick=False):
        sign_in(client, team["fay"])
        before = client.get(path)
        assert "/attendance" not in before.get_data(as_text=True)
        assert "Attendance can be taken from the start of the first session" in text_of(before)
    with time_machine.travel(third.starts_at + timedelta(minutes=15), tick=False):
        sign_in(client, team["fay"])
        html = client.get(path).get_data(as_text=True)
        prominent = re.search(r'<a class="button button--primary" href="([^"]+)"[^>]*>Take attendance</a>', html)
        assert prominent[1] == sheet_path(third)
        assert "Session 3, under way" in text_of_html(html)
        linked = re.findall(r'href="(/desk/sessions/[^"]+/attendance)" class="sessions__sheet"', html)
        assert linked == [sheet_path(first), sheet_path(second), sheet_path(third)]
        sheet = client.get(sheet_path(second)).get_data(as_text=True)
        assert f'href="{sheet_path(first)}" rel="prev"' in sheet and f'href="{sheet_path(third)}" rel="next"' in sheet


def text_of_html(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_sheet_runs_a_constant_number_of_queries(client, team, make_program, make_cohort, make_enrolment):
    counts = {}
    for people in (3, 30):
        cohort = make_cohort(program=make_program(price_amount=0), capacity=40, facilitator_ids=[team["fay"].id])
        enrolled = [make_enrolment(cohort) for _ in range(people)]
        session = cohort.sessions[0]
        with time_machine.travel(session.starts_at + timedelta(minutes=10), tick=False):
            for e in enrolled[::2]:  # half of them joined through their link
                client.get(f"/join/{e.join_token}")
            sign_in(client, team["fay"])
            client.get(sheet_path(session))
            db.session.rollback()
            with QueryCounter() as reading:
                page = client.get(sheet_path(session))
            form = {"csrf_token": csrf_of(page), **{f"att-{e.id}": "late" for e in enrolled}}
            db.session.rollback()
            with QueryCounter() as saving:
                assert client.post(sheet_path(session), data=form).status_code == 303
            db.session.rollback()
            with QueryCounter() as reading_saved:
                client.get(sheet_path(session) + "?focus=save")
        counts[people] = (reading.count, saving.count, reading_saved.count)
    assert counts[3] == counts[30], counts
