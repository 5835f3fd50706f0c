"""The dependency rule of docs/architecture.md, checked on every module of every layer.

Layers, lowest first: ``stats`` (numerics) and ``domain`` (rules) are pure; ``analysis`` (pure analysis
and report snapshots) sits on both; ``adapters`` (I/O) may use the pure layers; ``services`` (use
cases) use adapters and the pure layers; ``entrypoints`` (CLI, API) use everything. Nothing imports
a layer above it: no import runs back up. The checker reads each module's syntax tree (absolute,
relative, ``from trialdesk import x``, ``TYPE_CHECKING`` and ``importlib.import_module("...")``
imports alike), and the tests at the end plant violations to show it catches them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "trialdesk"

IO_LIBRARIES = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "typer",
    "rich",
    "uvicorn",
    "alembic",
    "psycopg",
    "jinja2",
    "matplotlib",
)
"""Web, database, CLI and rendering libraries: never imported by a pure layer."""

_ABOVE_PURE = ("trialdesk.services", "trialdesk.adapters", "trialdesk.entrypoints", "trialdesk.protocols")
_PURE = (*_ABOVE_PURE, "trialdesk.config", *IO_LIBRARIES)

RULES: dict[str, tuple[str, ...]] = {
    "stats": ("trialdesk.domain", "trialdesk.analysis", *_PURE),
    "domain": ("trialdesk.analysis", *_PURE),
    "analysis": _PURE,
    "adapters": ("trialdesk.services", "trialdesk.entrypoints"),
    "services": ("trialdesk.entrypoints",),
    "protocols": ("trialdesk.services", "trialdesk.adapters", "trialdesk.entrypoints"),
}
"""Layer (top-level folder of ``trialdesk``) -> module prefixes none of its modules may import."""

TYPE_ONLY_ALLOWED: dict[str, tuple[str, ...]] = {"stats": ("trialdesk.domain",)}
"""Layer -> forbidden prefixes it may still name for type checking only (``if TYPE_CHECKING:``): the
numerics annotate with the protocol model but never run domain code."""

UNCONSTRAINED = frozenset({"entrypoints", "schemas", "__init__", "config"})
"""Top-level names that may import any layer (the outermost shell) or hold no code."""


def module_name(path: Path, root: Path = SRC) -> str:
    """Dotted module name of ``path`` under the source root (``__init__.py`` names its package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(node: ast.AST, type_only: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node under ``node`` with whether it sits in an ``if TYPE_CHECKING:`` block."""
    yield node, type_only
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        children: list[tuple[ast.AST, bool]] = [(child, True) for child in node.body]
        children += [(child, type_only) for child in node.orelse]
    else:
        children = [(child, type_only) for child in ast.iter_child_nodes(node)]
    for child, flag in children:
        yield from _nodes(child, flag)


def imported_names(source: str, module: str, *, is_package: bool = False) -> Iterator[tuple[str, bool]]:
    """Every module name ``source`` (the text of ``module``) imports, relative imports resolved, with
    whether the import is for type checking only (inside ``if TYPE_CHECKING:``).

    ``from a.b import c`` yields ``a.b`` and ``a.b.c`` (``c`` may be a module); a constant string
    passed to ``importlib.import_module`` or ``__import__`` counts as an import too.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node, type_only in _nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((alias.name, type_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target, type_only
            yield from ((f"{target}.{alias.name}", type_only) for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            first = node.args[0]
            if name in {"import_module", "__import__"} and isinstance(first, ast.Constant):
                yield str(first.value), type_only


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def violations(source: str, module: str, layer: str, *, is_package: bool = False) -> list[str]:
    """``module imports name`` for every import of ``source`` that the rules of ``layer`` forbid."""
    forbidden, type_only_ok = RULES[layer], TYPE_ONLY_ALLOWED.get(layer, ())
    found = dict.fromkeys(
        name
        for name, type_only in imported_names(source, module, is_package=is_package)
        if _matches(name, forbidden) and not (type_only and _matches(name, type_only_ok))
    )
    return [f"{module} imports {name}" for name in found]


def layer_violations(layer: str, root: Path = SRC) -> list[str]:
    """Every forbidden import in every module of ``layer`` under ``root``."""
    files = sorted((root / PACKAGE / layer).rglob("*.py"))
    assert files, f"no modules found in {layer}"
    return [
        offence
        for path in files
        for offence in violations(
            path.read_text(encoding="utf-8"),
            module_name(path, root),
            layer,
            is_package=path.name == "__init__.py",
        )
    ]


@pytest.mark.parametrize("layer", sorted(RULES))
def test_no_module_imports_a_layer_above_it(layer: str) -> None:
    assert layer_violations(layer) == []


def test_every_top_level_package_has_a_rule() -> None:
    tops = {p.stem if p.is_file() else p.name for p in (SRC / PACKAGE).iterdir() if p.suffix in {"", ".py"}}
    tops.discard("__pycache__")
    assert tops - set(RULES) - UNCONSTRAINED == set(), "a new layer needs its rule in RULES"


# --- the checker catches planted violations ---------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "trialdesk.adapters.report.planted",
            "from trialdesk.services.trials import get_trial\n",
            "trialdesk.services.trials",
        ),
        ("trialdesk.adapters.report.planted", "from ...services import trials\n", "trialdesk.services"),
        ("trialdesk.adapters.planted", "from trialdesk import services\n", "trialdesk.services"),
        (
            "trialdesk.services.planted",
            "import trialdesk.entrypoints.cli.main\n",
            "trialdesk.entrypoints.cli.main",
        ),
        (
            "trialdesk.services.planted",
            "import typing\nif typing.TYPE_CHECKING:\n    from trialdesk.entrypoints.api import deps\n",
            "trialdesk.entrypoints.api",
        ),
        (
            "trialdesk.stats.planted",
            "from trialdesk.domain.protocol import Protocol\n",
            "trialdesk.domain.protocol",
        ),
        ("trialdesk.stats.planted", "from ..services import clock\n", "trialdesk.services"),
        (
            "trialdesk.domain.safety.planted",
            "from trialdesk.analysis import snapshot\n",
            "trialdesk.analysis",
        ),
        ("trialdesk.domain.planted", "import sqlalchemy.orm\n", "sqlalchemy.orm"),
        (
            "trialdesk.analysis.planted",
            "from trialdesk.adapters.db.models import Subject\n",
            "trialdesk.adapters.db.models",
        ),
        (
            "trialdesk.analysis.planted",
            "import importlib\nimportlib.import_module('trialdesk.services.trials')\n",
            "trialdesk.services.trials",
        ),
    ],
)
def test_the_checker_fails_on_a_planted_violation(module: str, source: str, expected: str) -> None:
    layer = module.split(".")[1]
    assert f"{module} imports {expected}" in violations(source, module, layer)


def test_the_checker_allows_what_the_layer_may_import() -> None:
    allowed = {
        "trialdesk.adapters.report.ok": "from trialdesk.analysis.snapshot import ReportSnapshot\n"
        "from ..db import models\n",
        "trialdesk.services.ok": "from trialdesk.adapters.db.audit import log_event\nfrom . import clock\n",
        "trialdesk.domain.ok": "from trialdesk.stats.binomial import clopper_pearson\n",
        "trialdesk.stats.ok": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from trialdesk.domain.protocol.model import Protocol\n",
        "trialdesk.analysis.ok": "import trialdesk\nfrom trialdesk.stats.cox import cox_ph\n",
    }
    for module, source in allowed.items():
        assert violations(source, module, module.split(".")[1]) == [], module


def test_a_planted_module_in_a_source_tree_fails_the_layer_check(tmp_path: Path) -> None:
    adapters = tmp_path / PACKAGE / "adapters" / "report"
    adapters.mkdir(parents=True)
    (tmp_path / PACKAGE / "adapters" / "__init__.py").write_text('"""Adapters."""\n')
    (adapters / "__init__.py").write_text("from ... import services\n")
    (adapters / "render.py").write_text("from trialdesk.analysis.snapshot import ReportSnapshot\n")
    (adapters / "planted.py").write_text("from ...services.safety_report import TOTAL\n")
    assert layer_violations("adapters", root=tmp_path) == [
        "trialdesk.adapters.report imports trialdesk.services",
        "trialdesk.adapters.report.planted imports trialdesk.services.safety_report",
        "trialdesk.adapters.report.planted imports trialdesk.services.safety_report.TOTAL",
    ]
