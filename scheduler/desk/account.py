"""Signing in and out of the console, and the member's own account (API tokens, their calendar link).

Sign-in is by a one-time link sent to a staff address (staff.services keeps the links,
sessions and the staff audit log); the link's page asks for a click before it is spent.
"""

from functools import partial

from flask import current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from ..calendars import personal_feeds
from ..foundation import i18n
from ..foundation.auth import Access
from ..foundation.errors import Invalid, NotFound
from ..foundation.extensions import limiter
from ..pages.presenters import LANGUAGE_NAMES
from ..pages.views import page
from ..staff import services as staff_services
from ..staff.schemas import ApiTokenCreate, SignInLinkRequest
from .blueprint import bp
from .forms import parse
from .screens import answer_form, render
from .session import clear_cookie, desk_page, renew_browser_session, safe_next, set_cookie, signed_in

PUBLIC_PAGE = Access("public")


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
    return render(
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

    def act():
        data = parse(SignInLinkRequest, {"email": "text"})
        staff_services.request_sign_in_link(data["email"], then)
        return render("desk/login_sent.html", email=data["email"])

    return answer_form(partial(render, "desk/login.html", expired=False, next=then), act, refusals=())


@bp.get("/login/<token>")
@page(PUBLIC_PAGE)
def confirm_link(token):
    """The link from the email: a button to sign in (a mail scanner that opens the link spends nothing)."""
    owner = staff_services.sign_in_link_owner(token)
    if owner is None:
        return render("desk/link_invalid.html", 404)
    return render("desk/login_confirm.html", owner=owner, token=token, next=safe_next(request.args.get("next")))


@bp.post("/login/<token>")
@page(PUBLIC_PAGE)
def use_link(token):
    """Spend the link and begin a console session."""
    target = safe_next(request.form.get("next")) or url_for("desk.today")  # settled before anything is spent
    try:
        signed = staff_services.sign_in(token)
    except NotFound:
        return render("desk/link_invalid.html", 404)
    renew_browser_session()
    i18n.use_locale(signed.member.locale)  # said in the language the console will speak
    flash(_("Signed in as %(name)s.", name=signed.member.name), "success")
    return set_cookie(redirect(target, 303), signed.session_token)


@bp.post("/logout")
@desk_page()
def logout():
    """Sign out: the session ends here and on the server."""
    staff_services.sign_out(g.desk_session_id, g.desk_member)
    i18n.forget_choice()  # the sign-in page that says it follows the browser
    flash(_("You have signed out."), "success")
    return clear_cookie(redirect(url_for("desk.login"), 303))


# ---- my account: API tokens and the calendar link -------------------------------------------------


def _account_page(*, created=None, errors=None, values=None, problem=None, status=200):
    return render(
        "desk/account.html",
        status,
        # The member's own feed (assessments, groups): its link is made the first time it is shown.
        calendar=personal_feeds.staff_feed_links(g.desk_member.id),
        tokens=staff_services.api_tokens(g.desk_member),
        created=created,
        errors=errors or {},
        values=values or {},
        problem=problem,
        base_url=current_app.config["PUBLIC_BASE_URL"],
        languages=[(code, LANGUAGE_NAMES.get(code, code)) for code in i18n.LOCALES],
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

    def act():
        data = parse(ApiTokenCreate, {"label": "text"})
        return _account_page(created=staff_services.create_api_token(g.desk_member, data["label"]), status=201)

    return answer_form(_account_page, act, refusals=())


@bp.post("/account/tokens/<token_id>/revoke")
@desk_page()
def revoke_token(token_id):
    """Revoke one of the member's own API tokens."""
    row = staff_services.revoke_api_token(g.desk_member, token_id)
    flash(_("The token “%(name)s” is revoked; it no longer works.", name=row.label), "success")
    return redirect(url_for("desk.account"), 303)


@bp.post("/account/language")
@desk_page()
def choose_language():
    """The language the console (and the mail it sends the member) speaks from now on; none: the browser's."""

    def act():
        chosen = request.form.get("locale", "").strip() or None
        staff_services.choose_language(g.desk_member, chosen)
        if chosen:  # the notice speaks the language just chosen
            i18n.use_locale(chosen)
        else:
            i18n.forget_choice()
        flash(_("The console now speaks %(language)s.", language=LANGUAGE_NAMES[i18n.page_language()]), "success")
        return redirect(url_for("desk.account"), 303)

    return answer_form(_account_page, act, refusals=(Invalid,))


@bp.post("/account/calendar")
@desk_page()
def replace_calendar_link():
    """A new link to the member's own calendar feed; the old one stops working at once."""
    personal_feeds.replace_staff_feed(g.desk_member.id)
    flash(
        _("Your calendar link is replaced: the old one no longer works. Subscribe again with the new one."), "success"
    )
    return redirect(url_for("desk.account", _anchor="calendar-heading"), 303)
