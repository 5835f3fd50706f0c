"""Running simulation batches locally or on a Dask cluster (see :mod:`.executors`)."""

from trialdesk.stats.simulation.batching.executors import (
    BATCH_SIZE,
    Batch,
    BatchExecutor,
    DaskExecutor,
    LocalExecutor,
    ProgressCallback,
    default_workers,
    make_batches,
    run_simulation,
)

__all__ = [
    "BATCH_SIZE",
    "Batch",
    "BatchExecutor",
    "DaskExecutor",
    "LocalExecutor",
    "ProgressCallback",
    "default_workers",
    "make_batches",
    "run_simulation",
]
