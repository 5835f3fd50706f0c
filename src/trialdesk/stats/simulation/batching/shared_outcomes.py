"""Per-trial outcomes written by the local pool's workers straight into one shared, file-backed array.

Why (issue 17): returned through the pool, each group of batches was pickled in the worker, sent
through a pipe in 64 KB pieces (each piece waking this process on a machine whose cores the workers
keep busy), unpickled here and joined at the end: measured about 4 % of a 2-worker run (1.84x
against 1.91x from 1 to 2 workers, best of 8). Here this process makes one file of the run's
outcome columns, each worker maps it and writes its batches' rows in place, and only a short
acknowledgement goes back. The rows of different batches never overlap, so the workers need no lock;
this process reads the file only after every worker has answered.

The file lives in ``/dev/shm`` (memory, never written to disk) when there is room there, else in the
temporary folder; its space is reserved up front (``posix_fallocate``), so a full ``/dev/shm`` (64 MB
in a default container) is found before any worker writes to it, never as a ``SIGBUS`` mid-run. When
neither place has room, :meth:`SharedOutcomes.create` answers None and the caller falls back to
returning outcomes through the pool. The file is private to the user (mode 0600, ``mkstemp``).

One file is kept for the pool's life and reused run after run (:class:`KeptOutcomes`): made, reserved
and removed per run, and mapped afresh by each worker for each group of batches, the file cost about
7 ms of a 225 ms run of 100,000 trials on 2 workers (3 %: making and reserving it 1.7 ms, removing it
0.8 ms, mapping it 1.6 ms and faulting its pages in 2 ms per worker). Kept, a worker maps it once and
its pages stay faulted in. A run that finds the kept file in use by another thread's run, or that needs
more than :data:`MAX_KEPT_BYTES`, gets a file of its own, removed when the run ends whether it succeeded
or not. The kept file goes when the pool is shut down (and at exit); a process killed outright leaves
it behind, and the next process to keep a file removes such orphans (the file name holds the pid,
and a live file's maker holds a lock on it).
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from trialdesk.stats.simulation.results import TrialOutcomes

COLUMNS: tuple[tuple[str, type[np.generic]], ...] = (
    ("run_in_stopped", np.bool_),
    ("run_in_patients", np.int64),
    ("patients", np.int64),
    ("duration", np.float64),
    ("events", np.int64),
    ("z", np.float64),
    ("rejected", np.bool_),
    ("log_hr", np.float64),
    ("medians", np.float64),
)
"""The :class:`TrialOutcomes` fields in file order with the dtypes the engine gives them; ``medians``
has one column per arm, every other field one value per trial."""

_ALIGN = 64  # each column starts on a cache line
_SHM = Path("/dev/shm")
_PREFIX = "trialdesk-outcomes-"
_NAME = re.compile(re.escape(_PREFIX) + r"(\d+)-.*\.bin")
MAX_KEPT_BYTES = 32 << 20
"""The largest file kept between runs (about 500,000 trials of a two-arm design); a larger run makes a
file of its own, so a huge run does not hold its memory for the pool's life."""


