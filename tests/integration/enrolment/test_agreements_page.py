"""The agreements on the pages (the Flask test client). The participant page: each agreement's title
and text, a field "Full name" and a button "I agree" before Pay; signing records the acceptance; Pay
after. The staff console's enrolment page: who accepted which version and when, or on paper."""

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from scheduler.cohorts.agreements import add_agreement
from scheduler.enrolment.models import AgreementAcceptance
from tests.desk_support import post_form, sign_in, text_of
from tests.helpers import as_participant, cohort_form, emailed_link, enrolled
from tests.stripe_double import fresh

GUIDELINES = "What is said in the group stays in the group.\nNo contact outside it.\n\nPhones off."


class _Controls(HTMLParser):
    """The page's buttons and labelled fields by accessible name (<button> text, <label for=…> text)."""

    def __init__(self, html: str):
        super().__init__()
        self.buttons, self.labels, self.inputs = [], {}, set()
        self._open = None  # ("button" | "label", for, text so far)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "textarea", "select") and attrs.get("id"):
            self.inputs.add(attrs["id"])
        if tag == "button":
            self._open = ["button", None, ""]
        elif tag == "label":
            self._open = ["label", attrs.get("for"), ""]

    def handle_data(self, data):
        if self._open:
            self._open[2] += data

    def handle_endtag(self, tag):
        if self._open and tag == self._open[0]:
            kind, target, text = self._open
            name = " ".join(text.split())
            if kind == "button":
                self.buttons.append(name)
            else:
                self.labels[name] = target
            self._open = None

    def field(self, name: str) -> str | None:
        """The id of the field labelled `name`, if the page has one."""
        target = self.labels.get(name)
        return target if target in self.inputs else None


def _open_page_by_form(client, cohort, email="robin@example.org") -> dict:
    """Enrol through the cohort page and open the emailed link: the person's page in this browser."""
    form = cohort_form(client, cohort)
    sent = client.post(f"/cohorts/{cohort.id}", data={**form, "name": "Robin Lee", "email": email, "timezone": "UTC"})
    assert sent.status_code == 303
    enrolment_id, token = emailed_link(cohort.id, email)
    assert client.get(f"/me/{enrolment_id}", query_string={"token": token}).status_code == 303
    return {"id": enrolment_id, "csrf": form["csrf_token"]}


