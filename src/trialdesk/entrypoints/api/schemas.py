"""Response bodies shared by the trial and subject routers."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from trialdesk.adapters.db.models import EligibilityEvaluation, Subject


class EvaluationOut(BaseModel):
    id: int
    protocol_version: str
    verdict: str
    evaluated_at: str
    criteria: list[dict[str, Any]]


class SubjectOut(BaseModel):
    id: int
    protocol_id: str
    site_id: int
    screening_number: str
    status: str
    screening_date: str
    consent_date: str | None
    phase_id: str | None
    arm_id: str | None
    enrolled_at: str | None
    status_reason: str | None
    treatment_start_date: str | None = None
    treatment_end_date: str | None = None
    discontinuation_reason: str | None = None
    new_anticancer_therapy_date: str | None = None
    last_known_alive_date: str | None = None
    death_date: str | None = None
    eligibility: EvaluationOut | None = None
    proposed_attestations: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Attestations that came inside a submitted record: proposals only, never counted by the "
            "verdict until an investigator of the site attests (POST .../attestations)"
        ),
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def evaluation_out(evaluation: EligibilityEvaluation | None) -> EvaluationOut | None:
    if evaluation is None:
        return None
    return EvaluationOut(
        id=evaluation.id,
        protocol_version=evaluation.protocol_version,
        verdict=evaluation.verdict,
        evaluated_at=evaluation.evaluated_at.isoformat(),
        criteria=list(evaluation.criteria),
    )


def subject_out(subject: Subject, evaluation: EligibilityEvaluation | None = None) -> SubjectOut:
    return SubjectOut(
        id=subject.id,
        protocol_id=subject.protocol_id,
        site_id=subject.site_id,
        screening_number=subject.screening_number,
        status=subject.status,
        screening_date=subject.screening_date.isoformat(),
        consent_date=subject.consent_date.isoformat() if subject.consent_date else None,
        phase_id=subject.phase_id,
        arm_id=subject.arm_id,
        enrolled_at=subject.enrolled_at.isoformat() if subject.enrolled_at else None,
        status_reason=subject.status_reason,
        treatment_start_date=_iso(subject.treatment_start_date),
        treatment_end_date=_iso(subject.treatment_end_date),
        discontinuation_reason=subject.discontinuation_reason,
        new_anticancer_therapy_date=_iso(subject.new_anticancer_therapy_date),
        last_known_alive_date=_iso(subject.last_known_alive_date),
        death_date=_iso(subject.death_date),
        eligibility=evaluation_out(evaluation),
        proposed_attestations=dict(subject.proposed_attestations or {}),
    )
