"""Every list endpoint runs the same number of queries for 3 rows as for 15 (eager loading, no N+1)."""

import pytest

from scheduler.enrolment import self_service, staff_actions
from tests.helpers import QueryCounter, enrolled

SIZES = (3, 15)


def _count(client, url, headers, expected_rows):
    with QueryCounter() as queries:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    if expected_rows is not None:
        assert len(response.get_json()) == expected_rows
    return queries.count


@pytest.fixture
def desk(make_staff):
    member, token = make_staff("front_desk", name="Dana Desk")
    return member, {"Authorization": f"Bearer {token}"}


def test_cohort_lists_public_and_staff(client, make_program, make_cohort, make_staff, desk):
    _, headers = desk
    counts = {}
    for size in SIZES:
        program = make_program(name=f"Program {size}")
        facilitator, _ = make_staff("facilitator")
        for _ in range(size):
            make_cohort(program=program, facilitator_ids=[facilitator.id])
        url = f"/api/v1/cohorts?program_id={program.id}"
        counts[size] = (_count(client, url, {}, size), _count(client, url, headers, size))
    assert counts[SIZES[0]] == counts[SIZES[1]]


def test_programs_and_staff_lists(client, make_program, make_staff, desk):
    admin, admin_token = make_staff("admin")
    counts = {}
    for size in SIZES:
        for _ in range(size):
            make_program()
            make_staff("facilitator")
        page = f"page_size={size}"
        counts[size] = (
            _count(client, f"/api/v1/programs?{page}", desk[1], size),
            _count(client, f"/api/v1/staff?{page}", {"Authorization": f"Bearer {admin_token}"}, size),
        )
    assert counts[SIZES[0]] == counts[SIZES[1]]


def test_enrolment_search_roster_waitlist_audit_and_messages(client, make_cohort, desk):
    member, headers = desk
    counts = {}
    for size in SIZES:
        cohort = make_cohort(capacity=size, price_amount=100)
        people = []
        for i in range(size * 2):  # half hold seats, half wait
            people.append(enrolled(client, cohort, f"p{size}-{i}@example.org", f"P {i}"))
        for person in people[: size // 2]:  # some paid at the desk: audit entries with staff names
            staff_actions.confirm(person["id"], {"method": "cash", "amount": 100}, member)
        first = people[0]["id"]
        counts[size] = (
            _count(client, f"/api/v1/enrolments?cohort_id={cohort.id}&page_size=200", headers, size * 2),
            _count(client, f"/api/v1/cohorts/{cohort.id}/roster", headers, size),
            _count(client, f"/api/v1/cohorts/{cohort.id}/roster.csv", headers, None),
            _count(client, f"/api/v1/cohorts/{cohort.id}/waitlist", headers, size),
            _count(client, "/api/v1/audit?page_size=200", headers, None),
            _count(client, f"/api/v1/enrolments/{first}/messages", headers, None),
        )
    assert counts[SIZES[0]] == counts[SIZES[1]]


def test_refund_and_discount_code_lists(client, make_cohort, desk):
    member, headers = desk
    counts = {}
    for size in SIZES:
        cohort = make_cohort(capacity=size, price_amount=100)
        for i in range(size):
            person = enrolled(client, cohort, f"r{size}-{i}@example.org", f"P {i}")
            staff_actions.confirm(person["id"], {"method": "cash", "amount": 100}, member)
            self_service.withdraw(person["id"], member)  # a refund the desk owes
            client.post("/api/v1/discount-codes", json={"code": f"C{size}X{i}", "percent_off": 5}, headers=headers)
        counts[size] = (
            _count(client, f"/api/v1/refunds?status=owed_by_front_desk&page_size={size}", headers, size),
            _count(client, f"/api/v1/discount-codes?page_size={size}", headers, size),
        )
    assert counts[SIZES[0]] == counts[SIZES[1]]
