"""`trialdesk analyze survival`: numbers equal R survival on lung; tables; clean errors on bad files.

lung.csv codes death as ``status == 2``; the command takes 1/0 or true/false only, so each test writes
a temporary CSV with the recoded event column.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from trialdesk.entrypoints.cli.main import app

runner = CliRunner()
RTOL = 1e-6


@pytest.fixture(scope="module")
def lung_ref(reference_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((reference_dir / "survival" / "lung.json").read_text())
    return data


@pytest.fixture
def lung_csv(reference_dir: Path, tmp_path: Path) -> Path:
    frame = pd.read_csv(reference_dir / "survival" / "lung.csv")
    frame["dead"] = (frame["status"] == 2).astype(int)
    path = tmp_path / "lung.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def lung_complete_ecog_csv(reference_dir: Path, tmp_path: Path) -> Path:
    """lung without the row whose ph.ecog is missing (R drops it in fits that use ph.ecog)."""
    frame = pd.read_csv(reference_dir / "survival" / "lung.csv").dropna(subset=["ph.ecog"])
    frame["dead"] = (frame["status"] == 2).astype(int)
    frame["ph.ecog"] = frame["ph.ecog"].astype(int)
    path = tmp_path / "lung_ecog.csv"
    frame.to_csv(path, index=False)
    return path


def _run_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["analyze", "survival", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _close(actual: float | None, expected: float | None) -> bool:
    if expected is None:
        return actual is None
    return actual is not None and math.isclose(actual, expected, rel_tol=RTOL)


def _assert_groups_match(groups: list[dict[str, Any]], quantiles: list[dict[str, Any]]) -> None:
    assert [g["group"] for g in groups] == [q["group"] for q in quantiles]
    for g, q in zip(groups, quantiles, strict=True):
        assert (g["n"], g["events"]) == (q["n"], q["events"])
        assert _close(g["median"], q["median"])
        assert _close(g["median_ci"][0], q["median_lcl"]) and _close(g["median_ci"][1], q["median_ucl"])


def _assert_cox_matches(cox: dict[str, Any], ref: dict[str, Any]) -> None:
    assert _close(cox["coef"], ref["coef"][0]) and _close(cox["se"], ref["se"][0])
    assert _close(cox["hr"], ref["hr"][0]) and _close(cox["p"], ref["p"][0])
    assert _close(cox["hr_ci"][0], ref["hr_lower95"][0]) and _close(cox["hr_ci"][1], ref["hr_upper95"][0])


def test_json_by_sex_matches_r_survfit_survdiff_coxph(lung_csv: Path, lung_ref: dict[str, Any]) -> None:
    out = _run_json(str(lung_csv), "--time", "time", "--event", "dead", "--group", "sex")
    assert set(out) == {"groups", "logrank", "cox"}
    assert set(out["groups"][0]) == {"group", "n", "events", "median", "median_ci"}
    _assert_groups_match(out["groups"], lung_ref["km"]["by_sex"]["quantiles_log"])
    lr = lung_ref["logrank"]["sex"]
    assert out["logrank"]["df"] == lr["df"]
    assert _close(out["logrank"]["chisq"], lr["chisq"]) and _close(out["logrank"]["p"], lr["p"])
    _assert_cox_matches(out["cox"], lung_ref["cox"]["sex_efron"])
    assert (out["cox"]["reference"], out["cox"]["comparison"]) == ("1", "2")


@pytest.mark.parametrize(("ties", "key"), [("breslow", "sex_breslow"), ("exact", "sex_exact")])
def test_ties_option_matches_r_coxph(lung_csv: Path, lung_ref: dict[str, Any], ties: str, key: str) -> None:
    out = _run_json(str(lung_csv), "--time", "time", "--event", "dead", "--group", "sex", "--ties", ties)
    _assert_cox_matches(out["cox"], lung_ref["cox"][key])


@pytest.mark.parametrize(
    ("conf_type", "key"), [("log-log", "quantiles_loglog"), ("plain", "quantiles_plain")]
)
def test_conf_type_option_matches_r_survfit(
    lung_csv: Path, lung_ref: dict[str, Any], conf_type: str, key: str
) -> None:
    out = _run_json(
        str(lung_csv), "--time", "time", "--event", "dead", "--group", "sex", "--conf-type", conf_type
    )
    _assert_groups_match(out["groups"], lung_ref["km"]["by_sex"][key])


def test_strata_option_matches_r_stratified_tests(
    lung_complete_ecog_csv: Path, lung_ref: dict[str, Any]
) -> None:
    out = _run_json(
        str(lung_complete_ecog_csv),
        "--time",
        "time",
        "--event",
        "dead",
        "--group",
        "sex",
        "--strata",
        "ph.ecog",
    )
    lr = lung_ref["logrank"]["sex_strat_ph_ecog"]
    assert _close(out["logrank"]["chisq"], lr["chisq"]) and _close(out["logrank"]["p"], lr["p"])
    _assert_cox_matches(out["cox"], lung_ref["cox"]["sex_strat_ecog_efron"])


def test_more_than_two_groups_gives_k_minus_1_df_and_no_hazard_ratio(
    lung_complete_ecog_csv: Path, lung_ref: dict[str, Any]
) -> None:
    args = ["--time", "time", "--event", "dead", "--group", "ph.ecog", "--json"]
    result = runner.invoke(app, ["analyze", "survival", str(lung_complete_ecog_csv), *args])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    lr = lung_ref["logrank"]["ph_ecog_3df"]
    assert out["logrank"]["df"] == 3 and _close(out["logrank"]["chisq"], lr["chisq"])
    assert out["cox"] is None
    assert "4 groups" in result.stderr and "no single hazard ratio" in result.stderr
    assert [g["group"] for g in out["groups"]] == ["0", "1", "2", "3"]


def test_without_group_reports_one_curve_and_no_tests(lung_csv: Path, lung_ref: dict[str, Any]) -> None:
    out = _run_json(str(lung_csv), "--time", "time", "--event", "dead")
    assert out["logrank"] is None and out["cox"] is None
    _assert_groups_match(out["groups"], lung_ref["km"]["overall"]["quantiles_log"])


def test_tables_show_groups_tests_and_reference_level(lung_csv: Path) -> None:
    result = runner.invoke(
        app,
        ["analyze", "survival", str(lung_csv), "--time", "time", "--event", "dead", "--group", "sex"],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    for text in ("Kaplan-Meier median", "270", "212 - 310", "Log-rank test", "10.33", "0.001311"):
        assert text in result.stdout
    assert "2 vs 1 (reference)" in result.stdout and "0.588" in result.stdout


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_true_false_events_and_not_reached_median(tmp_path: Path) -> None:
    path = _write(tmp_path, "t,e,arm\n1,TRUE,a\n2,false,a\n3,False,a\n4,true,b\n5,true,b\n6,true,b\n")
    result = runner.invoke(
        app, ["analyze", "survival", str(path), "--time", "t", "--event", "e", "--group", "arm", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    a, b = out["groups"]
    assert a["median"] is None and a["median_ci"] == [1.0, None]
    assert b == {"group": "b", "n": 3, "events": 3, "median": 5.0, "median_ci": [4.0, None]}
    # only the death at t=1 compares the arms: the Cox likelihood is monotone, R warns "may be infinite"
    assert out["cox"] is None and "likelihood is monotone" in result.stderr


def test_text_group_labels_sort_alphabetically_and_first_is_reference(
    reference_dir: Path, tmp_path: Path, lung_ref: dict[str, Any]
) -> None:
    frame = pd.read_csv(reference_dir / "survival" / "lung.csv")
    frame["dead"] = (frame["status"] == 2).map({True: "true", False: "false"})
    frame["arm"] = frame["sex"].map({1: "male", 2: "female"})
    path = tmp_path / "lung_text.csv"
    frame.to_csv(path, index=False)
    out = _run_json(str(path), "--time", "time", "--event", "dead", "--group", "arm")
    assert (out["cox"]["reference"], out["cox"]["comparison"]) == ("female", "male")
    ref = lung_ref["cox"]["sex_efron"]
    assert _close(out["cox"]["coef"], -ref["coef"][0]) and _close(out["cox"]["se"], ref["se"][0])
    assert _close(out["cox"]["hr"], 1 / ref["hr"][0])


def test_group_without_events_reports_no_hazard_ratio(tmp_path: Path) -> None:
    path = _write(tmp_path, "t,e,arm\n1,0,a\n2,0,a\n3,1,b\n4,1,b\n")
    result = runner.invoke(
        app, ["analyze", "survival", str(path), "--time", "t", "--event", "e", "--group", "arm"]
    )
    assert result.exit_code == 0, result.output
    assert "no events in group a: the hazard ratio is not estimable" in result.stdout


def test_file_without_events_reports_curves_but_no_tests(tmp_path: Path) -> None:
    path = _write(tmp_path, "t,e,arm\n1,0,a\n2,0,b\n3,0,a\n")
    result = runner.invoke(
        app, ["analyze", "survival", str(path), "--time", "t", "--event", "e", "--group", "arm", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["logrank"] is None and out["cox"] is None
    assert [(g["n"], g["events"], g["median"]) for g in out["groups"]] == [(2, 0, None), (1, 0, None)]
    assert "no events in the file" in result.stderr


def test_single_group_level_gives_no_tests(tmp_path: Path) -> None:
    # S falls to 0.5 at t=1 and the curve ends there (last follow-up 2): R's median is (1 + 2) / 2
    path = _write(tmp_path, "t,e,arm\n1,1,a\n2,0,a\n")
    result = runner.invoke(
        app, ["analyze", "survival", str(path), "--time", "t", "--event", "e", "--group", "arm", "--json"]
    )
    out = json.loads(result.stdout)
    assert out["groups"][0]["median"] == 1.5 and out["logrank"] is None
    assert "only one group (a)" in result.stderr


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("t,e\n1,1\n", ["--time", "days"], "--time: column 'days' not found"),
        ("t,e\n1,1\n", ["--group", "arm"], "--group: column 'arm' not found"),
        ("t,e\n1,1\n2,2\n", [], "--event column 'e': row 2 value '2' is not 1/0 or true/false"),
        ("t,e\n1,1\n2,yes\n", [], "--event column 'e': row 2 value 'yes' is not 1/0 or true/false"),
        ("t,e\n1,1\nabc,0\n", [], "--time column 't': row 2 value 'abc' is not a number"),
        ("t,e\n1,1\n-3,0\n", [], "--time column 't': row 2 value '-3' is negative"),
        ("t,e\n1,1\n,0\n", [], "--time column 't': row 2 is empty"),
        ("t,e\n1,1\nnan,0\n", [], "--time column 't': row 2 value 'nan' is not a finite number"),
        ("", [], "the file is empty"),
        ("t,e\n", [], "no data rows after the header"),
        ("t,e\n1,1,9\n", [], "row 1 has 3 fields but the header has 2"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, content: str, args: list[str], message: str) -> None:
    path = _write(tmp_path, content)
    base = {"--time": "t", "--event": "e"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = ["analyze", "survival", str(path)] + [x for pair in base.items() for x in pair]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["analyze", "survival", str(tmp_path / "nope.csv"), "--time", "t", "--event", "e"]
    )
    assert result.exit_code == 2
    assert "file not found" in result.stderr
