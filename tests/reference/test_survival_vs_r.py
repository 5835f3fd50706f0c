"""trialdesk.stats survival results against R survival 3.5-3 on the NCCTG ``lung`` data.

``../shared/reference/survival/lung.json`` was written by ``lung.R`` (helpers in ``common.R``). This
module rebuilds the same structure from trialdesk's estimators (:func:`computed_reference`) and
compares every number in the file to 1e-6 relative: the named tests below by topic, and
``test_every_number_in_lung_json_is_reproduced`` by walking the whole file so nothing is left out.

Coding as in R: ``status == 2`` is the event; ``sex`` is numeric 1/2 (coefficients per unit);
rows with missing ``ph.ecog`` are dropped from fits that use it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from trialdesk.stats.cox import CoxPHResult, cox_ph
from trialdesk.stats.kaplan_meier import ConfType, KaplanMeierEstimate, kaplan_meier
from trialdesk.stats.logrank import LogRankResult, logrank_test

RTOL = 1e-6
ATOL = 1e-12  # only for numbers that are exactly 0 in R (relative error is undefined there)
LANDMARKS = (180.0, 365.0, 730.0)
QUANTILE_KEYS = {"log": "quantiles_log", "log-log": "quantiles_loglog", "plain": "quantiles_plain"}


@pytest.fixture(scope="module")
def lung(reference_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(reference_dir / "survival" / "lung.csv")
    frame["event"] = frame["status"] == 2
    return frame


@pytest.fixture(scope="module")
def ref(reference_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((reference_dir / "survival" / "lung.json").read_text())
    return data


@pytest.fixture(scope="module")
def mine(lung: pd.DataFrame) -> dict[str, Any]:
    return computed_reference(lung)


# --------------------------------------------------------------------------- rebuilding lung.json


def _groups(lung: pd.DataFrame, by: str | None) -> dict[str, pd.DataFrame]:
    if by is None:
        return {"all": lung}
    return {str(int(level)): lung[lung[by] == level] for level in sorted(lung[by].unique())}


def _km(sub: pd.DataFrame, conf_type: ConfType = "log") -> KaplanMeierEstimate:
    return kaplan_meier(sub["time"], sub["event"], conf_type=conf_type)


def _quantile_row(group: str, km: KaplanMeierEstimate) -> dict[str, Any]:
    row: dict[str, Any] = {"group": group, "n": km.n, "events": km.events}
    for p, name in ((0.5, "median"), (0.25, "q25"), (0.75, "q75")):
        q = km.quantile(p)
        lcl, ucl = ("median_lcl", "median_ucl") if name == "median" else (f"{name}_lcl", f"{name}_ucl")
        row.update({name: q.time, lcl: q.lower, ucl: q.upper})
    return row


def _km_block(lung: pd.DataFrame, by: str | None) -> dict[str, Any]:
    groups = _groups(lung, by)
    block: dict[str, Any] = {
        key: [_quantile_row(g, _km(sub, conf_type)) for g, sub in groups.items()]
        for conf_type, key in QUANTILE_KEYS.items()
    }
    table: dict[str, list[Any]] = {
        c: [] for c in ("group", "time", "n_risk", "n_event", "n_censor", "surv", "se_logS", "se_S")
    }
    table.update(lower=[], upper=[])
    at: dict[str, list[Any]] = {
        c: []
        for c in (
            "group",
            "time",
            "n_risk",
            "surv",
            "se_S",
            "lower_log",
            "upper_log",
            "lower_loglog",
            "upper_loglog",
        )
    }
    for g, sub in groups.items():
        km = _km(sub)
        columns = (
            km.time,
            km.n_risk,
            km.n_event,
            km.n_censor,
            km.surv,
            km.std_err,
            km.se_surv,
            km.lower,
            km.upper,
        )
        table["group"] += [g] * km.time.size
        for name, values in zip(list(table)[1:], columns, strict=True):
            table[name] += values.tolist()
        log, loglog = km.at(LANDMARKS), _km(sub, "log-log").at(LANDMARKS)
        at["group"] += [g] * len(LANDMARKS)
        for name, values in zip(
            list(at)[1:],
            (log.time, log.n_risk, log.surv, log.se_surv, log.lower, log.upper, loglog.lower, loglog.upper),
            strict=True,
        ):
            at[name] += values.tolist()
    block.update(at_times=at, table=table)
    return block


def _logrank(lung: pd.DataFrame, group: str, strata: str | None = None, rho: float = 0.0) -> LogRankResult:
    used = lung.dropna(subset=[group] + ([strata] if strata else []))
    return logrank_test(
        used["time"],
        used["event"],
        used[group].astype(int),
        strata=None if strata is None else used[strata].astype(int),
        rho=rho,
    )


def _logrank_block(res: LogRankResult) -> dict[str, Any]:
    return {
        "rho": res.rho,
        "groups": [str(g) for g in res.groups],
        "n": list(res.n),
        "observed": res.observed.tolist(),
        "expected": res.expected.tolist(),
        "var": res.variance.tolist(),
        "chisq": res.chisq,
        "df": res.df,
        "p": res.p,
    }


def _cox(lung: pd.DataFrame, terms: list[str], ties: str, strata: str | None = None) -> CoxPHResult:
    used = lung.dropna(subset=terms + ([strata] if strata else []))
    return cox_ph(
        used[terms].to_numpy(dtype=float),
        used["time"],
        used["event"],
        names=terms,
        ties=ties,  # type: ignore[arg-type]
        strata=None if strata is None else used[strata],
    )


def _cox_block(fit: CoxPHResult) -> dict[str, Any]:
    def test(t: Any, rounded: bool = False) -> dict[str, Any]:
        # R's summary.coxph reports the Wald statistic rounded to 2 decimals (its p is unrounded)
        return {"stat": round(t.statistic, 2) if rounded else t.statistic, "df": t.df, "p": t.p}

    return {
        "ties": fit.ties,
        "n": fit.n,
        "nevent": fit.n_events,
        "iter": fit.iterations,
        "terms": list(fit.terms),
        "coef": fit.coef.tolist(),
        "hr": fit.hr.tolist(),
        "se": fit.se.tolist(),
        "z": fit.z.tolist(),
        "p": fit.p.tolist(),
        "hr_lower95": fit.hr_lower.tolist(),
        "hr_upper95": fit.hr_upper.tolist(),
        "vcov": fit.vcov.tolist(),
        "loglik_null": fit.loglik_null,
        "loglik": fit.loglik,
        "lrt": test(fit.likelihood_ratio),
        "wald": test(fit.wald, rounded=True),
        "score": test(fit.score),
        "concordance": fit.concordance,
    }


COX_MODELS: dict[str, tuple[list[str], str, str | None]] = {
    "sex_efron": (["sex"], "efron", None),
    "sex_breslow": (["sex"], "breslow", None),
    "sex_exact": (["sex"], "exact", None),
    "age_sex_efron": (["age", "sex"], "efron", None),
    "age_sex_breslow": (["age", "sex"], "breslow", None),
    "age_sex_ecog_efron": (["age", "sex", "ph.ecog"], "efron", None),
    "age_sex_ecog_breslow": (["age", "sex", "ph.ecog"], "breslow", None),
    "sex_strat_ecog_efron": (["sex"], "efron", "ph.ecog"),
    "sex_strat_ecog_breslow": (["sex"], "breslow", "ph.ecog"),
}


def computed_reference(lung: pd.DataFrame) -> dict[str, Any]:
    """trialdesk's answers laid out like lung.json (formula strings and metadata left out)."""
    return {
        "rows": len(lung),
        "km": {"overall": _km_block(lung, None), "by_sex": _km_block(lung, "sex")},
        "logrank": {
            "sex": _logrank_block(_logrank(lung, "sex")),
            "sex_peto_rho1": _logrank_block(_logrank(lung, "sex", rho=1.0)),
            "sex_strat_ph_ecog": _logrank_block(_logrank(lung, "sex", strata="ph.ecog")),
            "ph_ecog_3df": _logrank_block(_logrank(lung, "ph.ecog")),
        },
        "cox": {name: _cox_block(_cox(lung, *spec)) for name, spec in COX_MODELS.items()},
    }


