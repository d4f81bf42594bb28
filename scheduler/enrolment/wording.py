"""What a transfer did to the money, in words: one sentence for the API's answer (English) and for the
person's email (their language), made from the same figures."""

from flask_babel import gettext

from ..foundation.money import format_money


def moved_money(change: dict | None) -> str | None:
    """What a transfer did to the money, in the language being written: the person's in their email,
    English in the API's `detail` (staff_actions.transfer)."""
    if not change or "amount_due" not in change:
        return (change or {}).get("detail")
    currency = change["currency"]
    new, old = format_money(change["amount_due"], currency), format_money(change["amount_due_before"], currency)
    refund = change.get("refund")
    if change["amount_due"] == change["amount_due_before"]:
        return gettext("The new group has the same price; what was paid carries over.")
    if refund and str(refund["status"]) == "owed_by_front_desk":
        return gettext(
            "The new group costs %(new)s instead of %(old)s: %(refund)s of what was paid is refunded by the "
            "front desk.",
            new=new,
            old=old,
            refund=format_money(refund["amount"], currency),
        )
    if refund:
        return gettext(
            "The new group costs %(new)s instead of %(old)s: %(refund)s of what was paid is refunded to the card.",
            new=new,
            old=old,
            refund=format_money(refund["amount"], currency),
        )
    if change.get("balance", 0) > 0:
        return gettext(
            "The new group costs %(new)s instead of %(old)s: %(left)s is left to pay.",
            new=new,
            old=old,
            left=format_money(change["balance"], currency),
        )
    return gettext("The new group costs %(new)s instead of %(old)s.", new=new, old=old)
