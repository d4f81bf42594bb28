"""A person's data: export everything held about them, erase it on request, and after RETENTION_DAYS.

Through the HTTP API and a real SMTP server, on SQLite and PostgreSQL. After an erasure
the whole database is read back, every column of every table, and searched for the
person's email (any case), name and phone: nothing may match.
"""

import json
from datetime import timedelta
from functools import partial

import time_machine
from sqlalchemy import func, select

from scheduler.attendance.models import AttendanceRecord
from scheduler.enrolment.models import AuditEntry, Enrolment, IdempotencyRecord, Participant
from scheduler.foundation.extensions import db
from scheduler.jobs import JOBS, _load_jobs
from scheduler.notifications import jobs as mail_jobs
from scheduler.notifications.models import OutboxMessage
from scheduler.payments.models import Payment, Refund
from scheduler.privacy import jobs as privacy_jobs
from scheduler.privacy.erasure import ERASED_NAME
from tests.helpers import enrolled

NAME = "Samwise Rivera-Okafor"
EMAIL = "Sam.Rivera@Example.org"
PHONE = "+1 555 0199"
BASE = "https://scheduler.test"


def stored_text() -> str:
    """Every value of every column of every table, as text, lower case."""
    db.session.expire_all()
    chunks = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for value in row.values():
                if value is None:
                    continue
                chunks.append(json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value))
    db.session.rollback()
    return "\n".join(chunks).lower()


def ok(response, status=(200, 201)):
    assert response.status_code in status, response.get_json()
    return response.get_json()


# Everyone here gives a phone number and a time zone too: personal data the privacy tools must find.
enrolled_with_phone = partial(
    enrolled, name=NAME, email=EMAIL, phone=PHONE, timezone="America/Chicago", expect=(200, 201)
)


def sam_with_history(client, auth, make_cohort):
    """Sam: confirmed (paid at the desk) in one cohort; paid then withdrawn with a refund in another."""
    desk = auth("front_desk")
    current = make_cohort(price_amount=36000, name="Thursday evenings")
    earlier = make_cohort(price_amount=20000, name="Monday mornings")
    staying = enrolled_with_phone(client, current, headers={"Idempotency-Key": "sam-first-try"})
    ok(
        client.post(
            f"/api/v1/enrolments/{staying['id']}/confirm",
            json={"method": "cash", "amount": 36000, "reference": f"paid in person by {NAME}"},
            headers=desk,
        )
    )
    left = enrolled_with_phone(client, earlier)
    ok(client.post(f"/api/v1/enrolments/{left['id']}/confirm", json={"method": "check", "amount": 20000}, headers=desk))
    ok(client.post(f"/api/v1/enrolments/{left['id']}/withdraw", json={}, headers=desk))
    return staying, left


# ---- export -----------------------------------------------------------------------------------


