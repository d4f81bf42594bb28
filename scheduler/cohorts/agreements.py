"""A program's agreements: attendance policy, group guidelines, telehealth consent, payment terms.

Each is kept as immutable versions. Adding one with the title of a current agreement (any case)
supersedes that one: the new row is version n+1 and the old one gets superseded_at. The current
agreements of a program are its rows not superseded. What a person accepted is the enrolment
domain's (enrolment/agreements.py): it names the version's row, its number and its text's hash.
"""

import hashlib

from sqlalchemy import Index, UniqueConstraint, select, text

from ..foundation import clock
from ..foundation.clock import now
from ..foundation.database import UTCDateTime, lock_one, new_id, write_transaction
from ..foundation.errors import NotFound
from ..foundation.extensions import db
from ..staff.services import record_action
from .models import Cohort, Program


def text_hash(body: str) -> str:
    """The SHA-256 (hex) of an agreement's text, as stored with it and with every acceptance of it."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class ProgramAgreement(db.Model):
    """One version of one of a program's agreements (never changed once written)."""

    __tablename__ = "program_agreements"
    __table_args__ = (
        UniqueConstraint("program_id", "title", "version", name="uq_program_agreements_version"),
        Index(
            "ix_program_agreements_current",
            "program_id",
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id = db.Column(db.String(40), primary_key=True, default=lambda: new_id("agr"))
    program_id = db.Column(db.String(40), db.ForeignKey("programs.id"), nullable=False)
    title = db.Column(db.String(200), nullable=False)
    body = db.Column(db.Text, nullable=False)
    # 1, 2, … per title within the program.
    version = db.Column(db.Integer, nullable=False)
    text_hash = db.Column(db.String(64), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=now)
    created_by = db.Column(db.String(40), db.ForeignKey("staff.id"), nullable=False)
    # Set when a newer version with the same title replaced it.
    superseded_at = db.Column(UTCDateTime)


def _same_title(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def add_agreement(program_id: str, data: dict, staff) -> ProgramAgreement:
    """Add a version of an agreement; one with the same title as a current one supersedes it.

    The program's row is locked, so two versions of one title are never numbered alike.
    """
    with write_transaction():
        lock_one(Program, program_id, "No such program.")
        title, body = data["title"], data["body"]
        earlier = [
            a
            for a in db.session.scalars(select(ProgramAgreement).where(ProgramAgreement.program_id == program_id))
            if _same_title(a.title, title)
        ]
        at = clock.now()
        for previous in earlier:
            if previous.superseded_at is None:
                previous.superseded_at = at
        agreement = ProgramAgreement(
            program_id=program_id,
            title=title,
            body=body,
            version=max((a.version for a in earlier), default=0) + 1,
            text_hash=text_hash(body),
            created_at=at,
            created_by=staff.id,
        )
        db.session.add(agreement)
        db.session.flush()
        record_action(
            staff,
            "agreement_added",
            target=f"program:{program_id}",
            detail={"agreement_id": agreement.id, "title": title, "version": agreement.version},
        )
    return agreement


def current_agreements(program_id: str) -> list[ProgramAgreement]:
    """The program's agreements in force (NotFound for an unknown program), by title."""
    if db.session.get(Program, program_id) is None:
        raise NotFound("No such program.")
    return list(
        db.session.scalars(
            select(ProgramAgreement)
            .where(ProgramAgreement.program_id == program_id, ProgramAgreement.superseded_at.is_(None))
            .order_by(ProgramAgreement.title, ProgramAgreement.id)
        )
    )


def current_for_cohorts(cohort_ids) -> dict[str, list[ProgramAgreement]]:
    """The agreements in force for each of these cohorts (their programs'), by title, in one query."""
    found: dict[str, list[ProgramAgreement]] = {cohort_id: [] for cohort_id in cohort_ids}
    if found:
        rows = db.session.execute(
            select(Cohort.id, ProgramAgreement)
            .join(ProgramAgreement, ProgramAgreement.program_id == Cohort.program_id)
            .where(Cohort.id.in_(sorted(found)), ProgramAgreement.superseded_at.is_(None))
            .order_by(ProgramAgreement.title, ProgramAgreement.id)
        )
        for cohort_id, agreement in rows:
            found[cohort_id].append(agreement)
    return found


def get_agreement(agreement_id: str) -> ProgramAgreement | None:
    return db.session.get(ProgramAgreement, agreement_id)
