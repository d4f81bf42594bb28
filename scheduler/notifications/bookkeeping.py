"""The sender's database work, kept off the sending path: outcomes written a batch at a time,
and claims and writes run on a thread of their own while the next messages go out.

A worker that waited for the database between sends would spend a fifth of its time
waiting (bench/mail.py); here the database work of one batch overlaps the sending of
the next. Nothing is written out of turn: one thread runs the jobs in the order given,
and the worker waits for all of them before it returns.
"""

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from flask import current_app
from sqlalchemy import case, literal, update
from sqlalchemy.engine import Row

from ..foundation import clock
from ..foundation.database import write_transaction
from ..foundation.extensions import db
from .models import OutboxMessage, OutboxStatus

RECORD_EVERY = 1.0  # seconds: outcomes waiting longer than this are written before the next send


class Books:
    """One thread for the sender's claims and writes, each run in its own app context and session."""

    def __init__(self):
        self.app = current_app._get_current_object()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-books")
        self.writes: list[Future] = []

    def _run(self, work: Callable, *args):
        with self.app.app_context():
            try:
                return work(*args)
            finally:
                db.session.remove()

    def later(self, work: Callable, *args) -> Future:
        return self.pool.submit(self._run, work, *args)

    def write(self, work: Callable, *args) -> None:
        self.writes.append(self.later(work, *args))

    def close(self) -> None:
        """Wait for every job; raise the first write that failed (its rows stay leased, and go again)."""
        self.pool.shutdown(wait=True)
        for done in self.writes:
            done.result()


class Outcomes:
    """Outcomes of a batch, kept in memory and written together in one short transaction.

    `write()` runs at the end of each batch, before any send once the oldest waiting
    outcome is RECORD_EVERY old, and when delivery stops for any reason (an exception,
    a signal): only a killed process loses them, and its rows are then sent again.
    """

    def __init__(self, owner: str, scrub: Callable[[Row], dict], books: Books | None = None):
        self.owner, self.scrub, self.books = owner, scrub, books
        self.waiting: list[tuple[Row, dict]] = []
        self.since = 0.0

    def add(self, row: Row, **values) -> None:
        if values.get("status") in ("sent", "failed"):
            values.update(self.scrub(row))
        if not self.waiting:
            self.since = time.monotonic()
        self.waiting.append((row, values))

    def due(self) -> bool:
        return bool(self.waiting) and time.monotonic() - self.since >= RECORD_EVERY

    def write(self) -> None:
        waiting, self.waiting = self.waiting, []
        if not waiting:
            return
        # One sent_at for the lot (within RECORD_EVERY of each acceptance): a value the rows
        # share is one bind, where one per row would be a CASE of a hundred branches.
        now = clock.now()
        for _, values in waiting:
            if values.get("status") == "sent":
                values.setdefault("sent_at", now)
        if self.books is None:
            record(waiting, self.owner)
        else:
            self.books.write(record, waiting, self.owner)


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
