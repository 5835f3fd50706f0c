"""The DSMB safety tables built from plain subject and adverse-event records (pure: no database).

:mod:`trialdesk.services.safety_report` reads the trial's subjects and AEs, turns them into
:class:`SafetySubject` / :class:`SafetyEvent` records (deciding treatment relatedness once per event)
and calls the functions here; :mod:`trialdesk.adapters.report.safety` renders the rows. Conventions
(also in the service's docstring):

* Data cut-off: a subject counts when enrolled on or before it, an AE when its onset is, a death
  when its date is, a treatment start when it is.
* Analysis groups: one per (phase, arm) of the protocol with subjects at the cut-off (keys ``iia/A``,
  ``iib/A``, ``iib/B``; a single-phase trial uses the arm id), plus ``Total``; :func:`group_labels`
  gives each its human label (``Phase IIa: Arm A (experimental)``).
* "Exposed" = treatment start date recorded, or any recorded AE.
* AE counts are *subjects* by their maximum CTCAE grade within the SOC/term.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trialdesk.analysis.snapshot import group_label
from trialdesk.domain.protocol.model import Protocol

GRADE_BANDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("any", (1, 2, 3, 4, 5)),
    ("1-2", (1, 2)),
    ("3-4", (3, 4)),
    ("5", (5,)),
)
TOTAL = "Total"

Row = dict[str, Any]

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


def group_key(protocol: Protocol, phase_id: str | None, arm_id: str | None) -> str:
    """The analysis-group key of a phase/arm: ``iia/A``, or the arm id in a single-phase trial."""
    if len(protocol.design.phases) == 1:
        return str(arm_id)
    return f"{phase_id}/{arm_id}"


def groups(protocol: Protocol) -> list[str]:
    """The analysis groups of the protocol, in design order, then ``Total``."""
    labels = [group_key(protocol, phase.id, arm) for phase in protocol.design.phases for arm in phase.arms]
    return [*labels, TOTAL]


def group_labels(protocol: Protocol) -> dict[str, str]:
    """Group key -> human label (``iia/A`` -> ``Phase IIa: Arm A (experimental)``; ``Total``)."""
    out = {
        group_key(protocol, phase.id, arm): group_label(protocol, phase.id, arm)
        for phase in protocol.design.phases
        for arm in phase.arms
    }
    return {**out, TOTAL: TOTAL}


@dataclass(frozen=True)
class SafetySubject:
    """An enrolled subject as the safety tables see it (``id``: the internal subject id)."""

    id: int
    screening_number: str
    phase_id: str | None
    arm_id: str | None
    enrolled_on: dt.date | None
    treatment_start_date: dt.date | None = None
    death_date: dt.date | None = None


@dataclass(frozen=True)
class SafetyEvent:
    """One adverse-event episode; ``related``: treatment-related, decided by the caller."""

    id: int
    subject_id: int
    term: str
    grade: int
    onset_date: dt.date
    created_at: dt.datetime
    soc: str | None = None
    resolution_date: dt.date | None = None
    serious: bool = False
    outcome: str | None = None
    action_taken: str | None = None
    attributions: Mapping[str, Any] = field(default_factory=dict)
    related: bool = False
    sae_criteria: tuple[str, ...] = ()
    site_aware_at: dt.datetime | None = None
    sae_reported_late: bool = False
    needs_coding: bool = False


class SafetyPopulation:
    """Subjects, their groups and AEs as known at the cut-off (subjects in input order, AEs likewise)."""

    def __init__(
        self,
        protocol: Protocol,
        cutoff: dt.date,
        subjects: Iterable[SafetySubject],
        events: Iterable[SafetyEvent],
    ) -> None:
        self.protocol = protocol
        self.cutoff = cutoff
        self.subjects = [s for s in subjects if s.enrolled_on is not None and s.enrolled_on <= cutoff]
        self.by_id = {s.id: s for s in self.subjects}
        self.group = {s.id: group_key(protocol, s.phase_id, s.arm_id) for s in self.subjects}
        self.events = [e for e in events if e.subject_id in self.by_id and e.onset_date <= cutoff]
        present = set(self.group.values())
        self.groups = [g for g in groups(protocol) if g in present or g == TOTAL]

    def started(self, subject: SafetySubject) -> bool:
        """Treatment started on or before the cut-off."""
        return subject.treatment_start_date is not None and subject.treatment_start_date <= self.cutoff

    def death_date(self, subject: SafetySubject) -> dt.date | None:
        """The death date when on or before the cut-off."""
        death = subject.death_date
        return death if death is not None and death <= self.cutoff else None

    def screening_number(self, subject_id: str) -> str:
        """Screening number of a subject given by internal id (as text); the id when unknown."""
        subject = self.by_id.get(int(subject_id)) if subject_id.isdigit() else None
        return subject.screening_number if subject is not None else subject_id

    def members(self, group: str) -> list[SafetySubject]:
        """The subjects of ``group`` (every subject for ``Total``)."""
        return [s for s in self.subjects if group == TOTAL or self.group[s.id] == group]

    def exposed(self, group: str) -> int:
        """The safety population of ``group``: treatment started, or any AE recorded."""
        with_ae = {e.subject_id for e in self.events}
        return sum(1 for s in self.members(group) if self.started(s) or s.id in with_ae)


def adverse_event_tables(data: SafetyPopulation) -> dict[str, list[Row]]:
    """The exposure, AE-count, listing and death tables, in report order (see :data:`TABLE_TITLES`)."""
    return {
        "exposure": _exposure(data),
        "ae_by_soc_term_all_cause": _soc_term_table(data, lambda e: True),
        "ae_by_soc_term_treatment_related": _soc_term_table(data, lambda e: e.related),
        "ae_by_term_and_max_grade_all_cause": _term_by_grade_table(data, lambda e: True),
        "ae_by_term_and_max_grade_treatment_related": _term_by_grade_table(data, lambda e: e.related),
        "grade_3_or_higher": [_listing_row(data, e) for e in data.events if e.grade >= 3],
        "serious_adverse_events": _sae_rows(data),
        "leading_to_discontinuation": [
            _listing_row(data, e) for e in data.events if e.action_taken == "drug_withdrawn"
        ],
        "deaths": _deaths(data),
    }


def terms_needing_coding(data: SafetyPopulation) -> list[Row]:
    """The listing of AEs whose free-text term still awaits coding."""
    return [_listing_row(data, e) for e in data.events if e.needs_coding]


def _exposure(data: SafetyPopulation) -> list[Row]:
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


def _band_counts(data: SafetyPopulation, events: Iterable[SafetyEvent]) -> Row:
    worst: dict[int, int] = {}
    for event in events:
        worst[event.subject_id] = max(worst.get(event.subject_id, 0), event.grade)
    row: Row = {}
    for group in data.groups:
        grades = [g for sid, g in worst.items() if group == TOTAL or data.group[sid] == group]
        for band, members in GRADE_BANDS:
            row[f"{group} {band}"] = sum(1 for g in grades if g in members)
    return row


def _soc_term_table(data: SafetyPopulation, keep: Callable[[SafetyEvent], bool]) -> list[Row]:
    """Subjects by maximum grade: all AEs, then each SOC with its terms (DSMB layout)."""
    events = [e for e in data.events if keep(e)]
    rows: list[Row] = [{"soc": "All SOCs", "term": "Any adverse event", **_band_counts(data, events)}]
    by_soc: dict[str, list[SafetyEvent]] = defaultdict(list)
    for event in events:
        by_soc[event.soc or "Not yet coded"].append(event)
    for soc in sorted(by_soc):
        rows.append({"soc": soc, "term": "All terms", **_band_counts(data, by_soc[soc])})
        for term in sorted({e.term for e in by_soc[soc]}):
            rows.append(
                {"soc": soc, "term": term, **_band_counts(data, [e for e in by_soc[soc] if e.term == term])}
            )
    return rows


def _grade_counts(data: SafetyPopulation, events: Sequence[SafetyEvent], group: str) -> Row:
    worst: dict[int, int] = {}
    for event in events:
        if group == TOTAL or data.group[event.subject_id] == group:
            worst[event.subject_id] = max(worst.get(event.subject_id, 0), event.grade)
    row: Row = {f"grade {g}": sum(1 for w in worst.values() if w == g) for g in (1, 2, 3, 4, 5)}
    row["any grade"] = len(worst)
    row["grade >= 3"] = sum(1 for w in worst.values() if w >= 3)
    return row


def _term_by_grade_table(data: SafetyPopulation, keep: Callable[[SafetyEvent], bool]) -> list[Row]:
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


def _attribution(event: SafetyEvent) -> str:
    if not event.attributions:
        return "not assessed"
    return "; ".join(f"{component}: {level}" for component, level in sorted(event.attributions.items()))


def _listing_row(data: SafetyPopulation, event: SafetyEvent) -> Row:
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
        "serious": event.serious,
        "outcome": event.outcome,
        "action_taken": event.action_taken,
        "attribution": _attribution(event),
        "treatment_related": event.related,
    }


def _sae_rows(data: SafetyPopulation) -> list[Row]:
    rows = []
    for event in data.events:
        if not event.serious:
            continue
        row = _listing_row(data, event)
        row["sae_criteria"] = ", ".join(event.sae_criteria)
        row["site_aware_at"] = event.site_aware_at.isoformat() if event.site_aware_at else None
        row["recorded_at"] = event.created_at.isoformat()
        row["reported_late"] = event.sae_reported_late
        rows.append(row)
    return rows


def _deaths(data: SafetyPopulation) -> list[Row]:
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
                "treatment_related": any(e.related for e in fatal),
            }
        )
    return rows
