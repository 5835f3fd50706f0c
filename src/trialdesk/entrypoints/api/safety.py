"""Safety API: adverse events (record, update, grade episodes, attribution), lab results with CTCAE
grade proposals and their confirmation, safety alerts, the CTCAE catalogue and the safety report.

Trial-scoped routes live under ``/api/trials/{protocol_id}``; alerts under ``/api/alerts`` and the
CTCAE data under ``/api/ctcae``. Input errors are 422 ``{"detail", "field"}`` naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.adapters.ctcae_data import lab_grading_table, term_catalogue
from trialdesk.adapters.db.models import AdverseEvent, LabResultRow, SafetyAlert
from trialdesk.adapters.report.safety_report import render_safety_report
from trialdesk.domain.safety.adverse_event import AdverseEventInput
from trialdesk.domain.safety.ctcae import LabGradingTable, TermCatalogue
from trialdesk.entrypoints.api.bounds import LIST_MAX, MAP_MAX, TEXT_MAX, Code, Name, Text
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.entrypoints.api.safety_schemas import (
    AdverseEventOut,
    AeChangeOut,
    AlertOut,
    GradeProposalOut,
    LabBatchOut,
    LabResultOut,
    MaxGradeOut,
)
from trialdesk.services import adverse_events, labs, safety_alerts, safety_report
from trialdesk.services.adverse_events import AeChange
from trialdesk.services.labs import LabInput, Proposal

router = APIRouter(tags=["safety"])
TRIAL = "/api/trials/{protocol_id}"


class AdverseEventIn(BaseModel):
    term: Name = Field(description="CTCAE v5.0 term from the catalogue (or free text with free_text=true)")
    grade: int = Field(description="CTCAE grade 1-5 (5 = death; needs death_date)")
    onset_date: dt.date
    death_date: dt.date | None = None
    attributions: dict[Code, Code] = Field(
        default_factory=dict,
        max_length=MAP_MAX,
        description="treatment component of the subject's arm -> attribution level",
    )
    free_text: bool = Field(
        default=False, description="Record a term not in the catalogue (flagged for coding)"
    )
    soc: Name | None = None
    verbatim: Text | None = None
    resolution_date: dt.date | None = None
    sae_criteria: list[Code] = Field(
        default_factory=list, max_length=LIST_MAX, description="ICH E2A criteria; empty = not serious"
    )
    site_aware_at: dt.datetime | None = Field(default=None, description="When the site learned of the SAE")
    outcome: Text | None = None
    action_taken: Text | None = None
    baseline_condition: bool = Field(
        default=False,
        description="Present before consent (medical history / baseline sign): its onset may precede consent",
    )


class AdverseEventPatch(BaseModel):
    term: Name | None = None
    grade: int | None = None
    onset_date: dt.date | None = None
    death_date: dt.date | None = None
    free_text: bool | None = None
    soc: Name | None = None
    verbatim: Text | None = None
    resolution_date: dt.date | None = None
    sae_criteria: list[Code] | None = Field(default=None, max_length=LIST_MAX)
    site_aware_at: dt.datetime | None = None
    outcome: Text | None = None
    action_taken: Text | None = None
    baseline_condition: bool | None = None
    reason: str = Field(min_length=3, max_length=TEXT_MAX)


class EpisodeIn(BaseModel):
    grade: int
    change_date: dt.date = Field(
        description="The day the grade changed: the old episode ends, the new starts"
    )
    death_date: dt.date | None = None
    sae_criteria: list[Code] = Field(default_factory=list, max_length=LIST_MAX)
    site_aware_at: dt.datetime | None = None
    reason: str = Field(min_length=3, max_length=TEXT_MAX)


class AttributionIn(BaseModel):
    attributions: dict[Code, Code] = Field(max_length=MAP_MAX)
    reason: str = Field(min_length=3, max_length=TEXT_MAX)


class LabIn(BaseModel):
    test: Code = Field(
        description="hemoglobin, wbc, anc, lymphocytes, platelets, alt, ast, total_bilirubin, ..."
    )
    value: float
    unit: Code
    collected_date: dt.date
    lln: float | None = Field(default=None, description="Lower limit of normal, in the result's unit")
    uln: float | None = Field(default=None, description="Upper limit of normal, in the result's unit")
    is_baseline: bool = False


LAB_BATCH_MAX = 5_000
"""Results per request (about 0.8 MiB of JSON, within the request guard's 1 MiB); larger imports go
through ``trialdesk labs import`` (CSV, bounded transactions)."""


class LabBatchIn(BaseModel):
    results: list[LabIn] = Field(
        min_length=1,
        max_length=LAB_BATCH_MAX,
        description="At most 5,000 results; import more with the CLI `trialdesk labs import`",
    )
    source: Literal["entered", "imported"] = "entered"


class ConfirmIn(BaseModel):
    term: Name | None = Field(default=None, description="Which proposal, when a result grades several terms")
    attributions: dict[Code, Code] = Field(default_factory=dict, max_length=MAP_MAX)


class AcknowledgeIn(BaseModel):
    note: str = Field(min_length=3, max_length=TEXT_MAX)


# ---- rendering ----------------------------------------------------------------------------------


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ae_out(event: AdverseEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "subject_id": event.subject_id,
        "term": event.term,
        "soc": event.soc,
        "verbatim": event.verbatim,
        "needs_coding": bool(event.needs_coding),
        "grade": event.grade,
        "onset_date": event.onset_date.isoformat(),
        "resolution_date": _iso(event.resolution_date),
        "death_date": _iso(event.death_date),
        "serious": bool(event.serious),
        "sae_criteria": list(event.sae_criteria or []),
        "site_aware_at": _iso(event.site_aware_at),
        "sae_reported_late": event.sae_reported_late,
        "outcome": event.outcome,
        "action_taken": event.action_taken,
        "attributions": event.attributions,
        "previous_episode_id": event.previous_episode_id,
        "lab_result_id": event.lab_result_id,
        "recorded_by": event.recorded_by,
        "created_at": event.created_at.isoformat(),
    }


def alert_out(alert: SafetyAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "protocol_id": alert.protocol_id,
        "kind": alert.kind,
        "subject_id": alert.subject_id,
        "adverse_event_id": alert.adverse_event_id,
        "message": alert.message,
        "recipients": alert.recipients,
        "created_at": alert.created_at.isoformat(),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "acknowledgement_note": alert.acknowledgement_note,
    }


def change_out(change: AeChange) -> dict[str, Any]:
    return {
        "adverse_event": ae_out(change.event),
        "stopping_rules": [
            {"rule_id": s.rule_id, "count": s.count, "threshold": s.threshold, "met": s.met}
            for s in change.statuses
        ],
        "toxicity": [
            {
                "monitor_id": t.monitor_id,
                "events": t.events,
                "n": t.n,
                "posterior_probability": round(t.posterior_probability, 4),
                "warn_at": t.warn_at,
                "warning": t.warning,
            }
            for t in change.toxicity
        ],
        "alerts": [alert_out(a) for a in change.alerts],
    }


def lab_out(result: LabResultRow) -> dict[str, Any]:
    return {
        "id": result.id,
        "subject_id": result.subject_id,
        "test": result.test,
        "value": result.value,
        "unit": result.unit,
        "lln": result.lln,
        "uln": result.uln,
        "value_canonical": result.value_canonical,
        "collected_date": result.collected_date.isoformat(),
        "is_baseline": result.is_baseline,
        "source": result.source,
    }


def proposal_out(proposal: Proposal) -> dict[str, Any]:
    return {
        "lab_result_id": proposal.lab_result_id,
        "test": proposal.test,
        "collected_date": proposal.collected_date.isoformat(),
        "value": proposal.value,
        "unit": proposal.unit,
        "term": proposal.grade.term,
        "soc": proposal.grade.soc,
        "grade": proposal.grade.grade,
        "criterion": proposal.grade.criterion,
        "baseline_status": proposal.grade.baseline_status,
        "baseline_value": proposal.baseline_value,
        "notes": list(proposal.notes),
        "proposable": proposal.proposable,
        "confirmed_ae_id": proposal.confirmed_ae_id,
    }


# ---- adverse events -----------------------------------------------------------------------------


@router.post(TRIAL + "/subjects/{subject_id}/adverse-events", status_code=201, response_model=AeChangeOut)
def record_ae(
    subject_id: int, body: AdverseEventIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """Record an AE episode; alerts are raised and the stopping rules and toxicity monitors re-run."""
    data = AdverseEventInput(**{**body.model_dump(), "sae_criteria": tuple(body.sae_criteria)})

    def work(session: Session) -> dict[str, Any]:
        return change_out(adverse_events.record_adverse_event(session, actor, protocol, subject_id, data))

    return run(request, actor.username, work)


@router.get(
    TRIAL + "/subjects/{subject_id}/adverse-events", response_model=list[AdverseEventOut], responses=PAGINATED
)
def list_aes(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[dict[str, Any]]:
    """A subject's AE episodes."""
    return page.window(
        run(
            request,
            actor.username,
            lambda s: [ae_out(e) for e in adverse_events.subject_events(s, actor, protocol, subject_id)],
            write=False,
        )
    )


@router.get(
    TRIAL + "/subjects/{subject_id}/adverse-events/max-grades",
    response_model=list[MaxGradeOut],
    responses=PAGINATED,
)
def max_grades(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[dict[str, Any]]:
    """Maximum grade per term (all causes and treatment-related), derived from the episodes."""
    return page.window(
        run(
            request,
            actor.username,
            lambda s: adverse_events.subject_max_grades(s, actor, protocol, subject_id),
            write=False,
        )
    )


@router.get(TRIAL + "/adverse-events/{ae_id}", response_model=AdverseEventOut)
def get_ae(ae_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request) -> dict[str, Any]:
    """One AE episode."""
    return run(
        request,
        actor.username,
        lambda s: ae_out(adverse_events.get_event(s, actor, protocol, ae_id)),
        write=False,
    )


@router.patch(TRIAL + "/adverse-events/{ae_id}", response_model=AeChangeOut)
def update_ae(
    ae_id: int, body: AdverseEventPatch, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """Update an AE episode (grade, resolution, outcome, ...); audited with the reason."""
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})

    def work(session: Session) -> dict[str, Any]:
        return change_out(adverse_events.update_adverse_event(session, actor, protocol, ae_id, changes))

    return run(request, actor.username, work, reason=body.reason)


@router.post(TRIAL + "/adverse-events/{ae_id}/episodes", status_code=201, response_model=AeChangeOut)
def new_episode(
    ae_id: int, body: EpisodeIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """A grade change as a new episode: the current episode ends on ``change_date``."""

    def work(session: Session) -> dict[str, Any]:
        change = adverse_events.start_new_episode(
            session,
            actor,
            protocol,
            ae_id,
            grade=body.grade,
            change_date=body.change_date,
            death_date=body.death_date,
            sae_criteria=tuple(body.sae_criteria),
            site_aware_at=body.site_aware_at,
        )
        return change_out(change)

    return run(request, actor.username, work, reason=body.reason)


@router.patch(TRIAL + "/adverse-events/{ae_id}/attributions", response_model=AeChangeOut)
def update_attributions(
    ae_id: int, body: AttributionIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """An investigator changes an AE's attribution (reason required); the rules are re-checked."""

    def work(session: Session) -> dict[str, Any]:
        return change_out(
            adverse_events.update_attributions(session, actor, protocol, ae_id, body.attributions)
        )

    return run(request, actor.username, work, reason=body.reason)


# ---- labs -----------------------------------------------------------------------------------------


@router.post(TRIAL + "/subjects/{subject_id}/labs", status_code=201, response_model=LabBatchOut)
def record_labs(
    subject_id: int, body: LabBatchIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """Enter or import lab results (all or none, at most 5,000 per request; larger imports go through
    ``trialdesk labs import``); returns them with their CTCAE grade proposals, graded after the short
    write transaction has committed (other writers never wait for the grading)."""
    items = [LabInput(**item.model_dump()) for item in body.results]

    def write(session: Session) -> list[dict[str, Any]]:
        stored = labs.record_results(session, actor, protocol, subject_id, items, source=body.source)
        return [lab_out(r) for r in stored]

    results = run(request, actor.username, write)
    ids = {int(r["id"]) for r in results}

    def grade(session: Session) -> list[dict[str, Any]]:
        return [proposal_out(p) for p in labs.grade_proposals(session, actor, protocol, subject_id, only=ids)]

    return {"results": results, "proposals": run(request, actor.username, grade, write=False)}


@router.get(TRIAL + "/subjects/{subject_id}/labs", response_model=list[LabResultOut], responses=PAGINATED)
def list_labs(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[dict[str, Any]]:
    """A subject's lab results."""
    return page.window(
        run(
            request,
            actor.username,
            lambda s: [lab_out(r) for r in labs.subject_results(s, actor, protocol, subject_id)],
            write=False,
        )
    )


@router.get(
    TRIAL + "/subjects/{subject_id}/lab-grade-proposals",
    response_model=list[GradeProposalOut],
    responses=PAGINATED,
)
def lab_proposals(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[dict[str, Any]]:
    """The CTCAE v5.0 grade proposal of each graded, non-baseline result."""
    return page.window(
        run(
            request,
            actor.username,
            lambda s: [proposal_out(p) for p in labs.grade_proposals(s, actor, protocol, subject_id)],
            write=False,
        )
    )


@router.post(TRIAL + "/labs/{lab_result_id}/confirm", status_code=201, response_model=AeChangeOut)
def confirm_lab_proposal(
    lab_result_id: int, body: ConfirmIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """An investigator confirms a grade proposal into an AE episode (audited)."""

    def work(session: Session) -> dict[str, Any]:
        change = labs.confirm_proposal(
            session, actor, protocol, lab_result_id, term=body.term, attributions=body.attributions
        )
        return change_out(change)

    return run(request, actor.username, work)


# ---- alerts, catalogue, report ------------------------------------------------------------------


@router.get("/api/alerts", response_model=list[AlertOut], responses=PAGINATED)
def list_alerts(
    request: Request,
    page: PageDep,
    actor: CurrentActor,
    protocol_id: str | None = None,
    open_only: bool = Query(default=False, description="Only alerts not yet acknowledged"),
) -> list[dict[str, Any]]:
    """Safety alerts (safety reviewers, statisticians of the coordinating centre, monitors)."""
    return page.window(
        run(
            request,
            actor.username,
            lambda s: [
                alert_out(a)
                for a in safety_alerts.list_alerts(s, actor, protocol_id=protocol_id, open_only=open_only)
            ],
            write=False,
        )
    )


@router.post("/api/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge_alert(
    alert_id: int, body: AcknowledgeIn, request: Request, actor: CurrentActor
) -> dict[str, Any]:
    """Acknowledge an alert (audited with the note)."""
    return run(
        request,
        actor.username,
        lambda s: alert_out(safety_alerts.acknowledge_alert(s, actor, alert_id, body.note)),
        reason=f"alert acknowledged: {body.note}",
    )


@router.get("/api/ctcae/terms", response_model=TermCatalogue)
def ctcae_terms(_actor: CurrentActor) -> dict[str, Any]:
    """The AE term catalogue shipped with the product (CTCAE v5.0)."""
    return term_catalogue().model_dump()


@router.get("/api/ctcae/lab-grading", response_model=LabGradingTable)
def ctcae_lab_grading(_actor: CurrentActor) -> dict[str, Any]:
    """The CTCAE v5.0 lab grading table used for grade proposals."""
    return lab_grading_table().model_dump()


@router.get(
    TRIAL + "/safety-report",
    response_model=dict[str, Any],
    responses={
        200: {
            "content": {"text/html": {}, "application/pdf": {}},
            "description": "The safety report as JSON (default), HTML or PDF",
        }
    },
)
def report(
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
    format: Literal["json", "html", "pdf"] = "json",
    cutoff: dt.date | None = None,
) -> dict[str, Any] | Response:
    """The DSMB safety report at the data cut-off (default today) as JSON, HTML or PDF (reading it is
    audited)."""
    document = run(
        request, actor.username, lambda s: safety_report.report_for(s, actor, protocol, format, cutoff)
    )
    if format == "html":
        return HTMLResponse(render_safety_report(document, protocol, "html"))
    if format == "pdf":
        return Response(
            render_safety_report(document, protocol, "pdf"),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{protocol.id}-safety-report.pdf"'},
        )
    return document
