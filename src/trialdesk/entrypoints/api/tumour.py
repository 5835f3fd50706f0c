"""Tumour-assessment capture API: baseline, visits, computed responses and overrides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import ResponseEvaluation
from trialdesk.entrypoints.api.bounds import LIST_MAX, TEXT_MAX, Code, Text
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.services import rt_fields, tumour

router = APIRouter(prefix="/api/trials/{protocol_id}/subjects/{subject_id}", tags=["tumour assessments"])


class BaselineIn(BaseModel):
    date: dt.date
    lesions: list[dict[str, Any]] = Field(
        max_length=LIST_MAX, description="Lesions in the documented RECIST input format"
    )
    reason: Text | None = Field(default=None, description="Required when correcting an earlier baseline")


class AssessmentIn(BaseModel):
    date: dt.date
    measurements: dict[str, Any] = Field(default_factory=dict)
    non_target: dict[str, Any] = Field(default_factory=dict)
    new_lesions: list[dict[str, Any]] = Field(default_factory=list, max_length=LIST_MAX)
    reason: Text | None = Field(default=None, description="Required when correcting an earlier visit")


class OverrideIn(BaseModel):
    rules: Code = "recist1.1"
    target: Code = Field(description="'best_overall_response' or 'time_point:YYYY-MM-DD'")
    value: Code
    reason: str = Field(min_length=5, max_length=TEXT_MAX)


class RulesSummaryOut(BaseModel):
    best_overall_response: str | None
    progression_date: str | None
    time_points: list[Any]


class OverrideShownOut(BaseModel):
    target: str
    computed_value: str | None
    override_value: str
    reason: str
    by: int
    at: str


class RulesResponseOut(BaseModel):
    computed: dict[str, Any]
    computed_at: str
    overrides: list[OverrideShownOut]


class ResponseViewOut(BaseModel):
    subject_id: int
    responses: dict[str, RulesResponseOut] = Field(description="Rule set (recist1.1, irecist) -> response")
    field_response: dict[str, Any] | None = Field(
        default=None,
        description="Irradiated and non-irradiated target lesions apart, and the out-of-field (abscopal) "
        "response; null until lesions have RT-field flags",
    )


class LesionFieldIn(BaseModel):
    lesion_id: str = Field(min_length=1, max_length=64, description="A baseline lesion id")
    in_field: bool = Field(description="The lesion lies in a radiotherapy field")
    intervention: Code | None = Field(default=None, description="RT course (intervention id) when in field")
    target: Code | None = Field(default=None, description="The course's protocol target (its default)")


class LesionFieldsIn(BaseModel):
    fields: list[LesionFieldIn] = Field(min_length=1, max_length=LIST_MAX)
    reason: Text | None = Field(
        default=None, description="Required once the subject has had RT and a follow-up assessment"
    )


class LesionFieldOut(BaseModel):
    lesion_id: str
    site: str | None
    role: str | None
    nodal: bool
    diameter_mm: float | None
    in_field: bool | None
    intervention: str | None
    target: str | None
    entered_by: str | None


class RtCourseOut(BaseModel):
    id: str
    name: str
    target: str


class LesionFieldsOut(BaseModel):
    subject_id: int
    locked: bool = Field(
        description="Flags fixed (RT given and a follow-up assessment): changes need a reason"
    )
    courses: list[RtCourseOut]
    lesions: list[LesionFieldOut]
    field_response: dict[str, Any] | None


class OverrideOut(BaseModel):
    id: int
    computed_value: str | None
    override_value: str


def _summary(rows: list[ResponseEvaluation]) -> dict[str, Any]:
    return {
        row.rules: {
            "best_overall_response": row.best_overall_response,
            "progression_date": row.progression_date.isoformat() if row.progression_date else None,
            "time_points": row.result["time_points"],
        }
        for row in rows
    }


@router.put("/tumour-baseline", response_model=dict[str, RulesSummaryOut])
def put_baseline(
    subject_id: int, body: BaselineIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """Record the baseline lesions (RECIST 1.1 measurability and target-selection rules apply)."""
    return run(
        request,
        actor.username,
        lambda s: _summary(tumour.set_baseline(s, actor, protocol, subject_id, body.date, body.lesions)),
        reason=body.reason,
    )


@router.put("/tumour-assessments/{visit}", response_model=dict[str, RulesSummaryOut])
def put_assessment(
    subject_id: int,
    visit: str,
    body: AssessmentIn,
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
) -> dict[str, Any]:
    """Record (or correct, with a reason) the assessment of a visit; responses are recomputed."""

    def work(session: Session) -> dict[str, Any]:
        rows = tumour.record_assessment(
            session,
            actor,
            protocol,
            subject_id,
            visit=visit,
            date=body.date,
            measurements=body.measurements,
            non_target=body.non_target,
            new_lesions=body.new_lesions,
        )
        return _summary(rows)

    return run(request, actor.username, work, reason=body.reason)


@router.get("/tumour-response", response_model=ResponseViewOut)
def get_response(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """Computed responses (RECIST 1.1, and iRECIST when the protocol asks) with overrides beside them,
    and the in-field / out-of-field response of the target lesions."""

    def work(session: Session) -> dict[str, Any]:
        view = tumour.response_view(session, actor, protocol, subject_id)
        view["field_response"] = rt_fields.field_view(session, actor, protocol, subject_id)["field_response"]
        return view

    return run(request, actor.username, work, write=False)


@router.get("/lesion-rt-fields", response_model=LesionFieldsOut)
def get_lesion_fields(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """Each baseline lesion with its RT-field flag, the arm's RT courses and the field response."""
    return run(
        request, actor.username, lambda s: rt_fields.field_view(s, actor, protocol, subject_id), write=False
    )


@router.put("/lesion-rt-fields", response_model=LesionFieldsOut)
def put_lesion_fields(
    subject_id: int, body: LesionFieldsIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """Set whether baseline lesions lie in an RT field (course, target); a reason once flags are fixed."""
    entries = [rt_fields.FieldInput(f.lesion_id, f.in_field, f.intervention, f.target) for f in body.fields]

    def work(session: Session) -> dict[str, Any]:
        rt_fields.set_fields(session, actor, protocol, subject_id, entries)
        return rt_fields.field_view(session, actor, protocol, subject_id)

    return run(request, actor.username, work, reason=body.reason)


@router.post("/tumour-response/overrides", status_code=201, response_model=OverrideOut)
def post_override(
    subject_id: int, body: OverrideIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """An investigator overrides a computed response with a reason (the computed value stays)."""

    def work(session: Session) -> dict[str, Any]:
        row = tumour.override(
            session,
            actor,
            protocol,
            subject_id,
            rules=body.rules,
            target=body.target,
            value=body.value,
            reason=body.reason,
        )
        return {"id": row.id, "computed_value": row.computed_value, "override_value": row.override_value}

    return run(request, actor.username, work, reason=body.reason)
