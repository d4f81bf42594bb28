"""Issue 21 on the pages: Request a place from an intake program's cohort page, Check your email,
the person's intake page from the emailed link, and withdrawing with a confirmation step."""

import re

from tests.helpers import cohort_form, handle_inbox
from tests.integration.admission.test_intakes import LINK, mail_to


def request_form(client, cohort, **values):
    form = {**cohort_form(client, cohort), "name": "Ana Ruiz", "email": "ana@example.org", "timezone": "Europe/Madrid"}
    form.update(values)
    return client.post(f"/cohorts/{cohort.id}/request-place", data=form)


def open_emailed_link(client, email="ana@example.org") -> str:
    handle_inbox()
    found = LINK.search(mail_to(email, "intake_link")[-1].body_text)
    opened = client.get(f"/me/intakes/{found[1]}?token={found[2]}")
    assert opened.status_code == 303 and "token=" not in opened.headers["Location"]
    return found[1]


def test_request_a_place_from_the_cohort_page_then_follow_the_emailed_link(client, make_program, make_cohort):
    cohort = make_cohort(program=make_program(admission="intake", name="Emotion skills"))
    page = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert "Request a place" in page and "Reserve a seat" not in page
    sent = request_form(client, cohort)
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/cohorts/{cohort.id}/check-email")
    check = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "ana@example.org" in check and "your request for a place in Emotion skills" in check
    intake_id = open_emailed_link(client)
    mine = client.get(f"/me/intakes/{intake_id}").get_data(as_text=True)
    assert "Your request for a place" in mine and "number 1" in mine and "Withdraw my request" in mine
    # Another browser without the link sees nothing of it.
    assert client.application.test_client().get(f"/me/intakes/{intake_id}").status_code == 403


def test_the_form_says_what_to_fix_and_keeps_what_was_typed(client, make_program, make_cohort):
    cohort = make_cohort(program=make_program(admission="intake"))
    refused = request_form(client, cohort, name="", email="ana@")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Please enter your name." in body and 'value="ana@"' in body
    handle_inbox()
    assert mail_to("ana@example.org") == []


def test_send_it_again_resends_the_intake_link_and_withdrawing_asks_first(client, make_program, make_cohort):
    cohort = make_cohort(program=make_program(admission="intake"))
    request_form(client, cohort)
    intake_id = open_emailed_link(client)
    form = cohort_form(client, cohort)
    again = client.post(
        f"/cohorts/{cohort.id}/check-email", data={"csrf_token": form["csrf_token"], "email": "ana@example.org"}
    )
    assert again.status_code == 303
    handle_inbox()
    links = mail_to("ana@example.org", "intake_link")
    assert len(links) == 2 and "again, as asked" in links[-1].body_text and intake_id in links[-1].body_text
    asking = client.get(f"/me/intakes/{intake_id}/withdraw").get_data(as_text=True)
    assert "Withdraw your request?" in asking and "Confirm withdrawal" in asking
    token = re.search(r'name="csrf_token" value="([^"]+)"', asking)[1]
    done = client.post(f"/me/intakes/{intake_id}/withdraw", data={"csrf_token": token})
    assert done.status_code == 303
    after = client.get(f"/me/intakes/{intake_id}").get_data(as_text=True)
    assert "You have withdrawn your request" in after and "Withdraw my request" not in after


def test_book_a_free_time_on_the_page_then_join_or_change_or_cancel(client, auth, make_program, make_cohort):
    import time_machine

    from tests.integration.admission.test_assessments import T0, assessor

    cohort = make_cohort(program=make_program(admission="intake"))
    assessor(client, auth)
    with time_machine.travel(T0, tick=False):
        request_form(client, cohort)
        intake_id = open_emailed_link(client)
        page = client.get(f"/me/intakes/{intake_id}").get_data(as_text=True)
        assert "Book your assessment" in page and "Times are in Europe/Madrid" in page
        assert "Tuesday, October 8, 2030" in page and "3:00 PM" in page  # 09:00 New York is 15:00 in Madrid
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        first = re.search(r'name="starts_at" value="([^"]+)"', page)[1]
        booked = client.post(f"/me/intakes/{intake_id}/book", data={"csrf_token": token, "starts_at": first})
        assert booked.status_code == 303
        page = client.get(f"/me/intakes/{intake_id}").get_data(as_text=True)
        assert "Your assessment is booked for Tuesday, October 8, 2030 at 3:00 PM" in page
        assert ">Join</a>" in page and "Change or cancel" in page and "Book your assessment" not in page
        change = client.get(f"/me/intakes/{intake_id}/appointment").get_data(as_text=True)
        assert "Move it to another time" in change and "Cancel the appointment" in change
        cancelled = client.post(f"/me/intakes/{intake_id}/appointment/cancel", data={"csrf_token": token})
        assert cancelled.status_code == 303
        page = client.get(f"/me/intakes/{intake_id}").get_data(as_text=True)
        assert "Your appointment is cancelled" in page and "Book your assessment" in page
