"""Beta-binomial toxicity warning boundary (seed 000: grade >= 3 treatment-related AE rate)."""

from __future__ import annotations

import datetime as dt
from math import comb

import pytest

from trialdesk.domain.protocol.model import Protocol, ToxicityMonitoring
from trialdesk.domain.safety.stopping_rules import AdverseEventFact
from trialdesk.domain.safety.toxicity_monitoring import (
    boundary_table,
    evaluate_toxicity,
    posterior_probability_above,
    warning_boundary,
)


def _binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


@pytest.mark.parametrize(("events", "n", "a", "b"), [(0, 6, 1, 1), (4, 6, 1, 1), (5, 6, 1, 1), (7, 20, 2, 3)])
def test_posterior_matches_the_beta_binomial_identity(events: int, n: int, a: int, b: int) -> None:
    # for integer a', b': P(Beta(a', b') > x) = P(Binomial(a' + b' - 1, x) <= a' - 1)
    a_post, b_post = a + events, b + n - events
    expected = _binomial_cdf(a_post - 1, a_post + b_post - 1, 0.40)
    assert posterior_probability_above(events, n, 0.40, a, b) == pytest.approx(expected, rel=1e-9)


def test_seed_000_monitor_defaults(ivo_shfrt: Protocol) -> None:
    monitor = ivo_shfrt.toxicity_monitoring[0]
    assert (monitor.min_grade, monitor.treatment_related, monitor.max_acceptable_rate.value) == (
        3,
        True,
        0.40,
    )
    assert (monitor.prior_a.value, monitor.prior_b.value, monitor.posterior_threshold.value) == (1, 1, 0.80)


def test_boundary_is_the_first_count_whose_posterior_exceeds_the_threshold(ivo_shfrt: Protocol) -> None:
    monitor = ivo_shfrt.toxicity_monitoring[0]
    table = boundary_table(monitor, 37)
    assert table[0].n == 6 and table[-1].n == 37
    for row in table:
        assert row.warn_at is not None
        assert posterior_probability_above(row.warn_at, row.n, 0.4, 1, 1) > 0.80
        assert posterior_probability_above(row.warn_at - 1, row.n, 0.4, 1, 1) <= 0.80
    # 6 subjects: 4 events warn (P = P(Bin(7, .4) <= 4) = 0.904), 3 do not (0.710)
    assert table[0].warn_at == 4
    assert [r.warn_at for r in table] == sorted(r.warn_at for r in table)  # type: ignore[type-var]


def test_no_boundary_below_min_subjects(ivo_shfrt: Protocol) -> None:
    assert warning_boundary(5, ivo_shfrt.toxicity_monitoring[0]) is None


def _fact(subject: str, grade: int, level: str, ae: str) -> AdverseEventFact:
    return AdverseEventFact(subject, "main", grade, {"ivonescimab": level}, dt.date(2026, 5, 1), ae)  # type: ignore[dict-item]


def test_evaluation_counts_subjects_with_related_grade3_or_more(ivo_shfrt: Protocol) -> None:
    monitor: ToxicityMonitoring = ivo_shfrt.toxicity_monitoring[0]
    facts = [
        _fact("1", 3, "possible", "a"),
        _fact("1", 4, "definite", "b"),  # same subject counts once
        _fact("2", 3, "unlikely", "c"),  # not related
        _fact("3", 2, "definite", "d"),  # grade 2
        _fact("4", 3, "probable", "e"),
        _fact("5", 5, "possible", "f"),
    ]
    status = evaluate_toxicity(monitor, facts, 6, ivo_shfrt.attribution)
    assert (status.events, status.n, status.subjects) == (3, 6, ("1", "4", "5"))
    assert status.warn_at == 4 and status.warning is False
    warned = evaluate_toxicity(monitor, [*facts, _fact("6", 3, "possible", "g")], 6, ivo_shfrt.attribution)
    assert warned.warning is True and warned.posterior_probability > 0.80


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="events <= n"):
        posterior_probability_above(7, 6, 0.4, 1, 1)
    with pytest.raises(ValueError, match="max_rate"):
        posterior_probability_above(1, 6, 1.0, 1, 1)
    with pytest.raises(ValueError, match="positive"):
        posterior_probability_above(1, 6, 0.4, 0, 1)
