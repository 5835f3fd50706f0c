"""Two-arm time-to-event designs: events for a hazard ratio, and events converted to patients.

Events (proportional hazards, allocation r = n_treatment / n_control, z = z_{1-alpha/sided} + z_{power}):

* Schoenfeld (1983): D = z^2 (1 + r)^2 / (r ln(HR)^2); with 1:1 allocation D = 4 z^2 / ln(HR)^2.
* Freedman (1982): D = z^2 (1 + r HR)^2 / (r (1 - HR)^2); with 1:1 allocation D = z^2 (1 + HR)^2 / (1 - HR)^2.

Patients, as rpact's ``getSampleSizeSurvival`` computes them for a fixed design: exponential event times
(control hazard ln2 / median_control, treatment hazard HR times that), uniform accrual over ``accrual``
months, analysis ``followup`` months after the last patient is enrolled, and exponential dropout with
hazard g = -ln(1 - dropout) / dropout_time (rpact's ``dropoutRate``/``dropoutTime``). For one arm with
event hazard l, with h = l + g,

    P(event) = l / h * [1 - (exp(-h tf) - exp(-h (ta + tf))) / (h ta)]

and N = D / Pbar with Pbar = (r P_treatment + P_control) / (1 + r). Instead of the accrual duration an
accrual rate (patients per month) can be given; the accrual duration is then the root of
rate * ta * Pbar(ta) = D.

References
----------
Schoenfeld D (1983). Sample-size formula for the proportional-hazards regression model. Biometrics
39:499-503. Freedman LS (1982). Tables of the number of patients required in clinical trials using the
logrank test. Statistics in Medicine 1:121-129. Wassmer G, Pahlke F, R package rpact
(``getSampleSizeSurvival``, version 3.3.4 used for the reference values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from scipy import optimize, stats

from trialdesk.stats.errors import (
    DesignInputError,
    check_dropout,
    check_nonnegative,
    check_open_unit,
    check_positive,
)

EventsMethod = Literal["schoenfeld", "freedman"]


@dataclass(frozen=True)
class TwoArmSurvivalDesign:
    """Required events and (when accrual inputs are given) patients for a two-arm comparison.

    Durations are in the time unit of the medians (months in trialdesk); ``accrual_rate`` is patients per
    that unit. Patient fields are ``None`` when no control median / accrual / follow-up was given.
    """

    method: EventsMethod
    hazard_ratio: float
    alpha: float
    sided: int
    power: float
    allocation_ratio: float
    events: float
    events_ceiling: int
    patients: float | None = None
    patients_ceiling: int | None = None
    p_event_control: float | None = None
    p_event_treatment: float | None = None
    p_event_mean: float | None = None
    accrual: float | None = None
    accrual_rate: float | None = None
    followup: float | None = None
    dropout: float = 0.0
    dropout_time: float = 12.0


def _z_sum(alpha: float, power: float, sided: int) -> float:
    alpha = check_open_unit("alpha", alpha)
    power = check_open_unit("power", power)
    if sided not in (1, 2):
        raise DesignInputError("sided", f"must be 1 or 2, got {sided}")
    return float(stats.norm.ppf(1.0 - alpha / sided) + stats.norm.ppf(power))


def check_hazard_ratio(hazard_ratio: float, name: str = "hazard_ratio") -> float:
    """A hazard ratio > 0 and != 1."""
    hazard_ratio = check_positive(name, hazard_ratio)
    if hazard_ratio == 1.0:
        raise DesignInputError(name, "must differ from 1 (no effect to detect)")
    return hazard_ratio


def required_events(
    hazard_ratio: float,
    alpha: float,
    power: float,
    sided: int = 2,
    method: EventsMethod = "schoenfeld",
    allocation_ratio: float = 1.0,
) -> float:
    """Number of events (not rounded) to detect ``hazard_ratio`` with a log-rank test.

    Parameters
    ----------
    hazard_ratio:
        Treatment / control hazard ratio, > 0 and != 1.
    alpha:
        Total type I error for the given sidedness, in (0, 1) (two-sided 0.05 uses z_{0.975}).
    power:
        In (0, 1).
    sided:
        1 or 2.
    method:
        ``"schoenfeld"`` (Schoenfeld 1983) or ``"freedman"`` (Freedman 1982).
    allocation_ratio:
        r = n_treatment / n_control (> 0); 1 for 1:1.
    """
    hr = check_hazard_ratio(hazard_ratio)
    r = check_positive("allocation_ratio", allocation_ratio)
    z = _z_sum(alpha, power, sided)
    if method == "schoenfeld":
        return z**2 * (1.0 + r) ** 2 / (r * math.log(hr) ** 2)
    if method == "freedman":
        return z**2 * (1.0 + r * hr) ** 2 / (r * (1.0 - hr) ** 2)
    raise DesignInputError("method", f"must be 'schoenfeld' or 'freedman', got {method!r}")


def dropout_hazard(dropout: float, dropout_time: float = 12.0) -> float:
    """Exponential dropout hazard for a cumulative dropout proportion ``dropout`` by ``dropout_time``.

    g = -ln(1 - dropout) / dropout_time (rpact's ``dropoutRate``, ``dropoutTime``); 0 when dropout is 0.
    """
    dropout = check_dropout("dropout", dropout)
    dropout_time = check_positive("dropout_time", dropout_time)
    return -math.log1p(-dropout) / dropout_time


def event_probability(hazard: float, accrual: float, followup: float, dropout_rate: float = 0.0) -> float:
    """Probability that a patient's event is observed by the analysis (exponential model).

    Parameters
    ----------
    hazard:
        Event hazard l per time unit (> 0), e.g. ln 2 / median.
    accrual:
        Accrual duration ta (> 0; uniform entry over [0, ta]).
    followup:
        Follow-up tf after the last patient enters (>= 0); the analysis is at ta + tf.
    dropout_rate:
        Exponential dropout hazard g (>= 0), competing with the event.

    Returns
    -------
    float
        l / h [1 - (exp(-h tf) - exp(-h (ta + tf))) / (h ta)] with h = l + g.
    """
    hazard = check_positive("hazard", hazard)
    ta = check_positive("accrual", accrual)
    tf = check_nonnegative("followup", followup)
    g = check_nonnegative("dropout_rate", dropout_rate)
    h = hazard + g
    return hazard / h * (1.0 - (math.exp(-h * tf) - math.exp(-h * (ta + tf))) / (h * ta))


def _mean_event_probability(
    lam_control: float, hazard_ratio: float, accrual: float, followup: float, gamma: float, r: float
) -> tuple[float, float, float]:
    p_control = event_probability(lam_control, accrual, followup, gamma)
    p_treatment = event_probability(hazard_ratio * lam_control, accrual, followup, gamma)
    return p_control, p_treatment, (r * p_treatment + p_control) / (1.0 + r)


def _accrual_from_rate(
    events: float,
    rate: float,
    lam_control: float,
    hazard_ratio: float,
    followup: float,
    gamma: float,
    r: float,
) -> float:
    """Accrual duration ta at which ``rate`` * ta patients give ``events`` expected events."""

    def shortfall(ta: float) -> float:
        return (
            rate * ta * _mean_event_probability(lam_control, hazard_ratio, ta, followup, gamma, r)[2] - events
        )

    upper = max(1.0, events / rate)
    while shortfall(upper) < 0.0:
        upper *= 2.0
        if upper > 1e9:
            raise DesignInputError("accrual_rate", "too low to reach the required events")
    return float(optimize.brentq(shortfall, 1e-9 * upper, upper, xtol=1e-12, rtol=1e-14))


def two_arm_survival_design(
    hazard_ratio: float,
    alpha: float,
    power: float,
    sided: int = 2,
    method: EventsMethod = "schoenfeld",
    allocation_ratio: float = 1.0,
    median_control: float | None = None,
    accrual: float | None = None,
    followup: float | None = None,
    accrual_rate: float | None = None,
    dropout: float = 0.0,
    dropout_time: float = 12.0,
) -> TwoArmSurvivalDesign:
    """Events and patients for a two-arm log-rank comparison (see the module docstring).

    ``median_control`` (time units, > 0), ``followup`` (>= 0) and one of ``accrual`` (duration, > 0) or
    ``accrual_rate`` (patients per time unit, > 0) turn events into patients; without them only the
    events are computed. ``dropout`` is the cumulative dropout proportion in [0, 1) by ``dropout_time``.
    Reproduces rpact ``getSampleSizeSurvival(..., typeOfComputation = "Schoenfeld" | "Freedman")``.
    """
    events = required_events(hazard_ratio, alpha, power, sided, method, allocation_ratio)
    base = TwoArmSurvivalDesign(
        method=method,
        hazard_ratio=hazard_ratio,
        alpha=alpha,
        sided=sided,
        power=power,
        allocation_ratio=allocation_ratio,
        events=events,
        events_ceiling=math.ceil(events),
        dropout=check_dropout("dropout", dropout),
        dropout_time=check_positive("dropout_time", dropout_time),
    )
    if median_control is None and accrual is None and accrual_rate is None and followup is None:
        return base
    if median_control is None or followup is None or (accrual is None) == (accrual_rate is None):
        raise DesignInputError(
            "accrual",
            "patients need median_control, followup and exactly one of accrual (duration) or accrual_rate",
        )
    lam_control = math.log(2.0) / check_positive("median_control", median_control)
    followup = check_nonnegative("followup", followup)
    gamma = dropout_hazard(dropout, dropout_time)
    if accrual is None:
        assert accrual_rate is not None
        rate = check_positive("accrual_rate", accrual_rate)
        accrual = _accrual_from_rate(
            events, rate, lam_control, hazard_ratio, followup, gamma, allocation_ratio
        )
    accrual = check_positive("accrual", accrual)
    p_control, p_treatment, p_mean = _mean_event_probability(
        lam_control, hazard_ratio, accrual, followup, gamma, allocation_ratio
    )
    patients = events / p_mean
    return replace(
        base,
        patients=patients,
        patients_ceiling=math.ceil(patients),
        p_event_control=p_control,
        p_event_treatment=p_treatment,
        p_event_mean=p_mean,
        accrual=accrual,
        accrual_rate=patients / accrual,
        followup=followup,
    )
