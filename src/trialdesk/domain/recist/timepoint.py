"""Per-time-point response: sum of diameters, target, non-target and overall response.

RECIST 1.1 (Eisenhauer 2009):

* s4.3.1 target lesions: CR = every non-nodal target gone and every target node < 10 mm short
  axis; PR = sum at least 30 % below the baseline sum; PD = sum at least 20 % above the nadir
  (smallest sum on study, baseline included) AND at least 5 mm above it; SD otherwise. Both
  thresholds are inclusive, PD takes precedence.
* s4.3 notes: a lesion present but too small to measure counts 5 mm (0 when gone); when targets
  are missing the response is NE unless PD is certain from the lesions measured.
* s4.3.2 non-target lesions: CR (all gone, nodes < 10 mm), non-CR/non-PD, PD (unequivocal
  progression), NE.
* s4.3.4 Tables 4 and 5: overall response with and without measurable (target) disease.

Arithmetic is exact (fractions of the decimal inputs), so exactly -30 % is PR and exactly +20 %
with >= 5 mm is PD.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from trialdesk.domain.recist.assessment import TOO_SMALL, Measurement, NonTargetStatus
from trialdesk.domain.recist.baseline import Lesion, exact

TargetResponse = Literal["CR", "PR", "SD", "PD", "NE"]
NonTargetResponse = Literal["CR", "NON-CR/NON-PD", "PD", "NE"]
OverallResponse = Literal["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"]

PR_MAX_FRACTION_OF_BASELINE = Fraction(7, 10)
"""RECIST 1.1 s4.3.1: PR when the sum is at most 70 % of the baseline sum (>= 30 % decrease)."""
PD_MIN_RELATIVE_INCREASE = Fraction(1, 5)
"""RECIST 1.1 s4.3.1: PD needs an increase of at least 20 % over the nadir ..."""
PD_MIN_ABSOLUTE_INCREASE_MM = Fraction(5)
"""... and an absolute increase of at least 5 mm."""
NODE_NORMAL_BELOW_MM = Fraction(10)
"""RECIST 1.1 s4.3.1: a target node counts as normal (CR) below 10 mm short axis."""


@dataclass(frozen=True)
class TargetSum:
    """Target sizes at one time point: measured values (mm) and the ids not assessed."""

    values: dict[str, Fraction]
    missing: tuple[str, ...]

    @property
    def total(self) -> Fraction:
        """Sum of the measured diameters (all targets when :attr:`complete`)."""
        return sum(self.values.values(), Fraction(0))

    @property
    def complete(self) -> bool:
        """Every target lesion was assessed."""
        return not self.missing


def target_sum(
    targets: Sequence[Lesion], measurements: Mapping[str, Measurement], too_small_mm: float
) -> TargetSum:
    """Sizes of the target lesions at a time point (RECIST 1.1 s4.3 notes).

    ``too_small`` counts ``too_small_mm`` (default 5 mm); 0 means the lesion has disappeared; a
    missing or ``None`` entry is "not assessed".
    """
    values: dict[str, Fraction] = {}
    missing: list[str] = []
    for lesion in targets:
        value = measurements.get(lesion.id)
        if value is None:
            missing.append(lesion.id)
        elif value == TOO_SMALL:
            values[lesion.id] = exact(too_small_mm)
        else:
            values[lesion.id] = exact(float(value))
    return TargetSum(values, tuple(missing))


def meets_progression(current: Fraction, nadir: Fraction) -> bool:
    """RECIST 1.1 s4.3.1 PD on sums: >= 20 % above the nadir AND >= 5 mm above it (both inclusive)."""
    increase = current - nadir
    return increase >= PD_MIN_ABSOLUTE_INCREASE_MM and increase >= PD_MIN_RELATIVE_INCREASE * nadir


def meets_partial_response(current: Fraction, baseline: Fraction) -> bool:
    """RECIST 1.1 s4.3.1 PR on sums: at least 30 % below the baseline sum (inclusive)."""
    return current <= PR_MAX_FRACTION_OF_BASELINE * baseline


def meets_complete_response(targets: Sequence[Lesion], sizes: TargetSum) -> bool:
    """RECIST 1.1 s4.3.1 CR: every non-nodal target at 0 mm and every target node below 10 mm."""
    if not sizes.complete:
        return False
    return all(
        sizes.values[t.id] < NODE_NORMAL_BELOW_MM if t.nodal else sizes.values[t.id] == 0 for t in targets
    )


def target_response(
    targets: Sequence[Lesion], sizes: TargetSum, baseline_sum: Fraction, nadir: Fraction
) -> TargetResponse:
    """Target-lesion response at one time point (RECIST 1.1 s4.3.1).

    PD is checked first and can be declared from an incomplete set of measurements (the missing
    lesions could only add to the sum); otherwise missing lesions make the response NE.
    """
    if meets_progression(sizes.total, nadir):
        return "PD"
    if not sizes.complete:
        return "NE"
    if meets_complete_response(targets, sizes):
        return "CR"
    if meets_partial_response(sizes.total, baseline_sum):
        return "PR"
    return "SD"


def non_target_response(
    non_targets: Sequence[Lesion], statuses: Mapping[str, NonTargetStatus | None]
) -> NonTargetResponse | None:
    """Non-target response at one time point (RECIST 1.1 s4.3.2); ``None`` without non-target disease.

    Unequivocal progression (or a further increase) of any lesion is PD even when others are not
    assessed; otherwise any lesion not assessed gives NE; CR needs every lesion absent (nodes back
    to < 10 mm); else non-CR/non-PD.
    """
    if not non_targets:
        return None
    values = [statuses.get(lesion.id) for lesion in non_targets]
    if any(value in ("unequivocal_progression", "increased") for value in values):
        return "PD"
    if any(value is None for value in values):
        return "NE"
    if all(value == "absent" for value in values):
        return "CR"
    return "NON-CR/NON-PD"


_TARGET_CR_WITH_NON_TARGET: dict[NonTargetResponse | None, OverallResponse] = {
    None: "CR",
    "CR": "CR",
    "NON-CR/NON-PD": "PR",
    "NE": "PR",
}
"""RECIST 1.1 Table 4 rows with target CR and no PD/new lesion (no non-target disease: CR)."""

_NON_TARGET_ONLY: dict[NonTargetResponse, OverallResponse] = {
    "CR": "CR",
    "NON-CR/NON-PD": "NON-CR/NON-PD",
    "NE": "NE",
    "PD": "PD",
}
"""RECIST 1.1 Table 5 (non-target disease only) without new lesions."""


def overall_response(
    target: TargetResponse | None, non_target: NonTargetResponse | None, new_lesion: bool
) -> OverallResponse:
    """Overall time-point response (RECIST 1.1 s4.3.4, Table 4 with targets, Table 5 without).

    ``target`` is ``None`` when there was no target (measurable) disease at baseline, and
    ``non_target`` is ``None`` when there was no non-target disease.
    """
    if new_lesion or target == "PD" or non_target == "PD":
        return "PD"
    if target is None:
        if non_target is None:
            return "NE"
        return _NON_TARGET_ONLY[non_target]
    if target == "NE":
        return "NE"
    if target == "CR":
        return _TARGET_CR_WITH_NON_TARGET[non_target]
    return target
