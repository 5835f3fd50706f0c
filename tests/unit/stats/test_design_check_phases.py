"""`stats.design_check.compare_with_phases`: the computed size against the phase it sizes (issue 10)."""

from __future__ import annotations

import pytest

from trialdesk.protocols import load_registry
from trialdesk.stats.design_check import compare_with_phases
from trialdesk.stats.errors import DesignInputError


def test_scr_escc_01_randomized_phase_iib_135_140_with_the_iia_run_in_20_25_apart() -> None:
    """Seed 002: "Phase IIa (Safety Run-in / Pilot Phase): An initial cohort of approximately 20-25
    patients"; phase IIb is the randomized phase (135-140 of the registry's 160)."""
    protocol = load_registry().get("scr-escc-01")
    result = compare_with_phases(protocol, "schoenfeld", 170)
    assert (result.sized_phase.phase, result.sized_phase.min, result.sized_phase.max) == ("iib", 135, 140)
    assert result.difference == 30 and not result.matches
    assert result.run_in is not None and (result.run_in.min, result.run_in.max) == (20, 25)
    assert (result.total_min, result.total_max, result.target_enrolment) == (190, 195, 160)


@pytest.mark.parametrize(("n", "difference"), [(134, -1), (135, 0), (138, 0), (140, 0), (141, 1)])
def test_difference_is_zero_inside_the_range_and_the_distance_outside(n: int, difference: int) -> None:
    protocol = load_registry().get("scr-escc-01")
    result = compare_with_phases(protocol, "freedman", n)
    assert result.difference == difference and result.matches is (difference == 0)


def test_ivo_shfrt_2l_single_arm_37_without_run_in() -> None:
    """Seed 000: "The study plans to enroll 37 patients ... without grouping"."""
    result = compare_with_phases(load_registry().get("ivo-shfrt-2l"), "exponential_single_arm", 38)
    assert (result.sized_phase.phase, result.sized_phase.min, result.sized_phase.max) == ("main", 37, 37)
    assert result.run_in is None and result.difference == 1
    assert (result.total_min, result.total_max, result.target_enrolment) == (38, 38, 37)


def test_a_two_arm_method_on_a_protocol_without_a_randomized_phase_is_an_error_naming_the_field() -> None:
    with pytest.raises(DesignInputError) as info:
        compare_with_phases(load_registry().get("ivo-shfrt-2l"), "schoenfeld", 100)
    assert info.value.parameter == "design.phases" and "exactly one randomized phase" in info.value.reason
