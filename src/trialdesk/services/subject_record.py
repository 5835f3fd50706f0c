"""Use case: everything recorded about one subject, read at once for the subject page (screening,
eligibility, signed enrolment, allocation, adverse events, labs with their CTCAE grade proposals,
tumour baseline and visits with the computed responses, follow-up dates).

Each part is read through the service that owns it (the same visibility rules: another site's subject
is :class:`~trialdesk.services.errors.NotFound`); nothing here decides a clinical rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.models import (
    AdverseEvent,
    Allocation,
    DrugAdministration,
    EligibilityEvaluation,
    LabResultRow,
    Subject,
    TumourAssessment,
    TumourBaseline,
)
from trialdesk.domain.calendar import ScheduledVisit
from trialdesk.domain.dosing import Exposure
from trialdesk.domain.protocol.model import Protocol
from trialdesk.services import (
    adverse_events,
    calendar,
    exposure,
    labs,
    radiotherapy,
    signatures,
    subjects,
    tumour,
)
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.labs import Proposal
from trialdesk.services.radiotherapy import Deliveries


@dataclass(frozen=True)
class SubjectRecord:
    """One subject's data as the subject page shows it."""

    subject: Subject
    site_code: str
    evaluation: EligibilityEvaluation | None
    enrolment_signature: dict[str, Any] | None
    allocation: Allocation | None
    events: list[AdverseEvent]
    labs: list[LabResultRow]
    proposals: list[Proposal]
    baseline: TumourBaseline | None
    assessments: list[TumourAssessment]
    responses: dict[str, Any]
    """Rule set (``recist1.1``, ``irecist``) -> computed response with overrides
    (:func:`trialdesk.services.tumour.response_view`)."""


def tumour_data(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int
) -> tuple[TumourBaseline | None, list[TumourAssessment]]:
    """A subject's recorded tumour baseline and visits (by date), as entered."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    baseline = session.scalars(
        select(TumourBaseline).where(TumourBaseline.subject_id == subject.id)
    ).one_or_none()
    visits = session.scalars(
        select(TumourAssessment)
        .where(TumourAssessment.subject_id == subject.id)
        .order_by(TumourAssessment.date, TumourAssessment.id)
    )
    return baseline, list(visits)


def subject_record(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> SubjectRecord:
    """Everything recorded about the subject that ``actor`` may see (404 for another site's)."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    baseline, visits = tumour_data(session, actor, protocol, subject.id)
    return SubjectRecord(
        subject=subject,
        site_code=subject_repository.site_code(session, subject.site_id),
        evaluation=subjects.latest_evaluation(session, subject.id),
        enrolment_signature=signatures.enrolment_signature(session, subject.id),
        allocation=subject_repository.allocation_of(session, subject.id),
        events=adverse_events.subject_events(session, actor, protocol, subject.id),
        labs=labs.subject_results(session, actor, protocol, subject.id),
        proposals=labs.grade_proposals(session, actor, protocol, subject.id),
        baseline=baseline,
        assessments=visits,
        responses=tumour.response_view(session, actor, protocol, subject.id)["responses"],
    )


@dataclass(frozen=True)
class TreatmentView:
    """A subject's treatment as the subject page shows it: the visit calendar (empty before treatment
    starts), each dose given with each agent's exposure, and each radiotherapy course's delivery."""

    calendar: list[ScheduledVisit]
    administrations: list[DrugAdministration]
    exposure: dict[str, Exposure]
    radiotherapy: Deliveries


def treatment_view(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> TreatmentView:
    """The calendar, doses and radiotherapy of a subject ``actor`` may see (404 otherwise)."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    if subject.arm_id is None or subject.treatment_start_date is None:
        visits: list[ScheduledVisit] = []
    else:
        visits = calendar.calendar_of(session, actor, protocol, subject.id)
    doses = exposure.administrations(session, actor, protocol, subject.id)
    return TreatmentView(
        calendar=visits,
        administrations=doses,
        exposure=exposure.exposure_by_agent(protocol, doses),
        radiotherapy=radiotherapy.course_deliveries(session, protocol, subject) if subject.arm_id else {},
    )
