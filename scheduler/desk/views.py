"""The console's pages: thin views over the same services as the JSON API.

A GET renders a page from queries.py. A POST reads its form through the API's own
schema (forms.parse), calls one service, and answers 303 back to the page with a
one-line notice; when the service refuses, the same page comes back with the reason
beside the field (422) or above the form (409), never JSON or a stack trace.
"""

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from marshmallow import ValidationError
from sqlalchemy import select

from ..cohorts import services as cohort_services
from ..cohorts.models import COHORT_TRANSITIONS, CohortStatus, Session
from ..cohorts.schemas import CohortCreate, CohortPatch, ProgramCreate, SessionPatch
from ..enrolment import enrolling, refunding, self_service, staff_actions
from ..enrolment.api import roster_csv_response
from ..enrolment.models import ACTIVE
from ..enrolment.schemas import ConfirmIn, EnrolmentCreate, MoveIn, TransferIn, WithdrawIn
from ..foundation import clock
from ..foundation.auth import ADMIN, DESK, Access
from ..foundation.errors import Conflict, DomainError, Invalid, NotFound, Unavailable
from ..foundation.extensions import db, limiter
from ..foundation.links import cohort_feed_urls
from ..foundation.security import private
from ..notifications import services as notification_services
from ..pages.presenters import zone_choices
from ..pages.views import page
from ..payments.models import PAYOUT_METHODS
from ..staff import services as staff_services
from ..staff.schemas import ApiTokenCreate, RoleChange, SignInLinkRequest, StaffCreate
from . import presenters, queries
from .forms import FormErrors, parse
from .session import clear_cookie, desk_page, forget, safe_next, set_cookie, signed_in

bp = Blueprint("desk", __name__, url_prefix="/desk")

PUBLIC_PAGE = Access("public")
ATTENDANCE_ENDPOINT = "desk.attendance_sheet"  # the attendance sheet of a session (desk/attendance.py)


@bp.before_request
def _nobody_yet() -> None:
    forget()


@bp.after_request
def _private(response: Response) -> Response:
    # Every console page shows people or holds a form: never stored, never sent on as a Referer.
    if g.get("desk_secret") and g.get("desk_member") is not None and request.endpoint != "desk.logout":
        set_cookie(response, g.desk_secret)  # the idle clock starts again with each request
    return private(response)


@bp.context_processor
def _context():
    member = g.get("desk_member")
    return {
        "fmt": presenters,
        "me": member,
        "is_admin": member is not None and member.role == ADMIN,
        "is_desk": member is not None and member.role in DESK,
    }


def _render(template: str, status: int = 200, **context) -> Response:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def _problem_of(exc: DomainError) -> tuple[dict, str | None, int]:
    """A service's refusal as (errors beside fields, message above the form, status)."""
    if isinstance(exc, Invalid):
        return (exc.errors or {"_form": [exc.detail]}), None, 422
    if isinstance(exc, Unavailable):
        return {}, "The payment provider or the database did not answer; nothing changed. Try again in a minute.", 503
    return {}, exc.detail, exc.status


# ---- signing in and out --------------------------------------------------------------------------


def _login_limit_per_client() -> str:
    return current_app.config.get("DESK_LOGIN_RATE_LIMIT", "20 per 15 minutes")


def _login_limit_per_address() -> str:
    return current_app.config.get("DESK_LOGIN_RATE_LIMIT_PER_ADDRESS", "5 per 15 minutes")


def _address_key() -> str:
    return "desk-login:" + request.form.get("email", "").strip().lower()[:254]


@bp.get("/login")
@page(PUBLIC_PAGE)
def login():
    """The sign-in page: an email address, to which a one-time link is sent."""
    if signed_in() is not None:
        return redirect(url_for("desk.today"), 303)
    return _render(
        "desk/login.html",
        values={},
        errors={},
        expired=request.args.get("session") == "expired",
        next=safe_next(request.args.get("next")),
    )


@bp.post("/login")
@page(PUBLIC_PAGE)
@limiter.limit(_login_limit_per_client, key_func=get_remote_address)
@limiter.limit(_login_limit_per_address, key_func=_address_key)
def send_link():
    """Send a sign-in link; the answer is the same whether or not the address is staff."""
    then = safe_next(request.form.get("next"))
    try:
        data = parse(SignInLinkRequest, {"email": "text"})
    except FormErrors as exc:
        return _render("desk/login.html", 422, values=exc.values, errors=exc.errors, expired=False, next=then)
    staff_services.request_sign_in_link(data["email"], then)
    return _render("desk/login_sent.html", email=data["email"])


