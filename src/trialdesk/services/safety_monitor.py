"""The live safety monitor: after every AE change, the stopping rules and toxicity monitors re-run.

One place evaluates the protocol's safety rules against the recorded adverse events: the trial's AEs
are loaded once per change (:func:`trialdesk.adapters.db.adverse_events.facts_of_trial`) and passed to
the domain rules (:func:`trialdesk.domain.safety.stopping_rules.evaluate_all`,
:func:`trialdesk.domain.safety.toxicity_monitoring.evaluate_toxicity`). A met ``terminate`` rule
terminates the trial at once (an unsigned move by the system); a rule that is no longer met never
re-opens a terminated trial by itself: the monitor raises a ``stopping_rule_no_longer_met`` alert and
only a signed safety review moves it to ``run_in_review`` (:func:`trialdesk.services.trials.move_phase`).
Toxicity monitors only warn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trialdesk.adapters.db import adverse_events as ae_store
from trialdesk.adapters.db import trials as trial_store
from trialdesk.adapters.db.models import SafetyAlert
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.safety.stopping_rules import AdverseEventFact, StoppingRuleStatus, evaluate_all
from trialdesk.domain.safety.toxicity_monitoring import ToxicityStatus, evaluate_toxicity
from trialdesk.domain.trial_phase import PhaseState, check_phase_transition
from trialdesk.services import clock
from trialdesk.services.actors import SYSTEM_ACTOR
from trialdesk.services.safety_alerts import raise_alert


@dataclass(frozen=True)
class MonitorResult:
    """The stopping-rule statuses, the toxicity monitors and the alerts one monitor run raised."""

    statuses: list[StoppingRuleStatus]
    toxicity: list[ToxicityStatus]
    alerts: list[SafetyAlert]


def stopping_status(
    session: Session, protocol: Protocol, facts: Sequence[AdverseEventFact] | None = None
) -> list[StoppingRuleStatus]:
    """The current status of every stopping rule of the protocol (``facts``: the trial's AEs if
    already loaded)."""
    return evaluate_all(protocol, ae_store.facts_of_trial(session, protocol.id) if facts is None else facts)


def toxicity_status(
    session: Session, protocol: Protocol, facts: Sequence[AdverseEventFact] | None = None
) -> list[ToxicityStatus]:
    """The state of every continuous toxicity monitor of the protocol (warnings only)."""
    if not protocol.toxicity_monitoring:
        return []
    events = ae_store.facts_of_trial(session, protocol.id) if facts is None else facts
    at_risk = trial_store.enrolled_count(session, protocol.id)
    return [evaluate_toxicity(m, events, at_risk, protocol.attribution) for m in protocol.toxicity_monitoring]


def terminated_by_stopping_rule(session: Session, protocol_id: str) -> bool:
    """Whether the trial's latest move into ``terminated`` was made by the stopping-rule monitor
    (unsigned, by the system) rather than by a signed decision."""
    last = trial_store.last_transition_into(session, protocol_id, PhaseState.terminated)
    return last is not None and last.signature_id is None and last.by_user == SYSTEM_ACTOR


def _terminate_if_met(session: Session, protocol: Protocol, statuses: list[StoppingRuleStatus]) -> None:
    """A met 'terminate' rule terminates the trial at once (enrolment and randomization close)."""
    trial = trial_store.get_trial(session, protocol.id, for_update=True)
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
            trial_store.record_transition(
                session, trial, PhaseState.terminated, reason, SYSTEM_ACTOR, None, clock.now()
            )


def _no_longer_met_alert(
    session: Session, protocol: Protocol, statuses: list[StoppingRuleStatus]
) -> SafetyAlert:
    met = "; ".join(f"{s.rule_id}: {s.count} < {s.threshold}" for s in statuses)
    return raise_alert(
        session,
        protocol.id,
        "stopping_rule_no_longer_met",
        f"the stopping rule that terminated the trial is no longer met ({met}); the trial stays "
        "terminated until a signed safety review moves it to run_in_review",
    )


def monitor(session: Session, protocol: Protocol) -> MonitorResult:
    """Re-run the stopping rules and the toxicity monitors after an AE change (the trial's AEs are
    loaded once) and raise the alerts the change calls for."""
    facts = ae_store.facts_of_trial(session, protocol.id)
    before = trial_store.get_trial(session, protocol.id).phase_state
    statuses = stopping_status(session, protocol, facts)
    _terminate_if_met(session, protocol, statuses)
    trial = trial_store.get_trial(session, protocol.id)
    alerts: list[SafetyAlert] = []
    terminated = trial.phase_state == PhaseState.terminated.value
    if terminated and before != trial.phase_state:
        alerts.append(raise_alert(session, protocol.id, "stopping_rule_met", trial.state_reason))
    elif (
        terminated
        and not any(s.met for s in statuses if s.action == "terminate")
        and terminated_by_stopping_rule(session, protocol.id)
        and not ae_store.open_alert_exists(session, protocol.id, "stopping_rule_no_longer_met")
    ):
        alerts.append(_no_longer_met_alert(session, protocol, statuses))
    toxicity = toxicity_status(session, protocol, facts)
    for status in toxicity:
        if status.warning:
            message = (
                f"toxicity monitor '{status.monitor_id}': {status.events} of {status.n} subjects, "
                f"P(rate > {status.max_acceptable_rate:g}) = {status.posterior_probability:.3f} > "
                f"{status.posterior_threshold:g} (warning, not a stop)"
            )
            if not ae_store.open_alert_exists(session, protocol.id, "toxicity_warning", message):
                alerts.append(raise_alert(session, protocol.id, "toxicity_warning", message))
    return MonitorResult(statuses, toxicity, alerts)
