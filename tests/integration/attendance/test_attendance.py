"""Attendance over HTTP: recording sessions, the missed-sessions rule and its one email per crossing,
who may mark what, what a participant sees, rosters, completion and the attendance letter."""

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from tests.helpers import QueryCounter, bearer

CODES = {"P": "present", "L": "late", "A": "absent", "E": "excused"}


def mark(client, session, marks: dict, headers, minutes=10):
    """PUT a session's attendance as staff would, a few minutes after it started."""
    with time_machine.travel(session.starts_at + timedelta(minutes=minutes), tick=False):
        return client.put(
            f"/api/v1/sessions/{session.id}/attendance",
            json={"records": [{"enrolment_id": e.id, "status": s} for e, s in marks.items()]},
            headers=headers,
        )


def flag_emails():
    db.session.rollback()
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "attendance_flag").order_by(OutboxMessage.to_address)
    ).all()


@pytest.fixture
def team(make_staff):
    """A front desk member, an admin, the cohort's facilitator and another cohort's facilitator."""
    desk, desk_token = make_staff("front_desk", name="Dana Desk")
    admin, admin_token = make_staff("admin")
    mine, mine_token = make_staff("facilitator", name="Fay Facilitator")
    other, other_token = make_staff("facilitator", name="Otto Other")
    return {
        "desk": (desk, bearer(desk_token)),
        "admin": (admin, bearer(admin_token)),
        "facilitator": (mine, bearer(mine_token)),
        "other": (other, bearer(other_token)),
    }


@pytest.fixture
def group(make_program, make_cohort, team):
    def make(**program_settings):
        program = make_program(name="DBT Skills Group", price_amount=0, **program_settings)
        return make_cohort(program=program, price_amount=0, facilitator_ids=[team["facilitator"][0].id])

    return make


@pytest.mark.parametrize(
    ("sequence", "excused_counts", "flagged", "run"),
    [
        ("A A A A", False, True, 4),
        ("A A A", False, False, 3),
        ("A A P A A", False, False, 2),  # one attended session resets the count
        ("A A L A A", False, False, 2),  # late is attended
        ("A A E A A", False, True, 4),  # an excused week neither adds nor resets
        ("A A E A", False, False, 3),
        ("A A E A", True, True, 4),  # the program counts excused as missed
        ("A A X A", False, False, 3),  # X: the session was cancelled, it does not count
        ("A A X A A", False, True, 4),
        ("A A A A P", False, True, 0),  # a flag stays until staff clear it: nothing happens by itself
    ],
)
def test_the_rule_flags_and_notifies_once(client, team, group, make_enrolment, sequence, excused_counts, flagged, run):
    cohort = group(excused_counts_as_missed=excused_counts)
    person, other = make_enrolment(cohort), make_enrolment(cohort)
    desk = team["desk"][1]
    for session, code in zip(cohort.sessions, sequence.split(), strict=False):
        if code == "X":
            with time_machine.travel(session.starts_at - timedelta(days=1), tick=False):
                cancelled = client.patch(f"/api/v1/sessions/{session.id}", json={"status": "cancelled"}, headers=desk)
            assert cancelled.status_code == 200
            continue
        response = mark(client, session, {person: CODES[code], other: "present"}, team["facilitator"][1])
        assert response.status_code == 200, response.json
    grid = client.get(f"/api/v1/cohorts/{cohort.id}/attendance", headers=desk).json
    mine = next(row for row in grid if row["enrolment_id"] == person.id)
    assert (mine["attendance_flag"] is not None, mine["consecutive_missed"]) == (flagged, run)
    assert next(row for row in grid if row["enrolment_id"] == other.id)["attendance_flag"] is None
    # Flagged: one email to the front desk and one to the cohort's facilitator; nobody else.
    expected = {team["desk"][0].email, team["facilitator"][0].email} if flagged else set()
    assert sorted(m.to_address for m in flag_emails()) == sorted(expected)


