"""One message that cannot be built or sent fails alone, with its reason; the rest of its batch goes (issue 14, 2).

Before: a row whose Subject held a line break made build_email raise, the deliver
job aborted mid-batch, the row stayed `sending` with no error, and the bystanders
claimed with it never went out. The rows here are written directly, as rows made
before the validation existed would be.
"""

from datetime import timedelta

from sqlalchemy import select

from scheduler.enrolment import events
from scheduler.foundation import clock
from scheduler.foundation.database import new_id
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.notifications.sender import deliver_outbox
from tests.helpers import announce


def _broken_copy(good: OutboxMessage, **changes) -> OutboxMessage:
    columns = {c.name: getattr(good, c.name) for c in OutboxMessage.__table__.columns}
    columns.update(id=new_id("msg"), message_id=f"<{new_id('m')}@scheduler.test>", dedupe_key=None, **changes)
    row = OutboxMessage(**columns)
    db.session.add(row)
    return row


def _rows():
    db.session.rollback()
    return {r.id: r for r in db.session.scalars(select(OutboxMessage))}


def test_unbuildable_rows_fail_alone_and_the_batch_goes_on(app, make_cohort, make_enrolment, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    cohort = make_cohort()
    people = [make_enrolment(cohort, status="waitlisted") for _ in range(4)]
    announce(*(events.Waitlisted(person, position) for position, person in enumerate(people, 1)))
    good = sorted(_rows().values(), key=lambda r: r.created_at)
    # Interleave broken rows (same created_at order slot as the good ones around them).
    base = good[0]
    broken = {
        _broken_copy(base, subject="Group\nBcc: everyone@example.org", created_at=good[0].created_at).id: "linefeed",
        _broken_copy(
            base,
            attachments=[{"filename": "x.ics", "content_type": "text/calendar", "content": "!!not base64!!"}],
            created_at=good[1].created_at,
        ).id: "attachment",
        _broken_copy(base, to_address="sam\u2028@example.org", created_at=good[2].created_at).id: "address",
    }
    db.session.commit()

    counts = deliver_outbox(at=clock.now(), batch_size=100)
    assert counts == {"sent": 4, "retry": 0, "failed": 3}
    rows = _rows()
    assert {rid for rid, r in rows.items() if r.status == "sent"} == {r.id for r in good}
    for rid in broken:
        row = rows[rid]
        assert row.status == "failed" and row.attempts == 1 and row.lease_owner is None, (broken[rid], row.status)
        assert row.last_error.startswith("cannot build the message:"), row.last_error
    assert "linefeed" in rows[next(k for k, v in broken.items() if v == "linefeed")].last_error
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == sorted(p.email for p in people)
    # Nothing is left half-way, and a later pass has nothing to do.
    assert not [r for r in rows.values() if r.status == "sending"]
    assert deliver_outbox(at=clock.now() + timedelta(hours=2)) == {"sent": 0, "retry": 0, "failed": 0}


def test_a_message_that_cannot_be_serialised_fails_alone_in_small_batches(
    app, make_cohort, make_enrolment, smtp_server
):
    """Batches of one: the bad row is alone in its claim and the next claims still happen."""
    app.config["MAIL_URL"] = smtp_server.url
    cohort = make_cohort()
    first, second = (make_enrolment(cohort, status="waitlisted") for _ in range(2))
    announce(events.Waitlisted(first, 1))
    [template] = _rows().values()
    bad = _broken_copy(
        template,
        body_text="fine",
        attachments=[{"filename": "a\ud800.bin", "content_type": "application/octet-stream", "content": "AAAA"}],
        created_at=template.created_at - timedelta(seconds=1),
    )
    db.session.commit()
    announce(events.Waitlisted(second, 2))

    counts = deliver_outbox(at=clock.now(), batch_size=1)
    assert counts == {"sent": 2, "retry": 0, "failed": 1}
    rows = _rows()
    assert rows[bad.id].status == "failed" and rows[bad.id].last_error
    assert len(smtp_server.messages) == 2


def test_the_file_transport_is_as_robust(app, make_cohort, make_enrolment, tmp_path):
    app.config["MAIL_DIR"] = str(tmp_path / "mail")
    person = make_enrolment(make_cohort(), status="waitlisted")
    announce(events.Waitlisted(person, 1))
    [good] = _rows().values()
    _broken_copy(good, subject="a\r\nb", created_at=good.created_at - timedelta(seconds=1))
    db.session.commit()
    assert deliver_outbox() == {"sent": 1, "retry": 0, "failed": 1}
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
