"""Shared per-time-point measurements for RECIST 1.1 and iRECIST: sums, nadir and components.

RECIST 1.1 (Eisenhauer 2009) s4.3: the nadir is the smallest sum on study, the baseline sum
included, taken over time points before the one being assessed (only complete sums count).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from trialdesk.domain.recist.assessment import Assessment
from trialdesk.domain.recist.baseline import Baseline
from trialdesk.domain.recist.new_lesions import NewLesionFindings, resolve_new_lesions
from trialdesk.domain.recist.settings import ResponseSettings
from trialdesk.domain.recist.timepoint import (
    NonTargetResponse,
    TargetResponse,
    TargetSum,
    non_target_response,
    target_response,
    target_sum,
)


@dataclass(frozen=True)
class Components:
    """What RECIST 1.1 derives at one time point before combining into the overall response."""

    assessment: Assessment
    sizes: TargetSum | None
    nadir: Fraction | None
    target: TargetResponse | None
    non_target: NonTargetResponse | None
    new: NewLesionFindings


def derive_components(
    baseline: Baseline, assessments: Sequence[Assessment], settings: ResponseSettings
) -> list[Components]:
    """Target sums and responses (with the running nadir), non-target responses and new lesions."""
    targets = baseline.targets
    baseline_sum = baseline.sum_of_diameters()
    nadir = baseline_sum
    found = resolve_new_lesions(assessments)
    result: list[Components] = []
    for assessment, new in zip(assessments, found, strict=True):
        sizes: TargetSum | None = None
        response: TargetResponse | None = None
        current_nadir: Fraction | None = None
        if targets:
            sizes = target_sum(targets, assessment.measurements, settings.too_small_mm)
            current_nadir = nadir
            response = target_response(targets, sizes, baseline_sum, nadir)
            if sizes.complete:
                nadir = min(nadir, sizes.total)
        non_target = non_target_response(baseline.non_targets, assessment.non_target)
        result.append(Components(assessment, sizes, current_nadir, response, non_target, new))
    return result


def percent_change(current: Fraction, reference: Fraction) -> float | None:
    """Change from ``reference`` in percent (rounded to 0.01); ``None`` when the reference is 0."""
    if reference == 0:
        return None
    return round(float((current - reference) * 100 / reference), 2)


def as_mm(value: Fraction | None) -> float | None:
    """An exact sum as a float in mm (rounded to 0.01 mm) for reporting."""
    return None if value is None else round(float(value), 2)


def component_fields(components: Components, baseline_sum: Fraction) -> dict[str, object]:
    """The reporting fields of a time point shared by RECIST 1.1 and iRECIST."""
    sizes = components.sizes
    complete = sizes is not None and sizes.complete
    total = sizes.total if sizes is not None else None
    return {
        "date": components.assessment.date,
        "sum_mm": as_mm(total) if complete else None,
        "measured_sum_mm": as_mm(total),
        "pct_from_baseline": percent_change(total, baseline_sum) if complete and total is not None else None,
        "pct_from_nadir": (
            percent_change(total, components.nadir)
            if complete and total is not None and components.nadir is not None
            else None
        ),
        "nadir_mm": as_mm(components.nadir),
        "missing_targets": list(sizes.missing) if sizes is not None else [],
        "target": components.target,
        "non_target": components.non_target,
        "new_lesion": components.new.status,
    }


def backdating_notes(components: Components, assessments: Sequence[Assessment]) -> list[str]:
    """Notes for equivocal new lesions counted here because a later scan confirmed them."""
    notes: list[str] = []
    for lesion_id in sorted(components.new.backdated):
        confirmed = next(
            a.date
            for a in assessments
            if a.date > components.assessment.date
            and any(n.id == lesion_id and not n.equivocal for n in a.new_lesions)
        )
        notes.append(
            f"new lesion '{lesion_id}' equivocal here, confirmed on {confirmed}: "
            "progression dated to this scan (RECIST 1.1 s4.3.3)"
        )
    for lesion_id in sorted(components.new.equivocal):
        notes.append(f"new lesion '{lesion_id}' equivocal, not counted unless a later scan confirms it")
    return notes
