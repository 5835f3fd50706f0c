"""Disposition API: a subject's end of treatment and end of study (coded reasons, dates), and both read
back with their CDISC terms."""

from __future__ import annotations

import dataclasses
import datetime as dt

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from trialdesk.domain.disposition import EndOfStudyReason, EndOfTreatmentReason
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.services import disposition
from trialdesk.services.disposition import Disposition, EndOfStudyInput, EndOfTreatmentInput

router = APIRouter(prefix="/api/trials/{protocol_id}", tags=["disposition"])


class EndOfTreatmentIn(BaseModel):
    date: dt.date = Field(description="Day treatment ended (not before the last dose or RT fraction)")
    reason: EndOfTreatmentReason = Field(description="Coded reason (NCI CDISC NCOMPLT, C66727)")
    adverse_event_id: int | None = Field(
        default=None, description="The subject's adverse event that ended treatment (reason adverse_event)"
    )
    detail: str | None = Field(default=None, max_length=2000, description="Free-text detail")
    correction_reason: str | None = Field(
        default=None, max_length=2000, description="Required when correcting a recorded end of treatment"
    )


class EndOfStudyIn(BaseModel):
    date: dt.date = Field(description="Day the subject left the study (the death date for death)")
    reason: EndOfStudyReason = Field(description="Coded reason (NCI CDISC NCOMPLT, C66727)")
    detail: str | None = Field(default=None, max_length=2000, description="Free-text detail")
    correction_reason: str | None = Field(
        default=None, max_length=2000, description="Required when correcting a recorded end of study"
    )


class DispositionOut(BaseModel):
    subject_id: int
    status: str
    treatment_start_date: dt.date | None
    end_of_treatment_date: dt.date | None
    end_of_treatment_reason: str | None
    end_of_treatment_term: str | None
    end_of_treatment_ae_id: int | None
    discontinuation_detail: str | None
    end_of_study_date: dt.date | None
    end_of_study_reason: str | None
    end_of_study_term: str | None
    in_follow_up: bool = Field(description="Enrolled and not yet left the study (survival follow-up)")


def disposition_out(value: Disposition) -> DispositionOut:
    return DispositionOut(**dataclasses.asdict(value))


@router.get("/subjects/{subject_id}/disposition", response_model=DispositionOut)
def read_disposition(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> DispositionOut:
    """The subject's end of treatment and end of study as recorded."""
    return run(
        request,
        actor.username,
        lambda s: disposition_out(disposition.read_disposition(s, actor, protocol, subject_id)),
        write=False,
    )


@router.post("/subjects/{subject_id}/end-of-treatment", response_model=DispositionOut)
def end_of_treatment(
    subject_id: int, body: EndOfTreatmentIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> DispositionOut:
    """Record the end of treatment: the subject goes off treatment and stays in survival follow-up."""
    data = EndOfTreatmentInput(body.date, body.reason, body.adverse_event_id, body.detail)
    return run(
        request,
        actor.username,
        lambda s: disposition_out(
            disposition.disposition_of(
                disposition.record_end_of_treatment(s, actor, protocol, subject_id, data)
            )
        ),
        reason=body.correction_reason,
    )


@router.post("/subjects/{subject_id}/end-of-study", response_model=DispositionOut)
def end_of_study(
    subject_id: int, body: EndOfStudyIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> DispositionOut:
    """Record the end of study (and the end of treatment the same day if it had not ended)."""
    data = EndOfStudyInput(body.date, body.reason, body.detail)
    return run(
        request,
        actor.username,
        lambda s: disposition_out(
            disposition.disposition_of(disposition.record_end_of_study(s, actor, protocol, subject_id, data))
        ),
        reason=body.correction_reason,
    )
