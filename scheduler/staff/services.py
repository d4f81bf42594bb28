"""Staff accounts and their credentials: API tokens, one-time sign-in links, console sessions.

Only a hash of each token, link and session secret is stored. Every sign-in, sign-out
and change to an account or its tokens is written to the staff audit log.
"""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from ..foundation import clock
from ..foundation.database import Page, hash_token, new_token, paginate, require_write, write_transaction
from ..foundation.errors import Conflict, Invalid, NotFound
from ..foundation.events import publish
from ..foundation.extensions import db
from ..foundation.i18n import LOCALES
from ..foundation.links import public_url
from ..inbox import services as inbox
from ..inbox.models import Outcome, RequestKind
from .events import SignInLinkIssued, StaffRevoked
from .models import ROLES, ApiToken, ConsoleSession, SignInLink, Staff, StaffAuditEntry

SIGN_IN_LINK_MINUTES = 15
SESSION_IDLE_HOURS = 12
# A session's last activity is written at most this often (not on every page view).
SESSION_TOUCH_SECONDS = 60


@dataclass(frozen=True)
class StaffCreated:
    """A new account and its token, shown this once (only its hash is stored)."""

    member: Staff
    token: str

    def __getattr__(self, name):  # the row's own fields, for the schemas
        return getattr(self.member, name)


def create_staff(email: str, name: str, role: str, acting=None, assessor: bool = False) -> StaffCreated:
    """Create an account with a new token."""
    email = email.strip().lower()
    token = new_token("stf")
    with write_transaction():
        if db.session.scalar(select(func.count()).where(Staff.email == email)):
            raise Conflict(_l("A staff account for %(email)s already exists.", email=email))
        member = Staff(email=email, name=name, role=role, token_hash=hash_token(token), assessor=assessor)
        db.session.add(member)
        db.session.flush()
        detail = {"role": role, "name": name, "assessor": assessor}
        record_action(acting, "staff_created", target=f"staff:{member.id}", detail=detail)
    return StaffCreated(member, token)


def update_staff(staff_id: str, data: dict, acting) -> Staff:
    """Mark an account as an assessor (it runs intake assessments), or not; set a clinician's NPI (audited)."""
    with write_transaction():
        member = db.session.get(Staff, staff_id)
        if member is None:
            raise NotFound(_l("No such staff member."))
        for name in ("assessor", "npi"):
            if name in data:
                setattr(member, name, data[name])
        record_action(acting, "staff_updated", target=f"staff:{member.id}", detail=dict(data))
    return member


def issue_new_token(staff_id: str) -> StaffCreated:
    """Give an account a fresh token (the old one stops working) and restore its access."""
    token = new_token("stf")
    with write_transaction():
        member = db.session.get(Staff, staff_id)
        if member is None:
            raise NotFound(_l("No such staff account."))
        member.token_hash, member.revoked_at = hash_token(token), None
    return StaffCreated(member, token)


def revoke_staff(staff_id: str, acting) -> Staff:
    """Revoke an account's token; the account stays for the audit trail."""
    with write_transaction():
        member = db.session.get(Staff, staff_id)
        if member is None or member.revoked_at is not None:
            raise NotFound(_l("No such active staff account."))
        if member.id == acting.id:
            raise Conflict(_l("You cannot revoke your own account; ask another admin."))
        member.revoked_at = clock.now()
        # Every way in ends with it: console sessions now; API tokens are refused with the account.
        db.session.execute(
            ConsoleSession.__table__.update()
            .where(ConsoleSession.staff_id == member.id, ConsoleSession.ended_at.is_(None))
            .values(ended_at=member.revoked_at)
        )
        record_action(acting, "staff_revoked", target=f"staff:{member.id}")
        publish(StaffRevoked(member))
    return member


def list_staff(page: int, page_size: int) -> Page:
    return paginate(select(Staff).order_by(Staff.created_at, Staff.id), page, page_size)


def get_staff(staff_id: str) -> Staff:
    member = db.session.get(Staff, staff_id)
    if member is None:
        raise NotFound(_l("No such staff account."))
    return member


