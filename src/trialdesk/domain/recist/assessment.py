"""Follow-up assessments as recorded: target measurements, non-target status, new lesions.

RECIST 1.1 (Eisenhauer 2009) s4.3-4.4; iRECIST (Seymour 2017) for the optional new-lesion
measurements and the ``increased`` non-target status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.plausibility import MAX_LESION_DIAMETER_MM, ImplausibleValue, check_lesion_size
from trialdesk.domain.recist.baseline import Baseline
from trialdesk.domain.recist.errors import (
    AssessmentBeforeBaseline,
    AssessmentsOutOfOrder,
    DuplicateLesion,
    InvalidResponseInput,
    UnknownLesion,
)

TOO_SMALL = "too_small"
Measurement = float | Literal["too_small"] | None
"""A target lesion's size in mm (0 when it has disappeared), ``too_small`` (present but too small
to measure: RECIST 1.1 default 5 mm) or ``None`` (not assessed)."""

NonTargetStatus = Literal["absent", "present", "unequivocal_progression", "increased"]
"""``absent`` (gone; a node back to < 10 mm), ``present``, ``unequivocal_progression`` (RECIST 1.1
s4.3.2) or ``increased``: a further increase since the previous assessment (iRECIST: confirms a
non-target iUPD; otherwise treated as unequivocal progression)."""


class NewLesion(FrozenModel):
    """A lesion not seen at baseline (RECIST 1.1 s4.3.3).

    ``equivocal`` lesions do not count until a later assessment lists the same id unequivocally;
    progression is then dated to the first scan. ``diameter_mm`` (longest diameter, or short axis
    for ``nodal``) makes a measurable new lesion a new target lesion (NLT) under iRECIST;
    ``increased`` marks growth of a new non-target lesion (NLNT) since the previous assessment.
    """

    id: str = Field(min_length=1)
    site: str = Field(min_length=1)
    equivocal: bool = False
    nodal: bool = False
    diameter_mm: float | None = Field(default=None, ge=0, le=MAX_LESION_DIAMETER_MM, allow_inf_nan=False)
    increased: bool = False


class Assessment(FrozenModel):
    """One follow-up time point: every entry keyed by baseline lesion id."""

    date: dt.date
    measurements: dict[str, Measurement] = Field(default_factory=dict)
    non_target: dict[str, NonTargetStatus | None] = Field(default_factory=dict)
    new_lesions: list[NewLesion] = Field(default_factory=list)


def check_assessments(baseline: Baseline, assessments: Sequence[Assessment]) -> None:
    """Raise a :class:`RecistInputError` naming the field when an assessment breaks a rule.

    Rules: dated after baseline and in increasing date order; measurements only for baseline
    target lesions, statuses only for baseline non-target lesions, no negative size; new lesion
    ids unique within an assessment and distinct from baseline ids.
    """
    targets = {lesion.id for lesion in baseline.targets}
    non_targets = {lesion.id for lesion in baseline.non_targets}
    previous: dt.date | None = None
    for index, assessment in enumerate(assessments):
        field = f"assessments[{index}]"
        if assessment.date <= baseline.date:
            raise AssessmentBeforeBaseline(
                f"{field}.date", f"{assessment.date} is not after the baseline date {baseline.date}"
            )
        if previous is not None and assessment.date <= previous:
            raise AssessmentsOutOfOrder(
                f"{field}.date", f"{assessment.date} is not after the previous assessment ({previous})"
            )
        previous = assessment.date
        _check_keys(f"{field}.measurements", assessment.measurements, targets, non_targets, "target")
        _check_keys(f"{field}.non_target", assessment.non_target, non_targets, targets, "non-target")
        _check_sizes(field, assessment)
        _check_new_lesions(field, assessment, targets | non_targets)


def _check_keys(
    field: str, entries: Mapping[str, object], allowed: set[str], other: set[str], role: str
) -> None:
    for lesion_id in entries:
        if lesion_id in allowed:
            continue
        why = "is a baseline lesion of the other role" if lesion_id in other else "is not a baseline lesion"
        raise UnknownLesion(
            f"{field}.{lesion_id}", f"lesion id '{lesion_id}' {why}; expected a {role} lesion id"
        )


def _check_sizes(field: str, assessment: Assessment) -> None:
    for lesion_id, value in assessment.measurements.items():
        if isinstance(value, float | int):
            try:
                check_lesion_size(f"{field}.measurements.{lesion_id}", value)
            except ImplausibleValue as exc:
                raise InvalidResponseInput(exc.field, exc.reason) from None


def _check_new_lesions(field: str, assessment: Assessment, baseline_ids: set[str]) -> None:
    seen: set[str] = set()
    for index, lesion in enumerate(assessment.new_lesions):
        where = f"{field}.new_lesions[{index}].id"
        if lesion.id in baseline_ids:
            raise DuplicateLesion(where, f"new lesion id '{lesion.id}' is already a baseline lesion id")
        if lesion.id in seen:
            raise DuplicateLesion(where, f"new lesion id '{lesion.id}' is listed twice")
        seen.add(lesion.id)
