"""What a person has agreed to: their acceptances of their program's agreements (cohorts/agreements.py).

An enrolment in a program with agreements is confirmed only once every current one is accepted
(seat_keeping.apply_payment, and the places that confirm a free seat, ask `missing`). A newer
version leaves a confirmed person confirmed, with `agreements_due` on their views until they
accept it. This module reads and writes the rows; the use cases (the person accepting, staff
noting paper signatures) are in self_service.py and paying.py.
"""

from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from ..cohorts.agreements import ProgramAgreement, current_for_cohorts
from ..foundation import clock
from ..foundation.extensions import db
from .models import AgreementAcceptance, Enrolment
from .models import EnrolmentStatus as S


def has_current(program_id: str) -> bool:
    """Whether the program has any agreement in force (a new enrolment has accepted none yet)."""
    return (
        db.session.scalar(
            select(ProgramAgreement.id)
            .where(ProgramAgreement.program_id == program_id, ProgramAgreement.superseded_at.is_(None))
            .limit(1)
        )
        is not None
    )


def missing(enrolment: Enrolment) -> list[ProgramAgreement]:
    """The current agreements of the enrolment's program it has not accepted, by title (one query)."""
    accepted = (
        select(AgreementAcceptance.id)
        .where(
            AgreementAcceptance.enrolment_id == enrolment.id,
            AgreementAcceptance.agreement_id == ProgramAgreement.id,
        )
        .correlate(ProgramAgreement)
    )
    return list(
        db.session.scalars(
            select(ProgramAgreement)
            .where(
                ProgramAgreement.program_id == enrolment.cohort.program_id,
                ProgramAgreement.superseded_at.is_(None),
                ~exists(accepted),
            )
            .order_by(ProgramAgreement.title, ProgramAgreement.id)
        )
    )


def named(agreements: list[ProgramAgreement]) -> str:
    """'Group guidelines (version 2), Telehealth consent (version 1)'."""
    return ", ".join(f"{a.title} (version {a.version})" for a in agreements)


def noted(agreements: list[ProgramAgreement]) -> list[dict]:
    """The agreements as the audit log names them (no name typed: that is the person's data)."""
    return [{"agreement_id": a.id, "title": a.title, "version": a.version} for a in agreements]


def acceptance_of(enrolment_id: str, agreement_id: str) -> AgreementAcceptance | None:
    return db.session.scalar(
        select(AgreementAcceptance).where(
            AgreementAcceptance.enrolment_id == enrolment_id, AgreementAcceptance.agreement_id == agreement_id
        )
    )


def add_acceptance(
    enrolment: Enrolment, agreement: ProgramAgreement, full_name: str | None, *, staff=None
) -> AgreementAcceptance:
    """Store an acceptance of this version with its hash and the time (no full_name: on paper, by `staff`)."""
    acceptance = AgreementAcceptance(
        enrolment_id=enrolment.id,
        agreement_id=agreement.id,
        version=agreement.version,
        text_hash=agreement.text_hash,
        full_name=full_name,
        on_paper=full_name is None,
        staff_id=staff.id if staff is not None else None,
        accepted_at=clock.now(),
    )
    db.session.add(acceptance)
    return acceptance


def record_on_paper(enrolment: Enrolment, agreements: list[ProgramAgreement], staff) -> None:
    """Staff's word that the person signed these on paper."""
    for agreement in agreements:
        add_acceptance(enrolment, agreement, None, staff=staff)


def history(enrolment_id: str) -> list[AgreementAcceptance]:
    """Every acceptance of this enrolment, any version, oldest first, with its agreement and recorder."""
    return list(
        db.session.scalars(
            select(AgreementAcceptance)
            .options(selectinload(AgreementAcceptance.agreement), selectinload(AgreementAcceptance.staff))
            .where(AgreementAcceptance.enrolment_id == enrolment_id)
            .order_by(AgreementAcceptance.accepted_at, AgreementAcceptance.id)
        )
    )


def describe(enrolments: list[Enrolment]) -> dict[str, dict]:
    """For each enrolment: its program's current agreements, each with its acceptance if any
    (`agreements`), and `agreements_due` (confirmed, yet some current one not accepted).

    Two queries for any number of enrolments (one when no program of theirs has agreements).
    """
    current = current_for_cohorts({e.cohort_id for e in enrolments})
    accepted: dict[tuple[str, str], AgreementAcceptance] = {}
    if any(current.values()):
        rows = db.session.scalars(
            select(AgreementAcceptance).where(AgreementAcceptance.enrolment_id.in_([e.id for e in enrolments]))
        )
        accepted = {(row.enrolment_id, row.agreement_id): row for row in rows}
    described = {}
    for enrolment in enrolments:
        items = []
        for agreement in current[enrolment.cohort_id]:
            acceptance = accepted.get((enrolment.id, agreement.id))
            items.append(
                {
                    "id": agreement.id,
                    "title": agreement.title,
                    "body": agreement.body,
                    "version": agreement.version,
                    "text_hash": agreement.text_hash,
                    "accepted": acceptance is not None,
                    "accepted_at": acceptance.accepted_at if acceptance else None,
                    "full_name": acceptance.full_name if acceptance else None,
                    "on_paper": acceptance.on_paper if acceptance else False,
                }
            )
        due = enrolment.status == S.CONFIRMED and not all(item["accepted"] for item in items)
        described[enrolment.id] = {"agreements": items, "agreements_due": due}
    return described