@bp.get("/login/<token>")
@page(PUBLIC_PAGE)
def confirm_link(token):
    """The link from the email: a button to sign in (a mail scanner that opens the link spends nothing)."""
    owner = staff_services.sign_in_link_owner(token)
    if owner is None:
        return _render("desk/link_invalid.html", 404)
    return _render("desk/login_confirm.html", owner=owner, token=token, next=safe_next(request.args.get("next")))


@bp.post("/login/<token>")
@page(PUBLIC_PAGE)
def use_link(token):
    """Spend the link and begin a console session."""
    try:
        signed = staff_services.sign_in(token)
    except NotFound:
        return _render("desk/link_invalid.html", 404)
    flash(f"Signed in as {signed.member.name}.", "success")
    target = safe_next(request.form.get("next")) or url_for("desk.today")
    return set_cookie(redirect(target, 303), signed.session_token)


@bp.post("/logout")
@desk_page()
def logout():
    """Sign out: the session ends here and on the server."""
    staff_services.sign_out(g.desk_session_id, g.desk_member)
    flash("You have signed out.", "success")
    return clear_cookie(redirect(url_for("desk.login"), 303))


# ---- Today and people ------------------------------------------------------------------------------


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


@bp.get("/")
@desk_page()
def today():
    """Cohorts open or running, with seats, waitlists, holds and offers and their deadlines."""
    status = request.args.get("status", queries.CURRENT)
    if status not in queries.STATUS_FILTERS:
        status = queries.CURRENT
    program_id = request.args.get("program") or None
    view = queries.today(g.desk_member, program_id, status, _page_number())
    owed = None  # refunds the desk owes (desk/refunds.py lists them); facilitators never see refunds
    if g.desk_member.role in DESK:
        owed = refunding.refunds({"status": "owed_by_front_desk", "page": 1, "page_size": 1})
    return _render(
        "desk/today.html",
        view=view,
        refunds_owed=owed,
        chosen=status,
        program_id=program_id,
        statuses=queries.STATUS_FILTERS,
        now=clock.now(),
        next_session=queries.next_session,
    )


@bp.get("/people")
@desk_page(*DESK)
def people():
    """People across every cohort whose name or email contains the search text."""
    text = request.args.get("q", "").strip().replace("\x00", "")[:200]
    found = queries.search_people(text) if text else []
    return _render("desk/people.html", q=text, found=found, limit=queries.SEARCH_LIMIT)


# ---- a cohort --------------------------------------------------------------------------------------


def _cohort_page(cohort_id, *, form=None, errors=None, values=None, problem=None, status=200):
    detail = queries.cohort_detail(cohort_id, g.desk_member)
    cohort = detail.cohort
    stored = CohortStatus(cohort.status)
    current = _attendance_session(cohort)
    return _render(
        "desk/cohort.html",
        status,
        d=detail,
        c=cohort,
        feed=cohort_feed_urls(cohort),
        facilitator_view=queries.is_facilitator(g.desk_member),
        status_choices=[stored, *sorted(s for s in COHORT_TRANSITIONS[stored] if s != CohortStatus.CANCELLED)],
        can_cancel=CohortStatus.CANCELLED in COHORT_TRANSITIONS[stored],
        facilitators=queries.facilitators() if g.desk_member.role in DESK else [],
        attendance_session=current,
        attendance_url=url_for(ATTENDANCE_ENDPOINT, session_id=current.id) if current else None,
        sheet_endpoint=ATTENDANCE_ENDPOINT if ATTENDANCE_ENDPOINT in current_app.view_functions else None,
        form=form,
        errors=errors or {},
        values=values or {},
        problem=problem,
        focus=request.args.get("focus", ""),
        now=clock.now(),
    )


def _attendance_session(cohort):
    """The session under way or held most recently, whose sheet the cohort page offers first (None before)."""
    if ATTENDANCE_ENDPOINT not in current_app.view_functions or cohort.status == CohortStatus.CANCELLED:
        return None
    at = clock.now()
    started = [s for s in cohort.sessions if s.status != "cancelled" and s.starts_at <= at]
    return max(started, key=lambda s: s.starts_at, default=None)


