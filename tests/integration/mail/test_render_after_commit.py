"""Messages written under the cohort's lock are rendered after the commit (issue 15, enrolment burst).

The outbox row is written in the enrolment's transaction, unrendered (its values stored);
the request renders it just after the commit, and the sender renders any row that was not.
What the person receives must not depend on which: a message rendered late is the message
rendering it when it was written would have given, byte for byte on the wire. An erasure
that comes between the commit and the rendering leaves nothing to render.
"""

from sqlalchemy import select, update

from scheduler.enrolment.models import Enrolment
from scheduler.foundation.extensions import db
from scheduler.notifications import outbox
from scheduler.notifications.mime import prebuilt
from scheduler.notifications.models import OutboxMessage
from scheduler.notifications.sender import deliver_outbox
from scheduler.privacy.erasure import erase_participant
from tests.helpers import handle_inbox


def _rows() -> list[OutboxMessage]:
    db.session.rollback()  # a fresh snapshot
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)))


def _enrol_leaving_messages_unrendered(client, make_cohort, monkeypatch) -> list[dict]:
    """Three requests, one message kind each, whose after-commit step is kept back (as if the
    worker stopped right after the commit); returns what each would have rendered, to run later."""
    kept_back = []
    monkeypatch.setattr(outbox, "_finish_after_commit", kept_back.append)
    cohort = make_cohort(capacity=1, price_amount=24000)
    url = f"/api/v1/cohorts/{cohort.id}/enrolments"
    first = {"name": "Zoë Ångström-O'Brien", "email": "zoe@example.org", "timezone": "Asia/Kolkata"}
    # Every public request is answered "check your email"; the email says what happened.
    assert client.post(url, json=first).status_code == 202  # the seat held until the link is opened
    assert client.post(url, json={"name": "Ben", "email": "ben@example.org"}).status_code == 202  # waitlisted
    assert client.post(url, json=first).status_code == 202  # already enrolled: its owner is told
    handle_inbox()  # the worker carries the three out; the messages' rendering after each commit is kept back
    monkeypatch.undo()
    return kept_back


def _early(row: OutboxMessage) -> dict:
    """The row's content as rendering it when it was written gives (its own Message-ID and date)."""
    enrolment = db.session.get(Enrolment, row.enrolment_id)
    values = outbox.render(enrolment, row.kind, **row.render_values)  # outside a transaction: bytes built now
    own = {name: getattr(row, name) for name in ("message_id", "created_at", "from_address", "to_address")}
    values.update(own)
    values.update(prebuilt(values))
    return values


def test_a_message_rendered_after_the_commit_equals_the_message_rendered_when_written(
    app, client, make_cohort, monkeypatch
):
    kept_back = _enrol_leaving_messages_unrendered(client, make_cohort, monkeypatch)
    rows = _rows()
    assert sorted(r.kind for r in rows) == ["already_enrolled", "enrolment_received", "waitlisted"]
    assert all(r.render_values is not None and r.body_text == "" and r.mime is None for r in rows)
    early = {row.id: _early(row) for row in rows}

    for later in kept_back:  # what the requests do just after their commit
        outbox._finish_after_commit(later)
    for row in _rows():
        assert row.render_values is None, row.kind
        for name in ("subject", "body_text", "body_html", "attachments", "mime", "mime_digest"):
            assert getattr(row, name) == early[row.id][name], (row.kind, name)
        assert row.subject and row.body_text and row.mime


def test_the_sender_renders_a_message_the_request_did_not_and_sends_what_rendering_early_gave(
    app, client, make_cohort, monkeypatch, smtp_server
):
    app.config["MAIL_URL"] = smtp_server.url
    _enrol_leaving_messages_unrendered(client, make_cohort, monkeypatch)
    rows = _rows()
    early = {row.message_id: _early(row) for row in rows}

    assert deliver_outbox()["sent"] == 3
    received = {m.message_id: m.data for m in smtp_server.messages}
    assert set(received) == set(early)
    for message_id, data in received.items():
        assert data.rstrip(b"\r\n") == early[message_id]["mime"].rstrip(b"\r\n"), message_id
    for row in _rows():
        assert row.status == "sent" and row.render_values is None
        assert row.body_text == early[row.message_id]["body_text"] and row.mime == early[row.message_id]["mime"]


def test_an_erasure_between_the_commit_and_the_rendering_leaves_nothing_to_render(
    app, client, make_cohort, make_staff, monkeypatch
):
    kept_back = _enrol_leaving_messages_unrendered(client, make_cohort, monkeypatch)
    staff, _ = make_staff("admin")
    erase_participant("zoe@example.org", staff)
    for later in kept_back:
        outbox._finish_after_commit(later)
    for row in _rows():
        if row.to_address == "":  # Zoë's: erased, and so they stay
            assert row.render_values is None and row.body_text == "" and row.subject == "" and row.mime is None
        else:
            assert row.render_values is None and "Ben" in row.body_text


def test_a_skipped_message_never_rendered_is_rendered_when_resent(app, client, make_cohort, auth, monkeypatch):
    _enrol_leaving_messages_unrendered(client, make_cohort, monkeypatch)
    row = next(r for r in _rows() if r.kind == "waitlisted")
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(status="skipped"))
    db.session.commit()
    answer = client.post(f"/api/v1/enrolments/{row.enrolment_id}/messages/{row.id}/resend", headers=auth("admin"))
    assert answer.status_code in (200, 201), answer.get_json()
    copy = next(r for r in _rows() if r.resend_of == row.id)
    assert copy.render_values is None and copy.subject.startswith("Your personal link") and copy.mime