# --------------------------------------------------------------------------- comparison helpers

CHECKED_STRINGS = {"group", "groups", "terms", "ties"}


def _leaves(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    else:
        yield path, node


def _get(node: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def _numeric_paths(ref: Any) -> list[tuple[str | int, ...]]:
    return [
        p for p, v in _leaves(ref) if v is None or (isinstance(v, int | float) and not isinstance(v, bool))
    ]


def assert_matches(mine: Any, ref: Any, where: str) -> int:
    """Compare every number (and group/term label) of ``ref`` with ``mine``; return how many."""
    checked = 0
    for path, expected in _leaves(ref):
        label = where + "".join(f"[{p!r}]" for p in path)
        if isinstance(expected, str):
            if any(isinstance(p, str) and p in CHECKED_STRINGS for p in path):
                assert str(_get(mine, path)) == expected, label
                checked += 1
            continue
        actual = _get(mine, path)
        if expected is None:  # R's NA: not reached / undefined
            assert actual is None or (isinstance(actual, float) and math.isnan(actual)), f"{label}: {actual}"
        else:
            assert actual is not None, f"{label}: got None, R has {expected}"
            assert math.isclose(float(actual), float(expected), rel_tol=RTOL, abs_tol=ATOL), (
                f"{label}: {actual!r} != R {expected!r}"
            )
        checked += 1
    return checked


def max_relative_error(mine: Any, ref: Any) -> float:
    worst = 0.0
    for path in _numeric_paths(ref):
        expected, actual = _get(ref, path), _get(mine, path)
        if expected is not None and expected != 0:
            worst = max(worst, abs(float(actual) - expected) / abs(expected))
    return worst


# --------------------------------------------------------------------------- Kaplan-Meier


@pytest.mark.parametrize("block", ["overall", "by_sex"])
def test_km_table_matches_r_survfit_lung(mine: dict[str, Any], ref: dict[str, Any], block: str) -> None:
    """Every step: time, n.risk, n.event, n.censor, surv, Greenwood SE (log and S scale), log CI."""
    table = ref["km"][block]["table"]
    assert len(table["time"]) == len(mine["km"][block]["table"]["time"])
    assert assert_matches(mine["km"][block]["table"], table, f"km.{block}.table") == 10 * len(table["time"])


@pytest.mark.parametrize("block", ["overall", "by_sex"])
def test_km_landmark_survival_matches_r_summary_survfit_lung(
    mine: dict[str, Any], ref: dict[str, Any], block: str
) -> None:
    """6-, 12- and 24-month (180/365/730-day) survival with SE, log and log-log CIs."""
    at = ref["km"][block]["at_times"]
    assert assert_matches(mine["km"][block]["at_times"], at, f"km.{block}.at_times") == 9 * len(at["time"])


@pytest.mark.parametrize("conf_type", list(QUANTILE_KEYS))
@pytest.mark.parametrize("block", ["overall", "by_sex"])
def test_km_median_matches_r_survfit_lung(
    mine: dict[str, Any], ref: dict[str, Any], block: str, conf_type: str
) -> None:
    """n, events, median and its Brookmeyer-Crowley CI as summary(survfit)$table, per conf.type."""
    key = QUANTILE_KEYS[conf_type]
    for expected, actual in zip(ref["km"][block][key], mine["km"][block][key], strict=True):
        subset = {k: expected[k] for k in ("group", "n", "events", "median", "median_lcl", "median_ucl")}
        assert assert_matches(actual, subset, f"km.{block}.{key}") == 6


@pytest.mark.parametrize("conf_type", list(QUANTILE_KEYS))
@pytest.mark.parametrize("block", ["overall", "by_sex"])
def test_km_quartiles_match_r_quantile_survfit_lung(
    mine: dict[str, Any], ref: dict[str, Any], block: str, conf_type: str
) -> None:
    """25th and 75th percentiles with CIs (one limit not reached in R is None here too)."""
    key = QUANTILE_KEYS[conf_type]
    for expected, actual in zip(ref["km"][block][key], mine["km"][block][key], strict=True):
        subset = {k: v for k, v in expected.items() if k.startswith(("q25", "q75"))}
        assert assert_matches(actual, subset, f"km.{block}.{key}") == 6


# --------------------------------------------------------------------------- log-rank


@pytest.mark.parametrize("variant", ["sex", "sex_peto_rho1", "sex_strat_ph_ecog", "ph_ecog_3df"])
def test_logrank_matches_r_survdiff_lung(mine: dict[str, Any], ref: dict[str, Any], variant: str) -> None:
    """survdiff: rho=0, rho=1 (Peto-Peto), stratified by ph.ecog, and the 4-group (3 df) test."""
    expected = {k: v for k, v in ref["logrank"][variant].items() if k != "formula"}
    assert assert_matches(mine["logrank"][variant], expected, f"logrank.{variant}") >= 10


# --------------------------------------------------------------------------- Cox


@pytest.mark.parametrize("model", list(COX_MODELS))
def test_cox_matches_r_coxph_lung(mine: dict[str, Any], ref: dict[str, Any], model: str) -> None:
    """coxph: coefficients, SE, HR and CI, vcov, log likelihoods, LRT/Wald/score, concordance, iter."""
    expected = {k: v for k, v in ref["cox"][model].items() if k != "formula"}
    assert assert_matches(mine["cox"][model], expected, f"cox.{model}") >= 25


# --------------------------------------------------------------------------- completeness


def test_every_number_in_lung_json_is_reproduced(mine: dict[str, Any], ref: dict[str, Any]) -> None:
    """Walk the whole reference file: each numeric leaf (outside the version note) must match."""
    numeric = [p for p in _numeric_paths(ref) if p[0] != "versions"]
    sections = {p[0] for p in numeric}
    assert sections == {"rows", "km", "logrank", "cox"}
    checked = assert_matches(mine, {k: ref[k] for k in sections}, "lung.json")
    assert checked >= len(numeric) > 4000
    assert max_relative_error(mine, {k: ref[k] for k in sections}) < RTOL
