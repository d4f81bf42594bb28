"""Staff use cases on a participant's messages. Each public function is one transaction."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..enrolment.audit import record
from ..enrolment.models import Enrolment, EnrolmentStatus, status_word
from ..foundation import clock
from ..foundation.database import Page, new_id, paginate, write_transaction
from ..foundation.errors import Conflict, NotFound
from ..foundation.extensions import db
from .mime import rebuild
from .models import OutboxMessage, OutboxStatus
from .outbox import ensure_rendered
from .rendering import new_message_id
from .sender import CARRIES_LINK


def _enrolment(enrolment_id: str) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(_l("No such enrolment."))
    return enrolment


def list_messages(enrolment_id: str, page: int, page_size: int) -> Page:
    """The messages sent to an enrolment's person, oldest first, with their delivery state."""
    _enrolment(enrolment_id)
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.enrolment_id == enrolment_id, OutboxMessage.staff_id.is_(None))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return paginate(stmt, page, page_size)


def resend_message(enrolment_id: str, message_id: str, staff=None) -> OutboxMessage:
    """Queue a copy of a message (same content, a new Message-ID) to the same person (audited)."""
    with write_transaction():
        copy = _resend(enrolment_id, message_id)
        record(_enrolment(enrolment_id), staff, "message_resent", None, message=copy.kind, message_id=copy.id)
        return copy


def resend_refused(refusal: str, status: str):
    """Why resending is refused (a key of resend_refusal), as the console's reader reads it."""
    if refusal == "unsent":
        return _l("That message has not been sent yet; it will go out by itself.")
    if refusal == "link":
        return _l(
            "This message carries the meeting link and calendar, and the enrolment is %(status)s: "
            "only a confirmed participant may be sent it again.",
            status=status,
        )
    return _l("This person's data was erased; there is no one to send the message to.")


def resend_refusal(original: OutboxMessage, enrolment) -> str | None:
    """Why this message may not be sent again ("unsent", "link" or "erased"), or None: the console offers
    Resend only where this is None, and resending checks it again."""
    if original.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
        return "unsent"
    if original.kind in CARRIES_LINK and enrolment.status != EnrolmentStatus.CONFIRMED:
        return "link"
    if not original.to_address:
        return "erased"
    return None


def _resend(enrolment_id: str, message_id: str) -> OutboxMessage:
    enrolment = _enrolment(enrolment_id)
    original = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.id == message_id,
            OutboxMessage.enrolment_id == enrolment_id,
            OutboxMessage.staff_id.is_(None),
        )
    )
    if original is None:
        raise NotFound(_l("No such message for this enrolment."))
    refusal = resend_refusal(original, enrolment)
    if refusal is not None:
        raise Conflict(resend_refused(refusal, status_word(enrolment.status)))
    ensure_rendered(original)  # written unrendered and skipped before its turn: its content, now
    copy = OutboxMessage(
        id=new_id("msg"),
        enrolment_id=original.enrolment_id,
        session_id=original.session_id,
        kind=original.kind,
        resend_of=original.id,
        message_id=new_message_id(),
        from_address=original.from_address,
        to_address=original.to_address,
        subject=original.subject,
        body_text=original.body_text,
        body_html=original.body_html,
        attachments=original.attachments,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=clock.now(),
        created_at=clock.now(),
    )
    rebuild(copy)  # a new Message-ID: new bytes
    db.session.add(copy)
    return copy
