"""Issue 25 in the console: a person's whole programme on one screen (group sessions and individual
sessions in time order with their attendance, what the rule counts, the statement, booking a series),
one individual session's page (move, cancel, attendance), and a clinician's week."""

from datetime import UTC, datetime

import time_machine

from scheduler.staff.services import create_staff
from tests.desk_support import post_form, sign_in, text_of
from tests.helpers import enrolled
from tests.integration.admission.test_intakes import mail_to
from tests.integration.appointments.test_individual import T0, series

SERIES_FORM = {
    "weekday": "tuesday",
    "start_time": "10:00",
    "timezone": "America/New_York",
    "start_date": "2030-10-01",
    "count": "3",
    "duration_minutes": "50",
    "meeting_url": "",
    "skip_dates": "",
}


def scene(client, auth, make_cohort, make_staff):
    """Ana is in Tess's Thursday group (18:00 New York, from 3 October 2030, four sessions); the desk is signed in."""
    tess = create_staff("tess@staff.test", "Dr Tess Hart", "facilitator")
    cohort = make_cohort(price_amount=0, session_count=4, facilitator_ids=[tess.id], name="Thursday skills")
    person = enrolled(client, cohort, "ana@example.org", name="Ana Ruiz", headers=auth("front_desk"))
    desk = client.application.test_client()
    sign_in(desk, make_staff("front_desk")[0])
    return tess, cohort, person, desk


def test_the_desk_books_a_series_and_sees_the_whole_programme_in_time_order(client, auth, make_cohort, make_staff):
    with time_machine.travel(T0, tick=False) as traveller:
        tess, cohort, person, desk = scene(client, auth, make_cohort, make_staff)
        page = f"/desk/enrolments/{person['id']}/programme"
        assert f'href="{page}"' in desk.get(f"/desk/enrolments/{person['id']}").get_data(as_text=True)
        booked = post_form(desk, page, f"{page}/series", {**SERIES_FORM, "staff_id": tess.id})
        assert booked.status_code == 303, text_of(booked)
        shown = text_of(desk.get(page))
        assert "3 individual sessions are booked" in shown
        assert len(mail_to("ana@example.org", "individual_scheduled")) == 1
        # Group and individual sessions in one list, in time order, each with its therapist.
        order = [
            "Tue, Oct 1, 10:00 AM EDT Individual session 1 Dr Tess Hart",
            "Thu, Oct 3, 6:00 PM EDT Group session 1 Dr Tess Hart",
            "Tue, Oct 8, 10:00 AM EDT Individual session 2 Dr Tess Hart",
            "Thu, Oct 10, 6:00 PM EDT Group session 2 Dr Tess Hart",
            "Tue, Oct 15, 10:00 AM EDT Individual session 3 Dr Tess Hart",
            "Thu, Oct 17, 6:00 PM EDT Group session 3",
        ]
        positions = [shown.index(line) for line in order]
        assert positions == sorted(positions)
        # Attendance of both kinds, once they have happened, and what the rule counts.
        traveller.move_to(datetime(2030, 10, 11, 12, 0, tzinfo=UTC))
        sign_in(desk, make_staff("front_desk")[0])  # weeks later: a new sign-in
        sessions = sorted(cohort.sessions, key=lambda s: s.starts_at)
        for session, status in zip(sessions[:2], ("present", "absent"), strict=True):
            put = client.put(
                f"/api/v1/sessions/{session.id}/attendance",
                json={"records": [{"enrolment_id": person["id"], "status": status}]},
                headers=auth("front_desk"),
            )
            assert put.status_code == 200, put.json
        appointments = client.get(f"/api/v1/enrolments/{person['id']}/appointments", headers=auth("front_desk")).json
        one = f"/desk/appointments/{appointments[0]['id']}"
        assert post_form(desk, one, f"{one}/attendance", {"status": "late"}).status_code == 303
        shown = text_of(desk.get(page))
        assert "Tue, Oct 1, 10:00 AM EDT Individual session 1 Dr Tess Hart Late" in shown
        assert "Thu, Oct 3, 6:00 PM EDT Group session 1 Dr Tess Hart Present" in shown
        assert "Thu, Oct 10, 6:00 PM EDT Group session 2 Dr Tess Hart Absent" in shown
        assert "Group sessions attended 1 of 2 held so far" in shown
        assert "Individual sessions attended 1 of 2 held so far" in shown
        assert "Statement of services" in shown


def test_a_clash_or_a_mistake_in_the_series_form_is_shown_by_the_form(client, auth, make_cohort, make_staff):
    with time_machine.travel(T0, tick=False):
        tess, _, person, desk = scene(client, auth, make_cohort, make_staff)
        page = f"/desk/enrolments/{person['id']}/programme"
        clash = post_form(
            desk,
            page,
            f"{page}/series",
            {**SERIES_FORM, "staff_id": tess.id, "weekday": "thursday", "start_time": "18:30"},
        )
        assert clash.status_code == 409
        assert "Dr Tess Hart already has a session of Thursday skills" in text_of(clash)
        wrong = post_form(desk, page, f"{page}/series", {**SERIES_FORM, "staff_id": tess.id, "start_time": "25:00"})
        assert wrong.status_code == 422
        html = wrong.get_data(as_text=True)
        assert 'id="series-time-error"' in html and "HH:MM" in text_of(wrong)
        assert 'value="25:00"' in html  # what was typed stays
        nobody = post_form(desk, page, f"{page}/series", SERIES_FORM)
        assert nobody.status_code == 422 and 'id="series-staff-error"' in nobody.get_data(as_text=True)
    assert client.get(f"/api/v1/enrolments/{person['id']}/appointments", headers=auth("front_desk")).json == []


