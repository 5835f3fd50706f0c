"""The demo database for tests: built once per test session (it takes tens of seconds), then copied
to each test module that needs one, so modules never see each other's changes.

Under pytest-xdist the workers share one build: the first worker to need it builds it in the session's
common temporary folder while holding a file lock; the others wait for the lock and copy the result."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest

from trialdesk.entrypoints.demo import build_demo_database

_built: dict[str, Path] = {}


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's temporary folder common to every xdist worker (the worker's own one otherwise)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = _shared_folder(tmp_path_factory) / "demo-template"
    folder.mkdir(exist_ok=True)
    template = folder / "trialdesk-demo.sqlite3"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not template.exists():  # built as a .partial file and renamed when complete
            build_demo_database(template)
    return template


def demo_database_copy(tmp_path_factory: pytest.TempPathFactory, folder: Path) -> Path:
    """A fresh copy, in ``folder``, of the session's demo database (built on first use)."""
    if "template" not in _built:
        _built["template"] = _template(tmp_path_factory)
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "trialdesk-demo.sqlite3"
    shutil.copyfile(_built["template"], copy)
    return copy
