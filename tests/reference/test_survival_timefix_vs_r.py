"""timefix (R's ``aeqSurv``) and Harrell's concordance with ties, against R survival 3.5-3.

``tests/reference/data/survival_timefix.json`` was written by ``survival_timefix.R`` (same folder)
with R 4.2.2 and the Debian ``r-cran-survival`` 3.5-3 package. Its 90 subjects have integer-day
times, some shifted by 1e-9 (merged by R's absolute tolerance), by 1e-7 (merged by the relative
one), by 1e-5 (kept apart) or recomputed as ``(t * 0.1) * 10`` (one ulp off); R's survfit, survdiff,
coxph and concordance ran with ``timefix = TRUE`` and ``FALSE``. A second data set (3,000 subjects,
60 distinct times, 12 distinct risk scores, 3 strata) checks the concordance counts under heavy ties.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trialdesk.stats.concordance import concordance_counts, concordance_index
from trialdesk.stats.cox import cox_ph
from trialdesk.stats.kaplan_meier import kaplan_meier, kaplan_meier_by_group
from trialdesk.stats.logrank import logrank_test
from trialdesk.stats.survival_data import TIMEFIX_TOLERANCE, merge_near_ties, near_tie_groups

RTOL = 1e-6
REFERENCE = Path(__file__).parent / "data" / "survival_timefix.json"
TIMEFIX = {"timefix_true": True, "timefix_false": False}
Arrays = dict[str, np.ndarray]


@pytest.fixture(scope="module")
def ref() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REFERENCE.read_text())
    return data


@pytest.fixture(scope="module")
def data(ref: dict[str, Any]) -> dict[str, np.ndarray]:
    return {name: np.asarray(values, dtype=np.float64) for name, values in ref["data"].items()}


def _close(ours: Any, theirs: Any) -> None:
    np.testing.assert_allclose(np.ravel(ours), np.asarray(theirs, dtype=np.float64), rtol=RTOL, atol=1e-12)


def test_reference_data_has_near_ties_that_timefix_merges(ref: dict[str, Any], data: Arrays) -> None:
    # the data set really exercises the rule: R's curve has fewer distinct times with timefix
    with_fix = ref["results"]["timefix_true"]["km"]["time"]
    without = ref["results"]["timefix_false"]["km"]["time"]
    assert len(with_fix) < len(without) == np.unique(data["time"]).size
    assert {"abs_1e-9", "rel_1e-7", "far_1e-5", "fp_rounding"} <= set(ref["kind"])


@pytest.mark.parametrize("key", TIMEFIX)
def test_km_matches_r_survfit_with_and_without_timefix(ref: dict[str, Any], data: Arrays, key: str) -> None:
    expected = ref["results"][key]["km"]
    km = kaplan_meier(data["time"], data["status"], timefix=TIMEFIX[key])
    for field in ("time", "n_risk", "n_event", "n_censor", "surv", "std_err"):
        _close(getattr(km, field), expected[field])


@pytest.mark.parametrize("key", TIMEFIX)
def test_km_by_group_merges_over_all_groups_as_r(ref: dict[str, Any], data: Arrays, key: str) -> None:
    curves = kaplan_meier_by_group(data["time"], data["status"], data["group"], timefix=TIMEFIX[key])
    for level, km in curves.items():
        expected = ref["results"][key]["km_by_group"][str(int(level))]  # type: ignore[call-overload]
        for field in ("time", "n_risk", "n_event", "surv", "std_err"):
            _close(getattr(km, field), expected[field])


@pytest.mark.parametrize("key", TIMEFIX)
@pytest.mark.parametrize("stratified", [False, True])
def test_logrank_matches_r_survdiff_with_and_without_timefix(
    ref: dict[str, Any], data: Arrays, key: str, stratified: bool
) -> None:
    expected = ref["results"][key]["logrank_strata" if stratified else "logrank"]
    strata = data["stratum"] if stratified else None
    result = logrank_test(data["time"], data["status"], data["group"], strata=strata, timefix=TIMEFIX[key])
    # stratified survdiff reports O and E per stratum (groups x strata, column-major): sum over strata
    _close(result.observed, np.reshape(expected["observed"], (-1, 2)).sum(axis=0))
    _close(result.expected, np.reshape(expected["expected"], (-1, 2)).sum(axis=0))
    _close(result.variance, expected["variance"])
    _close(result.chisq, expected["chisq"])


@pytest.mark.parametrize("key", TIMEFIX)
@pytest.mark.parametrize("model", ["efron", "breslow", "efron_strata", "breslow_strata"])
def test_cox_matches_r_coxph_with_and_without_timefix(
    ref: dict[str, Any], data: Arrays, key: str, model: str
) -> None:
    expected = ref["results"][key]["cox"][model]
    ties, _, strata = model.partition("_")
    fit = cox_ph(
        np.column_stack([data["group"], data["x2"]]),
        data["time"],
        data["status"],
        ties=ties,  # type: ignore[arg-type]
        strata=data["stratum"] if strata else None,
        timefix=TIMEFIX[key],
    )
    _close(fit.coef, expected["coef"])
    _close(fit.se, expected["se"])
    _close([fit.loglik_null, fit.loglik], expected["loglik"])
    _close(fit.concordance, expected["concordance"])
    _close(fit.score.statistic, expected["score"])
    assert fit.iterations == int(expected["iter"][0])


@pytest.mark.parametrize("key", TIMEFIX)
@pytest.mark.parametrize("stratified", [False, True])
def test_concordance_matches_r_concordance_on_near_ties(
    ref: dict[str, Any], data: Arrays, key: str, stratified: bool
) -> None:
    # R's concordancefit(timefix = tf), the function coxph calls (concordance() always merges)
    expected = ref["results"][key]["concordance_strata" if stratified else "concordance"]
    strata = data["stratum"] if stratified else None
    c = concordance_index(data["time"], data["status"], data["risk"], strata=strata, timefix=TIMEFIX[key])
    _close(c, expected["concordance"])
    if not stratified:
        time = merge_near_ties(data["time"]) if TIMEFIX[key] else data["time"]
        counts = concordance_counts(time, data["status"] == 1, data["risk"])
        assert counts.tolist() == [expected[name][0] for name in ("concordant", "discordant", "tied_risk")]


@pytest.mark.parametrize("part", ["plain", "strata"])
def test_concordance_counts_match_r_under_heavy_ties(ref: dict[str, Any], part: str) -> None:
    columns = ref["concordance_ties"]["data"].items()
    big = {name: np.asarray(values, dtype=np.float64) for name, values in columns}
    expected = ref["concordance_ties"][part]
    event = big["status"] == 1
    strata = big["stratum"] if part == "strata" else np.zeros(big["time"].size)
    counts = sum(
        concordance_counts(big["time"][strata == s], event[strata == s], big["risk"][strata == s])
        for s in np.unique(strata)
    )
    assert counts.tolist() == [expected["concordant"][0], expected["discordant"][0], expected["tied_risk"][0]]
    c = concordance_index(big["time"], event, big["risk"], strata=strata if part == "strata" else None)
    _close(c, expected["concordance"])


def test_near_tie_rule_is_r_aeqsurv() -> None:
    # R: tied when gap <= tol or gap / mean(|y|) <= tol, chained, merged to the first of the run
    tol = TIMEFIX_TOLERANCE
    assert tol == pytest.approx(1.4901161193847656e-08, rel=1e-15)
    distinct = np.array([1.0, 1.0 + 0.5 * tol, 1.0 + tol, 2.0, 100.0])
    merged, index = near_tie_groups(distinct)  # mean 21: relative gaps up to 21 * tol merge
    assert merged.tolist() == [1.0, 2.0, 100.0]
    assert index.tolist() == [0, 0, 0, 1, 2]
    time = np.array([0.30000000000000004, 0.3, 5.0, 5.0 + 1e-6])
    assert merge_near_ties(time).tolist() == [0.3, 0.3, 5.0, 5.0 + 1e-6]
