"""An enrolment as every use case reads and returns it, and what they all share.

The view a use case returns (EnrolmentView: the row, plus its account, waitlist position, how to
pay), the cohort lock taken through an enrolment (lock_enrolment), waitlist positions, and the
audit log (record). The use cases themselves live beside this module, each depending only on
the ones below it:

    staff_actions   what staff do: search, roster, waitlist, move, offer, confirm, price, transfer, audit
    self_service    the participant's own enrolment: manage token, view, withdraw, accept, decline
    enrolling       enrol: idempotency, the participant, the price, a seat, a hold or the waitlist
    paying          paying for a held seat: card or desk, how to pay now, desk payments, receipts
    seat_keeping    seats changing hands: lapsed holds and offers, offers to the waitlist, payment
                    confirming a seat, a cancelled cohort
    refunding       money going back: the refund policy, refunding, refunds the desk owes
    services        (this module) views, locks, audit, waitlist positions

Above them: api.py (HTTP), rosters.py (the roster rendered once per cohort revision),
checkout.py (Stripe's webhook and the card-payment jobs), jobs.py and handlers.py; below:
prices.py, seats.py, models.py, events.py. .importlinter holds the order.

Lock, recount, write: every change that can take or free a seat runs inside write_transaction(),
first takes the cohort row's lock (lock_enrolment / lock_cohort), then counts seats from the
enrolment rows (seats.py), then writes. Stripe is called only after the commit
(payments.ledger.create_intent). People hear of every change through events (events.py) that the
notifications domain subscribes to; staff actions are written to the audit log.
"""

from dataclasses import dataclass, field

from sqlalchemy import select

from ..cohorts.models import Cohort
from ..foundation.database import lock_one, require_write
from ..foundation.errors import NotFound
from ..foundation.extensions import db
from ..foundation.plugins import PlugIn
from ..payments.accounts import Account, accounts
from . import prices
from .models import AuditEntry, Enrolment
from .models import EnrolmentStatus as S


@dataclass(frozen=True)
class EnrolmentView:
    """An enrolment as a use case leaves it: the row, plus what the row does not store."""

    enrolment: Enrolment
    waitlist_position: int | None = None
    payment: dict | None = None
    refund: dict | None = None
    # Its payments and refunds (the ledger), loaded with the view (lists load a page's at once).
    loaded_account: Account | None = None
    # What a transfer did to the money, explained (set by transfer()).
    transfer: dict | None = None
    # What higher domains know of it (attendance: per-session records, missed run, flag).
    extras: dict = field(default_factory=dict)

    def __getattr__(self, name):  # the row's own fields, for the schemas
        return getattr(self.enrolment, name)

    @property
    def account(self) -> Account:
        return self.loaded_account if self.loaded_account is not None else self.enrolment.account

    @property
    def amount_paid(self) -> int:
        return self.account.paid

    @property
    def amount_refunded(self) -> int:
        return self.account.refunded

    @property
    def balance(self) -> int:
        return self.enrolment.owes(self.account)


def view(enrolment: Enrolment, position: int | None = None, **extra) -> EnrolmentView:
    """An enrolment as a use case returns it, with its account read fresh from the ledger."""
    return EnrolmentView(enrolment, position, loaded_account=prices.account_of(enrolment), **extra)


def views(enrolments, positions: dict | None = None, extras: dict | None = None) -> list[EnrolmentView]:
    """Views of many enrolments, with every account loaded in two queries (lists stay constant)."""
    loaded = accounts([e.id for e in enrolments])
    return [
        EnrolmentView(e, (positions or {}).get(e.id), loaded_account=loaded[e.id], extras=(extras or {}).get(e.id, {}))
        for e in enrolments
    ]


# Higher domains describe enrolments too (attendance does): `describer(enrolments) -> {enrolment_id:
# {field: value}}`, for a whole list in a constant number of queries (scheduler/wiring.py installs them).
describers = PlugIn("describe enrolments for their views: [describer(enrolments) -> {enrolment_id: {field: value}}]")


def describe(enrolments: list[Enrolment]) -> dict[str, dict]:
    """What the installed describers add to each of these enrolments: {enrolment_id: {field: value}}."""
    merged: dict[str, dict] = {e.id: {} for e in enrolments}
    if enrolments:
        for describer in describers.value:
            for enrolment_id, values in describer(enrolments).items():
                merged[enrolment_id].update(values)
    return merged


def snapshot(enrolment: Enrolment, **extra) -> dict:
    """The enrolment as the audit log records it, before or after a change."""
    # Columns only (no ledger read per entry: attendance audits a whole session at once);
    # the actions that move money add what was paid and what is left (paid_now, balance, refund).
    snap = {"status": str(enrolment.status), "amount_due": enrolment.amount_due, "cohort_id": enrolment.cohort_id}
    snap.update(extra)
    return snap


def iso(instant) -> str | None:
    """An instant as the audit log writes it (UTC, to the second)."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ") if instant else None


def record_cohort_change(cohort, staff, action: str, before: dict, after: dict) -> None:
    """Add an audit entry for a change to a cohort itself (its meeting link, settings)."""
    db.session.add(
        AuditEntry(cohort_id=cohort.id, staff_id=staff.id if staff else None, action=action, before=before, after=after)
    )


def record(enrolment: Enrolment, staff, action: str, before: dict | None, **extra) -> None:
    """Add an audit entry for a change (participants' own actions and jobs carry no staff)."""
    db.session.add(
        AuditEntry(
            enrolment_id=enrolment.id,
            staff_id=staff.id if staff else None,
            action=action,
            before=before,
            after=snapshot(enrolment, **extra),
        )
    )


def load_enrolment(enrolment_id: str) -> Enrolment:
    """The enrolment row, unlocked (NotFound otherwise); writers use lock_enrolment."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound("No such enrolment.")
    return enrolment


def lock_enrolment(enrolment_id: str) -> Enrolment:
    """Lock the enrolment's cohort row and return the enrolment (NotFound otherwise).

    Runs inside write_transaction(); the cohort lock is what serialises every seat change.
    """
    require_write()
    cohort_id = db.session.scalar(select(Enrolment.cohort_id).where(Enrolment.id == enrolment_id))
    if cohort_id is None:
        raise NotFound("No such enrolment.")
    lock_one(Cohort, cohort_id)
    enrolment = load_enrolment(enrolment_id)
    # The cohort may have changed (a transfer) between the read above and the lock.
    if enrolment.cohort_id != cohort_id:
        lock_one(Cohort, enrolment.cohort_id)
    return enrolment


def waitlist_positions(cohort_ids: set[str]) -> dict[str, int]:
    """Waitlist position (1 is next) of every waitlisted enrolment of these cohorts, in one query."""
    positions: dict[str, int] = {}
    if cohort_ids:
        rows = db.session.execute(
            select(Enrolment.id, Enrolment.cohort_id)
            .where(Enrolment.cohort_id.in_(cohort_ids), Enrolment.status == S.WAITLISTED)
            .order_by(Enrolment.cohort_id, Enrolment.waitlist_rank, Enrolment.id)
        )
        counter: dict[str, int] = {}
        for eid, cid in rows:
            counter[cid] = counter.get(cid, 0) + 1
            positions[eid] = counter[cid]
    return positions


def waitlist_position(enrolment: Enrolment) -> int | None:
    """1 for the next in line; None unless waitlisted."""
    if enrolment.status != S.WAITLISTED:
        return None
    return waitlist_positions({enrolment.cohort_id}).get(enrolment.id)