def _back_to_cohort(cohort_id: str, message: str, focus: str | None = None, anchor: str | None = None):
    flash(message, "success")
    return redirect(url_for("desk.cohort", cohort_id=cohort_id, focus=focus, _anchor=anchor), 303)


@bp.get("/cohorts/<cohort_id>")
@desk_page()
def cohort(cohort_id):
    """Roster, waitlist, sessions and settings of one cohort (facilitators: their own, without payments)."""
    return _cohort_page(cohort_id)


@bp.get("/cohorts/<cohort_id>/roster.csv")
@desk_page()
def roster_csv(cohort_id):
    """The roster as a spreadsheet (facilitators: without payment fields), as the JSON API exports it."""
    queries.visible_cohort(cohort_id, g.desk_member)
    return roster_csv_response(cohort_id, g.desk_member)


@bp.post("/cohorts/<cohort_id>")
@desk_page(*DESK)
def update_cohort(cohort_id):
    """Capacity, status, name, meeting link and facilitators of a cohort."""
    fields = {
        "name": "text",
        "capacity": "int",
        "meeting_url": "text",
        "status": "text",
        "hold_minutes": "int",
        "offer_hours": "int",
        "refund_cutoff_hours": "int",
        "facilitator_ids": "multi",
    }
    try:
        data = parse(CohortPatch, fields)
        if data.get("status") == CohortStatus.CANCELLED:
            raise Invalid.field("status", "Cancel a cohort with the Cancel this cohort button.")
        cohort_services.update_cohort(cohort_id, data, g.desk_member)
    except FormErrors as exc:
        return _cohort_page(cohort_id, form="settings", errors=exc.errors, values=exc.values, status=422)
    except (Conflict, Invalid, Unavailable) as exc:
        errors, problem, status = _problem_of(exc)
        return _cohort_page(
            cohort_id, form="settings", errors=errors, values=request.form, problem=problem, status=status
        )
    return _back_to_cohort(cohort_id, "The cohort's settings are saved.", anchor="settings-heading")


@bp.get("/cohorts/<cohort_id>/cancel")
@desk_page(*DESK)
def cancel_cohort_step(cohort_id):
    """What cancelling the cohort means, before anything happens."""
    detail = queries.cohort_detail(cohort_id, g.desk_member)
    return _render("desk/cancel_cohort.html", d=detail, c=detail.cohort)


@bp.post("/cohorts/<cohort_id>/cancel")
@desk_page(*DESK)
def cancel_cohort(cohort_id):
    """Cancel the cohort: everyone's place is cancelled and refunded in full, and they are told."""
    try:
        cohort_services.update_cohort(cohort_id, {"status": CohortStatus.CANCELLED}, g.desk_member)
    except Conflict as exc:
        flash(exc.detail, "error")
    else:
        flash("The cohort is cancelled. Everyone in it is told by email; money paid goes back in full.", "success")
    return redirect(url_for("desk.cohort", cohort_id=cohort_id), 303)


@bp.post("/cohorts/<cohort_id>/enrol")
@desk_page(*DESK)
def enrol(cohort_id):
    """Enrol someone on the phone (a seat if one is free and nobody waits, else the waitlist)."""
    try:
        data = parse(EnrolmentCreate, {"name": "text", "email": "text", "phone": "text"})
        created = enrolling.enrol(cohort_id, data, g.desk_member)
    except FormErrors as exc:
        return _cohort_page(cohort_id, form="enrol", errors=exc.errors, values=exc.values, status=422)
    except (Conflict, Invalid, Unavailable) as exc:
        errors, problem, status = _problem_of(exc)
        return _cohort_page(cohort_id, form="enrol", errors=errors, values=request.form, problem=problem, status=status)
    flash(f"{created.name} is enrolled: {presenters.label(presenters.ENROLMENT_STATUS, created.status)}.", "success")
    return redirect(url_for("desk.enrolment", enrolment_id=created.id), 303)


# ---- sessions --------------------------------------------------------------------------------------


def _session_change(session_id: str, data: dict, message: str):
    session = cohort_services.update_session(session_id, data)
    return _back_to_cohort(session.cohort_id, message, anchor=f"session-{session.id}")


