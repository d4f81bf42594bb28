"""Issue 25, a first step: individual sessions beside the group. A therapist's weekly series for an
enrolment (local time kept across DST in both hemispheres, skips), a clash refused naming it, one
therapist's hour taken once however many race, moving and cancelling with emails, the person's own
cancel with its cutoff, attendance, and the personal join link."""

import threading
from datetime import UTC, date, datetime, time
from urllib.parse import urlsplit

import time_machine
from sqlalchemy import func, select

from scheduler.appointments.models import Appointment
from scheduler.foundation.extensions import db
from scheduler.staff.services import create_staff
from tests.helpers import bearer, enrolled
from tests.integration.admission.test_intakes import mail_to

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)


def series(**overrides) -> dict:
    return {
        "weekday": "tuesday",
        "start_time": "10:00",
        "timezone": "America/New_York",
        "start_date": "2030-10-22",
        "count": 4,
        "duration_minutes": 50,
        "meeting_url": "https://video.example/therapy/9",
        **overrides,
    }


def therapist(name="Dr Tess Hart"):
    return create_staff(f"{name.split()[-1].lower()}@staff.test", name, "facilitator")


def test_a_series_keeps_local_time_across_dst_in_both_hemispheres(client, auth, make_cohort):
    desk = auth("front_desk")
    cohort = make_cohort(price_amount=0)
    person = enrolled(client, cohort, "ana@example.org", headers=desk)
    tess = therapist()
    with time_machine.travel(T0, tick=False):
        north = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series", json={**series(), "staff_id": tess.id}, headers=desk
        )
        assert north.status_code == 201, north.json
        assert [a["starts_at"] for a in north.json] == [
            "2030-10-22T14:00:00Z",
            "2030-10-29T14:00:00Z",
            "2030-11-05T15:00:00Z",  # New York left daylight saving on 3 November: still 10:00 there
            "2030-11-12T15:00:00Z",
        ]
        south = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={
                **series(weekday="thursday", timezone="Australia/Sydney", start_date="2030-09-24", count=3),
                "skip_dates": ["2030-10-03"],
                "staff_id": therapist("Dr Sam Reed").id,
            },
            headers=desk,
        )
        assert south.status_code == 201, south.json
        # 10:00 in Sydney: 00:00Z in winter, 23:00Z the day before once summer time starts (6 October).
        assert [a["starts_at"] for a in south.json] == [
            "2030-09-26T00:00:00Z",
            "2030-10-09T23:00:00Z",
            "2030-10-16T23:00:00Z",
        ]
        mine = client.get(f"/api/v1/enrolments/{person['id']}/appointments", headers=bearer(person["manage_token"]))
        assert (
            len(mine.json) == 7 and mine.json[0]["therapist"] == "Dr Sam Reed" and "/join/" in mine.json[0]["join_url"]
        )
    emails = mail_to("ana@example.org", "individual_scheduled")  # one per series
    [told] = [m for m in emails if "Dr Tess Hart" in m.body_text]
    assert len(emails) == 2
    assert "Dr Tess Hart" in told.body_text and "Tuesday, October 22, 2030 at 10:00 AM EDT" in told.body_text
    assert "Tess" not in told.subject


def test_a_clash_with_the_therapists_group_or_assessment_is_refused_naming_it(client, auth, make_program, make_cohort):
    desk = auth("front_desk")
    tess = therapist()
    make_cohort(
        name="Thursday skills",
        start_date=date(2030, 10, 24),
        start_time=time(18, 0),
        session_count=2,
        facilitator_ids=[tess.id],
    )
    person = enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=desk)
    with time_machine.travel(T0, tick=False):
        clash = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={**series(weekday="thursday", start_time="18:30", start_date="2030-10-24"), "staff_id": tess.id},
            headers=desk,
        )
    assert clash.status_code == 409
    assert (
        "Dr Tess Hart already has a session of Thursday skills on Thursday 24 October 2030 at 18:00"
        in clash.json["detail"]
    )
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0  # nothing half-written
    wrong = client.post(
        f"/api/v1/enrolments/{person['id']}/individual-series",
        json={**series(start_time="25:00"), "staff_id": tess.id},
        headers=desk,
    )
    assert wrong.status_code == 422 and "HH:MM" in wrong.json["errors"]["start_time"][0]


