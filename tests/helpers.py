"""Small helpers shared by tests (fixtures live in conftest.py and tests/stripe_double.py)."""

import html
import re
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import event, func, select

from scheduler.foundation.database import write_transaction
from scheduler.foundation.events import publish
from scheduler.foundation.extensions import db

URL = re.compile(r"""(?:https?|webcal)://[^\s"'<>)]+""")


def links(text: str) -> set[str]:
    """Every link in a text or HTML body, as a person would click it."""
    return {u.rstrip(".,;") for u in URL.findall(html.unescape(text))}


def bearer(token: str) -> dict:
    """Headers that send `token` (a staff token or an enrolment's manage token) as the credential."""
    return {"Authorization": f"Bearer {token}"}


def as_participant(enrolment: dict) -> dict:
    """Headers of the person who made `enrolment` (an enrolment body from the API): its manage token."""
    return bearer(enrolment["manage_token"])


def enrol(client, cohort, email="sam@example.org", name="Sam Rivera", *, headers=None, **fields):
    """POST an enrolment to the public API and return the response, whatever its status.

    `cohort` is a cohort or its id; `fields` go into the JSON body next to name and email (phone,
    timezone, price_level, discount_code, pay_at_desk, …); `headers` are sent as given (a staff
    token, an Idempotency-Key, X-Forwarded-For)."""
    cohort_id = getattr(cohort, "id", cohort)
    return client.post(
        f"/api/v1/cohorts/{cohort_id}/enrolments", json={"name": name, "email": email, **fields}, headers=headers
    )


def enrolled(client, cohort, email="sam@example.org", name="Sam Rivera", *, expect=(201,), **kwargs) -> dict:
    """Enrol as the person would and return the enrolment's body with its manage token.

    A staff call (headers with a staff token) answers 201 with the enrolment. A public one may
    answer 202 check_email: the request waits in the inbox; this then runs the worker's job
    once, opens the link the newest email to `email` carries (the API with its manage token,
    which starts the hold and the card payment) and returns what the person's page shows, plus
    manage_token and manage_url. `expect`: the statuses allowed for an answer with a body."""
    response = enrol(client, cohort, email, name, **kwargs)
    if response.status_code == 202:
        assert response.get_json()["status"] == "check_email", response.get_json()
        return follow_email(client, getattr(cohort, "id", cohort), email)
    assert response.status_code in expect, response.get_json()
    return response.get_json()


def cohort_form(client, cohort) -> dict:
    """What a browser holds after opening the cohort page: its form's CSRF and idempotency fields."""
    cohort_id = getattr(cohort, "id", cohort)
    page = client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    return {n: re.search(rf'name="{n}" value="([^"]*)"', page)[1] for n in ("csrf_token", "idempotency_key")}


def handle_inbox() -> int:
    """Run the worker's inbox job once (what `flask --app wsgi jobs run-once` does first)."""
    from scheduler.inbox.services import handle_requests

    db.session.rollback()  # read what is committed now, not a snapshot an earlier read began
    return handle_requests()


def emailed_link(cohort_id: str, email: str) -> tuple[str, str]:
    """The (enrolment id, manage token) that the newest email to `email` about this cohort links to,
    once the worker has handled the requests waiting (as the person waits for the email).

    Read from the enrolment the email was written for, as the link in it carries exactly these."""
    from scheduler.enrolment.models import Enrolment
    from scheduler.notifications.models import OutboxMessage

    handle_inbox()
    db.session.rollback()
    row = db.session.execute(
        select(Enrolment.id, Enrolment.manage_token)
        .join(OutboxMessage, OutboxMessage.enrolment_id == Enrolment.id)
        .where(
            Enrolment.cohort_id == cohort_id,
            func.lower(OutboxMessage.to_address) == email.lower(),
            OutboxMessage.staff_id.is_(None),
        )
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(1)
    ).one()
    db.session.rollback()
    return row.id, row.manage_token


def follow_email(client, cohort_id: str, email: str) -> dict:
    """Handle the inbox, then open the link emailed to `email` about this cohort: the enrolment's body."""
    from scheduler.foundation.links import manage_url

    enrolment_id, token = emailed_link(cohort_id, email)
    response = client.get(f"/api/v1/enrolments/{enrolment_id}", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    link = manage_url(SimpleNamespace(id=enrolment_id, manage_token=token))
    return {**response.get_json(), "manage_token": token, "manage_url": link}


opened = follow_email


def enrol_opened(cohort_id: str, data: dict):
    """Request a place through the service as the public does, then open the emailed link: the
    Enrolment a person who asked and opened their email has (seat held the normal length, payment opened)."""
    from scheduler.enrolment import requested
    from scheduler.enrolment.models import Enrolment

    answer = requested.request_enrolment(cohort_id, data)
    assert answer.status == "check_email", answer
    enrolment_id, _ = emailed_link(cohort_id, data["email"])
    requested.open_link(enrolment_id)
    return db.session.get(Enrolment, enrolment_id)


def announce(*events) -> None:
    """Publish domain events in a write transaction of their own, as a service would."""
    with write_transaction():
        for event in events:
            publish(event)


class QueryCounter:
    """Counts the SQL statements run while it is open: `with QueryCounter() as q: …; q.count`."""

    def __init__(self):
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, *args, **kwargs):
        self.count += 1
        self.statements.append(statement)

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self)


def add_session_after_last(cohort_id: str) -> None:
    """Add a session a week after the cohort's last one, through the ORM (no route adds a session
    today; what is kept from sessions must follow whatever writes one)."""
    from scheduler.cohorts.models import Session

    with write_transaction():
        last = db.session.scalars(
            select(Session).where(Session.cohort_id == cohort_id).order_by(Session.number.desc())
        ).first()
        starts = last.starts_at + timedelta(days=7)
        db.session.add(
            Session(
                cohort_id=cohort_id,
                number=last.number + 1,
                title="Extra",
                starts_at=starts,
                ends_at=starts + timedelta(minutes=90),
            )
        )