def test_one_email_per_crossing_neutral_and_addressed_to_staff_only(client, team, group, make_enrolment):
    cohort = group()
    person = make_enrolment(cohort, name="Sam Rivera")
    for session in cohort.sessions[:6]:
        assert mark(client, session, {person: "absent"}, team["desk"][1]).status_code == 200
    # Marking the same sheet again changes nothing and sends nothing.
    assert mark(client, cohort.sessions[5], {person: "absent"}, team["desk"][1], minutes=30).status_code == 200
    emails = flag_emails()
    assert len(emails) == 2 and {m.staff_id for m in emails} == {team["desk"][0].id, team["facilitator"][0].id}
    for email in emails:
        assert email.subject == "Attendance follow-up needed · Test Clinic"
        assert "Sam" not in email.subject and "DBT" not in email.subject
        assert "Sam Rivera" in email.body_text and "4 sessions in a row" in email.body_text
        assert "DBT" not in email.body_text + email.body_html  # the program's name may name a diagnosis
        assert f"/desk/enrolments/{person.id}" in email.body_text
        assert email.enrolment_id == person.id
    # The participant's own message list does not show staff mail about them.
    listed = client.get(f"/api/v1/enrolments/{person.id}/messages", headers=team["desk"][1]).json
    assert [m["kind"] for m in listed if m["kind"] == "attendance_flag"] == []


def test_the_follow_up_speaks_each_members_language_group_and_day_included(client, team, group, make_enrolment):
    from scheduler.staff.services import choose_language

    choose_language(team["facilitator"][0], "es")
    cohort = group()
    person = make_enrolment(cohort, name="Sam Rivera")
    mark(client, cohort.sessions[0], {person: "present"}, team["desk"][1])
    for session in cohort.sessions[1:5]:
        assert mark(client, session, {person: "absent"}, team["desk"][1]).status_code == 200
    english, spanish = sorted(flag_emails(), key=lambda m: m.staff_id != team["desk"][0].id)
    assert "in the Thursday 6:00 PM group (America/New_York time) that started on October 3, 2030" in (
        english.body_text
    )
    assert "They last attended on Thursday, October 3, 2030." in english.body_text
    assert spanish.subject == "Se necesita seguimiento de asistencia · Test Clinic"
    assert "en el grupo de los jueves a las 18:00 (hora de America/New_York) que empezó el 3 de octubre de 2030" in (
        spanish.body_text
    )
    assert "Asistió por última vez el jueves, 3 de octubre de 2030." in spanish.body_text


def test_clearing_with_a_note_then_crossing_again_notifies_again(client, team, group, make_enrolment):
    cohort = group()
    person = make_enrolment(cohort)
    desk = team["desk"][1]
    clear = f"/api/v1/enrolments/{person.id}/attendance-flag/clear"
    assert client.post(clear, json={"note": "Called"}, headers=desk).status_code == 409  # nothing to clear
    for session in cohort.sessions[:4]:
        mark(client, session, {person: "absent"}, desk)
    assert len(flag_emails()) == 2

    assert client.post(clear, json={"note": "  "}, headers=desk).json["errors"].keys() == {"note"}
    assert client.post(clear, json={"note": "x"}, headers=team["facilitator"][1]).status_code == 403
    with time_machine.travel(cohort.sessions[3].ends_at + timedelta(days=1), tick=False):
        cleared = client.post(clear, json={"note": "Spoke on the phone; back next week."}, headers=desk)
    assert cleared.status_code == 200
    assert (cleared.json["attendance_flag"], cleared.json["consecutive_missed"]) == (None, 4)
    audit = client.get(f"/api/v1/audit?enrolment_id={person.id}", headers=desk).json
    [entry] = [a for a in audit if a["action"] == "attendance_flag_cleared"]
    assert entry["staff_id"] == team["desk"][0].id and entry["after"]["note"] == "Spoke on the phone; back next week."

    # The same run going on is not a new crossing until four more misses after the clearing.
    for session in cohort.sessions[4:7]:
        mark(client, session, {person: "absent"}, desk)
    assert len(flag_emails()) == 2
    mark(client, cohort.sessions[7], {person: "absent"}, desk)
    assert len(flag_emails()) == 4

    client.post(clear, json={"note": "Second call."}, headers=desk)
    mark(client, cohort.sessions[8], {person: "present"}, desk)  # a reset, then a new run
    for session in cohort.sessions[9:12]:
        mark(client, session, {person: "absent"}, desk)
    assert len(flag_emails()) == 4  # three misses: below the limit
    grid = client.get(f"/api/v1/cohorts/{cohort.id}/attendance", headers=desk).json
    assert (grid[0]["consecutive_missed"], grid[0]["attendance_flag"]) == (3, None)