def _session_cohort(session_id: str) -> str:
    cohort_id = db.session.scalar(select(Session.cohort_id).where(Session.id == session_id))
    if cohort_id is None:
        raise NotFound("No such session.")
    return cohort_id


@bp.post("/sessions/<session_id>")
@desk_page(*DESK)
def reschedule_session(session_id):
    """Move one session to another local date and time (participants are told; calendars follow)."""
    cohort_id = _session_cohort(session_id)
    values = {"date": request.form.get("date", "").strip(), "time": request.form.get("time", "").strip()}
    form = f"session-{session_id}"
    try:
        if not values["date"] or not values["time"]:
            raise FormErrors({"local_start": ["Give the new date and start time."]}, values)
        data = SessionPatch().load({"local_start": f"{values['date']}T{values['time']}"})
        return _session_change(session_id, data, "The session is moved; its participants are told by email.")
    except ValidationError as exc:
        errors = {"local_start": [m for msgs in exc.messages.values() for m in msgs]}
        return _cohort_page(cohort_id, form=form, errors=errors, values=values, status=422)
    except FormErrors as exc:
        return _cohort_page(cohort_id, form=form, errors=exc.errors, values=exc.values, status=422)
    except (Conflict, Invalid) as exc:
        errors, problem, status = _problem_of(exc)
        return _cohort_page(cohort_id, form=form, errors=errors, values=values, problem=problem, status=status)


@bp.post("/sessions/<session_id>/cancel")
@desk_page(*DESK)
def cancel_session(session_id):
    """Cancel one session (its participants are told; calendars show it cancelled)."""
    cohort_id = _session_cohort(session_id)
    try:
        return _session_change(session_id, {"status": "cancelled"}, "The session is cancelled; participants are told.")
    except Conflict as exc:
        return _cohort_page(cohort_id, form=f"session-{session_id}", problem=exc.detail, status=409)


@bp.post("/sessions/<session_id>/restore")
@desk_page(*DESK)
def restore_session(session_id):
    """Bring back a cancelled session that has not passed."""
    cohort_id = _session_cohort(session_id)
    try:
        return _session_change(session_id, {"status": "scheduled"}, "The session is back on; participants are told.")
    except Conflict as exc:
        return _cohort_page(cohort_id, form=f"session-{session_id}", problem=exc.detail, status=409)


# ---- the waitlist (from the cohort page) -----------------------------------------------------------


def _cohort_of(enrolment_id: str) -> str:
    return self_service.get_enrolment(enrolment_id).cohort_id


@bp.post("/enrolments/<enrolment_id>/move")
@desk_page(*DESK)
def move(enrolment_id):
    """Put a waiting person at another position (Move up, Move down, or a number)."""
    cohort_id = _cohort_of(enrolment_id)
    focus = request.form.get("focus", "")
    form = f"move-{enrolment_id}"
    try:
        data = parse(MoveIn, {"position": "int"}, {})
        moved = staff_actions.move(enrolment_id, data["position"], g.desk_member)
    except FormErrors as exc:
        return _cohort_page(cohort_id, form=form, errors=exc.errors, values=exc.values, status=422)
    except (Conflict, Invalid) as exc:
        errors, problem, status = _problem_of(exc)
        return _cohort_page(cohort_id, form=form, errors=errors, values=request.form, problem=problem, status=status)
    focus = focus if focus in ("up", "down", "position") else "position"
    return _back_to_cohort(
        cohort_id, f"{moved.name} is now number {moved.waitlist_position} in the waitlist.", f"{focus}-{enrolment_id}"
    )


@bp.post("/enrolments/<enrolment_id>/offer")
@desk_page(*DESK)
def offer(enrolment_id):
    """Offer a seat to this waiting person now, out of order."""
    cohort_id = _cohort_of(enrolment_id)
    back = request.form.get("back") == "enrolment"
    try:
        offered = staff_actions.offer(enrolment_id, g.desk_member)
    except Conflict as exc:
        if back:
            return _enrolment_page(enrolment_id, form="offer", problem=exc.detail, status=409)
        return _cohort_page(cohort_id, form=f"move-{enrolment_id}", problem=exc.detail, status=409)
    message = (
        f"A seat is offered to {offered.name} until "
        f"{presenters.when(offered.offer_expires_at, offered.cohort.timezone)}; they are told by email."
    )
    if back:
        flash(message, "success")
        return redirect(url_for("desk.enrolment", enrolment_id=enrolment_id), 303)
    return _back_to_cohort(cohort_id, message, anchor="waitlist-heading")


