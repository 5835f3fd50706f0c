"""In-field and out-of-field ("abscopal") response of the target lesions (radio-immunotherapy trials).

Each baseline target lesion is flagged in or out of a radiotherapy field. The target lesions of each
subset are followed as RECIST 1.1 (Eisenhauer 2009) follows all of them:

* s4.3 sum of diameters: longest diameter of non-nodal lesions plus the short axis of nodes (mm); a
  lesion present but too small to measure counts ``too_small_mm`` (default 5 mm), a missing one makes
  the subset's sum incomplete;
* % change from the subset's baseline sum and from its nadir (smallest complete sum before this time
  point, the baseline included);
* the subset's target response by the s4.3.1 thresholds (CR, PR >= 30 % below baseline, PD >= 20 % and
  >= 5 mm above the nadir, SD, NE), as trials report an "in-field" and an "out-of-field" response rate
  (Theelen 2019, PEMBRO-RT, JAMA Oncol 5:1276-1282: response of the non-irradiated lesions; Welsh 2020,
  J Immunother Cancer 8:e001001: "best out-of-field lesion response" per RECIST 1.1).

The out-of-field (abscopal) response, :class:`FieldRule`: the non-irradiated target sum at least
``min_decrease`` (protocol parameter, default 0.30 = the RECIST 1.1 PR threshold used by those trials)
below its baseline sum at an assessment before the overall progression; when ``confirmation`` is
required, a later assessment at least ``confirmation_min_days`` on must meet it again (RECIST 1.1 s4.4
confirmation interval, default 28 days). ``NE`` without a non-irradiated target lesion, or without an
evaluable assessment (and no progression). Target lesions without a flag belong to neither subset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.protocol.model import TumourAssessment
from trialdesk.domain.recist.assessment import Assessment
from trialdesk.domain.recist.baseline import Baseline, Lesion, exact
from trialdesk.domain.recist.evaluation import as_mm, percent_change
from trialdesk.domain.recist.timepoint import TargetResponse, target_response, target_sum

Subset = Literal["in_field", "out_of_field"]
AbscopalStatus = Literal["yes", "no", "NE"]
_RANK: dict[str, int] = {"CR": 0, "PR": 1, "SD": 2, "PD": 3, "NE": 4}
"""Order of the subset's best response (RECIST 1.1 s4.4 order, unconfirmed)."""


class FieldRule(FrozenModel):
    """The abscopal-response rule: decrease as a fraction (0.30 = 30 %), confirmation and its interval."""

    min_decrease: float = 0.30
    confirmation: bool = False
    confirmation_min_days: int = 28

    @classmethod
    def from_tumour_assessment(cls, assessment: TumourAssessment) -> FieldRule:
        """The protocol's rule; confirmation defaults to the protocol's response confirmation."""
        rule = assessment.abscopal
        confirm = rule.confirmation.value if rule.confirmation else assessment.confirmation_required.value
        return cls(
            min_decrease=rule.min_decrease.value,
            confirmation=confirm,
            confirmation_min_days=assessment.confirmation_min_days.value,
        )


class SubsetTimePoint(FrozenModel):
    """One assessment of a subset: sums (mm), % changes, the subset response and the abscopal test."""

    date: dt.date
    sum_mm: float | None
    measured_sum_mm: float
    pct_from_baseline: float | None
    pct_from_nadir: float | None
    nadir_mm: float
    missing: list[str]
    response: TargetResponse
    meets_rule: bool | None
    before_progression: bool


class SubsetResponse(FrozenModel):
    """A subset's target lesions, baseline sum, time points, best response and best % change."""

    lesions: list[str]
    baseline_sum_mm: float | None
    time_points: list[SubsetTimePoint]
    best_response: str | None
    best_pct_from_baseline: float | None


class FieldResponse(FrozenModel):
    """Irradiated and non-irradiated subsets and the out-of-field (abscopal) response."""

    rule: FieldRule
    unassigned: list[str]
    in_field: SubsetResponse
    out_of_field: SubsetResponse
    abscopal: AbscopalStatus
    abscopal_date: dt.date | None
    abscopal_confirmed: bool | None


@dataclass(frozen=True)
class _Context:
    assessments: Sequence[Assessment]
    too_small_mm: float
    progression_date: dt.date | None
    rule: FieldRule


