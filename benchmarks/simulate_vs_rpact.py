"""Side-by-side: trialdesk's batched trial simulator against rpact's ``getSimulationSurvival``.

Both simulate the same simple two-arm design and run in one invocation of this script:

* exponential PFS, control median 6 months, hazard ratio 0.7 (experimental / control), 1:1;
* 282 patients entering uniformly over 24 months, no dropout, no interval censoring;
* analysis at the 247th event (Schoenfeld 1983 events for 80 % power), one-sided log-rank at 0.025.

The script prints the time per simulated trial of each (rpact timed inside R around the
``getSimulationSurvival`` call only; trialdesk around ``run_simulation``, process-pool start-up
included), their ratio, and the two power estimates with Monte Carlo SEs next to the analytic
Schoenfeld power. R and rpact come from the Debian packages ``r-base-core`` and ``r-cran-rpact``;
``benchmarks/setup.sh`` installs them when ``Rscript`` or rpact is missing (root needed).

Run from the repository root: ``.venv/bin/python benchmarks/simulate_vs_rpact.py`` (see
``benchmarks/README.md``). Timings are measured here only; the test suite never asserts them.
"""

from __future__ import annotations

import argparse
import math
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from trialdesk.domain.protocol.model import Protocol
from trialdesk.protocols import load_registry
from trialdesk.stats.simulation import (
    LocalExecutor,
    build_plan,
    run_simulation,
    scenario_from_dict,
    summarize,
)
from trialdesk.stats.simulation.batching.executors import default_workers
from trialdesk.stats.simulation.results import schoenfeld_power

HERE = Path(__file__).resolve().parent
HAZARD_RATIO, MEDIAN_CONTROL, PATIENTS, ACCRUAL, EVENTS, ALPHA = 0.7, 6.0, 282, 24.0, 247, 0.025

R_SCRIPT = """
suppressMessages(library(rpact))
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[1]); seed <- as.integer(args[2])
design <- getDesignGroupSequential(kMax = 1, alpha = {alpha}, sided = 1)
t0 <- proc.time()
sim <- getSimulationSurvival(design, hazardRatio = {hr}, lambda2 = log(2) / {median},
  directionUpper = FALSE, accrualTime = c(0, {accrual}), maxNumberOfSubjects = {patients},
  plannedEvents = {events}, maxNumberOfIterations = n, seed = seed, longTimeSimulationAllowed = TRUE)
used <- proc.time() - t0
cpu <- used[["user.self"]] + used[["sys.self"]]
cat(sprintf("RESULT %.8f %.6f %.6f %s\\n", sim$overallReject, used[["elapsed"]], cpu,
  as.character(packageVersion("rpact"))))
"""


def ensure_rpact() -> None:
    """Install R and rpact through ``benchmarks/setup.sh`` when they are missing."""
    if shutil.which("Rscript") is not None:
        check = subprocess.run(
            ["Rscript", "-e", "suppressMessages(library(rpact))"], capture_output=True, check=False
        )
        if check.returncode == 0:
            return
    print("Rscript or rpact missing: running benchmarks/setup.sh", flush=True)
    subprocess.run(["bash", str(HERE / "setup.sh")], check=True)


def run_rpact(n_sims: int, seed: int) -> dict[str, Any]:
    """Run rpact's simulation in a fresh R process; time measured inside R."""
    script = R_SCRIPT.format(
        alpha=ALPHA, hr=HAZARD_RATIO, median=MEDIAN_CONTROL, accrual=ACCRUAL, patients=PATIENTS, events=EVENTS
    )
    out = subprocess.run(
        ["Rscript", "-e", script, str(n_sims), str(seed)], capture_output=True, text=True, check=True
    ).stdout
    line = next(row for row in out.splitlines() if row.startswith("RESULT "))
    _, power, seconds, cpu, version = line.split()
    return {"power": float(power), "seconds": float(seconds), "cpu": float(cpu), "version": version}


