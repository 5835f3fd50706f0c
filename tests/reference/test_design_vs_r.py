"""Design calculators against R (clinfun 1.1.6, rpact 3.3.4, base R) in reference/design/designs.json.

Every entry of every section is checked: integers exactly, real numbers to 1e-6 relative. The R calls
behind each section are in reference/design/designs.R (the section numbers below are that script's).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trialdesk.stats.binomial import clopper_pearson, exact_binomial_test
from trialdesk.stats.simon import simon_two_stage
from trialdesk.stats.single_arm_survival import Quadrature, single_arm_survival_design, wu2015_power
from trialdesk.stats.stopping_rule import stopping_rule_characteristics
from trialdesk.stats.survival_design import event_probability, required_events, two_arm_survival_design

RTOL = 1e-6
SECTIONS = (
    "clopper_pearson",
    "exact_binomial_test",
    "safety_rule_ge2_deaths",
    "simon",
    "events_two_arm",
    "events_to_patients",
    "single_arm_exponential",
    "one_sample_logrank_wu2015",
    "one_sample_logrank_wu2015_power",
)


@pytest.fixture(scope="module")
def designs(reference_dir: Path) -> dict[str, Any]:
    path = reference_dir / "design" / "designs.json"
    if not path.is_file():
        pytest.fail(f"R reference file missing: {path}", pytrace=False)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def entries(designs: dict[str, Any], section: str) -> Iterator[dict[str, Any]]:
    """The rows of one section; a missing or empty section fails the test."""
    rows = designs.get(section)
    assert rows, f"designs.json has no entries in '{section}'"
    yield from rows


def close(actual: float | None, expected: float) -> bool:
    return actual is not None and actual == pytest.approx(expected, rel=RTOL, abs=0.0)


class Mismatches:
    """Collects every mismatch of a section, so one failure lists them all."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.checked = 0

    def real(self, where: str, name: str, actual: float | None, expected: float) -> None:
        self.checked += 1
        if not close(actual, expected):
            self.items.append(f"{where}: {name} = {actual!r}, R gives {expected!r}")

    def exact(self, where: str, name: str, actual: object, expected: object) -> None:
        self.checked += 1
        if actual != expected:
            self.items.append(f"{where}: {name} = {actual!r}, R gives {expected!r}")

    def assert_none(self, minimum: int) -> None:
        assert self.items == []
        assert self.checked >= minimum


def test_all_design_sections_present(designs: dict[str, Any]) -> None:
    missing = [s for s in SECTIONS if not designs.get(s)]
    assert missing == []
    assert set(designs) - {"versions"} <= set(SECTIONS), "designs.json has a section these tests do not cover"


def test_clopper_pearson_matches_r_binom_test_conf_int(designs: dict[str, Any]) -> None:
    """designs.R section 1: binom.test(x, n, conf.level = level)$conf.int."""
    bad = Mismatches()
    for row in entries(designs, "clopper_pearson"):
        ci = clopper_pearson(row["x"], row["n"], row["level"])
        where = f"x={row['x']} n={row['n']} level={row['level']}"
        bad.real(where, "estimate", ci.estimate, row["phat"])
        bad.real(where, "lower", ci.lower, row["lower"])
        bad.real(where, "upper", ci.upper, row["upper"])
    bad.assert_none(3 * len(designs["clopper_pearson"]))


def test_exact_binomial_test_matches_r_binom_test_greater(designs: dict[str, Any]) -> None:
    """designs.R section 1: binom.test(x, n, p0, alternative = "greater")$p.value."""
    bad = Mismatches()
    for row in entries(designs, "exact_binomial_test"):
        p_value = exact_binomial_test(row["x"], row["n"], row["p0"], alternative="greater")
        bad.real(f"x={row['x']} n={row['n']} p0={row['p0']}", "p_upper", p_value, row["p_upper"])
    bad.assert_none(len(designs["exact_binomial_test"]))


def test_stopping_rule_ge2_deaths_matches_r_pbinom(designs: dict[str, Any]) -> None:
    """designs.R section 2: 1 - pbinom(1, n, p), dbinom(0/1, n, p), sum(pbinom(1, 0:(n-1), p))."""
    bad = Mismatches()
    for row in entries(designs, "safety_rule_ge2_deaths"):
        oc = stopping_rule_characteristics(row["n"], 2, row["p_death"])
        where = f"n={row['n']} p={row['p_death']}"
        bad.real(where, "p_stop", oc.p_stop, row["p_stop"])
        bad.real(where, "p_zero", oc.p_zero, row["p_zero_deaths"])
        bad.real(where, "p_exactly_one", oc.p_exactly_one, row["p_exactly_one"])
        bad.real(where, "expected_treated", oc.expected_treated, row["expected_treated_seq"])
    bad.assert_none(4 * len(designs["safety_rule_ge2_deaths"]))


