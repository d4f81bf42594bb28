"""Issue 21: assessors publish weekly hours; a person with a request books a free slot in their own
zone; the slot is theirs alone however many race; an assessor is never booked twice nor against
their own groups; change, cancel (with its cutoff), the join link, and the emails."""

import threading
from datetime import UTC, date, datetime, time

import time_machine

from scheduler.staff.services import create_staff
from tests.integration.admission.test_intakes import mail_to, requested

T0 = datetime(2030, 10, 1, 12, 0, tzinfo=UTC)  # a Tuesday, four weeks before the US clocks change
HOURS = {
    "weekday": "tuesday",
    "start_time": "09:00",
    "end_time": "11:00",
    "timezone": "America/New_York",
    "slot_minutes": 50,
    "from_date": "2030-10-01",
    "meeting_url": "https://video.example/assess/1",
}


def assessor(client, auth, name="Dr Ada Assessor", **hours):
    member = create_staff(f"{name.split()[-1].lower()}@staff.test", name, "facilitator", assessor=True)
    made = client.post(f"/api/v1/staff/{member.id}/availability", json={**HOURS, **hours}, headers=auth("front_desk"))
    assert made.status_code == 201, made.json
    return member


def test_hours_are_set_by_the_desk_or_the_assessor_and_checked(client, auth, make_staff):
    desk = auth("front_desk")
    plain, token = make_staff("facilitator")
    refused = client.post(f"/api/v1/staff/{plain.id}/availability", json=HOURS, headers=desk)
    assert refused.status_code == 409 and "assessor: true" in refused.json["detail"]
    marked = client.patch(f"/api/v1/staff/{plain.id}", json={"assessor": True}, headers=auth("admin"))
    assert marked.status_code == 200 and marked.json["assessor"] is True
    with time_machine.travel(T0, tick=False):
        as_them = {"Authorization": f"Bearer {token}"}
        own = client.post(f"/api/v1/staff/{plain.id}/availability", json=HOURS, headers=as_them)
    assert own.status_code == 201 and own.json["weekday"] == "tuesday" and own.json["start_time"] == "09:00"
    # What the hours make bookable: Tuesdays from the 8th (the 1st's are under two hours away), 8 weeks.
    assert own.json["slots"][:2] == [
        {"starts_at": "2030-10-08T13:00:00Z", "ends_at": "2030-10-08T13:50:00Z"},
        {"starts_at": "2030-10-08T13:50:00Z", "ends_at": "2030-10-08T14:40:00Z"},
    ]
    assert len(own.json["slots"]) == 14
    other, _ = make_staff("facilitator")
    someone_else = client.post(f"/api/v1/staff/{plain.id}/availability", json=HOURS, headers=auth("facilitator"))
    assert someone_else.status_code == 403
    backwards = client.post(f"/api/v1/staff/{plain.id}/availability", json={**HOURS, "end_time": "08:00"}, headers=desk)
    assert backwards.status_code == 422 and "end after" in backwards.json["errors"]["end_time"][0]
    wrong_day = client.post(f"/api/v1/staff/{plain.id}/availability", json={**HOURS, "weekday": "Tue"}, headers=desk)
    assert wrong_day.status_code == 422 and "tuesday" in wrong_day.json["errors"]["weekday"][0]
    listed = client.get(f"/api/v1/staff/{plain.id}/availability", headers=desk)
    assert [a["id"] for a in listed.json] == [own.json["id"]]
    gone = client.delete(f"/api/v1/staff/{plain.id}/availability/{own.json['id']}", headers=desk)
    assert gone.status_code == 200 and client.get(f"/api/v1/staff/{plain.id}/availability", headers=desk).json == []


def test_slots_keep_local_time_across_dst_skip_dates_off_and_the_assessors_groups(
    client, auth, make_program, make_cohort
):
    program = make_program(admission="intake")
    ada = assessor(client, auth, skip_dates=["2030-10-15"], until_date="2030-11-12")
    # Ada also runs a group on Tuesday 22 October at 09:30 New York time: that morning she is busy then.
    make_cohort(start_date=date(2030, 10, 22), start_time=time(9, 30), session_count=1, facilitator_ids=[ada.id])
    with time_machine.travel(T0, tick=False):
        _, me = requested(client, program, "ana@example.org", timezone="Europe/Madrid")
        intake_id = client.get("/api/v1/intakes", headers=auth("front_desk")).json[0]["id"]
        free = client.get(f"/api/v1/intakes/{intake_id}/slots", headers=me).json
    starts = [slot["starts_at"] for slot in free]
    assert starts == [
        "2030-10-08T13:00:00Z",
        "2030-10-08T13:50:00Z",
        # 15 October is a day off; 22 October's 09:00 and 09:50 meet her group (09:30-11:00)
        "2030-10-29T13:00:00Z",
        "2030-10-29T13:50:00Z",
        "2030-11-05T14:00:00Z",  # after the change, 09:00 New York is 14:00 UTC
        "2030-11-05T14:50:00Z",
        "2030-11-12T14:00:00Z",
        "2030-11-12T14:50:00Z",
    ]
    assert free[0]["timezone"] == "Europe/Madrid" and free[0]["local"] == "2030-10-08T15:00:00+02:00"
    with time_machine.travel(T0, tick=False):
        window = {"from": "2030-10-29T00:00:00Z", "to": "2030-11-06T00:00:00Z"}
        some = client.get(f"/api/v1/intakes/{intake_id}/slots", query_string=window, headers=me).json
    assert [slot["starts_at"] for slot in some] == starts[2:6]


