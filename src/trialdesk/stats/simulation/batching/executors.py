"""Where the batches run: in this process, in a local process pool, or on a Dask cluster.

Reproducibility contract: a run of ``n_sims`` trials is cut into fixed-size batches
(:data:`BATCH_SIZE` trials, the last one smaller). Batch ``i`` draws from its own generator,
``numpy.random.Generator(SFC64(SeedSequence(seed).spawn(...)[i]))``, and the per-trial outcomes are joined
in batch order. Executors only decide *where* each batch runs, so the same seed gives the same
numbers whatever the number of workers or the executor.

Dask is imported only inside :class:`DaskExecutor`, so importing this module (and starting the CLI)
stays fast when no cluster is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Protocol

from trialdesk.stats.errors import DesignInputError
from trialdesk.stats.simulation.engine import run_batch
from trialdesk.stats.simulation.plan import SimulationPlan
from trialdesk.stats.simulation.results import TrialOutcomes

BATCH_SIZE = 500
"""Trials per batch. Part of the seed contract: changing it changes the random streams."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(trials_done, trials_total)`` after each finished batch."""


@dataclass(frozen=True)
class Batch:
    """One unit of work: batch ``index`` of ``n_trials`` trials."""

    index: int
    n_trials: int


def make_batches(n_sims: int, batch_size: int = BATCH_SIZE) -> list[Batch]:
    """Cut ``n_sims`` trials into batches of ``batch_size`` (the last one smaller)."""
    if isinstance(n_sims, bool) or n_sims < 1:
        raise DesignInputError("sims", f"must be at least 1, got {n_sims}")
    if batch_size < 1:
        raise DesignInputError("batch_size", f"must be at least 1, got {batch_size}")
    return [Batch(i, min(batch_size, n_sims - start)) for i, start in enumerate(range(0, n_sims, batch_size))]


class BatchExecutor(Protocol):
    """Runs :func:`~trialdesk.stats.simulation.engine.run_batch` for every batch; returns them in order."""

    def run(
        self,
        plan: SimulationPlan,
        seed: int,
        batches: Sequence[Batch],
        progress: ProgressCallback | None,
        medians: bool,
    ) -> list[TrialOutcomes]: ...


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


@dataclass(frozen=True)
class LocalExecutor:
    """Run batches in this process (``workers == 1``) or in a pool of ``workers`` processes."""

    workers: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or self.workers < 1:
            raise DesignInputError("workers", f"must be at least 1, got {self.workers}")

    def run(
        self,
        plan: SimulationPlan,
        seed: int,
        batches: Sequence[Batch],
        progress: ProgressCallback | None,
        medians: bool,
    ) -> list[TrialOutcomes]:
        """Simulate every batch; results in batch order."""
        total = sum(b.n_trials for b in batches)
        done = 0
        if self.workers == 1 or len(batches) == 1:
            out = []
            for batch in batches:
                out.append(run_batch(plan, seed, batch.index, batch.n_trials, medians))
                done += batch.n_trials
                _report(progress, done, total)
            return out
        results: dict[int, TrialOutcomes] = {}
        with ProcessPoolExecutor(max_workers=min(self.workers, len(batches))) as pool:
            futures = {pool.submit(run_batch, plan, seed, b.index, b.n_trials, medians): b for b in batches}
            for future in as_completed(futures):
                batch = futures[future]
                results[batch.index] = future.result()
                done += batch.n_trials
                _report(progress, done, total)
        return [results[b.index] for b in batches]


@dataclass(frozen=True)
class DaskExecutor:
    """Run batches on an existing Dask distributed cluster (``address`` such as ``tcp://host:8786``).

    The workers need ``trialdesk`` importable (the same environment as the client).
    """

    address: str
    timeout_seconds: float = 30.0

    def run(
        self,
        plan: SimulationPlan,
        seed: int,
        batches: Sequence[Batch],
        progress: ProgressCallback | None,
        medians: bool,
    ) -> list[TrialOutcomes]:
        """Submit one task per batch, gather them as they finish; results in batch order."""
        from distributed import Client
        from distributed import as_completed as dask_as_completed

        total = sum(b.n_trials for b in batches)
        done = 0
        results: dict[int, TrialOutcomes] = {}
        try:
            client = Client(  # type: ignore[no-untyped-call]
                self.address, timeout=self.timeout_seconds
            )
        except OSError as exc:
            raise DesignInputError(
                "dask", f"cannot connect to the Dask scheduler at {self.address}: {exc}"
            ) from None
        with client:
            futures = [
                client.submit(run_batch, plan, seed, b.index, b.n_trials, medians, pure=False)
                for b in batches
            ]
            index_of = {future.key: b for future, b in zip(futures, batches, strict=True)}
            for future in dask_as_completed(futures):  # type: ignore[no-untyped-call]
                batch = index_of[future.key]
                results[batch.index] = future.result()
                done += batch.n_trials
                _report(progress, done, total)
        return [results[b.index] for b in batches]


def default_workers() -> int:
    """Number of local worker processes by default: the CPUs available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_simulation(
    plan: SimulationPlan,
    n_sims: int,
    seed: int,
    *,
    executor: BatchExecutor | None = None,
    progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
    medians: bool = True,
) -> TrialOutcomes:
    """Simulate ``n_sims`` trials of ``plan`` from ``seed``; outcomes in trial order.

    ``executor`` defaults to :class:`LocalExecutor` with one process. The outcomes do not depend on
    the executor (see the module docstring).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DesignInputError("seed", f"must be a whole number >= 0, got {seed!r}")
    batches = make_batches(n_sims, batch_size)
    runner = executor if executor is not None else LocalExecutor(1)
    return TrialOutcomes.concatenate(runner.run(plan, seed, batches, progress, medians))
