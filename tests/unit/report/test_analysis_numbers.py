"""Analysis numbers on small fixed datasets, checked against hand calculations (and R where quoted)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from tests.unit.endpoints.helpers import protocol
from trialdesk.analysis.efficacy import analyse
from trialdesk.domain.endpoints import (
    DAYS_PER_MONTH,
    AnalysisDataset,
    ResponseRecord,
    SubjectEndpointData,
    TimeToEventRecord,
    TteParam,
)

ORIGIN = dt.date(2025, 1, 1)
CUTOFF = dt.date(2027, 1, 1)


def _tte(
    subject_id: str, arm: str, phase: str, param: TteParam, months: float, event: bool
) -> TimeToEventRecord:
    days = round(months * DAYS_PER_MONTH)
    return TimeToEventRecord(
        subject_id=subject_id,
        arm=arm,
        phase_id=phase,
        param=param,
        start_date=ORIGIN,
        event_or_censor_date=ORIGIN + dt.timedelta(days=days),
        aval_days=days,
        aval_months=months,
        event=event,
        rule="event: test" if event else "censored: test",
    )


def _response(subject_id: str, arm: str, phase: str, bor: str) -> ResponseRecord:
    return ResponseRecord(
        subject_id=subject_id,
        arm=arm,
        phase_id=phase,
        bor=bor,
        confirmed=bor in ("CR", "PR"),
        responder=bor in ("CR", "PR"),
        disease_control=bor in ("CR", "PR", "SD"),
    )


def _dataset(
    rows: list[tuple[str, str, str, float, bool, float, bool, str, dict[str, str]]],
) -> AnalysisDataset:
    """rows: (id, arm, phase, pfs months, pfs event, os months, os event, BOR, strata)."""
    records = []
    for sid, arm, phase, pfs_m, pfs_e, os_m, os_e, _, _ in rows:
        records += [_tte(sid, arm, phase, "PFS", pfs_m, pfs_e), _tte(sid, arm, phase, "OS", os_m, os_e)]
    return AnalysisDataset(
        cutoff=CUTOFF,
        time_to_event=records,
        responses=[_response(sid, arm, phase, bor) for sid, arm, phase, *_, bor, _ in rows],
        subjects=[
            SubjectEndpointData(subject_id=sid, arm=arm, phase_id=phase, origin_date=ORIGIN, strata=strata)
            for sid, arm, phase, *_, strata in rows
        ],
    )


SINGLE_ARM = _dataset(
    [
        ("S1", "ivo-shfrt", "main", 2.0, True, 5.0, True, "PR", {}),
        ("S2", "ivo-shfrt", "main", 3.0, False, 3.0, False, "SD", {}),
        ("S3", "ivo-shfrt", "main", 4.0, True, 9.0, False, "PR", {}),
        ("S4", "ivo-shfrt", "main", 6.0, True, 7.0, True, "PD", {}),
        ("S5", "ivo-shfrt", "main", 8.0, False, 8.0, False, "NE", {}),
    ]
)


def test_single_arm_km_median_and_landmark_by_hand() -> None:
    result = analyse(protocol("ivo-shfrt-2l"), SINGLE_ARM).phase("main")
    pfs = result.survival["PFS"]["ivo-shfrt"]
    # S(2) = 4/5; S(4) = 4/5 * 2/3 = 8/15; S(6) = 8/15 * 1/2 = 4/15; median = 6 (first S <= 0.5).
    assert np.allclose(pfs.km.surv, [0.8, 0.8, 8 / 15, 4 / 15, 4 / 15])
    assert pfs.median.time == 6.0
    assert (pfs.n, pfs.events) == (5, 3)
    six, twelve = pfs.landmarks
    assert (six.months, six.n_risk, twelve.n_risk) == (6.0, 2, 0)
    assert (six.estimable, twelve.estimable) == (True, False)  # follow-up ends at 8 months
    assert six.surv == pytest.approx(4 / 15)
    assert twelve.surv == pytest.approx(4 / 15)


def test_single_arm_one_sample_logrank_by_hand() -> None:
    historical = analyse(protocol("ivo-shfrt-2l"), SINGLE_ARM).phase("main").historical
    assert historical is not None
    expected = math.log(2) * (2 + 3 + 4 + 6 + 8) / 3.4  # exponential, median 3.4 months
    assert historical.result.observed == 3
    assert historical.result.expected == pytest.approx(expected)
    assert historical.result.z == pytest.approx((expected - 3) / math.sqrt(expected))
    assert historical.historical_median_months == 3.4


def test_median_follow_up_is_reverse_km_of_os() -> None:
    # Reverse KM of OS: "events" are the censorings at 3, 8, 9; deaths at 5, 7 are censored.
    # S(3) = 4/5, S(8) = 4/5 * 1/2 = 0.4 -> median follow-up 8 months.
    follow_up = analyse(protocol("ivo-shfrt-2l"), SINGLE_ARM).phase("main").follow_up["ivo-shfrt"]
    assert follow_up.time == 8.0


def test_orr_and_dcr_with_clopper_pearson() -> None:
    result = analyse(protocol("ivo-shfrt-2l"), SINGLE_ARM).phase("main")
    orr, dcr = result.orr["ivo-shfrt"], result.dcr["ivo-shfrt"]
    assert (orr.count, orr.n, dcr.count) == (2, 5, 3)
    assert orr.ci is not None
    # R: binom.test(2, 5)$conf.int = 0.05274495 0.85336720
    assert orr.ci.lower == pytest.approx(0.05274495, abs=1e-8)
    assert orr.ci.upper == pytest.approx(0.85336720, abs=1e-8)
    assert result.bor_counts["ivo-shfrt"]["PR"] == 2 and result.bor_counts["ivo-shfrt"]["NE"] == 1


RANDOMIZED = _dataset(
    [
        ("A1", "A", "iib", 1.0, True, 1.0, True, "PD", {"ecog": "0"}),
        ("A2", "A", "iib", 3.0, False, 3.0, False, "PR", {"ecog": "1"}),
        ("A3", "A", "iib", 5.0, True, 5.0, True, "SD", {"ecog": "0"}),
        ("B1", "B", "iib", 2.0, True, 2.0, True, "PD", {"ecog": "1"}),
        ("B2", "B", "iib", 4.0, True, 4.0, True, "SD", {"ecog": "0"}),
    ]
)


def test_randomized_unstratified_logrank_by_hand() -> None:
    # O_A = 2; E_A = 3/5 + 2/4 + 1/2 + 1 = 2.6; V = 0.24 + 0.25 + 0.25 + 0 = 0.74.
    comparison = analyse(protocol("scr-escc-01"), RANDOMIZED).phase("iib").comparisons["PFS"]
    unstratified = comparison.logrank_unstratified
    assert unstratified.groups == ("A", "B")
    assert unstratified.observed[0] == 2 and unstratified.expected[0] == pytest.approx(2.6)
    assert unstratified.chisq == pytest.approx(0.36 / 0.74)


def test_randomized_stratified_logrank_and_cox_by_ecog() -> None:
    comparison = analyse(protocol("scr-escc-01"), RANDOMIZED).phase("iib").comparisons["PFS"]
    assert comparison.strata == ["ecog"]
    assert (comparison.reference_arm, comparison.comparison_arm) == ("B", "A")
    # Stratum ECOG 0: A1 (1, event), A3 (5, event), B2 (4, event).
    #   t=1: n=3, n_A=2 -> E_A=2/3, V=1*2/2*(2/3)(1/3)=2/9;
    #   t=4: n=2, n_A=1 -> E_A=1/2, V=1/4; t=5: n=1 -> E_A=1.
    # Stratum ECOG 1: A2 (3, censored), B1 (2, event): t=2: n=2, n_A=1 -> E_A=1/2, V=1/4.
    expected_a = 2 / 3 + 1 / 2 + 1 + 1 / 2
    variance = 2 / 9 + 1 / 4 + 1 / 4
    assert comparison.logrank.expected[0] == pytest.approx(expected_a)
    assert comparison.logrank.chisq == pytest.approx((2 - expected_a) ** 2 / variance)
    assert comparison.cox is not None and comparison.hazard_ratio is not None
    assert comparison.cox.terms == ("A vs B",)
    assert comparison.cox.n == 5
    # The score test of a Cox model with one binary covariate is the log-rank test (same strata).
    assert comparison.cox.score.statistic == pytest.approx(comparison.logrank.chisq, rel=1e-6)


def test_randomized_phase_has_km_per_arm_and_no_historical_test() -> None:
    result = analyse(protocol("scr-escc-01"), RANDOMIZED).phase("iib")
    assert set(result.survival["PFS"]) == {"A", "B"}
    # S = 1/2 exactly on [2, 4): R's quantile.survfit takes the midpoint of the two event times.
    assert result.survival["PFS"]["B"].median.time == 3.0
    assert result.historical is None
    assert result.n_by_arm == {"A": 3, "B": 2}
