"""Shared test fixtures.

Reference data lives outside the repo in ``../shared/reference/`` (the repo's parent folder). The
suite fails with a clear message, never skips, when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("TRIALDESK_PASSWORD_HASH_COST", "test")
"""The suite hashes thousands of passwords: argon2id at its test cost (1 MiB, one pass) instead of
64 MiB and three passes; servers the tests start inherit it. Tests of the standard cost set it."""

os.environ.setdefault("TRIALDESK_LOGIN_RATE_PER_MINUTE", "10000")
"""The browser tests sign in dozens of times a minute from 127.0.0.1 against one module-scoped server;
the per-address limit (default 20 a minute) is tested on its own in test_account_security.py."""


def shared_reference_dir() -> Path:
    """Path of ``shared/reference`` (override with TRIALDESK_SHARED_REFERENCE)."""
    override = os.environ.get("TRIALDESK_SHARED_REFERENCE")
    path = Path(override) if override else REPO_ROOT.parent / "shared" / "reference"
    if not path.is_dir():
        pytest.fail(
            f"reference data folder not found at {path}: the tests need ../shared/reference beside the repo "
            "(or TRIALDESK_SHARED_REFERENCE pointing at it)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The shared reference-data folder (R outputs, published tables)."""
    return shared_reference_dir()


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's default data folder is a temporary one, never ``./data`` of the checkout: a CLI test
    that only sets TRIALDESK_DATABASE_URL must not sign its audit rows with (and append checkpoints to)
    a developer's real audit key and checkpoint file there. Tests that set the folder override it."""
    if "TRIALDESK_DATA_DIR" not in os.environ:
        monkeypatch.setenv("TRIALDESK_DATA_DIR", str(tmp_path_factory.mktemp("data-dir")))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the simulator's kept process pool (and its forkserver) when this test process is done: an
    xdist worker may leave without running the interpreter's exit hooks, and idle pool workers would
    outlive it."""
    import sys

    executors = sys.modules.get("trialdesk.stats.simulation.batching.executors")
    if executors is not None:
        executors.shutdown_shared_pool()
