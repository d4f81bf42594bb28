"""A person with attended group and individual sessions, for the statement of services' tests
(the HTML statement in test_statement.py, the PDF in test_statement_pdf.py)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import time_machine

from scheduler.staff.services import create_staff, update_staff
from tests.helpers import enrolled

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2030, 10, 30, tzinfo=UTC)  # after every session and the individual one


@dataclass(frozen=True)
class Attended:
    person: dict  # the enrolment as staff enrolled it, with manage_token and manage_url
    other: dict  # someone else, in another cohort
    cohort: object
    desk: dict  # a front-desk member's headers


@pytest.fixture
def person_name() -> str:
    """The attending person's name (a test module may override this fixture)."""
    return "Ana Ruiz"


@pytest.fixture
def attended(app, client, auth, make_program, make_cohort, person_name):
    """`person_name` in a 3-session group from Thursday October 3, 2030 ($300, paid by check; Fran
    Facil, NPI 1111111112, facilitates): present on the 3rd, absent on the 10th, late on the 17th;
    and one individual session ($150) with Dr Tess Hart (NPI 2222222224) on Tuesday October 8,
    present. The clinic's tax id is 12-3456789 and its NPI 1234567893. The clock stays on
    2030-10-30 while the test runs."""
    app.config.update(CLINIC_TAX_ID="12-3456789", CLINIC_NPI="1234567893")
    desk = auth("front_desk")
    fran = create_staff("fran@staff.test", "Fran Facil", "facilitator").member
    update_staff(fran.id, {"npi": "1111111112"}, None)
    tess = create_staff("tess@staff.test", "Dr Tess Hart", "facilitator").member
    update_staff(tess.id, {"npi": "2222222224"}, None)
    program = make_program(individual_fee_amount=15000)
    cohort = make_cohort(
        program=program, session_count=3, price_amount=30000, start_date=date(2030, 10, 3), facilitator_ids=[fran.id]
    )
    with time_machine.travel(T0, tick=False) as traveller:
        person = enrolled(
            client,
            cohort,
            "ana@example.org",
            person_name,
            headers=desk,
            desk_payment={"method": "check", "amount": 30000, "reference": "chk 1"},
        )
        [alone] = client.post(
            f"/api/v1/enrolments/{person['id']}/individual-series",
            json={
                "staff_id": tess.id,
                "weekday": "tuesday",
                "start_time": "10:00",
                "timezone": "America/New_York",
                "start_date": "2030-10-08",
                "count": 1,
                "duration_minutes": 50,
            },
            headers=desk,
        ).json
        other = enrolled(client, make_cohort(price_amount=0), "ben@example.org", headers=desk)
        traveller.move_to(LATER)
        sessions = client.get(f"/api/v1/cohorts/{cohort.id}", headers=desk).json["sessions"]
        for session, status in zip(sessions, ("present", "absent", "late"), strict=True):
            records = {"records": [{"enrolment_id": person["id"], "status": status}]}
            answer = client.put(f"/api/v1/sessions/{session['id']}/attendance", json=records, headers=desk)
            assert answer.status_code == 200, answer.json
        answer = client.put(f"/api/v1/appointments/{alone['id']}/attendance", json={"status": "present"}, headers=desk)
        assert answer.status_code == 200, answer.json
        yield Attended(person=person, other=other, cohort=cohort, desk=desk)
