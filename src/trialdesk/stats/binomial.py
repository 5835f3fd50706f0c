"""Exact binomial inference for a single-arm response rate.

* Clopper-Pearson exact confidence interval (Clopper & Pearson 1934, Biometrika 26:404-413), from
  beta quantiles; identical to R's ``binom.test(x, n)$conf.int``.
* Exact one-sided binomial test p-value, as R's ``binom.test(x, n, p0, alternative=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scipy import stats

from trialdesk.stats.errors import DesignInputError, check_closed_unit, check_count, check_open_unit


@dataclass(frozen=True)
class ConfidenceInterval:
    """A point estimate with a two-sided confidence interval (proportions in [0, 1])."""

    estimate: float
    lower: float
    upper: float
    level: float


def _check_x_n(x: int, n: int) -> tuple[int, int]:
    n = check_count("n", n, minimum=1)
    x = check_count("x", x, minimum=0)
    if x > n:
        raise DesignInputError("x", f"number of responders ({x}) cannot exceed n ({n})")
    return x, n


def clopper_pearson(x: int, n: int, level: float = 0.95) -> ConfidenceInterval:
    """Clopper-Pearson exact two-sided interval for a binomial proportion.

    Parameters
    ----------
    x:
        Number of responders, 0 <= x <= n.
    n:
        Number of evaluable subjects, n >= 1.
    level:
        Confidence level in (0, 1), e.g. 0.95.

    Returns
    -------
    ConfidenceInterval
        ``estimate = x / n``; ``lower = Beta^{-1}(a/2; x, n - x + 1)`` (0 when x = 0) and
        ``upper = Beta^{-1}(1 - a/2; x + 1, n - x)`` (1 when x = n), with a = 1 - level.

    References
    ----------
    Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the case
    of the binomial. Biometrika 26:404-413.
    """
    x, n = _check_x_n(x, n)
    level = check_open_unit("level", level)
    tail = (1.0 - level) / 2.0
    lower = 0.0 if x == 0 else float(stats.beta.ppf(tail, x, n - x + 1))
    upper = 1.0 if x == n else float(stats.beta.ppf(1.0 - tail, x + 1, n - x))
    return ConfidenceInterval(estimate=x / n, lower=lower, upper=upper, level=level)


def exact_binomial_test(
    x: int, n: int, p0: float, alternative: Literal["greater", "less"] = "greater"
) -> float:
    """One-sided exact binomial test p-value.

    ``greater``: P(X >= x | n, p0), the p-value for H1: p > p0 (a single-stage response endpoint);
    ``less``: P(X <= x | n, p0). ``p0`` is the null response rate in [0, 1].
    """
    x, n = _check_x_n(x, n)
    p0 = check_closed_unit("p0", p0)
    if alternative == "greater":
        return float(stats.binom.sf(x - 1, n, p0))
    if alternative == "less":
        return float(stats.binom.cdf(x, n, p0))
    raise DesignInputError("alternative", f"must be 'greater' or 'less', got {alternative!r}")
