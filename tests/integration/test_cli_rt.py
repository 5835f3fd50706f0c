"""`trialdesk rt dose`: BED and EQD2 of one course or mixed fractionations (issue 13's worked
examples: 5 x 5 Gy gives BED10 37.5 Gy and EQD2(10) 31.25 Gy; 30 x 2 Gy gives BED10 72 Gy), and the
BED/EQD2 corrected for repopulation over the overall time (Fowler, Br J Radiol 1989;62:679-694:
BED - ln 2 (T - Tk) / (alpha Tpot) beyond Tk; defaults alpha 0.3 Gy^-1, Tk 21 d, Tpot 3 d)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from trialdesk.entrypoints.cli.main import app

runner = CliRunner()


def _json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["rt", "dose", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_rt_dose_worked_examples() -> None:
    five_by_five = _json("--fractions", "5", "--dose-per-fraction", "5")
    assert (five_by_five["total_dose_gy"], five_by_five["bed_gy"], five_by_five["eqd2_gy"]) == (
        25.0,
        37.5,
        31.25,
    )
    thirty_by_two = _json("--fractions", "30", "--dose-per-fraction", "2")
    assert thirty_by_two["bed_gy"] == 72.0 and thirty_by_two["eqd2_gy"] == 60.0
    late = _json("--fractions", "5", "--dose-per-fraction", "5", "--alpha-beta", "3")
    assert late["eqd2_gy"] == 40.0


def test_rt_dose_sums_mixed_courses_and_prints_a_table() -> None:
    summed = _json("--course", "4:1", "--course", "25:2")
    assert summed["total_dose_gy"] == 54.0 and summed["bed_gy"] == 64.4
    table = runner.invoke(app, ["rt", "dose", "--course", "4:1", "--course", "25:2"])
    assert table.exit_code == 0 and "BED10" in table.output and "64.40" in table.output


def test_rt_dose_bad_input_is_a_clean_error() -> None:
    for args, words in (
        (["--fractions", "0", "--dose-per-fraction", "2"], "fractions"),
        (["--fractions", "5"], "--dose-per-fraction"),
        (["--course", "five:2"], "N:D"),
        (["--course", "5:40"], "dose_per_fraction_gy"),
        (["--fractions", "5", "--dose-per-fraction", "5", "--alpha-beta", "-1"], "--alpha-beta"),
        ([], "--course"),
    ):
        result = runner.invoke(app, ["rt", "dose", *args])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output, (args, result.output)


def test_rt_dose_time_corrected_worked_example() -> None:
    """70 Gy / 35 x 2 Gy over T = 46 days: BED10 84 - 0.693147 x 25 / 0.9 = 64.746 Gy, EQD2 53.955 Gy;
    with Tk 28 days (Withers 1988): 84 - 0.693147 x 18 / 0.9 = 70.137 Gy."""
    corrected = _json("--fractions", "35", "--dose-per-fraction", "2", "--overall-time-days", "46")
    assert corrected["bed_gy"] == 84.0 and corrected["eqd2_gy"] == 70.0  # uncorrected, unchanged
    assert corrected["bed_time_corrected_gy"] == pytest.approx(64.746, abs=1e-3)
    assert corrected["eqd2_time_corrected_gy"] == pytest.approx(53.955, abs=1e-3)
    assert corrected["time_correction"] == {
        "overall_time_days": 46.0,
        "alpha_per_gy": 0.3,
        "tk_days": 21.0,
        "tpot_days": 3.0,
        "repopulation_bed_gy": pytest.approx(19.254, abs=1e-3),
    }
    later = _json("--fractions", "35", "--dose-per-fraction", "2", "--overall-time-days", "46", "--tk", "28")
    assert later["bed_time_corrected_gy"] == pytest.approx(70.137, abs=1e-3)
    short = _json("--fractions", "5", "--dose-per-fraction", "5", "--overall-time-days", "4")
    assert short["bed_time_corrected_gy"] == 37.5  # ends before the kick-off: no correction
    plain = _json("--fractions", "35", "--dose-per-fraction", "2")
    assert "bed_time_corrected_gy" not in plain and "time_correction" not in plain


def test_rt_dose_time_corrected_table_fills_the_sum_row() -> None:
    """Seed 002's LDRT 4 x 1 Gy + CFRT 25 x 2 Gy over 32 days: 64.4 - 11 x 0.770164 = 55.93 Gy."""
    table = runner.invoke(
        app, ["rt", "dose", "--course", "4:1", "--course", "25:2", "--overall-time-days", "32"]
    )
    assert table.exit_code == 0, table.output
    assert "BED(T)" in table.output and "55.93" in table.output and "T = 32 days" in table.output


def test_rt_dose_time_correction_errors_name_the_option() -> None:
    base = ["--fractions", "35", "--dose-per-fraction", "2"]
    for args, words in (
        (["--overall-time-days", "46", "--alpha-beta", "3"], "--alpha-beta"),
        (["--overall-time-days", "-1"], "--overall-time-days"),
        (["--overall-time-days", "400"], "--overall-time-days"),
        (["--overall-time-days", "46", "--alpha", "0"], "--alpha (alpha)"),
        (["--overall-time-days", "46", "--alpha", "5"], "--alpha (alpha)"),
        (["--overall-time-days", "46", "--tk", "-3"], "--tk (tk)"),
        (["--overall-time-days", "46", "--tpot", "0"], "--tpot (tpot)"),
        (["--tpot", "5"], "--overall-time-days"),
    ):
        result = runner.invoke(app, ["rt", "dose", *base, *args])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output, (args, result.output)
    late = runner.invoke(app, ["rt", "dose", *base, "--overall-time-days", "46", "--alpha-beta", "3"])
    assert "late effects" in late.output
