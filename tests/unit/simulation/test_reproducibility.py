"""Same seed, same numbers, whatever the number of workers; different seeds, different numbers."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from tests.unit.simulation.conftest import scr_scenario
from trialdesk.domain.protocol.model import Protocol
from trialdesk.stats.simulation import (
    LocalExecutor,
    SimulationPlan,
    TrialOutcomes,
    build_plan,
    run_simulation,
    scenario_from_dict,
)
from trialdesk.stats.simulation.batching.executors import make_batches
from trialdesk.stats.simulation.engine import run_batch


def assert_same(a: TrialOutcomes, b: TrialOutcomes) -> None:
    for f in fields(TrialOutcomes):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)


@pytest.fixture(scope="module")
def plan(scr: Protocol) -> SimulationPlan:
    return build_plan(scr, scenario_from_dict(scr_scenario()))


def test_one_and_two_local_workers_give_identical_trials(plan: SimulationPlan) -> None:
    one = run_simulation(plan, 700, seed=42, executor=LocalExecutor(1), batch_size=100)
    two = run_simulation(plan, 700, seed=42, executor=LocalExecutor(2), batch_size=100)
    assert len(one) == 700
    assert_same(one, two)


def test_batches_do_not_depend_on_the_order_they_run_in(plan: SimulationPlan) -> None:
    batches = make_batches(250, 100)
    assert [b.n_trials for b in batches] == [100, 100, 50]
    forward = [run_batch(plan, 9, b.index, b.n_trials) for b in batches]
    backward = [run_batch(plan, 9, b.index, b.n_trials) for b in reversed(batches)][::-1]
    assert_same(TrialOutcomes.concatenate(forward), TrialOutcomes.concatenate(backward))
    assert_same(TrialOutcomes.concatenate(forward), run_simulation(plan, 250, seed=9, batch_size=100))


def test_different_seeds_and_batches_differ(plan: SimulationPlan) -> None:
    a = run_simulation(plan, 200, seed=1, batch_size=100)
    b = run_simulation(plan, 200, seed=2, batch_size=100)
    assert not np.array_equal(a.duration, b.duration)
    # batch 0 and batch 1 of one run use different streams
    assert not np.array_equal(a.duration[:100], a.duration[100:])
