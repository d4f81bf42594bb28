"""Who may call what. Every view declares an Access; the endpoint decorator enforces it.

Credentials: staff bearer tokens (`stf_…`) in the Authorization header only; a
participant's manage token (`mng_…`) for one enrolment, as `Authorization: Bearer …`
or `?token=…` (the links in emails carry it). A URL ends up in access logs, browser
history and Referer headers: no staff token may ride in one.
"""

import hmac
from dataclasses import dataclass

from flask import g, request
from sqlalchemy import select

from ..staff.models import DESK, ROLES, ApiToken, Role, Staff
from .database import hash_token
from .errors import Forbidden, NotFound, Unauthorized
from .extensions import db
from .plugins import PlugIn

ADMIN, FRONT_DESK, FACILITATOR = Role.ADMIN, Role.FRONT_DESK, Role.FACILITATOR
__all__ = [
    "ADMIN",
    "DESK",
    "FACILITATOR",
    "FRONT_DESK",
    "ROLES",
    "Access",
    "authenticate",
    "current_staff",
    "hash_token",
]


@dataclass(frozen=True)
class Access:
    """kind: open | public | staff | participant | token (secret in the URL) | webhook | metrics.

    "open" ignores every credential (health checks, the API's description): a
    monitor or a browser that sends one, good or bad, gets the same answer.

    roles: staff roles allowed. For "public", staff credentials are optional and,
    when given, let the view show more. For "participant", the manage token of
    the enrolment named by the URL's `enrolment_id`, or staff of these roles.
    """

    kind: str
    roles: tuple = ()

    @property
    def needs_credentials(self) -> bool:
        return self.kind in ("staff", "participant")


PUBLIC = Access("public", DESK + (FACILITATOR,))
TOKEN_IN_URL = Access("token")
WEBHOOK = Access("webhook")


def staff(*roles: str) -> Access:
    return Access("staff", roles or ROLES)


def participant_or_staff(*roles: str) -> Access:
    return Access("participant", roles or DESK)


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
        return value.strip()
    in_url = request.args.get("token")
    if not in_url:
        return None
    if in_url.startswith("mng_"):
        return in_url
    if in_url.startswith("stf_"):
        raise Unauthorized(
            "Staff tokens are accepted only in the Authorization header ('Authorization: Bearer <token>'), "
            "never in the URL, where logs and browser history keep them."
        )
    raise Unauthorized("Only a participant's manage link may carry ?token=; send tokens as 'Authorization: Bearer'.")


# How a manage token is checked against the enrolment it claims, `check(enrolment_id, token) -> bool`:
# the enrolment domain supplies it (it owns the table), so this module imports no higher domain.
# A token is sent only in the person's emails, so its first use also tells that domain the
# emailed link was opened (a public request's held seat then gets its normal hold).
manage_token_check = PlugIn("check a manage token against an enrolment (noting the link's first use) -> bool")

# URL arguments other than enrolment_id that name something one enrolment owns (a payment's
# receipt): {view_arg: owner(value) -> enrolment_id or None}, supplied by the domain that knows.
enrolment_owners = PlugIn("find the enrolment owning a URL argument: {view_arg: owner(value) -> enrolment_id}")


# A person's intake (a request for a place, admission) has a manage token of its own, checked by
# `check(intake_id, token) -> bool`; a URL naming an intake_id is answered for that intake's token.
intake_token_check = PlugIn("check a manage token against an intake -> bool")


def _participant_enrolment(view_args: dict) -> str | None:
    if view_args.get("enrolment_id"):
        return view_args["enrolment_id"]
    for name, owner in enrolment_owners.value.items():
        if view_args.get(name):
            return owner(view_args[name])
    return None


def _staff_for(token: str):
    digest = hash_token(token)
    member = db.session.scalar(select(Staff).where(Staff.token_hash == digest, Staff.revoked_at.is_(None)))
    if member is None:
        # A further token the member made in the console (until they revoke it, or the account is).
        return db.session.scalar(
            select(Staff)
            .join(ApiToken, ApiToken.staff_id == Staff.id)
            .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None), Staff.revoked_at.is_(None))
        )
    if not hmac.compare_digest(member.token_hash, digest):
        return None
    return member


def authenticate(access: Access, view_args: dict) -> None:
    """Set g.staff or g.participant_enrolment_id, or raise 401/403/404."""
    g.staff = None
    g.participant_enrolment_id = None
    g.participant_intake_id = None
    if access.kind in ("open", "metrics", "token", "webhook"):
        return
    token = presented_token()
    if token is None:
        if access.needs_credentials:
            raise Unauthorized()
        return
    if token.startswith("mng_") and access.kind == "public":
        return  # a participant browsing public pages: nothing more to show them
    if token.startswith("mng_") and access.kind == "participant" and view_args.get("intake_id"):
        if not intake_token_check(view_args["intake_id"], token):
            raise NotFound("No such intake.")  # someone else's, or none: do not say which
        g.participant_intake_id = view_args["intake_id"]
        return
    if token.startswith("mng_") and access.kind == "participant":
        enrolment_id = _participant_enrolment(view_args)
        if not enrolment_id or not manage_token_check(enrolment_id, token):
            # Someone else's enrolment, or none: do not say which.
            raise NotFound("No such enrolment.")
        g.participant_enrolment_id = enrolment_id
        return
    member = _staff_for(token)
    if member is None:
        raise Unauthorized("That token is not valid (unknown, revoked or mistyped).")
    if member.role not in access.roles:
        raise Forbidden(f"The {member.role} role may not do this.")
    g.staff = member


def current_staff():
    return g.get("staff")
