"""Amounts typed at the desk are read as the clinic writes them (CLINIC_LOCALE, with Babel), and the
message for one it cannot read gives an example in that locale (issue 22: money parsed in three locales)."""

import pytest

from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from tests.desk_support import post_form, text_of
from tests.helpers import enrol_opened


def _enrol(cohort, name, email):
    return enrol_opened(cohort.id, {"name": name, "email": email})


def _fresh(enrolment_id):
    db.session.rollback()
    return db.session.get(Enrolment, enrolment_id)


def _page(enrolment_id):
    return f"/desk/enrolments/{enrolment_id}"


@pytest.mark.parametrize(
    ("locale", "typed", "shown", "example"),
    [
        ("en_US", "1,200.00", "$1,200.00", "360 or 360.00"),
        ("fr_FR", "1.200,00", "1 200,00 $US", "360 or 360,00"),  # white space squeezed by text_of
        ("de_DE", "1.200,00", "1.200,00 $", "360 or 360,00"),
    ],
)
def test_amounts_are_typed_as_the_clinic_writes_them(app, desk, make_cohort, locale, typed, shown, example):
    app.config["CLINIC_LOCALE"] = locale
    person = _enrol(make_cohort(price_amount=120000), "Sam Rivera", "sam@example.org")
    page = desk.get(_page(person.id)).get_data(as_text=True)
    assert f'value="{example.split(" or ")[1].replace("360", "1200")}"' in page  # the amount due, prefilled
    wrong = "1.200,00" if locale == "en_US" else "1,200.00"
    confirm = f"/desk/enrolments/{person.id}/confirm"
    refused = post_form(desk, _page(person.id), confirm, {"method": "cash", "amount": wrong})
    assert refused.status_code == 422 and f"Give an amount such as {example}." in text_of(refused)
    assert _fresh(person.id).status == "pending_payment"
    answer = post_form(desk, _page(person.id), confirm, {"method": "cash", "amount": typed})
    assert answer.status_code == 303
    assert (_fresh(person.id).status, _fresh(person.id).amount_paid) == ("confirmed", 120000)
    assert f"Payment of {shown} recorded" in text_of(desk.get(answer.headers["Location"]))