def _layout(n_trials: int, n_arms: int) -> tuple[dict[str, tuple[int, tuple[int, ...]]], int]:
    """Byte offset and shape of each column, and the file size."""
    offsets: dict[str, tuple[int, tuple[int, ...]]] = {}
    size = 0
    for name, dtype in COLUMNS:
        shape = (n_trials, n_arms) if name == "medians" else (n_trials,)
        offsets[name] = (size, shape)
        size += -(-int(np.prod(shape)) * np.dtype(dtype).itemsize // _ALIGN) * _ALIGN
    return offsets, max(size, _ALIGN)


def _folders() -> list[Path]:
    folders = [_SHM] if _SHM.is_dir() and os.access(_SHM, os.W_OK) else []
    return [*folders, Path(tempfile.gettempdir())]


def _token() -> str:
    return os.urandom(8).hex()


@dataclass(frozen=True)
class SharedOutcomes:
    """The outcome columns of up to ``n_trials`` trials (``n_arms`` median columns) in the file at
    ``path``; a run of fewer trials uses the first rows. Picklable: workers receive it and open the file
    themselves. A ``kept`` file stays mapped in each process that wrote to it (:meth:`rows`); ``token``
    tells it from a later file that happens to get the same name."""

    path: Path
    n_trials: int
    n_arms: int
    kept: bool = False
    token: str = field(default_factory=_token)

    @classmethod
    def create(cls, n_trials: int, n_arms: int, *, kept: bool = False) -> SharedOutcomes | None:
        """Make and reserve the file (``/dev/shm`` first, then the temporary folder); None if neither
        has room for it."""
        _, size = _layout(n_trials, n_arms)
        for folder in _folders():
            try:
                fd, name = tempfile.mkstemp(prefix=f"{_PREFIX}{os.getpid()}-", suffix=".bin", dir=folder)
            except OSError:
                continue
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError:  # no room (ENOSPC) or not supported there: try the next folder
                os.close(fd)
                Path(name).unlink(missing_ok=True)
                continue
            fcntl.flock(fd, fcntl.LOCK_SH)  # held until remove(): tells a live file from an orphan
            _held[Path(name)] = fd
            return cls(Path(name), n_trials, n_arms, kept)
        return None

    def _columns(self, mode: Literal["r", "r+"]) -> dict[str, np.ndarray[Any, Any]]:
        """Views of the mapped file; it is unmapped when the last view goes (on return, in CPython)."""
        offsets, size = _layout(self.n_trials, self.n_arms)
        raw: np.memmap[Any, Any] = np.memmap(self.path, dtype=np.uint8, mode=mode, shape=(size,))
        columns = {}
        for name, dtype in COLUMNS:
            offset, shape = offsets[name]
            count = int(np.prod(shape))
            columns[name] = raw[offset : offset + count * np.dtype(dtype).itemsize].view(dtype).reshape(shape)
        return columns

    def rows(self) -> OutcomeRows:
        """The file mapped for writing (in a worker). A kept file is mapped once per process and stays
        mapped (replaced when another kept file comes); any other is mapped per call: call once per group
        of batches, not per batch (a mapping costs about 150 µs, 5 % of a batch)."""
        global _kept_rows
        if not self.kept:
            return OutcomeRows(self._columns("r+"), self.n_trials)
        with _kept_rows_lock:
            if _kept_rows is None or _kept_rows[0] != self:
                _kept_rows = None  # unmap the previous kept file before mapping this one
                _kept_rows = (self, OutcomeRows(self._columns("r+"), self.n_trials))
            return _kept_rows[1]

    def read(self, n_trials: int | None = None) -> TrialOutcomes:
        """The first ``n_trials`` rows (all by default), copied out of the file (call after every
        worker has written its rows)."""
        count = self.n_trials if n_trials is None else n_trials
        if not 0 <= count <= self.n_trials:
            raise ValueError(f"{count} rows asked of a file of {self.n_trials}")
        mapped = self.rows() if self.kept else OutcomeRows(self._columns("r"), self.n_trials)
        return mapped.copy(count)

    def remove(self) -> None:
        """Delete the file, release its lock and unmap it from this process (nothing happens if it is
        gone already)."""
        global _kept_rows
        self.path.unlink(missing_ok=True)
        fd = _held.pop(self.path, None)
        if fd is not None:
            os.close(fd)
        with _kept_rows_lock:
            if _kept_rows is not None and _kept_rows[0] == self:
                _kept_rows = None  # its memory goes with the last mapping


_kept_rows: tuple[SharedOutcomes, OutcomeRows] | None = None
_kept_rows_lock = threading.Lock()


_held: dict[Path, int] = {}
"""Descriptors of the files this process made, each holding a shared ``flock`` until the file is removed."""


def remove_orphans() -> list[Path]:
    """Delete outcome files left by processes killed before they could remove theirs; returns the
    paths removed.

    A file is an orphan when the process named in it is gone **and** nobody holds its lock: the pid
    alone could mislead where the folder is shared with another pid namespace (a container), and the
    lock (``flock``, held by the maker from creation to removal) is the same across namespaces.
    """
    removed = []
    for folder in _folders():
        try:
            candidates = list(folder.glob(f"{_PREFIX}*.bin"))
        except OSError:
            continue
        for path in candidates:
            match = _NAME.fullmatch(path.name)
            if match is None or _alive(int(match.group(1))):
                continue
            if _unlink_if_unlocked(path):
                removed.append(path)
    return removed


def _unlink_if_unlocked(path: Path) -> bool:
    """Delete ``path`` if its exclusive lock can be taken at once (no process holds it)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink()
    except OSError:  # locked by a live process (BlockingIOError), or not ours to delete
        return False
    finally:
        os.close(fd)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process (or not a pid at all): leave it
        return True
    return True


class KeptOutcomes:
    """The one outcome file a process keeps for its pool and lends to one run at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._file: SharedOutcomes | None = None
        self._swept = False

    @contextmanager
    def lease(self, n_trials: int, n_arms: int) -> Iterator[SharedOutcomes | None]:
        """A file for a run of ``n_trials`` trials: the kept one (grown if too small), else, when another
        run holds it or the run is too large to keep, one of the run's own, removed when the run ends.
        None when there is no room for a file anywhere."""
        _, size = _layout(n_trials, n_arms)
        if size > MAX_KEPT_BYTES or not self._lock.acquire(blocking=False):
            own = SharedOutcomes.create(n_trials, n_arms)
            try:
                yield own
            finally:
                if own is not None:
                    own.remove()
            return
        try:
            yield self._fit(n_trials, n_arms)
        finally:
            self._lock.release()

    def _fit(self, n_trials: int, n_arms: int) -> SharedOutcomes | None:
        """The kept file, replaced by a new one when it is too small or has another number of arms."""
        current = self._file
        if current is not None and current.n_trials >= n_trials and current.n_arms == n_arms:
            return current
        self._drop()
        if not self._swept:
            remove_orphans()
            self._swept = True
        self._file = SharedOutcomes.create(n_trials, n_arms, kept=True)
        return self._file

    def _drop(self) -> None:
        if self._file is not None:
            self._file.remove()
            self._file = None

    def close(self) -> None:
        """Delete the kept file (waits for a run that holds it)."""
        with self._lock:
            self._drop()


class OutcomeRows:
    """The outcome columns of a run, mapped for writing; unmapped when this object goes."""

    def __init__(self, columns: dict[str, np.ndarray[Any, Any]], n_trials: int) -> None:
        self._columns = columns
        self._n_trials = n_trials

    def write(self, start: int, outcomes: TrialOutcomes) -> None:
        """Write ``outcomes`` as rows ``start, start + 1, ...``. The dtypes must be the engine's
        (:data:`COLUMNS`) or safely widened to them (never a float into an integer)."""
        stop = start + len(outcomes)
        if start < 0 or stop > self._n_trials:
            raise ValueError(f"rows {start}..{stop} outside the run's {self._n_trials} trials")
        for name, target in self._columns.items():
            np.copyto(target[start:stop], getattr(outcomes, name), casting="safe")

    def copy(self, n_trials: int) -> TrialOutcomes:
        """The first ``n_trials`` rows, copied out of the file."""
        return TrialOutcomes(**{name: np.array(column[:n_trials]) for name, column in self._columns.items()})


__all__ = ["COLUMNS", "MAX_KEPT_BYTES", "KeptOutcomes", "OutcomeRows", "SharedOutcomes", "remove_orphans"]
