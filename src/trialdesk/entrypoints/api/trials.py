"""Trial-level API: phase state and gate, screening log, randomization lists and allocations."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.entrypoints.api.bounds import SECRET_MAX, TEXT_MAX, Code, Secret, Text
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, registry_of, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.entrypoints.api.schemas import (
    AllocationOut,
    GateEvidenceOut,
    RandomizationListDetailOut,
    RandomizationListOut,
    ScreeningLogOut,
    TrialStateOut,
)
from trialdesk.services import allocation_lists, enrolment, randomization, subjects, trials
from trialdesk.services.reporting import trial_report
from trialdesk.services.trial_state import signed_gate_evidence
from trialdesk.services.trial_state import trial_state as state_of

router = APIRouter(prefix="/api/trials", tags=["trials"])


class PhaseMoveIn(BaseModel):
    target: Code
    reason: str = Field(min_length=5, max_length=TEXT_MAX)
    password: Secret | None = None
    meaning: Text | None = None
    evidence_sha256: Code | None = None


class OverrideIn(BaseModel):
    additional: int = Field(ge=1, le=100)
    reason: str = Field(min_length=5, max_length=TEXT_MAX)


class ListIn(BaseModel):
    slots_per_stratum: int = Field(default=40, ge=1, le=10_000)
    seed_hex: str | None = Field(default=None, max_length=SECRET_MAX, description="At least 64 hex digits")


@router.get("", response_model=list[TrialStateOut], responses=PAGINATED)
def list_trials(request: Request, page: PageDep, actor: CurrentActor) -> Any:
    """Every loaded trial with its phase state and why it is there (all roles)."""
    registry = registry_of(request)
    return page.window(
        run(request, actor.username, lambda s: [state_of(s, p) for p in registry], write=False)
    )


@router.get("/{protocol_id}", response_model=TrialStateOut)
def trial_state(actor: CurrentActor, protocol: ProtocolDep, request: Request) -> Any:
    """A trial's phase state, the stopping-rule counts against their thresholds, and its history."""
    return run(request, actor.username, lambda s: state_of(s, protocol), write=False)


@router.get("/{protocol_id}/gate-evidence", response_model=GateEvidenceOut)
def gate_evidence(actor: CurrentActor, protocol: ProtocolDep, request: Request) -> Any:
    """The evidence a safety reviewer signs, with the SHA-256 the signature must quote."""
    return run(request, actor.username, lambda s: signed_gate_evidence(s, actor, protocol), write=False)


@router.post("/{protocol_id}/phase", response_model=TrialStateOut)
def move_phase(body: PhaseMoveIn, actor: CurrentActor, protocol: ProtocolDep, request: Request) -> Any:
    """Move the phase state machine (safety reviewer; opening a gate needs the e-signature)."""

    def work(session: Session) -> dict[str, Any]:
        trials.move_phase(
            session,
            actor,
            protocol,
            body.target,
            reason=body.reason,
            password=body.password,
            meaning=body.meaning,
            evidence_sha256=body.evidence_sha256,
        )
        return state_of(session, protocol)

    return run(request, actor.username, work, reason=body.reason)


@router.post("/{protocol_id}/enrolment-override", response_model=TrialStateOut)
def enrolment_override(body: OverrideIn, actor: CurrentActor, protocol: ProtocolDep, request: Request) -> Any:
    """Admin grants places beyond the planned size (audited, reason required)."""

    def work(session: Session) -> dict[str, Any]:
        enrolment.grant_enrolment_override(session, actor, protocol, body.additional)
        return state_of(session, protocol)

    return run(request, actor.username, work, reason=body.reason)


@router.get("/{protocol_id}/screening-log", response_model=ScreeningLogOut)
def screening_log(actor: CurrentActor, protocol: ProtocolDep, request: Request) -> Any:
    """Every screened patient with verdict and screen-failure reasons by criterion (site roles: own sites)."""
    return run(request, actor.username, lambda s: subjects.screening_log(s, actor, protocol.id), write=False)


@router.post("/{protocol_id}/randomization-lists", status_code=201, response_model=RandomizationListOut)
def create_list(body: ListIn, actor: CurrentActor, protocol: ProtocolDep, request: Request) -> Any:
    """The statistician generates the stratified permuted-block list (recorded seed, stored hash)."""

    def work(session: Session) -> dict[str, Any]:
        record = randomization.generate_list(
            session, actor, protocol, slots_per_stratum=body.slots_per_stratum, seed_hex=body.seed_hex
        )
        return allocation_lists.list_summary(session, record)

    return run(request, actor.username, work)


@router.get(
    "/{protocol_id}/randomization-lists", response_model=list[RandomizationListDetailOut], responses=PAGINATED
)
def get_lists(actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep) -> Any:
    """Allocation lists with their slots (statistician only; never shown to site roles); audited."""
    return page.window(
        run(request, actor.username, lambda s: allocation_lists.allocation_lists(s, actor, protocol))
    )


@router.get("/{protocol_id}/allocations", response_model=list[AllocationOut], responses=PAGINATED)
def allocations(actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep) -> Any:
    """Every allocation with the stratum values used (statistician); audited."""
    return page.window(
        run(request, actor.username, lambda s: allocation_lists.allocations(s, actor, protocol))
    )


@router.get(
    "/{protocol_id}/report",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {}, "text/html": {}},
            "description": "The report as PDF or HTML",
        }
    },
)
def report(
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
    cutoff: dt.date | None = None,
    format: Literal["pdf", "html"] = "pdf",
) -> Response:
    """The trial report at a data cut-off (statistician, safety reviewer, monitor); audited export."""
    content = run(request, actor.username, lambda s: trial_report(s, actor, protocol, format, cutoff))
    media = "application/pdf" if format == "pdf" else "text/html; charset=utf-8"
    return Response(content=content, media_type=media)
