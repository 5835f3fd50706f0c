"""Continuous toxicity monitoring for a DSMB: a Bayesian beta-binomial warning boundary.

For a protocol's :class:`~trialdesk.domain.protocol.model.ToxicityMonitoring` entry (seed 000: the rate
of grade >= 3 treatment-related AEs, since safety is a primary endpoint), with a Beta(a, b) prior on
the per-subject toxicity rate and ``x`` of ``n`` subjects with a qualifying event, the posterior is
Beta(a + x, b + n - x) and the monitor warns when

    P(rate > max_acceptable_rate | x, n) > posterior_threshold        (strictly greater)

once ``n >= min_subjects``. The boundary table gives, for each number of evaluable subjects, the
smallest event count that warns ("warn when >= x of n"). This is a warning shown to the safety
reviewers, never an automatic stop (Thall, Simon & Estey, Stat Med 1995;14:357-379, for the
approach; defaults documented in the protocol file and ``docs/safety.md``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scipy import stats

from trialdesk.domain.protocol.model import AttributionPolicy, ToxicityMonitoring
from trialdesk.domain.safety.stopping_rules import AdverseEventFact, is_treatment_related


def posterior_probability_above(
    events: int, n: int, max_rate: float, prior_a: float, prior_b: float
) -> float:
    """P(rate > ``max_rate`` | ``events`` of ``n``) under a Beta(``prior_a``, ``prior_b``) prior.

    Computed as ``scipy.stats.beta.sf(max_rate, prior_a + events, prior_b + n - events)``.
    Example: Beta(1, 1), 5 of 6, max 0.40 -> 0.9812 (= P(Binomial(7, 0.4) <= 5)).
    """
    if isinstance(n, bool) or n < 0 or events < 0 or events > n:
        raise ValueError(f"need 0 <= events <= n, got events={events}, n={n}")
    if not 0.0 < max_rate < 1.0:
        raise ValueError(f"max_rate must be in (0, 1), got {max_rate}")
    if prior_a <= 0 or prior_b <= 0:
        raise ValueError(f"Beta prior parameters must be positive, got a={prior_a}, b={prior_b}")
    return float(stats.beta.sf(max_rate, prior_a + events, prior_b + n - events))


def warning_boundary(n: int, monitor: ToxicityMonitoring) -> int | None:
    """The smallest number of subjects with an event, out of ``n``, that triggers the warning
    (``None`` when even ``n`` of ``n`` does not, or ``n`` is below ``min_subjects``)."""
    if n < monitor.min_subjects.value:
        return None
    for events in range(n + 1):
        if _posterior(events, n, monitor) > monitor.posterior_threshold.value:
            return events
    return None


def _posterior(events: int, n: int, monitor: ToxicityMonitoring) -> float:
    return posterior_probability_above(
        events, n, monitor.max_acceptable_rate.value, monitor.prior_a.value, monitor.prior_b.value
    )


@dataclass(frozen=True)
class BoundaryRow:
    """One row of the boundary table: warn when ``warn_at`` or more of ``n`` subjects have an event."""

    n: int
    warn_at: int | None


def boundary_table(monitor: ToxicityMonitoring, max_n: int) -> list[BoundaryRow]:
    """The warning boundary for every ``n`` from ``min_subjects`` to ``max_n`` (the planned size)."""
    first = monitor.min_subjects.value
    return [BoundaryRow(n, warning_boundary(n, monitor)) for n in range(first, max_n + 1)]


@dataclass(frozen=True)
class ToxicityStatus:
    """The monitor's state: ``events`` of ``n`` subjects, the posterior probability and the warning."""

    monitor_id: str
    n: int
    events: int
    posterior_probability: float
    posterior_threshold: float
    max_acceptable_rate: float
    warn_at: int | None
    warning: bool
    subjects: tuple[str, ...]


def qualifying_subjects(
    monitor: ToxicityMonitoring, facts: Iterable[AdverseEventFact], policy: AttributionPolicy
) -> set[str]:
    """Subjects with at least one event of grade >= ``min_grade`` (treatment-related if required)."""
    return {
        fact.subject_id
        for fact in facts
        if fact.grade >= monitor.min_grade
        and (not monitor.treatment_related or is_treatment_related(fact, policy))
    }


def evaluate_toxicity(
    monitor: ToxicityMonitoring,
    facts: Iterable[AdverseEventFact],
    subjects_at_risk: int,
    policy: AttributionPolicy,
) -> ToxicityStatus:
    """Evaluate ``monitor`` with ``subjects_at_risk`` treated subjects (the denominator n)."""
    subjects = qualifying_subjects(monitor, facts, policy)
    n = max(subjects_at_risk, len(subjects))
    probability = _posterior(len(subjects), n, monitor)
    boundary = warning_boundary(n, monitor)
    return ToxicityStatus(
        monitor_id=monitor.id,
        n=n,
        events=len(subjects),
        posterior_probability=probability,
        posterior_threshold=monitor.posterior_threshold.value,
        max_acceptable_rate=monitor.max_acceptable_rate.value,
        warn_at=boundary,
        warning=boundary is not None and len(subjects) >= boundary,
        subjects=tuple(sorted(subjects)),
    )
