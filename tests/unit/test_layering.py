"""The dependency rule of docs/architecture.md: pure layers import no I/O, web, DB or CLI code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "trialdesk"
FORBIDDEN_FOR_PURE = (
    "trialdesk.services",
    "trialdesk.adapters",
    "trialdesk.entrypoints",
    "trialdesk.protocols",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "typer",
    "rich",
    "uvicorn",
    "alembic",
    "psycopg",
)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", ["domain", "stats"])
def test_pure_layers_import_no_io_code(layer: str) -> None:
    files = sorted((SRC / layer).rglob("*.py"))
    assert files, f"no modules found in {layer}"
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in files
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_FOR_PURE)
    ]
    assert offenders == []