def test_book_change_and_cancel_with_the_cutoff_and_emails(client, auth, make_program):
    program = make_program(admission="intake", name="Dialectical skills")
    assessor(client, auth)
    desk = auth("front_desk")
    with time_machine.travel(T0, tick=False) as traveller:
        ana, ana_me = requested(client, program, "ana@example.org")
        ben, ben_me = requested(client, program, "ben@example.org")
        booked = client.post(
            f"/api/v1/intakes/{ana}/appointment", json={"starts_at": "2030-10-08T13:00:00Z"}, headers=ana_me
        )
        assert booked.status_code == 201, booked.json
        assert (
            booked.json["status"] == "scheduled" and booked.json["appointment"]["starts_at"] == "2030-10-08T13:00:00Z"
        )
        assert "/join/" in booked.json["appointment"]["join_url"]
        taken = client.post(
            f"/api/v1/intakes/{ben}/appointment", json={"starts_at": "2030-10-08T13:00:00Z"}, headers=ben_me
        )
        assert taken.status_code == 409
        assert "2030-10-08T13:00:00Z" not in [
            s["starts_at"] for s in client.get(f"/api/v1/intakes/{ben}/slots", headers=ben_me).json
        ]
        not_a_slot = client.post(
            f"/api/v1/intakes/{ben}/appointment", json={"starts_at": "2030-10-08T13:10:00Z"}, headers=ben_me
        )
        assert not_a_slot.status_code == 409
        [told] = mail_to("ana@example.org", "assessment_booked")
        assert told.subject.startswith("Your appointment on Tuesday, October 8, 2030 at 9:00 AM EDT")
        assert "Dialectical" not in told.subject and booked.json["appointment"]["join_url"] in told.body_text

        moved = client.post(
            f"/api/v1/intakes/{ana}/appointment", json={"starts_at": "2030-10-08T13:50:00Z"}, headers=ana_me
        )
        assert moved.status_code == 201 and moved.json["appointment"]["starts_at"] == "2030-10-08T13:50:00Z"
        again = client.post(
            f"/api/v1/intakes/{ben}/appointment", json={"starts_at": "2030-10-08T13:00:00Z"}, headers=ben_me
        )
        assert again.status_code == 201  # the time Ana gave up is free again

        traveller.move_to(datetime(2030, 10, 7, 15, 0, tzinfo=UTC))  # less than 24 hours before
        late = client.delete(f"/api/v1/intakes/{ana}/appointment", headers=ana_me)
        assert late.status_code == 409 and "24 hours" in late.json["detail"]
        by_desk = client.delete(f"/api/v1/intakes/{ana}/appointment", headers=desk)
        assert (
            by_desk.status_code == 200 and by_desk.json["status"] == "requested" and by_desk.json["appointment"] is None
        )
        assert len(mail_to("ana@example.org", "assessment_cancelled")) == 1


def test_the_join_link_opens_in_the_appointments_window_and_ends_when_cancelled(client, auth, make_program):
    program = make_program(admission="intake")
    assessor(client, auth)
    with time_machine.travel(T0, tick=False) as traveller:
        ana, me = requested(client, program, "ana@example.org")
        booked = client.post(
            f"/api/v1/intakes/{ana}/appointment", json={"starts_at": "2030-10-08T13:00:00Z"}, headers=me
        )
        link = booked.json["appointment"]["join_url"].split("://", 1)[1].split("/", 1)[1]
        early = client.get(f"/{link}")
        assert early.status_code == 200 and "opens" in early.get_data(as_text=True)
        traveller.move_to(datetime(2030, 10, 8, 12, 50, tzinfo=UTC))
        now_open = client.get(f"/{link}")
        assert now_open.status_code in (302, 303) and now_open.headers["Location"] == "https://video.example/assess/1"
        client.delete(f"/api/v1/intakes/{ana}/appointment", headers=auth("front_desk"))
        assert client.get(f"/{link}").status_code == 410


def _race(app, calls) -> list[int]:
    """Run each call (client -> response) in a thread of its own, all released at once: their statuses."""
    start = threading.Barrier(len(calls))
    statuses, errors = [], []

    def run(call):
        try:
            client = app.test_client()
            start.wait()
            statuses.append(call(client).status_code)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return statuses