def test_export_holds_every_enrolment_payment_refund_message_and_audit_entry(
    app, client, auth, make_cohort, make_staff
):
    staying, left = sam_with_history(client, auth, make_cohort)
    other = make_cohort(price_amount=0)
    enrolled_with_phone(client, other, name="Someone Else", email="someone.else@example.org")
    desk_member, desk_token = make_staff("front_desk", name="Dana Desk")
    ok(client.post(f"/api/v1/enrolments/{left['id']}/messages/{_first_message(left['id'])}/resend", headers=auth()))

    response = client.get(
        "/api/v1/participants/export",
        query_string={"email": "  sam.RIVERA@example.ORG "},
        headers={"Authorization": f"Bearer {desk_token}"},
    )
    export = ok(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert export["participant"]["email"] == "sam.rivera@example.org"
    assert [e["id"] for e in export["enrolments"]] == [staying["id"], left["id"]]  # nobody else's
    first, second = export["enrolments"]
    for enrolment in (first, second):
        assert (enrolment["name"], enrolment["email"], enrolment["phone"], enrolment["timezone"]) == (
            NAME,
            EMAIL,
            PHONE,
            "America/Chicago",
        )
        assert enrolment["erased_at"] is None and enrolment["cohort_name"] and enrolment["program_name"]
        assert "manage_token" not in enrolment and "feed_token" not in enrolment
    assert first["status"] == "confirmed" and first["amount_paid"] == 36000
    assert [(p["amount"], p["method"], p["status"], p["reference"]) for p in first["payments"]] == [
        (36000, "cash", "succeeded", f"paid in person by {NAME}")
    ]
    assert first["refunds"] == []

    assert second["status"] == "withdrawn"
    assert [(p["amount"], p["method"], p["amount_refunded"]) for p in second["payments"]] == [(20000, "check", 20000)]
    [refund] = second["refunds"]
    assert (refund["amount"], refund["currency"], refund["status"], refund["reason"]) == (
        20000,
        "usd",
        "owed_by_front_desk",
        "withdrawn",
    )
    assert refund["payment_id"] == second["payments"][0]["id"]
    kinds = [m["kind"] for m in second["messages"]]
    assert kinds == ["enrolment_received", "enrolment_confirmed", "withdrawn", "enrolment_received"]
    assert second["messages"][-1]["resend_of"] == second["messages"][0]["id"]
    confirmation = second["messages"][1]
    assert confirmation["to"] == EMAIL and confirmation["subject"] and confirmation["from"]
    assert NAME in confirmation["body_text"] and NAME in confirmation["body_html"]
    assert confirmation["attachments"][0]["filename"] == "invite.ics"
    # The bodies show where the links were, never a working credential.
    manage_token = staying["manage_token"]
    assert "mng_[token removed]" in confirmation["body_text"] and "cal_[token removed]" in confirmation["body_text"]
    assert manage_token not in json.dumps(export) and left["manage_token"] not in json.dumps(export)
    actions = [(a["action"], a["staff_name"]) for a in second["audit"]]
    # The person enrolled themselves and opened the emailed link.
    assert actions[:2] == [("enrolled", None), ("link_opened", None)]
    # The desk's resend is audited too (the staff console's history shows it).
    assert [a for a, _ in actions[2:]] == ["confirmed_at_desk", "withdrawn", "message_resent"]
    assert all(name for _, name in actions[2:])  # every staff action names who did it
    assert first["attendance"] == [] and second["attendance"] == []
    assert "someone.else" not in json.dumps(export)


def _first_message(enrolment_id: str) -> str:
    """The enrolment's first message, marked sent (no mail transport here), so that it can be resent."""
    row = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.enrolment_id == enrolment_id).order_by(OutboxMessage.created_at)
    )
    row.status = "sent"
    db.session.commit()
    return row.id


def test_export_of_an_unknown_or_missing_email_says_what_to_fix(client, auth):
    desk = auth("front_desk")
    unknown = client.get("/api/v1/participants/export", query_string={"email": "nobody@example.org"}, headers=desk)
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert "No one with this email address" in unknown.get_json()["detail"]
    missing = client.get("/api/v1/participants/export", headers=desk)
    assert missing.status_code == 422 and "email" in missing.get_json()["errors"]
    wrong = client.get("/api/v1/participants/export", query_string={"email": "sam"}, headers=desk)
    assert wrong.status_code == 422 and "sam@example.org" in wrong.get_json()["errors"]["email"][0]


# ---- erasure ----------------------------------------------------------------------------------


