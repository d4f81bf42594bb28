"""What is owed, through every path: partial desk payments, confirm_with_balance, a price changed
before payment, a refund on withdrawal, a lapsed part-paid hold, transfers to other prices."""

from datetime import UTC, datetime, timedelta

import time_machine

from scheduler.enrolment.jobs import expire_holds_and_offers
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from tests.helpers import enrolled

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
PRICE = 36000


def get(client, enrolment, headers):
    response = client.get(f"/api/v1/enrolments/{enrolment['id']}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def confirm(client, enrolment, desk, **body):
    return client.post(f"/api/v1/enrolments/{enrolment['id']}/confirm", json=body, headers=desk)


def money(body):
    return {k: body[k] for k in ("status", "amount_due", "amount_paid", "amount_refunded", "balance")}


def audit_actions(client, enrolment, desk):
    return [a["action"] for a in client.get(f"/api/v1/audit?enrolment_id={enrolment['id']}", headers=desk).json]


def test_a_new_enrolment_owes_the_price(client, make_cohort, auth):
    cohort = make_cohort(capacity=1, price_amount=PRICE)
    held = enrolled(client, cohort.id, "a@example.org")
    assert money(held) == {
        "status": "pending_payment",
        "amount_due": PRICE,
        "amount_paid": 0,
        "amount_refunded": 0,
        "balance": PRICE,
    }
    assert held["payments"] == [] and held["refunds"] == [] and held["currency"] == "usd"


def test_partial_desk_payments_keep_the_hold_until_the_balance_is_paid(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=PRICE, manual_hold_hours=72)
    with time_machine.travel(T0, tick=False) as traveller:
        held = enrolled(client, cohort.id, "a@example.org")
        traveller.move_to(T0 + timedelta(hours=70))
        first = confirm(client, held, desk, method="cash", amount=10000, reference="receipt book 12")
        assert first.status_code == 200, first.json
        assert money(first.json) == {
            "status": "pending_payment",
            "amount_due": PRICE,
            "amount_paid": 10000,
            "amount_refunded": 0,
            "balance": 26000,
        }
        # A part payment never shortens the person's time: at least manual_hold_hours from now.
        assert first.json["hold_expires_at"] == "2030-09-07T10:00:00Z"
        too_much = confirm(client, held, desk, method="cash", amount=26001)
        assert too_much.status_code == 422
        assert too_much.json["errors"]["amount"] == [
            "The balance is $260.00 (26000); a payment cannot be more than that."
        ]
        nothing = confirm(client, held, desk, method="cash", amount=0)
        assert nothing.status_code == 422 and "confirm_with_balance" in nothing.json["errors"]["amount"][0]
        traveller.move_to(T0 + timedelta(hours=71))
        rest = confirm(client, held, desk, method="check", amount=26000, reference="chk 7")
    assert rest.status_code == 200
    assert money(rest.json) == {
        "status": "confirmed",
        "amount_due": PRICE,
        "amount_paid": PRICE,
        "amount_refunded": 0,
        "balance": 0,
    }
    assert [(p["amount"], p["method"]) for p in rest.json["payments"]] == [(10000, "cash"), (26000, "check")]
    assert all(
        p["receipt_url"] == f"https://scheduler.test/api/v1/payments/{p['id']}/receipt" for p in rest.json["payments"]
    )
    assert audit_actions(client, held, desk)[:2] == ["confirmed_at_desk", "part_paid_at_desk"]
    again = confirm(client, held, desk, method="cash", amount=1)
    assert again.status_code == 409 and "paid in full" in again.json["detail"]


def test_confirm_with_balance_is_explicit_audited_and_the_balance_stays_visible(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=2, price_amount=PRICE)
    held = enrolled(client, cohort.id, "a@example.org")
    seated = confirm(client, held, desk, method="insurance", amount=20000, confirm_with_balance=True)
    assert seated.status_code == 200
    assert money(seated.json) == {
        "status": "confirmed",
        "amount_due": PRICE,
        "amount_paid": 20000,
        "amount_refunded": 0,
        "balance": 16000,
    }
    entry = client.get(f"/api/v1/audit?enrolment_id={held['id']}", headers=desk).json[0]
    assert entry["action"] == "confirmed_with_balance" and entry["after"]["balance"] == 16000
    assert entry["staff_name"]
    [row] = client.get(f"/api/v1/cohorts/{cohort.id}/roster", headers=desk).json
    assert (row["amount_due"], row["amount_paid"], row["balance"]) == (PRICE, 20000, 16000)
    mine = get(client, held, {"Authorization": f"Bearer {held['manage_token']}"})
    assert mine["balance"] == 16000
    # The rest is paid later at the desk: the enrolment stays confirmed, the balance reaches 0.
    settled = confirm(client, held, desk, method="cash", amount=16000)
    assert money(settled.json)["balance"] == 0 and settled.json["status"] == "confirmed"
    assert audit_actions(client, held, desk)[0] == "paid_at_desk"


def test_a_waitlisted_person_who_pays_part_at_the_desk_gets_a_manual_hold(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=PRICE, manual_hold_hours=48)
    with time_machine.travel(T0, tick=False):
        holder = enrolled(client, cohort.id, "holder@example.org")
        waiting = enrolled(client, cohort.id, "waiting@example.org")
        client.post(f"/api/v1/enrolments/{holder['id']}/withdraw", headers=desk)
        part = confirm(client, waiting, desk, method="cash", amount=5000)
    assert part.json["status"] == "pending_payment" and part.json["balance"] == 31000
    # The later of the offer's deadline (24 h) and the manual hold (48 h).
    assert part.json["hold_expires_at"] == "2030-09-03T12:00:00Z"


def test_a_part_paid_hold_that_lapses_gives_the_money_back_through_the_desk(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=PRICE, manual_hold_hours=24)
    with time_machine.travel(T0, tick=False) as traveller:
        held = enrolled(client, cohort.id, "a@example.org")
        confirm(client, held, desk, method="cash", amount=10000)
        traveller.move_to(T0 + timedelta(hours=25))
        assert expire_holds_and_offers() == 1
    body = get(client, held, desk)
    assert money(body) == {
        "status": "expired",
        "amount_due": PRICE,
        "amount_paid": 10000,
        "amount_refunded": 10000,
        "balance": 0,
    }
    assert [(r["amount"], r["status"]) for r in body["refunds"]] == [(10000, "owed_by_front_desk")]
    owed = client.get("/api/v1/refunds?status=owed_by_front_desk", headers=desk).json
    assert [(r["enrolment_id"], r["amount"]) for r in owed] == [(held["id"], 10000)]
    db.session.rollback()
    lapsed = db.session.query(OutboxMessage).filter_by(enrolment_id=held["id"], kind="hold_expired").one()
    assert "What you paid, $100.00, will be returned to you by the front desk." in lapsed.body_text


def test_withdrawing_refunds_what_was_paid_and_the_balance_is_settled(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=PRICE)
    held = enrolled(client, cohort.id, "a@example.org")
    confirm(client, held, desk, method="cash", amount=PRICE)
    gone = client.post(
        f"/api/v1/enrolments/{held['id']}/withdraw", headers={"Authorization": f"Bearer {held['manage_token']}"}
    )
    assert gone.json["refund"] == {"amount": PRICE, "currency": "usd", "status": "owed_by_front_desk"}
    assert money(gone.json) == {
        "status": "withdrawn",
        "amount_due": PRICE,
        "amount_paid": PRICE,
        "amount_refunded": PRICE,
        "balance": 0,
    }
    assert [r["status"] for r in gone.json["refunds"]] == ["owed_by_front_desk"]


def test_staff_change_the_price_before_it_is_paid_with_a_reason(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=PRICE)
    held = enrolled(client, cohort.id, "a@example.org")
    confirm(client, held, desk, method="cash", amount=5000)
    url = f"/api/v1/enrolments/{held['id']}"
    no_reason = client.patch(url, json={"amount_due": 20000}, headers=desk)
    assert no_reason.status_code == 422 and "reason" in no_reason.json["errors"]
    below = client.patch(url, json={"amount_due": 4000, "reason": "hardship"}, headers=desk)
    assert below.status_code == 422 and "$50.00 (5000) has been paid already" in below.json["errors"]["amount_due"][0]
    unknown = client.patch(url, json={"amount_due": 20000, "reason": "x", "status": "confirmed"}, headers=desk)
    assert unknown.status_code == 422 and "status" in unknown.json["errors"]
    participant = client.patch(
        url, json={"amount_due": 1, "reason": "x"}, headers={"Authorization": f"Bearer {held['manage_token']}"}
    )
    assert participant.status_code in (401, 403, 404)

    changed = client.patch(url, json={"amount_due": 20000, "reason": "hardship, agreed by phone"}, headers=desk)
    assert changed.status_code == 200, changed.json
    assert money(changed.json) == {
        "status": "pending_payment",
        "amount_due": 20000,
        "amount_paid": 5000,
        "amount_refunded": 0,
        "balance": 15000,
    }
    assert changed.json["payment"] == {"provider": "manual", "amount": 15000, "currency": "usd"}
    entry = client.get(f"/api/v1/audit?enrolment_id={held['id']}", headers=desk).json[0]
    assert entry["action"] == "price_changed"
    assert (entry["before"]["amount_due"], entry["after"]["amount_due"]) == (PRICE, 20000)
    assert entry["after"]["reason"] == "hardship, agreed by phone"

    # Setting it to what was paid settles it: confirmed at once.
    settled = client.patch(url, json={"amount_due": 5000, "reason": "scholarship"}, headers=desk)
    assert (settled.json["status"], settled.json["balance"]) == ("confirmed", 0)
    late = client.patch(url, json={"amount_due": 6000, "reason": "oops"}, headers=desk)
    assert late.status_code == 409 and "paid in full" in late.json["detail"]


def test_a_price_change_of_a_waitlisted_person_is_what_they_owe_when_they_accept(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=1, price_amount=PRICE)
    holder = enrolled(client, cohort.id, "holder@example.org")
    waiting = enrolled(client, cohort.id, "waiting@example.org")
    free = client.patch(
        f"/api/v1/enrolments/{waiting['id']}", json={"amount_due": 0, "reason": "staff place"}, headers=desk
    )
    assert (free.json["status"], free.json["balance"]) == ("waitlisted", 0)
    client.post(f"/api/v1/enrolments/{holder['id']}/withdraw", headers=desk)
    accepted = client.post(
        f"/api/v1/enrolments/{waiting['id']}/accept", headers={"Authorization": f"Bearer {waiting['manage_token']}"}
    )
    assert accepted.json["status"] == "confirmed"


def test_transfers_keep_what_was_paid_and_explain_a_different_price(client, make_cohort, make_program, auth):
    desk = auth("front_desk")
    program = make_program(price_amount=PRICE)
    source = make_cohort(program=program, capacity=3, price_amount=PRICE)
    same = make_cohort(program=program, capacity=3, price_amount=PRICE)
    cheaper = make_cohort(program=program, capacity=3, price_amount=30000)
    dearer = make_cohort(program=program, capacity=3, price_amount=40000)

    def paid_in_full(email):
        person = enrolled(client, source.id, email)
        assert confirm(client, person, desk, method="cash", amount=PRICE).status_code == 200
        return person

    def transfer(person, target):
        # Asked by a Spanish-speaking browser: the API's words stay English all the same.
        spanish = {**desk, "Accept-Language": "es-MX,es;q=0.9"}
        response = client.post(
            f"/api/v1/enrolments/{person['id']}/transfer", json={"cohort_id": target.id}, headers=spanish
        )
        assert response.status_code == 200, response.json
        return response.json

    kept = transfer(paid_in_full("same@example.org"), same)
    assert money(kept) == {
        "status": "confirmed",
        "amount_due": PRICE,
        "amount_paid": PRICE,
        "amount_refunded": 0,
        "balance": 0,
    }
    assert kept["transfer"]["detail"] == "The new group has the same price; what was paid carries over."

    down = transfer(paid_in_full("down@example.org"), cheaper)
    assert money(down) == {
        "status": "confirmed",
        "amount_due": 30000,
        "amount_paid": PRICE,
        "amount_refunded": 6000,
        "balance": 0,
    }
    assert down["transfer"]["refund"] == {"amount": 6000, "currency": "usd", "status": "owed_by_front_desk"}
    assert down["transfer"]["detail"] == (
        "The new group costs $300.00 instead of $360.00: $60.00 of what was paid is refunded by the front desk."
    )
    entry = client.get(f"/api/v1/audit?enrolment_id={down['id']}", headers=desk).json[0]
    assert entry["action"] == "transferred" and entry["after"]["transfer"]["amount_due"] == 30000

    up_person = paid_in_full("up@example.org")
    up = transfer(up_person, dearer)
    assert money(up) == {
        "status": "confirmed",
        "amount_due": 40000,
        "amount_paid": PRICE,
        "amount_refunded": 0,
        "balance": 4000,
    }
    assert up["transfer"]["detail"] == "The new group costs $400.00 instead of $360.00: $40.00 is left to pay."
    db.session.rollback()
    told = db.session.query(OutboxMessage).filter_by(enrolment_id=up["id"], kind="transferred").one()
    assert "$40.00 is left to pay" in told.body_text
    assert confirm(client, up_person, desk, method="cash", amount=4000).json["balance"] == 0


def test_search_lists_money_fields_for_every_enrolment(client, make_cohort, auth):
    desk = auth("front_desk")
    cohort = make_cohort(capacity=2, price_amount=PRICE)
    a = enrolled(client, cohort.id, "a@example.org")
    enrolled(client, cohort.id, "b@example.org")
    confirm(client, a, desk, method="cash", amount=1000)
    found = client.get(f"/api/v1/enrolments?cohort_id={cohort.id}", headers=desk).json
    by_email = {e["email"]: e for e in found}
    assert (by_email["a@example.org"]["amount_paid"], by_email["a@example.org"]["balance"]) == (1000, 35000)
    assert by_email["a@example.org"]["payments"][0]["method"] == "cash"
    assert (by_email["b@example.org"]["amount_paid"], by_email["b@example.org"]["balance"]) == (0, PRICE)
