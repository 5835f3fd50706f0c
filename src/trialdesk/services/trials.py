"""Use cases on a trial as a whole: its phase state machine and the run-in gate.

The state is stored through :mod:`trialdesk.adapters.db.trials`; the stopping-rule statuses come from
the safety monitor (:mod:`trialdesk.services.safety_monitor`), and whether they close the gate is the
domain's :func:`~trialdesk.domain.safety.stopping_rules.gate_rule_met`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from trialdesk.adapters.db import adverse_events as ae_store
from trialdesk.adapters.db import trials as trial_store
from trialdesk.adapters.db.models import Subject, Trial
from trialdesk.adapters.db.trials import NOT_ENROLLED as NOT_ENROLLED
from trialdesk.adapters.db.trials import enrolled_count as enrolled_count
from trialdesk.adapters.db.trials import get_trial as get_trial
from trialdesk.domain.protocol.model import PhaseGate, Protocol
from trialdesk.domain.roles import Capability
from trialdesk.domain.safety.stopping_rules import gate_rule_met
from trialdesk.domain.trial_phase import PhaseState, check_phase_transition, current_phase, initial_state
from trialdesk.protocols.loader import ProtocolRegistry
from trialdesk.services import clock
from trialdesk.services.actors import SYSTEM_ACTOR as SYSTEM_ACTOR
from trialdesk.services.actors import Actor
from trialdesk.services.clinical_dates import check_free_text, start_of_follow_up
from trialdesk.services.errors import Conflict, InvalidInput
from trialdesk.services.safety_monitor import stopping_status, terminated_by_stopping_rule
from trialdesk.services.signatures import sign


def ensure_trials(session: Session, registry: ProtocolRegistry) -> None:
    """Create the running-state row of every loaded protocol that has none (start-up)."""
    known = trial_store.protocol_ids(session)
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


def record_transition(
    session: Session, trial: Trial, target: PhaseState, reason: str, by: str, signature_id: int | None
) -> None:
    """Move the phase state machine now (rules already checked); the change is audited with ``reason``."""
    trial_store.record_transition(session, trial, target, reason, by, signature_id, clock.now())


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


def gate_readiness(session: Session, protocol: Protocol, gate: PhaseGate) -> dict[str, Any]:
    """Whether the run-in before ``gate`` may be signed open: at least its minimum size enrolled and
    each followed for the gate's observation window (from treatment start, or died), and every grade-5
    AE of a run-in subject attributed to every treatment component of the subject's arm."""
    phase = protocol.phase(gate.from_phase)
    window = gate.observation_window_days.value
    today = clock.today()
    subjects = trial_store.enrolled_subjects(session, protocol.id, phase.id)
    followed, waiting = [], []
    for subject in subjects:
        since = start_of_follow_up(subject)
        start = since.date if since is not None else None
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
    out = []
    for event in ae_store.grade5_of_subjects(session, by_id):
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
    facts = ae_store.facts_of_trial(session, protocol.id)
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
            for s in stopping_status(session, protocol, facts)
        ],
        "adverse_events": [
            {
                "id": f.ae_id,
                "subject": f.subject_id,
                "phase": f.subject_phase_id,
                "grade": f.grade,
                "attributions": dict(sorted(f.attributions.items())),
            }
            for f in sorted(facts, key=lambda f: int(f.ae_id))
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
    rule_met = gate_rule_met(protocol, stopping_status(session, protocol))
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
    check_phase_transition(
        trial.phase_state, destination, stopping_rule_met=rule_met, signed_review=needs_signature
    )
    _check_reopening(session, protocol, trial, destination)
    record_transition(session, trial, destination, reason.strip(), actor.username, signature_id)
    return trial
