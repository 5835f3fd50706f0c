"""Response bodies of the trial and subject routers (each route declares its ``response_model``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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
    end_of_treatment_reason: str | None = Field(default=None, description="Coded EOT reason (NCOMPLT)")
    end_of_treatment_ae_id: int | None = None
    end_of_study_date: str | None = None
    end_of_study_reason: str | None = Field(default=None, description="Coded EOS reason (NCOMPLT)")
    eligibility: EvaluationOut | None = None
    proposed_attestations: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Attestations that came inside a submitted record: proposals only, never counted by the "
            "verdict until an investigator of the site attests (POST .../attestations)"
        ),
    )


class StoppingRuleCountOut(BaseModel):
    rule_id: str
    count: int
    threshold: int
    met: bool
    action: str


class TransitionOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    reason: str
    at: str
    by: str


class TrialStateOut(BaseModel):
    protocol_id: str
    protocol_version: str
    phase_state: str
    state_reason: str
    enrolment_override: int
    enrolled_by_phase: dict[str, int]
    stopping_rules: list[StoppingRuleCountOut]
    history: list[TransitionOut]


class GateEvidenceOut(BaseModel):
    evidence: dict[str, Any] = Field(description="What the safety reviewer signs")
    evidence_sha256: str = Field(description="The SHA-256 the signature must quote")


class ScreeningLogRowOut(BaseModel):
    subject_id: int
    screening_number: str
    site_id: int
    screening_date: str
    status: str
    verdict: str | None
    failed_criteria: list[dict[str, Any]]


class ScreeningLogOut(BaseModel):
    protocol: str
    screened: int
    subjects: list[ScreeningLogRowOut]
    screen_failures_by_criterion: dict[str, int]


class RandomizationListOut(BaseModel):
    id: int
    phase_id: str
    method: str
    seed_sha256: str
    list_sha256: str
    slots_per_stratum: int
    strata: dict[str, int]
    created_at: str


class SlotOut(BaseModel):
    stratum: str
    sequence: int
    block: int
    block_size: int
    arm: str
    subject_id: int | None


class RandomizationListDetailOut(RandomizationListOut):
    seed_hex: str
    slots: list[SlotOut]


class AllocationOut(BaseModel):
    subject_id: int
    arm: str
    stratum: str
    strata_values: dict[str, Any]
    method: str
    slot_id: int | None
    allocated_at: str


class EnrolmentSignatureOut(BaseModel):
    signed_by: str
    signed_by_name: str
    signed_at: str
    meaning: str
    evidence_sha256: str
    evidence: Any = Field(description="The evidence signed (criteria, consent, attestations)")


class RandomizedOut(BaseModel):
    subject_id: int
    arm: str
    stratum: str
    strata_values: dict[str, Any]
    allocated_at: str


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
        end_of_treatment_reason=subject.end_of_treatment_reason,
        end_of_treatment_ae_id=subject.end_of_treatment_ae_id,
        end_of_study_date=_iso(subject.end_of_study_date),
        end_of_study_reason=subject.end_of_study_reason,
        eligibility=evaluation_out(evaluation),
        proposed_attestations=dict(subject.proposed_attestations or {}),
    )
