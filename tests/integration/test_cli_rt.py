"""`trialdesk rt dose`: BED and EQD2 of one course or mixed fractionations (issue 13's worked
examples: 5 x 5 Gy gives BED10 37.5 Gy and EQD2(10) 31.25 Gy; 30 x 2 Gy gives BED10 72 Gy)."""

from __future__ import annotations

import json

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
        (["--fractions", "5", "--dose-per-fraction", "5", "--alpha-beta", "-1"], "alpha_beta"),
        ([], "--course"),
    ):
        result = runner.invoke(app, ["rt", "dose", *args])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output, (args, result.output)
