"""Adverse events (minimal record: term, grade, dates, per-component attribution) and the live
stopping-rule monitor they drive. The safety module extends the record with CTCAE coding, SAE
criteria and outcomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import AdverseEvent, Subject
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.domain.safety.stopping_rules import StoppingRuleStatus
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import Conflict, InvalidInput, NotFound
from trialdesk.services.trials import apply_stopping_rules

ATTRIBUTION_LEVELS = ("unrelated", "unlikely", "possible", "probable", "definite")


def _check_attributions(
    protocol: Protocol, subject: Subject, attributions: Mapping[str, str]
) -> dict[str, str]:
    if subject.arm_id is None:
        raise Conflict(
            "attribution needs the subject's arm: the subject is not allocated yet", rule="arm_unknown"
        )
    components = protocol.arm(subject.arm_id).interventions
    for component, level in attributions.items():
        if component not in components:
            raise InvalidInput(
                f"'{component}' is not a treatment component of arm {subject.arm_id} "
                f"({', '.join(components)})",
                field=f"attributions.{component}",
            )
        if level not in ATTRIBUTION_LEVELS:
            raise InvalidInput(
                f"attribution '{level}' is not one of {', '.join(ATTRIBUTION_LEVELS)}",
                field=f"attributions.{component}",
            )
    return dict(attributions)


def record_adverse_event(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    *,
    term: str,
    grade: int,
    onset_date: dt.date,
    death_date: dt.date | None,
    attributions: Mapping[str, str],
) -> tuple[AdverseEvent, list[StoppingRuleStatus]]:
    """Record an AE and re-evaluate the stopping rules at once (a met rule terminates the trial)."""
    actor.require(Capability.ENTER_DATA)
    if attributions:
        actor.require(Capability.ATTEST)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    if subject.phase_id is None:
        raise Conflict("adverse events are recorded for enrolled subjects", rule="subject_status")
    if not 1 <= grade <= 5:
        raise InvalidInput(f"grade {grade} is outside CTCAE grades 1-5", field="grade")
    if grade == 5 and death_date is None:
        raise InvalidInput("a grade-5 AE (death) needs the death date", field="death_date")
    if grade < 5 and death_date is not None:
        raise InvalidInput("only a grade-5 AE has a death date", field="death_date")
    today = dt.datetime.now(dt.UTC).date()
    if onset_date > today:
        raise InvalidInput(f"onset date {onset_date} is in the future", field="onset_date")
    if death_date is not None and death_date < onset_date:
        raise InvalidInput(
            f"death date {death_date} is before the onset date {onset_date}", field="death_date"
        )
    if not term.strip():
        raise InvalidInput("the AE term is required", field="term")
    event = AdverseEvent(
        subject_id=subject.id,
        term=term.strip(),
        grade=grade,
        onset_date=onset_date,
        death_date=death_date,
        attributions=_check_attributions(protocol, subject, attributions),
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(event)
    session.flush()
    return event, apply_stopping_rules(session, protocol)


def update_attributions(
    session: Session, actor: Actor, protocol: Protocol, ae_id: int, attributions: Mapping[str, str]
) -> tuple[AdverseEvent, list[StoppingRuleStatus]]:
    """An investigator changes an AE's attribution (reason required); the rules are re-checked.

    A downgrade never re-opens a terminated trial by itself: that needs a signed safety review.
    """
    actor.require(Capability.ATTEST)
    event = session.scalars(
        select(AdverseEvent).where(AdverseEvent.id == ae_id).with_for_update()
    ).one_or_none()
    if event is None:
        raise NotFound(f"adverse event {ae_id} not found")
    subject = visible_subject(session, actor, event.subject_id, protocol_id=protocol.id)
    event.attributions = _check_attributions(protocol, subject, attributions)
    session.flush()
    return event, apply_stopping_rules(session, protocol)