# ---- a person's enrolment ---------------------------------------------------------------------------


def _enrolment_page(enrolment_id, *, form=None, errors=None, values=None, problem=None, status=200):
    detail = queries.enrolment_detail(enrolment_id)
    enrolment = detail.enrolment
    at = clock.now()
    paid = enrolment.amount_paid
    return _render(
        "desk/enrolment.html",
        status,
        d=detail,
        e=enrolment,
        c=enrolment.cohort,
        refund_due=refunding.refund_due(enrolment, at) if enrolment.status in ACTIVE else 0,
        refund_deadline=refunding.refund_deadline(enrolment.cohort),
        paid=paid,
        holds=enrolment.holds_seat(at),
        methods=presenters.DESK_METHODS,
        payout_methods=PAYOUT_METHODS,
        form=form,
        errors=errors or {},
        values=values or {},
        problem=problem,
        now=at,
    )


def _back_to_enrolment(enrolment_id: str, message: str, anchor: str | None = None):
    flash(message, "success")
    return redirect(url_for("desk.enrolment", enrolment_id=enrolment_id, _anchor=anchor), 303)


def _enrolment_action(enrolment_id: str, form: str, act):
    """Run one action from the enrolment page; a refusal shows on the page, by the form that failed."""
    try:
        return act()
    except FormErrors as exc:
        return _enrolment_page(enrolment_id, form=form, errors=exc.errors, values=exc.values, status=422)
    except (Conflict, Invalid, Unavailable) as exc:
        errors, problem, status = _problem_of(exc)
        return _enrolment_page(
            enrolment_id, form=form, errors=errors, values=request.form, problem=problem, status=status
        )


@bp.get("/enrolments/<enrolment_id>")
@desk_page(*DESK)
def enrolment(enrolment_id):
    """One person's enrolment: history with names, payments, refunds, messages, and the desk's actions."""
    return _enrolment_page(enrolment_id)


@bp.post("/enrolments/<enrolment_id>/confirm")
@desk_page(*DESK)
def confirm(enrolment_id):
    """Record a payment taken at the desk and confirm the place."""

    def act():
        data = parse(ConfirmIn, {"method": "text", "amount": "money", "reference": "text"})
        done = staff_actions.confirm(enrolment_id, data, g.desk_member)
        amount = presenters.money(data["amount"], done.cohort.currency)
        if done.status != "confirmed":  # part of the balance: the place stays held for the rest
            left = presenters.money(done.balance, done.cohort.currency)
            return _back_to_enrolment(enrolment_id, f"Payment of {amount} recorded; {left} is still to pay.")
        return _back_to_enrolment(enrolment_id, f"Payment of {amount} recorded; {done.name} is confirmed.")

    return _enrolment_action(enrolment_id, "confirm", act)


@bp.post("/enrolments/<enrolment_id>/transfer")
@desk_page(*DESK)
def transfer(enrolment_id):
    """Move a confirmed person to another cohort with a free seat, keeping their payment."""

    def act():
        data = parse(TransferIn, {"cohort_id": "text"}, {"cohort_id": "Choose the cohort to move them to."})
        moved = staff_actions.transfer(enrolment_id, data["cohort_id"], g.desk_member)
        return _back_to_enrolment(enrolment_id, f"{moved.name} moved to {moved.cohort.name}; they are told by email.")

    return _enrolment_action(enrolment_id, "transfer", act)


