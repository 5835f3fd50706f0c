"""Response bodies of the safety router (:mod:`trialdesk.entrypoints.api.safety`): adverse-event
episodes, the result of an AE change, lab results and CTCAE grade proposals, safety alerts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AdverseEventOut(BaseModel):
    id: int
    subject_id: int
    term: str
    soc: str | None
    verbatim: str | None
    needs_coding: bool
    grade: int
    onset_date: str
    resolution_date: str | None
    death_date: str | None
    serious: bool
    sae_criteria: list[Any]
    site_aware_at: str | None
    sae_reported_late: bool | None
    outcome: str | None
    action_taken: str | None
    attributions: dict[str, Any] = Field(description="treatment component -> attribution level")
    previous_episode_id: int | None
    lab_result_id: int | None
    recorded_by: str | None
    created_at: str


class AlertOut(BaseModel):
    id: int
    protocol_id: str
    kind: str
    subject_id: int | None
    adverse_event_id: int | None
    message: str
    recipients: list[Any]
    created_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    acknowledgement_note: str | None


class StoppingRuleCheckOut(BaseModel):
    rule_id: str
    count: int
    threshold: int
    met: bool


class ToxicityCheckOut(BaseModel):
    monitor_id: str
    events: int
    n: int
    posterior_probability: float
    warn_at: int | None
    warning: bool


class AeChangeOut(BaseModel):
    adverse_event: AdverseEventOut
    stopping_rules: list[StoppingRuleCheckOut]
    toxicity: list[ToxicityCheckOut]
    alerts: list[AlertOut] = Field(description="Alerts raised by this change")


class MaxGradeOut(BaseModel):
    term: str
    soc: str | None
    max_grade: int
    max_grade_related: int | None
    episodes: int


class LabResultOut(BaseModel):
    id: int
    subject_id: int
    test: str
    value: float
    unit: str
    lln: float | None
    uln: float | None
    value_canonical: float
    collected_date: str
    is_baseline: bool
    source: str


class GradeProposalOut(BaseModel):
    lab_result_id: int
    test: str
    collected_date: str
    value: float
    unit: str
    term: str
    soc: str
    grade: int | None
    criterion: str | None
    baseline_status: str
    baseline_value: float | None
    notes: list[str]
    proposable: bool
    confirmed_ae_id: int | None


class LabBatchOut(BaseModel):
    results: list[LabResultOut]
    proposals: list[GradeProposalOut]