def matched_protocol() -> Protocol:
    """SCR-ESCC-01's randomized phase alone (no run-in), 282 patients 1:1: a protocol made from data."""
    data: dict[str, Any] = load_registry().get("scr-escc-01").model_dump(mode="json")
    data["id"] = "matched-two-arm"
    data["design"]["type"] = "randomized"
    phase = next(p for p in data["design"]["phases"] if p["kind"] == "randomized")
    phase["target_size"] = {"min": PATIENTS, "max": PATIENTS}
    data["design"]["phases"] = [phase]
    data["design"]["target_enrolment"]["value"] = PATIENTS
    data["design"]["gates"] = []
    data["stopping_rules"] = []
    data["endpoints"] = [e for e in data["endpoints"] if phase["id"] in e["phases"]]
    return Protocol.model_validate(data)


def run_trialdesk(n_sims: int, seed: int, workers: int, medians: bool) -> dict[str, Any]:
    """Run trialdesk's batched simulator on the matched design."""
    scenario = scenario_from_dict(
        {
            "accrual": {"duration_months": ACCRUAL},
            "arms": {
                "B": {"distribution": "exponential", "median_months": MEDIAN_CONTROL},
                "A": {"relative_to": "B", "hazard_ratio": HAZARD_RATIO},
            },
            "assessment": {"interval_censoring": False},
            "analysis": {"cutoff": {"events": EVENTS}, "alpha": ALPHA},
        }
    )
    plan = build_plan(matched_protocol(), scenario)
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    outcomes = run_simulation(plan, n_sims, seed, executor=LocalExecutor(workers), medians=medians)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    return {"power": summarize(plan, outcomes).p_reject.value, "seconds": seconds, "cpu": cpu}


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _se(p: float, n: int) -> float:
    return math.sqrt(p * (1.0 - p) / n)


def main(argv: list[str] | None = None) -> int:
    """Run both simulators and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sims", type=int, default=100_000, help="trials simulated by trialdesk")
    parser.add_argument("--rpact-sims", type=int, default=20_000, help="trials simulated by rpact")
    parser.add_argument("--seed", type=int, default=20_260_101)
    parser.add_argument("--workers", type=int, default=default_workers(), help="trialdesk worker processes")
    args = parser.parse_args(argv)

    ensure_rpact()
    rpact = run_rpact(args.rpact_sims, args.seed)
    run_trialdesk(2_000, args.seed + 1, args.workers, medians=True)  # warm-up, as R's library load is untimed
    fast = run_trialdesk(args.sims, args.seed, args.workers, medians=False)
    full = run_trialdesk(args.sims, args.seed, args.workers, medians=True)
    single = run_trialdesk(args.sims, args.seed, 1, medians=False)
    analytic = schoenfeld_power(HAZARD_RATIO, EVENTS, ALPHA)

    rows = [
        (f"rpact {rpact['version']} getSimulationSurvival", args.rpact_sims, rpact),
        (f"trialdesk, {args.workers} worker(s), test only", args.sims, fast),
        ("trialdesk, 1 worker (one core, as R), test only", args.sims, single),
        (f"trialdesk, {args.workers} worker(s), + KM medians", args.sims, full),
    ]
    rpact_us = rpact["seconds"] / args.rpact_sims * 1e6
    rpact_cpu_us = rpact["cpu"] / args.rpact_sims * 1e6
    print(
        f"Design: exponential, HR {HAZARD_RATIO}, control median {MEDIAN_CONTROL:g} months, "
        f"{PATIENTS} patients uniform over {ACCRUAL:g} months, analysis at {EVENTS} events, "
        f"one-sided alpha {ALPHA}"
    )
    print(
        f"{'simulator':<48} {'trials':>7} {'wall us/trial':>13} {'ratio':>6} "
        f"{'CPU us/trial':>12} {'ratio':>6}  power (MC SE)"
    )
    for name, n, run in rows:
        us, cpu_us = run["seconds"] / n * 1e6, run["cpu"] / n * 1e6
        print(
            f"{name:<48} {n:>7} {us:>13.2f} {rpact_us / us:>5.1f}x "
            f"{cpu_us:>12.2f} {rpact_cpu_us / cpu_us:>5.1f}x  {run['power']:.4f} ({_se(run['power'], n):.4f})"
        )
    diff = fast["power"] - rpact["power"]
    se_diff = math.hypot(_se(fast["power"], args.sims), _se(rpact["power"], args.rpact_sims))
    print(f"Schoenfeld analytic power: {analytic:.4f}")
    print(f"power difference trialdesk - rpact: {diff:+.4f} = {diff / se_diff:+.2f} Monte Carlo SEs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
