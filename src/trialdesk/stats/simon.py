"""Simon's two-stage phase II designs (optimal and minimax) by exact exhaustive search.

Design (r1/n1, r/n): treat n1 subjects; stop for futility if <= r1 respond; otherwise treat n - n1
more and declare the treatment promising if > r of all n respond.

* P(reject H0 | p) = sum_{x1=r1+1}^{n1} b(x1; n1, p) [1 - B(r - x1; n - n1, p)]
* PET(p) = B(r1; n1, p), EN(p) = n1 + (1 - PET(p)) (n - n1)
* feasible: P(reject | p0) < alpha and 1 - P(reject | p1) < beta (strict, as clinfun's Fortran)
* optimal: minimum EN(p0); minimax: minimum n, ties broken by EN(p0).

The search and its tie-breaks follow R ``clinfun::ph2simon`` (Fortran ``f2bdry``): for each total n,
the design with the smallest EN(p0) is kept, scanning n1 upwards, r1 downwards and r downwards and
keeping the first strict improvement (so among equally good designs: smallest n1, largest r1,
largest r). The binomial sums are evaluated as numpy arrays (one matrix product per first-stage size
n1 covers every n2 and every r1, r), and the scan over n1 stops once n1 reaches both the best EN(p0)
found and the smallest feasible n, since EN(p0) >= n1 for every design.

References
----------
Simon R (1989). Optimal two-stage designs for phase II clinical trials. Controlled Clinical Trials
10:1-10. Seshan VE, R package clinfun, ``ph2simon``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from trialdesk.stats.errors import DesignInputError, check_count, check_open_unit

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SimonOperatingCharacteristics:
    """Probability of rejecting H0, of early termination, and expected size at one response rate."""

    p: float
    p_reject: float
    pet: float
    expected_n: float


@dataclass(frozen=True)
class SimonDesign:
    """A two-stage design with its attained error rates.

    ``alpha`` = P(reject H0 | p0) and ``power`` = P(reject H0 | p1) are the attained values;
    ``en0``/``pet0`` and ``en1``/``pet1`` are the expected size and early-stopping probability under
    p0 and p1.
    """

    r1: int
    n1: int
    r: int
    n: int
    en0: float
    pet0: float
    alpha: float
    power: float
    en1: float
    pet1: float


@dataclass(frozen=True)
class SimonResult:
    """Optimal and minimax designs for one (p0, p1, alpha, power) problem."""

    p0: float
    p1: float
    alpha: float
    power: float
    nmax: int
    optimal: SimonDesign
    minimax: SimonDesign


def simon_operating_characteristics(
    r1: int, n1: int, r: int, n: int, p: float
) -> SimonOperatingCharacteristics:
    """P(reject H0), PET and EN of the design r1/n1, r/n when the true response rate is ``p``."""
    if not 0 <= r1 < n1 < n or not r1 <= r < n:
        raise DesignInputError("design", f"need 0 <= r1 < n1 < n and r1 <= r < n, got {r1}/{n1}, {r}/{n}")
    x1 = np.arange(r1 + 1, n1 + 1)
    p_reject = float(np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.sf(r - x1, n - n1, p)))
    pet = float(stats.binom.cdf(r1, n1, p))
    return SimonOperatingCharacteristics(
        p=p, p_reject=p_reject, pet=pet, expected_n=n1 + (1.0 - pet) * (n - n1)
    )


class _BinomialTables:
    """b(x; m, p) and P(X > k) for all m <= nmax, computed once per response rate."""

    def __init__(self, nmax: int, p: float) -> None:
        m = np.arange(nmax + 1)[:, None]
        self.offset = nmax
        self.pmf: FloatArray = np.asarray(
            stats.binom.pmf(np.arange(nmax + 1)[None, :], m, p), dtype=np.float64
        )
        k = np.arange(-nmax, nmax + 1)[None, :]
        self.sf: FloatArray = np.asarray(stats.binom.sf(k, m, p), dtype=np.float64)
        self.cdf: FloatArray = np.asarray(
            stats.binom.cdf(np.arange(nmax + 1)[None, :], m, p), dtype=np.float64
        )

    def reject(self, n1: int) -> FloatArray:
        """R[n2 - 1, r1, r] = P(X1 > r1, X1 + X2 > r), X1 ~ B(n1), X2 ~ B(n2), for every n2 <= nmax - n1.

        r1 runs over 0..n1-1 and r over 0..nmax-1 (entries with r >= n1 + n2 are not meaningful).
        """
        nmax = self.offset
        x1 = np.arange(n1 + 1)
        k = np.arange(nmax)[None, :] - x1[:, None] + self.offset
        sf2 = self.sf[1 : nmax - n1 + 1]
        # upper[r1, x1] = b(x1; n1, p) if x1 > r1: sum over x1 as one matrix product per n2
        upper = np.triu(np.broadcast_to(self.pmf[n1, : n1 + 1], (n1 + 1, n1 + 1)), k=1)[:n1]
        return np.asarray(np.matmul(upper, sf2[:, k]), dtype=np.float64)


def _best_for_n1(
    n1: int, tables0: _BinomialTables, tables1: _BinomialTables, alpha: float, beta: float
) -> list[tuple[int, float, int, int]]:
    """For each n2 with a feasible design of first-stage size n1: (n2, EN0, r1, r) of the best one.

    Best = smallest EN0; among exact ties the largest r1 and then the largest r (clinfun's scan order).
    """
    nmax = tables0.offset
    n2 = np.arange(1, nmax - n1 + 1)[:, None, None]
    r1 = np.arange(n1)[None, :, None]
    r = np.arange(nmax)[None, None, :]
    in_range = (r >= r1) & (r <= r1 + n2)
    feasible: NDArray[np.bool_] = in_range & (tables0.reject(n1) < alpha) & (1.0 - tables1.reject(n1) < beta)
    any_r: NDArray[np.bool_] = np.any(feasible, axis=2)
    en0 = n1 + (1.0 - tables0.cdf[n1, :n1])[None, :] * n2[:, :, 0]
    en0 = np.where(any_r, en0, np.inf)
    found: list[tuple[int, float, int, int]] = []
    for i in np.flatnonzero(np.any(any_r, axis=1)):
        best_r1 = n1 - 1 - int(np.argmin(en0[i, ::-1]))
        best_r = int(np.flatnonzero(feasible[i, best_r1])[-1])
        found.append((int(i) + 1, float(en0[i, best_r1]), best_r1, best_r))
    return found


def simon_two_stage(
    p0: float, p1: float, alpha: float = 0.05, power: float = 0.8, nmax: int = 100
) -> SimonResult:
    """Optimal and minimax Simon two-stage designs by exhaustive search over n <= ``nmax``.

    Parameters
    ----------
    p0:
        Unacceptable (null) response rate, in (0, 1).
    p1:
        Desirable response rate, p0 < p1 < 1.
    alpha:
        Maximum type I error, in (0, 1) (attained error must be strictly below it).
    power:
        Minimum power, in (0, 1) (attained type II error strictly below 1 - power).
    nmax:
        Largest total sample size searched (clinfun's default is 100; at most 1000).

    Raises
    ------
    DesignInputError
        For out-of-range inputs, or when no design with n <= nmax meets the constraints.
    """
    p0 = check_open_unit("p0", p0)
    p1 = check_open_unit("p1", p1)
    if p1 <= p0:
        raise DesignInputError("p1", f"must be greater than p0 ({p0:g}), got {p1:g}")
    alpha = check_open_unit("alpha", alpha)
    power = check_open_unit("power", power)
    nmax = check_count("nmax", nmax, minimum=2)
    if nmax > 1000:
        raise DesignInputError("nmax", f"must be at most 1000, got {nmax}")
    beta = 1.0 - power
    tables0, tables1 = _BinomialTables(nmax, p0), _BinomialTables(nmax, p1)
    best_by_n: dict[int, tuple[float, int, int, int]] = {}
    for n1 in range(1, nmax):
        if best_by_n and n1 >= min(best_by_n) and n1 >= min(v[0] for v in best_by_n.values()):
            # every design with this first stage has EN0 >= n1, so none can be optimal, and the smallest
            # feasible n has already seen all its first-stage sizes: the search is complete
            break
        for n2, en0, r1, r in _best_for_n1(n1, tables0, tables1, alpha, beta):
            n = n1 + n2
            # a design must stop early with positive probability (EN0 < n); keep the first strict best
            if en0 < n and (n not in best_by_n or en0 < best_by_n[n][0]):
                best_by_n[n] = (en0, r1, n1, r)
    if not best_by_n:
        raise DesignInputError("nmax", f"no design with n <= {nmax} meets alpha and power; increase nmax")
    n_minimax = min(best_by_n)
    n_optimal = min(best_by_n, key=lambda m: (best_by_n[m][0], m))

    def design(n: int) -> SimonDesign:
        _, r1, n1, r = best_by_n[n]
        under_p0 = simon_operating_characteristics(r1, n1, r, n, p0)
        under_p1 = simon_operating_characteristics(r1, n1, r, n, p1)
        return SimonDesign(
            r1=r1,
            n1=n1,
            r=r,
            n=n,
            en0=under_p0.expected_n,
            pet0=under_p0.pet,
            alpha=under_p0.p_reject,
            power=under_p1.p_reject,
            en1=under_p1.expected_n,
            pet1=under_p1.pet,
        )

    return SimonResult(
        p0=p0,
        p1=p1,
        alpha=alpha,
        power=power,
        nmax=nmax,
        optimal=design(n_optimal),
        minimax=design(n_minimax),
    )
