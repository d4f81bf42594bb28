"""Issue 21: the privacy export lists a person's intakes (with the outcome and its audit), and erasure
withdraws an open one (declining a seat offered meanwhile) and leaves nothing that names the person."""

from sqlalchemy import func, or_, select

from scheduler.admission.models import Intake
from scheduler.foundation.extensions import db
from scheduler.inbox.models import PublicRequest
from scheduler.notifications.models import OutboxMessage
from tests.integration.admission.test_intakes import requested


def test_export_and_erasure_cover_intakes(client, auth, make_program, make_cohort):
    program = make_program(admission="intake")
    make_cohort(program=program, capacity=1, price_amount=0)
    desk = auth("front_desk")
    intake_id, me = requested(client, program, "sam@example.org", name="Sam Rivera", phone="+1 555 0199")
    client.post(
        f"/api/v1/intakes/{intake_id}/outcome",
        json={"outcome": "approved", "note": "Sam Rivera is ready", "message": "Welcome, Sam."},
        headers=desk,
    )
    offer_id = client.get(f"/api/v1/intakes/{intake_id}", headers=me).json["offer_enrolment_id"]
    assert offer_id
    exported = client.get("/api/v1/participants/export", query_string={"email": "sam@example.org"}, headers=desk)
    body = exported.get_json()
    assert body["holds"]["intakes"] == 1 and body["holds"]["enrolments"] == 1  # the offered seat
    [intake] = body["intakes"]
    assert (intake["id"], intake["phone"], intake["message"]) == (intake_id, "+1 555 0199", "Welcome, Sam.")
    assert [entry["action"] for entry in intake["audit"]] == ["outcome", "offered"]

    erased = client.post("/api/v1/participants/erase", json={"email": "sam@example.org"}, headers=auth("admin"))
    assert erased.status_code == 200, erased.get_json()
    assert erased.json["intakes_erased"] == 1
    db.session.rollback()
    row = db.session.get(Intake, intake_id)
    assert row.status == "withdrawn" and row.erased_at is not None
    assert (row.phone, row.outcome_note, row.outcome_message) == (None, None, None)
    assert client.get(f"/api/v1/intakes/{intake_id}", headers=me).status_code == 404  # the old link is dead
    assert client.get(f"/api/v1/enrolments/{offer_id}", headers=desk).json["status"] == "withdrawn"
    named = or_(Intake.name.contains("Sam"), func.lower(Intake.email).contains("sam@"), Intake.phone.is_not(None))
    assert db.session.scalars(select(Intake).where(named)).all() == []
    assert db.session.scalars(select(PublicRequest).where(PublicRequest.result_id == intake_id)).all() == []
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.body_text.contains("Sam Rivera"))).all()
    assert mail == []