@bp.post("/enrolments/<enrolment_id>/withdraw")
@desk_page(*DESK)
def withdraw(enrolment_id):
    """Withdraw the person, refunding the amount given (the policy's, unless changed)."""

    def act():
        data = parse(WithdrawIn, {"refund_amount": "money"})
        try:
            done = self_service.withdraw(enrolment_id, g.desk_member, data.get("refund_amount"))
        except Invalid as exc:
            if "refund_amount" not in (exc.errors or {}):
                raise
            current = self_service.get_enrolment(enrolment_id)
            paid = presenters.money(current.amount_paid, current.cohort.currency)
            raise Invalid.field("refund_amount", f"{paid} was paid; the refund cannot be more than that.") from None
        refund = done.refund
        if refund:
            back = presenters.money(refund["amount"], refund["currency"])
            how = (
                "the desk owes it to them" if refund["status"] == "owed_by_front_desk" else "it goes back to their card"
            )
            message = f"{done.name} is withdrawn; {back} is refunded ({how})."
        else:
            message = f"{done.name} is withdrawn, with no refund."
        return _back_to_enrolment(enrolment_id, message)

    return _enrolment_action(enrolment_id, "withdraw", act)


@bp.post("/enrolments/<enrolment_id>/messages/<message_id>/resend")
@desk_page(*DESK)
def resend(enrolment_id, message_id):
    """Send a message again (a new copy, queued now)."""

    def act():
        copy = notification_services.resend_message(enrolment_id, message_id, g.desk_member)
        what = presenters.label(presenters.MESSAGES, copy.kind)
        return _back_to_enrolment(enrolment_id, f"“{what}” is queued to be sent again.", anchor="messages-heading")

    return _enrolment_action(enrolment_id, "messages", act)


# ---- my account: API tokens ------------------------------------------------------------------------


def _account_page(*, created=None, errors=None, values=None, status=200):
    return _render(
        "desk/account.html",
        status,
        tokens=staff_services.api_tokens(g.desk_member),
        created=created,
        errors=errors or {},
        values=values or {},
        base_url=current_app.config["PUBLIC_BASE_URL"],
    )


@bp.get("/account")
@desk_page()
def account():
    """The signed-in member's details and their own API tokens."""
    return _account_page()


@bp.post("/account/tokens")
@desk_page()
def create_token():
    """A new API token for the member themselves, shown once."""
    try:
        data = parse(ApiTokenCreate, {"label": "text"})
    except FormErrors as exc:
        return _account_page(errors=exc.errors, values=exc.values, status=422)
    created = staff_services.create_api_token(g.desk_member, data["label"])
    return _account_page(created=created, status=201)


@bp.post("/account/tokens/<token_id>/revoke")
@desk_page()
def revoke_token(token_id):
    """Revoke one of the member's own API tokens."""
    row = staff_services.revoke_api_token(g.desk_member, token_id)
    flash(f"The token “{row.label}” is revoked; it no longer works.", "success")
    return redirect(url_for("desk.account"), 303)


# ---- admin: staff accounts ---------------------------------------------------------------------------


def _staff_page(*, form=None, errors=None, values=None, problem=None, status=200):
    log = staff_services.staff_audit(1, 50).items
    return _render(
        "desk/staff.html",
        status,
        members=queries.all_staff(),
        log=log,
        names={m.id: m.name for m in queries.all_staff()},
        roles=presenters.ROLES,
        form=form,
        errors=errors or {},
        values=values or {},
        problem=problem,
    )


@bp.get("/staff")
@desk_page(ADMIN)
def staff():
    """Staff accounts (create, change role, revoke) and the staff audit log."""
    return _staff_page()


@bp.post("/staff")
@desk_page(ADMIN)
def create_staff():
    """Create a staff account; they sign in with a link sent to their email."""
    try:
        data = parse(StaffCreate, {"name": "text", "email": "text", "role": "text"})
        member = staff_services.create_staff(data["email"], data["name"], data["role"], g.desk_member)
    except FormErrors as exc:
        return _staff_page(form="create", errors=exc.errors, values=exc.values, status=422)
    except Conflict as exc:
        return _staff_page(form="create", errors={"email": [exc.detail]}, values=request.form, status=409)
    flash(f"{member.name} can now sign in at {url_for('desk.login', _external=False)} with {member.email}.", "success")
    return redirect(url_for("desk.staff"), 303)


@bp.post("/staff/<staff_id>/role")
@desk_page(ADMIN)
def change_role(staff_id):
    """Give a staff member another role."""
    try:
        data = parse(RoleChange, {"role": "text"})
        member = staff_services.change_role(staff_id, data["role"], g.desk_member)
    except FormErrors as exc:
        return _staff_page(form=f"role-{staff_id}", errors=exc.errors, values=exc.values, status=422)
    except (Conflict, Invalid) as exc:
        errors, problem, status = _problem_of(exc)
        return _staff_page(form=f"role-{staff_id}", errors=errors, problem=problem, status=status)
    flash(f"{member.name} is now {presenters.label(presenters.ROLES, member.role)}.", "success")
    return redirect(url_for("desk.staff"), 303)


