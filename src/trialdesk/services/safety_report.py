"""The safety report: the tables a DSMB reads, from the trial database.

:func:`safety_tables` returns every table as a list of row dicts (the trial report embeds them under
``ReportSnapshot.safety_tables``); :func:`safety_report` adds the header (trial, state, date).
Rendering to HTML and PDF uses the trial report's engine (:mod:`trialdesk.adapters.report.safety`).

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
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.adverse_events import facts_of_trial
from trialdesk.adapters.db.audit import log_event
from trialdesk.adapters.db.models import AdverseEvent, Subject
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Role
from trialdesk.domain.safety.stopping_rules import evaluate_all, is_treatment_related
from trialdesk.domain.safety.toxicity_monitoring import boundary_table, evaluate_toxicity
from trialdesk.services import clock
from trialdesk.services.actors import Actor
from trialdesk.services.errors import InvalidInput, PermissionDenied
from trialdesk.services.report_data import group_label
from trialdesk.services.trials import NOT_ENROLLED, get_trial
from trialdesk.stats.stopping_rule import probability_rule_met

TRUE_RATES: tuple[float, ...] = (0.01, 0.02, 0.03, 0.05, 0.10, 0.15, 0.20)
"""True per-subject event rates at which the stopping rule's probability is tabulated."""

GRADE_BANDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("any", (1, 2, 3, 4, 5)),
    ("1-2", (1, 2)),
    ("3-4", (3, 4)),
    ("5", (5,)),
)
TOTAL = "Total"

Row = dict[str, Any]


def _group_label(protocol: Protocol, phase_id: str | None, arm_id: str | None) -> str:
    if len(protocol.design.phases) == 1:
        return str(arm_id)
    return f"{phase_id}/{arm_id}"


def groups(protocol: Protocol) -> list[str]:
    """The analysis groups of the protocol, in design order, then ``Total``."""
    labels = [_group_label(protocol, phase.id, arm) for phase in protocol.design.phases for arm in phase.arms]
    return [*labels, TOTAL]


def group_labels(protocol: Protocol) -> dict[str, str]:
    """Group key -> human label (``iia/A`` -> ``Phase IIa: Arm A (experimental)``; ``Total``)."""
    out = {
        _group_label(protocol, phase.id, arm): group_label(protocol, phase.id, arm)
        for phase in protocol.design.phases
        for arm in phase.arms
    }
    return {**out, TOTAL: TOTAL}


def _subjects(session: Session, protocol: Protocol, cutoff: dt.date) -> list[Subject]:
    rows = session.scalars(
        select(Subject)
        .where(
            Subject.protocol_id == protocol.id,
            Subject.phase_id.is_not(None),
            Subject.status.not_in(NOT_ENROLLED),
        )
        .order_by(Subject.id)
    )
    return [s for s in rows if s.enrolled_at is not None and s.enrolled_at.date() <= cutoff]


def _events(session: Session, subject_ids: list[int]) -> list[AdverseEvent]:
    if not subject_ids:
        return []
    return list(
        session.scalars(
            select(AdverseEvent).where(AdverseEvent.subject_id.in_(subject_ids)).order_by(AdverseEvent.id)
        )
    )


class _Data:
    """Subjects, their groups and AEs as known at the cut-off, loaded once per report."""

    def __init__(self, session: Session, protocol: Protocol, cutoff: dt.date) -> None:
        self.protocol = protocol
        self.cutoff = cutoff
        self.subjects = _subjects(session, protocol, cutoff)
        self.by_id = {s.id: s for s in self.subjects}
        self.group = {s.id: _group_label(protocol, s.phase_id, s.arm_id) for s in self.subjects}
        self.events = [e for e in _events(session, [s.id for s in self.subjects]) if e.onset_date <= cutoff]
        present = set(self.group.values())
        self.groups = [g for g in groups(protocol) if g in present or g == TOTAL]
        self.facts = [
            f
            for f in facts_of_trial(session, protocol.id)
            if f.onset_date <= cutoff and f.subject_id.isdigit() and int(f.subject_id) in self.by_id
        ]

    def started(self, subject: Subject) -> bool:
        """Treatment started on or before the cut-off."""
        return subject.treatment_start_date is not None and subject.treatment_start_date <= self.cutoff

    def death_date(self, subject: Subject) -> dt.date | None:
        """The death date when on or before the cut-off."""
        death = subject.death_date
        return death if death is not None and death <= self.cutoff else None

    def screening_number(self, subject_id: str) -> str:
        """Screening number of a subject given by internal id (as text); the id when unknown."""
        subject = self.by_id.get(int(subject_id)) if subject_id.isdigit() else None
        return subject.screening_number if subject is not None else subject_id

    def members(self, group: str) -> list[Subject]:
        return [s for s in self.subjects if group == TOTAL or self.group[s.id] == group]

    def exposed(self, group: str) -> int:
        with_ae = {e.subject_id for e in self.events}
        return sum(1 for s in self.members(group) if self.started(s) or s.id in with_ae)


