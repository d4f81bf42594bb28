"""What an enrolment owes: its price (level, discount, staff's word), what was paid, the balance.

The payments ledger says what was paid and refunded (payments/accounts.py); this module
says what that means for an enrolment. The balance is what the person still owes while
the enrolment is active, and nothing once it has ended (a withdrawal or a lapse settles
what was paid through the refund policy, not through a balance).
"""

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from ..cohorts.joining import prorated
from ..cohorts.models import Cohort
from ..foundation.errors import Invalid
from ..foundation.extensions import db
from ..payments import discounts
from ..payments.accounts import Account, accounts
from .models import ACTIVE, Enrolment


@dataclass(frozen=True)
class Price:
    """What a person will owe for a seat, and how it was arrived at."""

    before_discount: int
    level: str | None = None
    discount: discounts.Applied | None = None

    @property
    def amount_due(self) -> int:
        return self.before_discount - (self.discount.amount if self.discount else 0)


def level_price(cohort: Cohort, code: str) -> int:
    """The amount of the program's price level `code` for this cohort (Invalid on `price_level`)."""
    level = cohort.price_level(code)
    if level is None:
        known = ", ".join(item["code"] for item in cohort.program.price_levels or [])
        raise Invalid.field(
            "price_level",
            f"No price level {code!r} in this program; use one of: {known}."
            if known
            else "This program has no price levels; leave price_level out.",
        )
    if cohort.currency != cohort.program.currency:
        raise Invalid.field(
            "price_level",
            f"The program's price levels are in {cohort.program.currency.upper()}, this group is priced in "
            f"{cohort.currency.upper()}; the front desk can set the price instead.",
        )
    return level["amount"]


def base_price(cohort: Cohort, level: str | None, at) -> int:
    """The price before any discount of a seat taken at `at`: the level's (or the cohort's) price,
    pro-rated for a late joiner when the cohort says so (cohorts.joining.prorated: the sessions
    left over the sessions held, rounded down to the minor unit). The one place a price is made:
    the cohort's page and API show what it gives (CohortView.price_now), holds and card payments
    ask for the amount_due it leads to."""
    return prorated(cohort, level_price(cohort, level) if level is not None else cohort.price_amount, at)


def price_for(cohort: Cohort, data: dict, staff, at) -> Price:
    """The price of a new enrolment: the chosen level (or the cohort's price), pro-rated for a late
    joiner, less a discount code.

    People may choose a level themselves only when the program allows it; staff always
    may. A discount code is checked and locked here (under the cohort's lock, by the caller); why
    it was refused is said to staff only.
    """
    level = data.get("price_level")
    if level is not None and staff is None and not cohort.program.self_select_price_level:
        raise Invalid.field(
            "price_level", "This program does not let people choose a price level; the front desk sets it."
        )
    before = base_price(cohort, level, at)
    code = data.get("discount_code")
    # Staff hear why a code was refused; the public hears one answer for every unusable code.
    applied = discounts.redeem(code, cohort, before, at, say_why=staff is not None) if code else None
    return Price(before, level, applied)


def check_public_price(cohort: Cohort, data: dict, at) -> None:
    """What price_for would refuse a public request for, checked before it is queued (nothing locked)."""
    level = data.get("price_level")
    if level is not None and not cohort.program.self_select_price_level:
        raise Invalid.field(
            "price_level", "This program does not let people choose a price level; the front desk sets it."
        )
    before = base_price(cohort, level, at)
    if data.get("discount_code"):
        discounts.check(data["discount_code"], cohort, before, at)


def apply_price(enrolment: Enrolment, price: Price) -> None:
    enrolment.price_before_discount = price.before_discount
    enrolment.price_level = price.level
    enrolment.discount_code_id = price.discount.code.id if price.discount else None
    enrolment.discount_amount = price.discount.amount if price.discount else 0
    enrolment.amount_due = price.amount_due


def account_of(enrolment: Enrolment) -> Account:
    return accounts([enrolment.id])[enrolment.id]


def owed(enrolment: Enrolment) -> int:
    """The balance of one enrolment, read fresh from the ledger."""
    return enrolment.owes(account_of(enrolment))


def count_discount_uses(code_ids: list[str]) -> dict[str, int]:
    """Uses of each code: enrolments carrying it that are active or were ever confirmed (one query)."""
    if not code_ids:
        return {}
    rows = db.session.execute(
        select(Enrolment.discount_code_id, func.count())
        .where(
            Enrolment.discount_code_id.in_(code_ids),
            or_(Enrolment.status.in_(ACTIVE), Enrolment.confirmed_at.is_not(None)),
        )
        .group_by(Enrolment.discount_code_id)
    )
    return {code_id: count for code_id, count in rows}  # noqa: C416 (rows, not pairs)
