"""One email per change a person sees, read from a real SMTP server: staff who enrol and confirm in
one go send one confirmation; several session edits within CHANGE_NOTICE_DELAY_MINUTES send one
notice per person that says what changed from what to what."""

from datetime import timedelta

import time_machine

from scheduler.foundation import clock
from scheduler.notifications import jobs

PRICE = 36000


def kinds_to(smtp_server, email):
    return [m.message["Subject"].split(" · ")[0] for m in smtp_server.messages if m.rcpt_tos == [email]]


def text_of(message):
    return message.message.get_body(("plain",)).get_content()


def deliver_at(when):
    with time_machine.travel(when, tick=False):
        return jobs.deliver_outbox()


def test_staff_enrol_then_confirm_sends_only_the_confirmation(app, client, make_cohort, auth, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    desk = auth("front_desk")
    cohort = make_cohort(capacity=3, price_amount=PRICE)
    made = client.post(
        f"/api/v1/cohorts/{cohort.id}/enrolments", json={"name": "Ana", "email": "ana@example.org"}, headers=desk
    ).json
    assert made["status"] == "pending_payment"
    jobs.deliver_outbox()  # the worker passes by: the hold notice waits a little for staff-made holds
    assert smtp_server.messages == []
    client.post(f"/api/v1/enrolments/{made['id']}/confirm", json={"method": "cash", "amount": PRICE}, headers=desk)
    deliver_at(clock.now() + timedelta(minutes=5))
    [only] = smtp_server.messages
    assert only.message["Subject"].startswith("You're enrolled")
    assert "pay within" not in text_of(only) and "holding a place" not in text_of(only)
    history = client.get(f"/api/v1/enrolments/{made['id']}/messages", headers=desk).json
    assert [(m["kind"], m["status"]) for m in history] == [
        ("enrolment_received", "skipped"),
        ("enrolment_confirmed", "sent"),
    ]


def test_staff_enrol_and_confirm_in_one_request_sends_one_confirmation(app, client, make_cohort, auth, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    desk = auth("front_desk")
    cohort = make_cohort(capacity=3, price_amount=PRICE)
    made = client.post(
        f"/api/v1/cohorts/{cohort.id}/enrolments",
        json={
            "name": "Ben",
            "email": "ben@example.org",
            "desk_payment": {"method": "card_in_person", "amount": PRICE, "reference": "terminal 4"},
        },
        headers=desk,
    )
    assert made.status_code == 201, made.json
    assert (made.json["status"], made.json["balance"], made.json["amount_paid"]) == ("confirmed", 0, PRICE)
    deliver_at(clock.now() + timedelta(minutes=5))
    assert kinds_to(smtp_server, "ben@example.org") == [
        "You're enrolled, first session Thursday, October 3, 2030 at 6:00 PM EDT"
    ]
    receipt_link = made.json["payments"][0]["receipt_url"] + f"?token={made.json['manage_token']}"
    assert receipt_link in text_of(smtp_server.messages[0])

    # The public may not record payments; part paid by staff holds the seat and says so once.
    public = client.post(
        f"/api/v1/cohorts/{cohort.id}/enrolments",
        json={"name": "Cy", "email": "cy@example.org", "desk_payment": {"method": "cash", "amount": PRICE}},
    )
    assert public.status_code == 422 and "desk_payment" in public.json["errors"]
    part = client.post(
        f"/api/v1/cohorts/{cohort.id}/enrolments",
        json={"name": "Cy", "email": "cy@example.org", "desk_payment": {"method": "cash", "amount": 6000}},
        headers=desk,
    ).json
    assert (part["status"], part["balance"]) == ("pending_payment", 30000)
    deliver_at(clock.now() + timedelta(minutes=5))
    [held] = [m for m in smtp_server.messages if m.rcpt_tos == ["cy@example.org"]]
    assert "please pay $300.00" in text_of(held) and "Already paid: $60.00." in text_of(held)


def test_a_staff_made_hold_left_unpaid_is_told_after_the_short_delay(app, client, make_cohort, auth, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    desk = auth("front_desk")
    cohort = make_cohort(capacity=3, price_amount=PRICE)
    client.post(
        f"/api/v1/cohorts/{cohort.id}/enrolments", json={"name": "Dee", "email": "dee@example.org"}, headers=desk
    )
    deliver_at(clock.now() + timedelta(seconds=app.config["STAFF_NOTICE_DELAY_SECONDS"] + 1))
    assert [s.split(" until")[0] for s in kinds_to(smtp_server, "dee@example.org")] == ["Your place is held"]


def test_three_session_edits_within_the_window_send_one_notice_per_person_with_old_and_new_times(
    app, client, make_cohort, make_enrolment, auth, smtp_server
):
    app.config["MAIL_URL"] = smtp_server.url
    desk = auth("front_desk")
    cohort = make_cohort(capacity=5, price_amount=0)
    chicago = make_enrolment(cohort, email="chi@example.org", timezone="America/Chicago")
    berlin = make_enrolment(cohort, email="ber@example.org", timezone="Europe/Berlin")
    session = cohort.sessions[2]  # Thursday, October 17, 2030, 18:00 in New York
    url = f"/api/v1/sessions/{session.id}"
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert client.patch(url, json={"local_start": "2030-10-17T19:00"}, headers=desk).status_code == 200
        traveller.move_to(start + timedelta(minutes=3))
        assert client.patch(url, json={"title": "Week 3: TIPP skills"}, headers=desk).status_code == 200
        traveller.move_to(start + timedelta(minutes=6))
        assert client.patch(url, json={"local_start": "2030-10-17T19:30"}, headers=desk).status_code == 200
        jobs.deliver_outbox()
        assert smtp_server.messages == []  # nothing goes out inside the window
    deliver_at(start + timedelta(minutes=10))
    deliver_at(start + timedelta(minutes=30))
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [berlin.email, chicago.email]
    by_person = {m.rcpt_tos[0]: text_of(m) for m in smtp_server.messages}
    assert "Was: Thursday, October 17, 2030 at 5:00 PM CDT" in by_person[chicago.email]
    assert "Now: Thursday, October 17, 2030 at 6:30 PM CDT" in by_person[chicago.email]
    assert "Was: Friday, October 18, 2030 at 12:00 AM CEST" in by_person[berlin.email]
    assert "Now: Friday, October 18, 2030 at 1:30 AM CEST" in by_person[berlin.email]
    assert "Topic now: Week 3: TIPP skills" in by_person[chicago.email]
    assert "Topic was: Session 3" in by_person[chicago.email]


def test_a_change_undone_within_the_window_sends_nothing_and_a_later_one_starts_from_what_was_told(
    app, client, make_cohort, make_enrolment, auth, smtp_server
):
    app.config["MAIL_URL"] = smtp_server.url
    desk = auth("front_desk")
    cohort = make_cohort(capacity=5, price_amount=0)
    person = make_enrolment(cohort, email="pat@example.org")
    session = cohort.sessions[1]  # Thursday, October 10, 2030, 18:00 New York
    url = f"/api/v1/sessions/{session.id}"
    start = clock.now()
    with time_machine.travel(start, tick=False):
        client.patch(url, json={"local_start": "2030-10-10T20:00"}, headers=desk)
        client.patch(url, json={"local_start": "2030-10-10T18:00"}, headers=desk)
    deliver_at(start + timedelta(minutes=11))
    assert smtp_server.messages == []

    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        client.patch(url, json={"local_start": "2030-10-10T19:00"}, headers=desk)
    deliver_at(start + timedelta(minutes=31))
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        client.patch(url, json={"status": "cancelled"}, headers=desk)
    deliver_at(start + timedelta(minutes=51))
    first, second = (text_of(m) for m in smtp_server.messages)
    assert "Was: Thursday, October 10, 2030 at 6:00 PM EDT" in first
    assert "Now: Thursday, October 10, 2030 at 7:00 PM EDT" in first
    assert smtp_server.messages[1].message["Subject"].startswith("Cancelled: the session on")
    assert "on Thursday, October 10, 2030 at 7:00 PM EDT, is cancelled" in second.replace("\n", " ")
    assert all(m.rcpt_tos == [person.email] for m in smtp_server.messages)


def test_moved_then_cancelled_within_the_window_is_one_cancellation_at_the_time_they_knew(
    app, client, make_cohort, make_enrolment, auth, smtp_server
):
    app.config["MAIL_URL"] = smtp_server.url
    desk = auth("front_desk")
    cohort = make_cohort(capacity=5, price_amount=0)
    make_enrolment(cohort, email="pat@example.org")
    session = cohort.sessions[1]
    url = f"/api/v1/sessions/{session.id}"
    start = clock.now()
    with time_machine.travel(start, tick=False):
        client.patch(url, json={"local_start": "2030-10-10T20:00"}, headers=desk)
        client.patch(url, json={"status": "cancelled"}, headers=desk)
    deliver_at(start + timedelta(minutes=11))
    [only] = smtp_server.messages
    assert only.message["Subject"].startswith("Cancelled: the session on")
    assert "on Thursday, October 10, 2030 at 6:00 PM EDT, is cancelled" in text_of(only).replace("\n", " ")
