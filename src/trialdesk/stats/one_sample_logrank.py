"""One-sample log-rank test of a single arm against a historical-control survival curve.

Methods
-------
The historical control is Weibull with median ``m0`` and shape ``k`` (``k = 1``: exponential),
``S0(t) = exp(-ln 2 (t / m0)^k)`` and cumulative hazard ``Lambda0(t) = ln 2 (t / m0)^k``. With ``O``
the observed number of events and ``E = sum_i Lambda0(t_i)`` over all subjects' follow-up times (the
events expected under the historical curve),

    ``Z = (E - O) / sqrt(E)``,

approximately standard normal under ``H0: S = S0``; large ``Z`` favours the new treatment (fewer
events than expected) and the one-sided p-value is ``P(N(0, 1) >= Z)`` (Finkelstein, Muzikansky &
Schoenfeld 2003, Biometrics 59:1061-1069; Wu 2015, Pharm Stat 14:26-33).

Hand-written: no maintained Python library offers this test. :func:`one_sample_logrank_statistic`
works along the last axis so many simulated trials can be tested in one call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm

from trialdesk.stats.survival_data import FloatArray, SurvivalDataError, survival_arrays


@dataclass(frozen=True)
class HistoricalControl:
    """Weibull historical-control survival: ``median`` (> 0, time unit of the data) and ``shape`` (> 0)."""

    median: float
    shape: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.median) and self.median > 0):
            raise SurvivalDataError(f"historical_median: must be a positive number, got {self.median}")
        if not (math.isfinite(self.shape) and self.shape > 0):
            raise SurvivalDataError(f"shape: must be a positive number, got {self.shape}")

    def cumulative_hazard(self, time: ArrayLike) -> FloatArray:
        """``Lambda0(t) = ln 2 (t / median)^shape`` (dimensionless, >= 0)."""
        t = np.asarray(time, dtype=np.float64)
        out: FloatArray = math.log(2.0) * (t / self.median) ** self.shape
        return out

    def survival(self, time: ArrayLike) -> FloatArray:
        """``S0(t) = exp(-Lambda0(t))`` in (0, 1]."""
        out: FloatArray = np.exp(-self.cumulative_hazard(time))
        return out


@dataclass(frozen=True)
class OneSampleLogRankResult:
    """Observed events ``observed``, expected ``expected`` under the control, ``z = (E - O)/sqrt(E)``
    and the one-sided ``p = P(N(0,1) >= z)``; ``ratio = O / E`` estimates the hazard ratio."""

    observed: int
    expected: float
    z: float
    p_one_sided: float
    ratio: float
    control: HistoricalControl


def one_sample_logrank(
    time: ArrayLike, event: ArrayLike, *, historical_median: float, shape: float = 1.0
) -> OneSampleLogRankResult:
    """Test one arm's survival (e.g. PFS) against a historical median.

    Parameters
    ----------
    time, event
        Follow-up times (``>= 0``, same unit as ``historical_median``) and event indicators.
    historical_median
        Median of the historical-control curve (> 0).
    shape
        Weibull shape of the historical curve (> 0; 1 = exponential).
    """
    control = HistoricalControl(historical_median, shape)
    t, e = survival_arrays(time, event)
    observed, expected, z = one_sample_logrank_statistic(t, e, control)
    if float(expected) <= 0:
        raise SurvivalDataError("time: all follow-up times are 0, no events are expected")
    return OneSampleLogRankResult(
        observed=int(observed),
        expected=float(expected),
        z=float(z),
        p_one_sided=float(norm.sf(float(z))),
        ratio=float(observed) / float(expected),
        control=control,
    )


def one_sample_logrank_statistic(
    time: ArrayLike, event: ArrayLike, control: HistoricalControl
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(O, E, Z)`` along the last axis of ``(..., n)`` arrays (a batch of trials); no validation."""
    expected = control.cumulative_hazard(time).sum(axis=-1)
    observed = np.asarray(event, dtype=np.float64).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (expected - observed) / np.sqrt(expected)
    return observed, expected, z
