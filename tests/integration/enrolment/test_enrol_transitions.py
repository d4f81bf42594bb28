"""Every action on an enrolment in every status, over HTTP: the contract's moves work, the rest are 409."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from scheduler.cohorts.models import Cohort
from scheduler.enrolment.jobs import expire_holds_and_offers
from scheduler.enrolment.models import AuditEntry, Enrolment
from scheduler.foundation.database import write_transaction
from scheduler.foundation.extensions import db
from tests.helpers import enrolled

T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
STATUSES = ["pending_payment", "waitlisted", "offered", "confirmed", "expired", "withdrawn", "cancelled"]

# action -> (statuses it works from, the status it leads to)
ACTIONS = {
    "withdraw": ({"pending_payment", "waitlisted", "offered", "confirmed"}, "withdrawn"),
    "accept": ({"offered"}, "pending_payment"),
    "decline": ({"offered"}, "withdrawn"),
    "payment": ({"pending_payment"}, "pending_payment"),
    "confirm": ({"pending_payment", "offered", "waitlisted"}, "confirmed"),
    "offer": ({"waitlisted"}, "offered"),
    "move": ({"waitlisted"}, "waitlisted"),
    "transfer": ({"confirmed"}, "confirmed"),
}
BODIES = {"confirm": {"method": "cash", "amount": 100}, "move": {"position": 1}}


def _in_status(client, make_cohort, desk, status):
    """An enrolment in `status` in a cohort with a free seat, made through the API."""
    cohort = make_cohort(capacity=1, price_amount=100)
    if status in ("waitlisted", "offered"):
        first = enrolled(client, cohort.id, "first@example.org")
        target = enrolled(client, cohort.id, "target@example.org")
        assert target["status"] == "waitlisted"
        if status == "offered":
            client.post(f"/api/v1/enrolments/{first['id']}/withdraw", headers=desk)
        else:
            # Free a seat without the automatic offer, so that staff actions have room.
            with write_transaction():
                db.session.execute(update(Cohort).where(Cohort.id == cohort.id).values(capacity=2))
        return target, cohort
    target = enrolled(client, cohort.id, "target@example.org")
    if status == "confirmed":
        client.post(f"/api/v1/enrolments/{target['id']}/confirm", headers=desk, json={"method": "cash", "amount": 100})
    elif status == "withdrawn":
        client.post(f"/api/v1/enrolments/{target['id']}/withdraw", headers=desk)
    elif status == "cancelled":
        client.patch(f"/api/v1/cohorts/{cohort.id}", headers=desk, json={"status": "cancelled"})
    elif status == "expired":
        with write_transaction():
            db.session.execute(
                update(Enrolment).where(Enrolment.id == target["id"]).values(hold_expires_at=T0 - timedelta(minutes=1))
            )
        expire_holds_and_offers()
    return target, cohort


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("status", STATUSES)
def test_action_in_status(client, make_cohort, auth, status, action):
    desk = auth("front_desk")
    with time_machine.travel(T0, tick=False):
        target, cohort = _in_status(client, make_cohort, desk, status)
        assert db.session.get(Enrolment, target["id"]).status == status
        extra = {}
        if action == "transfer":
            extra = {"cohort_id": make_cohort(capacity=5, price_amount=100).id}
        audit_before = len(db.session.scalars(select(AuditEntry)).all())
        response = client.post(
            f"/api/v1/enrolments/{target['id']}/{action}", headers=desk, json=BODIES.get(action, extra)
        )
        db.session.rollback()
        allowed, becomes = ACTIONS[action]
        now = db.session.get(Enrolment, target["id"])
        if status in allowed:
            assert response.status_code == 200, response.json
            assert now.status == becomes
            if action != "payment":
                assert len(db.session.scalars(select(AuditEntry)).all()) > audit_before
        else:
            assert response.status_code == 409, response.json
            assert response.mimetype == "application/problem+json"
            assert now.status == status
            assert len(db.session.scalars(select(AuditEntry)).all()) == audit_before
