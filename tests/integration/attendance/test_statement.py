"""Issue 25: the statement of services (superbill). It lists exactly the attended dates of service,
group and individual, with the program's CPT codes, units, fees, the rendering clinicians and NPIs,
the payments and the clinic's ids; diagnosis codes staff entered show on it and nowhere else."""

from sqlalchemy import select

from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from tests.desk_support import post_form, sign_in, text_of
from tests.helpers import bearer, enrolled

CODE = "F43.10"


def test_the_statement_lists_exactly_the_attended_dates_with_codes_and_the_diagnosis_nowhere_else(
    client, auth, make_staff, attended
):
    person, other, cohort, desk = attended.person, attended.other, attended.cohort, attended.desk
    wrong = client.put(
        f"/api/v1/enrolments/{person['id']}/diagnosis-codes", json={"diagnosis_codes": ["depression"]}, headers=desk
    )
    assert wrong.status_code == 422 and "F43.10" in str(wrong.json["errors"])
    assert (
        client.put(
            f"/api/v1/enrolments/{person['id']}/diagnosis-codes",
            json={"diagnosis_codes": [CODE]},
            headers=auth("facilitator"),
        ).status_code
        == 403
    )
    saved = client.put(
        f"/api/v1/enrolments/{person['id']}/diagnosis-codes", json={"diagnosis_codes": [CODE]}, headers=desk
    )
    assert saved.status_code == 200 and saved.json == {"diagnosis_codes": [CODE]}

    mine = client.get(f"/api/v1/enrolments/{person['id']}/statement", headers=bearer(person["manage_token"]))
    assert mine.status_code == 200 and mine.mimetype == "text/html"
    text = text_of(mine)
    assert "Thursday, October 3, 2030 Group psychotherapy 90853 1 $100.00 Fran Facil 1111111112" in text
    assert "Tuesday, October 8, 2030 Individual psychotherapy 90837 1 $150.00 Dr Tess Hart 2222222224" in text
    assert "Thursday, October 17, 2030 Group psychotherapy 90853" in text  # late counts as attended
    assert "October 10" not in text  # absent: not a date of service
    assert "Total charges $350.00" in text and "$300.00" in text  # paid by check
    assert CODE in text and "12-3456789" in text and "1234567893" in text and "1 Example Street" in text
    window = client.get(
        f"/api/v1/enrolments/{person['id']}/statement",
        query_string={"from": "2030-10-05T00:00:00Z", "to": "2030-10-16T00:00:00Z"},
        headers=desk,
    )
    assert "October 8" in text_of(window) and "October 3" not in text_of(window)
    assert (
        client.get(f"/api/v1/enrolments/{person['id']}/statement", headers=bearer(other["manage_token"])).status_code
        == 404
    )

    # The diagnosis code appears nowhere else: every other answer about this person, and every email.
    console = client.application.test_client()
    sign_in(console, make_staff("front_desk")[0])
    page = console.get(f"/desk/enrolments/{person['id']}/statement")
    assert CODE in page.get_data(as_text=True)
    link = client.get(person["manage_url"].split("scheduler.test", 1)[1])
    feed = client.get(f"/api/v1/enrolments/{person['id']}", headers=bearer(person["manage_token"])).json["calendar_url"]
    others = [
        client.get(f"/api/v1/enrolments/{person['id']}", headers=desk),
        client.get(f"/api/v1/enrolments/{person['id']}", headers=bearer(person["manage_token"])),
        client.get(f"/api/v1/cohorts/{cohort.id}/roster", headers=desk),
        client.get(f"/api/v1/cohorts/{cohort.id}/roster.csv", headers=desk),
        client.get(f"/api/v1/enrolments/{person['id']}/appointments", headers=desk),
        client.get("/api/v1/participants/export", query_string={"email": "ana@example.org"}, headers=desk),
        client.get(f"/api/v1/audit?enrolment_id={person['id']}", headers=desk),
        client.get(f"/api/v1/cohorts/{cohort.id}/attendance", headers=desk),
        client.get(feed.split("scheduler.test", 1)[1]),
        console.get(f"/desk/enrolments/{person['id']}"),
        console.get(f"/desk/cohorts/{cohort.id}"),
        link,
        client.get(f"/me/{person['id']}"),
    ]
    for answer in others:
        assert answer.status_code in (200, 303), (answer.request.path, answer.status_code)
        assert CODE not in answer.get_data(as_text=True), answer.request.path
    db.session.rollback()
    mail = db.session.scalars(select(OutboxMessage)).all()
    assert mail and not any(CODE in (m.body_text + m.body_html + m.subject) for m in mail)


def test_the_desk_enters_the_codes_on_the_statement_page(client, auth, make_cohort, make_staff):
    person = enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=auth("front_desk"))
    console = client.application.test_client()
    sign_in(console, make_staff("front_desk")[0])
    page = f"/desk/enrolments/{person['id']}/statement"
    wrong = post_form(console, page, page, {"diagnosis_codes": "F43.10\nnot a code"})
    assert wrong.status_code == 422 and "An ICD-10 code looks like F43.10" in text_of(wrong)
    saved = post_form(console, page, page, {"diagnosis_codes": "f43.10\nF33.1"})
    assert saved.status_code == 303
    shown = text_of(console.get(page))
    assert "F43.10" in shown and "F33.1" in shown and "they show on this statement only" in shown


def test_a_program_sets_its_cpt_codes_and_a_clinician_their_npi(client, auth, make_program, make_staff):
    program = make_program()
    admin = auth("admin")
    assert client.get(f"/api/v1/programs/{program.id}", headers=admin).json["group_cpt_code"] == "90853"
    short = client.patch(f"/api/v1/programs/{program.id}", json={"individual_cpt_code": "9083"}, headers=admin)
    assert short.status_code == 422 and "five characters" in short.json["errors"]["individual_cpt_code"][0]
    assert (
        client.patch(f"/api/v1/programs/{program.id}", json={"individual_cpt_code": "90834"}, headers=admin).json[
            "individual_cpt_code"
        ]
        == "90834"
    )
    member, _ = make_staff("facilitator")
    bad = client.patch(f"/api/v1/staff/{member.id}", json={"npi": "12345"}, headers=admin)
    assert bad.status_code == 422 and "ten digits" in bad.json["errors"]["npi"][0]
    assert (
        client.patch(f"/api/v1/staff/{member.id}", json={"npi": "1234567893"}, headers=admin).json["npi"]
        == "1234567893"
    )


def test_a_period_open_at_one_end_reads_as_a_whole_sentence_in_each_language(app):
    """The statement's Period line: "from the start" and "to today" are sentences of their own, so that
    Spanish never reads "del el inicio al hoy"."""
    from types import SimpleNamespace

    from flask_babel import force_locale

    from scheduler.attendance.statements import Statement

    def period(start, end, language):
        with app.test_request_context(), force_locale(language):
            return Statement.period_text.fget(SimpleNamespace(period=(start, end)))

    assert period("2030-10-05", "2030-10-16", "en") == "2030-10-05 to 2030-10-16"
    assert period("2030-10-05", "2030-10-16", "es") == "del 2030-10-05 al 2030-10-16"
    assert period("2030-10-05", None, "en") == "2030-10-05 to today"
    assert period("2030-10-05", None, "es") == "desde el 2030-10-05 hasta hoy"
    assert period(None, "2030-10-16", "en") == "From the start to 2030-10-16"
    assert period(None, "2030-10-16", "es") == "Desde el inicio hasta el 2030-10-16"
