"""To a server that offers PIPELINING the sender sends MAIL, RCPT and DATA at once (issue 15, mail).

What arrives and what is recorded must not depend on it: the same envelope and bytes as
smtplib's sendmail(), and, when the server refuses one message of a batch, that message
alone gets its outcome (failed with the refusal, or retried later), the others are sent
once each on the same connection, pipelined or not.
"""

import smtplib
from datetime import timedelta
from email.utils import parseaddr

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from scheduler.enrolment import events
from scheduler.foundation import clock
from scheduler.foundation.extensions import db
from scheduler.notifications.models import OutboxMessage
from scheduler.notifications.sender import deliver_outbox
from scheduler.notifications.transports import _PLAIN_ADDRESS, pipelined_sendmail, quoteaddr
from tests.helpers import announce
from tests.smtp_server import SMTPServer


@pytest.fixture(params=[True, False], ids=["pipelining", "one-command-at-a-time"])
def server(request):
    server = SMTPServer(pipelining=request.param).start()
    yield server
    server.stop()


def _rows() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)))


def test_one_refused_message_in_a_batch_gets_its_own_outcome_and_the_rest_go_once(
    app, make_cohort, make_enrolment, server
):
    app.config["MAIL_URL"] = server.url
    cohort = make_cohort(capacity=1)
    people = [make_enrolment(cohort, status="waitlisted") for _ in range(6)]
    announce(*(events.Waitlisted(person, n) for n, person in enumerate(people, 1)))
    server.refuse(550, times=1, stage="rcpt", after=1)  # the second message: its recipient refused
    server.refuse(451, times=1, stage="data", after=2)  # the fourth (third to reach DATA): try later
    at = clock.now()

    counts = deliver_outbox(at=at, batch_size=100)

    assert counts == {"sent": 4, "retry": 1, "failed": 1}
    rows = _rows()
    assert [r.status for r in rows] == ["sent", "failed", "sent", "pending", "sent", "sent"]
    refused, later = rows[1], rows[3]
    assert refused.attempts == 1 and refused.last_error.startswith(f"{refused.to_address}: 550 ")
    assert refused.refused_recipients == {refused.to_address: [550, "5.1.1 Mailbox unavailable"]}
    assert later.attempts == 1 and later.last_error.startswith("451 ") and later.next_attempt_at > at
    assert all(r.attempts == 1 and r.sent_at and r.last_error is None for r in rows if r.status == "sent")
    assert not [r for r in rows if r.lease_owner is not None]
    received = {m.message_id: m for m in server.messages}
    assert len(server.messages) == 4 == len(received)  # each once
    for row in rows:
        if row.status == "sent":
            message = received[row.message_id]
            assert message.data == row.mime and message.rcpt_tos == [row.to_address]
            assert message.mail_from == parseaddr(row.from_address)[1]

    assert deliver_outbox(at=at + timedelta(minutes=2)) == {"sent": 1, "retry": 0, "failed": 0}
    assert [m.message_id for m in server.messages[4:]] == [later.message_id]


def test_pipelined_sending_puts_the_same_envelope_and_bytes_on_the_wire_as_sendmail():
    """Dot-stuffing, the final line ending, SIZE and the envelope: as smtplib's sendmail() does them."""
    data = b"Subject: dots\r\n\r\n.a line that starts with a dot\r\n..and two\r\nno final line ending"
    server = SMTPServer().start()
    try:
        with smtplib.SMTP("127.0.0.1", server.port) as conn:
            conn.ehlo()
            assert conn.has_extn("pipelining")
            assert pipelined_sendmail(conn, "groups@scheduler.test", "kim@example.org", data) == {}
            assert conn.sendmail("groups@scheduler.test", ["kim@example.org"], data) == {}
            server.refuse(550, times=1, stage="rcpt")
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                pipelined_sendmail(conn, "groups@scheduler.test", "lee@example.org", data)
            assert pipelined_sendmail(conn, "groups@scheduler.test", "lee@example.org", data) == {}  # reset: goes on
        piped, plain, after = server.messages
        assert piped == plain and after.rcpt_tos == ["lee@example.org"]
        assert piped.data == data + b"\r\n"  # the server undoes the dot-stuffing: the message as given
    finally:
        server.stop()


@given(st.from_regex(_PLAIN_ADDRESS, fullmatch=True) | st.text() | st.emails())
def test_an_address_is_quoted_in_the_envelope_as_smtplib_quotes_it(address):
    assert quoteaddr(address) == smtplib.quoteaddr(address)