def test_simon_optimal_and_minimax_match_clinfun_ph2simon(designs: dict[str, Any]) -> None:
    """designs.R section 3: clinfun::ph2simon(p0, p1, alpha, beta, nmax = 150)."""
    bad = Mismatches()
    for row in entries(designs, "simon"):
        result = simon_two_stage(row["p0"], row["p1"], row["alpha"], 1.0 - row["beta"], nmax=150)
        for kind in ("optimal", "minimax"):
            got, ref = getattr(result, kind), row[kind]
            where = f"p0={row['p0']} p1={row['p1']} alpha={row['alpha']} beta={row['beta']} {kind}"
            bad.exact(
                where,
                "r1/n1, r/n",
                (got.r1, got.n1, got.r, got.n),
                (ref["r1"], ref["n1"], ref["r"], ref["n"]),
            )
            bad.real(where, "EN0", got.en0, ref["EN0"])
            bad.real(where, "PET0", got.pet0, ref["PET0"])
            bad.real(where, "alpha", got.alpha, ref["alpha_attained"])
            bad.real(where, "power", got.power, ref["power_attained"])
            bad.real(where, "EN1", got.en1, ref["EN1"])
            bad.real(where, "PET1", got.pet1, ref["PET1"])
    bad.assert_none(14 * len(designs["simon"]))


def test_schoenfeld_and_freedman_events_match_r_and_rpact(designs: dict[str, Any]) -> None:
    """designs.R section 4: closed forms and rpact getSampleSizeSurvival()$maxNumberOfEvents (1:1)."""
    bad = Mismatches()
    for row in entries(designs, "events_two_arm"):
        where = f"HR={row['hr']} power={row['power']}"
        for method in ("schoenfeld", "freedman"):
            events = required_events(row["hr"], row["alpha_two_sided"], row["power"], sided=2, method=method)
            design = two_arm_survival_design(row["hr"], row["alpha_two_sided"], row["power"], 2, method)
            bad.real(where, f"{method} events", events, row[f"{method}_events"])
            bad.real(where, f"{method} events (rpact)", design.events, row[f"rpact_{method}_events"])
            bad.exact(
                where, f"{method} events ceiling", design.events_ceiling, row[f"{method}_events_ceiling"]
            )
    bad.assert_none(6 * len(designs["events_two_arm"]))


def test_events_to_patients_match_rpact_get_sample_size_survival(designs: dict[str, Any]) -> None:
    """designs.R section 5: rpact maxNumberOfSubjects, accrualIntensity; no dropout and 5% by 12 months."""
    bad = Mismatches()
    for row in entries(designs, "events_to_patients"):
        where = f"median={row['median_control']} HR={row['hr']} ta={row['accrual']} tf={row['min_followup']}"
        common = {
            "hazard_ratio": row["hr"],
            "alpha": row["alpha_two_sided"],
            "power": row["power"],
            "sided": 2,
            "median_control": row["median_control"],
            "accrual": row["accrual"],
            "followup": row["min_followup"],
        }
        plain = two_arm_survival_design(**common)
        dropout = two_arm_survival_design(**common, dropout=0.05, dropout_time=12.0)
        lam = math.log(2.0) / row["median_control"]
        bad.real(
            where,
            "p_event_control",
            event_probability(lam, row["accrual"], row["min_followup"]),
            row["p_event_control"],
        )
        bad.real(where, "p_event_control", plain.p_event_control, row["p_event_control"])
        bad.real(where, "p_event_trt", plain.p_event_treatment, row["p_event_trt"])
        bad.real(where, "p_event_mean", plain.p_event_mean, row["p_event_mean"])
        bad.real(where, "events", plain.events, row["events"])
        bad.real(where, "events (rpact)", plain.events, row["rpact_events"])
        bad.real(where, "patients (closed form)", plain.patients, row["patients_closed_form"])
        bad.real(where, "patients (rpact)", plain.patients, row["rpact_patients"])
        bad.real(where, "accrual intensity (rpact)", plain.accrual_rate, row["rpact_accrual_intensity"])
        bad.real(
            where,
            "patients, 5% dropout by 12 months (rpact)",
            dropout.patients,
            row["rpact_patients_dropout5pct_per_12"],
        )
    bad.assert_none(10 * len(designs["events_to_patients"]))


