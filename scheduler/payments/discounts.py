"""Discount codes: what a code takes off a price, whether it may be used now, and staff's list.

A code's uses are counted from the enrolments that carry it (the enrolment domain
registers the counter, as it does for seats): an enrolment that is active, or that
was ever confirmed, holds a use; one that ended before it was confirmed (a lapsed
hold, a declined offer) gives its use back. Taking a use runs under the code's row
lock (`redeem`), after the cohort's, so that racing enrolments, in one cohort or in
several cohorts of a program, never take the last use twice.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..cohorts.models import Cohort, Program
from ..foundation import clock
from ..foundation.database import Page, lock, lock_one, paginate, require_write, write_transaction
from ..foundation.errors import Conflict, Invalid
from ..foundation.extensions import db
from ..foundation.plugins import PlugIn
from .models import DiscountCode

FIELD = "discount_code"

# ---- uses: counted by the enrolment domain (scheduler/wiring.py installs how) -------------------

use_counter = PlugIn("count a discount code's uses: counter(code_ids) -> {code_id: uses}")


def uses(code_ids: list[str]) -> dict[str, int]:
    return use_counter(code_ids)


def normalise(code: str) -> str:
    return code.strip().upper()


@dataclass(frozen=True)
class Applied:
    """A code applied to a price: the row, and how much it took off."""

    code: DiscountCode
    amount: int


# What the public is told of any code it cannot use: the same words whether the code does not
# exist, was withdrawn, expired, is spent or is for another group (a code's existence is not news).
CANNOT_USE = "This discount code cannot be used for this group; check it, or enrol without it."


def redeem(code_text: str, cohort: Cohort, price: int, at: datetime, *, say_why: bool = True) -> Applied:
    """Check that `code_text` may take something off `price` in `cohort` now, and lock it.

    Runs inside the caller's write transaction after the cohort's lock; the code's row
    stays locked until the enrolment that uses it commits. A wrong, withdrawn, expired,
    spent or inapplicable code is Invalid on the `discount_code` field: saying which when
    `say_why` (staff), else CANNOT_USE for every one of them (the public).
    """
    require_write()
    [code] = lock(DiscountCode, where=[DiscountCode.code == normalise(code_text)]) or [None]
    refusal = _refusal(code, cohort, price, at)
    if refusal is not None:
        raise Invalid.field(FIELD, refusal if say_why else CANNOT_USE)
    return Applied(code, code.discount_on(price))


def check(code_text: str, cohort: Cohort, price: int, at: datetime) -> None:
    """Refuse, as redeem() would tell the public, a code that cannot be used here now; locks nothing.

    For answering a public request before it is queued: whether a use is left is settled when
    the request is handled, under the cohort's lock (redeem).
    """
    code = db.session.scalar(select(DiscountCode).where(DiscountCode.code == normalise(code_text)))
    if _refusal(code, cohort, price, at) is not None:
        raise Invalid.field(FIELD, CANNOT_USE)


def _refusal(code: DiscountCode | None, cohort: Cohort, price: int, at: datetime) -> str | None:
    """Why `code` may not take anything off `price` in `cohort` at `at`, or None when it may."""
    if code is None:
        return "No such discount code; check the spelling."
    if not code.active:
        return "This discount code is no longer offered."
    if code.expires_at is not None and code.expires_at <= at:
        return f"This discount code expired on {code.expires_at:%Y-%m-%d}."
    if code.cohort_id is not None and code.cohort_id != cohort.id:
        return "This discount code is for another group, not this one."
    if code.program_id is not None and code.program_id != cohort.program_id:
        return "This discount code is for another program, not this one."
    if code.amount_off is not None and code.currency != cohort.currency:
        return (
            f"This discount code is for prices in {code.currency.upper()}; this group is priced in "
            f"{cohort.currency.upper()}."
        )
    if price <= 0:
        return "There is nothing to pay here, so no discount code is needed."
    if code.max_uses is not None and uses([code.id]).get(code.id, 0) >= code.max_uses:
        return "This discount code has been used up."
    return None


# ---- staff: create, list, disable -----------------------------------------------------------


@dataclass(frozen=True)
class CodeView:
    """A code as staff see it: the row, and how many uses it has taken."""

    row: DiscountCode
    uses: int

    def __getattr__(self, name):
        return getattr(self.row, name)


def create_code(data: dict, staff) -> CodeView:
    """A new discount code (percent or amount off, optionally for one program or cohort)."""
    with write_transaction():
        data = dict(data)
        data["code"] = normalise(data["code"])
        program = cohort = None
        if data.get("program_id"):
            program = db.session.get(Program, data["program_id"])
            if program is None:
                raise Invalid.field("program_id", "No such program.")
        if data.get("cohort_id"):
            cohort = db.session.get(Cohort, data["cohort_id"])
            if cohort is None:
                raise Invalid.field("cohort_id", "No such cohort.")
            if program is not None and cohort.program_id != program.id:
                raise Invalid.field("cohort_id", "That cohort belongs to another program than program_id.")
        if data.get("amount_off") is not None:
            scoped = cohort.currency if cohort else program.currency if program else None
            data["currency"] = data.get("currency") or scoped
            if data["currency"] is None:
                raise Invalid.field("currency", "Give the currency of amount_off (a code for every program).")
            if scoped is not None and data["currency"] != scoped:
                raise Invalid.field("currency", f"The {'cohort' if cohort else 'program'} is priced in {scoped}.")
        else:
            data.pop("currency", None)
        if db.session.scalar(select(DiscountCode.id).where(DiscountCode.code == data["code"])) is not None:
            raise Conflict(
                _l("The code %(code)s already exists; choose another, or disable the old one.", code=data["code"])
            )
        code = DiscountCode(**data, created_by_staff_id=staff.id if staff else None)
        db.session.add(code)
    return CodeView(code, 0)


def list_codes(query: dict) -> Page:
    """Every code, newest first (with `active` to filter), each with its uses."""
    stmt = select(DiscountCode).order_by(DiscountCode.created_at.desc(), DiscountCode.id)
    if query.get("active") is not None:
        stmt = stmt.where(DiscountCode.active == query["active"])
    if query.get("program_id"):
        stmt = stmt.where(DiscountCode.program_id == query["program_id"])
    if query.get("cohort_id"):
        stmt = stmt.where(DiscountCode.cohort_id == query["cohort_id"])
    page = paginate(stmt, query["page"], query["page_size"])
    counted = uses([c.id for c in page.items])
    page.items = [CodeView(c, counted.get(c.id, 0)) for c in page.items]
    return page


def update_code(code_id: str, data: dict) -> CodeView:
    """Disable (or re-enable) a code, change its limit or expiry; uses already taken stay."""
    with write_transaction():
        code = lock_one(DiscountCode, code_id)
        for key, value in data.items():
            setattr(code, key, value)
        code.updated_at = clock.now()
    return CodeView(code, uses([code.id]).get(code.id, 0))