def change_role(staff_id: str, role: str, acting) -> Staff:
    """Give an account another role (admin, front_desk, facilitator); audited."""
    if role not in ROLES:
        raise Invalid.field("role", "Use one of: " + ", ".join(ROLES) + ".")
    with write_transaction():
        member = db.session.get(Staff, staff_id)
        if member is None or member.revoked_at is not None:
            raise NotFound(_l("No such active staff account."))
        if acting is not None and member.id == acting.id:
            raise Conflict(_l("You cannot change your own role; ask another admin."))
        if member.role != role:
            record_action(acting, "role_changed", target=f"staff:{member.id}", detail={"from": member.role, "to": role})
            member.role = role
    return member


# ---- the staff audit log ----------------------------------------------------------------------


def record_action(acting, action: str, *, target: str | None = None, detail: dict | None = None) -> None:
    """Write one entry of the staff audit log, inside the caller's write transaction."""
    require_write()
    db.session.add(StaffAuditEntry(staff_id=acting.id if acting else None, action=action, target=target, detail=detail))


def staff_audit(page: int, page_size: int, staff_id: str | None = None) -> Page:
    """Staff audit entries, newest first, with who acted."""
    stmt = select(StaffAuditEntry).options(selectinload(StaffAuditEntry.staff))
    if staff_id:
        stmt = stmt.where(StaffAuditEntry.staff_id == staff_id)
    return paginate(stmt.order_by(StaffAuditEntry.created_at.desc(), StaffAuditEntry.id), page, page_size)


# ---- API tokens a staff member makes for themselves ---------------------------------------------


@dataclass(frozen=True)
class TokenCreated:
    """A new API token and its secret, shown this once."""

    row: ApiToken
    token: str

    def __getattr__(self, name):
        return getattr(self.row, name)


def api_tokens(member) -> list[ApiToken]:
    """The member's own API tokens that still work, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.staff_id == member.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id)
        )
    )


def create_api_token(member, label: str) -> TokenCreated:
    """A further bearer token for the JSON API, for the member themselves; shown once."""
    token = new_token("stf")
    with write_transaction():
        row = ApiToken(staff_id=member.id, label=label, token_hash=hash_token(token), hint=token[-4:])
        db.session.add(row)
        db.session.flush()
        record_action(member, "api_token_created", target=f"token:{row.id}", detail={"label": label})
    return TokenCreated(row, token)


def revoke_api_token(member, token_id: str) -> ApiToken:
    """Revoke one of the member's own API tokens (it stops working at once)."""
    with write_transaction():
        row = db.session.get(ApiToken, token_id)
        if row is None or row.staff_id != member.id or row.revoked_at is not None:
            raise NotFound(_l("No such token of yours."))
        row.revoked_at = clock.now()
        record_action(member, "api_token_revoked", target=f"token:{row.id}", detail={"label": row.label})
    return row


def choose_language(member, locale: str | None) -> Staff:
    """The language the console speaks to the member from now on (None: their browser's)."""
    if locale is not None and locale not in LOCALES:
        raise Invalid.field("locale", "Use one of: " + ", ".join(LOCALES) + ".")
    with write_transaction():
        row = db.session.get(Staff, member.id)
        row.locale = locale
        record_action(member, "language_chosen", target=f"staff:{row.id}", detail={"locale": locale})
    return row


# ---- one-time sign-in links and console sessions ------------------------------------------------


def _active_member(email: str) -> Staff | None:
    return db.session.scalar(select(Staff).where(Staff.email == email.strip().lower(), Staff.revoked_at.is_(None)))


def _issue_link(member: Staff, *, send: bool, then: str | None = None) -> str:
    token = new_token("sil")
    at = clock.now()
    db.session.add(
        SignInLink(
            staff_id=member.id,
            token_hash=hash_token(token),
            created_at=at,
            expires_at=at + timedelta(minutes=SIGN_IN_LINK_MINUTES),
        )
    )
    url = public_url(f"/desk/login/{token}") + (f"?{urlencode({'next': then})}" if then else "")
    if send:
        publish(SignInLinkIssued(member, url, SIGN_IN_LINK_MINUTES))
    return url