def test_ten_people_racing_for_one_therapists_hour_get_it_once(app, client, auth, make_cohort):
    desk = auth("front_desk")
    tess = therapist()
    cohort = make_cohort(price_amount=0, capacity=20)
    people = [enrolled(client, cohort, f"p{n}@example.org", headers=desk) for n in range(10)]
    start = threading.Barrier(10)
    statuses, errors = [], []

    body = {**series(count=1), "staff_id": tess.id}

    def book(enrolment_id):
        try:
            local = app.test_client()
            start.wait()
            answer = local.post(f"/api/v1/enrolments/{enrolment_id}/individual-series", json=body, headers=desk)
            statuses.append(answer.status_code)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=book, args=(p["id"],)) for p in people]
    with time_machine.travel(T0, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    assert sorted(statuses) == [201] + [409] * 9
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1


def test_move_cancel_the_persons_own_cancel_attendance_and_the_join_link(client, auth, make_cohort, make_staff):
    desk = auth("front_desk")
    tess = therapist()
    person = enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=desk)
    me = bearer(person["manage_token"])
    with time_machine.travel(T0, tick=False) as traveller:
        made = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={**series(count=2), "staff_id": tess.id},
            headers=desk,
        ).json
        first, second = made[0]["id"], made[1]["id"]
        moved = client.patch(f"/api/v1/appointments/{first}", json={"starts_at": "2030-10-23T14:00:00Z"}, headers=desk)
        assert moved.status_code == 200 and moved.json["starts_at"] == "2030-10-23T14:00:00Z"
        assert moved.json["ends_at"] == "2030-10-23T14:50:00Z" and moved.json["sequence"] == 1
        [notice] = mail_to("ana@example.org", "individual_moved")
        assert "Wednesday, October 23, 2030 at 10:00 AM EDT" in notice.body_text
        assert (
            client.patch(
                f"/api/v1/appointments/{first}", json={"starts_at": "2030-10-24T14:00:00Z"}, headers=me
            ).status_code
            == 403
        )
        other = enrolled(client, make_cohort(price_amount=0), "ben@example.org", headers=desk)
        theirs = client.patch(
            f"/api/v1/appointments/{second}", json={"status": "cancelled"}, headers=bearer(other["manage_token"])
        )
        assert theirs.status_code == 404
        mine = client.patch(f"/api/v1/appointments/{second}", json={"status": "cancelled"}, headers=me)
        assert mine.status_code == 200 and mine.json["status"] == "cancelled"
        assert "as you asked" in mail_to("ana@example.org", "individual_cancelled")[0].body_text

        traveller.move_to(datetime(2030, 10, 23, 13, 0, tzinfo=UTC))  # an hour before the first
        late = client.patch(f"/api/v1/appointments/{first}", json={"status": "cancelled"}, headers=me)
        assert late.status_code == 409 and "24 hours" in late.json["detail"]
        early = client.put(f"/api/v1/appointments/{first}/attendance", json={"status": "present"}, headers=desk)
        assert early.status_code == 409
        traveller.move_to(datetime(2030, 10, 23, 13, 50, tzinfo=UTC))
        link = moved.json["join_url"].split("/join/", 1)[1]
        opened = client.get(f"/join/{link}")
        assert opened.status_code in (302, 303) and opened.headers["Location"] == "https://video.example/therapy/9"
        traveller.move_to(datetime(2030, 10, 23, 14, 55, tzinfo=UTC))
        someone = client.put(
            f"/api/v1/appointments/{first}/attendance", json={"status": "late"}, headers=auth("facilitator")
        )
        assert someone.status_code == 403
        tess_token = {"Authorization": f"Bearer {tess.token}"}
        marked = client.put(f"/api/v1/appointments/{first}/attendance", json={"status": "late"}, headers=tess_token)
        assert marked.status_code == 200 and marked.json["attendance"] == "late"


