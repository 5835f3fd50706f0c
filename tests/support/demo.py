"""The demo database for tests: built once per test session (it takes tens of seconds), then copied
to each test module that needs one, so modules never see each other's changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trialdesk.entrypoints.demo import build_demo_database

_built: dict[str, Path] = {}


def demo_database_copy(tmp_path_factory: pytest.TempPathFactory, folder: Path) -> Path:
    """A fresh copy, in ``folder``, of the session's demo database (built on first use)."""
    if "template" not in _built:
        template = tmp_path_factory.mktemp("demo-template") / "trialdesk-demo.sqlite3"
        build_demo_database(template)
        _built["template"] = template
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "trialdesk-demo.sqlite3"
    shutil.copyfile(_built["template"], copy)
    return copy
