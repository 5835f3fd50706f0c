"""Operating characteristics of a run-in safety stopping rule.

Rule: stop (no further enrolment) when at least ``k`` of the ``n`` run-in subjects have the event
(e.g. SCR-ESCC-01: ">= 2 treatment-related grade-5 adverse events", k = 2). Subjects are assumed
to have the event independently with probability ``rate``.

* P(stop) = P(X >= k), X ~ Binomial(n, rate) (:func:`probability_rule_met`). Monitoring after each
  subject does not change it (the count only grows).
* P(zero events) and P(exactly one event) among all n subjects.
* Expected number of subjects treated when enrolment stops as soon as the k-th event occurs: the
  index J of the k-th event is negative binomial, P(J = j) = rate * b(k - 1; j - 1, rate), so
  E[N] = sum_{j=k}^{n} j P(J = j) + n P(X < k).

The same numbers are produced in ``reference/design/designs.R`` (section 2) with R's ``pbinom``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from trialdesk.stats.errors import DesignInputError, check_closed_unit, check_count


def probability_rule_met(n: int, k: int, p: float) -> float:
    """Exact probability that a rule "stop when >= ``k`` of ``n`` subjects have the event" is met.

    P(X >= k) for X ~ Binomial(n, p), computed as ``scipy.stats.binom.sf(k - 1, n, p)``; subjects have
    the event independently with true per-subject probability ``p`` in [0, 1]. ``n`` >= 0 subjects,
    ``k`` >= 0 (``k = 0`` gives 1, ``k > n`` gives 0). SCR-ESCC-01: n = 20, k = 2, p = 0.05 -> 0.264.
    The only computation of this probability (the safety report and the design calculator use it).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    if k == 0:
        return 1.0
    if k > n:
        return 0.0
    return float(stats.binom.sf(k - 1, n, p))


@dataclass(frozen=True)
class StoppingRuleCharacteristics:
    """Operating characteristics at one true event rate (probabilities in [0, 1], counts in subjects)."""

    n: int
    stop_at: int
    rate: float
    p_stop: float
    p_zero: float
    p_exactly_one: float
    expected_treated: float


def stopping_rule_characteristics(n: int, stop_at: int, rate: float) -> StoppingRuleCharacteristics:
    """Exact binomial characteristics of "stop when >= ``stop_at`` of ``n`` subjects have the event".

    Parameters
    ----------
    n:
        Number of run-in subjects (>= 1).
    stop_at:
        Event count k that stops the run-in, 1 <= k <= n.
    rate:
        True per-subject event probability in [0, 1].
    """
    n = check_count("n", n, minimum=1)
    k = check_count("stop_at", stop_at, minimum=1)
    if k > n:
        raise DesignInputError("stop_at", f"the stopping count ({k}) cannot exceed n ({n})")
    p = check_closed_unit("rate", rate)
    p_stop = probability_rule_met(n, k, p)
    j = np.arange(k, n + 1)
    p_kth_at_j = p * stats.binom.pmf(k - 1, j - 1, p)
    expected = float(np.sum(j * p_kth_at_j) + n * stats.binom.cdf(k - 1, n, p))
    return StoppingRuleCharacteristics(
        n=n,
        stop_at=k,
        rate=p,
        p_stop=p_stop,
        p_zero=float(stats.binom.pmf(0, n, p)),
        p_exactly_one=float(stats.binom.pmf(1, n, p)),
        expected_treated=expected,
    )


def stopping_rule_table(n: int, stop_at: int, rates: Sequence[float]) -> list[StoppingRuleCharacteristics]:
    """:func:`stopping_rule_characteristics` for each rate in ``rates`` (at least one)."""
    if len(rates) == 0:
        raise DesignInputError("rates", "give at least one event rate")
    return [stopping_rule_characteristics(n, stop_at, rate) for rate in rates]
