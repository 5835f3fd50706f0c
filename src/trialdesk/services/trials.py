"""Use cases on a trial as a whole: its phase state machine, stopping rules and the run-in gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import AdverseEvent, PhaseTransition, Subject, Trial
from trialdesk.domain.protocol.model import PhaseGate, Protocol
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
from trialdesk.services.clinical_dates import check_free_text
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


def _gate_into(protocol: Protocol, destination: PhaseState) -> PhaseGate | None:
    """The protocol gate that ``destination`` opens (the gate into the randomized phase)."""
    phase = current_phase(protocol, destination)
    if phase is None:
        return None
    return next((g for g in protocol.design.gates if g.to_phase == phase.id), None)


def _follow_up_start(subject: Subject) -> dt.date | None:
    if subject.treatment_start_date is not None:
        return subject.treatment_start_date
    return subject.enrolled_at.date() if subject.enrolled_at is not None else None


def gate_readiness(session: Session, protocol: Protocol, gate: PhaseGate) -> dict[str, Any]:
    """Whether the run-in before ``gate`` may be signed open: at least its minimum size enrolled and
    each followed for the gate's observation window (from treatment start, or died), and every grade-5
    AE of a run-in subject attributed to every treatment component of the subject's arm."""
    phase = protocol.phase(gate.from_phase)
    window = gate.observation_window_days.value
    today = clock.today()
    subjects = session.scalars(
        select(Subject)
        .where(
            Subject.protocol_id == protocol.id,
            Subject.phase_id == phase.id,
            Subject.status.not_in(NOT_ENROLLED),
        )
        .order_by(Subject.id)
    ).all()
    followed, waiting = [], []
    for subject in subjects:
        start = _follow_up_start(subject)
        if subject.death_date is not None or (start is not None and (today - start).days >= window):
            followed.append(subject.screening_number)
        else:
            waiting.append(
                {
                    "subject": subject.screening_number,
                    "follow_up_from": start.isoformat() if start else None,
                    "window_complete_on": (start + dt.timedelta(days=window)).isoformat() if start else None,
                }
            )
    unattributed = _unattributed_grade5(session, protocol, subjects)
    return {
        "phase": phase.id,
        "minimum_size": phase.target_size.min,
        "enrolled": len(subjects),
        "observation_window_days": window,
        "followed_for_window": len(followed),
        "not_yet_followed": waiting,
        "unattributed_grade5_events": unattributed,
        "size_met": len(followed) >= phase.target_size.min,
        "attribution_complete": not unattributed,
    }


def _unattributed_grade5(
    session: Session, protocol: Protocol, subjects: Sequence[Subject]
) -> list[dict[str, Any]]:
    by_id = {s.id: s for s in subjects}
    if not by_id:
        return []
    events = session.scalars(
        select(AdverseEvent)
        .where(AdverseEvent.subject_id.in_(by_id), AdverseEvent.grade == 5)
        .order_by(AdverseEvent.id)
    )
    out = []
    for event in events:
        subject = by_id[event.subject_id]
        components = protocol.arm(subject.arm_id).interventions if subject.arm_id else []
        missing = [c for c in components if not event.attributions.get(c)]
        if missing:
            out.append(
                {
                    "adverse_event": event.id,
                    "subject": subject.screening_number,
                    "term": event.term,
                    "missing_components": missing,
                }
            )
    return out


def _check_gate_ready(session: Session, protocol: Protocol, destination: PhaseState) -> None:
    """409 when the gate into ``destination`` may not yet be signed open (size/follow-up, attribution)."""
    gate = _gate_into(protocol, destination)
    if gate is None or destination != PhaseState.randomized_open:
        return
    ready = gate_readiness(session, protocol, gate)
    if not ready["size_met"]:
        raise Conflict(
            f"the gate cannot be signed open yet: {ready['followed_for_window']} of the minimum "
            f"{ready['minimum_size']} run-in subjects have been followed for the "
            f"{ready['observation_window_days']}-day observation window ({ready['enrolled']} enrolled)",
            rule="gate_run_in_size",
        )
    if not ready["attribution_complete"]:
        listed = "; ".join(
            f"AE {e['adverse_event']} of {e['subject']} ({', '.join(e['missing_components'])})"
            for e in ready["unattributed_grade5_events"]
        )
        raise Conflict(
            f"the gate cannot be signed open: grade-5 adverse events lack an attribution for a treatment "
            f"component: {listed}",
            rule="gate_unattributed_grade5",
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
        "gates": [
            {"from_phase": g.from_phase, "to_phase": g.to_phase, **gate_readiness(session, protocol, g)}
            for g in protocol.design.gates
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
    check_free_text("reason", reason)
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
    if trial.phase_state == PhaseState.run_in_review.value:
        _check_gate_ready(session, protocol, destination)
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
