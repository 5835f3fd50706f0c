"""Use case: a subject's treatment and follow-up dates (treatment start, new anti-cancer therapy, last
known alive, death), which the endpoint derivation reads.

The treatment end and its reason are shown with them but recorded only as the coded end of treatment
(:mod:`trialdesk.services.disposition`: date, CDISC reason, the status move). A treatment end entered
here had no coded reason and left the subject on treatment: this route refuses to change them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import Subject, TumourAssessment, TumourBaseline
from trialdesk.domain.disposition import EndOfStudyReason
from trialdesk.domain.plausibility import (
    DatedRecord,
    ImplausibleValue,
    check_baseline_window,
    check_death_date,
    check_text,
)
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_event_date, invalid, recorded_events, start_of_follow_up
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


_LABELS = {
    "treatment_start_date": "treatment start",
    "treatment_end_date": "treatment end",
    "new_anticancer_therapy_date": "new anti-cancer therapy",
    "last_known_alive_date": "last known alive date",
}
AFTER_START = ("treatment_end_date", "new_anticancer_therapy_date", "last_known_alive_date")
"""Follow-up dates that cannot precede the treatment start (or, before it is known, the enrolment)."""


def _check(session: Session, subject: Subject, merged: dict[str, object]) -> None:
    """Each date is a clinical date; the dates are in order; the death follows every recorded event."""
    start, end = merged["treatment_start_date"], merged["treatment_end_date"]
    death, alive = merged["death_date"], merged["last_known_alive_date"]
    death_day = death if isinstance(death, dt.date) else None
    if death_day is not None:
        check_event_date(subject, "death_date", death_day, death=death_day)
    for name in _LABELS:
        value = merged[name]
        if isinstance(value, dt.date):
            check_event_date(subject, name, value, death=death_day)
    reason = merged["discontinuation_reason"]
    try:
        check_text("discontinuation_reason", reason if isinstance(reason, str) else None)
    except ImplausibleValue as exc:
        raise invalid(exc) from None
    if isinstance(start, dt.date) and start < subject.screening_date:
        raise InvalidInput(
            f"treatment start {start} is before screening {subject.screening_date}",
            field="treatment_start_date",
        )
    floor = (
        DatedRecord("treatment start", start) if isinstance(start, dt.date) else start_of_follow_up(subject)
    )
    for name in AFTER_START:
        value = merged[name]
        if isinstance(value, dt.date) and floor is not None and value < floor.date:
            raise InvalidInput(
                f"{name}: {value} is before the subject's {floor.label} {floor.date}", field=name
            )
    if isinstance(end, dt.date) and not merged["discontinuation_reason"]:
        raise InvalidInput(
            "a treatment end needs the reason for discontinuation", field="discontinuation_reason"
        )
    if isinstance(death, dt.date) and isinstance(alive, dt.date) and alive > death:
        raise InvalidInput(
            f"last known alive {alive} is after the death date {death}", field="last_known_alive_date"
        )
    _check_against_end_of_study(subject, merged)
    if isinstance(death, dt.date):
        if death < subject.screening_date:
            raise InvalidInput(
                f"death date {death} is before screening {subject.screening_date}", field="death_date"
            )
        _check_death(session, subject, merged, death)


def _check_against_end_of_study(subject: Subject, merged: dict[str, object]) -> None:
    """A recorded end of study bounds the treatment end, and an end of study for death is the death date
    (:mod:`trialdesk.domain.disposition`): correct the end of study first to move them."""
    eos, end, death = subject.end_of_study_date, merged["treatment_end_date"], merged["death_date"]
    if eos is None:
        return
    if isinstance(end, dt.date) and end > eos:
        raise InvalidInput(
            f"treatment end {end} is after the subject's end of study {eos}", field="treatment_end_date"
        )
    if subject.end_of_study_reason == EndOfStudyReason.death.value and death != eos:
        raise InvalidInput(
            f"the end of study for death is dated {eos}: the death date must stay {eos} "
            "(correct the end of study first)",
            field="death_date",
        )
    if isinstance(death, dt.date) and death < eos:
        raise InvalidInput(
            f"death date {death} is before the subject's end of study {eos}", field="death_date"
        )


def _check_death(session: Session, subject: Subject, merged: dict[str, object], death: dt.date) -> None:
    """The death date must follow every recorded event, including the dates entered with it."""
    events = [e for e in recorded_events(session, subject) if e.label not in _LABELS.values()]
    events += [
        DatedRecord(label, value)
        for name, label in _LABELS.items()
        if isinstance(value := merged[name], dt.date)
    ]
    try:
        check_death_date("death_date", death, events, today=clock.today())
    except ImplausibleValue as exc:
        raise invalid(exc) from None


def _check_start_against_scans(
    session: Session, protocol: Protocol, subject: Subject, start: dt.date
) -> None:
    """A treatment start must keep the recorded tumour baseline within the protocol's baseline window
    before it (RECIST 1.1 section 3.3) and no post-baseline assessment before it."""
    baseline = session.scalars(select(TumourBaseline).where(TumourBaseline.subject_id == subject.id)).first()
    if baseline is not None:
        try:
            check_baseline_window(
                "treatment_start_date",
                baseline.date,
                start,
                protocol.tumour_assessment.baseline_window_days.value,
            )
        except ImplausibleValue as exc:
            raise invalid(exc) from None
    scans = session.scalars(
        select(TumourAssessment)
        .where(TumourAssessment.subject_id == subject.id, TumourAssessment.date < start)
        .order_by(TumourAssessment.date)
    ).first()
    if scans is not None:
        raise InvalidInput(
            f"treatment start {start} is after the recorded tumour assessment '{scans.visit}' "
            f"on {scans.date}",
            field="treatment_start_date",
        )


RECORDED_BY_END_OF_TREATMENT = ("treatment_end_date", "discontinuation_reason")
"""Fields only the coded end of treatment writes; here they may only be sent back unchanged."""


def _refuse_end_of_treatment(subject: Subject, data: FollowUp) -> None:
    """422 naming the field when the treatment end or its reason would change (a form or client may
    send the stored values back; a new or different value goes through the end of treatment)."""
    for name in RECORDED_BY_END_OF_TREATMENT:
        given = getattr(data, name)
        if given is not None and given != getattr(subject, name):
            raise InvalidInput(
                f"{name}: the end of treatment is recorded (or corrected) with its date and coded reason "
                "at the end of treatment, which also moves the subject off treatment",
                field=name,
            )


def record_follow_up(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, data: FollowUp
) -> Subject:
    """Record or correct (reason required for corrections) a subject's treatment and follow-up dates."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    if subject.phase_id is None:
        raise Conflict("follow-up is recorded for enrolled subjects", rule="subject_status")
    _refuse_end_of_treatment(subject, data)
    merged = {
        name: getattr(data, name) if getattr(data, name) is not None else getattr(subject, name)
        for name in FIELDS
    }
    _check(session, subject, merged)
    start = merged["treatment_start_date"]
    if isinstance(start, dt.date) and start != subject.treatment_start_date:
        _check_start_against_scans(session, protocol, subject, start)
    for name, value in merged.items():
        setattr(subject, name, value)
    session.flush()
    return subject
