"""`adapters.report.design_notes`: the one-sample log-rank type I error table for the seed-000 report."""

from __future__ import annotations

from trialdesk.adapters.report.design_notes import (
    ONE_SAMPLE_COLUMNS,
    one_sample_test_note,
    one_sample_test_rows,
)
from trialdesk.protocols import load_registry
from trialdesk.stats.simulation.calibration import design_from_protocol, one_sample_type_one_error


def test_ivo_shfrt_2l_table_has_the_standard_and_calibrated_tests_side_by_side() -> None:
    """Seed 000 (37 patients, PFS primary): the report states the standard test's simulated type I
    error (about 0.07 at nominal 0.025 with 6-weekly scans, docs/simulation.md) and the calibrated one."""
    protocol = load_registry().get("ivo-shfrt-2l")
    table = one_sample_test_note(protocol, n_sims=5000, seed=3)
    assert table is not None
    assert table.columns == ONE_SAMPLE_COLUMNS
    result = one_sample_type_one_error(design_from_protocol(protocol), n_sims=5000, seed=3)
    assert table.rows == one_sample_test_rows(result)
    standard, calibrated = table.rows
    assert standard[1] == "Z >= 1.960" and standard[2] == "0.025"
    assert (
        standard[3]
        == f"{result.standard.type_one_error.value:.4f} ({result.standard.type_one_error.mc_se:.4f})"
    )
    assert calibrated[1].startswith(f"Z > {result.calibrated.critical_value:.3f} (MC SE ")
    assert result.standard.type_one_error.value > 0.05
    assert table.footnote is not None and "5,000 simulated trials" in table.footnote
    assert "every 6 weeks" in table.footnote and "median 3.4" in table.footnote


def test_two_arm_protocol_has_no_one_sample_note() -> None:
    assert one_sample_test_note(load_registry().get("scr-escc-01")) is None