def test_erasure_withdraws_with_the_policy_refund_kills_every_link_and_leaves_no_trace(
    app, client, auth, make_cohort, smtp_server
):
    app.config["MAIL_URL"] = smtp_server.url
    staying, left = sam_with_history(client, auth, make_cohort)
    mail_jobs.deliver_outbox()
    assert any(m.rcpt_tos == [EMAIL] for m in smtp_server.messages)
    before = len(smtp_server.messages)
    feed_url = ok(client.get(f"/api/v1/enrolments/{staying['id']}", headers=auth()))["calendar_url"]
    assert client.get(feed_url.removeprefix(BASE)).status_code == 200
    audit_rows = db.session.scalar(select(func.count()).select_from(AuditEntry))
    admin = auth("admin")
    everything = stored_text()  # the search below finds them before the erasure
    assert all(trace in everything for trace in (EMAIL.lower(), NAME.lower(), PHONE))

    response = client.post("/api/v1/participants/erase", json={"email": "SAM.rivera@example.org"}, headers=admin)
    summary = ok(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert {e["id"]: (e["status"], e["withdrawn"], e["refund"]) for e in summary["enrolments"]} == {
        # Active: withdrawn first, with the refund the policy gives (in full, before the cutoff).
        staying["id"]: ("withdrawn", True, {"amount": 36000, "currency": "usd", "status": "owed_by_front_desk"}),
        left["id"]: ("withdrawn", False, None),
    }
    assert summary["messages_cancelled"] == 1  # the withdrawal notice, queued by the withdrawal itself
    # Both enrolments came from public requests (one sent with an Idempotency-Key): those go.
    assert (summary["idempotency_records_deleted"], summary["requests_deleted"]) == (0, 2)
    assert EMAIL.lower() not in json.dumps(summary).lower() and NAME not in json.dumps(summary)

    # No link of theirs works: manage token, feed URL.
    old_manage = {"Authorization": f"Bearer {staying['manage_token']}"}
    assert client.get(f"/api/v1/enrolments/{staying['id']}", headers=old_manage).status_code == 404
    left_manage = {"Authorization": f"Bearer {left['manage_token']}"}
    assert client.get(f"/api/v1/enrolments/{left['id']}", headers=left_manage).status_code == 404
    assert client.post(f"/api/v1/enrolments/{staying['id']}/calendar/rotate", headers=old_manage).status_code == 404
    assert client.get(feed_url.removeprefix(BASE)).status_code == 404
    assert client.get(f"/me/{staying['id']}", query_string={"token": staying["manage_token"]}).status_code in (403, 404)

    # Nothing more is sent to them: the queued withdrawal notice is cancelled, resending is refused.
    mail_jobs.deliver_outbox()
    assert len(smtp_server.messages) == before
    sent_row = db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.enrolment_id == left["id"], OutboxMessage.status == "sent")
    )
    resend = client.post(f"/api/v1/enrolments/{left['id']}/messages/{sent_row}/resend", headers=admin)
    assert resend.status_code == 409 and "erased" in resend.get_json()["detail"]
    mail_jobs.deliver_outbox()
    assert len(smtp_server.messages) == before

    # Amounts, dates, statuses, payments, refunds and the audit trail stay, without the identity.
    assert db.session.scalar(select(func.sum(Payment.amount))) == 56000
    assert sorted(db.session.scalars(select(Refund.amount))) == [20000, 36000]
    erased = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "erased")).all()
    assert len(erased) == 2 and all(e.staff is not None and e.staff.role == "admin" for e in erased)
    assert all(e.after["reason"] == "request" and e.created_at for e in erased)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_rows + 1 + 2  # withdrawn, erased
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    people = db.session.scalars(select(Enrolment)).all()
    assert {(e.name, e.phone, e.timezone) for e in people} == {(ERASED_NAME, None, None)}
    assert all(e.email.endswith("@erased.invalid") and e.erased_at for e in people)

    # No endpoint holds the email any more …
    assert ok(client.get("/api/v1/enrolments", query_string={"email": EMAIL}, headers=admin)) == []
    assert client.get("/api/v1/participants/export", query_string={"email": EMAIL}, headers=admin).status_code == 404
    shown = json.dumps(
        [
            ok(client.get(f"/api/v1/enrolments/{left['id']}", headers=admin)),
            ok(client.get(f"/api/v1/enrolments/{left['id']}/messages", headers=admin)),
            ok(client.get("/api/v1/audit", headers=admin)),
            ok(client.get(f"/api/v1/cohorts/{staying['cohort_id']}/waitlist", headers=admin)),
        ]
    ).lower()
    assert EMAIL.lower() not in shown and NAME.lower() not in shown
    # … and no table: every column of every table, read back and searched.
    everything = stored_text()
    for trace in (EMAIL.lower(), NAME.lower(), "samwise", PHONE):
        assert trace not in everything, trace

    again = client.post("/api/v1/participants/erase", json={"email": EMAIL}, headers=admin)
    assert again.status_code == 404 and "No one with this email address" in again.get_json()["detail"]


