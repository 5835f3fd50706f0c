"""Trial-level API: phase state and gate, screening log, randomization lists and allocations."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import log_event
from trialdesk.adapters.db.models import Allocation, AllocationSlot, PhaseTransition, RandomizationList
from trialdesk.domain.roles import Capability, Role, is_site_limited
from trialdesk.entrypoints.api.deps import CurrentActor, protocol_of, registry_of, run
from trialdesk.services import randomization, safety_monitor, subjects, trials
from trialdesk.services.actors import Actor
from trialdesk.services.errors import PermissionDenied
from trialdesk.services.reporting import trial_report
from trialdesk.services.signatures import evidence_sha256

router = APIRouter(prefix="/api/trials", tags=["trials"])


class PhaseMoveIn(BaseModel):
    target: str
    reason: str = Field(min_length=5)
    password: str | None = None
    meaning: str | None = None
    evidence_sha256: str | None = None


class OverrideIn(BaseModel):
    additional: int = Field(ge=1, le=100)
    reason: str = Field(min_length=5)


class ListIn(BaseModel):
    slots_per_stratum: int = Field(default=40, ge=1, le=10_000)
    seed_hex: str | None = None


def _state(session: Session, protocol_id: str, registry: Any) -> dict[str, Any]:
    protocol = registry.get(protocol_id)
    trial = trials.get_trial(session, protocol_id)
    history = session.scalars(
        select(PhaseTransition).where(PhaseTransition.protocol_id == protocol_id).order_by(PhaseTransition.id)
    )
    return {
        "protocol_id": protocol_id,
        "protocol_version": trial.protocol_version,
        "phase_state": trial.phase_state,
        "state_reason": trial.state_reason,
        "enrolment_override": trial.enrolment_override,
        "enrolled_by_phase": {
            p.id: trials.enrolled_count(session, protocol_id, p.id) for p in protocol.design.phases
        },
        "stopping_rules": [
            {
                "rule_id": s.rule_id,
                "count": s.count,
                "threshold": s.threshold,
                "met": s.met,
                "action": s.action,
            }
            for s in safety_monitor.stopping_status(session, protocol)
        ],
        "history": [
            {
                "from": h.from_state,
                "to": h.to_state,
                "reason": h.reason,
                "at": h.at.isoformat(),
                "by": h.by_user,
            }
            for h in history
        ],
    }


@router.get("")
def list_trials(request: Request, actor: CurrentActor) -> list[dict[str, Any]]:
    """Every loaded trial with its phase state and why it is there (all roles)."""
    registry = registry_of(request)
    return run(request, actor.username, lambda s: [_state(s, p.id, registry) for p in registry], write=False)


@router.get("/{protocol_id}")
def trial_state(protocol_id: str, request: Request, actor: CurrentActor) -> dict[str, Any]:
    """A trial's phase state, the stopping-rule counts against their thresholds, and its history."""
    protocol_of(request, protocol_id)
    registry = registry_of(request)
    return run(request, actor.username, lambda s: _state(s, protocol_id, registry), write=False)


def _require_cross_site_reviewer(actor: Actor) -> None:
    if is_site_limited(actor.role) or actor.role == Role.ADMIN:
        raise PermissionDenied(
            "gate evidence is for safety reviewers, statisticians and monitors", rule="gate_evidence"
        )


@router.get("/{protocol_id}/gate-evidence")
def gate_evidence(protocol_id: str, request: Request, actor: CurrentActor) -> dict[str, Any]:
    """The evidence a safety reviewer signs, with the SHA-256 the signature must quote."""
    _require_cross_site_reviewer(actor)
    protocol = protocol_of(request, protocol_id)

    def work(session: Session) -> dict[str, Any]:
        evidence = trials.gate_evidence(session, protocol)
        return {"evidence": evidence, "evidence_sha256": evidence_sha256(evidence)}

    return run(request, actor.username, work, write=False)


@router.post("/{protocol_id}/phase")
def move_phase(protocol_id: str, body: PhaseMoveIn, request: Request, actor: CurrentActor) -> dict[str, Any]:
    """Move the phase state machine (safety reviewer; opening a gate needs the e-signature)."""
    protocol = protocol_of(request, protocol_id)
    registry = registry_of(request)

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
        return _state(session, protocol_id, registry)

    return run(request, actor.username, work, reason=body.reason)


@router.post("/{protocol_id}/enrolment-override")
def enrolment_override(
    protocol_id: str, body: OverrideIn, request: Request, actor: CurrentActor
) -> dict[str, Any]:
    """Admin grants places beyond the planned size (audited, reason required)."""
    actor.require(Capability.OVERRIDE_ENROLMENT_LIMIT)
    protocol_of(request, protocol_id)
    registry = registry_of(request)

    def work(session: Session) -> dict[str, Any]:
        trial = trials.get_trial(session, protocol_id, for_update=True)
        trial.enrolment_override += body.additional
        session.flush()
        return _state(session, protocol_id, registry)

    return run(request, actor.username, work, reason=body.reason)


