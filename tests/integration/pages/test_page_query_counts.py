"""The public cohort page and the participant page run a number of queries that does not grow with
what they show (issue 23): sessions, the people in the cohort, a person's attendance.

Each page is measured with little and with much; the SQL statement counts must be equal (a query per
session or per person would show as a difference).
"""

from scheduler.attendance.models import AttendanceRecord
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db
from tests.helpers import QueryCounter


def _count(client, path: str, shows: str = "") -> int:
    client.get(path)  # warm: caches
    db.session.rollback()
    with QueryCounter() as counter:
        answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code)
    assert shows in answer.get_data(as_text=True)  # the page measured shows the rows
    return counter.count


def _cohort(make_program, make_cohort, make_enrolment, sessions: int, people: int):
    program = make_program(default_session_count=sessions)
    cohort = make_cohort(program=program, capacity=people + 1)
    for _ in range(people):
        make_enrolment(cohort)
    return cohort


def _participant_path(client, enrolment) -> str:
    # The first visit with the token sets the person's cookie; the page is then read without it.
    client.get(f"/me/{enrolment.id}?token={enrolment.manage_token}")
    return f"/me/{enrolment.id}"


def _attended_all(enrolment) -> None:
    with write_transaction():
        for session in enrolment.cohort.sessions:
            db.session.add(
                AttendanceRecord(session_id=session.id, enrolment_id=enrolment.id, status="present", source="staff")
            )


def test_a_cohort_page_queries_do_not_grow_with_its_sessions_and_people(
    client, make_program, make_cohort, make_enrolment
):
    small = _cohort(make_program, make_cohort, make_enrolment, sessions=4, people=1)
    large = _cohort(make_program, make_cohort, make_enrolment, sessions=24, people=40)
    large_page = _count(client, f"/cohorts/{large.id}", shows="Session 24")
    assert large_page == _count(client, f"/cohorts/{small.id}", shows="Session 4")


def test_a_participant_page_queries_do_not_grow_with_the_sessions_and_attendance(
    app, make_program, make_cohort, make_enrolment
):
    small = _cohort(make_program, make_cohort, make_enrolment, sessions=4, people=0)
    large = _cohort(make_program, make_cohort, make_enrolment, sessions=24, people=40)
    few = make_enrolment(small, amount_paid=36000)
    many = make_enrolment(large, amount_paid=36000)
    _attended_all(many)
    one, other = app.test_client(), app.test_client()  # a browser each: one person's cookie apiece
    large_page = _count(other, _participant_path(other, many), shows="Session 24, ")
    assert large_page == _count(one, _participant_path(one, few))