def test_the_limit_is_a_program_setting_and_zero_turns_it_off(client, auth, team, group, make_enrolment):
    created = client.post("/api/v1/programs", json={"name": "P"}, headers=auth("admin")).json
    assert (created["missed_sessions_limit"], created["excused_counts_as_missed"]) == (4, False)
    assert created["completion_min_sessions"] is None
    for wrong in ({"missed_sessions_limit": -1}, {"excused_counts_as_missed": "yes"}, {"completion_min_sessions": 0}):
        refused = client.patch(f"/api/v1/programs/{created['id']}", json=wrong, headers=auth("admin"))
        assert refused.status_code == 422 and set(refused.json["errors"]) == set(wrong)
    changed = client.patch(
        f"/api/v1/programs/{created['id']}",
        json={"missed_sessions_limit": 0, "excused_counts_as_missed": True, "completion_min_sessions": 6},
        headers=auth("admin"),
    ).json
    assert (changed["missed_sessions_limit"], changed["excused_counts_as_missed"]) == (0, True)
    assert changed["completion_min_sessions"] == 6

    cohort = group(missed_sessions_limit=0)
    person = make_enrolment(cohort)
    for session in cohort.sessions[:6]:
        mark(client, session, {person: "absent"}, team["desk"][1])
    assert flag_emails() == []


def test_facilitators_mark_only_their_own_cohorts(client, team, group, make_enrolment, make_cohort):
    cohort, elsewhere = group(), make_cohort(price_amount=0)
    mine, theirs = make_enrolment(cohort), make_enrolment(elsewhere)
    facilitator, other = team["facilitator"][1], team["other"][1]
    assert mark(client, cohort.sessions[0], {mine: "present"}, facilitator).status_code == 200
    assert mark(client, cohort.sessions[0], {mine: "absent"}, other).status_code == 404
    assert mark(client, elsewhere.sessions[0], {theirs: "present"}, facilitator).status_code == 404
    assert client.get(f"/api/v1/cohorts/{elsewhere.id}/attendance", headers=facilitator).status_code == 404
    assert client.get(f"/api/v1/sessions/{elsewhere.sessions[0].id}/attendance", headers=facilitator).status_code == 404
    assert mark(client, elsewhere.sessions[0], {theirs: "present"}, team["desk"][1]).status_code == 200
    assert mark(client, elsewhere.sessions[0], {theirs: "late"}, team["admin"][1]).status_code == 200
    as_participant = bearer(mine.manage_token)
    assert mark(client, cohort.sessions[0], {mine: "present"}, as_participant).status_code == 401
    sheet = client.get(f"/api/v1/sessions/{cohort.sessions[0].id}/attendance", headers=facilitator).json
    assert [(r["enrolment_id"], r["status"], r["recorded_by_name"]) for r in sheet["records"]] == [
        (mine.id, "present", "Fay Facilitator")
    ]


