"""Issue 21, a first step: a program admits people openly (enrol, pay) or by intake (a request and an
assessment first). Public enrolment into an intake program's cohort is refused with what to do
instead; staff may still enrol anyone; the cohort page says how to join."""

from tests.helpers import enrol, enrolled


def test_a_program_admits_openly_unless_it_says_intake(client, auth):
    desk = auth("front_desk")
    made = client.post("/api/v1/programs", json={"name": "Skills group"}, headers=desk)
    assert made.status_code == 201 and made.json["admission"] == "open"
    changed = client.patch(f"/api/v1/programs/{made.json['id']}", json={"admission": "intake"}, headers=desk)
    assert changed.status_code == 200 and changed.json["admission"] == "intake"
    wrong = client.patch(f"/api/v1/programs/{made.json['id']}", json={"admission": "invite"}, headers=desk)
    assert wrong.status_code == 422 and "intake" in wrong.json["errors"]["admission"][0]


def test_the_public_cannot_enrol_in_an_intake_program_and_staff_still_can(client, auth, make_program, make_cohort):
    cohort = make_cohort(program=make_program(admission="intake"), price_amount=0)
    refused = enrol(client, cohort, "sam@example.org")
    assert refused.status_code == 409 and "request a place" in refused.json["detail"]
    assert f"/programs/{cohort.program_id}/intake-requests" in refused.json["detail"]
    by_desk = enrolled(client, cohort, "sam@example.org", headers=auth("front_desk"))
    assert by_desk["status"] == "confirmed"


def test_the_cohort_page_of_an_intake_program_says_how_to_join_instead_of_a_form(client, make_program, make_cohort):
    cohort = make_cohort(program=make_program(admission="intake"))
    page = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert "How to join" in page and "assessment" in page and "+1 555 0100" in page
    assert "Reserve a seat" not in page and "Join the waitlist" not in page
    open_page = client.get(f"/cohorts/{make_cohort().id}").get_data(as_text=True)
    assert "Reserve a seat" in open_page
