"""The local pool's workers write outcomes into one shared file: same numbers and dtypes as one process,
a fallback when there is no room for the file, and no file left behind."""

from __future__ import annotations

import errno
import os
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from tests.unit.simulation.conftest import scr_scenario
from trialdesk.domain.protocol.model import Protocol
from trialdesk.stats.simulation import (
    LocalExecutor,
    SimulationPlan,
    TrialOutcomes,
    build_plan,
    load_scenario,
    run_simulation,
    scenario_from_dict,
)
from trialdesk.stats.simulation.batching import executors, shared_outcomes
from trialdesk.stats.simulation.batching.shared_outcomes import COLUMNS, SharedOutcomes
from trialdesk.stats.simulation.engine import run_batch

SCENARIOS = Path(__file__).resolve().parents[3] / "examples" / "scenarios"


def assert_identical(a: TrialOutcomes, b: TrialOutcomes) -> None:
    """Equal values (NaN where NaN), shapes and dtypes, field by field."""
    for f in fields(TrialOutcomes):
        left, right = getattr(a, f.name), getattr(b, f.name)
        assert left.dtype == right.dtype, f.name
        np.testing.assert_array_equal(left, right, err_msg=f.name)


def run_with_progress(plan: SimulationPlan, n: int, seed: int) -> tuple[TrialOutcomes, list[tuple[int, int]]]:
    """A 2-worker run in batches of 100 and every ``(done, total)`` its progress callback received."""
    seen: list[tuple[int, int]] = []
    outcomes = run_simulation(
        plan,
        n,
        seed=seed,
        executor=LocalExecutor(2),
        batch_size=100,
        progress=lambda done, total: seen.append((done, total)),
    )
    return outcomes, seen


@pytest.fixture(scope="module")
def scr_plan(scr: Protocol) -> SimulationPlan:
    return build_plan(scr, scenario_from_dict(scr_scenario()))


@pytest.fixture(scope="module")
def ivo_plan(ivo: Protocol) -> SimulationPlan:
    return build_plan(ivo, load_scenario(SCENARIOS / "ivo-shfrt-2l-alternative.yaml"))


@pytest.fixture
def private_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Shared outcome files go to a folder of this test's own, so leftovers can be counted."""
    monkeypatch.setattr(shared_outcomes, "_folders", lambda: [tmp_path])
    return tmp_path


def test_the_engine_gives_the_dtypes_the_shared_file_holds(scr_plan: SimulationPlan) -> None:
    outcome = run_batch(scr_plan, 3, 0, 50)
    assert [(f.name, getattr(outcome, f.name).dtype) for f in fields(TrialOutcomes)] == [
        (name, np.dtype(dtype)) for name, dtype in COLUMNS
    ]


@pytest.mark.parametrize("which", ["scr_plan", "ivo_plan"])
def test_two_workers_write_what_one_process_computes_and_leave_no_file(
    which: str, request: pytest.FixtureRequest, private_folder: Path
) -> None:
    plan: SimulationPlan = request.getfixturevalue(which)
    one = run_simulation(plan, 730, seed=11, executor=LocalExecutor(1), batch_size=100)
    two = run_simulation(plan, 730, seed=11, executor=LocalExecutor(2), batch_size=100)
    assert len(two) == 730
    assert two.medians.shape == (730, 2 if plan.design == "two_arm" else 1)
    assert_identical(one, two)
    assert list(private_folder.iterdir()) == []


def test_without_room_for_the_file_outcomes_come_back_through_the_pool(
    scr_plan: SimulationPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executors.SharedOutcomes, "create", classmethod(lambda cls, *_: None))
    one = run_simulation(scr_plan, 450, seed=5, executor=LocalExecutor(1), batch_size=100)
    two, seen = run_with_progress(scr_plan, 450, seed=5)
    assert_identical(one, two)
    assert seen[-1] == (450, 450)


def test_progress_counts_every_trial_once(scr_plan: SimulationPlan, private_folder: Path) -> None:
    _, seen = run_with_progress(scr_plan, 1_250, seed=2)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == 1_250
    assert {t for _, t in seen} == {1_250}


def test_a_full_first_folder_moves_the_file_to_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full, roomy = tmp_path / "full", tmp_path / "roomy"
    full.mkdir()
    roomy.mkdir()
    real_fallocate = os.posix_fallocate

    def fallocate(fd: int, offset: int, length: int) -> None:
        if Path(os.readlink(f"/proc/self/fd/{fd}")).parent == full:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fallocate(fd, offset, length)

    monkeypatch.setattr(shared_outcomes, "_folders", lambda: [full, roomy])
    monkeypatch.setattr(os, "posix_fallocate", fallocate)
    shared = SharedOutcomes.create(1_000, 2)
    assert shared is not None and shared.path.parent == roomy
    assert list(full.iterdir()) == []  # the file that could not be reserved is gone
    assert shared.path.stat().st_size >= 1_000 * (1 + 8 + 8 + 8 + 8 + 8 + 1 + 8 + 16)
    assert shared.path.stat().st_mode & 0o777 == 0o600
    shared.remove()
    monkeypatch.setattr(shared_outcomes, "_folders", lambda: [full])
    assert SharedOutcomes.create(1_000, 2) is None


def test_rows_outside_the_run_or_floats_into_counts_are_refused(
    scr_plan: SimulationPlan, private_folder: Path
) -> None:
    shared = SharedOutcomes.create(120, 2)
    assert shared is not None
    outcome = run_batch(scr_plan, 1, 0, 100)
    rows = shared.rows()
    with pytest.raises(ValueError, match=r"rows 50\.\.150 outside the run's 120 trials"):
        rows.write(50, outcome)
    with pytest.raises(ValueError, match=r"rows -1\.\.99"):
        rows.write(-1, outcome)
    bad = TrialOutcomes(
        **{f.name: getattr(outcome, f.name) for f in fields(TrialOutcomes)} | {"events": outcome.z}
    )
    with pytest.raises(TypeError, match="Cannot cast"):
        rows.write(0, bad)
    rows.write(20, outcome)
    del rows
    back = shared.read()
    shared.remove()
    np.testing.assert_array_equal(back.patients[20:], outcome.patients)
    assert not shared.path.exists()
    shared.remove()  # removing twice is harmless


def test_a_failed_run_leaves_no_file(
    scr_plan: SimulationPlan, private_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise RuntimeError("the progress display broke")

    with pytest.raises(RuntimeError, match="progress display broke"):
        run_simulation(scr_plan, 600, seed=1, executor=LocalExecutor(2), batch_size=100, progress=refuse)
    assert list(private_folder.iterdir()) == []
