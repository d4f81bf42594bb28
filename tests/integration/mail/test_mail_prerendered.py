"""Messages are built when their row is written and sent as stored (issue 15, mail).

What the participant receives must not depend on when the message was built: the bytes
stored with the row are the bytes the sender would build from the row's columns at send
time, on the wire included. Stale stored bytes (columns changed since) are never sent,
erasure removes them, and outcomes written a batch at a time lose none on a failure.
"""

from datetime import timedelta

from sqlalchemy import select, update

from scheduler.enrolment import events
from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from scheduler.notifications.mime import build_email, digest, stored_bytes, wire_bytes
from scheduler.notifications.models import OutboxMessage
from scheduler.notifications.sender import deliver_outbox
from tests.helpers import announce


def _rows() -> list[OutboxMessage]:
    db.session.rollback()  # a fresh snapshot (SQLite's WAL keeps showing the old one otherwise)
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)))


def _people(make_cohort, make_enrolment):
    cohort = make_cohort()
    # A non-ASCII name in the body, a long header folded.
    confirmed = make_enrolment(cohort, timezone="Asia/Kolkata", name="Zoë Ångström-O'Brien")
    waiting = make_enrolment(cohort, status="waitlisted")
    announce(events.Confirmed(confirmed), events.Waitlisted(waiting, 1))
    return confirmed, waiting


def test_bytes_stored_when_written_equal_the_message_built_when_sent(app, make_cohort, make_enrolment):
    _people(make_cohort, make_enrolment)
    rows = _rows()
    assert {r.kind for r in rows} == {"enrolment_confirmed", "waitlisted"}
    for row in rows:
        assert row.mime and row.mime_digest == digest(row), row.kind
        assert row.mime == wire_bytes(build_email(row)), row.kind  # built again now, from the columns
        assert stored_bytes(row) == row.mime
    confirmation = next(r for r in rows if r.kind == "enrolment_confirmed")
    assert b"text/calendar" in confirmation.mime
    assert b"Message-ID: " + confirmation.message_id.encode() in confirmation.mime


def test_on_the_wire_a_prebuilt_message_is_the_message_built_at_send_time(
    app, make_cohort, make_enrolment, smtp_server
):
    """Sent once from the stored bytes, once built from the columns (send_message): the same bytes arrive."""
    app.config["MAIL_URL"] = smtp_server.url
    _people(make_cohort, make_enrolment)
    assert deliver_outbox()["sent"] == 2
    early = {m.message_id: m for m in smtp_server.messages}

    # The same rows again, without their stored bytes: the sender builds them as it always did.
    db.session.execute(
        update(OutboxMessage).values(status="pending", attempts=0, sent_at=None, mime=None, mime_digest=None)
    )
    db.session.commit()
    assert deliver_outbox()["sent"] == 2
    late = {m.message_id: m for m in smtp_server.messages[2:]}

    assert set(early) == set(late) and len(early) == 2
    for message_id, message in early.items():
        assert message.data == late[message_id].data
        assert message.mail_from == late[message_id].mail_from and message.rcpt_tos == late[message_id].rcpt_tos


def test_stale_stored_bytes_are_never_sent(app, make_cohort, make_enrolment, smtp_server):
    """A column changed without rebuilding the bytes: what goes is what the row now says."""
    app.config["MAIL_URL"] = smtp_server.url
    _, waiting = _people(make_cohort, make_enrolment)
    row = next(r for r in _rows() if r.enrolment_id == waiting.id)
    row.subject = "A corrected subject"
    db.session.commit()
    assert stored_bytes(row) is None  # the digest no longer matches
    deliver_outbox()
    [sent] = [m for m in smtp_server.messages if m.message_id == row.message_id]
    assert sent.message["Subject"] == "A corrected subject"


def test_erased_person_has_no_stored_bytes_left(app, client, auth, make_cohort, make_enrolment):
    confirmed, _ = _people(make_cohort, make_enrolment)
    response = client.post("/api/v1/participants/erase", json={"email": confirmed.email}, headers=auth())
    assert response.status_code < 300, response.get_json()
    for row in _rows():
        if row.enrolment_id == confirmed.id:
            assert (row.status, row.mime, row.mime_digest, row.body_text) == ("skipped", None, None, "")
    assert deliver_outbox(at=clock.now() + timedelta(hours=1)).get("sent", 0) == 0


def test_a_failure_mid_batch_loses_no_other_outcome(app, make_cohort, make_enrolment, smtp_server):
    """Outcomes are written a batch at a time: a connection lost half-way keeps every outcome before it.

    Batches of three: the first goes; in the second the server answers 421 to the first
    recipient and hangs up, so that row and the rest of its batch wait for a retry; the
    third batch, already claimed meanwhile, is handed back untouched.
    """
    app.config["MAIL_URL"] = smtp_server.url
    cohort = make_cohort(capacity=1)
    people = [make_enrolment(cohort, status="waitlisted") for _ in range(9)]
    announce(*(events.Waitlisted(person, n) for n, person in enumerate(people, 1)))
    broken = _rows()[1]
    broken.attachments = [{"filename": "x.ics", "content_type": "text/calendar", "content": "!!not base64!!"}]
    db.session.commit()
    smtp_server.refuse(421, times=1, stage="rcpt", after=2)

    counts = deliver_outbox(at=clock.now(), batch_size=3)
    assert counts == {"sent": 2, "retry": 3, "failed": 1}
    rows = _rows()
    first, second, third = rows[:3], rows[3:6], rows[6:]
    assert [r.status for r in first] == ["sent", "failed", "sent"]
    assert first[1].last_error.startswith("cannot build the message:") and first[1].attempts == 1
    assert all(r.sent_at is not None and r.attempts == 1 for r in (first[0], first[2]))
    assert all(r.status == "pending" and r.attempts == 1 and r.last_error for r in second)
    assert all(r.status == "pending" and r.attempts == 0 and r.last_error is None for r in third)
    assert not [r for r in rows if r.lease_owner is not None or r.status == "sending"]

    later = deliver_outbox(at=clock.now() + timedelta(minutes=2), batch_size=3)
    assert later == {"sent": 6, "retry": 0, "failed": 0}
    received = [m.message_id for m in smtp_server.messages]
    assert sorted(received) == sorted(r.message_id for r in rows if r.id != broken.id)  # each exactly once


def test_bytes_are_built_after_the_commit_outside_the_writers_lock(app, make_cohort, make_enrolment):
    """A message written under a lock (here: announce's write transaction) is committed without
    its bytes; they are stored right after the commit. A rolled-back write builds nothing."""
    from scheduler.foundation.database import write_transaction
    from scheduler.foundation.events import publish

    cohort = make_cohort()
    waiting = make_enrolment(cohort, status="waitlisted")
    db.session.commit()
    inside = []
    with write_transaction():
        publish(events.Waitlisted(waiting, 1))
        db.session.flush()
        inside = [(row.kind, row.mime) for row in db.session.scalars(select(OutboxMessage))]
    assert inside == [("waitlisted", None)]  # not built while the lock was held
    [row] = _rows()
    assert row.mime == wire_bytes(build_email(row)) and row.mime_digest == digest(row)

    class Undone(Exception):
        pass

    try:
        with write_transaction():
            publish(events.Waitlisted(waiting, 1))
            raise Undone
    except Undone:
        pass
    announce()  # a later, empty write: nothing left over from the rolled-back one is built or stored
    assert [r.id for r in _rows()] == [row.id]
