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

import atexit
import itertools
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from trialdesk.stats.errors import DesignInputError
from trialdesk.stats.simulation.batching.shared_outcomes import KeptOutcomes, SharedOutcomes
from trialdesk.stats.simulation.buffers import keep_freed_memory
from trialdesk.stats.simulation.engine import median_columns, run_batch
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
    """Runs :func:`~trialdesk.stats.simulation.engine.run_batch` for every batch; returns the outcomes in
    batch order (one per batch, or runs of consecutive batches already joined)."""

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


_Item = TypeVar("_Item")


def _chunks(batches: Sequence[_Item], workers: int) -> list[tuple[_Item, ...]]:
    """Consecutive groups of batches in decreasing sizes (guided self-scheduling, Polychronopoulos &
    Kuck 1987): each group takes ``1 / (2 workers)`` of the batches not yet grouped, at least one.

    Large groups first keep the tasks few (each costs the parent a pipe round trip and a wait for
    its queue thread, and a worker sits idle meanwhile); small groups last leave the workers at most
    one small group apart at the end. 200 batches on 2 workers make 16 tasks whose last ones hold
    one batch, where equal groups of 13 batches could leave one worker a whole group behind. Batches
    keep their own seeds, so the grouping never changes the numbers.
    """
    out: list[tuple[_Item, ...]] = []
    start = 0
    while start < len(batches):
        size = max(1, -(-(len(batches) - start) // (2 * workers)))
        out.append(tuple(batches[start : start + size]))
        start += size
    return out


def _run_batches(
    plan: SimulationPlan, seed: int, chunk: tuple[Batch, ...], medians: bool
) -> list[TrialOutcomes]:
    """Run a group of batches in a worker process, in order."""
    return [run_batch(plan, seed, b.index, b.n_trials, medians) for b in chunk]


def _write_batches(
    plan: SimulationPlan,
    seed: int,
    chunk: tuple[tuple[Batch, int], ...],
    medians: bool,
    shared: SharedOutcomes,
) -> int:
    """Run a group of ``(batch, first row)`` in a worker process, writing each batch's rows into the
    shared outcomes; returns the number of trials written."""
    rows = shared.rows()
    for batch, start in chunk:
        rows.write(start, run_batch(plan, seed, batch.index, batch.n_trials, medians))
    return sum(batch.n_trials for batch, _ in chunk)


_pool_lock = threading.Lock()
_pool: tuple[int, ProcessPoolExecutor] | None = None
kept_outcomes = KeptOutcomes()
"""The outcome file the pool's workers write into, kept from run to run (one run at a time)."""


def shared_pool(workers: int) -> ProcessPoolExecutor:
    """The process pool of ``workers`` processes kept for the life of this process.

    Runs reuse it: a new pool per run costs process start-up, and its fresh workers fault their
    batch buffers in again (issue 17: two workers gave only 1.1-1.4x over one). The workers keep
    freed memory for reuse (:func:`~trialdesk.stats.simulation.buffers.keep_freed_memory`). Asking for another
    number of workers replaces the pool; a broken pool (a worker killed) is replaced on next use.
    """
    global _pool
    with _pool_lock:
        if _pool is not None and (_pool[0] != workers or _is_broken(_pool[1])):
            _pool[1].shutdown(wait=True, cancel_futures=True)
            _pool = None
        if _pool is None:
            # forkserver, not fork: a forked worker inherits every open descriptor of this process
            # (a browser driver's pipe, a server's socket, the pool's own queues) and keeps it open for
            # the pool's life, so the other end never sees EOF: the test suite hung on a Playwright
            # driver that could not exit, and workers outlived their parent. A forkserver's children
            # start from a clean process and exit when this one goes.
            context = multiprocessing.get_context("forkserver")
            pool = ProcessPoolExecutor(max_workers=workers, initializer=keep_freed_memory, mp_context=context)
            _pool = (workers, pool)
        return _pool[1]


def _is_broken(pool: ProcessPoolExecutor) -> bool:
    return bool(getattr(pool, "_broken", False))


def shutdown_shared_pool() -> None:
    """Stop the shared pool's worker processes and remove the outcome file kept for them (also done
    when the interpreter exits)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool[1].shutdown(wait=True, cancel_futures=True)
            _pool = None
        kept_outcomes.close()


atexit.register(shutdown_shared_pool)


@dataclass(frozen=True)
class LocalExecutor:
    """Run batches in this process (``workers == 1``) or in the shared pool of ``workers`` processes
    (:func:`shared_pool`, kept between runs)."""

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
        pool = shared_pool(self.workers)
        with kept_outcomes.lease(total, median_columns(plan)) as shared:
            if shared is None:  # no room for the shared file anywhere: outcomes come back through the pool
                return self._run_returning(pool, plan, seed, batches, progress, medians)
            # each batch with its first row (accumulate yields one more start than there are batches)
            starts = itertools.accumulate((b.n_trials for b in batches), initial=0)
            futures: list[Future[int]] = []
            try:
                for chunk in _chunks(list(zip(batches, starts, strict=False)), self.workers):
                    futures.append(pool.submit(_write_batches, plan, seed, chunk, medians, shared))
                for future in as_completed(futures):
                    done += future.result()
                    _report(progress, done, total)
                return [shared.read(total)]
            except BaseException as exc:
                _cancel(futures, exc)
                raise

    def _run_returning(
        self,
        pool: ProcessPoolExecutor,
        plan: SimulationPlan,
        seed: int,
        batches: Sequence[Batch],
        progress: ProgressCallback | None,
        medians: bool,
    ) -> list[TrialOutcomes]:
        """The pool's workers return their outcomes (pickled through the pool's pipe)."""
        futures: dict[Future[list[TrialOutcomes]], tuple[Batch, ...]] = {}
        try:
            for chunk in _chunks(batches, self.workers):
                futures[pool.submit(_run_batches, plan, seed, chunk, medians)] = chunk
            finished = ((futures[future], future.result()) for future in as_completed(futures))
            return _in_batch_order(batches, finished, progress)
        except BaseException as exc:
            _cancel(futures, exc)
            raise


def _in_batch_order(
    batches: Sequence[Batch],
    finished: Iterable[tuple[Sequence[Batch], Sequence[TrialOutcomes]]],
    progress: ProgressCallback | None,
) -> list[TrialOutcomes]:
    """Gather groups of batches' outcomes as they finish (reporting progress after each group); return
    them in batch order."""
    total = sum(b.n_trials for b in batches)
    done = 0
    results: dict[int, TrialOutcomes] = {}
    for group, outcomes in finished:
        for batch, outcome in zip(group, outcomes, strict=True):
            results[batch.index] = outcome
            done += batch.n_trials
        _report(progress, done, total)
    return [results[b.index] for b in batches]


def _cancel(futures: Iterable[Future[Any]], exc: BaseException) -> None:
    """Cancel the tasks not started yet; replace the shared pool if a worker died."""
    for future in futures:
        future.cancel()
    if isinstance(exc, BrokenProcessPool):
        shutdown_shared_pool()


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
            finished = (
                ((index_of[future.key],), (future.result(),))
                for future in dask_as_completed(futures)  # type: ignore[no-untyped-call]
            )
            return _in_batch_order(batches, finished, progress)


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