def field_response(
    baseline: Baseline,
    assessments: Sequence[Assessment],
    in_field: Mapping[str, bool],
    rule: FieldRule | None = None,
    *,
    too_small_mm: float = 5.0,
    progression_date: dt.date | None = None,
) -> FieldResponse:
    """Both subsets and the abscopal response (module docstring: rules and references).

    ``in_field`` maps baseline lesion ids to their flag; ``progression_date`` is the overall RECIST
    progression (assessments on or after it do not count toward a best response or the abscopal one).
    """
    rule = rule or FieldRule()
    context = _Context(assessments, too_small_mm, progression_date, rule)
    targets = baseline.targets
    inside = [t for t in targets if in_field.get(t.id) is True]
    outside = [t for t in targets if in_field.get(t.id) is False]
    out_subset = _subset(outside, context, test_rule=True)
    status, date, confirmed = _abscopal(out_subset, context)
    return FieldResponse(
        rule=rule,
        unassigned=[t.id for t in targets if t.id not in in_field],
        in_field=_subset(inside, context, test_rule=False),
        out_of_field=out_subset,
        abscopal=status,
        abscopal_date=date,
        abscopal_confirmed=confirmed,
    )


def _subset(lesions: Sequence[Lesion], context: _Context, *, test_rule: bool) -> SubsetResponse:
    if not lesions:
        return SubsetResponse(
            lesions=[], baseline_sum_mm=None, time_points=[], best_response=None, best_pct_from_baseline=None
        )
    baseline_sum = sum((exact(t.diameter_mm or 0.0) for t in lesions), Fraction(0))
    threshold = (1 - exact(context.rule.min_decrease)) * baseline_sum
    nadir = baseline_sum
    points: list[SubsetTimePoint] = []
    for assessment in context.assessments:
        sizes = target_sum(lesions, assessment.measurements, context.too_small_mm)
        total = sizes.total
        points.append(
            SubsetTimePoint(
                date=assessment.date,
                sum_mm=as_mm(total) if sizes.complete else None,
                measured_sum_mm=as_mm(total) or 0.0,
                pct_from_baseline=percent_change(total, baseline_sum) if sizes.complete else None,
                pct_from_nadir=percent_change(total, nadir) if sizes.complete else None,
                nadir_mm=as_mm(nadir) or 0.0,
                missing=list(sizes.missing),
                response=target_response(lesions, sizes, baseline_sum, nadir),
                meets_rule=(total <= threshold if sizes.complete else None) if test_rule else None,
                before_progression=_before(assessment.date, context.progression_date),
            )
        )
        if sizes.complete:
            nadir = min(nadir, total)
    return SubsetResponse(
        lesions=[t.id for t in lesions],
        baseline_sum_mm=as_mm(baseline_sum),
        time_points=points,
        best_response=_best(points, context.progression_date),
        best_pct_from_baseline=_best_pct(points),
    )


def _before(date: dt.date, progression: dt.date | None) -> bool:
    return progression is None or date < progression


def _best(points: Sequence[SubsetTimePoint], progression: dt.date | None) -> str | None:
    """The best subset response before the overall progression; PD when progression came first."""
    window = [p.response for p in points if p.before_progression]
    if not window:
        return "PD" if progression is not None else None
    return min(window, key=lambda response: _RANK[response])


def _best_pct(points: Sequence[SubsetTimePoint]) -> float | None:
    """The largest decrease (smallest % change from baseline) before the overall progression."""
    values = [p.pct_from_baseline for p in points if p.before_progression and p.pct_from_baseline is not None]
    return min(values) if values else None


def _abscopal(
    subset: SubsetResponse, context: _Context
) -> tuple[AbscopalStatus, dt.date | None, bool | None]:
    """(status, date first met, confirmed) of the out-of-field response (module docstring)."""
    if not subset.lesions:
        return "NE", None, None
    window = [p for p in subset.time_points if p.before_progression]
    for index, point in enumerate(window):
        if not point.meets_rule:
            continue
        confirmed = any(
            later.meets_rule and (later.date - point.date).days >= context.rule.confirmation_min_days
            for later in window[index + 1 :]
        )
        if confirmed or not context.rule.confirmation:
            return "yes", point.date, confirmed
    evaluable = any(p.meets_rule is not None for p in window)
    if evaluable or context.progression_date is not None:
        return "no", None, None
    return "NE", None, None
