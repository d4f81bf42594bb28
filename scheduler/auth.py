"""Who may call what. Every view declares an Access; the endpoint decorator enforces it.

Credentials: staff bearer tokens (`stf_…`) in the Authorization header only; a
participant's manage token (`mng_…`) for one enrolment, as `Authorization: Bearer …`
or `?token=…` (the links in emails carry it). A URL ends up in access logs, browser
history and Referer headers: no staff token may ride in one.
"""

import hashlib
import hmac
from dataclasses import dataclass

from flask import g, request

from .errors import Forbidden, NotFound, Unauthorized

ADMIN, FRONT_DESK, FACILITATOR = "admin", "front_desk", "facilitator"
ROLES = (ADMIN, FRONT_DESK, FACILITATOR)
DESK = (ADMIN, FRONT_DESK)


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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


def _staff_for(token: str):
    from .staff.models import Staff

    digest = hash_token(token)
    member = Staff.query.filter_by(token_hash=digest, revoked_at=None).one_or_none()
    if member is None or not hmac.compare_digest(member.token_hash, digest):
        return None
    return member


def authenticate(access: Access, view_args: dict) -> None:
    """Set g.staff or g.participant_enrolment_id, or raise 401/403/404."""
    g.staff = None
    g.participant_enrolment_id = None
    if access.kind in ("open", "metrics", "token", "webhook"):
        return
    token = presented_token()
    if token is None:
        if access.needs_credentials:
            raise Unauthorized()
        return
    if token.startswith("mng_") and access.kind == "public":
        return  # a participant browsing public pages: nothing more to show them
    if token.startswith("mng_") and access.kind == "participant":
        from .enrolment.models import Enrolment
        from .extensions import db

        enrolment_id = view_args.get("enrolment_id")
        enrolment = db.session.get(Enrolment, enrolment_id) if enrolment_id else None
        if enrolment is None or not hmac.compare_digest(enrolment.manage_token, token):
            # Someone else's enrolment, or none: do not say which.
            raise NotFound("No such enrolment.")
        g.participant_enrolment_id = enrolment.id
        return
    member = _staff_for(token)
    if member is None:
        raise Unauthorized("That token is not valid (unknown, revoked or mistyped).")
    if member.role not in access.roles:
        raise Forbidden(f"The {member.role} role may not do this.")
    g.staff = member


def current_staff():
    return g.get("staff")
