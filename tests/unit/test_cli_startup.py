"""The CLI starts without its heavy libraries (issue 17): deterministic checks, no timings.

``trialdesk --help``, ``trialdesk protocol list`` and ``trialdesk screen`` must start in well under half
a second, so importing the CLI (and running those commands) must not load SciPy, matplotlib, FastAPI,
Dask, the database stack or the simulator; each command imports what it needs when it runs. Each check
runs in a fresh interpreter (this test process has long since imported everything). The wall times
themselves are measured by ``benchmarks/cli_startup.py``, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
ELIGIBLE_JSON = REPO / "examples" / "patients" / "scr-escc-01-ineligible.json"

HEAVY = (
    "scipy",
    "matplotlib",
    "fastapi",
    "starlette",
    "uvicorn",
    "dask",
    "distributed",
    "lifelines",
    "pandas",
    "pyarrow",
    "polars",
    "sqlalchemy",
    "alembic",
    "argon2",
    "jinja2",
    "jsonschema",
    "numba",
    "weasyprint",
    "fhir",
)
"""Top-level packages none of the quick commands needs."""

HEAVY_TRIALDESK = ("trialdesk.stats.simulation", "trialdesk.adapters.db", "trialdesk.adapters.report")
"""trialdesk packages that pull the simulator, the database or the report renderer."""

PROBE = """
import json, sys
heavy, heavy_trialdesk, argv = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
import trialdesk.entrypoints.cli.main as cli
code = None
if argv:
    try:
        cli.app(argv, prog_name="trialdesk")
    except SystemExit as exc:
        code = exc.code
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in heavy or any(name == t or name.startswith(t + ".") for t in heavy_trialdesk)
)
print(json.dumps({"loaded": loaded, "code": code}), file=sys.stderr)
"""


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter on this checkout's ``src``, without colours or extra protocol folders."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1", "COLUMNS": "120"}
    env.pop("TRIALDESK_PROTOCOL_DIRS", None)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False
    )


def _probe(*argv: str) -> tuple[dict[str, object], str]:
    """Run ``trialdesk ARGV`` in a fresh interpreter; the heavy modules it loaded, its exit code and
    its standard output."""
    done = _python("-c", PROBE, json.dumps(HEAVY), json.dumps(HEAVY_TRIALDESK), json.dumps(argv))
    assert done.stderr.strip(), f"the probe printed nothing; stdout: {done.stdout!r}"
    result: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return result, done.stdout


def test_importing_the_cli_loads_no_heavy_library() -> None:
    result, _ = _probe()
    assert result["loaded"] == []


def test_help_lists_every_command_family_without_heavy_imports() -> None:
    result, out = _probe("--help")
    assert result["code"] == 0
    assert result["loaded"] == []
    for family in ("protocol", "screen", "simulate", "analyze", "design", "db", "serve", "report"):
        assert family in out


def test_protocol_list_shows_both_trials_without_heavy_imports() -> None:
    result, out = _probe("protocol", "list", "--json")
    assert result["code"] in (0, None)
    assert result["loaded"] == []
    ids = {p["id"] for p in json.loads(out)}
    assert ids == {"ivo-shfrt-2l", "scr-escc-01"}


def test_screen_of_a_patient_json_file_loads_no_heavy_library() -> None:
    result, out = _probe("screen", "scr-escc-01", str(ELIGIBLE_JSON), "--json")
    assert result["code"] == 1  # the example patient is ineligible (exit code 1, docs/cli)
    assert result["loaded"] == []
    assert json.loads(out)["verdict"] == "ineligible"


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (("analyze", "survival", "--help"), None),
        (("design", "simon", "--p0", "0.1", "--p1", "0.3", "--json"), "scipy"),
    ],
)
def test_a_command_that_needs_a_library_still_loads_it(argv: tuple[str, ...], module: str | None) -> None:
    """The imports moved into the commands still happen when the command runs (and only then)."""
    result, _ = _probe(*argv)
    assert result["code"] in (0, None)
    loaded = result["loaded"]
    assert isinstance(loaded, list)
    if module is None:
        assert loaded == []
    else:
        assert module in loaded


def _script(*argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m trialdesk.entrypoints.cli.main ARGV``: the script's own entry point, :func:`run`."""
    return _python("-m", "trialdesk.entrypoints.cli.main", *argv)


def test_a_quick_command_ending_without_teardown_keeps_its_output_and_exit_code() -> None:
    """Quick commands leave by os._exit after flushing: the whole JSON arrives (piped, so fully
    buffered) and the verdict's exit code is kept; an error keeps its message and code 2."""
    done = _script("screen", "scr-escc-01", str(ELIGIBLE_JSON), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["verdict"] == "ineligible"
    shown = _script("protocol", "show", "scr-escc-01", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == "scr-escc-01"
    missing = _script("screen", "scr-escc-01", str(REPO / "no-such-patient.json"))
    assert missing.returncode == 2
    assert "no-such-patient.json" in missing.stderr


@pytest.mark.parametrize(
    ("argv", "quick"),
    [
        (["screen", "scr-escc-01", "p.json", "--json"], True),
        (["protocol", "list"], True),
        (["version"], True),
        (["serve", "--help"], True),
        (["--help"], True),
        (["serve"], False),
        (["db", "upgrade"], False),
        (["report", "scr-escc-01", "--out", "r.pdf"], False),
        ([], False),
    ],
)
def test_only_commands_that_hold_no_resource_skip_the_teardown(argv: list[str], quick: bool) -> None:
    from trialdesk.entrypoints.cli import main

    assert main._is_quick(argv) is quick


def test_other_commands_exit_the_normal_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that may hold a database or a pool raises SystemExit as usual (teardown runs)."""
    from trialdesk.entrypoints.cli import main

    monkeypatch.setattr(sys, "argv", ["trialdesk", "db", "--no-such-option"])
    with pytest.raises(SystemExit) as raised:
        main.run()
    assert raised.value.code == 2
