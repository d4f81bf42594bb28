"""Issue 35: the privacy export and erasure cover public requests not yet carried out, and the
messages to an address about no enrolment (a request that could not be carried out); the export
names every kind of record it holds."""

from sqlalchemy import func, select

from scheduler.enrolment import requested
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db
from scheduler.inbox.models import PublicRequest
from scheduler.notifications.models import OutboxMessage
from tests.helpers import enrolled, handle_inbox

KINDS = {
    "enrolments",
    "payments",
    "refunds",
    "messages",
    "audit",
    "attendance",
    "attendance_flags",
    "agreements",
    "requests",
    "other_messages",
    "intakes",
    "appointments",
}


def _export(client, auth, email):
    return client.get("/api/v1/participants/export", query_string={"email": email}, headers=auth("front_desk"))


def test_the_export_names_every_kind_of_record_and_holds_the_requests_not_yet_carried_out(client, auth, make_cohort):
    cohort, later = make_cohort(price_amount=0), make_cohort(price_amount=0)
    enrolled(client, cohort, "sam@example.org", "Sam Rivera")
    requested.request_enrolment(later.id, {"name": "Sam Rivera", "email": "Sam@Example.org", "phone": "+1 555 0199"})
    body = _export(client, auth, "sam@example.org").get_json()
    assert set(body["holds"]) == KINDS
    assert body["holds"]["enrolments"] == 1 and body["holds"]["requests"] == 1 and body["holds"]["messages"] == 1
    [waiting] = body["requests"]
    assert (waiting["kind"], waiting["cohort_id"], waiting["sent"]["phone"]) == ("enrol", later.id, "+1 555 0199")
    handle_inbox()  # carried out: the request keeps nothing, the enrolment holds it all
    again = _export(client, auth, "sam@example.org").get_json()
    assert again["requests"] == [] and again["holds"]["enrolments"] == 2


def test_an_address_with_only_a_refused_request_is_exported_and_erased(client, auth, make_cohort):
    cohort = make_cohort(price_amount=0)
    requested.request_enrolment(cohort.id, {"name": "Lee Park", "email": "lee@example.org"})
    with write_transaction():
        db.session.get(type(cohort), cohort.id).status = "closed"
    handle_inbox()  # refused by email: no enrolment, no participant
    body = _export(client, auth, "LEE@example.org").get_json()
    assert body["participant"] is None and body["enrolments"] == []
    [message] = body["other_messages"]
    assert message["kind"] == "request_refused" and "Hello Lee Park" in message["body_text"]


def test_erasure_deletes_the_waiting_requests_and_blanks_mail_about_no_enrolment(client, auth, make_cohort):
    cohort, closing = make_cohort(price_amount=0), make_cohort(price_amount=0)
    enrolled(client, cohort, "sam@example.org", "Sam Rivera")
    requested.request_enrolment(closing.id, {"name": "Sam Rivera", "email": "sam@example.org"})
    with write_transaction():
        db.session.get(type(closing), closing.id).status = "closed"
    handle_inbox()  # refused: a message to the address about no enrolment
    requested.request_enrolment(cohort.id, {"name": "Sam Rivera", "email": "sam@example.org"})  # still waiting
    summary = client.post("/api/v1/participants/erase", json={"email": "sam@example.org"}, headers=auth("admin"))
    assert summary.status_code == 200, summary.get_json()
    # The one that enrolled and the waiting one; the refused one kept nothing of the person.
    assert summary.get_json()["requests_deleted"] == 2
    db.session.rollback()
    left = db.session.execute(select(PublicRequest.outcome, PublicRequest.email, PublicRequest.request_hash)).all()
    assert left == [("refused", None, None)]
    leftovers = db.session.scalars(select(OutboxMessage).where(func.lower(OutboxMessage.to_address).contains("sam")))
    assert leftovers.all() == []
