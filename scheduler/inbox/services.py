"""Receiving a public request (the same work for every address) and handling the inbox in order."""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ..foundation import clock, shutdown
from ..foundation.database import end_read, is_sqlite, write_transaction
from ..foundation.errors import Conflict, DomainError, Invalid, NotFound, Unavailable
from ..foundation.extensions import db
from ..foundation.plugins import PlugIn
from .models import Outcome, PublicRequest

log = logging.getLogger(__name__)

# {kind: (handle, refuse)}: handle(request) -> (Outcome, result_id) runs inside the handling
# transaction, with the request's fields; it raises Conflict, Invalid or NotFound when the request
# can no longer be done, and then refuse(request, error) (or nothing, when None) tells the person
# why, in a transaction of its own. Installed by wiring.py.
handlers = PlugIn("handle a public request of each kind: {kind: (handle(request), refuse(request, error))}")

MAX_ATTEMPTS = 5  # an unexpected failure is retried on later passes this many times, then set aside
# Only one worker takes the head of the queue at a time (PostgreSQL; SQLite's BEGIN IMMEDIATE already
# serialises writers), so requests are handled in arrival order however many workers run.
_INBOX_LOCK = 0x5EC0_1B0C


@dataclass(frozen=True)
class Received:
    """The answer to a public request, the same for every address: the email says the rest."""

    email: str
    expires_at: datetime
    status: str = "check_email"


def receive(
    kind: str, email: str, payload: dict, *, expires_at: datetime, subject_id=None, idempotency_key=None
) -> Received:
    """Write one request to the inbox and answer it; nothing about the address is read.

    A retry with the same Idempotency-Key (for this kind and subject) gets the first answer,
    its deadline included, and adds no row; the same key with a different request is a 409.
    """
    digest = _hash(email, payload)
    if idempotency_key:
        first = _first_with_key(kind, subject_id, idempotency_key)
        if first is not None:
            return _replay(first, email, digest)
    request = PublicRequest(
        kind=kind,
        subject_id=subject_id,
        email=email,
        payload=payload,
        idempotency_key=idempotency_key or None,
        request_hash=digest if idempotency_key else None,  # kept only to tell a retry from another request
        created_at=clock.now(),
        expires_at=expires_at,
        attempts=0,
    )
    try:
        with write_transaction():
            db.session.add(request)
    except IntegrityError:  # the same key, sent twice at once: the other one was first
        db.session.rollback()
        first = _first_with_key(kind, subject_id, idempotency_key) if idempotency_key else None
        if first is None:
            raise
        return _replay(first, email, digest)
    return Received(email, expires_at)


def _first_with_key(kind, subject_id, key) -> PublicRequest | None:
    return db.session.scalar(
        select(PublicRequest).where(
            PublicRequest.kind == kind, PublicRequest.subject_id == subject_id, PublicRequest.idempotency_key == key
        )
    )


def _replay(first: PublicRequest, email: str, digest: str) -> Received:
    if first.request_hash != digest:
        raise Conflict("This Idempotency-Key was already used for a different request; use a new key for a new one.")
    # The same hash: the same address (which a settled request no longer keeps).
    return Received(email, first.expires_at)


def _hash(email: str, payload: dict) -> str:
    return hashlib.sha256(json.dumps([email, payload], sort_keys=True, default=str).encode()).hexdigest()


# ---- the worker's side -----------------------------------------------------------------------


def handle_requests(limit: int = 1000) -> int:
    """Handle waiting requests in arrival order, one transaction each; returns how many were settled.

    Each request is claimed once, however many workers run: a worker takes the head of the queue
    only while it holds the inbox's lock (released at each commit); the others find it taken and
    leave the queue to it for this pass. A stop asked of the process ends it between requests.
    """
    settled = 0
    while settled < limit and not shutdown.requested() and waiting_any():
        seq = None
        try:
            with write_transaction():
                request = _claim_head()
                if request is None:
                    break
                seq = request.seq
                handle, _refuse = handlers.value[request.kind]
                outcome, result_id = handle(request)
                _settle(request, outcome, result_id)
        except (Conflict, Invalid, NotFound) as error:
            if not _refused(seq, error):
                continue  # another worker settled it meanwhile
        except (Unavailable, OperationalError):  # a lock held too long, the database away: next pass
            db.session.rollback()
            log.warning("public request %s waits: the database is busy or away", seq)
            break
        except Exception as error:  # a bug or an outage: retried on a later pass, then set aside
            db.session.rollback()
            log.exception("handling a public request failed")
            if seq is not None:
                _failed(seq, error)
            break
        settled += 1
    return settled


def _claim_head() -> PublicRequest | None:
    """The oldest waiting request, once this transaction holds the inbox (None: empty, or another worker's)."""
    if not is_sqlite() and not db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _INBOX_LOCK}):
        return None
    return db.session.scalar(
        select(PublicRequest)
        .where(PublicRequest.settled_at.is_(None), PublicRequest.attempts < MAX_ATTEMPTS)
        .order_by(PublicRequest.seq)
        .limit(1)
        .execution_options(populate_existing=True)
    )


def _settle(request: PublicRequest, outcome: str, result_id: str | None) -> None:
    """Mark the request done; what the person typed goes (the outcome's own rows keep what they need)."""
    request.settled_at = clock.now()
    request.outcome = outcome
    request.result_id = result_id
    request.email = None
    request.payload = None


def _refused(seq: int, error: DomainError) -> bool:
    """The use case refused (the cohort closed since, a code used up): tell the person, settle.

    False when another worker settled the request meanwhile."""
    with write_transaction():
        request = _claim_head()
        if request is None or request.seq != seq:
            return False
        _handle, refuse = handlers.value[request.kind]
        if refuse is not None:
            refuse(request, error)
        _settle(request, Outcome.REFUSED, None)
    return True


def _failed(seq: int, error: Exception) -> None:
    """Count a failed attempt; the last one sets the request aside (outcome failed, still unsettled)."""
    with write_transaction():
        db.session.execute(
            update(PublicRequest)
            .where(PublicRequest.seq == seq, PublicRequest.settled_at.is_(None))
            .values(
                attempts=PublicRequest.attempts + 1,
                last_error=f"{type(error).__name__}: {error}"[:2000],
                outcome=case((PublicRequest.attempts + 1 >= MAX_ATTEMPTS, Outcome.FAILED.value), else_=None),
            )
        )


def waiting_any() -> bool:
    """Whether a request waits (one indexed read, so that an idle worker's poll takes no write lock)."""
    found = db.session.scalar(
        select(PublicRequest.seq)
        .where(PublicRequest.settled_at.is_(None), PublicRequest.attempts < MAX_ATTEMPTS)
        .limit(1)
    )
    end_read()  # the write transaction that follows begins afresh
    return found is not None


def forget(email: str | None, result_ids: list[str]) -> int:
    """Delete the requests of an erased person: those waiting with this address, and those settled
    into these enrolments (their request hash covers the address). Returns how many went."""
    conditions = [PublicRequest.result_id.in_(result_ids)] if result_ids else []
    if email:
        conditions.append(func.lower(PublicRequest.email) == email.strip().lower())
    if not conditions:
        return 0
    return db.session.execute(delete(PublicRequest).where(or_(*conditions))).rowcount


def waiting_for(email: str) -> list[PublicRequest]:
    """The requests with this address not yet handled (a privacy export lists them)."""
    return db.session.scalars(
        select(PublicRequest)
        .where(PublicRequest.settled_at.is_(None), func.lower(PublicRequest.email) == email.strip().lower())
        .order_by(PublicRequest.seq)
    ).all()
