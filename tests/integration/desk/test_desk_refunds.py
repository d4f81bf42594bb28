"""Refunds the front desk owes: listed, paid out once with method and reference, the person told once."""

from scheduler.notifications import jobs
from tests.helpers import enrolled

PRICE = 36000


def paid_then_withdrawn(client, cohort, desk, email):
    person = enrolled(client, cohort, email, "Robin")
    client.post(f"/api/v1/enrolments/{person['id']}/confirm", json={"method": "cash", "amount": PRICE}, headers=desk)
    gone = client.post(f"/api/v1/enrolments/{person['id']}/withdraw", headers=desk)
    assert gone.json["refund"]["status"] == "owed_by_front_desk"
    return person


def test_owed_refunds_are_listed_paid_out_once_and_told_once(app, client, make_cohort, auth, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    desk = auth("front_desk")
    cohort = make_cohort(capacity=3, price_amount=PRICE)
    robin = paid_then_withdrawn(client, cohort, desk, "robin@example.org")
    kim = paid_then_withdrawn(client, cohort, desk, "kim@example.org")

    listed = client.get("/api/v1/refunds?status=owed_by_front_desk&page_size=1", headers=desk)
    assert listed.status_code == 200
    assert listed.headers["X-Pagination"] == '{"total": 2, "page": 1, "page_size": 1}'
    [first] = listed.json
    assert (first["enrolment_id"], first["name"], first["email"]) == (robin["id"], "Robin", "robin@example.org")
    assert (first["amount"], first["currency"], first["status"], first["reason"]) == (
        PRICE,
        "usd",
        "owed_by_front_desk",
        "withdrawn",
    )
    assert first["cohort_name"] == cohort.name

    bad = client.post(f"/api/v1/refunds/{first['id']}/paid", json={"method": "carrier pigeon"}, headers=desk)
    assert bad.status_code == 422 and "method" in bad.json["errors"]
    paid = client.post(
        f"/api/v1/refunds/{first['id']}/paid", json={"method": "check", "reference": "chk 1042"}, headers=desk
    )
    assert paid.status_code == 200, paid.json
    assert (paid.json["status"], paid.json["paid_method"], paid.json["paid_reference"]) == (
        "paid_by_front_desk",
        "check",
        "chk 1042",
    )
    again = client.post(f"/api/v1/refunds/{first['id']}/paid", json={"method": "cash"}, headers=desk)
    assert again.status_code == 409 and "already paid out" in again.json["detail"]
    assert client.post("/api/v1/refunds/rfd_nope/paid", json={"method": "cash"}, headers=desk).status_code == 404

    still_owed = client.get("/api/v1/refunds?status=owed_by_front_desk", headers=desk).json
    assert [r["enrolment_id"] for r in still_owed] == [kim["id"]]
    done = client.get("/api/v1/refunds?status=paid_by_front_desk", headers=desk).json
    assert [r["id"] for r in done] == [first["id"]]
    robin_now = client.get(f"/api/v1/enrolments/{robin['id']}", headers=desk).json
    assert [r["status"] for r in robin_now["refunds"]] == ["paid_by_front_desk"]
    assert robin_now["amount_refunded"] == PRICE
    audit = client.get(f"/api/v1/audit?enrolment_id={robin['id']}", headers=desk).json[0]
    assert audit["action"] == "refund_paid_out" and audit["after"]["reference"] == "chk 1042"

    jobs.deliver_outbox()
    jobs.deliver_outbox()
    told = [m for m in smtp_server.messages if m.message["Subject"].startswith("Your refund has been paid")]
    assert [m.rcpt_tos for m in told] == [["robin@example.org"]]
    text = told[0].message.get_body(("plain",)).get_content()
    assert "refund of $360.00 back to you (Check)" in text
    assert "chk 1042" not in text  # the desk's own note stays in the console


def test_only_the_desk_sees_and_pays_refunds(client, make_cohort, auth):
    cohort = make_cohort(capacity=1, price_amount=PRICE)
    person = paid_then_withdrawn(client, cohort, auth("front_desk"), "robin@example.org")
    assert client.get("/api/v1/refunds").status_code == 401
    assert client.get("/api/v1/refunds", headers=auth("facilitator")).status_code == 403
    participant = {"Authorization": f"Bearer {person['manage_token']}"}
    assert client.get("/api/v1/refunds", headers=participant).status_code == 401
    assert client.get("/api/v1/refunds?status=owed", headers=auth("admin")).status_code == 422