def test_after_an_erasure_the_same_address_can_enrol_afresh(client, auth, make_cohort):
    cohort = make_cohort(price_amount=0)
    first = enrolled_with_phone(client, cohort)
    ok(client.post("/api/v1/participants/erase", json={"email": EMAIL}, headers=auth()))
    again = enrolled_with_phone(client, cohort)
    assert again["id"] != first["id"] and again["status"] == "confirmed"
    export = ok(client.get("/api/v1/participants/export", query_string={"email": EMAIL}, headers=auth()))
    assert [e["id"] for e in export["enrolments"]] == [again["id"]]


def test_an_erased_persons_seat_goes_to_the_waitlist(client, auth, make_cohort):
    cohort = make_cohort(price_amount=0, capacity=1)
    enrolled_with_phone(client, cohort)
    waiting = enrolled_with_phone(client, cohort, name="Next Inline", email="next@example.org")
    assert waiting["status"] == "waitlisted"
    ok(client.post("/api/v1/participants/erase", json={"email": EMAIL}, headers=auth()))
    after = ok(client.get(f"/api/v1/enrolments/{waiting['id']}", headers=auth()))
    assert after["status"] == "offered" and after["name"] == "Next Inline"


def test_erase_needs_an_email_and_an_admin(client, auth, make_cohort):
    enrolled_with_phone(client, make_cohort(price_amount=0))
    missing = client.post("/api/v1/participants/erase", json={}, headers=auth())
    assert missing.status_code == 422 and "email" in missing.get_json()["errors"]
    extra = client.post("/api/v1/participants/erase", json={"email": EMAIL, "name": "x"}, headers=auth())
    assert extra.status_code == 422
    for role in ("front_desk", "facilitator"):
        refused = client.post("/api/v1/participants/erase", json={"email": EMAIL}, headers=auth(role))
        assert refused.status_code == 403
    export = "/api/v1/participants/export"
    assert client.get(export, query_string={"email": EMAIL}, headers=auth("facilitator")).status_code == 403
    # Nothing was erased by the refused calls.
    assert ok(client.get(export, query_string={"email": EMAIL}, headers=auth("front_desk")))["enrolments"]


# ---- retention --------------------------------------------------------------------------------


def _end_of(cohort):
    return max(s.ends_at for s in cohort.sessions)