@router.get("/{protocol_id}/screening-log")
def screening_log(protocol_id: str, request: Request, actor: CurrentActor) -> dict[str, Any]:
    """Every screened patient with verdict and screen-failure reasons by criterion (site roles: own sites)."""
    protocol_of(request, protocol_id)
    return run(request, actor.username, lambda s: subjects.screening_log(s, actor, protocol_id), write=False)


@router.post("/{protocol_id}/randomization-lists", status_code=201)
def create_list(protocol_id: str, body: ListIn, request: Request, actor: CurrentActor) -> dict[str, Any]:
    """The statistician generates the stratified permuted-block list (recorded seed, stored hash)."""
    protocol = protocol_of(request, protocol_id)

    def work(session: Session) -> dict[str, Any]:
        record = randomization.generate_list(
            session, actor, protocol, slots_per_stratum=body.slots_per_stratum, seed_hex=body.seed_hex
        )
        return _list_out(session, record)

    return run(request, actor.username, work)


def _list_out(session: Session, record: RandomizationList) -> dict[str, Any]:
    slots = session.scalars(select(AllocationSlot).where(AllocationSlot.list_id == record.id))
    strata: dict[str, int] = {}
    for slot in slots:
        strata[slot.stratum] = strata.get(slot.stratum, 0) + 1
    return {
        "id": record.id,
        "phase_id": record.phase_id,
        "method": record.method,
        "seed_sha256": record.seed_sha256,
        "list_sha256": record.list_sha256,
        "slots_per_stratum": record.slots_per_stratum,
        "strata": strata,
        "created_at": record.created_at.isoformat(),
    }


@router.get("/{protocol_id}/randomization-lists")
def get_lists(protocol_id: str, request: Request, actor: CurrentActor) -> list[dict[str, Any]]:
    """Allocation lists with their slots (statistician only; never shown to site roles)."""
    actor.require(Capability.VIEW_ALLOCATION_LIST)
    protocol_of(request, protocol_id)

    def work(session: Session) -> list[dict[str, Any]]:
        records = session.scalars(
            select(RandomizationList).where(RandomizationList.protocol_id == protocol_id)
        )
        out = []
        for record in records:
            item = _list_out(session, record)
            item["seed_hex"] = record.seed_hex
            item["slots"] = [
                {
                    "stratum": s.stratum,
                    "sequence": s.sequence,
                    "block": s.block_number,
                    "block_size": s.block_size,
                    "arm": s.arm_id,
                    "subject_id": s.subject_id,
                }
                for s in session.scalars(
                    select(AllocationSlot)
                    .where(AllocationSlot.list_id == record.id)
                    .order_by(AllocationSlot.stratum, AllocationSlot.sequence)
                )
            ]
            out.append(item)
        log_event(session, "export", "randomization_lists", protocol_id, reason="allocation list viewed")
        return out

    return run(request, actor.username, work)


@router.get("/{protocol_id}/allocations")
def allocations(protocol_id: str, request: Request, actor: CurrentActor) -> list[dict[str, Any]]:
    """Every allocation with the stratum values used (statistician)."""
    actor.require(Capability.VIEW_ALLOCATION_LIST)
    protocol_of(request, protocol_id)

    def work(session: Session) -> list[dict[str, Any]]:
        rows = session.scalars(
            select(Allocation).where(Allocation.protocol_id == protocol_id).order_by(Allocation.id)
        )
        out = [
            {
                "subject_id": a.subject_id,
                "arm": a.arm_id,
                "stratum": a.stratum,
                "strata_values": a.strata_values,
                "method": a.method,
                "slot_id": a.slot_id,
                "allocated_at": a.allocated_at.isoformat(),
            }
            for a in rows
        ]
        log_event(session, "export", "allocations", protocol_id, reason="allocations viewed")
        return out

    return run(request, actor.username, work)


@router.get("/{protocol_id}/report")
def report(
    protocol_id: str,
    request: Request,
    actor: CurrentActor,
    cutoff: dt.date | None = None,
    format: Literal["pdf", "html"] = "pdf",
) -> Response:
    """The trial report at a data cut-off (statistician, safety reviewer, monitor); audited export."""
    protocol = protocol_of(request, protocol_id)
    content = run(request, actor.username, lambda s: trial_report(s, actor, protocol, format, cutoff))
    media = "application/pdf" if format == "pdf" else "text/html; charset=utf-8"
    return Response(content=content, media_type=media)
