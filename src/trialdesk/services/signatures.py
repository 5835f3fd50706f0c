"""Electronic signatures: the signer re-enters their password, states the meaning, and the signature
is bound to the SHA-256 of the evidence they were shown (21 CFR Part 11 style)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import Signature, User
from trialdesk.services import clock
from trialdesk.services.actors import Actor
from trialdesk.services.auth import password_matches
from trialdesk.services.errors import Conflict, InvalidInput, NotAuthenticated


def evidence_sha256(evidence: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of the evidence shown to the signer."""
    payload = json.dumps(evidence, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def sign(
    session: Session,
    actor: Actor,
    *,
    password: str,
    meaning: str,
    evidence: Any,
    shown_evidence_sha256: str,
    protocol_id: str,
    subject_id: int | None = None,
) -> Signature:
    """Record a signature after re-checking the password and that the evidence is still what was shown."""
    user = session.get(User, actor.user_id)
    if user is None or not password_matches(user.password_hash, password):
        raise NotAuthenticated(
            "signature refused: the password is wrong", audit=("signature_failure", "signatures", protocol_id)
        )
    if len(meaning.strip()) < 5:
        raise InvalidInput("a signature needs its meaning (at least 5 characters)", field="meaning")
    current = evidence_sha256(evidence)
    if current != shown_evidence_sha256:
        raise Conflict(
            "the evidence changed since it was shown: review it again before signing",
            rule="signature_bound_to_evidence",
        )
    signature = Signature(
        user_id=actor.user_id,
        protocol_id=protocol_id,
        subject_id=subject_id,
        meaning=meaning.strip(),
        evidence_sha256=current,
        signed_at=clock.now(),
        evidence=json.loads(json.dumps(evidence, default=str)),
    )
    session.add(signature)
    session.flush()
    return signature


def enrolment_signature(session: Session, subject_id: int) -> dict[str, Any] | None:
    """The signed enrolment of a subject: who signed, when, the meaning, and the evidence they signed
    (the verdict, every criterion, the consent date and the attestations with the real users)."""
    row = session.execute(
        select(Signature, User.username, User.full_name)
        .join(User, User.id == Signature.user_id)
        .where(Signature.subject_id == subject_id)
        .order_by(Signature.id)
    ).first()
    if row is None:
        return None
    signature, username, full_name = row
    return {
        "signed_by": username,
        "signed_by_name": full_name,
        "signed_at": signature.signed_at.isoformat(),
        "meaning": signature.meaning,
        "evidence_sha256": signature.evidence_sha256,
        "evidence": signature.evidence,
    }
