"""Baseline tumour assessment: lesions with their role, and the RECIST 1.1 selection rules.

RECIST 1.1 (Eisenhauer 2009) s3.3: up to 5 measurable lesions in total and at most 2 per organ
are target lesions; every other lesion (including pathological nodes of 10 to < 15 mm and
non-measurable disease) is non-target. The EORTC RECIST FAQ "Paired organs" counts all lymph
nodes as one organ. Under a protocol lesion-counting rule (seed 000), a group of nodes is one
lesion: its members share one role, count once toward the limits, and the group is measurable
when any member is.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.protocol.model import LesionCounting
from trialdesk.domain.recist.errors import (
    DuplicateLesion,
    GroupedLesionSplit,
    InvalidResponseInput,
    NoBaselineDisease,
    NonMeasurableTarget,
    NormalNodeRecorded,
    TooManyTargetLesions,
    TooManyTargetsPerOrgan,
)
from trialdesk.domain.recist.measurability import (
    BaselineLesion,
    classify_lesion,
    counting_unit,
    minimum_measurable_mm,
)

LesionRole = Literal["target", "non_target"]
MAX_TARGET_LESIONS = 5
"""RECIST 1.1 s3.3: at most five target lesions in total."""
MAX_TARGETS_PER_ORGAN = 2
"""RECIST 1.1 s3.3: at most two target lesions per organ."""
LYMPH_NODE_ORGAN = "lymph nodes"
"""EORTC RECIST FAQ 'Paired organs': all lymph nodes together are one organ for target selection."""


class Lesion(BaselineLesion):
    """A baseline lesion with its role: target (measured, in the sum) or non-target (followed)."""

    role: LesionRole


class Baseline(FrozenModel):
    """The baseline assessment: its date and every lesion recorded (RECIST 1.1 s3.2-3.3)."""

    date: dt.date
    lesions: list[Lesion]

    @property
    def targets(self) -> list[Lesion]:
        """Target lesions, in input order."""
        return [lesion for lesion in self.lesions if lesion.role == "target"]

    @property
    def non_targets(self) -> list[Lesion]:
        """Non-target lesions, in input order."""
        return [lesion for lesion in self.lesions if lesion.role == "non_target"]

    def sum_of_diameters(self) -> Fraction:
        """Baseline sum of diameters: longest diameters of non-nodal plus short axes of nodal targets."""
        return sum((exact(t.diameter_mm or 0.0) for t in self.targets), Fraction(0))


def exact(value: float) -> Fraction:
    """A measurement as an exact decimal fraction, so that thresholds such as -30 % are exact."""
    return Fraction(repr(float(value)))


def organ_of(lesion: BaselineLesion) -> str:
    """The organ a lesion counts toward for the two-per-organ rule (all nodes: one organ)."""
    return LYMPH_NODE_ORGAN if lesion.nodal else lesion.site.strip().lower()


def check_baseline(baseline: Baseline, counting: LesionCounting) -> None:
    """Raise a :class:`RecistInputError` naming the field when the baseline breaks a rule.

    Rules: at least one lesion; unique ids; node-only fields on nodes only; no normal node (short
    axis < 10 mm) recorded as a lesion; every target measurable (RECIST 1.1 s3.1); members of a
    grouped lesion share one role; at most 5 target lesions and 2 per organ (RECIST 1.1 s3.3),
    counting a grouped lesion once.
    """
    if not baseline.lesions:
        raise NoBaselineDisease(
            "baseline.lesions", "no lesion recorded at baseline; response cannot be assessed"
        )
    _check_ids(baseline.lesions)
    for index, lesion in enumerate(baseline.lesions):
        _check_lesion(index, lesion)
    units = _target_units(baseline.lesions, counting)
    _check_target_measurable(baseline.lesions, units, counting)
    _check_target_limits(units)


def _check_ids(lesions: Sequence[Lesion]) -> None:
    seen: set[str] = set()
    for index, lesion in enumerate(lesions):
        if lesion.id in seen:
            raise DuplicateLesion(f"baseline.lesions[{index}].id", f"lesion id '{lesion.id}' is used twice")
        seen.add(lesion.id)


def _check_lesion(index: int, lesion: Lesion) -> None:
    field = f"baseline.lesions[{index}]"
    if not lesion.nodal and (lesion.regional_node is not None or lesion.station is not None):
        raise InvalidResponseInput(
            f"{field}.regional_node",
            f"lesion '{lesion.id}' is not a lymph node: regional_node/station apply to nodes",
        )
    if classify_lesion(lesion) == "normal_node":
        raise NormalNodeRecorded(
            f"{field}.diameter_mm",
            f"node '{lesion.id}' has short axis {lesion.diameter_mm} mm < 10 mm: "
            "a normal node is not a lesion (RECIST 1.1 s3.1)",
        )
    if lesion.role == "target" and lesion.diameter_mm is None:
        raise NonMeasurableTarget(
            f"{field}.diameter_mm",
            f"target lesion '{lesion.id}' needs a baseline measurement (RECIST 1.1 s3.3)",
        )


def _target_units(lesions: Sequence[Lesion], counting: LesionCounting) -> dict[str, list[Lesion]]:
    units: dict[str, list[Lesion]] = {}
    for lesion in lesions:
        units.setdefault(counting_unit(lesion, counting), []).append(lesion)
    for key, members in units.items():
        roles = {member.role for member in members}
        if len(roles) > 1:
            ids = ", ".join(member.id for member in members)
            raise GroupedLesionSplit(
                "baseline.lesions",
                f"lesions {ids} form one lesion under the protocol's counting rule ({key}) "
                "and must all be target or all non-target",
            )
    return {key: members for key, members in units.items() if members[0].role == "target"}


def _check_target_measurable(
    lesions: Sequence[Lesion], units: dict[str, list[Lesion]], counting: LesionCounting
) -> None:
    for members in units.values():
        if any(classify_lesion(member) == "measurable" for member in members):
            continue
        member = members[0]
        index = list(lesions).index(member)
        kind = "short axis" if member.nodal else "longest diameter"
        raise NonMeasurableTarget(
            f"baseline.lesions[{index}].role",
            f"target lesion '{member.id}' is not measurable: {kind} {member.diameter_mm} mm is below "
            f"{minimum_measurable_mm(member):g} mm (RECIST 1.1 s3.1); record it as non_target",
        )


def _check_target_limits(units: dict[str, list[Lesion]]) -> None:
    if len(units) > MAX_TARGET_LESIONS:
        raise TooManyTargetLesions(
            "baseline.lesions",
            f"{len(units)} target lesions; RECIST 1.1 allows at most {MAX_TARGET_LESIONS} (s3.3)",
        )
    per_organ = Counter(organ_of(members[0]) for members in units.values())
    for organ, count in per_organ.items():
        if count > MAX_TARGETS_PER_ORGAN:
            raise TooManyTargetsPerOrgan(
                "baseline.lesions",
                f"{count} target lesions in organ '{organ}'; RECIST 1.1 allows at most "
                f"{MAX_TARGETS_PER_ORGAN} per organ (s3.3)",
            )
