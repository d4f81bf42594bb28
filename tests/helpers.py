"""Small helpers shared by tests (fixtures live in conftest.py and tests/stripe_double.py)."""

import html
import re
from datetime import timedelta

from sqlalchemy import event, select

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
    """`enrol`, then check the status is one of `expect` (by default: 201, a new enrolment); returns the body."""
    response = enrol(client, cohort, email, name, **kwargs)
    assert response.status_code in expect, response.get_json()
    return response.get_json()


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
