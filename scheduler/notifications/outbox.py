"""Writing the outbox: add one message for one person, rendered (rendering.py), to the caller's
transaction; finish what waits for the commit; queue the due reminders.

Nothing here commits. A message is rendered in full when written (subject, text,
HTML, attachments), so what is sent is what was true when the change committed,
and a retry sends the same bytes under the same Message-ID.
"""

from datetime import datetime, timedelta
from functools import partial
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.util import identity_key

from ..cohorts.models import Cohort, CohortStatus, Session, SessionStatus
from ..enrolment.models import Enrolment, EnrolmentStatus
from ..foundation import clock
from ..foundation.database import after_commit, dialect_insert, new_id, transaction_state, write_transaction, writing
from ..foundation.extensions import db
from .mime import prebuilt, rebuild
from .models import MessageKind, OutboxMessage, OutboxStatus
from .rendering import new_message_id, render_columns, render_to_address, render_to_staff


def queue(
    enrolment, kind: str, *, session=None, dedupe_key: str | None = None, attachments: list | None = None, **extra
) -> OutboxMessage:
    """Render message `kind` for this enrolment's person and add it to the session (no commit).

    Inside a write transaction, a message whose values are plain data is written unrendered
    and rendered just after the commit (render_later).
    """
    if writing() and session is None and not attachments and _plain(extra):
        return render_later(enrolment, kind, dedupe_key, extra)
    message = OutboxMessage(
        **render(enrolment, kind, session=session, attachments=attachments, **extra), dedupe_key=dedupe_key
    )
    db.session.add(message)
    return message


def _plain(value) -> bool:
    """Whether a value comes back from a JSON column as it went in (no rows, no dates, no tuples)."""
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False


def render_later(enrolment, kind: str, dedupe_key: str | None, values: dict) -> OutboxMessage:
    """Write message `kind` now, unrendered (its values stored), and render it once this commits.

    The outbox row is in the transaction, so the message exists exactly when the change it
    reports does; only the templates' work (a few milliseconds, loading the sessions) moves
    out of the lock that the caller holds and others wait for. The row keeps its own
    Message-ID, address and dates from now, so that rendering it after the commit, or in the
    sender should that not happen, gives what rendering it now would have given
    (tests/integration/mail/test_render_after_commit.py).
    """
    at = clock.now()
    message = OutboxMessage(
        id=new_id("msg"),
        enrolment_id=enrolment.id,
        kind=kind,
        dedupe_key=dedupe_key,
        message_id=new_message_id(),
        from_address=current_app.config["MAIL_FROM"],
        to_address=enrolment.email,
        subject="",
        body_text="",
        body_html="",
        attachments=[],
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=at,
        created_at=at,
        render_values=values,
    )
    db.session.add(message)
    own = SimpleNamespace(**{name: getattr(message, name) for name in _OWN})
    _after_this_commit()[_RENDER].append((own, enrolment, kind, values))
    return message


# The columns render() gives that a row rendered late takes from it, and those it keeps its own.
_CONTENT = ("subject", "body_text", "body_html", "attachments")
_OWN = ("id", "message_id", "created_at", "from_address", "to_address")


def rendered_columns(row, enrolment, kind: str, values: dict) -> dict:
    """The content of an unrendered row, rendered now; with `mime`, `mime_digest` and no render_values."""
    content = render_columns(enrolment, kind, **values)
    done = {name: content[name] for name in _CONTENT}
    own = {name: getattr(row, name) for name in _OWN}
    done.update(prebuilt({**content, **own, **done}), render_values=None)
    return done


def render_row(row) -> dict | None:
    """Render an unrendered row (an ORM row or the sender's plain one); None if its enrolment is gone."""
    enrolment = db.session.get(Enrolment, row.enrolment_id) if row.enrolment_id else None
    if enrolment is None:
        return None
    return rendered_columns(row, enrolment, row.kind, row.render_values)


def ensure_rendered(message: OutboxMessage) -> None:
    """Render this row in place if it was written unrendered (for readers of its content)."""
    if message.render_values is not None:
        done = render_row(message)
        if done is not None:
            for name, value in done.items():
                setattr(message, name, value)


def render(enrolment, kind: str, *, session=None, attachments=None, **extra) -> dict:
    """The columns of an outbox row for `kind`, addressed to this enrolment's person only."""
    values = render_columns(enrolment, kind, session=session, attachments=attachments, **extra)
    # The bytes to send, built once this commits, so that the sender only sends them (mime.py).
    values.update(prebuilt_after_commit(values))
    return values


_LATER = "outbox_after_commit"
_PREBUILD, _RENDER = "prebuild", "render"


def _after_this_commit() -> dict:
    """The messages this transaction wrote that are rendered or built once it commits."""
    state = transaction_state()
    if _LATER not in state:
        state[_LATER] = {_PREBUILD: [], _RENDER: []}
        after_commit(partial(_finish_after_commit, state[_LATER]))
    return state[_LATER]