def test_missed_individual_sessions_count_toward_the_limit_only_when_the_program_says_so(
    client, auth, make_program, make_cohort
):
    desk = auth("front_desk")
    for counts in (True, False):
        program = make_program(missed_sessions_limit=2, rule_counts_individual=counts)
        cohort = make_cohort(program=program, price_amount=0, start_date=date(2030, 10, 3))
        person = enrolled(client, cohort, f"p{counts}@example.org", headers=desk)
        tess = therapist(f"Dr Tess Hart{int(counts)}")
        with time_machine.travel(T0, tick=False) as traveller:
            made = client.post(
                f"/api/v1/enrolments/{person['id']}/individual-series",
                json={**series(start_date="2030-09-10", count=2), "staff_id": tess.id},
                headers=desk,
            ).json
            traveller.move_to(datetime(2030, 9, 20, tzinfo=UTC))
            for appointment in made:
                marked = client.put(
                    f"/api/v1/appointments/{appointment['id']}/attendance", json={"status": "absent"}, headers=desk
                )
                assert marked.status_code == 200
            roster = client.get(f"/api/v1/cohorts/{cohort.id}/roster", headers=desk).json
        [row] = roster
        assert [a["status"] for a in row["individual_attendance"]] == ["absent", "absent"]
        if counts:
            assert row["consecutive_missed"] == 2 and row["attendance_flag"] == "missed_limit"
        else:
            assert row["consecutive_missed"] == 0 and row["attendance_flag"] is None


def test_the_console_shows_a_persons_individual_sessions_beside_the_group(client, auth, make_cohort, make_staff):
    from tests.desk_support import sign_in, text_of

    desk = auth("front_desk")
    person = enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=desk)
    tess = therapist()
    with time_machine.travel(T0, tick=False):
        client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series", json={**series(), "staff_id": tess.id}, headers=desk
        )
        console = client.application.test_client()
        sign_in(console, make_staff("front_desk")[0])
        page = text_of(console.get(f"/desk/enrolments/{person['id']}"))
    assert "Individual sessions (4)" in page and "Tue, Oct 22, 10:00 AM EDT Dr Tess Hart Booked" in page


def test_the_persons_page_lists_their_individual_sessions_with_join_links(client, auth, make_cohort):
    desk = auth("front_desk")
    person = enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=desk)
    with time_machine.travel(T0, tick=False):
        made = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={**series(count=2), "staff_id": therapist().id},
            headers=desk,
        ).json
        link = urlsplit(person["manage_url"])
        assert client.get(f"{link.path}?{link.query}").status_code == 303  # the emailed link sets the cookie
        page = client.get(f"/me/{person['id']}").get_data(as_text=True)
    assert "Your individual sessions" in page and made[0]["join_url"].split("/join/")[1] in page


def test_a_reminder_goes_once_per_session_and_follows_a_move(client, auth, make_cohort):
    from scheduler.notifications.jobs import send_reminders

    desk = auth("front_desk")
    person = enrolled(client, make_cohort(price_amount=0, start_date=date(2031, 1, 2)), "ana@example.org", headers=desk)
    with time_machine.travel(T0, tick=False) as traveller:
        [first] = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={**series(count=1), "staff_id": therapist().id},
            headers=desk,
        ).json
        traveller.move_to(datetime(2030, 10, 21, 15, 0, tzinfo=UTC))  # 23 hours before
        assert send_reminders() == 1 and send_reminders() == 0
        client.patch(f"/api/v1/appointments/{first['id']}", json={"starts_at": "2030-10-22T14:30:00Z"}, headers=desk)
        assert send_reminders() == 1  # the new time is reminded; the old reminder is not sent
    reminders = mail_to("ana@example.org", "individual_reminder")
    assert sorted(m.status for m in reminders) == ["pending", "skipped"]
    [current] = [m for m in reminders if m.status == "pending"]
    assert "10:30 AM EDT" in current.subject and "Tess" not in current.subject


def test_export_lists_individual_sessions_and_erasure_ends_their_links(client, auth, make_cohort):
    desk = auth("front_desk")
    person = enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=desk)
    with time_machine.travel(T0, tick=False):
        [made] = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={**series(count=1), "staff_id": therapist().id},
            headers=desk,
        ).json
    body = client.get("/api/v1/participants/export", query_string={"email": "ana@example.org"}, headers=desk).json
    assert body["holds"]["appointments"] == 1 and body["enrolments"][0]["appointments"][0]["id"] == made["id"]
    assert (
        client.post("/api/v1/participants/erase", json={"email": "ana@example.org"}, headers=auth("admin")).status_code
        == 200
    )
    link = made["join_url"].split("/join/", 1)[1]
    assert client.get(f"/join/{link}").status_code == 404


