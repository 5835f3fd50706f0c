"""Use cases on a trial as a whole: its phase state machine, stopping rules and the run-in gate."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import AdverseEvent, PhaseTransition, Subject, Trial
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.domain.safety.stopping_rules import AdverseEventFact, StoppingRuleStatus, evaluate_all
from trialdesk.domain.subjects import SubjectStatus
from trialdesk.domain.trial_phase import (
    PhaseState,
    PhaseTransitionRefused,
    check_phase_transition,
    current_phase,
    initial_state,
)
from trialdesk.protocols.loader import ProtocolRegistry
from trialdesk.services import clock
from trialdesk.services.actors import Actor
from trialdesk.services.errors import Conflict, InvalidInput, NotFound
from trialdesk.services.signatures import sign

SYSTEM_ACTOR = "system"
NOT_ENROLLED = (SubjectStatus.screening.value, SubjectStatus.screen_failed.value)


def ensure_trials(session: Session, registry: ProtocolRegistry) -> None:
    """Create the running-state row of every loaded protocol that has none (start-up)."""
    known = set(session.scalars(select(Trial.protocol_id)))
    for protocol in registry:
        if protocol.id not in known:
            state = initial_state(protocol)
            session.add(
                Trial(
                    protocol_id=protocol.id,
                    protocol_version=protocol.version,
                    phase_state=state.value,
                    state_reason=f"trial opened in state '{state.value}'",
                    enrolment_override=0,
                    updated_at=clock.now(),
                )
            )
    session.flush()


def get_trial(session: Session, protocol_id: str, *, for_update: bool = False) -> Trial:
    """The trial's running state (404 if the protocol is not loaded)."""
    query = select(Trial).where(Trial.protocol_id == protocol_id)
    if for_update:
        query = query.with_for_update()
    trial = session.scalars(query).one_or_none()
    if trial is None:
        raise NotFound(f"trial '{protocol_id}' not found")
    return trial


def enrolled_count(session: Session, protocol_id: str, phase_id: str) -> int:
    """Subjects enrolled (in any post-enrolment status) in ``phase_id``."""
    return int(
        session.scalar(
            select(func.count(Subject.id)).where(
                Subject.protocol_id == protocol_id,
                Subject.phase_id == phase_id,
                Subject.status.not_in(NOT_ENROLLED),
            )
        )
        or 0
    )


def ae_facts(session: Session, protocol_id: str) -> list[AdverseEventFact]:
    """Every adverse event of the trial as a domain fact for the stopping-rule monitor."""
    rows = session.execute(
        select(AdverseEvent, Subject.phase_id)
        .join(Subject, Subject.id == AdverseEvent.subject_id)
        .where(Subject.protocol_id == protocol_id)
    )
    return [
        AdverseEventFact(
            ae_id=str(ae.id),
            subject_id=str(ae.subject_id),
            subject_phase_id=phase_id or "",
            grade=ae.grade,
            attributions=dict(ae.attributions),
            onset_date=ae.onset_date,
        )
        for ae, phase_id in rows
    ]


def stopping_status(session: Session, protocol: Protocol) -> list[StoppingRuleStatus]:
    """The current status of every stopping rule of the protocol."""
    return evaluate_all(protocol, ae_facts(session, protocol.id))


def record_transition(
    session: Session, trial: Trial, target: PhaseState, reason: str, by: str, signature_id: int | None
) -> None:
    """Move the phase state machine (rules already checked); the change is audited with ``reason``."""
    with audit_reason(session, reason):
        previous = trial.phase_state
        trial.phase_state = target.value
        trial.state_reason = reason
        trial.updated_at = clock.now()
        session.add(
            PhaseTransition(
                protocol_id=trial.protocol_id,
                from_state=previous,
                to_state=target.value,
                reason=reason,
                signature_id=signature_id,
                at=trial.updated_at,
                by_user=by,
            )
        )
        session.flush()


def apply_stopping_rules(session: Session, protocol: Protocol) -> list[StoppingRuleStatus]:
    """Re-evaluate the stopping rules; a met 'terminate' rule terminates the trial at once.

    Called after every adverse-event change (record, update, new episode, attribution change). A rule
    that is no longer met never re-opens a terminated trial by itself: only a signed safety review
    moves it to ``run_in_review`` (:func:`move_phase`).
    """
    statuses = stopping_status(session, protocol)
    trial = get_trial(session, protocol.id, for_update=True)
    for status in statuses:
        if status.met and status.action == "terminate" and trial.phase_state != PhaseState.terminated.value:
            reason = (
                f"stopping rule '{status.rule_id}' met: {status.count} subject(s) >= threshold "
                f"{status.threshold} (subjects {', '.join(status.subjects)}); "
                "enrolment and randomization are closed"
            )
            check_phase_transition(
                trial.phase_state, PhaseState.terminated, stopping_rule_met=True, signed_review=False
            )
            record_transition(session, trial, PhaseState.terminated, reason, SYSTEM_ACTOR, None)
    return statuses


