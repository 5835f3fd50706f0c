"""RECIST 1.1 s3.1 measurability at baseline and the protocol's lesion-counting rule (seed 000)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from trialdesk.domain.protocol.model import LesionCounting
from trialdesk.domain.recist import (
    BaselineLesion,
    classify_lesion,
    count_measurable_lesions,
    group_lesions,
    minimum_measurable_mm,
)

STANDARD = LesionCounting()
SEED_000 = LesionCounting(regional_nodes="single_lesion", non_regional_nodes="per_station", source="seed 000")


def lesion(diameter: float | None, **kwargs: Any) -> BaselineLesion:
    fields: dict[str, Any] = {"id": "L1", "site": "liver", "nodal": False, "diameter_mm": diameter}
    fields.update(kwargs)
    return BaselineLesion(**fields)


def node(diameter: float | None, **kwargs: Any) -> BaselineLesion:
    fields: dict[str, Any] = {"id": "N1", "site": "lymph node", "nodal": True, "diameter_mm": diameter}
    fields.update(kwargs)
    return BaselineLesion(**fields)


@pytest.mark.parametrize(
    ("diameter", "expected"),
    [(10.0, "measurable"), (9.9, "non_measurable"), (35.0, "measurable"), (None, "non_measurable")],
)
def test_non_nodal_ct_lesion_is_measurable_from_10_mm(diameter: float | None, expected: str) -> None:
    assert classify_lesion(lesion(diameter, slice_thickness_mm=5.0)) == expected


@pytest.mark.parametrize(("diameter", "expected"), [(15.9, "non_measurable"), (16.0, "measurable")])
def test_slice_thicker_than_5_mm_needs_twice_the_slice_thickness(diameter: float, expected: str) -> None:
    ct = lesion(diameter, method="ct", slice_thickness_mm=8.0)
    assert minimum_measurable_mm(ct) == 16.0
    assert classify_lesion(ct) == expected


def test_slice_of_exactly_5_mm_keeps_the_10_mm_minimum() -> None:
    assert minimum_measurable_mm(lesion(10.0, method="mri", slice_thickness_mm=5.0)) == 10.0


@pytest.mark.parametrize(("diameter", "expected"), [(19.9, "non_measurable"), (20.0, "measurable")])
def test_chest_xray_lesion_is_measurable_from_20_mm(diameter: float, expected: str) -> None:
    assert classify_lesion(lesion(diameter, site="lung", method="xray")) == expected


@pytest.mark.parametrize(("diameter", "expected"), [(9.9, "non_measurable"), (10.0, "measurable")])
def test_caliper_lesion_is_measurable_from_10_mm(diameter: float, expected: str) -> None:
    assert classify_lesion(lesion(diameter, site="skin", method="caliper")) == expected


@pytest.mark.parametrize(
    ("short_axis", "expected"),
    [
        (15.0, "measurable"),
        (14.9, "non_measurable"),
        (10.0, "non_measurable"),
        (9.9, "normal_node"),
        (0.0, "normal_node"),
    ],
)
def test_lymph_node_short_axis_classes(short_axis: float, expected: str) -> None:
    assert classify_lesion(node(short_axis)) == expected


def test_unmeasured_node_is_non_measurable_not_normal() -> None:
    assert classify_lesion(node(None)) == "non_measurable"


def test_negative_diameter_is_rejected() -> None:
    with pytest.raises(ValidationError, match="diameter_mm"):
        lesion(-1.0)


def test_standard_counting_counts_each_measurable_lesion_and_node() -> None:
    lesions = [
        lesion(22.0, id="liver-1"),
        lesion(8.0, id="liver-2"),
        node(18.0, id="n1", regional_node=True, station="paraoesophageal"),
        node(16.0, id="n2", regional_node=True, station="paraoesophageal"),
        node(12.0, id="n3", regional_node=False, station="supraclavicular-left"),
    ]
    assert count_measurable_lesions(lesions, STANDARD) == 3


def test_seed_000_all_regional_nodes_are_one_lesion() -> None:
    lesions = [
        node(18.0, id="n1", regional_node=True, station="paraoesophageal"),
        node(16.0, id="n2", regional_node=True, station="subcarinal"),
        node(21.0, id="n3", regional_node=True, station="left-gastric"),
    ]
    assert count_measurable_lesions(lesions, STANDARD) == 3
    assert count_measurable_lesions(lesions, SEED_000) == 1


def test_seed_000_non_regional_nodes_count_once_per_station() -> None:
    lesions = [
        node(18.0, id="n1", regional_node=False, station="supraclavicular-left"),
        node(17.0, id="n2", regional_node=False, station="supraclavicular-left"),
        node(19.0, id="n3", regional_node=False, station="para-aortic"),
    ]
    assert count_measurable_lesions(lesions, STANDARD) == 3
    assert count_measurable_lesions(lesions, SEED_000) == 2


def test_grouped_lesion_is_measurable_when_any_member_is_measurable() -> None:
    regional = [
        node(12.0, id="n1", regional_node=True),
        node(15.0, id="n2", regional_node=True),
    ]
    assert count_measurable_lesions(regional, SEED_000) == 1
    only_small = [node(12.0, id="n1", regional_node=True), node(11.0, id="n2", regional_node=True)]
    assert count_measurable_lesions(only_small, SEED_000) == 0


def test_normal_nodes_are_not_lesions_and_do_not_form_a_group() -> None:
    lesions = [node(8.0, id="n1", regional_node=True), node(9.0, id="n2", regional_node=True)]
    assert group_lesions(lesions, SEED_000) == {}
    assert count_measurable_lesions(lesions, SEED_000) == 0


def test_seed_000_counts_mixed_disease() -> None:
    lesions = [
        lesion(30.0, id="primary", site="oesophagus"),
        lesion(12.0, id="liver-1"),
        lesion(9.0, id="liver-2"),
        node(16.0, id="r1", regional_node=True, station="paraoesophageal"),
        node(13.0, id="r2", regional_node=True, station="subcarinal"),
        node(15.0, id="m1", regional_node=False, station="supraclavicular-left"),
        node(17.0, id="m2", regional_node=False, station="supraclavicular-left"),
        node(14.0, id="m3", regional_node=False, station="para-aortic"),
    ]
    # primary + liver-1 + regional group + supraclavicular station (para-aortic: 14 mm, non-measurable)
    assert count_measurable_lesions(lesions, SEED_000) == 4
    # standard: primary, liver-1, r1, m1, m2
    assert count_measurable_lesions(lesions, STANDARD) == 5


def test_node_without_station_stays_its_own_lesion_under_per_station() -> None:
    lesions = [node(16.0, id="m1", regional_node=False), node(17.0, id="m2", regional_node=False)]
    assert count_measurable_lesions(lesions, SEED_000) == 2


def test_node_of_unknown_regional_status_counts_as_non_regional() -> None:
    lesions = [node(16.0, id="r1", regional_node=True), node(17.0, id="x1", regional_node=None)]
    assert count_measurable_lesions(lesions, SEED_000) == 2
