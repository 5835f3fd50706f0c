"""The local pool's workers write outcomes into one shared file: same numbers and dtypes as one process,
a fallback when there is no room for the file, one file kept for the pool from run to run (a run of its
own when the kept one is busy or the run too large), and no file left behind once the pool is done."""

from __future__ import annotations

import errno
import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
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
from trialdesk.stats.simulation.batching.shared_outcomes import COLUMNS, SharedOutcomes, remove_orphans
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
def private_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Shared outcome files go to a folder of this test's own, so leftovers can be counted; the test
    starts with no kept file and its kept file is removed after it."""
    executors.kept_outcomes.close()
    monkeypatch.setattr(shared_outcomes, "_folders", lambda: [tmp_path])
    yield tmp_path
    executors.kept_outcomes.close()


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def test_the_engine_gives_the_dtypes_the_shared_file_holds(scr_plan: SimulationPlan) -> None:
    outcome = run_batch(scr_plan, 3, 0, 50)
    assert [(f.name, getattr(outcome, f.name).dtype) for f in fields(TrialOutcomes)] == [
        (name, np.dtype(dtype)) for name, dtype in COLUMNS
    ]


@pytest.mark.parametrize("which", ["scr_plan", "ivo_plan"])
def test_two_workers_write_what_one_process_computes_and_keep_one_file(
    which: str, request: pytest.FixtureRequest, private_folder: Path
) -> None:
    plan: SimulationPlan = request.getfixturevalue(which)
    one = run_simulation(plan, 730, seed=11, executor=LocalExecutor(1), batch_size=100)
    two = run_simulation(plan, 730, seed=11, executor=LocalExecutor(2), batch_size=100)
    assert len(two) == 730
    assert two.medians.shape == (730, 2 if plan.design == "two_arm" else 1)
    assert_identical(one, two)
    [kept] = files_in(private_folder)
    assert kept.name.startswith(f"trialdesk-outcomes-{os.getpid()}-")
    assert kept.name in Path("/proc/self/maps").read_text()  # mapped here too, to read the rows
    executors.shutdown_shared_pool()
    assert files_in(private_folder) == []
    assert kept.name not in Path("/proc/self/maps").read_text()  # and its memory released


def test_the_kept_file_serves_smaller_runs_and_is_replaced_for_larger_ones(
    scr_plan: SimulationPlan, ivo_plan: SimulationPlan, private_folder: Path
) -> None:
    """Rows a larger earlier run left behind never leak into a smaller run's outcomes; a worker that
    mapped the old file writes into the new one."""
    expected = {n: run_simulation(scr_plan, n, seed=4, batch_size=100) for n in (900, 350, 1_400)}
    for n in (900, 350):
        assert_identical(
            expected[n], run_simulation(scr_plan, n, 4, executor=LocalExecutor(2), batch_size=100)
        )
    [first] = files_in(private_folder)
    assert_identical(
        expected[1_400], run_simulation(scr_plan, 1_400, 4, executor=LocalExecutor(2), batch_size=100)
    )
    [grown] = files_in(private_folder)
    assert grown != first and not first.exists()
    single_arm = run_simulation(ivo_plan, 300, seed=4, batch_size=100)  # one median column, not two
    assert_identical(single_arm, run_simulation(ivo_plan, 300, 4, executor=LocalExecutor(2), batch_size=100))
    [narrow] = files_in(private_folder)
    assert narrow != grown


def run_watching_files(plan: SimulationPlan, folder: Path) -> tuple[TrialOutcomes, list[list[Path]]]:
    """A 2-worker run of 500 trials (seed 9) and the files in ``folder`` at each progress report."""
    seen: list[list[Path]] = []
    outcomes = run_simulation(
        plan,
        500,
        seed=9,
        executor=LocalExecutor(2),
        batch_size=100,
        progress=lambda *_: seen.append(files_in(folder)),
    )
    return outcomes, seen


def test_a_run_gets_a_file_of_its_own_when_the_kept_one_is_busy_or_the_run_too_large(
    scr_plan: SimulationPlan, private_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = run_simulation(scr_plan, 500, seed=9, batch_size=100)
    with executors.kept_outcomes.lease(200, 2) as held:  # another thread's run holds the kept file
        assert held is not None and files_in(private_folder) == [held.path]
        two, seen = run_watching_files(scr_plan, private_folder)
        assert_identical(one, two)
        assert len(seen[0]) == 2 and held.path in seen[0]  # the run's own file beside the kept one
        assert files_in(private_folder) == [held.path]  # and gone when the run ended
    executors.kept_outcomes.close()
    monkeypatch.setattr(shared_outcomes, "MAX_KEPT_BYTES", 1_000)
    three, seen = run_watching_files(scr_plan, private_folder)
    assert_identical(one, three)
    assert len(seen[0]) == 1 and files_in(private_folder) == []  # too large to keep: removed at the end


def test_files_of_processes_that_died_are_removed_and_live_ones_kept(private_folder: Path) -> None:
    """A file whose named process is gone is an orphan unless someone holds its lock (its maker in
    another pid namespace, where the pid means nothing here)."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    orphan = private_folder / f"trialdesk-outcomes-{int(dead.stdout)}-abcd1234.bin"
    locked = private_folder / f"trialdesk-outcomes-{int(dead.stdout)}-efgh5678.bin"
    live = private_folder / f"trialdesk-outcomes-{os.getpid()}-abcd1234.bin"
    other = private_folder / "trialdesk-outcomes-notes.bin"
    for path in (orphan, locked, live, other):
        path.write_bytes(b"x")
    holder = os.open(locked, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_SH)
        assert remove_orphans() == [orphan]
        assert files_in(private_folder) == sorted([locked, live, other])
    finally:
        os.close(holder)
    assert remove_orphans() == [locked]  # its holder is gone now


def test_a_file_made_here_is_locked_until_removed(private_folder: Path) -> None:
    shared = SharedOutcomes.create(10, 1)
    assert shared is not None
    probe = os.open(shared.path, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        shared.remove()
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released with the removal
    finally:
        os.close(probe)


def test_without_room_for_the_file_outcomes_come_back_through_the_pool(
    scr_plan: SimulationPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    executors.kept_outcomes.close()
    monkeypatch.setattr(SharedOutcomes, "create", classmethod(lambda cls, *_, **__: None))
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
    with pytest.raises(ValueError, match="121 rows asked of a file of 120"):
        shared.read(121)
    shared.remove()
    np.testing.assert_array_equal(back.patients[20:], outcome.patients)
    assert not shared.path.exists()
    shared.remove()  # removing twice is harmless


def test_a_failed_run_leaves_only_the_kept_file_and_the_next_run_is_right(
    scr_plan: SimulationPlan, private_folder: Path
) -> None:
    def refuse(*_: object) -> None:
        raise RuntimeError("the progress display broke")

    with pytest.raises(RuntimeError, match="progress display broke"):
        run_simulation(scr_plan, 600, seed=1, executor=LocalExecutor(2), batch_size=100, progress=refuse)
    assert len(files_in(private_folder)) == 1
    one = run_simulation(scr_plan, 600, seed=2, batch_size=100)
    assert_identical(one, run_simulation(scr_plan, 600, seed=2, executor=LocalExecutor(2), batch_size=100))
    executors.kept_outcomes.close()
    with executors.kept_outcomes.lease(100, 2):  # busy: the failing run's own file is removed too
        with pytest.raises(RuntimeError, match="progress display broke"):
            run_simulation(scr_plan, 600, seed=1, executor=LocalExecutor(2), batch_size=100, progress=refuse)
        assert len(files_in(private_folder)) == 1
