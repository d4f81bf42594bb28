"""Staff accounts and their tokens. Only a hash of each token is stored."""

from dataclasses import dataclass

from sqlalchemy import func, select

from .. import clock
from ..database import Page, hash_token, new_token, paginate, write_transaction
from ..errors import Conflict, NotFound
from ..events import publish
from ..extensions import db
from .events import StaffRevoked
from .models import Staff


@dataclass(frozen=True)
class StaffCreated:
    """A new account and its token, shown this once (only its hash is stored)."""

    member: Staff
    token: str

    def __getattr__(self, name):  # the row's own fields, for the schemas
        return getattr(self.member, name)


def create_staff(email: str, name: str, role: str) -> StaffCreated:
    """Create an account with a new token."""
    email = email.strip().lower()
    token = new_token("stf")
    with write_transaction():
        if db.session.scalar(select(func.count()).where(Staff.email == email)):
            raise Conflict(f"A staff account for {email} already exists.")
        member = Staff(email=email, name=name, role=role, token_hash=hash_token(token))
        db.session.add(member)
    return StaffCreated(member, token)


def issue_new_token(staff_id: str) -> StaffCreated:
    """Give an account a fresh token (the old one stops working) and restore its access."""
    token = new_token("stf")
    with write_transaction():
        member = db.session.get(Staff, staff_id)
        if member is None:
            raise NotFound("No such staff account.")
        member.token_hash, member.revoked_at = hash_token(token), None
    return StaffCreated(member, token)


def revoke_staff(staff_id: str, acting) -> Staff:
    """Revoke an account's token; the account stays for the audit trail."""
    with write_transaction():
        member = db.session.get(Staff, staff_id)
        if member is None or member.revoked_at is not None:
            raise NotFound("No such active staff account.")
        if member.id == acting.id:
            raise Conflict("You cannot revoke your own account; ask another admin.")
        member.revoked_at = clock.now()
        publish(StaffRevoked(member))
    return member


def list_staff(page: int, page_size: int) -> Page:
    return paginate(select(Staff).order_by(Staff.created_at, Staff.id), page, page_size)
