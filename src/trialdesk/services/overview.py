"""What a user sees first: each trial's phase state in words, enrolment by site, open safety alerts
and what waits for this user (attestations to make, a gate to sign, alerts to acknowledge, re-consents
due, data queries to answer or to review).

Read-only; every figure comes from the use cases that own it (trial state, subjects, safety alerts),
filtered to what the user's role may see (a site role counts only its own sites' subjects).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import Site
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, Role, can
from trialdesk.domain.subjects import SubjectStatus
from trialdesk.domain.trial_phase import PhaseState
from trialdesk.services import calendar, consent, queries, safety_alerts, safety_monitor, subjects, trials
from trialdesk.services.actors import Actor
from trialdesk.services.calendar import DueVisit
from trialdesk.services.consent import DueReconsent

DUE_WITHIN_DAYS = 7
NOT_ENROLLED = frozenset({SubjectStatus.screening.value, SubjectStatus.screen_failed.value})


@dataclass(frozen=True)
class PhaseProgress:
    """Enrolment of one phase against its planned size (subjects, all sites)."""

    phase_id: str
    name: str
    kind: str
    enrolled: int
    target_min: int
    target_max: int


@dataclass(frozen=True)
class SiteEnrolment:
    """Screened and enrolled subjects of one site (only sites the user may see)."""

    code: str
    name: str
    screened: int
    enrolled: int


@dataclass(frozen=True)
class TrialOverview:
    """One trial on the home page."""

    protocol_id: str
    short_title: str
    phase_state: str
    state_reason: str | None
    current_phase: PhaseProgress | None
    treatment_related_deaths: int | None
    stopping_rules: list[tuple[str, int, int, bool]]
    """(rule id, count, threshold, met) of each stopping rule."""
    sites: list[SiteEnrolment]
    open_alerts: int | None
    """Open safety alerts, for the roles that read them (None otherwise)."""
    attestations_waiting: list[tuple[int, str]] = field(default_factory=list)
    """(subject id, screening number) of screened subjects whose verdict waits for an attestation."""
    gate_to_sign: bool = False
    due_visits: list[DueVisit] = field(default_factory=list)
    """For site staff: visits of their subjects due within a week or overdue (oldest first)."""
    reconsents_due: list[DueReconsent] = field(default_factory=list)
    """For site staff: their subjects who must sign a new consent version (overdue first)."""
    queries_waiting: tuple[str, int] | None = None
    """(status, count) of the data queries waiting for this user: open ones of their sites for site
    staff, answered ones to review for the monitor and data manager (None for other roles)."""


def _current_phase(session: Session, protocol: Protocol, state: str) -> PhaseProgress | None:
    phases = protocol.design.phases
    if not phases:
        return None
    wanted = "randomized" if state == PhaseState.randomized_open.value else None
    phase = next((p for p in phases if p.kind == wanted), phases[0]) if wanted else phases[0]
    return PhaseProgress(
        phase.id,
        phase.name,
        phase.kind,
        trials.enrolled_count(session, protocol.id, phase.id),
        phase.target_size.min,
        phase.target_size.max,
    )


def _grade5_deaths(protocol: Protocol, statuses: list[tuple[str, int, int, bool]]) -> int | None:
    """The count of the stopping rule on treatment-related grade-5 events, when the protocol has one
    (seed 002's run-in rule: 2 or more treatment-related deaths terminate the study)."""
    fatal = {r.id for r in protocol.stopping_rules if r.counts.min_grade == 5 and r.counts.treatment_related}
    counts = [count for rule_id, count, _, _ in statuses if rule_id in fatal]
    return max(counts) if counts else None


def trial_overview(session: Session, actor: Actor, protocol: Protocol) -> TrialOverview:
    """The home-page summary of ``protocol`` for ``actor``."""
    trial = trials.get_trial(session, protocol.id)
    rules = [
        (s.rule_id, s.count, s.threshold, s.met) for s in safety_monitor.stopping_status(session, protocol)
    ]
    visible = subjects.list_subjects(session, actor, protocol.id) if actor.role != Role.ADMIN else []
    sites = session.scalars(select(Site).where(Site.protocol_id == protocol.id).order_by(Site.code))
    by_site = [
        SiteEnrolment(
            site.code,
            site.name,
            sum(1 for s in visible if s.site_id == site.id),
            sum(1 for s in visible if s.site_id == site.id and s.status not in NOT_ENROLLED),
        )
        for site in sites
        if actor.sees_site(site.id)
    ]
    open_alerts = None
    if actor.role in safety_alerts.ALERT_READERS:
        open_alerts = len(safety_alerts.list_alerts(session, actor, protocol_id=protocol.id, open_only=True))
    waiting: list[tuple[int, str]] = []
    if can(actor.role, Capability.ATTEST):
        for subject in visible:
            evaluation = subjects.latest_evaluation(session, subject.id)
            pending = evaluation is not None and any(
                c["status"] == "needs_attestation" for c in evaluation.criteria
            )
            if subject.status == SubjectStatus.screening.value and pending:
                waiting.append((subject.id, subject.screening_number))
    due = (
        calendar.due_visits(session, actor, protocol, DUE_WITHIN_DAYS)
        if can(actor.role, Capability.ENTER_DATA)
        else []
    )
    return TrialOverview(
        protocol_id=protocol.id,
        short_title=protocol.short_title,
        phase_state=trial.phase_state,
        state_reason=trial.state_reason,
        current_phase=_current_phase(session, protocol, trial.phase_state),
        treatment_related_deaths=_grade5_deaths(protocol, rules),
        stopping_rules=rules,
        sites=by_site,
        open_alerts=open_alerts,
        attestations_waiting=waiting,
        gate_to_sign=can(actor.role, Capability.SIGN_PHASE_GATE)
        and trial.phase_state == PhaseState.run_in_review.value,
        due_visits=due,
        reconsents_due=consent.reconsents_due(session, actor, protocol)
        if can(actor.role, Capability.ENTER_DATA)
        else [],
        queries_waiting=queries.waiting_for(session, actor, protocol),
    )
