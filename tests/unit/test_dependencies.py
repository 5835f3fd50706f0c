"""pyproject.toml says what is used: every third-party module the runtime imports is a declared runtime
dependency, and test-only libraries are not."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "trialdesk"


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _project() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {"runtime": project["dependencies"], "dev": project["optional-dependencies"]["dev"]}


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m != "trialdesk"}


def test_every_module_the_runtime_imports_is_a_declared_runtime_dependency() -> None:
    runtime = {_name(r) for r in _project()["runtime"]}
    providers = packages_distributions()
    undeclared = {
        module: providers.get(module)
        for module in _imported_top_level_modules()
        if not {_name(d) for d in providers.get(module, [])} & runtime
    }
    assert undeclared == {}


def test_test_only_libraries_are_dev_dependencies() -> None:
    runtime = {_name(r) for r in _project()["runtime"]}
    dev = {_name(r) for r in _project()["dev"]}
    for library in ("pytest", "pandas", "lifelines", "pypdf", "hypothesis"):
        assert library in dev and library not in runtime, library