def test_retention_erases_enrolments_of_cohorts_that_ended_long_enough_ago(app, client, auth, make_cohort):
    from datetime import date

    app.config["RETENTION_DAYS"] = 30
    old = make_cohort(price_amount=0, start_date=date(2030, 10, 3))
    recent = make_cohort(price_amount=0, start_date=date(2030, 10, 24))  # ends three weeks later
    gone = enrolled_with_phone(client, old)  # Sam was only in the old cohort
    both_old = enrolled_with_phone(client, old, name="Robin Twice", email="robin@example.org")
    both_new = enrolled_with_phone(client, recent, name="Robin Twice", email="robin@example.org")
    kept = enrolled_with_phone(client, recent, name="Kim Recent", email="kim@example.org")
    _load_jobs()
    assert JOBS["erase-after-retention"] is privacy_jobs.erase_after_retention
    assert timedelta(days=1) < _end_of(recent) - _end_of(old) < timedelta(days=30)

    with time_machine.travel(_end_of(old) + timedelta(days=29), tick=False):
        assert privacy_jobs.erase_after_retention() == 0  # not yet 30 days
    with time_machine.travel(_end_of(old) + timedelta(days=30, hours=1), tick=False):
        assert privacy_jobs.erase_after_retention() == 2
        assert privacy_jobs.erase_after_retention() == 0  # once

    rows = {e.id: e for e in db.session.scalars(select(Enrolment))}
    for erased in (gone["id"], both_old["id"]):
        assert (rows[erased].name, rows[erased].phone, rows[erased].erased_at is not None) == (ERASED_NAME, None, True)
        assert rows[erased].status == "confirmed"  # history stays: they took part
        messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.enrolment_id == erased)).all()
        assert messages and all(m.body_text == "" and m.to_address == "" and m.subject == "" for m in messages)
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.enrolment_id == erased, AuditEntry.action == "erased")
        ).all()
        assert entry.staff_id is None and entry.after["reason"] == "retention"
    for alive in (both_new["id"], kept["id"]):
        assert rows[alive].erased_at is None and rows[alive].name != ERASED_NAME
    # Sam had nothing else: gone entirely. Robin is still known by the recent enrolment.
    emails = set(db.session.scalars(select(Participant.email_normalised)))
    assert "sam.rivera@example.org" not in emails and "robin@example.org" in emails
    everything = stored_text()
    assert EMAIL.lower() not in everything and NAME.lower() not in everything
    assert "robin twice" in everything and "kim@example.org" in everything
    assert client.get(gone["manage_url"].removeprefix(BASE)).status_code in (403, 404)

    with time_machine.travel(_end_of(recent) + timedelta(days=31), tick=False):
        assert privacy_jobs.erase_after_retention() == 2
    assert "robin@example.org" not in set(db.session.scalars(select(Participant.email_normalised)))
    assert "robin" not in stored_text() and "kim@example.org" not in stored_text()


def test_retention_zero_keeps_everything(app, client, make_cohort):
    assert app.config["RETENTION_DAYS"] == 0
    cohort = make_cohort(price_amount=0)
    enrolled_with_phone(client, cohort)
    with time_machine.travel(_end_of(cohort) + timedelta(days=3650), tick=False):
        assert privacy_jobs.erase_after_retention() == 0
    assert EMAIL.lower() in stored_text()


def test_erasure_removes_the_mail_files_written_for_them(app, client, auth, make_cohort, tmp_path):
    """With no MAIL_URL, mail is kept as .eml files: those of the erased person go too."""
    app.config["MAIL_DIR"] = str(tmp_path)
    cohort = make_cohort(price_amount=0)
    enrolled_with_phone(client, cohort)
    enrolled_with_phone(client, cohort, name="Kim Stays", email="kim@example.org")
    mail_jobs.deliver_outbox()
    assert sum(EMAIL in path.read_text() for path in tmp_path.glob("*.eml")) == 1
    ok(client.post("/api/v1/participants/erase", json={"email": EMAIL}, headers=auth()))
    left = [path.read_text() for path in tmp_path.glob("*.eml")]
    assert len(left) == 1 and "kim@example.org" in left[0]
    assert not any(EMAIL.lower() in text.lower() or NAME in text for text in left)


def test_a_worker_sending_at_the_moment_of_erasure_cannot_write_the_row_back(app, client, auth, make_cohort):
    from scheduler.foundation import clock
    from scheduler.notifications import sender

    enrolled_with_phone(client, make_cohort(price_amount=0))
    [claimed] = sender.claim("wrk_test", clock.now(), limit=10)  # the confirmation, leased to a worker
    ok(client.post("/api/v1/participants/erase", json={"email": EMAIL}, headers=auth()))
    sender._finish(claimed, "wrk_test", status="sent", attempts=1, sent_at=clock.now())  # its outcome comes late
    row = db.session.get(OutboxMessage, claimed.id)
    db.session.refresh(row)
    assert (row.status, row.to_address, row.body_text, row.lease_owner) == ("skipped", "", "", None)
    assert "erased" in row.last_error
    assert sender.claim("wrk_other", clock.now() + timedelta(hours=1), limit=10) == []