def test_withdrawing_frees_the_therapists_time(client, auth, make_cohort):
    desk = auth("front_desk")
    cohort = make_cohort(price_amount=0, capacity=5)
    ana = enrolled(client, cohort, "ana@example.org", headers=desk)
    ben = enrolled(client, cohort, "ben@example.org", headers=desk)
    tess = therapist()
    with time_machine.travel(T0, tick=False):
        body = {**series(count=2), "staff_id": tess.id}
        assert (
            client.post(f"/api/v1/enrolments/{ana['id']}/individual-series", json=body, headers=desk).status_code == 201
        )
        assert (
            client.post(f"/api/v1/enrolments/{ben['id']}/individual-series", json=body, headers=desk).status_code == 409
        )
        client.post(f"/api/v1/enrolments/{ana['id']}/withdraw", json={}, headers=desk)
        statuses = [a["status"] for a in client.get(f"/api/v1/enrolments/{ana['id']}/appointments", headers=desk).json]
        assert statuses == ["cancelled", "cancelled"]
        assert (
            client.post(f"/api/v1/enrolments/{ben['id']}/individual-series", json=body, headers=desk).status_code == 201
        )


def test_the_persons_feed_holds_their_individual_sessions_and_follows_a_move(client, auth, make_cohort):
    from icalendar import Calendar

    desk = auth("front_desk")
    person = enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=desk)
    feed = client.get(f"/api/v1/enrolments/{person['id']}", headers=bearer(person["manage_token"])).json["calendar_url"]
    path = urlsplit(feed).path

    def events():
        body = client.get(path)
        assert body.status_code == 200
        return [e for e in Calendar.from_ical(body.data).walk("VEVENT") if str(e["SUMMARY"]) == "Appointment"]

    with time_machine.travel(T0, tick=False):
        [made] = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={**series(count=1), "staff_id": therapist().id},
            headers=desk,
        ).json
        [event] = events()
        assert event["DTSTART"].dt.isoformat() == "2030-10-22T10:00:00-04:00" and "/join/" in str(event["LOCATION"])
        assert "Tess" not in client.get(path).get_data(as_text=True)
        client.patch(f"/api/v1/appointments/{made['id']}", json={"starts_at": "2030-10-23T14:00:00Z"}, headers=desk)
        [moved] = events()
        assert moved["DTSTART"].dt.isoformat() == "2030-10-23T10:00:00-04:00" and int(moved["SEQUENCE"]) == 1
        client.patch(f"/api/v1/appointments/{made['id']}", json={"status": "cancelled"}, headers=desk)
        [cancelled] = events()
        assert str(cancelled["STATUS"]) == "CANCELLED" and int(cancelled["SEQUENCE"]) == 2


def test_a_move_and_a_withdrawal_at_once_both_finish(app, client, auth, make_cohort):
    """A staff move of a session and its person's withdrawal take the same locks in the same order
    (cohort, therapist, session): both answer, neither waits for the other forever."""
    desk = auth("front_desk")
    cohort = make_cohort(price_amount=0, capacity=10)
    tess = therapist()
    pairs = []
    with time_machine.travel(T0, tick=False):
        for n in range(4):
            person = enrolled(client, cohort, f"p{n}@example.org", headers=desk)
            body = {**series(count=1, start_time=f"{9 + n:02d}:00"), "staff_id": tess.id}
            [made] = client.post(f"/api/v1/enrolments/{person['id']}/individual-series", json=body, headers=desk).json
            pairs.append((person["id"], made["id"], f"2030-10-23T{13 + n:02d}:00:00Z"))
        statuses, errors = [], []
        start = threading.Barrier(2)

        def run(call):
            try:
                local = app.test_client()
                start.wait()
                statuses.append(call(local).status_code)
            except Exception as exc:  # reported below
                errors.append(exc)

        for enrolment_id, appointment_id, later in pairs:

            def move(c, a=appointment_id, t=later):
                return c.patch(f"/api/v1/appointments/{a}", json={"starts_at": t}, headers=desk)

            def leave(c, e=enrolment_id):
                return c.post(f"/api/v1/enrolments/{e}/withdraw", json={}, headers=desk)

            threads = [threading.Thread(target=run, args=(call,)) for call in (move, leave)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
    assert not errors, errors
    # The move either came first (200) or found the session cancelled by the withdrawal (409); never 5xx.
    assert all(status in (200, 409) for status in statuses) and len(statuses) == 8, statuses
