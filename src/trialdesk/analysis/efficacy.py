"""The efficacy analyses of a derived dataset, per trial phase and arm (pure: no I/O).

For every phase of the protocol:

* Kaplan-Meier of PFS, OS and DOR per arm (times in months), median with Brookmeyer-Crowley CI
  (``analysis.km_conf_type``), landmark rates at ``analysis.landmarks_months``;
* median follow-up by reverse Kaplan-Meier of OS (Schemper & Smith 1996);
* randomized phases: log-rank (stratified by ``analysis.logrank_strata``) and Cox hazard ratio of
  the experimental arm against the control (Efron ties, same strata), for PFS and OS;
* single-arm phases with ``analysis.historical_median_pfs_months``: one-sample log-rank test of PFS
  against the Weibull historical control (Finkelstein, Muzikansky & Schoenfeld 2003; Wu 2015);
* ORR and DCR with Clopper-Pearson exact 95% CI, and the best-overall-response distribution.

All numerics come from :mod:`trialdesk.stats`, validated against R ``survival``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from trialdesk.domain.endpoints import AnalysisDataset, ResponseRecord, SubjectEndpointData, TimeToEventRecord
from trialdesk.domain.protocol.model import Phase, Protocol
from trialdesk.stats.binomial import ConfidenceInterval, clopper_pearson
from trialdesk.stats.cox import CoxPHResult, cox_ph
from trialdesk.stats.kaplan_meier import (
    ConfType,
    KaplanMeierEstimate,
    SurvivalQuantile,
    kaplan_meier,
    median_follow_up,
)
from trialdesk.stats.logrank import LogRankResult, logrank_test
from trialdesk.stats.one_sample_logrank import OneSampleLogRankResult, one_sample_logrank
from trialdesk.stats.survival_data import BoolArray, FloatArray, SurvivalDataError

SURVIVAL_PARAMS = ("PFS", "OS", "DOR")
COMPARED_PARAMS = ("PFS", "OS")
BOR_ORDER = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING", "NO BASELINE")
MISSING_STRATUM = "(missing)"


@dataclass(frozen=True)
class Landmark:
    """Survival at ``months`` with its pointwise CI and the number still at risk.

    ``estimable`` is ``False`` when ``months`` lies beyond the longest follow-up: the curve is only
    carried forward there (R's ``extend=TRUE``), so reports print "NE".
    """

    months: float
    surv: float
    lower: float
    upper: float
    n_risk: int
    estimable: bool = True


@dataclass(frozen=True)
class SurvivalSummary:
    """One arm's KM curve of one parameter (times in months), median and landmark rates."""

    param: str
    arm: str
    n: int
    events: int
    km: KaplanMeierEstimate
    median: SurvivalQuantile
    landmarks: list[Landmark]


@dataclass(frozen=True)
class ArmComparison:
    """Experimental (``comparison_arm``) vs control (``reference_arm``) for one parameter.

    ``logrank`` is stratified by ``strata`` (empty: unstratified); ``cox`` is the Cox HR with the same
    strata, ``None`` (with ``note``) when it cannot be estimated (no events, monotone likelihood).
    """

    param: str
    reference_arm: str
    comparison_arm: str
    strata: list[str]
    logrank: LogRankResult
    logrank_unstratified: LogRankResult
    cox: CoxPHResult | None
    note: str | None = None

    @property
    def hazard_ratio(self) -> tuple[float, float, float] | None:
        """(HR, lower, upper) of the comparison arm against the reference, or ``None``."""
        if self.cox is None:
            return None
        return float(self.cox.hr[0]), float(self.cox.hr_lower[0]), float(self.cox.hr_upper[0])


@dataclass(frozen=True)
class HistoricalComparison:
    """One-sample log-rank test of PFS against the historical median (months) and Weibull shape."""

    param: str
    arm: str
    historical_median_months: float
    shape: float
    result: OneSampleLogRankResult


@dataclass(frozen=True)
class RateSummary:
    """A response rate: ``count`` of ``n`` subjects with its Clopper-Pearson exact CI."""

    arm: str
    n: int
    count: int
    ci: ConfidenceInterval | None


@dataclass(frozen=True)
class PhaseAnalysis:
    """Every efficacy analysis of one trial phase (arms in protocol order)."""

    phase_id: str
    name: str
    kind: str
    arms: list[str]
    n_by_arm: dict[str, int]
    survival: dict[str, dict[str, SurvivalSummary]] = field(default_factory=dict)
    follow_up: dict[str, SurvivalQuantile] = field(default_factory=dict)
    comparisons: dict[str, ArmComparison] = field(default_factory=dict)
    historical: HistoricalComparison | None = None
    orr: dict[str, RateSummary] = field(default_factory=dict)
    dcr: dict[str, RateSummary] = field(default_factory=dict)
    bor_counts: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialAnalysis:
    """The analyses of a trial at one data cut-off."""

    protocol_id: str
    protocol_version: str
    cutoff: dt.date
    conf_type: str
    landmarks_months: list[float]
    phases: list[PhaseAnalysis]

    def phase(self, phase_id: str) -> PhaseAnalysis:
        """The analysis of one phase (``KeyError`` if the phase has no subjects)."""
        for phase in self.phases:
            if phase.phase_id == phase_id:
                return phase
        raise KeyError(phase_id)


def analyse(protocol: Protocol, dataset: AnalysisDataset) -> TrialAnalysis:
    """Run every efficacy analysis of ``dataset`` (from :func:`derive_endpoints`) per phase and arm.

    Phases without subjects are left out.
    """
    phases = [
        _analyse_phase(protocol, phase, dataset)
        for phase in protocol.design.phases
        if any(r.phase_id == phase.id for r in dataset.responses)
    ]
    return TrialAnalysis(
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        cutoff=dataset.cutoff,
        conf_type=protocol.analysis.km_conf_type.value,
        landmarks_months=list(protocol.analysis.landmarks_months.value),
        phases=phases,
    )


def _analyse_phase(protocol: Protocol, phase: Phase, dataset: AnalysisDataset) -> PhaseAnalysis:
    plan = protocol.analysis
    responses = [r for r in dataset.responses if r.phase_id == phase.id]
    records = [r for r in dataset.time_to_event if r.phase_id == phase.id]
    arms = [arm for arm in phase.arms if any(r.arm == arm for r in responses)]
    result = PhaseAnalysis(
        phase_id=phase.id,
        name=phase.name,
        kind=phase.kind,
        arms=arms,
        n_by_arm={arm: sum(r.arm == arm for r in responses) for arm in arms},
        historical=_historical(protocol, phase, arms, records),
    )
    for param in SURVIVAL_PARAMS:
        by_arm = {
            arm: survival_summary(param, arm, chosen, plan.km_conf_type.value, plan.landmarks_months.value)
            for arm in arms
            if (chosen := [r for r in records if r.param == param and r.arm == arm])
        }
        if by_arm:
            result.survival[param] = by_arm
    for arm in arms:
        os_records = [r for r in records if r.param == "OS" and r.arm == arm]
        result.follow_up[arm] = median_follow_up(_months(os_records), _events(os_records))
        arm_responses = [r for r in responses if r.arm == arm]
        result.orr[arm] = rate(arm, arm_responses, lambda r: r.responder)
        result.dcr[arm] = rate(arm, arm_responses, lambda r: r.disease_control)
        result.bor_counts[arm] = bor_counts(arm_responses)
    if phase.kind == "randomized" and len(arms) == 2:
        control, experimental = _reference_and_comparison(protocol, arms)
        subjects = {s.subject_id: s for s in dataset.subjects}
        for param in COMPARED_PARAMS:
            chosen = [r for r in records if r.param == param]
            result.comparisons[param] = compare_arms(
                param, chosen, subjects, control, experimental, plan.logrank_strata.value
            )
    return result


def _historical(
    protocol: Protocol, phase: Phase, arms: list[str], records: Sequence[TimeToEventRecord]
) -> HistoricalComparison | None:
    """One-sample log-rank of PFS for a single-arm phase when the protocol gives a historical median."""
    median = protocol.analysis.historical_median_pfs_months.value
    shape = protocol.analysis.historical_weibull_shape.value
    pfs = [r for r in records if r.param == "PFS"]
    if phase.kind != "single_arm" or median is None or not any(r.aval_days > 0 for r in pfs):
        return None  # no follow-up yet: no events expected, the test is undefined
    test = one_sample_logrank(_months(pfs), _events(pfs), historical_median=median, shape=shape)
    return HistoricalComparison("PFS", arms[0], median, shape, test)


def _months(records: Sequence[TimeToEventRecord]) -> FloatArray:
    return np.array([r.aval_months for r in records], dtype=np.float64)


def _events(records: Sequence[TimeToEventRecord]) -> BoolArray:
    return np.array([r.event for r in records], dtype=bool)


def survival_summary(
    param: str,
    arm: str,
    records: Sequence[TimeToEventRecord],
    conf_type: ConfType,
    landmarks_months: Sequence[float],
) -> SurvivalSummary:
    """KM estimate (months), median with CI and landmark rates of one arm's records."""
    km = kaplan_meier(_months(records), _events(records), conf_type=conf_type)
    marks = km.at(list(landmarks_months))
    landmarks = [
        Landmark(float(m), float(s), float(lo), float(hi), int(n), bool(m <= km.time[-1]))
        for m, s, lo, hi, n in zip(
            marks.time, marks.surv, marks.lower, marks.upper, marks.n_risk, strict=True
        )
    ]
    return SurvivalSummary(param, arm, km.n, km.events, km, km.median, landmarks)


def compare_arms(
    param: str,
    records: Sequence[TimeToEventRecord],
    subjects: dict[str, SubjectEndpointData],
    reference: str,
    comparison: str,
    strata_factors: Sequence[str],
) -> ArmComparison:
    """Stratified log-rank and Cox HR (comparison vs reference arm) of one parameter."""
    chosen = [r for r in records if r.arm in (reference, comparison)]
    time, event = _months(chosen), _events(chosen)
    group = [r.arm for r in chosen]
    strata = None
    if strata_factors:
        strata = [
            "/".join(subjects[r.subject_id].strata.get(f, MISSING_STRATUM) for f in strata_factors)
            for r in chosen
        ]
    logrank = logrank_test(time, event, group, strata=strata)
    unstratified = logrank_test(time, event, group) if strata is not None else logrank
    x = np.array([1.0 if r.arm == comparison else 0.0 for r in chosen])
    cox: CoxPHResult | None = None
    note: str | None = None
    try:
        cox = cox_ph(x, time, event, names=[f"{comparison} vs {reference}"], strata=strata)
    except SurvivalDataError as exc:
        note = f"Cox model not estimable: {exc}"
    if cox is not None and (cox.maybe_infinite[0] or not cox.converged):
        cox, note = None, "Cox model not estimable: monotone likelihood (an arm without events)"
    if logrank.df == 0 and logrank.chisq != logrank.chisq:  # NaN: zero variance
        note = "log-rank test not estimable: the data carry no information (zero variance)" + (
            f"; {note}" if note else ""
        )
    return ArmComparison(param, reference, comparison, list(strata_factors), logrank, unstratified, cox, note)


def _reference_and_comparison(protocol: Protocol, arms: list[str]) -> tuple[str, str]:
    controls = [a for a in arms if protocol.arm(a).role == "control"]
    reference = controls[0] if controls else arms[-1]
    comparison = next(a for a in arms if a != reference)
    return reference, comparison


def rate(
    arm: str, responses: Sequence[ResponseRecord], predicate: Callable[[ResponseRecord], bool]
) -> RateSummary:
    """Number of ``responses`` meeting ``predicate`` with the Clopper-Pearson 95% CI."""
    count = sum(1 for r in responses if predicate(r))
    n = len(responses)
    return RateSummary(arm, n, count, clopper_pearson(count, n) if n else None)


def bor_counts(responses: Sequence[ResponseRecord]) -> dict[str, int]:
    """Best-overall-response distribution in the order CR, PR, SD, ..., other categories last."""
    counts = Counter(r.bor for r in responses)
    ordered = {bor: counts.pop(bor, 0) for bor in BOR_ORDER}
    ordered.update(sorted(counts.items()))
    return ordered