def test_a_lapsed_hold_is_marked_expired_not_withdrawn_and_its_notice_never_goes(app, client, auth, make_cohort):
    from scheduler.foundation import clock

    held = enrolled_with_phone(client, make_cohort(price_amount=36000, manual_hold_hours=1))  # no Stripe: a manual hold
    assert held["status"] == "pending_payment"
    with time_machine.travel(clock.now() + timedelta(minutes=61), tick=False):
        summary = ok(client.post("/api/v1/participants/erase", json={"email": EMAIL}, headers=auth()))
    assert summary["enrolments"] == [
        {"id": held["id"], "cohort_id": held["cohort_id"], "status": "expired", "withdrawn": False, "refund": None}
    ]
    statuses = dict(db.session.execute(select(OutboxMessage.kind, OutboxMessage.status)).all())
    assert statuses == {"enrolment_received": "skipped", "hold_expired": "skipped"}


def test_attendance_is_exported_and_the_join_link_and_staff_emails_lose_the_person(
    app, client, auth, make_program, make_cohort, make_staff
):
    desk_member, desk_token = make_staff("front_desk", name="Dana Desk")
    desk = {"Authorization": f"Bearer {desk_token}"}
    cohort = make_cohort(program=make_program(price_amount=0), price_amount=0)
    sam = enrolled_with_phone(client, cohort)
    join_path = ok(client.get(f"/api/v1/enrolments/{sam['id']}", headers=desk))["join_url"].removeprefix(BASE)
    assert client.get(join_path).status_code == 200  # not open yet: a page saying when it opens
    for session in cohort.sessions[:4]:  # four missed in a row: the front desk is told
        with time_machine.travel(session.starts_at + timedelta(minutes=10), tick=False):
            marked = client.put(
                f"/api/v1/sessions/{session.id}/attendance",
                json={"records": [{"enrolment_id": sam["id"], "status": "absent"}]},
                headers=desk,
            )
            assert marked.status_code == 200, marked.get_json()
    after_fourth = cohort.sessions[3].starts_at + timedelta(days=1)
    with time_machine.travel(after_fourth, tick=False):
        note = f"Called {NAME} on {PHONE}; back next week."
        ok(client.post(f"/api/v1/enrolments/{sam['id']}/attendance-flag/clear", json={"note": note}, headers=desk))

    export = ok(client.get("/api/v1/participants/export", query_string={"email": EMAIL}, headers=desk))
    [enrolment] = export["enrolments"]
    assert [(a["session_number"], a["status"], a["recorded_by"]) for a in enrolment["attendance"]] == [
        (n, "absent", "Dana Desk") for n in (1, 2, 3, 4)
    ]
    [flag] = enrolment["attendance_flags"]
    assert (flag["missed_in_a_row"], flag["clear_note"], flag["cleared_by_id"]) == (4, note, desk_member.id)
    to_staff = [m for m in enrolment["messages"] if m["staff_id"]]
    assert to_staff and all(m["kind"] == "attendance_flag" and NAME in m["body_text"] for m in to_staff)
    assert (
        "join_[token removed]"
        in next(m for m in enrolment["messages"] if m["kind"] == "enrolment_confirmed")["body_text"]
    )

    with time_machine.travel(after_fourth + timedelta(hours=1), tick=False):
        ok(client.post("/api/v1/participants/erase", json={"email": EMAIL}, headers=auth("admin")))
    assert client.get(join_path).status_code == 404
    everything = stored_text()
    for trace in (EMAIL.lower(), NAME.lower(), PHONE):
        assert trace not in everything, trace
    assert "called [erased] on [erased]; back next week." in everything  # the note stays, without the identity
    # The attendance itself is kept (the clinic's record), tied to the erased enrolment only.
    kept = db.session.scalars(select(AttendanceRecord.status).where(AttendanceRecord.enrolment_id == sam["id"])).all()
    assert kept == ["absent"] * 4
