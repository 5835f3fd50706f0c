"""Storage of a trial's running state: the ``trials`` row, its phase transitions and enrolment counts.

The phase use cases (:mod:`trialdesk.services.trials`) and the safety monitor
(:mod:`trialdesk.services.safety_monitor`) read and move the state through these functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import PhaseTransition, Subject, Trial
from trialdesk.domain.errors import RecordNotFound
from trialdesk.domain.subjects import SubjectStatus
from trialdesk.domain.trial_phase import PhaseState

NOT_ENROLLED = (SubjectStatus.screening.value, SubjectStatus.screen_failed.value)
"""Subject statuses that are not (yet) enrolment."""


def protocol_ids(session: Session) -> set[str]:
    """Ids of the protocols that have a running-state row."""
    return set(session.scalars(select(Trial.protocol_id)))


def get_trial(session: Session, protocol_id: str, *, for_update: bool = False) -> Trial:
    """The trial's running state (:class:`RecordNotFound`, a 404, if the protocol is not loaded)."""
    query = select(Trial).where(Trial.protocol_id == protocol_id)
    if for_update:
        query = query.with_for_update()
    trial = session.scalars(query).one_or_none()
    if trial is None:
        raise RecordNotFound(f"trial '{protocol_id}' not found")
    return trial


def record_transition(
    session: Session,
    trial: Trial,
    target: PhaseState,
    reason: str,
    by: str,
    signature_id: int | None,
    at: dt.datetime,
) -> None:
    """Move the phase state (rules already checked) and store the transition; audited with ``reason``."""
    with audit_reason(session, reason):
        previous = trial.phase_state
        trial.phase_state = target.value
        trial.state_reason = reason
        trial.updated_at = at
        session.add(
            PhaseTransition(
                protocol_id=trial.protocol_id,
                from_state=previous,
                to_state=target.value,
                reason=reason,
                signature_id=signature_id,
                at=at,
                by_user=by,
            )
        )
        session.flush()


def last_transition_into(session: Session, protocol_id: str, state: PhaseState) -> PhaseTransition | None:
    """The trial's latest move into ``state``, or ``None``."""
    query = (
        select(PhaseTransition)
        .where(PhaseTransition.protocol_id == protocol_id, PhaseTransition.to_state == state.value)
        .order_by(PhaseTransition.id.desc())
    )
    return session.scalars(query).first()


def enrolled_count(session: Session, protocol_id: str, phase_id: str | None = None) -> int:
    """Subjects enrolled (in any post-enrolment status) in ``phase_id``, or in any phase if ``None``
    (the denominator of the toxicity monitors)."""
    query = select(func.count(Subject.id)).where(
        Subject.protocol_id == protocol_id, Subject.status.not_in(NOT_ENROLLED)
    )
    query = query.where(Subject.phase_id.is_not(None) if phase_id is None else Subject.phase_id == phase_id)
    return int(session.scalar(query) or 0)


def enrolled_subjects(session: Session, protocol_id: str, phase_id: str) -> Sequence[Subject]:
    """The subjects enrolled in ``phase_id``, in order of registration."""
    query = (
        select(Subject)
        .where(
            Subject.protocol_id == protocol_id,
            Subject.phase_id == phase_id,
            Subject.status.not_in(NOT_ENROLLED),
        )
        .order_by(Subject.id)
    )
    return session.scalars(query).all()
