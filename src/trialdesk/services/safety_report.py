"""Use case: the safety report, the tables a DSMB reads, from the trial database.

:func:`safety_tables` reads the subjects and AEs, decides each AE's treatment relatedness, and calls
the pure table builders of :mod:`trialdesk.analysis.safety_tables`; it returns every table as a list of
row dicts (the trial report embeds them under ``ReportSnapshot.safety_tables``). :func:`safety_report`
adds the header (trial, state, date). Rendering to HTML and PDF uses the trial report's engine
(:mod:`trialdesk.adapters.report.safety`).

Conventions:

* Data cut-off (default: today): a subject counts when enrolled on or before the cut-off, an AE when
  its onset is on or before it, a death when its date is, a treatment start when it is; the stopping
  rules and toxicity monitors are evaluated on those AEs and subjects only.
* Analysis groups: one per (phase, arm) of the protocol with subjects at the cut-off (keys ``iia/A``,
  ``iib/A``, ``iib/B``; a single-phase trial uses the arm id), plus ``Total``; ``group_labels`` gives
  each its human label (``Phase IIa: Arm A (experimental)``). Subjects: enrolled subjects (any
  post-enrolment status), named by screening number.
* "Exposed" = treatment start date recorded, or any recorded AE (a subject with an AE is in the safety
  population even before the start date is entered).
* AE counts are *subjects* by their maximum CTCAE grade within the SOC/term (maximum grade derived
  over all episodes). Treatment-related: any component attributed at a level the protocol's
  ``attribution.related_levels`` lists (default possible, probable, definite).
* Stopping-rule operating characteristics: exact P(X >= threshold), X ~ Binomial(n, p), for the
  current and planned population sizes and true per-subject rates 1-20 %.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.adverse_events import facts_of_trial
from trialdesk.adapters.db.models import AdverseEvent, Subject
from trialdesk.analysis.safety_tables import (
    TABLE_TITLES,
    Row,
    SafetyEvent,
    SafetyPopulation,
    SafetySubject,
    adverse_event_tables,
    group_labels,
    terms_needing_coding,
)
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Role
from trialdesk.domain.safety.stopping_rules import evaluate_all, is_treatment_related
from trialdesk.domain.safety.toxicity_monitoring import boundary_table, evaluate_toxicity
from trialdesk.services import clock
from trialdesk.services.actors import Actor
from trialdesk.services.errors import InvalidInput, PermissionDenied
from trialdesk.services.exports import audited_export
from trialdesk.services.trials import NOT_ENROLLED, get_trial
from trialdesk.stats.stopping_rule import probability_rule_met

TRUE_RATES: tuple[float, ...] = (0.01, 0.02, 0.03, 0.05, 0.10, 0.15, 0.20)
"""True per-subject event rates at which the stopping rule's probability is tabulated."""


def _subject_records(session: Session, protocol: Protocol) -> list[SafetySubject]:
    rows = session.scalars(
        select(Subject)
        .where(
            Subject.protocol_id == protocol.id,
            Subject.phase_id.is_not(None),
            Subject.status.not_in(NOT_ENROLLED),
        )
        .order_by(Subject.id)
    )
    return [
        SafetySubject(
            id=s.id,
            screening_number=s.screening_number,
            phase_id=s.phase_id,
            arm_id=s.arm_id,
            enrolled_on=s.enrolled_at.date() if s.enrolled_at is not None else None,
            treatment_start_date=s.treatment_start_date,
            death_date=s.death_date,
        )
        for s in rows
    ]


def _event_records(session: Session, protocol: Protocol, subject_ids: list[int]) -> list[SafetyEvent]:
    if not subject_ids:
        return []
    rows = session.scalars(
        select(AdverseEvent).where(AdverseEvent.subject_id.in_(subject_ids)).order_by(AdverseEvent.id)
    )
    return [
        SafetyEvent(
            id=e.id,
            subject_id=e.subject_id,
            term=e.term,
            grade=e.grade,
            onset_date=e.onset_date,
            created_at=e.created_at,
            soc=e.soc,
            resolution_date=e.resolution_date,
            serious=bool(e.serious),
            outcome=e.outcome,
            action_taken=e.action_taken,
            attributions=dict(e.attributions or {}),
            related=is_treatment_related(e, protocol.attribution),
            sae_criteria=tuple(e.sae_criteria or ()),
            site_aware_at=e.site_aware_at,
            sae_reported_late=bool(e.sae_reported_late),
            needs_coding=bool(e.needs_coding),
        )
        for e in rows
    ]


class _Data:
    """The safety population at the cut-off and the stopping-rule facts, loaded once per report."""

    def __init__(self, session: Session, protocol: Protocol, cutoff: dt.date) -> None:
        subjects = _subject_records(session, protocol)
        events = _event_records(session, protocol, [s.id for s in subjects])
        self.population = SafetyPopulation(protocol, cutoff, subjects, events)
        self.facts = [
            f
            for f in facts_of_trial(session, protocol.id)
            if f.onset_date <= cutoff
            and f.subject_id.isdigit()
            and int(f.subject_id) in self.population.by_id
        ]