def _exposure(data: _Data) -> list[Row]:
    rows = []
    for group in data.groups:
        members = data.members(group)
        rows.append(
            {
                "group": group,
                "enrolled": len(members),
                "exposed": data.exposed(group),
                "treatment_started": sum(1 for s in members if data.started(s)),
                "deaths": sum(1 for s in members if data.death_date(s) is not None),
            }
        )
    return rows


def _band_counts(data: _Data, events: Iterable[AdverseEvent]) -> Row:
    worst: dict[int, int] = {}
    for event in events:
        worst[event.subject_id] = max(worst.get(event.subject_id, 0), event.grade)
    row: Row = {}
    for group in data.groups:
        grades = [g for sid, g in worst.items() if group == TOTAL or data.group[sid] == group]
        for band, members in GRADE_BANDS:
            row[f"{group} {band}"] = sum(1 for g in grades if g in members)
    return row


def _soc_term_table(data: _Data, keep: Callable[[AdverseEvent], bool]) -> list[Row]:
    """Subjects by maximum grade: all AEs, then each SOC with its terms (DSMB layout)."""
    events = [e for e in data.events if keep(e)]
    rows: list[Row] = [{"soc": "All SOCs", "term": "Any adverse event", **_band_counts(data, events)}]
    by_soc: dict[str, list[AdverseEvent]] = defaultdict(list)
    for event in events:
        by_soc[event.soc or "Not yet coded"].append(event)
    for soc in sorted(by_soc):
        rows.append({"soc": soc, "term": "All terms", **_band_counts(data, by_soc[soc])})
        for term in sorted({e.term for e in by_soc[soc]}):
            rows.append(
                {"soc": soc, "term": term, **_band_counts(data, [e for e in by_soc[soc] if e.term == term])}
            )
    return rows


def _grade_counts(data: _Data, events: list[AdverseEvent], group: str) -> Row:
    worst: dict[int, int] = {}
    for event in events:
        if group == TOTAL or data.group[event.subject_id] == group:
            worst[event.subject_id] = max(worst.get(event.subject_id, 0), event.grade)
    row: Row = {f"grade {g}": sum(1 for w in worst.values() if w == g) for g in (1, 2, 3, 4, 5)}
    row["any grade"] = len(worst)
    row["grade >= 3"] = sum(1 for w in worst.values() if w >= 3)
    return row


def _term_by_grade_table(data: _Data, keep: Callable[[AdverseEvent], bool]) -> list[Row]:
    """Per group and SOC/term: N, then subjects by their maximum grade 1, 2, 3, 4, 5 (one row per group)."""
    events = [e for e in data.events if keep(e)]
    keys = [("All SOCs", "Any adverse event"), *sorted({(e.soc or "Not yet coded", e.term) for e in events})]
    rows: list[Row] = []
    for soc, term in keys:
        selected = (
            events
            if term == "Any adverse event"
            else [e for e in events if (e.soc or "Not yet coded", e.term) == (soc, term)]
        )
        for group in data.groups:
            rows.append(
                {
                    "soc": soc,
                    "term": term,
                    "group": group,
                    "N": len(data.members(group)),
                    **_grade_counts(data, selected, group),
                }
            )
    return rows


def _attribution(event: AdverseEvent) -> str:
    if not event.attributions:
        return "not assessed"
    return "; ".join(f"{component}: {level}" for component, level in sorted(event.attributions.items()))


def _listing_row(data: _Data, event: AdverseEvent) -> Row:
    subject = data.by_id[event.subject_id]
    return {
        "ae_id": event.id,
        "subject": subject.screening_number,
        "group": data.group[subject.id],
        "soc": event.soc or "Not yet coded",
        "term": event.term,
        "grade": event.grade,
        "onset_date": event.onset_date.isoformat(),
        "resolution_date": event.resolution_date.isoformat() if event.resolution_date else None,
        "serious": bool(event.serious),
        "outcome": event.outcome,
        "action_taken": event.action_taken,
        "attribution": _attribution(event),
        "treatment_related": is_treatment_related(event, data.protocol.attribution),
    }


def _sae_rows(data: _Data) -> list[Row]:
    rows = []
    for event in data.events:
        if not event.serious:
            continue
        row = _listing_row(data, event)
        row["sae_criteria"] = ", ".join(event.sae_criteria or [])
        row["site_aware_at"] = event.site_aware_at.isoformat() if event.site_aware_at else None
        row["recorded_at"] = event.created_at.isoformat()
        row["reported_late"] = bool(event.sae_reported_late)
        rows.append(row)
    return rows


