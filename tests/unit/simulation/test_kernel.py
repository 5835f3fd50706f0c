"""The fast kernel (reused buffers, one packed sort, fused sums) against independent implementations.

The reference for the log-rank sums is :func:`trialdesk.stats.logrank.logrank_test`, the port of R's
``survival::survdiff`` checked against R in ``tests/reference``; it shares no code with the kernel.
"""

from __future__ import annotations

import os
import threading
from dataclasses import fields

import numpy as np
import pytest

from tests.unit.simulation.conftest import matched_plan, scr_scenario
from trialdesk.domain.protocol.model import Protocol
from trialdesk.stats.logrank import logrank_test
from trialdesk.stats.simulation import TrialOutcomes, build_plan, scenario_from_dict
from trialdesk.stats.simulation.buffers import workspace
from trialdesk.stats.simulation.engine import _logrank_in_place, _MainPhase, _two_arm_logrank, run_batch


def _survdiff(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> tuple[float, float]:
    """(O - E, V) of group 1 from the survdiff port, patients with negative times left out."""
    keep = time >= 0
    fit = logrank_test(time[keep], event[keep], group[keep].astype(int))
    return float(fit.observed[1] - fit.expected[1]), float(fit.variance[1, 1])


def _trials(seed: int, n_trials: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    time = rng.exponential(6.0, size=(n_trials, n))
    event = rng.random((n_trials, n)) < 0.8
    group = rng.random((n_trials, n)) < 0.5
    time[:, :3] = -rng.random((n_trials, 3))  # never enrolled: negative time, no event
    event[:, :3] = False
    return time, event, group


def test_in_place_logrank_equals_the_survdiff_port_without_ties() -> None:
    time, event, group = _trials(1, 30, 80)
    ws = workspace(30, 80)
    np.copyto(ws.time, time)
    o_minus_e, variance, tied = _logrank_in_place(ws.time, event, group, ws)
    assert not tied.any()
    for i in range(time.shape[0]):
        o_e, v = _survdiff(time[i], event[i], group[i])
        assert o_minus_e[i] == pytest.approx(o_e, rel=1e-12, abs=1e-12)
        assert variance[i] == pytest.approx(v, rel=1e-12)


def test_trials_with_tied_times_are_recomputed_exactly() -> None:
    time, event, group = _trials(2, 20, 60)
    time[::3, 10] = time[::3, 11]  # a tie in every third trial (events or censorings)
    time[1, 20:23] = 2.5  # a three-way tie
    event[1, 20:23] = [True, False, True]
    codes = np.where(group, 0, 1).astype(np.int8)
    plan = matched_plan(0.7)  # experimental arm A is code 0; no interval censoring
    ws = workspace(20, 60)
    np.copyto(ws.time, time)
    np.copyto(ws.event, event)
    main = _MainPhase(ws.time, ws.event, codes, np.zeros(20), np.zeros(20, dtype=np.intp))
    o_minus_e, variance = _two_arm_logrank(plan, main, ws)
    for i in range(time.shape[0]):
        o_e, v = _survdiff(time[i], event[i], group[i])
        assert o_minus_e[i] == pytest.approx(o_e, rel=1e-12, abs=1e-12)
        assert variance[i] == pytest.approx(v, rel=1e-12)


def _same(a: TrialOutcomes, b: TrialOutcomes) -> None:
    for f in fields(TrialOutcomes):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)


def test_reused_buffers_do_not_leak_between_batches_or_into_results(scr: Protocol) -> None:
    matched = matched_plan(0.7)
    first = run_batch(matched, 5, 0, 200, medians=False)
    kept = {f.name: getattr(first, f.name).copy() for f in fields(TrialOutcomes)}
    scr_plan = build_plan(scr, scenario_from_dict(scr_scenario()))
    run_batch(scr_plan, 5, 1, 200)  # other plans and shapes in between
    run_batch(matched, 5, 1, 37, medians=False)
    again = run_batch(matched, 5, 0, 200, medians=False)
    _same(first, again)
    for name, value in kept.items():  # returned arrays are not views of the reused buffers
        np.testing.assert_array_equal(getattr(first, name), value, err_msg=name)


def test_fast_test_only_path_and_the_median_path_give_the_same_test() -> None:
    plan = matched_plan(0.7)
    fast = run_batch(plan, 11, 3, 300, medians=False)
    full = run_batch(plan, 11, 3, 300, medians=True)
    np.testing.assert_allclose(fast.z, full.z, rtol=1e-12)
    np.testing.assert_array_equal(fast.rejected, full.rejected)
    np.testing.assert_array_equal(fast.events, full.events)
    assert np.isnan(fast.medians).all() and not np.isnan(full.medians).all()


def test_threads_running_batches_at_once_get_their_own_buffers() -> None:
    # a Dask worker runs several batches at the same time in one process
    plan = matched_plan(0.7)
    expected = [run_batch(plan, 3, i, 250, medians=False) for i in range(8)]
    got: dict[int, TrialOutcomes] = {}

    def work(indices: range) -> None:
        for i in indices:
            got[i] = run_batch(plan, 3, i, 250, medians=False)

    threads = [threading.Thread(target=work, args=(range(k, 8, 2),)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(8):
        _same(expected[i], got[i])


def test_parallel_runs_reuse_one_pool_and_group_batches_without_changing_numbers() -> None:
    from trialdesk.stats.simulation import LocalExecutor, run_simulation
    from trialdesk.stats.simulation.batching.executors import _chunks, make_batches, shared_pool

    batches = make_batches(10_000, 100)
    chunks = _chunks(batches, 2)
    assert [b for chunk in chunks for b in chunk] == batches  # consecutive, each batch once
    sizes = [len(c) for c in chunks]
    assert sizes[:4] == [25, 19, 14, 11] and sizes[-3:] == [1, 1, 1]  # a quarter of what is left
    assert sizes == sorted(sizes, reverse=True)
    plan = matched_plan(0.7)
    one = run_simulation(plan, 1_300, seed=8, batch_size=100, medians=False)
    first = run_simulation(plan, 1_300, seed=8, executor=LocalExecutor(2), batch_size=100, medians=False)
    pool = shared_pool(2)
    second = run_simulation(plan, 1_300, seed=8, executor=LocalExecutor(2), batch_size=100, medians=False)
    assert shared_pool(2) is pool
    _same(one, first)
    _same(one, second)


def test_pool_workers_hold_no_descriptor_of_the_process_that_started_them() -> None:
    """A worker forked from the test process would keep this pipe's write end open for the pool's
    life, so the reader never saw EOF (the suite hung on a browser driver that could not exit)."""
    import select

    from trialdesk.stats.simulation import LocalExecutor, run_simulation
    from trialdesk.stats.simulation.batching.executors import shutdown_shared_pool

    shutdown_shared_pool()
    read_end, write_end = os.pipe()
    try:
        run_simulation(
            matched_plan(0.7), 400, seed=3, executor=LocalExecutor(2), batch_size=100, medians=False
        )
        os.close(write_end)
        readable, _, _ = select.select([read_end], [], [], 10.0)
        assert readable and os.read(read_end, 1) == b"", "a pool worker holds the pipe's write end"
    finally:
        os.close(read_end)
        shutdown_shared_pool()


@pytest.mark.parametrize("n", [60, 33_000])  # 15-bit count fields, and 31-bit fields above 32,767
def test_tied_risk_sets_equal_the_survdiff_port(n: int) -> None:
    from trialdesk.stats.simulation.engine import risk_sets, two_group_logrank

    time, event, group = _trials(4, 3, n)
    time = np.where(time >= 0, np.ceil(time / 0.5) * 0.5, time)  # a 0.5-month grid: many ties
    rs = risk_sets(time, event, group)
    assert rs.ties
    o_minus_e, variance = two_group_logrank(rs)
    for i in range(time.shape[0]):
        o_e, v = _survdiff(time[i], event[i], group[i])
        assert o_minus_e[i] == pytest.approx(o_e, rel=1e-10, abs=1e-10)
        assert variance[i] == pytest.approx(v, rel=1e-10)


def test_buffers_are_kept_per_shape_but_not_for_huge_designs() -> None:
    assert workspace(500, 282) is workspace(500, 282)
    assert workspace(500, 282) is not workspace(499, 282)
    assert workspace(500, 40_000) is not workspace(500, 40_000)  # ~1 GB of buffers: never kept
