"""The sender's database work: outcomes recorded as they happen, and leases renewed while sending.

Each outcome is written as soon as the server has answered for that message, before the
next one goes: a worker killed mid-batch repeats at most the message in hand (its row
stays `sending` and goes again after the lease, under the same Message-ID). While a batch
is sent, the rows not yet sent have their lease renewed well before it would end, so that
no other worker takes over a row this one still means to send (renew).
"""

from collections.abc import Callable

from sqlalchemy import case, literal, update
from sqlalchemy.engine import Row

from ..foundation import clock
from ..foundation.database import write_transaction
from ..foundation.extensions import db
from .models import OutboxMessage, OutboxStatus


class Outcomes:
    """Outcomes waiting to be written: the sender writes them after every message (write())."""

    def __init__(self, owner: str, scrub: Callable[[Row], dict]):
        self.owner, self.scrub = owner, scrub
        self.waiting: list[tuple[Row, dict]] = []

    def add(self, row: Row, **values) -> None:
        if values.get("status") in ("sent", "failed"):
            values.update(self.scrub(row))
        self.waiting.append((row, values))

    def write(self) -> None:
        waiting, self.waiting = self.waiting, []
        if not waiting:
            return
        now = clock.now()
        for _, values in waiting:
            if values.get("status") == "sent":
                values.setdefault("sent_at", now)
        record(waiting, self.owner)


def renew(owner: str, ids: list[str], until) -> set[str]:
    """Extend `owner`'s lease on these rows to `until`; returns the ids it still held (the others
    were taken over after its lease ran out, and must not be sent by it)."""
    if not ids:
        return set()
    table = OutboxMessage.__table__
    with write_transaction():
        return set(
            db.session.scalars(
                update(table)
                .where(table.c.id.in_(ids), table.c.lease_owner == owner, table.c.status == OutboxStatus.SENDING)
                .values(lease_expires_at=until)
                .returning(table.c.id)
            )
        )


def record(outcomes: list[tuple[Row, dict]], owner: str) -> None:
    """Write these outcomes, for the rows `owner` still holds, in one transaction.

    Only the lease holder may record an outcome: if this worker stalled past its
    lease and another took the row over (or the person was erased meanwhile), the
    other's outcome stands. One UPDATE per shape of outcome (sent, retry, …) for all
    its rows: a value the rows share is set once, one that differs (sent_at) by id.
    """
    table = OutboxMessage.__table__
    shapes: dict[tuple, list[tuple[str, dict]]] = {}
    for row, values in outcomes:
        shapes.setdefault(tuple(sorted(values)), []).append((row.id, values))
    with write_transaction():
        for columns, items in shapes.items():
            assignments = {}
            for column in columns:
                kind = table.c[column].type
                first = items[0][1][column]
                if all(values[column] == first for _, values in items):
                    assignments[column] = literal(first, kind)
                else:
                    by_id = {row_id: literal(values[column], kind) for row_id, values in items}
                    assignments[column] = case(by_id, value=table.c.id)
            db.session.execute(
                update(table)
                .where(
                    table.c.id.in_([row_id for row_id, _ in items]),
                    table.c.lease_owner == owner,
                    table.c.status == OutboxStatus.SENDING,
                )
                .values(lease_owner=None, lease_expires_at=None, **assignments)
            )
