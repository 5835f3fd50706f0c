"""Pocock-Simon minimization (Pocock & Simon 1975, Biometrics 31:103-115) with a biased coin."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping

import pytest

from tests.unit.randomization.helpers import make_allocation
from trialdesk.domain.protocol.model import Allocation
from trialdesk.domain.randomization import Drbg, StratumError, minimization_assign
from trialdesk.domain.randomization.minimization import imbalance_scores, minimization_factor_ids

SEED = hashlib.sha256(b"trialdesk minimization test seed").digest()
POPULATION_SEED = hashlib.sha256(b"simulated population").digest()
FACTORS = {"ecog": ["0", "1"], "liver": ["no", "yes"]}

History = list[tuple[Mapping[str, str], str]]


def _simulate(allocation: Allocation, n: int, sites: int = 4) -> History:
    drbg, population = Drbg(SEED), Drbg(POPULATION_SEED)
    history: History = []
    for _ in range(n):
        subject = {
            "site": f"S{population.randbelow(sites)}",
            "ecog": str(population.randbelow(2)),
            "liver": ("no", "yes")[population.randbelow(2)],
        }
        history.append((subject, minimization_assign(history, subject, allocation, drbg).arm))
    return history


def _marginal_differences(history: History, ratio: Mapping[str, int]) -> list[float]:
    """|weighted A - weighted B| for every level of every factor."""
    differences = []
    for fid in ("site", "ecog", "liver"):
        for level in {f[fid] for f, _ in history}:
            counts = Counter(arm for f, arm in history if f[fid] == level)
            differences.append(abs(counts["A"] / ratio["A"] - counts["B"] / ratio["B"]))
    return differences


def test_factor_ids_include_the_site_only_when_stratified_by_site() -> None:
    assert minimization_factor_ids(make_allocation(factors=FACTORS)) == ["site", "ecog", "liver"]
    assert minimization_factor_ids(make_allocation(factors=FACTORS, stratify_by_site=False)) == [
        "ecog",
        "liver",
    ]


def test_p_one_assigns_deterministically_to_the_arm_with_lower_imbalance() -> None:
    allocation = make_allocation(method="minimization", p=1.0)
    previous: History = [({"site": "S01", "ecog": "0"}, "A")]
    decision = minimization_assign(previous, {"site": "S01", "ecog": "0"}, allocation, Drbg(SEED))
    # going to A: site counts A2 B0 (range 2) + ecog A2 B0 (range 2) = 4; going to B: 0 + 0 = 0
    assert decision.arm == "B"
    assert decision.deterministic
    assert decision.imbalance_by_arm == {"A": 4.0, "B": 0.0}
    assert decision.probabilities == {"A": 0.0, "B": 1.0}


def test_p_one_is_deterministic_whatever_the_seed() -> None:
    allocation = make_allocation(method="minimization", p=1.0, factors=FACTORS)
    previous: History = [
        ({"site": "S01", "ecog": "1", "liver": "no"}, "B"),
        ({"site": "S02", "ecog": "1", "liver": "yes"}, "B"),
        ({"site": "S01", "ecog": "0", "liver": "yes"}, "A"),
    ]
    new = {"site": "S03", "ecog": "1", "liver": "yes"}
    # site S03 is empty (range 1 either way); ecog=1 has B2: A->|1-2|=1, B->3; liver=yes A1 B1: 1 either way
    arms = {minimization_assign(previous, new, allocation, Drbg(bytes([i]) * 32)).arm for i in range(20)}
    assert arms == {"A"}


def test_biased_coin_prefers_the_least_imbalanced_arm_with_probability_p() -> None:
    allocation = make_allocation(method="minimization", p=0.8)
    previous: History = [({"site": "S01", "ecog": "0"}, "A")]
    drbg = Drbg(SEED)
    decisions = [
        minimization_assign(previous, {"site": "S01", "ecog": "0"}, allocation, drbg) for _ in range(2000)
    ]
    assert all(not d.deterministic for d in decisions)
    assert decisions[0].probabilities == pytest.approx({"A": 0.2, "B": 0.8})
    share_b = sum(d.arm == "B" for d in decisions) / len(decisions)
    assert share_b == pytest.approx(0.8, abs=0.03)


def test_tie_is_broken_at_random_in_the_allocation_ratio() -> None:
    allocation = make_allocation(method="minimization", p=0.9)
    drbg = Drbg(SEED)
    decisions = [minimization_assign([], {"site": "S01", "ecog": "1"}, allocation, drbg) for _ in range(2000)]
    assert decisions[0].imbalance_by_arm == {"A": 2.0, "B": 2.0}
    assert decisions[0].probabilities == {"A": 0.5, "B": 0.5}
    assert not decisions[0].deterministic
    assert sum(d.arm == "A" for d in decisions) / 2000 == pytest.approx(0.5, abs=0.03)


def test_marginal_balance_after_200_subjects() -> None:
    allocation = make_allocation(method="minimization", p=0.8, factors=FACTORS)
    history = _simulate(allocation, 200)
    totals = Counter(arm for _, arm in history)
    assert abs(totals["A"] - totals["B"]) <= 4
    assert max(_marginal_differences(history, allocation.ratio)) <= 6


def test_deterministic_minimization_balances_margins_more_tightly() -> None:
    allocation = make_allocation(method="minimization", p=1.0, factors=FACTORS)
    history = _simulate(allocation, 200)
    assert max(_marginal_differences(history, allocation.ratio)) <= 3


def test_unequal_ratio_weights_the_counts() -> None:
    allocation = make_allocation({"A": 2, "B": 1}, [3, 6], method="minimization", p=1.0)
    previous: History = [({"site": "S01", "ecog": "0"}, arm) for arm in ("A", "A", "B")]
    scores = imbalance_scores(previous, {"site": "S01", "ecog": "0"}, allocation)
    # weighted counts A 2/2 = 1, B 1/1 = 1. To A: |3/2 - 1| = 1/2 per factor; to B: |1 - 2| = 1 per factor
    assert scores == {"A": 1, "B": 2}
    assert minimization_assign(previous, {"site": "S01", "ecog": "0"}, allocation, Drbg(SEED)).arm == "A"


def test_unequal_ratio_is_approximately_kept_over_300_subjects() -> None:
    allocation = make_allocation({"A": 2, "B": 1}, [3, 6], method="minimization", p=0.8, factors=FACTORS)
    history = _simulate(allocation, 300)
    totals = Counter(arm for _, arm in history)
    assert totals["A"] == pytest.approx(200, abs=8)
    assert max(_marginal_differences(history, allocation.ratio)) <= 6


def test_variance_measure_prefers_the_same_arm_for_two_arms() -> None:
    allocation = make_allocation(method="minimization", p=1.0)
    previous: History = [({"site": "S01", "ecog": "0"}, "A"), ({"site": "S02", "ecog": "0"}, "A")]
    decision = minimization_assign(
        previous, {"site": "S01", "ecog": "0"}, allocation, Drbg(SEED), measure="variance"
    )
    # to A: site A2 B0 (variance 1) + ecog A3 B0 (variance 9/4); to B: site 0 + ecog A2 B1 (1/4)
    assert decision.imbalance_by_arm == {"A": 3.25, "B": 0.25}
    assert decision.arm == "B"


def test_three_arms_split_the_remaining_probability() -> None:
    allocation = make_allocation({"A": 1, "B": 1, "C": 1}, [3, 6], method="minimization", p=0.8)
    previous: History = [({"site": "S01", "ecog": "0"}, "A"), ({"site": "S01", "ecog": "0"}, "B")]
    decision = minimization_assign(previous, {"site": "S01", "ecog": "0"}, allocation, Drbg(SEED))
    assert decision.probabilities == pytest.approx({"A": 0.1, "B": 0.1, "C": 0.8})


def test_same_seed_reproduces_the_sequence() -> None:
    allocation = make_allocation(method="minimization", p=0.8, factors=FACTORS)
    assert [a for _, a in _simulate(allocation, 60)] == [a for _, a in _simulate(allocation, 60)]


@pytest.mark.parametrize(
    ("factors", "message"),
    [
        ({"ecog": "0", "liver": "no"}, "'site' is missing"),
        ({"site": "S01", "liver": "no"}, "'ecog'.*missing"),
        ({"site": "S01", "ecog": "3", "liver": "no"}, "'ecog' has value '3'"),
    ],
)
def test_invalid_factors_are_refused(factors: dict[str, str], message: str) -> None:
    allocation = make_allocation(method="minimization", factors=FACTORS)
    with pytest.raises(StratumError, match=message):
        minimization_assign([], factors, allocation, Drbg(SEED))


def test_previous_allocation_to_an_unknown_arm_is_refused() -> None:
    allocation = make_allocation(method="minimization")
    with pytest.raises(ValueError, match="unknown arm 'C'"):
        minimization_assign(
            [({"site": "S01", "ecog": "0"}, "C")], {"site": "S01", "ecog": "0"}, allocation, Drbg(SEED)
        )
