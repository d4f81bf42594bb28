""" "Send my link again" from the page an old or cut-short link opened (/me/<enrolment_id>…).

The person types their address; the link of that address's place in this enrolment's group is
queued like every public request (the inbox, per-address limits), and the answer is the same
whoever asks and whatever the address: a page saying to look in their inbox.
"""

from flask import Response, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from marshmallow import ValidationError

from ..enrolment import requested, self_service
from ..enrolment.api import _enrol_limit
from ..enrolment.schemas import LinkAgainIn
from ..foundation.extensions import limiter, per_address
from ..foundation.security import no_store
from . import field_errors
from .errors import PARTICIPANT_LINK_TEXT
from .views import PUBLIC_PAGE, bp, page


@bp.post("/me/<enrolment_id>/link-again")
@page(PUBLIC_PAGE)
@limiter.limit(_enrol_limit, key_func=get_remote_address)
@per_address
def link_again(enrolment_id):
    """Queue the link of this address's place in the enrolment's group; the same answer for all."""
    email = request.form.get("email", "").strip()
    try:
        data = LinkAgainIn().load({"email": email})
    except ValidationError as error:
        return _form_again(enrolment_id, field_errors.field_messages({"email": error.messages.get("email", [])}), email)
    cohort_id = self_service.cohort_of(enrolment_id)
    if cohort_id is not None:
        requested.request_link_again(cohort_id, data["email"])
    # The address is shown once on the next page (to spot a typo), from this browser's own session;
    # a GET, so that reloading it sends nothing again.
    session["asked_email"] = data["email"]
    return no_store(redirect(url_for("pages.link_sent"), 303))


@bp.get("/check-email")
@page(PUBLIC_PAGE)
def link_sent():
    """After "Send my link again": look in the inbox (the same page whoever asked)."""
    body = render_template("pages/link_sent.html", email=session.pop("asked_email", None))
    return no_store(Response(body, mimetype="text/html"))


def _form_again(enrolment_id: str, errors: dict, email: str) -> Response:
    heading, text = PARTICIPANT_LINK_TEXT
    body = render_template(
        "pages/error.html",
        status=422,
        heading=heading,
        text=text,
        participant=True,
        link_again_url=url_for("pages.link_again", enrolment_id=enrolment_id),
        errors=errors,
        email=email,
    )
    return no_store(Response(body, status=422, mimetype="text/html"))
