"""The subjects repository: the storage queries of the subject use cases (screen, attest, enrol,
randomize), so that a service reads as its use case.

Functions take the unit of work's session and return ORM rows (or ``None`` when there is none);
visibility (which user may see which site) stays a service rule
(:func:`trialdesk.services.actors.visible_subject`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import Allocation, Attestation, EligibilityEvaluation, Site, Subject, User

AttestationRow = tuple[str, bool, str, str, str, dt.datetime]
"""(criterion, answer, full name, username, role, when) of a recorded attestation."""


def get(session: Session, subject_id: int, *, for_update: bool = False) -> Subject | None:
    """The subject with this id (row-locked with ``for_update``), or ``None``."""
    query = select(Subject).where(Subject.id == subject_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def list_by_protocol(session: Session, protocol_id: str) -> list[Subject]:
    """Every subject of a trial, in id order (all sites)."""
    return list(
        session.scalars(select(Subject).where(Subject.protocol_id == protocol_id).order_by(Subject.id))
    )


def _of_sites(protocol_id: str, site_ids: Collection[int] | None) -> Select[tuple[Subject]]:
    statement = select(Subject).where(Subject.protocol_id == protocol_id)
    if site_ids is not None:
        statement = statement.where(Subject.site_id.in_(sorted(site_ids)))
    return statement


def page_by_protocol(
    session: Session, protocol_id: str, site_ids: Collection[int] | None, *, limit: int, offset: int
) -> tuple[list[Subject], int]:
    """One page of a trial's subjects of ``site_ids`` (``None``: every site) in id order, by LIMIT and
    OFFSET in the database, and how many there are in all."""
    statement = _of_sites(protocol_id, site_ids)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(statement.order_by(Subject.id).limit(limit).offset(offset))
    return list(rows), total


def find_by_screening_number(session: Session, protocol_id: str, screening_number: str) -> Subject | None:
    """The trial's subject with this screening number (whichever site holds it), or ``None``."""
    return session.scalars(
        select(Subject).where(
            Subject.protocol_id == protocol_id, Subject.screening_number == screening_number
        )
    ).first()


def site_by_code(session: Session, protocol_id: str, site_code: str) -> Site | None:
    """The trial's site with this code, or ``None``."""
    return session.scalars(
        select(Site).where(Site.protocol_id == protocol_id, Site.code == site_code)
    ).one_or_none()


def site_code(session: Session, site_id: int) -> str:
    """The code of a (known) site."""
    return session.scalars(select(Site.code).where(Site.id == site_id)).one()


def site_codes(session: Session, protocol_id: str) -> list[str]:
    """The codes of the trial's sites, sorted."""
    return sorted(session.scalars(select(Site.code).where(Site.protocol_id == protocol_id)))


def latest_evaluation(session: Session, subject_id: int) -> EligibilityEvaluation | None:
    """The most recent stored eligibility evaluation of a subject."""
    return session.scalars(
        select(EligibilityEvaluation)
        .where(EligibilityEvaluation.subject_id == subject_id)
        .order_by(EligibilityEvaluation.id.desc())
        .limit(1)
    ).first()


def attestation(session: Session, subject_id: int, criterion_id: str) -> Attestation | None:
    """The recorded attestation of one criterion for a subject, or ``None``."""
    return session.scalars(
        select(Attestation).where(
            Attestation.subject_id == subject_id, Attestation.criterion_id == criterion_id
        )
    ).one_or_none()


def attestation_rows(session: Session, subject_id: int) -> list[AttestationRow]:
    """Each recorded attestation of a subject with the user who made it, by criterion id."""
    rows = session.execute(
        select(
            Attestation.criterion_id,
            Attestation.answer,
            User.full_name,
            User.username,
            User.role,
            Attestation.attested_at,
        )
        .join(User, User.id == Attestation.attested_by)
        .where(Attestation.subject_id == subject_id)
        .order_by(Attestation.criterion_id)
    )
    return [tuple(row) for row in rows]


def allocation_of(session: Session, subject_id: int) -> Allocation | None:
    """The subject's randomization allocation, or ``None`` before randomization."""
    return session.scalars(select(Allocation).where(Allocation.subject_id == subject_id)).first()
