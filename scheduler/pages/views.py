"""Pages for the people who enrol: thin views over the same services as the JSON API.

A view parses a form through the API's own schema, calls one service, and renders a
template from a view-model (presenters.py). Participant pages take the manage token
once (?token= from an email), keep it in an HttpOnly cookie scoped to that one
enrolment's path, and send the person on to the same address without the token.
"""

import secrets
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from marshmallow import ValidationError

from ..admission import services as intake_services
from ..admission.schemas import IntakeRequestIn
from ..calendars import services as calendar_services
from ..cohorts import services as cohort_services
from ..enrolment import paying, requested, self_service
from ..enrolment.api import _enrol_limit
from ..enrolment.schemas import AgreementAcceptIn, EnrolmentCreate, LinkAgainIn
from ..foundation import clock, i18n
from ..foundation.auth import Access
from ..foundation.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from ..foundation.extensions import limiter, per_address
from ..foundation.security import no_store, private
from ..payments import ledger
from . import cohort_presenters, field_errors, presenters, zones
from .forms import read_request_form

bp = Blueprint("pages", __name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
COOKIE = "manage_token"
# Who may open a page; the access-matrix test reads it (pages answer HTML, not problem+json).
PUBLIC_PAGE = Access("public")
PARTICIPANT_PAGE = Access("participant_page")


@bp.url_value_preprocessor
def _refuse_nul(endpoint, values):
    # PostgreSQL cannot hold NUL in text: an id with one names nothing.
    if values and any("\x00" in str(value) for value in values.values()):
        raise NotFound("No such page.")


def page(access: Access):
    """Declare who may open a page view."""

    def decorate(view):
        view.page_access = access
        return view

    return decorate


# ---- the participant's credential ----------------------------------------------------------------


def _require_participant(enrolment_id: str) -> None:
    """The cookie set by this enrolment's link must hold its manage token (403 without one, 404 if wrong)."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise Forbidden("This page is personal: open it from the link in your email.")
    if not self_service.manage_token_matches(enrolment_id, token):
        raise NotFound("This link is not valid any more.")
    i18n.use_locale(self_service.locale_of(enrolment_id))  # the person's page speaks their language


def remember(response: Response, path: str, token: str) -> Response:
    """Keep the token in a cookie only the pages under `path` (one enrolment's, one intake's) receive,
    never readable by scripts."""
    response.set_cookie(
        COOKIE,
        token,
        path=path,
        httponly=True,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        samesite="Lax",
    )
    return response


def _to_participant_page(enrolment_id: str) -> Response:
    return private(redirect(url_for("pages.participant", enrolment_id=enrolment_id), 303))


# ---- public pages ---------------------------------------------------------------------------------


@bp.get("/")
@page(PUBLIC_PAGE)
def home():
    """The clinic's open cohorts, grouped by program."""
    cohorts = cohort_services.list_cohorts(None, {"status": "open", "page": 1, "page_size": 200})
    return render_template("pages/home.html", **cohort_presenters.home(cohorts.items))


def _form_page(cohort, values: dict | None = None, errors: dict | None = None, problem: str | None = None, status=200):
    values = values or {}
    i18n.use_locale(values.get("locale"))  # the form shown again speaks the language chosen on it
    body = render_template(
        "pages/cohort.html",
        cohort=cohort_presenters.cohort_page(cohort),
        values=values,
        errors=errors or {},
        problem=problem,
        zone_options=zones.zone_options,
        languages=presenters.language_choices(),
        # A new key per form shown: a double click or a reload of this form enrols once.
        idempotency_key=secrets.token_urlsafe(24),
    )
    return no_store(Response(body, status=status, mimetype="text/html"))


@bp.get("/cohorts/<cohort_id>")
@page(PUBLIC_PAGE)
def cohort(cohort_id):
    """One cohort: schedule, price, seats, refund policy, and the enrolment form."""
    return _form_page(cohort_services.get_cohort(cohort_id))


@bp.post("/cohorts/<cohort_id>")
@page(PUBLIC_PAGE)
@limiter.limit(_enrol_limit, key_func=get_remote_address)
@per_address
def enrol(cohort_id):
    """The enrolment form: 303 to "Check your email" for every address, or the form again with what to fix."""
    form = read_request_form(EnrolmentCreate)
    values = form.values
    if form.data is None:
        return _form_page(cohort_services.get_cohort(cohort_id), values, form.errors, status=422)
    try:
        answer = requested.request_enrolment(cohort_id, form.data, form.key)
    except Conflict:  # the cohort is no longer open, or admits by intake (the same for whoever asks)
        cohort = cohort_services.get_cohort(cohort_id)
        problem = (
            _("This program begins with an assessment: ask for a place with this form instead.")
            if cohort.program.admission == "intake"
            else _("Enrolment in this group has closed.")
        )
        return _form_page(cohort, values, problem=problem, status=409)
    except Invalid as error:  # a price level or discount code that cannot be used here
        errors = field_errors.field_messages(dict(error.errors or {}))
        return _form_page(cohort_services.get_cohort(cohort_id), values, errors, status=422)
    return _to_check_email(cohort_id, answer.email)


@bp.post("/cohorts/<cohort_id>/request-place")
@page(PUBLIC_PAGE)
@limiter.limit(_enrol_limit, key_func=get_remote_address)
@per_address
def request_place(cohort_id):
    """ "Request a place" in an intake program (from one of its cohorts' pages): like the enrolment
    form, 303 to "Check your email" for every address, or the form again with what to fix."""
    cohort = cohort_services.get_cohort(cohort_id)
    form = read_request_form(IntakeRequestIn)
    if form.data is None:
        return _form_page(cohort, form.values, form.errors, status=422)
    try:
        answer = intake_services.request_place(cohort.program_id, form.data, form.key)
    except Conflict:  # the program takes enrolments directly now (the same for whoever asks)
        return _form_page(cohort, form.values, problem=_("This program now takes enrolments directly."), status=409)
    return _to_check_email(cohort.id, answer.email)


def _to_check_email(cohort_id: str, email: str) -> Response:
    # The address is shown once on the next page (to spot a typo), from this browser's own session.
    session["asked_email"] = email
    return private(redirect(url_for("pages.check_email", cohort_id=cohort_id), 303))


def _check_email_page(cohort, email: str | None, errors: dict | None = None, status: int = 200) -> Response:
    body = render_template(
        "pages/check_email.html",
        cohort=cohort_presenters.cohort_page(cohort),
        email=email,
        minutes=cohort.confirm_email_minutes,
        errors=errors or {},
        # In development with mail written to files: the messages are one click away (pages/dev_mail.py).
        mailbox_url=url_for("dev_mail.mailbox") if "dev_mail.mailbox" in current_app.view_functions else None,
    )
    return no_store(Response(body, status=status, mimetype="text/html"))


@bp.get("/cohorts/<cohort_id>/check-email")
@page(PUBLIC_PAGE)
def check_email(cohort_id):
    """After the form: open the link just emailed; or ask for it again."""
    return _check_email_page(cohort_services.get_cohort(cohort_id), session.pop("asked_email", None))


@bp.post("/cohorts/<cohort_id>/check-email")
@page(PUBLIC_PAGE)
@limiter.limit(_enrol_limit, key_func=get_remote_address)
@per_address
def send_link_again(cohort_id):
    """ "Send it again": a request like any other, answered the same for every address."""
    cohort = cohort_services.get_cohort(cohort_id)
    email = request.form.get("email", "").strip()
    try:
        data = LinkAgainIn().load({"email": email})
    except ValidationError as error:
        errors = field_errors.field_messages({"email": error.messages.get("email", [])})
        return _check_email_page(cohort, None, errors, status=422)
    if cohort.program.admission == "intake":
        answer = intake_services.request_link_again(cohort.program_id, data["email"])
    else:
        answer = requested.request_link_again(cohort.id, data["email"])
    return _to_check_email(cohort.id, answer.email)


# ---- the participant's page ---------------------------------------------------------------------


@bp.get("/me/<enrolment_id>")
@page(PARTICIPANT_PAGE)
def participant(enrolment_id):
    """The participant's page; ?token= from an email is exchanged for a cookie and dropped from the URL."""
    token = request.args.get("token")
    if token is not None:
        if not requested.use_manage_link(enrolment_id, token):  # its first use opens the emailed link
            raise NotFound("This link is not valid any more.")
        page_path = url_for("pages.participant", enrolment_id=enrolment_id)
        return remember(_to_participant_page(enrolment_id), page_path, token)
    _require_participant(enrolment_id)
    return _participant_page(enrolment_id)


def _participant_page(enrolment_id: str, errors: dict | None = None, values: dict | None = None, status=200):
    enrolment = self_service.get_enrolment(enrolment_id)
    card = ledger.card_payment_state(enrolment.id) if presenters.awaits_payment(enrolment) else None
    me = presenters.participant_page(enrolment, card)
    body = render_template("pages/participant.html", me=me, errors=errors or {}, values=values or {})
    return private(Response(body, status=status, mimetype="text/html"))


@bp.get("/me/<enrolment_id>/withdraw")
@page(PARTICIPANT_PAGE)
def withdraw(enrolment_id):
    """The confirmation step: what withdrawing now means, and the refund, before anything happens."""
    _require_participant(enrolment_id)
    me = presenters.participant_page(self_service.get_enrolment(enrolment_id), None)
    if not me["can_withdraw"]:
        return _to_participant_page(enrolment_id)
    return private(Response(render_template("pages/withdraw.html", me=me)))


@bp.post("/me/<enrolment_id>/withdraw")
@page(PARTICIPANT_PAGE)
def confirm_withdrawal(enrolment_id):
    """Withdraw, with the refund the policy gives."""
    _require_participant(enrolment_id)
    try:
        result = self_service.withdraw(enrolment_id)
    except Conflict:
        flash(_("There was nothing left to withdraw from: your place had already lapsed or ended."), "error")
    else:
        flash(presenters.withdrawal_message(result), "success")
    return _to_participant_page(enrolment_id)


@bp.post("/me/<enrolment_id>/accept")
@page(PARTICIPANT_PAGE)
def accept(enrolment_id):
    """Accept an offered seat."""
    _require_participant(enrolment_id)
    try:
        self_service.accept(enrolment_id)
    except Conflict:
        flash(_("This offer can no longer be accepted: it has lapsed or was already answered."), "error")
    except Unavailable:
        flash(_("We could not reach the payment provider; nothing changed. Please try again in a minute."), "error")
    else:
        flash(_("You have accepted the place."), "success")
    return _to_participant_page(enrolment_id)


@bp.post("/me/<enrolment_id>/agreements")
@page(PARTICIPANT_PAGE)
def accept_agreements(enrolment_id):
    """Accept the agreements shown on the page ("I agree"), signed with the full name typed."""
    _require_participant(enrolment_id)
    values = {"full_name": request.form.get("full_name", "").replace("\x00", "")}
    shown = [i for i in request.form.getlist("agreement_id") if i and "\x00" not in i]
    try:
        data = AgreementAcceptIn().load({"full_name": request.form.get("full_name", "")})
    except ValidationError as error:
        errors = field_errors.field_messages({"full_name": error.messages["full_name"]})
        return _participant_page(enrolment_id, errors, values, status=422)
    if not shown:
        return _to_participant_page(enrolment_id)
    try:
        accepted = self_service.accept_agreements(enrolment_id, shown, data["full_name"])
    except Conflict:
        flash(_nothing_signed(enrolment_id), "error")
    else:
        confirmed = accepted[0].enrolment.status == "confirmed"
        flash(
            _("Thank you: you have accepted the agreements. Your place is confirmed.")
            if confirmed
            else _("Thank you: you have accepted the agreements."),
            "success",
        )
    return _to_participant_page(enrolment_id)


def _nothing_signed(enrolment_id: str) -> str:
    """Why an "I agree" signed nothing, in the page's language: the place ended, or the agreements changed."""
    enrolment = self_service.get_enrolment(enrolment_id)
    held = enrolment.status not in ("pending_payment", "offered") or enrolment.holds_seat(clock.now())
    if enrolment.status in presenters.ACTIVE and held:
        return _("Nothing was signed: the agreements were updated in the meantime. Please read the current ones below.")
    return _("Nothing was signed: your place is no longer held, so there is nothing left to agree to.")


@bp.post("/me/<enrolment_id>/decline")
@page(PARTICIPANT_PAGE)
def decline(enrolment_id):
    """Decline an offered seat; it goes to the next person waiting."""
    _require_participant(enrolment_id)
    try:
        self_service.decline(enrolment_id)
    except Conflict:
        flash(_("This offer can no longer be declined: it has lapsed or was already answered."), "error")
    else:
        flash(_("You have declined the place. Thank you for letting us know."), "success")
    return _to_participant_page(enrolment_id)


@bp.post("/me/<enrolment_id>/payment")
@page(PARTICIPANT_PAGE)
def restart_payment(enrolment_id):
    """A fresh card payment for a held seat (the hold is not extended)."""
    _require_participant(enrolment_id)
    try:
        paying.retry_payment(enrolment_id)
    except Conflict:
        flash(_("This place is no longer held, so it cannot be paid for."), "error")
    except Unavailable:
        flash(_("We could not reach the payment provider. Please try again in a minute."), "error")
    return _to_participant_page(enrolment_id)


@bp.get("/me/<enrolment_id>/sessions.ics")
@page(PARTICIPANT_PAGE)
def download_ics(enrolment_id):
    """The sessions as a one-off .ics file (entries imported from it do not update)."""
    _require_participant(enrolment_id)
    enrolment = self_service.get_enrolment(enrolment_id)
    if enrolment.status != "confirmed":
        raise NotFound("The calendar file is there once your place is confirmed.")
    response = Response(calendar_services.enrolment_ics(enrolment), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'attachment; filename="group-sessions.ics"'
    return private(response)


# ---- the stylesheet and script ----------------------------------------------------------------------


@bp.get("/static/<path:filename>")
@page(PUBLIC_PAGE)
def static(filename):
    """The one stylesheet and the little script the pages use."""
    return send_from_directory(STATIC_DIR, filename, max_age=3600)
