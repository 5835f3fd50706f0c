"""Use case: a subject's treatment and follow-up dates (treatment start/end, discontinuation reason,
new anti-cancer therapy, last known alive, death), which the endpoint derivation reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import Subject
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class FollowUp:
    """Dates as entered; ``None`` leaves a stored value unchanged."""

    treatment_start_date: dt.date | None = None
    treatment_end_date: dt.date | None = None
    discontinuation_reason: str | None = None
    new_anticancer_therapy_date: dt.date | None = None
    last_known_alive_date: dt.date | None = None
    death_date: dt.date | None = None


FIELDS = (
    "treatment_start_date",
    "treatment_end_date",
    "discontinuation_reason",
    "new_anticancer_therapy_date",
    "last_known_alive_date",
    "death_date",
)


def _check(subject: Subject, merged: dict[str, object]) -> None:
    today = clock.today()
    for name in FIELDS:
        value = merged[name]
        if isinstance(value, dt.date) and value > today:
            raise InvalidInput(f"{name} {value} is in the future", field=name)
    start, end = merged["treatment_start_date"], merged["treatment_end_date"]
    death, alive = merged["death_date"], merged["last_known_alive_date"]
    if isinstance(start, dt.date) and start < subject.screening_date:
        raise InvalidInput(
            f"treatment start {start} is before screening {subject.screening_date}",
            field="treatment_start_date",
        )
    if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
        raise InvalidInput(f"treatment end {end} is before its start {start}", field="treatment_end_date")
    if isinstance(end, dt.date) and not merged["discontinuation_reason"]:
        raise InvalidInput(
            "a treatment end needs the reason for discontinuation", field="discontinuation_reason"
        )
    if isinstance(death, dt.date) and isinstance(alive, dt.date) and alive > death:
        raise InvalidInput(
            f"last known alive {alive} is after the death date {death}", field="last_known_alive_date"
        )
    if isinstance(death, dt.date) and death < subject.screening_date:
        raise InvalidInput(
            f"death date {death} is before screening {subject.screening_date}", field="death_date"
        )


def record_follow_up(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, data: FollowUp
) -> Subject:
    """Record or correct (reason required for corrections) a subject's treatment and follow-up dates."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    if subject.phase_id is None:
        raise Conflict("follow-up is recorded for enrolled subjects", rule="subject_status")
    merged = {
        name: getattr(data, name) if getattr(data, name) is not None else getattr(subject, name)
        for name in FIELDS
    }
    _check(subject, merged)
    for name, value in merged.items():
        setattr(subject, name, value)
    session.flush()
    return subject