def test_one_sessions_page_moves_and_cancels_it_and_refuses_the_past(client, auth, make_cohort, make_staff):
    with time_machine.travel(T0, tick=False):
        tess, _, person, desk = scene(client, auth, make_cohort, make_staff)
        [first, second] = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={**series(count=2), "staff_id": tess.id},
            headers=auth("front_desk"),
        ).json
        one = f"/desk/appointments/{first['id']}"
        assert "Tue, Oct 22, 10:00 AM EDT" in text_of(desk.get(one))
        past = post_form(desk, one, f"{one}/move", {"date": "2030-08-01", "time": "10:00"})
        assert past.status_code == 422 and "That time has already passed" in text_of(past)
        gap = post_form(desk, one, f"{one}/move", {"date": "2031-03-09", "time": "02:30"})
        assert gap.status_code == 422 and "does not exist" in text_of(gap)
        onto_group = post_form(desk, one, f"{one}/move", {"date": "2030-10-24", "time": "18:15"})
        assert onto_group.status_code == 409 and "already has a session of Thursday skills" in text_of(onto_group)
        moved = post_form(desk, one, f"{one}/move", {"date": "2030-10-23", "time": "11:30"})
        assert moved.status_code == 303
        assert "Wed, Oct 23, 11:30 AM EDT" in text_of(desk.get(one))
        assert len(mail_to("ana@example.org", "individual_moved")) == 1
        two = f"/desk/appointments/{second['id']}"
        assert post_form(desk, two, f"{two}/cancel").status_code == 303
        assert "Cancelled" in text_of(desk.get(two)) and "Move the session" not in text_of(desk.get(two))
        early = post_form(desk, one, f"{one}/attendance", {"status": "present"})
        assert "Save attendance" not in text_of(desk.get(one))  # no sheet before it starts
        assert early.status_code == 409
    statuses = [
        a["status"]
        for a in client.get(f"/api/v1/enrolments/{person['id']}/appointments", headers=auth("front_desk")).json
    ]
    assert statuses == ["booked", "cancelled"]


def test_a_therapist_sees_their_own_people_and_sessions_but_not_others(client, auth, make_cohort, make_staff):
    sam = create_staff("sam@staff.test", "Dr Sam Reed", "facilitator")
    other = enrolled(client, make_cohort(price_amount=0), "ben@example.org", headers=auth("front_desk"))
    with time_machine.travel(T0, tick=False):
        tess, _, person, _ = scene(client, auth, make_cohort, make_staff)
        [hers] = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={**series(count=1), "staff_id": sam.id},
            headers=auth("front_desk"),
        ).json
        as_sam = client.application.test_client()
        sign_in(as_sam, sam)
        assert as_sam.get(f"/desk/enrolments/{person['id']}/programme").status_code == 200  # his individual client
        assert as_sam.get(f"/desk/appointments/{hers['id']}").status_code == 200
        assert as_sam.get(f"/desk/enrolments/{other['id']}/programme").status_code == 403
        as_tess = client.application.test_client()
        sign_in(as_tess, tess)
        assert as_tess.get(f"/desk/enrolments/{person['id']}/programme").status_code == 200  # her group's member
        assert as_tess.get(f"/desk/appointments/{hers['id']}").status_code == 403  # Sam's session
        assert "Book individual sessions" not in text_of(as_tess.get(f"/desk/enrolments/{person['id']}/programme"))


def test_a_clinicians_week_shows_groups_and_individual_sessions_day_by_day(client, auth, make_cohort, make_staff):
    with time_machine.travel(T0, tick=False):
        tess, _, person, desk = scene(client, auth, make_cohort, make_staff)
        client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={**series(start_date="2030-10-01", count=2), "staff_id": tess.id},
            headers=auth("front_desk"),
        )
        as_tess = client.application.test_client()
        sign_in(as_tess, tess)
        week = text_of(as_tess.get("/desk/week?week=2030-10-02"))  # any day of the week: its Monday
        assert "Your week" in week and "Week of Monday 30 September 2030" in week
        assert "Times in America/New_York" in week
        assert "Tuesday 1 October 10:00–10:50 Individual session with Ana Ruiz" in week
        assert "Thursday 3 October 18:00–19:30 Group: Thursday skills, session 1" in week
        assert "Wednesday 2 October Nothing booked" in week
        html = as_tess.get("/desk/week?week=2030-10-02").get_data(as_text=True)
        assert 'href="/desk/week?week=2030-10-07"' in html and 'href="/desk/week?week=2030-09-23"' in html
        # The desk opens anyone's week; a clinician only their own.
        other = desk.get(f"/desk/week?staff_id={tess.id}&week=2030-10-07")
        assert "Dr Tess Hart's week" in text_of(
            other
        ) and "Tuesday 8 October 10:00–10:50 Individual session" in text_of(other)
        sam = create_staff("sam@staff.test", "Dr Sam Reed", "facilitator")
        as_sam = client.application.test_client()
        sign_in(as_sam, sam)
        assert as_sam.get(f"/desk/week?staff_id={tess.id}").status_code == 403
        assert "Nothing booked" in text_of(as_sam.get("/desk/week?week=2030-10-02"))
