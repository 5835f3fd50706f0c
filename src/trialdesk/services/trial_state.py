"""Read use cases of a trial's running state: the phase state with its stopping-rule counts and
history, and the gate evidence a safety reviewer signs (with the SHA-256 the signature quotes).

The state changes themselves (phase moves, stopping rules) are in :mod:`trialdesk.services.trials`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import PhaseTransition
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Role
from trialdesk.services import safety_monitor, trials
from trialdesk.services.actors import Actor
from trialdesk.services.errors import PermissionDenied
from trialdesk.services.signatures import evidence_sha256


def trial_state(session: Session, protocol: Protocol) -> dict[str, Any]:
    """A trial's phase state and why, enrolment by phase, the stopping-rule counts against their
    thresholds and the history of phase transitions (every role may read it)."""
    trial = trials.get_trial(session, protocol.id)
    history = session.scalars(
        select(PhaseTransition).where(PhaseTransition.protocol_id == protocol.id).order_by(PhaseTransition.id)
    )
    return {
        "protocol_id": protocol.id,
        "protocol_version": trial.protocol_version,
        "phase_state": trial.phase_state,
        "state_reason": trial.state_reason,
        "enrolment_override": trial.enrolment_override,
        "enrolled_by_phase": {
            p.id: trials.enrolled_count(session, protocol.id, p.id) for p in protocol.design.phases
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


GATE_EVIDENCE_READERS = frozenset({Role.SAFETY_REVIEWER, Role.STATISTICIAN, Role.MONITOR})


def signed_gate_evidence(session: Session, actor: Actor, protocol: Protocol) -> dict[str, Any]:
    """The gate evidence and its SHA-256, for the safety review only (safety reviewer, statistician,
    monitor): site roles, the data manager and the admin are refused (least privilege: the data
    manager cleans the data the gate is computed from, and does not review the gate)."""
    if actor.role not in GATE_EVIDENCE_READERS:
        raise PermissionDenied(
            "gate evidence is for safety reviewers, statisticians and monitors", rule="gate_evidence"
        )
    evidence = trials.gate_evidence(session, protocol)
    return {"evidence": evidence, "evidence_sha256": evidence_sha256(evidence)}
