"""Simon two-stage designs: published designs, constraints, and optimality against a naive search."""

from __future__ import annotations

import itertools

import pytest
from scipy import stats

from trialdesk.stats.errors import DesignInputError
from trialdesk.stats.simon import simon_operating_characteristics, simon_two_stage

# clinical-reference section 7.2 rows not among the R reference values (Simon 1989, Table 1 and 2)
PUBLISHED = [
    ((0.10, 0.30, 0.05, 0.90), (2, 18, 6, 35), (2, 22, 6, 33)),
    ((0.20, 0.40, 0.05, 0.90), (4, 19, 15, 54), (5, 24, 13, 45)),
    ((0.20, 0.35, 0.05, 0.80), (5, 22, 19, 72), (6, 31, 15, 53)),
]


@pytest.mark.parametrize(("problem", "optimal", "minimax"), PUBLISHED)
def test_simon_reproduces_published_designs(
    problem: tuple[float, float, float, float], optimal: tuple[int, ...], minimax: tuple[int, ...]
) -> None:
    result = simon_two_stage(*problem)
    assert (result.optimal.r1, result.optimal.n1, result.optimal.r, result.optimal.n) == optimal
    assert (result.minimax.r1, result.minimax.n1, result.minimax.r, result.minimax.n) == minimax


def test_simon_designs_meet_alpha_and_power() -> None:
    result = simon_two_stage(0.3, 0.5, 0.05, 0.8)
    for design in (result.optimal, result.minimax):
        assert design.alpha < 0.05
        assert design.power > 0.8
        assert design.en0 == pytest.approx(design.n1 + (1 - design.pet0) * (design.n - design.n1))
    assert result.minimax.n <= result.optimal.n
    assert result.optimal.en0 <= result.minimax.en0


def _naive_search(
    p0: float, p1: float, alpha: float, power: float, nmax: int
) -> tuple[tuple[int, ...], float]:
    """Plain loops over every (n, n1, r1, r): the smallest EN0 among feasible designs."""
    best: tuple[tuple[int, ...], float] = ((), float("inf"))
    for n in range(2, nmax + 1):
        for n1, r1 in itertools.product(range(1, n), range(n)):
            if r1 >= n1:
                continue
            for r in range(r1, n):
                oc0 = simon_operating_characteristics(r1, n1, r, n, p0)
                if oc0.p_reject >= alpha:
                    continue
                beta = 1 - simon_operating_characteristics(r1, n1, r, n, p1).p_reject
                if beta < 1 - power and oc0.expected_n < best[1] - 1e-12:
                    best = ((r1, n1, r, n), oc0.expected_n)
                break  # larger r only lowers power
    return best


def test_simon_optimal_equals_naive_exhaustive_search() -> None:
    result = simon_two_stage(0.05, 0.30, 0.10, 0.80, nmax=25)
    design, en0 = _naive_search(0.05, 0.30, 0.10, 0.80, 25)
    assert result.optimal.en0 == pytest.approx(en0, rel=1e-12)
    assert (result.optimal.r1, result.optimal.n1, result.optimal.n) == design[:2] + design[3:]


def test_simon_operating_characteristics_formula() -> None:
    oc = simon_operating_characteristics(1, 10, 5, 29, 0.1)
    x1 = range(2, 11)
    expected = sum(stats.binom.pmf(x, 10, 0.1) * stats.binom.sf(5 - x, 19, 0.1) for x in x1)
    assert oc.p_reject == pytest.approx(expected, rel=1e-12)
    assert oc.pet == pytest.approx(stats.binom.cdf(1, 10, 0.1), rel=1e-12)


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ((0.3, 0.2, 0.05, 0.8), "p1"),
        ((0.3, 0.3, 0.05, 0.8), "p1"),
        ((0.1, 0.3, 1.5, 0.8), "alpha"),
        ((0.1, 0.3, 0.05, 1.0), "power"),
        ((0.0, 0.3, 0.05, 0.8), "p0"),
    ],
)
def test_simon_rejects_bad_input(args: tuple[float, float, float, float], parameter: str) -> None:
    with pytest.raises(DesignInputError) as info:
        simon_two_stage(*args)
    assert info.value.parameter == parameter


def test_simon_reports_when_nmax_is_too_small() -> None:
    with pytest.raises(DesignInputError, match="increase nmax"):
        simon_two_stage(0.2, 0.3, 0.05, 0.8, nmax=20)
