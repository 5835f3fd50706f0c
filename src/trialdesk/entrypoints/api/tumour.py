"""Tumour-assessment capture API: baseline, visits, computed responses and overrides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import ResponseEvaluation
from trialdesk.entrypoints.api.deps import CurrentActor, protocol_of, run
from trialdesk.services import tumour

router = APIRouter(prefix="/api/trials/{protocol_id}/subjects/{subject_id}", tags=["tumour assessments"])


class BaselineIn(BaseModel):
    date: dt.date
    lesions: list[dict[str, Any]] = Field(description="Lesions in the documented RECIST input format")
    reason: str | None = Field(default=None, description="Required when correcting an earlier baseline")


class AssessmentIn(BaseModel):
    date: dt.date
    measurements: dict[str, Any] = Field(default_factory=dict)
    non_target: dict[str, Any] = Field(default_factory=dict)
    new_lesions: list[dict[str, Any]] = Field(default_factory=list)
    reason: str | None = Field(default=None, description="Required when correcting an earlier visit")


class OverrideIn(BaseModel):
    rules: str = "recist1.1"
    target: str = Field(description="'best_overall_response' or 'time_point:YYYY-MM-DD'")
    value: str
    reason: str = Field(min_length=5)


def _summary(rows: list[ResponseEvaluation]) -> dict[str, Any]:
    return {
        row.rules: {
            "best_overall_response": row.best_overall_response,
            "progression_date": row.progression_date.isoformat() if row.progression_date else None,
            "time_points": row.result["time_points"],
        }
        for row in rows
    }


@router.put("/tumour-baseline")
def put_baseline(
    protocol_id: str, subject_id: int, body: BaselineIn, request: Request, actor: CurrentActor
) -> dict[str, Any]:
    """Record the baseline lesions (RECIST 1.1 measurability and target-selection rules apply)."""
    protocol = protocol_of(request, protocol_id)
    return run(
        request,
        actor.username,
        lambda s: _summary(tumour.set_baseline(s, actor, protocol, subject_id, body.date, body.lesions)),
        reason=body.reason,
    )


@router.put("/tumour-assessments/{visit}")
def put_assessment(
    protocol_id: str, subject_id: int, visit: str, body: AssessmentIn, request: Request, actor: CurrentActor
) -> dict[str, Any]:
    """Record (or correct, with a reason) the assessment of a visit; responses are recomputed."""
    protocol = protocol_of(request, protocol_id)

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


@router.get("/tumour-response")
def get_response(protocol_id: str, subject_id: int, request: Request, actor: CurrentActor) -> dict[str, Any]:
    """Computed responses (RECIST 1.1, and iRECIST when the protocol asks) with overrides beside them."""
    protocol = protocol_of(request, protocol_id)
    return run(
        request, actor.username, lambda s: tumour.response_view(s, actor, protocol, subject_id), write=False
    )


@router.post("/tumour-response/overrides", status_code=201)
def post_override(
    protocol_id: str, subject_id: int, body: OverrideIn, request: Request, actor: CurrentActor
) -> dict[str, Any]:
    """An investigator overrides a computed response with a reason (the computed value stays)."""
    protocol = protocol_of(request, protocol_id)

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
