"""Start-up wall time of the quick ``trialdesk`` commands against the 0.5 s goal of issue 17.

One command, from the repository root::

    .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--json]

Each command runs ``--runs`` times in a fresh interpreter (``python -m trialdesk.entrypoints.cli.main``,
what the ``trialdesk`` script runs, with ``--src`` first on the path, default this checkout's ``src``),
after one untimed warm-up run that fills the OS file cache and the bytecode cache (kept in a
temporary ``PYTHONPYCACHEPREFIX``, as an installed package has its ``.pyc`` files; a
``PYTHONDONTWRITEBYTECODE`` of the caller's environment would otherwise recompile every module on
every run). Printed per command: the median and the fastest wall time, the median CPU
time (user + system of the child, steadier than wall time on a shared machine), the ratio of the
median wall time to the 0.5 s goal, and the time above the floor, ``python -c pass`` (the interpreter
alone). The peer row ``eager imports`` imports what the CLI imported before issue 17 (the FastAPI
app, SciPy's statistics and the simulator) without running a command.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_S = 0.5
"""Issue 17: ``--help``, ``protocol list`` and ``screen`` start in under half a second (wall)."""

CLI = [sys.executable, "-m", "trialdesk.entrypoints.cli.main"]
PATIENT = str(REPO / "examples" / "patients" / "scr-escc-01-ineligible.json")
BUNDLE = str(REPO / "examples" / "patients" / "scr-escc-01-eligible.fhir.json")
COMMANDS: dict[str, list[str]] = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "trialdesk --help": [*CLI, "--help"],
    "trialdesk protocol list": [*CLI, "protocol", "list"],
    "trialdesk screen scr-escc-01 <patient.json>": [*CLI, "screen", "scr-escc-01", PATIENT],
    "trialdesk screen scr-escc-01 <bundle.fhir.json>": [*CLI, "screen", "scr-escc-01", BUNDLE],
    "eager imports (as before issue 17)": [
        sys.executable,
        "-c",
        "import trialdesk.entrypoints.api.app, scipy.stats, trialdesk.stats.simulation",
    ],
}
FLOOR = "python -c pass (floor)"
TIMED = (
    "trialdesk --help",
    "trialdesk protocol list",
    "trialdesk screen scr-escc-01 <patient.json>",
    "trialdesk screen scr-escc-01 <bundle.fhir.json>",
)


@dataclass(frozen=True)
class Timing:
    """Start-up of one command over ``runs`` fresh processes, in seconds."""

    command: str
    runs: int
    median_wall_s: float
    min_wall_s: float
    median_cpu_s: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(name: str, argv: list[str], runs: int, src: Path, pycache: Path) -> Timing:
    """Wall and CPU time of ``argv`` with ``src`` on the path (output discarded; exit codes 0, 1 and 3
    are screening verdicts)."""
    env = {**os.environ, "PYTHONPATH": str(src), "NO_COLOR": "1", "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    walls: list[float] = []
    cpus: list[float] = []
    for run in range(runs + 1):
        cpu_before = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, check=False)
        wall = time.perf_counter() - started
        cpu = _children_cpu() - cpu_before
        if done.returncode not in (0, 1, 3):
            raise SystemExit(f"{name}: exit code {done.returncode}\n{done.stderr.decode(errors='replace')}")
        if run:  # the first run warms the file cache
            walls.append(wall)
            cpus.append(cpu)
    return Timing(name, runs, statistics.median(walls), min(walls), statistics.median(cpus))


def main() -> None:
    """Time every command and print the table (or one JSON object with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--src",
        type=Path,
        default=REPO / "src",
        help="the source tree to time (e.g. an older commit's, from git archive); default this checkout's",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: give at least 1")
    if not (args.src / "trialdesk" / "entrypoints" / "cli" / "main.py").is_file():
        parser.error(f"--src: {args.src} holds no trialdesk/entrypoints/cli/main.py")
    with tempfile.TemporaryDirectory(prefix="cli-startup-pycache-") as pycache:
        timings = {
            name: time_command(name, argv, args.runs, args.src.resolve(), Path(pycache))
            for name, argv in COMMANDS.items()
        }
    floor = timings[FLOOR].median_wall_s
    load = os.getloadavg()[0]
    if args.json:
        print(
            json.dumps(
                {
                    "goal_s": GOAL_S,
                    "src": str(args.src),
                    "load_average_1min": load,
                    "cpus": os.cpu_count(),
                    "results": [
                        {
                            **asdict(t),
                            "ratio_to_goal": t.median_wall_s / GOAL_S,
                            "above_floor_s": t.median_wall_s - floor,
                            "meets_goal": t.median_wall_s < GOAL_S if t.command in TIMED else None,
                        }
                        for t in timings.values()
                    ],
                },
                indent=2,
            )
        )
        return
    print(
        f"{args.runs} runs per command; source {args.src}; load average {load:.2f} on {os.cpu_count()} "
        f"CPUs; goal {GOAL_S} s"
    )
    print(
        f"{'command':50} {'median wall':>11} {'fastest':>8} {'median CPU':>10} {'/ goal':>7} "
        f"{'above floor':>11}"
    )
    for t in timings.values():
        print(
            f"{t.command:50} {t.median_wall_s:10.3f}s {t.min_wall_s:7.3f}s {t.median_cpu_s:9.3f}s "
            f"{t.median_wall_s / GOAL_S:6.2f}x {t.median_wall_s - floor:10.3f}s"
        )
    eager = timings["eager imports (as before issue 17)"].median_wall_s
    slowest = max(timings[name].median_wall_s for name in TIMED)
    print(f"slowest quick command: {slowest:.3f} s ({eager / slowest:.1f}x faster than the eager imports)")


if __name__ == "__main__":
    main()
