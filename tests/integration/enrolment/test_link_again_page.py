"""Issue 22: an old or cut-short link opens a page that lets the person ask for their link again,
even when the clinic has set no phone or email; the answer is the same for every address."""

import re

import pytest

from tests.desk_support import text_of
from tests.helpers import enrolled, handle_inbox
from tests.integration.admission.test_intakes import mail_to

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def person(client, auth, make_cohort):
    return enrolled(client, make_cohort(price_amount=0), "ana@example.org", headers=auth("front_desk"))


def _ask(client, enrolment_id: str, email: str):
    page = client.get(f"/me/{enrolment_id}?token=mng_cut-short")
    assert page.status_code == 404 and "Send my link again" in text_of(page)
    token = CSRF.search(page.get_data(as_text=True))[1]
    answer = client.post(f"/me/{enrolment_id}/link-again", data={"csrf_token": token, "email": email})
    if answer.status_code != 303:
        return answer
    assert answer.headers["Location"] == "/check-email"  # a GET: reloading it sends nothing again
    return client.get("/check-email")


def test_the_person_gets_their_link_again_from_the_page_an_old_link_opens(client, person, app):
    app.config.update(CLINIC_PHONE="", CLINIC_EMAIL="")  # no other way to reach the clinic
    before = len(mail_to("ana@example.org"))
    answer = _ask(client, person["id"], "Ana@Example.org")
    assert answer.status_code == 200 and "Check your email" in text_of(answer)
    handle_inbox()
    sent = mail_to("ana@example.org")
    assert len(sent) == before + 1 and f"/me/{person['id']}?token=" in sent[-1].body_text


def test_the_answer_is_the_same_for_an_unknown_address_and_an_unknown_page(client, person):
    known = _ask(client, person["id"], "ana@example.org")
    unknown = _ask(client, person["id"], "nobody@example.org")
    nowhere = _ask(client, "enr_not-a-real-one", "ana@example.org")
    shown = [
        text_of(r).replace("nobody@example.org", "ADDRESS").replace("ana@example.org", "ADDRESS")
        for r in (known, unknown, nowhere)
    ]
    assert {r.status_code for r in (known, unknown, nowhere)} == {200} and len(set(shown)) == 1
    handle_inbox()
    assert mail_to("nobody@example.org") == []


def test_a_mistyped_address_is_named_beside_the_field(client, person):
    wrong = _ask(client, person["id"], "ana at example")
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert 'id="email-error"' in html and 'aria-invalid="true"' in html and 'value="ana at example"' in html
