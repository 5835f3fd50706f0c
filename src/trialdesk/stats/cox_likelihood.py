"""Log partial likelihood, score and information of a (stratified) Cox model, for Newton-Raphson.

Breslow (1974) and Efron (1977) ties are computed from risk-set sums: with the rows of a stratum
sorted by time, ``S0 = sum r``, ``S1 = sum r x`` and ``S2 = sum r x x'`` (``r = exp(x b)``) over the
risk set of each distinct event time are one reversed cumulative sum of a stacked ``(m, n)`` array
(``m = 1 + p + p (p + 1) / 2``: the upper triangle of ``x x'`` only), read at the first row of each
event time. Everything that does not depend on ``b`` (the sort, the event-time grouping, the Efron
fractions, the products ``x_j x_k``) is prepared once, so an evaluation costs a handful of passes
over the data. The exact ("discrete") likelihood uses the recursion of Gail, Lubin & Rubinstein
(1981) per event time.

References: R ``survival`` 3.5 ``coxfit6.c`` (same sums, same Efron weights); Therneau & Grambsch
(2000), *Modeling Survival Data*, sec. 3.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from trialdesk.stats.survival_data import BoolArray, FloatArray, IntArray

Ties = Literal["efron", "breslow", "exact"]
Evaluation = tuple[float, FloatArray, FloatArray]


class PartialLikelihood:
    """``evaluate(beta) -> (loglik, score, information)`` summed over strata.

    Parameters
    ----------
    x
        ``(n, p)`` covariates (centred, as R centres them, for numerical stability).
    time, event
        Validated follow-up times and event indicators.
    strata
        Stratum code per row (``0..k-1``).
    ties
        ``"efron"``, ``"breslow"`` or ``"exact"``.
    """

    def __init__(self, x: FloatArray, time: FloatArray, event: BoolArray, strata: IntArray, ties: Ties):
        self.ties = ties
        self.p = x.shape[1]
        self.blocks: list[_Stratum] = []
        levels = np.unique(strata)
        for s in levels:
            if levels.size == 1:
                xs, ts, es = x, time, event
            else:
                sel = strata == s
                xs, ts, es = x[sel], time[sel], event[sel]
            if es.any():
                self.blocks.append(_Stratum.build(xs, ts, es, efron=ties == "efron"))

    def evaluate(self, beta: FloatArray) -> Evaluation:
        """Log partial likelihood, score vector ``(p,)`` and information matrix ``(p, p)`` at ``beta``."""
        p = beta.size
        loglik, u, info = 0.0, np.zeros(p), np.zeros((p, p))
        for block in self.blocks:
            lk, g, h = _exact_block(block, beta) if self.ties == "exact" else block.approx(beta)
            loglik += lk
            u += g
            info += h
        return loglik, u, info


@dataclass(frozen=True)
class _Stratum:
    """One stratum with its fixed event-time structure (rows sorted by time, see ``build``).

    Rows are sorted by DEcreasing time and, within a time, deaths first. The risk set of an event
    time (rows with ``time >= t``) is then a prefix, and one forward cumulative sum gives every
    risk-set sum: ``risk_end[g]`` is the last row of the risk set of distinct event time ``g``, and
    the tied deaths of that time are rows ``death_first[g] .. death_first[g] + deaths[g] - 1``.
    ``design`` stacks ``x'`` (``p`` rows) and the upper-triangle products ``x_j x_k`` (order of
    ``pairs``), contiguous per row; ``buffer`` is the ``(m, n + 1)`` work array reused by every
    evaluation (column 0 stays 0). ``term_time``/``term_frac``/``term_weight`` list the terms of the
    log likelihood: Breslow has one per event time, weighted by its number of deaths; Efron one per
    death, the ``l``-th of ``d`` tied deaths (``l = 0..d-1``) at the risk set minus ``l / d`` of the
    tied deaths' own risk; ``term_start`` is where each event time's terms start.
    """

    x: FloatArray
    t: FloatArray
    e: BoolArray
    design: FloatArray
    buffer: FloatArray
    pairs: tuple[tuple[int, int], ...]
    risk_end: IntArray
    death_first: IntArray
    deaths: FloatArray
    death_x_sum: FloatArray
    term_time: IntArray
    term_frac: FloatArray
    term_weight: FloatArray
    term_start: IntArray
    efron_ties: bool

    @staticmethod
    def build(x: FloatArray, t: FloatArray, e: BoolArray, *, efron: bool) -> _Stratum:
        # one argsort of packed (time, event) keys (a non-negative double orders as its bits):
        # reversed, times decrease and a time's deaths come before its censorings
        key = (t + 0.0).view(np.uint64) << np.uint64(1)
        key |= e.view(np.uint8)
        order = np.argsort(key)[::-1]
        x, t, e = np.ascontiguousarray(x[order]), t[order], e[order]
        p = x.shape[1]
        pairs = tuple((j, k) for j in range(p) for k in range(j, p))
        design = np.empty((p + len(pairs), t.size))
        design[:p] = x.T
        for row, (j, k) in enumerate(pairs):
            np.multiply(x[:, j], x[:, k], out=design[p + row])
        death_rows = np.flatnonzero(e)
        death_times = t[death_rows]
        new_time = np.empty(death_rows.size, dtype=np.bool_)
        new_time[0] = True
        new_time[1:] = death_times[1:] != death_times[:-1]
        tie_start = np.flatnonzero(new_time)
        deaths = np.diff(np.append(tie_start, death_rows.size)).astype(np.float64)
        # last row with time >= the event time (times decrease down the rows)
        risk_end = np.searchsorted(-t, -death_times[tie_start], side="right") - 1
        efron_ties = efron and bool((deaths > 1).any())
        if efron_ties:
            group = np.cumsum(new_time) - 1
            rank_in_tie = np.arange(death_rows.size) - tie_start[group]
            term_time, term_frac = group, rank_in_tie / deaths[group]
            term_weight = np.ones(death_rows.size)
        else:  # Breslow, or Efron without ties (where it is Breslow)
            term_time, term_frac, term_weight = np.arange(tie_start.size), np.zeros(tie_start.size), deaths
        return _Stratum(
            x=x,
            t=t,
            e=e,
            design=design,
            buffer=np.zeros((1 + design.shape[0], t.size + 1)),
            pairs=pairs,
            risk_end=risk_end,
            death_first=death_rows[tie_start],
            deaths=deaths,
            death_x_sum=x[death_rows].sum(axis=0),
            term_time=term_time,
            term_frac=term_frac,
            term_weight=term_weight,
            term_start=tie_start,
            efron_ties=efron_ties,
        )

    def approx(self, beta: FloatArray) -> Evaluation:
        """Breslow or Efron log likelihood, score and information of this stratum.

        Per term (event time ``g``, fraction ``f``, weight ``w``) the risk-set sums are
        ``S - f D`` (``S``: whole risk set, ``D``: the tied deaths). Sums over terms are regrouped by
        event time so that only scalars are formed per term: with ``a = S0 - f D0``,
        ``sum w (S1 - f D1) / a = S1 A - D1 B`` where ``A = sum w / a``, ``B = sum w f / a`` per time,
        and the same for ``S2``; the outer products use ``sum w / a^2``, ``sum w f / a^2``,
        ``sum w f^2 / a^2``.
        """
        p = self.x.shape[1]
        cum = self.buffer  # cum[:, i + 1] = sum over rows 0..i after the in-place cumulative sum
        r = cum[0, 1:]
        np.dot(beta, self.design[:p], out=r)
        np.exp(r, out=r)
        np.multiply(self.design, r, out=cum[1:, 1:])
        np.cumsum(cum[:, 1:], axis=1, out=cum[:, 1:])
        risk = cum[:, self.risk_end + 1]  # (m, n_event_times)
        g, f, w = self.term_time, self.term_frac, self.term_weight
        if self.efron_ties:
            last = self.death_first + self.deaths.astype(np.intp)
            own = cum[:, last] - cum[:, self.death_first]
            a = risk[0, g] - f * own[0, g]
        else:
            own = np.zeros_like(risk)
            a = risk[0, g]
        # per term: w / a, w f / a, w / a^2, w f / a^2, w f^2 / a^2, then summed per event time
        per_term = np.empty((5, a.size))
        np.divide(w, a, out=per_term[0])
        np.multiply(f, per_term[0], out=per_term[1])
        np.divide(per_term[:2], a, out=per_term[2:4])
        np.multiply(f, per_term[3], out=per_term[4])
        # Efron's terms are grouped by event time (consecutive): one reduceat; Breslow's are per time
        per_time = np.add.reduceat(per_term, self.term_start, axis=1) if self.efron_ties else per_term
        big_a, big_b, c0, c1, c2 = per_time
        s1, d1 = risk[1 : 1 + p], own[1 : 1 + p]
        loglik = float(self.death_x_sum @ beta - w @ np.log(a))
        score = self.death_x_sum - (s1 @ big_a - d1 @ big_b)
        second = risk[1 + p :] @ big_a - own[1 + p :] @ big_b
        cross = (s1 * c0) @ s1.T - (s1 * c1) @ d1.T - (d1 * c1) @ s1.T + (d1 * c2) @ d1.T
        info = -cross
        for row, (j, k) in enumerate(self.pairs):
            info[j, k] += second[row]
            if j != k:
                info[k, j] += second[row]
        return loglik, score, info


def _exact_block(block: _Stratum, beta: FloatArray) -> Evaluation:
    """Exact discrete partial likelihood for one stratum (Gail, Lubin & Rubinstein 1981)."""
    x, t, e = block.x[::-1], block.t[::-1], block.e[::-1]  # increasing time
    p = x.shape[1]
    eta = x @ beta
    loglik, score, info = 0.0, np.zeros(p), np.zeros((p, p))
    for tj in np.unique(t[e]):
        start = int(np.searchsorted(t, tj, side="left"))
        dead = e & (t == tj)
        d = int(dead.sum())
        xs, etas = x[start:], eta[start:]
        shift = float(etas.max())
        r = np.exp(etas - shift)
        if d == 1:  # a single death: the exact term is the ordinary (Breslow) one
            mean = (xs * r[:, None]).sum(axis=0) / r.sum()
            loglik += float(eta[dead].sum() - (np.log(r.sum()) + shift))
            score += x[dead].sum(axis=0) - mean
            info += np.einsum("i,ij,ik->jk", r, xs, xs) / r.sum() - np.outer(mean, mean)
            continue
        b0 = np.zeros(d + 1)
        b0[0] = 1.0
        b1 = np.zeros((d + 1, p))
        b2 = np.zeros((d + 1, p, p))
        for rm, xm in zip(r, xs, strict=True):
            xx = np.outer(xm, xm)
            b2[1:] += rm * (
                b2[:-1]
                + xm[None, :, None] * b1[:-1, None, :]
                + b1[:-1, :, None] * xm[None, None, :]
                + xx[None] * b0[:-1, None, None]
            )
            b1[1:] += rm * (b1[:-1] + xm[None, :] * b0[:-1, None])
            b0[1:] += rm * b0[:-1]
        mean = b1[d] / b0[d]
        loglik += float(eta[dead].sum() - (np.log(b0[d]) + d * shift))
        score += x[dead].sum(axis=0) - mean
        info += b2[d] / b0[d] - np.outer(mean, mean)
    return loglik, score, info
