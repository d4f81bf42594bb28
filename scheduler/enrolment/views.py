"""An enrolment as every use case reads and returns it: the view (EnrolmentView: the row, plus its
account, waitlist position, how to pay, and what higher domains describe), loading and locking an
enrolment (lock_enrolment takes its cohort's lock), and waitlist positions."""

from dataclasses import dataclass, field

from sqlalchemy import select

from ..cohorts.models import Cohort
from ..foundation.database import lock_one, require_write
from ..foundation.errors import NotFound
from ..foundation.extensions import db
from ..foundation.plugins import PlugIn
from ..payments.accounts import Account, accounts
from . import prices
from .models import Enrolment
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
