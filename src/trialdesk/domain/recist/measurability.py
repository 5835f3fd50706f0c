"""Baseline measurability of lesions and the counting of measurable lesions.

RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247), section 3.1 "Measurability of tumour
at baseline":

* non-nodal lesion, CT/MRI: longest diameter (LD) >= 10 mm when the slice thickness is <= 5 mm;
  with thicker slices the minimum is twice the slice thickness;
* non-nodal lesion measured with calipers (clinical examination): LD >= 10 mm;
* non-nodal lesion on chest X-ray: LD >= 20 mm;
* lymph node: short axis (SA) >= 15 mm is pathological and measurable, 10 <= SA < 15 mm is
  pathological but non-measurable (non-target), SA < 10 mm is a normal node (not a lesion);
* a lesion without a measurement (e.g. effusion, leptomeningeal disease, blastic bone lesion) is
  non-measurable.

How nodes count as lesions is a protocol rule (:class:`LesionCounting`). Standard RECIST counts each
node as a lesion. Seed 000 (inclusion c) counts all positive *regional* nodes together as ONE lesion
and non-regional metastatic nodes as one lesion per nodal station; a grouped lesion is measurable
when any of its members is measurable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.plausibility import MAX_LESION_DIAMETER_MM
from trialdesk.domain.protocol.model import LesionCounting

Measurability = Literal["measurable", "non_measurable", "normal_node"]
Method = Literal["ct", "mri", "caliper", "xray"]

NON_NODAL_MIN_MM = 10.0
"""RECIST 1.1 s3.1.1: minimum longest diameter of a measurable non-nodal lesion (CT/MRI, calipers)."""
CHEST_XRAY_MIN_MM = 20.0
"""RECIST 1.1 s3.1.1: minimum longest diameter of a measurable lesion on chest X-ray."""
MAX_SLICE_FOR_10MM_RULE_MM = 5.0
"""RECIST 1.1 s3.1.1: above this CT/MRI slice thickness, the minimum size is twice the thickness."""
NODE_MEASURABLE_MIN_MM = 15.0
"""RECIST 1.1 s3.1.1: a lymph node is pathological and measurable with short axis >= 15 mm."""
NODE_PATHOLOGICAL_MIN_MM = 10.0
"""RECIST 1.1 s3.1.1: a node with short axis >= 10 mm (and < 15 mm) is pathological, non-measurable."""


class BaselineLesion(FrozenModel):
    """A lesion seen at baseline, as recorded for measurability (RECIST 1.1 s3.1).

    ``diameter_mm`` is the longest diameter for a non-nodal lesion and the short axis for a lymph
    node, in millimetres; ``None`` when the lesion cannot be measured. ``regional_node`` and
    ``station`` describe lymph nodes only (used by the protocol's :class:`LesionCounting` rule).
    """

    id: str = Field(min_length=1)
    site: str = Field(min_length=1, description="Organ / anatomical site, e.g. 'liver', 'lymph node'")
    nodal: bool
    regional_node: bool | None = None
    station: str | None = None
    diameter_mm: float | None = Field(ge=0, le=MAX_LESION_DIAMETER_MM, allow_inf_nan=False)
    method: Method = "ct"
    slice_thickness_mm: float | None = Field(default=None, gt=0, le=50, allow_inf_nan=False)


def minimum_measurable_mm(lesion: BaselineLesion) -> float:
    """The smallest measurable size of ``lesion`` in mm (RECIST 1.1 s3.1.1).

    Lymph nodes: 15 mm short axis. Non-nodal: 20 mm on chest X-ray; 10 mm with calipers; 10 mm on
    CT/MRI, or twice the slice thickness when slices are thicker than 5 mm.
    """
    if lesion.nodal:
        return NODE_MEASURABLE_MIN_MM
    if lesion.method == "xray":
        return CHEST_XRAY_MIN_MM
    slice_mm = lesion.slice_thickness_mm
    if lesion.method in ("ct", "mri") and slice_mm is not None and slice_mm > MAX_SLICE_FOR_10MM_RULE_MM:
        return max(NON_NODAL_MIN_MM, 2 * slice_mm)
    return NON_NODAL_MIN_MM


def classify_lesion(lesion: BaselineLesion) -> Measurability:
    """Classify a baseline lesion as measurable, non-measurable or a normal node (RECIST 1.1 s3.1).

    A lesion without a measurement is non-measurable, except a node, whose size decides whether it
    is a lesion at all: an unmeasured node is treated as pathological non-measurable (it was
    recorded as a lesion), never silently as normal.
    """
    size = lesion.diameter_mm
    if size is None:
        return "non_measurable"
    if lesion.nodal and size < NODE_PATHOLOGICAL_MIN_MM:
        return "normal_node"
    return "measurable" if size >= minimum_measurable_mm(lesion) else "non_measurable"


def counting_unit(lesion: BaselineLesion, counting: LesionCounting) -> str:
    """The key of the lesion unit ``lesion`` belongs to under the protocol's counting rule.

    Non-nodal lesions are always their own unit. Regional nodes (``regional_node is True``) form
    one unit together under ``regional_nodes: single_lesion``. Other nodes form one unit per
    ``station`` under ``non_regional_nodes: per_station`` (a node without a station stays its own
    unit). A node whose regional status is unknown is treated as non-regional.
    """
    if not lesion.nodal:
        return f"lesion:{lesion.id}"
    if lesion.regional_node is True:
        if counting.regional_nodes == "single_lesion":
            return "regional-nodes"
        return f"lesion:{lesion.id}"
    if counting.non_regional_nodes == "per_station" and lesion.station:
        return f"station:{lesion.station.strip().lower()}"
    return f"lesion:{lesion.id}"


def group_lesions(
    lesions: Sequence[BaselineLesion], counting: LesionCounting
) -> dict[str, list[BaselineLesion]]:
    """Group lesions into counting units (see :func:`counting_unit`); normal nodes are left out.

    Keys keep the order of first appearance.
    """
    groups: dict[str, list[BaselineLesion]] = {}
    for lesion in lesions:
        if classify_lesion(lesion) == "normal_node":
            continue
        groups.setdefault(counting_unit(lesion, counting), []).append(lesion)
    return groups


def count_measurable_lesions(lesions: Sequence[BaselineLesion], counting: LesionCounting) -> int:
    """Number of measurable lesion units under the protocol's counting rule (RECIST 1.1 s3.1).

    A grouped unit (all regional nodes, or all nodes of one station) counts once, and is measurable
    when any member is measurable (seed 000 inclusion c).
    """
    return sum(
        1
        for members in group_lesions(lesions, counting).values()
        if any(classify_lesion(member) == "measurable" for member in members)
    )