def prebuilt_after_commit(values: dict) -> dict:
    """`prebuilt(values)`, but built once the writing transaction has committed.

    A message is mostly written by a use case holding a lock others wait for (a cohort's
    row; on SQLite the database): building its bytes there (a few milliseconds of header
    work) would make every waiting enrolment wait longer. So the row is written without
    them and they are stored just after the commit, outside every lock, in one short
    transaction for all the rows of that commit. Should that not happen (the process
    stops in between, or the sender was quicker), the sender builds them from the columns,
    as for any row without bytes; and bytes stored for columns that changed meanwhile
    are never sent (their digest no longer matches).
    """
    if not writing():
        return prebuilt(values)
    _after_this_commit()[_PREBUILD].append(dict(values))
    return {"mime": None, "mime_digest": None}


def _finish_after_commit(later: dict) -> None:
    """Render the rows written unrendered and build the bytes of the others: one short transaction."""
    built = [{"row_id": values["id"], "text": values["body_text"], **prebuilt(values)} for values in later[_PREBUILD]]
    built = [row for row in built if row["mime"] is not None]
    rendered = [
        {"row_id": own.id, **rendered_columns(own, enrolment, kind, values)}
        for own, enrolment, kind, values in later[_RENDER]
    ]
    if not built and not rendered:
        return
    table = OutboxMessage.__table__
    # The rows the committed transaction left loaded stay so (its answer is made from them);
    # only the messages changed here are read again when next used.
    with write_transaction(keep_loaded=True):
        if built:
            db.session.execute(
                update(table)
                .where(
                    table.c.id == bindparam("row_id"),
                    table.c.mime.is_(None),
                    table.c.status == OutboxStatus.PENDING,
                    # Not for a row blanked meanwhile (erasure): its text is gone, and so stays its copy.
                    table.c.body_text == bindparam("text"),
                )
                .values(mime=bindparam("mime"), mime_digest=bindparam("mime_digest")),
                built,
            )
        if rendered:
            db.session.execute(
                update(table)
                # Only while still unrendered: the sender may have been quicker, and an erasure
                # clears render_values with the rest, so that nothing is written back.
                .where(table.c.id == bindparam("row_id"), table.c.render_values.is_not(None))
                .values({name: bindparam(name) for name in (*_CONTENT, "mime", "mime_digest", "render_values")}),
                rendered,
            )
    for row in (*built, *rendered):
        loaded = db.session.identity_map.get(identity_key(OutboxMessage, row["row_id"]))
        if loaded is not None:
            db.session.expire(loaded)


def queue_to_staff(member, kind: str, *, about=None, dedupe_key: str | None = None, **extra) -> OutboxMessage:
    """Render message `kind` for one staff member (about an enrolment, when given) and add it (no commit).

    Each staff member gets a message of their own; it is not listed among the messages sent to
    the participant it is about.
    """
    return _add_rendered(
        member.email,
        kind,
        render_to_staff(member, kind, **extra),
        enrolment_id=about.id if about is not None else None,
        staff_id=member.id,
        dedupe_key=dedupe_key,
    )


def queue_to_address(email: str, name: str, kind: str, *, subject: str | None = None, **extra) -> OutboxMessage:
    """Render message `kind` for an address that has no enrolment (a refused public request, an
    intake) and add it; `subject`: its own neutral subject instead of the answer's."""
    return _add_rendered(email, kind, render_to_address(email, name, kind, subject=subject, **extra))


def _add_rendered(to_address: str, kind: str, rendered: dict, **columns) -> OutboxMessage:
    """A message rendered now (subject and bodies), its bytes built, added to the session (no commit)."""
    message = OutboxMessage(
        id=new_id("msg"),
        kind=kind,
        message_id=new_message_id(),
        from_address=current_app.config["MAIL_FROM"],
        to_address=to_address,
        **rendered,
        **columns,
        attachments=[],
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=clock.now(),
        created_at=clock.now(),
    )
    rebuild(message)
    db.session.add(message)
    return message


def queue_reminders(at: datetime | None = None) -> int:
    """Write a reminder for each confirmed person of each session starting within REMINDER_HOURS.

    One transaction. The dedupe key (session, enrolment) is unique, and the insert
    skips rows another worker or an earlier run already wrote, so each person gets one
    reminder per session however often and wherever this runs.
    """
    at = at or clock.now()
    until = at + timedelta(hours=current_app.config["REMINDER_HOURS"])
    with write_transaction():
        pairs = db.session.execute(
            select(Session, Enrolment)
            .join(Cohort, Cohort.id == Session.cohort_id)
            .join(Enrolment, Enrolment.cohort_id == Cohort.id)
            .where(
                Session.status == SessionStatus.SCHEDULED,
                Cohort.status != CohortStatus.CANCELLED,
                Enrolment.status == EnrolmentStatus.CONFIRMED,
                Session.starts_at > at,
                Session.starts_at <= until,
            )
            .order_by(Session.starts_at, Enrolment.id)
        ).all()
        keys = {f"reminder:{s.id}:{e.id}": (s, e) for s, e in pairs}
        if not keys:
            return 0
        written = set(
            db.session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(keys))))
        )
        rows = []
        for key, (session, enrolment) in keys.items():
            if key not in written:
                row = render(enrolment, MessageKind.REMINDER, session=session)
                row["dedupe_key"] = key
                rows.append(row)
        if rows:
            db.session.execute(_insert_ignoring_duplicates(rows))
    return len(rows)


def _insert_ignoring_duplicates(rows: list[dict]):
    return dialect_insert(OutboxMessage.__table__).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