def test_what_cannot_be_marked(client, team, group, make_enrolment, make_cohort):
    cohort = group()
    person = make_enrolment(cohort)
    waiting = make_enrolment(cohort, status="waitlisted")
    elsewhere = make_enrolment(make_cohort(price_amount=0))
    first, second = cohort.sessions[0], cohort.sessions[1]
    desk = team["desk"][1]
    url = f"/api/v1/sessions/{second.id}/attendance"
    with time_machine.travel(second.starts_at - timedelta(minutes=1), tick=False):
        early = client.put(url, json={"records": [{"enrolment_id": person.id, "status": "present"}]}, headers=desk)
    assert early.status_code == 409 and "started" in early.json["detail"]

    bad = mark(
        client,
        first,
        {person: "present", waiting: "present", elsewhere: "absent"},
        desk,
    )
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"records.1.enrolment_id", "records.2.enrolment_id"}
    assert waiting.id in bad.json["errors"]["records.1.enrolment_id"][0]
    with time_machine.travel(first.starts_at + timedelta(minutes=5), tick=False):
        twice = client.put(
            f"/api/v1/sessions/{first.id}/attendance",
            json={"records": [{"enrolment_id": person.id, "status": "present"}] * 2},
            headers=desk,
        )
        unknown = client.put(
            f"/api/v1/sessions/{first.id}/attendance",
            json={"records": [{"enrolment_id": "enr_nope", "status": "sick"}]},
            headers=desk,
        )
        empty = client.put(f"/api/v1/sessions/{first.id}/attendance", json={"records": []}, headers=desk)
    assert set(twice.json["errors"]) == {"records.1.enrolment_id"}
    assert set(unknown.json["errors"]) == {"records.0.status"}
    assert empty.status_code == 422 and set(empty.json["errors"]) == {"records"}
    assert client.put("/api/v1/sessions/ses_nope/attendance", json={"records": []}, headers=desk).status_code in (
        404,
        422,
    )
    client.patch(f"/api/v1/sessions/{second.id}", json={"status": "cancelled"}, headers=desk)
    assert mark(client, second, {person: "present"}, desk).status_code == 409
    # Nothing half-written by the refused requests.
    sheet = client.get(f"/api/v1/sessions/{first.id}/attendance", headers=desk).json
    assert [r["status"] for r in sheet["records"]] == [None]


def test_a_participant_sees_only_their_own_attendance(client, team, group, make_enrolment):
    cohort = group()
    me, you = make_enrolment(cohort), make_enrolment(cohort)
    mark(client, cohort.sessions[0], {me: "present", you: "absent"}, team["desk"][1])
    mark(client, cohort.sessions[1], {me: "excused", you: "absent"}, team["desk"][1])
    with time_machine.travel(cohort.sessions[1].ends_at, tick=False):
        seen = client.get(f"/api/v1/enrolments/{me.id}", headers=bearer(me.manage_token)).json
        assert client.get(f"/api/v1/enrolments/{you.id}", headers=bearer(me.manage_token)).status_code == 404
        assert client.get(f"/api/v1/cohorts/{cohort.id}/attendance", headers=bearer(me.manage_token)).status_code == 401
        staff_view = client.get(f"/api/v1/enrolments/{you.id}", headers=team["desk"][1]).json
    assert [a["status"] for a in seen["attendance"]][:3] == ["present", "excused", None]
    assert len(seen["attendance"]) == 12 and "completed" not in seen  # the cohort has not ended
    assert not {"consecutive_missed", "attendance_flag", "meeting_url"} & set(seen)
    assert (staff_view["consecutive_missed"], staff_view["attendance_flag"]) == (2, None)


def test_roster_json_and_csv_show_attendance_per_session_and_the_run(client, team, group, make_enrolment):
    cohort = group()
    me, you = make_enrolment(cohort), make_enrolment(cohort)
    mark(client, cohort.sessions[0], {me: "present", you: "absent"}, team["desk"][1])
    mark(client, cohort.sessions[1], {me: "late", you: "absent"}, team["desk"][1])
    for who in ("desk", "facilitator"):
        roster = client.get(f"/api/v1/cohorts/{cohort.id}/roster", headers=team[who][1]).json
        rows = {r["id"]: r for r in roster}
        assert [a["status"] for a in rows[you.id]["attendance"][:3]] == ["absent", "absent", None]
        assert (rows[you.id]["consecutive_missed"], rows[me.id]["consecutive_missed"]) == (2, 0)
    exported = client.get(f"/api/v1/cohorts/{cohort.id}/roster.csv", headers=team["desk"][1])
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(exported.get_data(as_text=True)))}
    assert (rows[me.id]["session_1"], rows[me.id]["session_2"], rows[me.id]["session_3"]) == ("present", "late", "")
    assert rows[you.id]["consecutive_missed"] == "2" and "session_12" in rows[you.id]
    assert "attendance" not in rows[you.id]


