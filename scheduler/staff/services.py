"""Staff accounts and their tokens."""

from sqlalchemy import func, select

from .. import clock
from ..auth import hash_token
from ..database import new_token
from ..errors import Conflict, NotFound
from ..extensions import db
from ..http import Page, paginate
from .models import Staff


def create_staff(email: str, name: str, role: str) -> Staff:
    """Create an account; the returned object carries `.token`, which is never stored."""
    email = email.strip().lower()
    if db.session.scalar(select(func.count()).where(Staff.email == email)):
        raise Conflict(f"A staff account for {email} already exists.")
    token = new_token("stf")
    member = Staff(email=email, name=name, role=role, token_hash=hash_token(token))
    db.session.add(member)
    db.session.commit()
    member.token = token
    return member


def revoke_staff(staff_id: str, acting) -> Staff:
    """Revoke an account's token; the account stays for the audit trail."""
    member = db.session.get(Staff, staff_id)
    if member is None or member.revoked_at is not None:
        raise NotFound("No such active staff account.")
    if member.id == acting.id:
        raise Conflict("You cannot revoke your own account; ask another admin.")
    member.revoked_at = clock.now()
    db.session.commit()
    return member


def list_staff(page: int, page_size: int) -> Page:
    return paginate(select(Staff).order_by(Staff.created_at, Staff.id), page, page_size)
