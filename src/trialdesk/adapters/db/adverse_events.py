"""Storage of adverse events and safety alerts: the queries the safety use cases need, by name.

The use cases (:mod:`trialdesk.services.adverse_events`, :mod:`trialdesk.services.safety_alerts`,
:mod:`trialdesk.services.safety_monitor`) read as the use case; the SQL lives here.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import AdverseEvent, SafetyAlert, Subject
from trialdesk.domain.safety.stopping_rules import AdverseEventFact


def get(session: Session, ae_id: int, *, for_update: bool = False) -> AdverseEvent | None:
    """The adverse event ``ae_id`` (locked for update if asked), or ``None``."""
    query = select(AdverseEvent).where(AdverseEvent.id == ae_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def add(session: Session, event: AdverseEvent) -> AdverseEvent:
    """Store a new episode (flushed: it has its id)."""
    session.add(event)
    session.flush()
    return event


def of_subject(session: Session, subject_id: int) -> list[AdverseEvent]:
    """A subject's AE episodes in recording order."""
    return list(
        session.scalars(
            select(AdverseEvent).where(AdverseEvent.subject_id == subject_id).order_by(AdverseEvent.id)
        )
    )


def has_continuation(session: Session, ae_id: int) -> bool:
    """Whether a later episode continues adverse event ``ae_id``."""
    query = select(AdverseEvent.id).where(AdverseEvent.previous_episode_id == ae_id)
    return session.scalars(query).first() is not None


def grade5_of_subjects(session: Session, subject_ids: Iterable[int]) -> list[AdverseEvent]:
    """The grade-5 episodes of the given subjects, in recording order."""
    ids = list(subject_ids)
    if not ids:
        return []
    query = (
        select(AdverseEvent)
        .where(AdverseEvent.subject_id.in_(ids), AdverseEvent.grade == 5)
        .order_by(AdverseEvent.id)
    )
    return list(session.scalars(query))


def facts_of_trial(session: Session, protocol_id: str) -> list[AdverseEventFact]:
    """Every adverse event of the trial as a domain fact (for the stopping rules and toxicity monitors)."""
    rows = session.execute(
        select(AdverseEvent, Subject.phase_id)
        .join(Subject, Subject.id == AdverseEvent.subject_id)
        .where(Subject.protocol_id == protocol_id)
    )
    return [
        AdverseEventFact(
            ae_id=str(ae.id),
            subject_id=str(ae.subject_id),
            subject_phase_id=phase_id or "",
            grade=ae.grade,
            attributions=dict(ae.attributions),
            onset_date=ae.onset_date,
        )
        for ae, phase_id in rows
    ]


def add_alert(session: Session, alert: SafetyAlert) -> SafetyAlert:
    """Store a new alert (flushed: it has its id)."""
    session.add(alert)
    session.flush()
    return alert


def alerts(session: Session, *, protocol_id: str | None = None, open_only: bool = False) -> list[SafetyAlert]:
    """Alerts in order of creation, of one trial and/or not yet acknowledged if asked."""
    query = select(SafetyAlert).order_by(SafetyAlert.id)
    if protocol_id is not None:
        query = query.where(SafetyAlert.protocol_id == protocol_id)
    if open_only:
        query = query.where(SafetyAlert.acknowledged_at.is_(None))
    return list(session.scalars(query))


def alert_for_update(session: Session, alert_id: int) -> SafetyAlert | None:
    """The alert ``alert_id``, locked for update, or ``None``."""
    query = select(SafetyAlert).where(SafetyAlert.id == alert_id).with_for_update()
    return session.scalars(query).one_or_none()


def open_alert_exists(session: Session, protocol_id: str, kind: str, message: str | None = None) -> bool:
    """Whether an unacknowledged alert of ``kind`` (with exactly ``message``, if given) exists."""
    query = select(SafetyAlert.id).where(
        SafetyAlert.protocol_id == protocol_id,
        SafetyAlert.kind == kind,
        SafetyAlert.acknowledged_at.is_(None),
    )
    if message is not None:
        query = query.where(SafetyAlert.message == message)
    return session.scalars(query).first() is not None
