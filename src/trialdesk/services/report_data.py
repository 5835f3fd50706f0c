"""What a trial report is made from: :class:`ReportSnapshot`, plus the helpers that build one.

A snapshot is the frozen input of one report at one data cut-off: the protocol, the cut-off date,
the software version, the CONSORT counts, one :class:`SubjectEndpointData` per enrolled subject, the
per-subject target-sum series (waterfall and spider plots, from the RECIST engine) and, when the
safety module provides them, the safety tables. The renderer derives the endpoints and runs the
analyses from the snapshot itself, so the same snapshot always gives the same report.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from pydantic import Field

import trialdesk
from trialdesk.domain.common import FrozenModel
from trialdesk.domain.endpoints import AnalysisDataset, SubjectEndpointData, apply_cutoff, derive_endpoints
from trialdesk.domain.protocol import Protocol

SafetyCell = bool | int | float | str | None
"""A safety-table cell (booleans print as yes / no)."""


class ConsortArm(FrozenModel):
    """CONSORT counts of one arm of one phase (subjects, at the cut-off).

    ``allocated``: enrolled (single-arm / run-in) or randomized; ``treated``: received any study
    treatment; ``discontinued``: treatment-discontinuation reason -> subjects; ``ongoing``: still on
    treatment; ``left_study``: reason -> subjects who left the study before the cut-off (lost to
    follow-up, withdrawal; deaths are outcomes and not counted here); ``analysed``: in the efficacy
    analysis (intention to treat: all allocated).
    """

    phase_id: str
    arm: str
    allocated: int = Field(ge=0)
    treated: int = Field(ge=0)
    discontinued: dict[str, int] = Field(default_factory=dict)
    ongoing: int = Field(ge=0)
    left_study: dict[str, int] = Field(default_factory=dict)
    analysed: int = Field(ge=0)


class ConsortCounts(FrozenModel):
    """CONSORT flow: screening, screen failures by reason, and the arms.

    ``screen_failures`` maps a reason (usually an eligibility criterion, ``"inc-d-hemoglobin:
    Hemoglobin >= 90 g/L"``) to the number of subjects failing it; a subject failing several criteria
    counts under each, so the counts can add up to more than ``screen_failed``.
    """

    screened: int = Field(ge=0)
    screen_failed: int = Field(ge=0)
    screen_failures: dict[str, int] = Field(default_factory=dict)
    arms: list[ConsortArm] = Field(default_factory=list)

    @property
    def enrolled(self) -> int:
        """Subjects enrolled in any phase."""
        return sum(arm.allocated for arm in self.arms)

    def enrolled_by_phase(self) -> dict[str, int]:
        """Phase id -> subjects enrolled in it."""
        out: dict[str, int] = {}
        for arm in self.arms:
            out[arm.phase_id] = out.get(arm.phase_id, 0) + arm.allocated
        return out


class TargetSumPoint(FrozenModel):
    """One post-baseline time point of a subject's target sum (mm) and its % change from baseline."""

    date: dt.date
    days: int = Field(description="Days from the baseline scan")
    sum_mm: float | None
    pct_from_baseline: float | None
    overall: str


class TargetSumSeries(FrozenModel):
    """A subject's target-lesion sums over time (spider plot) and best % change (waterfall plot).

    ``best_pct``: the smallest % change from baseline among time points up to and including the first
    progression (the largest shrinkage, or the smallest growth), ``None`` without a measured sum.
    """

    subject_id: str
    arm: str
    phase_id: str
    baseline_sum_mm: float | None
    points: list[TargetSumPoint]
    best_pct: float | None
    bor: str


class ReportSnapshot(FrozenModel):
    """Everything one trial report needs, at one data cut-off (see the module docstring).

    ``safety_tables``: table title -> rows (each row a dict column -> value), filled by the safety
    module; ``None`` prints "safety tables not available". ``synthetic`` prints "SYNTHETIC DATA" on
    every page.
    """

    protocol: Protocol
    cutoff: dt.date
    software_version: str = Field(default_factory=lambda: trialdesk.__version__)
    synthetic: bool = False
    title: str | None = None
    consort: ConsortCounts
    subjects: list[SubjectEndpointData]
    target_sums: list[TargetSumSeries] = Field(default_factory=list)
    safety_tables: dict[str, list[dict[str, SafetyCell]]] | None = None


def consort_arms(
    protocol: Protocol, subjects: Iterable[SubjectEndpointData], cutoff: dt.date
) -> list[ConsortArm]:
    """CONSORT arm boxes from the subjects as known at ``cutoff`` (phases and arms in protocol order)."""
    known = [s for s in (apply_cutoff(subject, cutoff) for subject in subjects) if s is not None]
    out: list[ConsortArm] = []
    for phase in protocol.design.phases:
        for arm in phase.arms:
            members = [s for s in known if s.phase_id == phase.id and s.arm == arm]
            if not members:
                continue
            treated = [s for s in members if s.treatment_start is not None]
            stopped = Counter(
                s.off_treatment_reason or "not recorded" for s in treated if s.treatment_end is not None
            )
            left = Counter(
                s.discontinuation_reason
                for s in members
                if s.discontinuation_reason and s.discontinuation_reason.strip().lower() != "death"
            )
            out.append(
                ConsortArm(
                    phase_id=phase.id,
                    arm=arm,
                    allocated=len(members),
                    treated=len(treated),
                    discontinued=_by_count(stopped),
                    ongoing=len(treated) - sum(stopped.values()),
                    left_study=_by_count(left),
                    analysed=len(members),
                )
            )
    return out


def _by_count(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def target_sum_series(dataset: AnalysisDataset) -> list[TargetSumSeries]:
    """Target-sum series of every subject with a RECIST report in ``dataset`` (input order)."""
    responses = {r.subject_id: r for r in dataset.responses}
    out: list[TargetSumSeries] = []
    for subject in dataset.subjects:
        report = dataset.reports.get(subject.subject_id)
        if report is None:
            continue
        points = [
            TargetSumPoint(
                date=tp.date,
                days=(tp.date - report.baseline_date).days,
                sum_mm=tp.sum_mm,
                pct_from_baseline=tp.pct_from_baseline,
                overall=tp.overall,
            )
            for tp in report.time_points
        ]
        until = report.progression_date
        eligible = [
            p.pct_from_baseline
            for p in points
            if p.pct_from_baseline is not None and (until is None or p.date <= until)
        ]
        out.append(
            TargetSumSeries(
                subject_id=subject.subject_id,
                arm=subject.arm,
                phase_id=subject.phase_id,
                baseline_sum_mm=report.baseline_sum_mm,
                points=points,
                best_pct=min(eligible) if eligible else None,
                bor=responses[subject.subject_id].bor,
            )
        )
    return out


def build_snapshot(
    protocol: Protocol,
    cutoff: dt.date,
    subjects: Sequence[SubjectEndpointData],
    *,
    screened: int,
    screen_failures: Mapping[str, int],
    screen_failed: int | None = None,
    safety_tables: Mapping[str, list[dict[str, SafetyCell]]] | None = None,
    synthetic: bool = False,
    software_version: str | None = None,
) -> ReportSnapshot:
    """Assemble a :class:`ReportSnapshot`: CONSORT arms and target sums are derived from ``subjects``.

    ``screened`` counts every screened patient; ``screen_failures`` maps a failure reason to the
    number of patients; ``screen_failed`` (default: screened minus enrolled) the patients not enrolled.
    """
    dataset = derive_endpoints(protocol, subjects, cutoff)
    arms = consort_arms(protocol, subjects, cutoff)
    enrolled = sum(arm.allocated for arm in arms)
    consort = ConsortCounts(
        screened=screened,
        screen_failed=screen_failed if screen_failed is not None else max(screened - enrolled, 0),
        screen_failures=dict(screen_failures),
        arms=arms,
    )
    return ReportSnapshot(
        protocol=protocol,
        cutoff=cutoff,
        software_version=software_version or trialdesk.__version__,
        synthetic=synthetic,
        consort=consort,
        subjects=list(subjects),
        target_sums=target_sum_series(dataset),
        safety_tables=dict(safety_tables) if safety_tables is not None else None,
    )