def test_twenty_people_race_for_one_slot_and_one_gets_it(app, client, auth, make_program):
    from sqlalchemy import func, select

    from scheduler.appointments.models import Appointment
    from scheduler.foundation.extensions import db

    program = make_program(admission="intake")
    assessor(client, auth)
    with time_machine.travel(T0, tick=False):
        people = [requested(client, program, f"p{n}@example.org") for n in range(20)]
        body = {"starts_at": "2030-10-08T13:00:00Z"}
        calls = [
            lambda c, i=i, h=h: c.post(f"/api/v1/intakes/{i}/appointment", json=body, headers=h) for i, h in people
        ]
        statuses = _race(app, calls)
    assert sorted(statuses) == [201] + [409] * 19
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Appointment).where(Appointment.status == "booked")) == 1


def test_one_assessor_in_two_programs_is_never_booked_twice(app, client, auth, make_program):
    from sqlalchemy import select

    from scheduler.appointments.models import Appointment
    from scheduler.foundation.extensions import db

    skills, interpersonal = make_program(admission="intake"), make_program(admission="intake", name="IPT")
    # Her Tuesday hours are offered to both programs, with different slot lengths that overlap.
    ada = assessor(client, auth, program_ids=[skills.id])
    client.post(
        f"/api/v1/staff/{ada.id}/availability",
        json={**HOURS, "slot_minutes": 60, "program_ids": [interpersonal.id]},
        headers=auth("front_desk"),
    )
    with time_machine.travel(T0, tick=False):
        mine = [requested(client, skills, f"s{n}@example.org") for n in range(5)]
        theirs = [requested(client, interpersonal, f"i{n}@example.org") for n in range(5)]
        at_9 = {"starts_at": "2030-10-08T13:00:00Z"}
        calls = [
            lambda c, i=i, h=h: c.post(f"/api/v1/intakes/{i}/appointment", json=at_9, headers=h)
            for i, h in mine + theirs
        ]
        statuses = _race(app, calls)
    assert statuses.count(201) == 1
    db.session.rollback()
    booked = db.session.execute(
        select(Appointment.starts_at, Appointment.ends_at).where(Appointment.status == "booked")
    ).all()
    assert len(booked) == 1


def test_a_reminder_goes_once_and_not_for_a_cancelled_appointment(client, auth, make_program):
    from scheduler.notifications.jobs import send_reminders

    program = make_program(admission="intake")
    assessor(client, auth)
    with time_machine.travel(T0, tick=False) as traveller:
        ana, ana_me = requested(client, program, "ana@example.org")
        ben, ben_me = requested(client, program, "ben@example.org")
        for intake, me, at in ((ana, ana_me, "2030-10-08T13:00:00Z"), (ben, ben_me, "2030-10-08T13:50:00Z")):
            assert (
                client.post(f"/api/v1/intakes/{intake}/appointment", json={"starts_at": at}, headers=me).status_code
                == 201
            )
        traveller.move_to(datetime(2030, 10, 7, 14, 0, tzinfo=UTC))
        assert send_reminders() == 2 and send_reminders() == 0
        [reminder] = mail_to("ana@example.org", "assessment_reminder")
        assert reminder.subject.startswith("Reminder: your appointment on Tuesday, October 8, 2030 at 9:00 AM EDT")
        client.delete(f"/api/v1/intakes/{ben}/appointment", headers=auth("front_desk"))
        [skipped] = mail_to("ben@example.org", "assessment_reminder")
        assert skipped.status == "skipped"


def test_the_assessor_booked_for_a_person_records_their_outcome_and_no_other_clinician_does(
    client, auth, make_staff, make_program
):
    from tests.desk_support import post_form, sign_in, text_of

    program = make_program(admission="intake")
    ada = assessor(client, auth, name="Dr Ada Lind")
    ben = create_staff("ben@staff.test", "Dr Ben Moss", "facilitator", assessor=True)
    with time_machine.travel(T0, tick=False):
        ana, me = requested(client, program, "ana@example.org", name="Ana Ruiz")
        cy, _ = requested(client, program, "cy@example.org", name="Cy Park")
        client.post(f"/api/v1/intakes/{ana}/appointment", json={"starts_at": "2030-10-08T13:00:00Z"}, headers=me)
        not_hers = client.post(
            f"/api/v1/intakes/{cy}/outcome", json={"outcome": "approved"}, headers=auth("facilitator")
        )
        assert not_hers.status_code == 403
        other = client.post(
            f"/api/v1/intakes/{ana}/outcome",
            json={"outcome": "approved"},
            headers={"Authorization": f"Bearer {ben.token}"},
        )
        assert other.status_code == 403 and "assessor" in other.json["detail"]
        console = client.application.test_client()
        sign_in(console, ada)
        assert console.get(f"/desk/intakes/{cy}").status_code == 403
        page = text_of(console.get("/desk/availability"))
        assert "Ana Ruiz" in page
        done = post_form(
            console, f"/desk/intakes/{ana}", f"/desk/intakes/{ana}/outcome", {"outcome": "approved", "note": "Ready"}
        )
        assert done.status_code == 303
    assert client.get(f"/api/v1/intakes/{ana}", headers=me).json["status"] == "approved"