def _deaths(data: _Data) -> list[Row]:
    rows = []
    for subject in data.subjects:
        death = data.death_date(subject)
        if death is None:
            continue
        fatal = [e for e in data.events if e.subject_id == subject.id and e.grade == 5]
        rows.append(
            {
                "subject": subject.screening_number,
                "group": data.group[subject.id],
                "death_date": death.isoformat(),
                "cause": "; ".join(e.term for e in fatal)
                or "not recorded as an AE (e.g. disease progression)",
                "attribution": "; ".join(_attribution(e) for e in fatal) or "not applicable",
                "treatment_related": any(is_treatment_related(e, data.protocol.attribution) for e in fatal),
            }
        )
    return rows


def _stopping_rules(data: _Data) -> tuple[list[Row], list[Row]]:
    protocol = data.protocol
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
                "subjects": ", ".join(sorted(data.screening_number(s) for s in status.subjects)),
                "unattributed_subjects": ", ".join(
                    sorted(data.screening_number(s) for s in status.unattributed_subjects)
                ),
            }
        )
        size = protocol.phase(rule.counts.population_phase).target_size
        enrolled = sum(1 for s in data.subjects if s.phase_id == rule.counts.population_phase)
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
    protocol = data.protocol
    status_rows: list[Row] = []
    boundary_rows: list[Row] = []
    planned = protocol.design.target_enrolment.value
    facts = data.facts
    for monitor in protocol.toxicity_monitoring:
        status = evaluate_toxicity(monitor, facts, len(data.subjects), protocol.attribution)
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
                "subjects": ", ".join(sorted(data.screening_number(s) for s in status.subjects)),
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
        "exposure": _exposure(data),
        "ae_by_soc_term_all_cause": _soc_term_table(data, lambda e: True),
        "ae_by_soc_term_treatment_related": _soc_term_table(
            data, lambda e: is_treatment_related(e, protocol.attribution)
        ),
        "ae_by_term_and_max_grade_all_cause": _term_by_grade_table(data, lambda e: True),
        "ae_by_term_and_max_grade_treatment_related": _term_by_grade_table(
            data, lambda e: is_treatment_related(e, protocol.attribution)
        ),
        "grade_3_or_higher": [_listing_row(data, e) for e in data.events if e.grade >= 3],
        "serious_adverse_events": _sae_rows(data),
        "leading_to_discontinuation": [
            _listing_row(data, e) for e in data.events if e.action_taken == "drug_withdrawn"
        ],
        "deaths": _deaths(data),
        "stopping_rules": rules,
        "stopping_rule_probabilities": probabilities,
        "toxicity_monitoring": toxicity,
        "toxicity_boundary": boundary,
        "terms_needing_coding": [_listing_row(data, e) for e in data.events if e.needs_coding],
    }


TABLE_TITLES: dict[str, str] = {
    "exposure": "Subjects enrolled and exposed, by group",
    "ae_by_soc_term_all_cause": "AEs by SOC and term, subjects by maximum CTCAE grade (all causes)",
    "ae_by_soc_term_treatment_related": "Treatment-related AEs by SOC and term, subjects by maximum grade",
    "ae_by_term_and_max_grade_all_cause": "AEs by term and maximum CTCAE grade 1-5, per group (all causes)",
    "ae_by_term_and_max_grade_treatment_related": "Treatment-related AEs by term and maximum grade 1-5",
    "grade_3_or_higher": "Adverse events of grade 3 or higher",
    "serious_adverse_events": "Serious adverse events (with the 24 h reporting clock)",
    "leading_to_discontinuation": "Adverse events leading to discontinuation of study treatment",
    "deaths": "Deaths, with cause and attribution",
    "stopping_rules": "Stopping rules: count against threshold",
    "stopping_rule_probabilities": "Exact binomial probability of meeting each stopping rule",
    "toxicity_monitoring": "Continuous toxicity monitoring (warning boundary, never an automatic stop)",
    "toxicity_boundary": "Toxicity warning boundary: warn when at least x of n subjects",
    "terms_needing_coding": "Free-text terms awaiting coding",
}
"""The title of each table, in report order."""


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
    actor: Actor,
    protocol: Protocol,
    output_format: str = "json",
    cutoff: dt.date | None = None,
) -> dict[str, Any]:
    """The safety report for ``actor`` (safety reviewer, statistician or monitor); the read is audited."""
    if actor.role not in REPORT_READERS:
        raise PermissionDenied(
            f"role '{actor.role}' may not read the safety report", rule="read_safety_report"
        )
    document = safety_report(session, protocol, cutoff)
    log_event(
        session,
        "export",
        "safety_report",
        protocol.id,
        new_value=output_format,
        reason=f"safety report ({output_format}) at cut-off {document['cutoff']}",
    )
    return document