def _page(client, me) -> str:
    response = client.get(f"/me/{me['id']}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _sign(client, me, html: str, full_name: str):
    shown = re.findall(r'name="agreement_id" value="([^"]+)"', html)
    return client.post(
        f"/me/{me['id']}/agreements", data={"csrf_token": me["csrf"], "full_name": full_name, "agreement_id": shown}
    )


@pytest.mark.slow
def test_the_agreements_come_before_pay_and_signing_them_shows_pay(
    stripe_app, client, make_staff, make_program, make_cohort, localstripe_server
):
    stripe_app.config["STRIPE_JS_URL"] = localstripe_server.url + "/js.stripe.com/v3/"
    program = make_program(price_amount=36000)
    add_agreement(program.id, {"title": "Group guidelines", "body": GUIDELINES}, make_staff("front_desk")[0])
    me = _open_page_by_form(client, make_cohort(program=program, price_amount=36000))

    html = _page(client, me)
    controls = _Controls(html)
    assert "Group guidelines" in html and "What is said in the group stays in the group.<br>No contact" in html
    assert "<p>Phones off.</p>" in html
    assert controls.field("Full name") == "full_name" and "I agree" in controls.buttons
    assert "Pay" not in controls.buttons and "data-client-secret" not in html

    blank = _sign(client, me, html, "  ")
    assert blank.status_code == 422
    assert "Type your full name to accept the agreement." in blank.get_data(as_text=True)
    assert fresh(select(AgreementAcceptance)) == []

    signed = _sign(client, me, html, "Robin Lee")
    assert signed.status_code == 303
    [acceptance] = fresh(select(AgreementAcceptance))
    assert (acceptance.enrolment_id, acceptance.full_name, acceptance.version, acceptance.on_paper) == (
        me["id"],
        "Robin Lee",
        1,
        False,
    )
    after = _page(client, me)
    controls = _Controls(after)
    assert "Thank you: you have accepted the agreements." in after
    assert "Pay" in controls.buttons and "data-client-secret=" in after
    assert "I agree" not in controls.buttons and controls.field("Full name") is None


def test_a_free_place_is_confirmed_by_signing_and_a_new_version_asks_again(
    client, make_staff, make_program, make_cohort
):
    program = make_program(price_amount=0)
    desk = make_staff("front_desk")[0]
    add_agreement(program.id, {"title": "Group guidelines", "body": GUIDELINES}, desk)
    me = _open_page_by_form(client, make_cohort(program=program, price_amount=0))

    html = _page(client, me)
    assert "please read and accept the group's agreements" in html and "How to pay" not in html
    assert _sign(client, me, html, "Robin Lee").status_code == 303
    html = _page(client, me)
    assert "You are enrolled" in html and "Group guidelines (version 1): accepted on" in html
    assert "I agree" not in _Controls(html).buttons

    add_agreement(program.id, {"title": "Group guidelines", "body": "Be kind.\n\nPhones off."}, desk)
    html = _page(client, me)
    assert "You are enrolled" in html and "Please read the group's updated agreements" in html
    assert "I agree" in _Controls(html).buttons and "Be kind." in html
    assert _sign(client, me, html, "Robin Lee").status_code == 303
    assert len(fresh(select(AgreementAcceptance))) == 2
    assert "I agree" not in _Controls(_page(client, me)).buttons


def test_the_console_shows_who_accepted_which_version_and_when_or_on_paper(
    client, app, make_staff, make_program, make_cohort
):
    program = make_program(price_amount=36000)
    dana = make_staff("front_desk", name="Dana Desk")
    add_agreement(program.id, {"title": "Group guidelines", "body": GUIDELINES}, dana[0])
    cohort = make_cohort(program=program, price_amount=36000)
    staff_made = enrolled(client, cohort.id, "sam@example.org", headers={"Authorization": f"Bearer {dana[1]}"})
    online = enrolled(client, cohort.id, "robin@example.org", "Robin Lee")
    [agreement] = online["agreements"]
    signed = client.post(
        f"/api/v1/enrolments/{online['id']}/agreements/{agreement['id']}/accept",
        json={"full_name": "Robin Lee"},
        headers=as_participant(online),
    )
    assert signed.status_code == 200

    console = app.test_client()
    sign_in(console, dana[0])
    page = f"/desk/enrolments/{staff_made['id']}"
    shown = text_of(console.get(page))
    assert "Not yet accepted: Group guidelines (version 1)" in shown and "Signed the agreements on paper" in shown

    form = {"method": "cash", "amount": "360.00"}
    refused = post_form(console, page, f"{page}/confirm", form)
    assert refused.status_code == 409 and "if they signed them on paper, say so" in text_of(refused)
    confirmed = post_form(console, page, f"{page}/confirm", {**form, "agreements_on_paper": "yes"})
    assert confirmed.status_code == 303
    shown = text_of(console.get(page))
    assert "Confirmed" in shown and "On paper (recorded by Dana Desk)" in shown
    assert "Agreements signed on paper" in shown  # the history names the audit entry

    shown = text_of(console.get(f"/desk/enrolments/{online['id']}"))
    assert "Group guidelines 1" in shown and "Signed online as “Robin Lee”" in shown
    assert "Accepted the program's agreements" in shown and "Not yet accepted" not in shown

    assert "Agreements due" not in text_of(console.get(f"/desk/cohorts/{cohort.id}"))
    add_agreement(program.id, {"title": "Group guidelines", "body": "Be kind."}, dana[0])
    assert text_of(console.get(f"/desk/cohorts/{cohort.id}")).count("Agreements due") == 1  # the confirmed one