def test_events_to_patients_from_rpact_accrual_intensity_recovers_accrual_time(
    designs: dict[str, Any],
) -> None:
    """The accrual-rate input: rpact's accrualIntensity gives back rpact's accrual time and patients."""
    bad = Mismatches()
    for row in entries(designs, "events_to_patients"):
        design = two_arm_survival_design(
            row["hr"],
            row["alpha_two_sided"],
            row["power"],
            2,
            "schoenfeld",
            median_control=row["median_control"],
            accrual_rate=row["rpact_accrual_intensity"],
            followup=row["min_followup"],
        )
        where = f"median={row['median_control']} HR={row['hr']}"
        bad.real(where, "accrual", design.accrual, row["accrual"])
        bad.real(where, "patients (rpact)", design.patients, row["rpact_patients"])
    bad.assert_none(2 * len(designs["events_to_patients"]))


def test_single_arm_exponential_matches_r(designs: dict[str, Any]) -> None:
    """designs.R section 6: d = (z_{1-a} + z_b)^2 / log(m1/m0)^2, n = d / P(event | H1)."""
    bad = Mismatches()
    for row in entries(designs, "single_arm_exponential"):
        design = single_arm_survival_design(
            "exponential",
            row["m0"],
            row["accrual"],
            row["followup"],
            row["alpha_one_sided"],
            row["power"],
            median1=row["m1"],
        )
        where = f"m0={row['m0']} m1={row['m1']} ta={row['accrual']} tf={row['followup']}"
        bad.real(where, "events", design.events, row["events"])
        bad.exact(where, "events ceiling", math.ceil(design.events), row["events_ceiling"])
        bad.real(where, "p_event_h1", design.p_event, row["p_event_h1"])
        bad.real(where, "n", design.n, row["n"])
        bad.exact(where, "n ceiling", design.n_ceiling, row["n_ceiling"])
    bad.assert_none(5 * len(designs["single_arm_exponential"]))


def _wu_rows_checked(designs: dict[str, Any], quadrature: Quadrature) -> Mismatches:
    bad = Mismatches()
    for row in entries(designs, "one_sample_logrank_wu2015"):
        design = single_arm_survival_design(
            "wu2015",
            row["m0"],
            row["ta"],
            row["tf"],
            row["alpha"],
            row["power"],
            hazard_ratio=row["delta"],
            shape=row["k"],
            quadrature=quadrature,
        )
        wu = design.wu2015
        assert wu is not None
        where = f"alpha={row['alpha']} power={row['power']} ta={row['ta']} tf={row['tf']} m0={row['m0']}"
        bad.exact(where, "n ceiling", design.n_ceiling, row["n_ceiling"])
        if quadrature == "r_integrate":
            for ours, theirs in (("p0", "sigma0_sq"), ("p1", "sigma1_sq"), ("p00", "p00"), ("p01", "p01")):
                bad.real(where, theirs, getattr(wu, ours), row[theirs])
            bad.real(where, "omega", wu.omega, row["omega"])
            bad.real(where, "sigma", wu.sigma, row["sigma"])
            bad.real(where, "n", design.n, row["n"])
        elif design.n != pytest.approx(row["n"], rel=1e-4):
            bad.items.append(f"{where}: accurate n = {design.n}, R gives {row['n']} (more than 1e-4 apart)")
    return bad


def test_wu2015_one_sample_logrank_size_matches_r_integrate(designs: dict[str, Any]) -> None:
    """designs.R section 7 (Wu 2015), with R integrate()'s quadrature: every intermediate to 1e-6."""
    _wu_rows_checked(designs, "r_integrate").assert_none(8 * len(designs["one_sample_logrank_wu2015"]))


def test_wu2015_accurate_quadrature_gives_the_same_sizes_as_r(designs: dict[str, Any]) -> None:
    """The default (tighter) quadrature: same integer sizes, n within 1e-4 of R (R's p00 is off by ~1e-4)."""
    _wu_rows_checked(designs, "accurate").assert_none(len(designs["one_sample_logrank_wu2015"]))


def test_wu2015_published_example_needs_88_patients() -> None:
    """Wu (2015) example: alpha 0.05, power 0.8, ta 5, tf 3, m0 9, delta 1/1.75, k 1.22 -> n = 88."""
    design = single_arm_survival_design("wu2015", 9, 5, 3, 0.05, 0.8, hazard_ratio=1 / 1.75, shape=1.22)
    assert design.n_ceiling == 88


def test_wu2015_power_matches_r(designs: dict[str, Any]) -> None:
    """designs.R section 7: power at n for the published example (ta 5, tf 3, m0 9, delta 1/1.75, k 1.22)."""
    bad = Mismatches()
    for row in entries(designs, "one_sample_logrank_wu2015_power"):
        power = wu2015_power(
            row["n"], 9, 5, 3, 0.05, hazard_ratio=1 / 1.75, shape=1.22, quadrature="r_integrate"
        )
        bad.real(f"n={row['n']}", "power", power, row["power"])
    bad.assert_none(len(designs["one_sample_logrank_wu2015_power"]))