def test_completion_when_the_cohort_ends_and_the_attendance_letter(client, team, group, make_enrolment):
    cohort = group(completion_min_sessions=3)
    done, short = make_enrolment(cohort, name="Sam Rivera"), make_enrolment(cohort)
    for session, status in zip(cohort.sessions[:3], ("present", "late", "present"), strict=True):
        mark(client, session, {done: status, short: "absent"}, team["desk"][1])
    mark(client, cohort.sessions[3], {short: "present"}, team["desk"][1])

    letter_path = f"/api/v1/enrolments/{done.id}/attendance-letter"
    with time_machine.travel(cohort.sessions[3].ends_at, tick=False):
        letter = client.get(letter_path, headers=bearer(done.manage_token))
        assert "completed" not in client.get(f"/api/v1/enrolments/{done.id}", headers=bearer(done.manage_token)).json
    assert letter.status_code == 200 and letter.mimetype == "text/html"
    assert letter.headers["Cache-Control"] == "no-store"
    page = letter.get_data(as_text=True)
    assert "Sam Rivera" in page and "DBT Skills Group" in page and "Test Clinic" in page
    listed = re.findall(r"<li>(.*?)</li>", page)
    assert listed == ["Thursday, October 3, 2030", "Thursday, October 10, 2030", "Thursday, October 17, 2030"]
    assert "completed the program" not in page

    with time_machine.travel(cohort.sessions[-1].ends_at + timedelta(minutes=1), tick=False):
        mine = client.get(f"/api/v1/enrolments/{done.id}", headers=bearer(done.manage_token)).json
        theirs = client.get(f"/api/v1/enrolments/{short.id}", headers=team["desk"][1]).json
        final = client.get(letter_path, headers=team["desk"][1]).get_data(as_text=True)
        assert client.get(letter_path, headers=bearer(short.manage_token)).status_code == 404  # not theirs
        assert client.get(letter_path, headers=team["facilitator"][1]).status_code == 403
    assert (mine["completed"], theirs["completed"]) == (True, False)
    assert "completed the program" in final

    nothing = make_enrolment(cohort)
    refused = client.get(f"/api/v1/enrolments/{nothing.id}/attendance-letter", headers=bearer(nothing.manage_token))
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"


def test_the_attendance_grid_and_sheet_run_a_constant_number_of_queries(
    client, team, make_program, make_cohort, make_enrolment
):
    counts = {}
    for people, sessions in ((3, 4), (9, 12)):
        program = make_program(price_amount=0)
        cohort = make_cohort(program=program, price_amount=0, session_count=sessions, capacity=20)
        enrolled = [make_enrolment(cohort) for _ in range(people)]
        for session in cohort.sessions:
            mark(
                client, session, {e: "absent" if i % 2 else "present" for i, e in enumerate(enrolled)}, team["desk"][1]
            )
        with time_machine.travel(cohort.sessions[-1].ends_at, tick=False):
            with QueryCounter() as grid:
                assert (
                    len(client.get(f"/api/v1/cohorts/{cohort.id}/attendance", headers=team["desk"][1]).json) == people
                )
            with QueryCounter() as sheet:
                client.get(f"/api/v1/sessions/{cohort.sessions[-1].id}/attendance", headers=team["desk"][1])
            with QueryCounter() as roster:
                client.get(f"/api/v1/cohorts/{cohort.id}/roster", headers=team["desk"][1])
            with QueryCounter() as marking:
                mark(client, cohort.sessions[-1], dict.fromkeys(enrolled, "late"), team["desk"][1], minutes=20)
        counts[people] = (grid.count, sheet.count, roster.count, marking.count)
    assert counts[3] == counts[9]