def request_sign_in_link(email: str, then: str | None = None) -> inbox.Received:
    """Queue a request for a one-time sign-in link; answered the same for every address.

    Nothing about the address is read here: the worker sends the link if it is an active staff
    account, and nothing otherwise (handle_sign_in_request). `then`: the console page the link
    leads to once signed in (the caller checks it is one).
    """
    expires = clock.now() + timedelta(minutes=SIGN_IN_LINK_MINUTES)
    return inbox.receive(RequestKind.SIGN_IN, email, {"email": email, "then": then}, expires_at=expires)


def handle_sign_in_request(request) -> tuple[str, str | None]:
    """The worker's side of request_sign_in_link, in the inbox's transaction: (outcome, staff id)."""
    member = _active_member(request.email)
    if member is None:
        return Outcome.NOTHING, None
    _issue_link(member, send=True, then=request.payload.get("then"))
    return Outcome.LINK_SENT, member.id


def issue_sign_in_link(email: str) -> str:
    """A one-time sign-in link for this staff member, returned instead of emailed (the command line)."""
    with write_transaction():
        member = _active_member(email)
        if member is None:
            raise NotFound(_l("No active staff account has the email %(email)s.", email=email))
        url = _issue_link(member, send=False)
        record_action(None, "sign_in_link_printed", target=f"staff:{member.id}")
    return url


def _usable_link(token: str, at) -> SignInLink | None:
    link = db.session.scalar(select(SignInLink).where(SignInLink.token_hash == hash_token(token)))
    if link is None or link.used_at is not None or link.expires_at <= at or link.staff.revoked_at is not None:
        return None
    return link


def sign_in_link_owner(token: str) -> Staff | None:
    """Whom a sign-in link would sign in, if it is still usable (read only: it is not used up)."""
    link = _usable_link(token, clock.now())
    return link.staff if link is not None else None


@dataclass(frozen=True)
class SignedIn:
    """A new console session: the member, and the secret for their cookie (only its hash is kept)."""

    member: Staff
    session_token: str


def sign_in(token: str) -> SignedIn:
    """Use a one-time link: it is spent, and a console session begins (audited)."""
    secret = new_token("css")
    with write_transaction():
        at = clock.now()
        link = _usable_link(token, at)
        # Spent by one conditional statement: of several posts racing with one link (read
        # without a lock), exactly one finds it still unused; the others open no session.
        spent = (
            link is not None
            and db.session.execute(
                update(SignInLink)
                .where(SignInLink.id == link.id, SignInLink.used_at.is_(None))
                .values(used_at=at)
                .execution_options(synchronize_session=False)
            ).rowcount
        )
        if not spent:
            raise NotFound(_l("This sign-in link has expired or has already been used."))
        session = ConsoleSession(staff_id=link.staff_id, token_hash=hash_token(secret), created_at=at, last_seen_at=at)
        db.session.add(session)
        db.session.flush()
        record_action(link.staff, "signed_in", target=f"session:{session.id}")
    return SignedIn(link.staff, secret)


@dataclass(frozen=True)
class ActiveSession:
    member: Staff
    session_id: str
    last_seen_at: object


def console_session(secret: str) -> ActiveSession | None:
    """The signed-in member for a session secret, or None (unknown, ended, revoked, or idle too long)."""
    row = db.session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == hash_token(secret)))
    if row is None or row.ended_at is not None or row.staff.revoked_at is not None:
        return None
    if row.last_seen_at <= clock.now() - timedelta(hours=SESSION_IDLE_HOURS):
        return None
    return ActiveSession(row.staff, row.id, row.last_seen_at)


def touch_session(session_id: str) -> None:
    """Note activity on a session (what keeps it from idling out), at most once a minute."""
    at = clock.now()
    if not db.session.scalar(
        select(func.count()).where(
            ConsoleSession.id == session_id,
            ConsoleSession.last_seen_at <= at - timedelta(seconds=SESSION_TOUCH_SECONDS),
        )
    ):
        return
    with write_transaction():
        db.session.execute(
            ConsoleSession.__table__.update()
            .where(ConsoleSession.id == session_id, ConsoleSession.ended_at.is_(None))
            .values(last_seen_at=at)
        )


def sign_out(session_id: str, member) -> None:
    """End a console session (audited)."""
    with write_transaction():
        row = db.session.get(ConsoleSession, session_id)
        if row is None or row.ended_at is not None:
            return
        row.ended_at = clock.now()
        record_action(member, "signed_out", target=f"session:{row.id}")
