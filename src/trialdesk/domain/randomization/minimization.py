"""Pocock-Simon minimization with a biased coin (Pocock & Simon 1975, Biometrics 31:103-115).

For a new subject, each candidate arm ``k`` is tried in turn: for every factor (the site, if the
allocation is stratified by site, then the protocol's stratification factors) take the previous
subjects who share the new subject's level of that factor, count them per arm (adding the new
subject to arm ``k``), divide each arm's count by its allocation weight (so a 2:1 ratio counts as
balanced when arm counts are 2:1), and measure the imbalance of these weighted counts by their range
(default) or variance. The sum over factors is the total imbalance ``G_k``. The arm(s) with the lowest
``G_k`` are preferred with probability ``p = allocation.minimization_p``; the remaining ``1 - p`` goes to
the other arms. Within each group arms are chosen in proportion to their allocation weights, and when
every arm has the same imbalance the choice is by the allocation ratio alone. ICH E9 section 2.3.2
accepts minimization with a random element; the random element comes from the recorded-seed
:class:`~trialdesk.domain.randomization.drbg.Drbg`.

Weighted counts follow common practice for unequal ratios; exact preservation of an unequal ratio is
not guaranteed by Pocock-Simon (Kuznetsova & Tymofyeyev 2012), which the ratio tests bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from trialdesk.domain.protocol.model import Allocation
from trialdesk.domain.randomization.drbg import Drbg
from trialdesk.domain.randomization.errors import StratumError
from trialdesk.domain.randomization.permuted_blocks import SITE_FACTOR

ImbalanceMeasure = Literal["range", "variance"]


@dataclass(frozen=True)
class MinimizationDecision:
    """The outcome of one minimization step.

    ``imbalance_by_arm``: total imbalance ``G_k`` if the subject went to arm ``k`` (>= 0, in weighted
    subject counts for ``range``, their square for ``variance``). ``deterministic``: True when no random
    draw influenced the choice (a unique least-imbalanced arm and ``p == 1``). ``probabilities``: the
    probability with which each arm was chosen at this step (sums to 1).
    """

    arm: str
    imbalance_by_arm: Mapping[str, float]
    deterministic: bool
    probabilities: Mapping[str, float] = field(default_factory=dict)


def minimization_factor_ids(allocation: Allocation) -> list[str]:
    """The factors minimization balances: ``"site"`` (if stratified by site), then protocol factors."""
    ids = [SITE_FACTOR] if allocation.stratify_by_site else []
    return ids + [factor.id for factor in allocation.stratification_factors]


def _validate_factors(factors: Mapping[str, str], allocation: Allocation) -> None:
    if allocation.stratify_by_site and not factors.get(SITE_FACTOR):
        raise StratumError(f"minimization balances over site, but factor '{SITE_FACTOR}' is missing")
    for factor in allocation.stratification_factors:
        if factor.id not in factors:
            raise StratumError(f"stratification factor '{factor.id}' ({factor.label}) is missing")
        if factors[factor.id] not in factor.levels:
            raise StratumError(
                f"stratification factor '{factor.id}' has value {factors[factor.id]!r}, not one of its "
                f"levels: {', '.join(factor.levels)}"
            )


def _spread(values: list[Fraction], measure: ImbalanceMeasure) -> Fraction:
    if measure == "range":
        return max(values) - min(values)
    mean = sum(values, Fraction(0)) / len(values)
    return sum(((v - mean) ** 2 for v in values), Fraction(0)) / len(values)


def imbalance_scores(
    previous: Sequence[tuple[Mapping[str, str], str]],
    factors: Mapping[str, str],
    allocation: Allocation,
    measure: ImbalanceMeasure = "range",
) -> dict[str, Fraction]:
    """Exact total imbalance ``G_k`` for each arm ``k`` (Pocock & Simon 1975, section 3)."""
    arms = sorted(allocation.ratio)
    for _, arm in previous:
        if arm not in allocation.ratio:
            raise ValueError(f"previous allocation to unknown arm '{arm}' (arms: {', '.join(arms)})")
    factor_ids = minimization_factor_ids(allocation)
    # marginal counts: for each factor, arm -> number of previous subjects sharing the new subject's level
    marginal = {
        fid: {arm: sum(1 for f, a in previous if a == arm and f.get(fid) == factors[fid]) for arm in arms}
        for fid in factor_ids
    }
    scores: dict[str, Fraction] = {}
    for candidate in arms:
        total = Fraction(0)
        for fid in factor_ids:
            weighted = [
                Fraction(marginal[fid][arm] + (arm == candidate), allocation.ratio[arm]) for arm in arms
            ]
            total += _spread(weighted, measure)
        scores[candidate] = total
    return scores


def _weighted_probabilities(arms: list[str], allocation: Allocation, mass: float) -> dict[str, float]:
    total = sum(allocation.ratio[arm] for arm in arms)
    return {arm: mass * allocation.ratio[arm] / total for arm in arms}


def minimization_assign(
    previous: Sequence[tuple[Mapping[str, str], str]],
    factors: Mapping[str, str],
    allocation: Allocation,
    drbg: Drbg,
    *,
    measure: ImbalanceMeasure = "range",
) -> MinimizationDecision:
    """Choose the arm of a new subject by Pocock-Simon minimization with a biased coin.

    Parameters
    ----------
    previous:
        ``(factors, arm)`` of every subject already allocated in the phase, in allocation order.
    factors:
        The new subject's factor levels: ``"site"`` (if ``allocation.stratify_by_site``) and every
        protocol stratification factor; :class:`StratumError` if one is missing or not a valid level.
    allocation:
        The phase allocation: ratio (weights) and ``minimization_p`` (0.5 < p <= 1).
    drbg:
        The recorded-seed generator supplying the random element.
    measure:
        ``"range"`` (default) or ``"variance"`` of the weighted marginal counts.
    """
    _validate_factors(factors, allocation)
    scores = imbalance_scores(previous, factors, allocation, measure)
    arms = sorted(allocation.ratio)
    least = min(scores.values())
    best = [arm for arm in arms if scores[arm] == least]
    others = [arm for arm in arms if scores[arm] != least]
    imbalance = {arm: float(score) for arm, score in scores.items()}
    if not others:
        probabilities = _weighted_probabilities(best, allocation, 1.0)
        arm = drbg.choice_weighted(best, [allocation.ratio[a] for a in best])
        return MinimizationDecision(arm, imbalance, deterministic=len(arms) == 1, probabilities=probabilities)
    p = allocation.minimization_p
    probabilities = _weighted_probabilities(best, allocation, p)
    probabilities.update(_weighted_probabilities(others, allocation, 1.0 - p))
    group = best if p >= 1.0 or drbg.random() < p else others
    if len(group) == 1:
        return MinimizationDecision(group[0], imbalance, deterministic=p >= 1.0, probabilities=probabilities)
    arm = drbg.choice_weighted(group, [allocation.ratio[a] for a in group])
    return MinimizationDecision(arm, imbalance, deterministic=False, probabilities=probabilities)