def _stopping_rules(data: _Data) -> tuple[list[Row], list[Row]]:
    protocol = data.population.protocol
    facts = data.facts
    status_rows: list[Row] = []
    probability_rows: list[Row] = []
    for rule, status in zip(protocol.stopping_rules, evaluate_all(protocol, facts), strict=True):
        status_rows.append(
            {
                "rule_id": rule.id,
                "description": rule.description,
                "population_phase": rule.counts.population_phase,
                "count": status.count,
                "threshold": status.threshold,
                "met": status.met,
                "action": status.action,
                "subjects": ", ".join(sorted(data.population.screening_number(s) for s in status.subjects)),
                "unattributed_subjects": ", ".join(
                    sorted(data.population.screening_number(s) for s in status.unattributed_subjects)
                ),
            }
        )
        size = protocol.phase(rule.counts.population_phase).target_size
        enrolled = sum(1 for s in data.population.subjects if s.phase_id == rule.counts.population_phase)
        sizes = [("enrolled", enrolled), ("planned minimum", size.min), ("planned maximum", size.max)]
        for basis, n in sizes:
            if n == 0 or (basis == "planned maximum" and size.max == size.min):
                continue
            for rate in TRUE_RATES:
                probability_rows.append(
                    {
                        "rule_id": rule.id,
                        "n_basis": basis,
                        "n": n,
                        "threshold": rule.threshold,
                        "true_rate": rate,
                        "probability": round(probability_rule_met(n, rule.threshold, rate), 4),
                    }
                )
    return status_rows, probability_rows


def _toxicity(data: _Data) -> tuple[list[Row], list[Row]]:
    protocol = data.population.protocol
    status_rows: list[Row] = []
    boundary_rows: list[Row] = []
    planned = protocol.design.target_enrolment.value
    facts = data.facts
    for monitor in protocol.toxicity_monitoring:
        status = evaluate_toxicity(monitor, facts, len(data.population.subjects), protocol.attribution)
        status_rows.append(
            {
                "monitor_id": monitor.id,
                "description": monitor.description,
                "min_grade": monitor.min_grade,
                "treatment_related": monitor.treatment_related,
                "events": status.events,
                "n": status.n,
                "max_acceptable_rate": status.max_acceptable_rate,
                "posterior_probability": round(status.posterior_probability, 4),
                "posterior_threshold": status.posterior_threshold,
                "warn_at": status.warn_at,
                "warning": status.warning,
                "subjects": ", ".join(sorted(data.population.screening_number(s) for s in status.subjects)),
            }
        )
        for row in boundary_table(monitor, planned):
            boundary_rows.append({"monitor_id": monitor.id, "n": row.n, "warn_when_at_least": row.warn_at})
    return status_rows, boundary_rows


def resolve_cutoff(cutoff: dt.date | None) -> dt.date:
    """The data cut-off: ``cutoff`` (not in the future), default today."""
    today = clock.today()
    if cutoff is not None and cutoff > today:
        raise InvalidInput(f"data cut-off {cutoff} is in the future", field="cutoff")
    return cutoff or today


def safety_tables(
    session: Session, protocol: Protocol, cutoff: dt.date | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every DSMB safety table of the trial at ``cutoff`` (default today), each a list of row dicts
    (see the module docstring)."""
    data = _Data(session, protocol, resolve_cutoff(cutoff))
    rules, probabilities = _stopping_rules(data)
    toxicity, boundary = _toxicity(data)
    return {
        **adverse_event_tables(data.population),
        "stopping_rules": rules,
        "stopping_rule_probabilities": probabilities,
        "toxicity_monitoring": toxicity,
        "toxicity_boundary": boundary,
        "terms_needing_coding": terms_needing_coding(data.population),
    }


def safety_report(session: Session, protocol: Protocol, cutoff: dt.date | None = None) -> dict[str, Any]:
    """The whole report at ``cutoff`` (default today): header plus :func:`safety_tables`."""
    trial = get_trial(session, protocol.id)
    cutoff = resolve_cutoff(cutoff)
    tables = safety_tables(session, protocol, cutoff)
    present = [row["group"] for row in tables["exposure"]]
    labels = group_labels(protocol)
    return {
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "title": protocol.short_title,
        "generated_at": clock.now().isoformat(timespec="seconds"),
        "cutoff": cutoff.isoformat(),
        "phase_state": trial.phase_state,
        "state_reason": trial.state_reason,
        "groups": present,
        "group_labels": {g: labels[g] for g in present},
        "components": {c.id: c.name for c in protocol.interventions},
        "ctcae_version": "CTCAE v5.0 (27 Nov 2017)",
        "titles": TABLE_TITLES,
        "tables": tables,
    }


REPORT_READERS = frozenset({Role.SAFETY_REVIEWER, Role.STATISTICIAN, Role.MONITOR})
"""Cross-site roles that read the (aggregate, all-site) safety report."""


def report_for(
    session: Session,
    actor: Actor | None,
    protocol: Protocol,
    output_format: str = "json",
    cutoff: dt.date | None = None,
) -> dict[str, Any]:
    """The safety report for ``actor`` (safety reviewer, statistician or monitor; None: the command
    line, audited as its user); the read is audited."""
    if actor is not None and actor.role not in REPORT_READERS:
        raise PermissionDenied(
            f"role '{actor.role}' may not read the safety report", rule="read_safety_report"
        )
    document = safety_report(session, protocol, cutoff)
    audited_export(
        session,
        "safety_report",
        protocol.id,
        detail=output_format,
        reason=f"safety report ({output_format}) at cut-off {document['cutoff']}",
    )
    return document