@bp.post("/staff/<staff_id>/revoke")
@desk_page(ADMIN)
def revoke_staff(staff_id):
    """End a staff member's access: their sessions, tokens and links stop working."""
    try:
        member = staff_services.revoke_staff(staff_id, g.desk_member)
    except Conflict as exc:
        return _staff_page(form=f"role-{staff_id}", problem=exc.detail, status=409)
    flash(f"{member.name}'s access is revoked.", "success")
    return redirect(url_for("desk.staff"), 303)


# ---- admin: programs and new cohorts -------------------------------------------------------------------


PROGRAM_FIELDS = {
    "name": "text",
    "description": "text",
    "session_titles": "lines",
    "default_session_count": "int",
    "default_duration_minutes": "int",
    "default_capacity": "int",
    "price_amount": "money",
    "currency": "text",
    "calendar_title": "text",
}


def _programs_page(*, errors=None, values=None, status=200):
    programs = cohort_services.list_programs(1, 200).items
    return _render(
        "desk/programs.html",
        status,
        programs=programs,
        errors=errors or {},
        values=values or {},
    )


@bp.get("/programs")
@desk_page(ADMIN)
def programs():
    """Programs (what the clinic offers), and a form for a new one."""
    return _programs_page()


@bp.post("/programs")
@desk_page(ADMIN)
def create_program():
    """Create a program."""
    try:
        data = parse(ProgramCreate, PROGRAM_FIELDS)
        created = cohort_services.create_program(data)
    except FormErrors as exc:
        return _programs_page(errors=exc.errors, values=exc.values, status=422)
    except Invalid as exc:
        return _programs_page(errors=exc.errors or {"name": [exc.detail]}, values=request.form, status=422)
    flash(f"The program “{created.name}” is created. Add its first cohort below.", "success")
    return redirect(url_for("desk.new_cohort", program=created.id), 303)


COHORT_FIELDS = {
    "program_id": "text",
    "name": "text",
    "start_date": "text",
    "start_time": "text",
    "timezone": "text",
    "session_count": "int",
    "duration_minutes": "int",
    "capacity": "int",
    "price_amount": "money",
    "currency": "text",
    "meeting_url": "text",
    "skip_dates": "lines",
    "facilitator_ids": "multi",
    "hold_minutes": "int",
    "offer_hours": "int",
    "refund_cutoff_hours": "int",
    "status": "text",
}


def _new_cohort_page(*, errors=None, values=None, problem=None, status=200):
    programs = cohort_services.list_programs(1, 200).items
    return _render(
        "desk/cohort_new.html",
        status,
        programs=programs,
        program_options=[(p.id, p.name) for p in programs],
        facilitators=queries.facilitators(),
        zones=zone_choices(),
        errors=errors or {},
        values=values or {"program_id": request.args.get("program", ""), "timezone": "America/New_York"},
        problem=problem,
    )


@bp.get("/cohorts/new")
@desk_page(ADMIN)
def new_cohort():
    """A form for a new cohort of a program."""
    return _new_cohort_page()


@bp.post("/cohorts/new")
@desk_page(ADMIN)
def create_cohort():
    """Create a cohort and its weekly sessions."""
    try:
        data = parse(CohortCreate, COHORT_FIELDS)
        created = cohort_services.create_cohort(data)
    except FormErrors as exc:
        return _new_cohort_page(errors=exc.errors, values=exc.values, status=422)
    except (Conflict, Invalid, NotFound) as exc:
        errors = exc.errors if isinstance(exc, Invalid) and exc.errors else {}
        problem = None if errors else exc.detail
        status = 422 if errors else exc.status
        values = {**request.form.to_dict(), "facilitator_ids": request.form.getlist("facilitator_ids")}
        return _new_cohort_page(errors=errors, values=values, problem=problem, status=status)
    flash(f"The cohort “{created.name}” is created with {len(created.sessions)} sessions.", "success")
    return redirect(url_for("desk.cohort", cohort_id=created.id), 303)
