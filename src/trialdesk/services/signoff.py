"""The investigator's sign-off of a subject's casebook (issue 14).

The casebook is every clinical row of the subject (the subject record, forms and their values, AEs,
labs, tumour assessments, treatment, radiotherapy, deviations, consent...: see
:mod:`trialdesk.adapters.db.casebook`), as canonical JSON; its SHA-256 is what the investigator signs
with an e-signature (password re-entered, the meaning stated: :data:`MEANING`), 21 CFR 11.50/11.70
(the signature is linked to the record signed). The sign-off is valid while the casebook's current
hash equals the signed one; any later change shows "changed since signature: sign again".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.casebook import casebook_data, data_sha256
from trialdesk.adapters.db.models import CasebookSignoff, Signature, User
from trialdesk.domain.roles import Capability
from trialdesk.services import clock, signatures
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import Conflict

MEANING = "I have reviewed the data of this casebook and confirm they are accurate"
"""What the investigator's signature means (shown before signing, stored with the signature)."""


@dataclass(frozen=True)
class SignoffStatus:
    """A subject's sign-off state: ``unsigned``, ``signed`` (valid) or ``changed`` (data changed since
    the signature: sign again); the current casebook hash to sign, and the last signature's facts."""

    subject_id: int
    state: str
    current_sha256: str
    signed_sha256: str | None = None
    signed_by: str | None = None
    signed_at: datetime | None = None
    meaning: str = MEANING


def current_sha256(session: Session, subject_id: int) -> str:
    """SHA-256 of the subject's casebook as it is now."""
    return data_sha256(casebook_data(session, [subject_id]))


def _last(session: Session, subject_id: int) -> tuple[CasebookSignoff, str] | None:
    row = session.execute(
        select(CasebookSignoff, User.username)
        .join(Signature, Signature.id == CasebookSignoff.signature_id)
        .join(User, User.id == Signature.user_id)
        .where(CasebookSignoff.subject_id == subject_id)
        .order_by(CasebookSignoff.id.desc())
    ).first()
    return None if row is None else (row[0], str(row[1]))


def valid_signoff(session: Session, subject_id: int) -> tuple[CasebookSignoff, str] | None:
    """The subject's sign-off that still holds (the casebook unchanged since), with the signer's
    username; ``None`` when unsigned or changed since the signature."""
    last = _last(session, subject_id)
    return last if last is not None and _holds(last[0], current_sha256(session, subject_id)) else None


def _holds(signoff: CasebookSignoff, current: str) -> bool:
    """Whether a sign-off still holds: not invalidated, and the casebook hashes as it did."""
    return signoff.invalidated_at is None and signoff.data_sha256 == current


def status(session: Session, actor: Actor, protocol_id: str, subject_id: int) -> SignoffStatus:
    """The subject's sign-off status (anyone who sees the subject)."""
    visible_subject(session, actor, subject_id, protocol_id=protocol_id)
    current = current_sha256(session, subject_id)
    last = _last(session, subject_id)
    if last is None:
        return SignoffStatus(subject_id, "unsigned", current)
    signoff, username = last
    state = "signed" if _holds(signoff, current) else "changed"
    return SignoffStatus(subject_id, state, current, signoff.data_sha256, username, signoff.signed_at)


def _invalidate_previous(session: Session, subject_id: int, current: str) -> None:
    previous = session.scalars(
        select(CasebookSignoff).where(
            CasebookSignoff.subject_id == subject_id, CasebookSignoff.invalidated_at.is_(None)
        )
    ).all()
    now = clock.now()
    for old in previous:
        why = "data changed since signature" if old.data_sha256 != current else "signed again"
        with audit_reason(session, why):
            old.invalidated_at, old.invalidation_reason = now, why
            session.flush()


def sign(
    session: Session, actor: Actor, protocol_id: str, subject_id: int, *, password: str, shown_sha256: str
) -> SignoffStatus:
    """Sign the casebook (SIGN_CASEBOOK: an investigator of the subject's site) as shown: refused
    when the casebook changed since ``shown_sha256`` was shown, or the password is wrong."""
    actor.require(Capability.SIGN_CASEBOOK)
    visible_subject(session, actor, subject_id, protocol_id=protocol_id)
    current = current_sha256(session, subject_id)
    if shown_sha256 != current:
        raise Conflict(
            "the casebook changed since it was shown: review it again before signing",
            rule="signature_bound_to_evidence",
        )
    evidence = {"subject_id": subject_id, "casebook_sha256": current, "meaning": MEANING}
    signature = signatures.sign(
        session,
        actor,
        password=password,
        meaning=MEANING,
        evidence=evidence,
        shown_evidence_sha256=signatures.evidence_sha256(evidence),
        protocol_id=protocol_id,
        subject_id=subject_id,
    )
    _invalidate_previous(session, subject_id, current)
    with audit_reason(session, "casebook signed", keep_given=True):
        session.add(
            CasebookSignoff(
                subject_id=subject_id,
                signature_id=signature.id,
                data_sha256=current,
                signed_at=signature.signed_at,
            )
        )
        session.flush()
    return status(session, actor, protocol_id, subject_id)
