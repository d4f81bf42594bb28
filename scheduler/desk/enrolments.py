"""A person's enrolment: history with names, payments, refunds and messages, and the desk's actions.

Confirm a payment taken at the desk, transfer to another cohort, withdraw (with the
policy's refund unless changed), send a message again: each the JSON API's service,
each refusal shown on this page by the form that failed.
"""

from functools import partial

from flask import Response, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..appointments import individual
from ..enrolment import paying, refunding, self_service, staff_actions
from ..enrolment.models import ACTIVE
from ..enrolment.schemas import ConfirmIn, TransferIn, WithdrawIn
from ..foundation import clock
from ..foundation.auth import DESK
from ..foundation.errors import Invalid
from ..notifications import services as notification_services
from ..payments.models import PAYOUT_METHODS
from . import presenters, queries
from .blueprint import bp
from .forms import parse
from .screens import answer_form, render
from .session import desk_page


def enrolment_page(enrolment_id, *, form=None, errors=None, values=None, problem=None, status=200):
    """The enrolment's page; `form` names the form that was refused, shown with `errors` and `problem`."""
    detail = queries.enrolment_detail(enrolment_id)
    enrolment = detail.enrolment
    at = clock.now()
    return render(
        "desk/enrolment.html",
        status,
        d=detail,
        e=enrolment,
        c=enrolment.cohort,
        refund_due=refunding.refund_due(enrolment, at) if enrolment.status in ACTIVE else 0,
        refund_deadline=refunding.refund_deadline(enrolment.cohort),
        paid=enrolment.amount_paid,
        holds=enrolment.holds_seat(at),
        methods=presenters.DESK_METHODS,
        payout_methods=PAYOUT_METHODS,
        individual=individual.appointments_of(enrolment_id),
        resend_refusals={m.id: notification_services.resend_refusal(m, enrolment) for m in detail.messages},
        form=form,
        errors=errors or {},
        values=values or {},
        problem=problem,
        now=at,
    )


def back_to_enrolment(enrolment_id: str, message: str, anchor: str | None = None):
    flash(message, "success")
    return redirect(url_for("desk.enrolment", enrolment_id=enrolment_id, _anchor=anchor), 303)


@bp.get("/payments/<payment_id>/receipt")
@desk_page(*DESK)
def receipt(payment_id):
    """A payment's receipt, to print or hand over (the same document the person gets)."""
    return Response(paying.receipt(payment_id), mimetype="text/html")


@bp.get("/enrolments/<enrolment_id>")
@desk_page(*DESK)
def enrolment(enrolment_id):
    """One person's enrolment: history with names, payments, refunds, messages, and the desk's actions."""
    return enrolment_page(enrolment_id)


@bp.post("/enrolments/<enrolment_id>/confirm")
@desk_page(*DESK)
def confirm(enrolment_id):
    """Record a payment taken at the desk and confirm the place."""

    def act():
        data = parse(ConfirmIn, {"method": "text", "amount": "money", "reference": "text"})
        data["agreements_on_paper"] = request.form.get("agreements_on_paper") == "yes"  # a checkbox
        done = staff_actions.confirm(enrolment_id, data, g.desk_member)
        amount = presenters.money(data["amount"], done.cohort.currency)
        if done.status != "confirmed":  # part of the balance: the place stays held for the rest
            left = presenters.money(done.balance, done.cohort.currency)
            return back_to_enrolment(
                enrolment_id, _("Payment of %(amount)s recorded; %(left)s is still to pay.", amount=amount, left=left)
            )
        return back_to_enrolment(
            enrolment_id, _("Payment of %(amount)s recorded; %(name)s is confirmed.", amount=amount, name=done.name)
        )

    return answer_form(partial(enrolment_page, enrolment_id, form="confirm"), act)


@bp.post("/enrolments/<enrolment_id>/transfer")
@desk_page(*DESK)
def transfer(enrolment_id):
    """Move a confirmed person to another cohort with a free seat, keeping their payment."""

    def act():
        data = parse(TransferIn, {"cohort_id": "text"}, {"cohort_id": _("Choose the cohort to move them to.")})
        moved = staff_actions.transfer(enrolment_id, data["cohort_id"], g.desk_member)
        return back_to_enrolment(
            enrolment_id,
            _("%(name)s moved to %(cohort)s; they are told by email.", name=moved.name, cohort=moved.cohort.name),
        )

    return answer_form(partial(enrolment_page, enrolment_id, form="transfer"), act)


def _withdraw(enrolment_id: str, refund_amount: int | None):
    """Withdraw through the service; a refund above what was paid is worded with the amount paid."""
    try:
        return self_service.withdraw(enrolment_id, g.desk_member, refund_amount)
    except Invalid as exc:
        if "refund_amount" not in (exc.errors or {}):
            raise
        current = self_service.get_enrolment(enrolment_id)
        paid = presenters.money(current.amount_paid, current.cohort.currency)
        raise Invalid.field(
            "refund_amount", _l("%(paid)s was paid; the refund cannot be more than that.", paid=paid)
        ) from None


def _withdrawn(done) -> str:
    refund = done.refund
    if not refund:
        return _("%(name)s is withdrawn, with no refund.", name=done.name)
    back = presenters.money(refund["amount"], refund["currency"])
    if refund["status"] == "owed_by_front_desk":
        return _(
            "%(name)s is withdrawn; %(amount)s is refunded (the desk owes it to them).", name=done.name, amount=back
        )
    return _("%(name)s is withdrawn; %(amount)s is refunded (it goes back to their card).", name=done.name, amount=back)


@bp.post("/enrolments/<enrolment_id>/withdraw")
@desk_page(*DESK)
def withdraw(enrolment_id):
    """Withdraw the person, refunding the amount given (the policy's, unless changed)."""

    def act():
        data = parse(WithdrawIn, {"refund_amount": "money"})
        done = _withdraw(enrolment_id, data.get("refund_amount"))
        return back_to_enrolment(enrolment_id, _withdrawn(done))

    return answer_form(partial(enrolment_page, enrolment_id, form="withdraw"), act)


@bp.post("/enrolments/<enrolment_id>/messages/<message_id>/resend")
@desk_page(*DESK)
def resend(enrolment_id, message_id):
    """Send a message again (a new copy, queued now)."""

    def act():
        copy = notification_services.resend_message(enrolment_id, message_id, g.desk_member)
        what = presenters.label(presenters.MESSAGES, copy.kind)
        return back_to_enrolment(
            enrolment_id, _("“%(what)s” is queued to be sent again.", what=what), anchor="messages-heading"
        )

    return answer_form(partial(enrolment_page, enrolment_id, form="messages"), act)