def terminated_by_stopping_rule(session: Session, protocol_id: str) -> bool:
    """Whether the trial's latest move into ``terminated`` was made by the stopping-rule monitor
    (unsigned, by the system) rather than by a signed decision."""
    last = session.scalars(
        select(PhaseTransition)
        .where(
            PhaseTransition.protocol_id == protocol_id,
            PhaseTransition.to_state == PhaseState.terminated.value,
        )
        .order_by(PhaseTransition.id.desc())
    ).first()
    return last is not None and last.signature_id is None and last.by_user == SYSTEM_ACTOR


def _check_reopening(session: Session, protocol: Protocol, trial: Trial, destination: PhaseState) -> None:
    """A terminated trial may go back to review only if a stopping rule terminated it (never a signed
    decision) and the design has a run-in to review."""
    if trial.phase_state != PhaseState.terminated.value:
        return
    if current_phase(protocol, destination) is None:
        raise Conflict(f"'{protocol.id}' has no run-in phase to review", rule="phase_gate")
    if not terminated_by_stopping_rule(session, protocol.id):
        raise Conflict(
            "only a trial terminated by a stopping rule can be re-opened for review; this one was "
            "terminated by a signed decision",
            rule="phase_gate",
        )


def gate_evidence(session: Session, protocol: Protocol) -> dict[str, Any]:
    """What a safety reviewer sees before signing a phase decision (its hash binds the signature)."""
    trial = get_trial(session, protocol.id)
    return {
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "phase_state": trial.phase_state,
        "state_reason": trial.state_reason,
        "enrolled_by_phase": {
            p.id: enrolled_count(session, protocol.id, p.id) for p in protocol.design.phases
        },
        "stopping_rules": [
            {
                "rule_id": s.rule_id,
                "count": s.count,
                "threshold": s.threshold,
                "met": s.met,
                "subjects": list(s.subjects),
                "action": s.action,
            }
            for s in stopping_status(session, protocol)
        ],
        "adverse_events": [
            {
                "id": f.ae_id,
                "subject": f.subject_id,
                "phase": f.subject_phase_id,
                "grade": f.grade,
                "attributions": dict(sorted(f.attributions.items())),
            }
            for f in sorted(ae_facts(session, protocol.id), key=lambda f: int(f.ae_id))
        ],
    }


def move_phase(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    target: str,
    *,
    reason: str,
    password: str | None = None,
    meaning: str | None = None,
    evidence_sha256: str | None = None,
) -> Trial:
    """A safety reviewer moves the trial's phase state; opening a gate needs an e-signature."""
    actor.require(Capability.SIGN_PHASE_GATE)
    try:
        destination = PhaseState(target)
    except ValueError:
        raise InvalidInput(f"unknown phase state '{target}'", field="target") from None
    if len(reason.strip()) < 5:
        raise InvalidInput("a phase decision needs a reason (at least 5 characters)", field="reason")
    trial = get_trial(session, protocol.id, for_update=True)
    statuses = stopping_status(session, protocol)
    gate_rules = {rule for gate in protocol.design.gates for rule in gate.stopping_rules}
    rule_met = any(s.met for s in statuses if s.rule_id in gate_rules or not gate_rules)
    signature_id = None
    needs_signature = trial.phase_state == PhaseState.terminated.value or destination in (
        PhaseState.randomized_open,
        PhaseState.run_in_open,
        PhaseState.terminated,
    )
    if needs_signature:
        if not (password and meaning and evidence_sha256):
            raise InvalidInput(
                "this decision needs an e-signature: password, meaning and evidence_sha256", field="signature"
            )
        signature = sign(
            session,
            actor,
            password=password,
            meaning=meaning,
            evidence=gate_evidence(session, protocol),
            shown_evidence_sha256=evidence_sha256,
            protocol_id=protocol.id,
        )
        signature_id = signature.id
    try:
        check_phase_transition(
            trial.phase_state, destination, stopping_rule_met=rule_met, signed_review=needs_signature
        )
    except PhaseTransitionRefused as exc:
        raise Conflict(exc.reason, rule="phase_gate") from None
    _check_reopening(session, protocol, trial, destination)
    record_transition(session, trial, destination, reason.strip(), actor.username, signature_id)
    return trial
