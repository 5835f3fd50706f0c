"""Side-by-side: trialdesk's batched trial simulator against rpact's ``getSimulationSurvival``.

Both simulate the same simple two-arm design and run in one invocation of this script:

* exponential PFS, control median 6 months, hazard ratio 0.7 (experimental / control), 1:1;
* 282 patients entering uniformly over 24 months, no dropout, no interval censoring;
* analysis at the 247th event (Schoenfeld 1983 events for 80 % power), one-sided log-rank at 0.025.

The script prints the time per simulated trial of each (rpact timed inside R around the
``getSimulationSurvival`` call only; trialdesk around ``run_simulation``, after a warm-up that starts
the shared process pool), CPU time on one core and the wall-clock speed-up from 1 to 2 workers
(best of ``--repeats`` alternating runs), the two power estimates with Monte Carlo SEs next to the
analytic Schoenfeld power and a second analytic power from the expected risk sets (Lakatos 1988,
without Schoenfeld's local approximation; :func:`expected_risk_set_power`), and the wall time of
100,000 SCR-ESCC-01 trials (run-in + 282 randomized) with 2 workers, each beside its goal (issue 17).
``--json`` prints one JSON object.
R and rpact come from the Debian packages ``r-base-core`` and ``r-cran-rpact``;
``benchmarks/setup.sh`` installs them when ``Rscript`` or rpact is missing (root needed).

Run from the repository root: ``.venv/bin/python benchmarks/simulate_vs_rpact.py`` (see
``benchmarks/README.md``). Timings are measured here only; the test suite never asserts them.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from trialdesk.domain.protocol.model import Protocol
from trialdesk.protocols import load_registry
from trialdesk.stats.simulation import (
    BATCH_SIZE,
    LocalExecutor,
    SimulationPlan,
    build_plan,
    load_scenario,
    run_simulation,
    scenario_from_dict,
    summarize,
)
from trialdesk.stats.simulation.buffers import keep_freed_memory
from trialdesk.stats.simulation.engine import run_batch
from trialdesk.stats.simulation.results import schoenfeld_power

HERE = Path(__file__).resolve().parent
HAZARD_RATIO, MEDIAN_CONTROL, PATIENTS, ACCRUAL, EVENTS, ALPHA = 0.7, 6.0, 282, 24.0, 247, 0.025


def expected_risk_set_power() -> float:
    """Power of the design from the log-rank score's expected mean and variance (Lakatos 1988).

    A second analytic reference beside Schoenfeld's, without his local (HR near 1) approximation:
    at study time ``t`` the experimental arm's share of the risk set is ``phi = S1 / (S1 + S0)``
    (exponential survival; the censoring by staggered entry, ``P(entry <= C - t)`` for uniform entry
    over the accrual period and cut-off ``C``, is the same in both arms and cancels). An event there is
    experimental with probability ``p = HR phi / (HR phi + 1 - phi)``; the score ``U = sum (d1 - d
    phi)`` then has mean ``int r (p - phi) dt`` and variance ``int r p (1 - p) dt`` against the
    information ``V = int r phi (1 - phi) dt``, where ``r`` is the expected event rate and ``C`` puts
    247 events before the cut-off. Power = ``Phi((-E[U] / sqrt(V) - z) / sqrt(Var U / V))``. Used here
    only to show where the truth lies; it is not a product formula.
    """
    from scipy import integrate, optimize
    from scipy.stats import norm

    hazard_control = math.log(2.0) / MEDIAN_CONTROL
    hazard_experimental = hazard_control * HAZARD_RATIO

    def at_risk(t: float, arm_hazard: float, cutoff: float) -> float:
        entered = min(1.0, max(0.0, (cutoff - t) / ACCRUAL))
        return PATIENTS / 2 * math.exp(-arm_hazard * t) * entered

    def rate(t: float, cutoff: float) -> float:
        return hazard_control * at_risk(t, hazard_control, cutoff) + hazard_experimental * at_risk(
            t, hazard_experimental, cutoff
        )

    def expected_events(cutoff: float) -> float:
        return float(integrate.quad(rate, 0.0, cutoff, args=(cutoff,), limit=200)[0])

    cutoff = float(optimize.brentq(lambda c: expected_events(c) - EVENTS, 1.0, 500.0))

    def share(t: float) -> float:
        s1, s0 = math.exp(-hazard_experimental * t), math.exp(-hazard_control * t)
        return s1 / (s1 + s0)

    def event_share(t: float) -> float:
        phi = share(t)
        return HAZARD_RATIO * phi / (HAZARD_RATIO * phi + 1.0 - phi)

    def integral(f: Any) -> float:
        return float(integrate.quad(lambda t: rate(t, cutoff) * f(t), 0.0, cutoff, limit=200)[0])

    mean_u = integral(lambda t: event_share(t) - share(t))
    information = integral(lambda t: share(t) * (1.0 - share(t)))
    variance_u = integral(lambda t: event_share(t) * (1.0 - event_share(t)))
    z = float(norm.ppf(1.0 - ALPHA))
    drift = -mean_u / math.sqrt(information)
    return float(norm.cdf((drift - z) / math.sqrt(variance_u / information)))


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
    data["translations"] = {}  # SCR-ESCC-01's name the run-in this trial does not have
    return Protocol.model_validate(data)


def matched_plan() -> SimulationPlan:
    """trialdesk's plan of the matched design."""
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
    return build_plan(matched_protocol(), scenario)


def scr_plan() -> SimulationPlan:
    """SCR-ESCC-01 with run-in and 282 randomized (``examples/scenarios/scr-escc-01-282.yaml``)."""
    scenario = load_scenario(HERE.parent / "examples" / "scenarios" / "scr-escc-01-282.yaml")
    return build_plan(load_registry().get("scr-escc-01"), scenario)


def _worker_cpu_seconds() -> float:
    """User + system CPU time of this process and of its live worker processes (Linux ``/proc``).

    The shared process pool outlives a run, so ``RUSAGE_CHILDREN`` (finished children only) would
    not see its workers; their ``/proc/<pid>/stat`` counters do (clock-tick resolution).
    """
    own = time.process_time()
    ticks = os.sysconf("SC_CLK_TCK")
    children = 0.0
    for child in multiprocessing.active_children():
        try:
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)
    return own + children


def run_trialdesk(
    plan: SimulationPlan, n_sims: int, seed: int, workers: int, medians: bool
) -> dict[str, Any]:
    """One timed run: wall seconds, CPU seconds (workers included), power and the outcomes."""
    cpu_before = _worker_cpu_seconds()
    started = time.perf_counter()
    outcomes = run_simulation(plan, n_sims, seed, executor=LocalExecutor(workers), medians=medians)
    seconds = time.perf_counter() - started
    cpu = _worker_cpu_seconds() - cpu_before
    return {
        "power": summarize(plan, outcomes).p_reject.value,
        "seconds": seconds,
        "cpu": cpu,
        "z": outcomes.z,
    }


def _independent_process(
    plan: SimulationPlan, seed: int, batches: list[int], ready: Any, go: Any, ends: Any
) -> None:
    """One of the independent processes of :func:`run_independent`: warm up, wait, run, report the end."""
    keep_freed_memory()
    for index in batches[:2]:  # imports and batch buffers, untimed
        run_batch(plan, seed + 1, index, BATCH_SIZE, medians=False)
    ready.put(os.getpid())
    go.wait()
    for index in batches:
        run_batch(plan, seed, index, BATCH_SIZE, medians=False)
    ends.put(time.perf_counter())  # CLOCK_MONOTONIC: one clock for every process of the machine


def run_independent(plan: SimulationPlan, n_sims: int, seed: int, processes: int) -> float:
    """Wall seconds for ``processes`` separate processes to run the run's batches, each a consecutive
    share, with no pool, no scheduling and no outcomes kept: what this machine's cores give to the same
    work, the ceiling for the pool's speed-up (on a virtual machine, two vCPUs can share one physical
    core for a while)."""
    context = multiprocessing.get_context("forkserver")
    ready, ends, go = context.Queue(), context.Queue(), context.Event()
    n_batches = n_sims // BATCH_SIZE
    shares = [
        list(range(n_batches))[k * n_batches // processes : (k + 1) * n_batches // processes]
        for k in range(processes)
    ]
    children = [
        context.Process(target=_independent_process, args=(plan, seed, share, ready, go, ends))
        for share in shares
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    finished: float = max(ends.get(timeout=600) for _ in children)
    for child in children:
        child.join()
    return finished - started


def _se(p: float, n: int) -> float:
    return math.sqrt(p * (1.0 - p) / n)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run rpact once and trialdesk ``--repeats`` times with 1 and with ``--workers`` workers."""
    ensure_rpact()
    load_before = os.getloadavg()[0]
    rpact = run_rpact(args.rpact_sims, args.seed)
    plan, n = matched_plan(), args.sims
    # warm-up: imports, the shared process pool and each process's batch buffers (R's library load is untimed)
    run_trialdesk(plan, 4 * BATCH_SIZE, args.seed + 1, 1, medians=False)
    run_trialdesk(plan, 4 * args.workers * BATCH_SIZE, args.seed + 1, args.workers, medians=False)
    ones, twos, independent = [], [], []
    for _ in range(args.repeats):  # alternate, so that all see the same load of the shared machine
        ones.append(run_trialdesk(plan, n, args.seed, 1, medians=False))
        twos.append(run_trialdesk(plan, n, args.seed, args.workers, medians=False))
        independent.append(run_independent(plan, n, args.seed, args.workers))
    same = all(np.array_equal(run["z"], ones[0]["z"], equal_nan=True) for run in ones + twos)
    one_cpu = min(run["cpu"] for run in ones)
    one_wall = min(run["seconds"] for run in ones)
    two_wall = min(run["seconds"] for run in twos)
    two_cpu = min(run["cpu"] for run in twos)
    scr = scr_plan()
    run_trialdesk(scr, 2 * args.workers * BATCH_SIZE, args.seed + 1, args.workers, medians=True)
    scr_runs = [
        run_trialdesk(scr, args.scr_sims, args.seed, args.workers, medians=True) for _ in range(args.repeats)
    ]
    power = ones[0]["power"]
    se_diff = math.hypot(_se(power, n), _se(rpact["power"], args.rpact_sims))
    analytic = schoenfeld_power(HAZARD_RATIO, EVENTS, ALPHA)
    risk_set = expected_risk_set_power()
    rpact_cpu_us = rpact["cpu"] / args.rpact_sims * 1e6
    result: dict[str, Any] = {
        "design": {
            "hazard_ratio": HAZARD_RATIO,
            "control_median_months": MEDIAN_CONTROL,
            "patients": PATIENTS,
            "accrual_months": ACCRUAL,
            "events": EVENTS,
            "alpha_one_sided": ALPHA,
        },
        "rpact_version": rpact["version"],
        "rpact_sims": args.rpact_sims,
        "trialdesk_sims": n,
        "workers": args.workers,
        "repeats": args.repeats,
        "rpact_cpu_us_per_trial": rpact_cpu_us,
        "rpact_wall_us_per_trial": rpact["seconds"] / args.rpact_sims * 1e6,
        "trialdesk_cpu_us_per_trial_1worker": one_cpu / n * 1e6,
        "trialdesk_wall_us_per_trial_1worker": one_wall / n * 1e6,
        "trialdesk_wall_us_per_trial_2workers": two_wall / n * 1e6,
        "trialdesk_cpu_us_per_trial_2workers": two_cpu / n * 1e6,
        "ratio_cpu_1worker": rpact_cpu_us / (one_cpu / n * 1e6),
        "speedup_2workers": one_wall / two_wall,
        # what two idle cores would give: 2 x (CPU per trial on one core / CPU per trial of the pair);
        # unlike wall time, robust to other jobs on the machine (it leaves out waiting for a core)
        "speedup_2workers_cpu_bound": args.workers * one_cpu / two_cpu,
        # the same batches in separate processes (no pool, nothing returned): the machine's ceiling
        "speedup_independent_processes": one_wall / min(independent),
        "pool_share_of_independent_speedup": min(independent) / two_wall,
        "power_rpact": rpact["power"],
        "power_trialdesk": power,
        "power_schoenfeld": analytic,
        "power_diff_mc_se": (power - rpact["power"]) / se_diff,
        "power_diff_schoenfeld_mc_se": (power - analytic) / _se(power, n),
        "power_expected_risk_set": risk_set,
        "power_diff_expected_risk_set_mc_se": (power - risk_set) / _se(power, n),
        "rpact_power_diff_schoenfeld_mc_se": (rpact["power"] - analytic)
        / _se(rpact["power"], args.rpact_sims),
        "rpact_power_diff_expected_risk_set_mc_se": (rpact["power"] - risk_set)
        / _se(rpact["power"], args.rpact_sims),
        "same_numbers_1_and_2_workers": same,
        "scr_escc_01_sims": args.scr_sims,
        "scr_escc_01_wall_s_2workers": min(run["seconds"] for run in scr_runs),
        "scr_escc_01_cpu_us_per_trial": min(run["cpu"] for run in scr_runs) / args.scr_sims * 1e6,
        "repeat_cpu_us_per_trial_1worker": [run["cpu"] / n * 1e6 for run in ones],
        "repeat_wall_us_per_trial_1worker": [run["seconds"] / n * 1e6 for run in ones],
        "repeat_wall_us_per_trial_2workers": [run["seconds"] / n * 1e6 for run in twos],
        "repeat_wall_us_per_trial_independent_processes": [seconds / n * 1e6 for seconds in independent],
        "repeat_scr_escc_01_wall_s_2workers": [run["seconds"] for run in scr_runs],
        "load_average_1min": [load_before, os.getloadavg()[0]],
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
    }
    result["goals"] = {
        name: {"goal": goal, "met": bool(met(result[name]))} for name, (goal, met) in GOALS.items()
    }
    return result


GOALS: dict[str, tuple[str, Any]] = {
    "trialdesk_cpu_us_per_trial_1worker": ("<= 9 us", lambda v: v <= 9.0),
    "ratio_cpu_1worker": (">= 10x", lambda v: v >= 10.0),
    "speedup_2workers": (">= 1.8x", lambda v: v >= 1.8),
    "power_diff_mc_se": ("|.| <= 2", lambda v: abs(v) <= 2.0),
    "power_diff_schoenfeld_mc_se": ("|.| <= 2", lambda v: abs(v) <= 2.0),
    "power_diff_expected_risk_set_mc_se": ("|.| <= 2 (not an issue goal)", lambda v: abs(v) <= 2.0),
    "same_numbers_1_and_2_workers": ("true", bool),
    "scr_escc_01_wall_s_2workers": ("< 5 s (100,000 trials)", lambda v: v < 5.0),
}


def print_table(r: dict[str, Any]) -> None:
    """The comparison for people (Rich)."""
    d = r["design"]
    console = Console(width=max(Console().width, 130))
    console.print(
        f"Design: exponential, HR {d['hazard_ratio']}, control median {d['control_median_months']:g} months, "
        f"{d['patients']} patients uniform over {d['accrual_months']:g} months, analysis at {d['events']} "
        f"events, one-sided alpha {d['alpha_one_sided']}; best of {r['repeats']} runs, load average "
        f"{r['load_average_1min'][0]:.1f} -> {r['load_average_1min'][1]:.1f}"
    )
    table = Table("simulator", "trials", "wall µs/trial", "CPU µs/trial", "CPU ratio", "power (MC SE)")
    rp = r["rpact_cpu_us_per_trial"]
    table.add_row(
        f"rpact {r['rpact_version']} getSimulationSurvival",
        f"{r['rpact_sims']:,}",
        f"{r['rpact_wall_us_per_trial']:.2f}",
        f"{rp:.2f}",
        "1.0x",
        f"{r['power_rpact']:.4f} ({_se(r['power_rpact'], r['rpact_sims']):.4f})",
    )
    power = f"{r['power_trialdesk']:.4f} ({_se(r['power_trialdesk'], r['trialdesk_sims']):.4f})"
    table.add_row(
        "trialdesk, 1 worker (one core, as R)",
        f"{r['trialdesk_sims']:,}",
        f"{r['trialdesk_wall_us_per_trial_1worker']:.2f}",
        f"{r['trialdesk_cpu_us_per_trial_1worker']:.2f}",
        f"{r['ratio_cpu_1worker']:.1f}x",
        power,
    )
    table.add_row(
        f"trialdesk, {r['workers']} workers (shared pool)",
        f"{r['trialdesk_sims']:,}",
        f"{r['trialdesk_wall_us_per_trial_2workers']:.2f}",
        f"{r['trialdesk_cpu_us_per_trial_2workers']:.2f}",
        f"{rp / r['trialdesk_cpu_us_per_trial_2workers']:.1f}x",
        power,
    )
    table.add_row(
        f"{r['workers']} independent processes (no pool: the machine's ceiling)",
        f"{r['trialdesk_sims']:,}",
        f"{min(r['repeat_wall_us_per_trial_independent_processes']):.2f}",
        "",
        "",
        "",
    )
    console.print(table)
    goals = Table("goal", "measured", "target", "met")
    shown = {
        "trialdesk_cpu_us_per_trial_1worker": "{:.2f} µs CPU per trial, 1 worker",
        "ratio_cpu_1worker": "{:.1f}x rpact (CPU, one core)",
        "speedup_2workers": "{:.2f}x wall, 1 -> 2 workers"
        + f" ({r['speedup_2workers_cpu_bound']:.2f}x from CPU time; {r['workers']} independent processes:"
        + f" {r['speedup_independent_processes']:.2f}x, the pool gets"
        + f" {r['pool_share_of_independent_speedup']:.0%} of it)",
        "power_diff_mc_se": "{:+.2f} MC SEs from rpact",
        "power_diff_schoenfeld_mc_se": "{:+.2f} MC SEs from Schoenfeld "
        + f"{r['power_schoenfeld']:.4f} (rpact: {r['rpact_power_diff_schoenfeld_mc_se']:+.2f})",
        "power_diff_expected_risk_set_mc_se": "{:+.2f} MC SEs from the expected risk sets "
        + f"{r['power_expected_risk_set']:.4f} (rpact: {r['rpact_power_diff_expected_risk_set_mc_se']:+.2f})",
        "same_numbers_1_and_2_workers": "{}",
        "scr_escc_01_wall_s_2workers": "{:.2f} s wall, " + f"{r['scr_escc_01_sims']:,} SCR-ESCC-01 trials",
    }
    for name, fmt in shown.items():
        goal = r["goals"][name]
        goals.add_row(name, fmt.format(r[name]), goal["goal"], "yes" if goal["met"] else "NO")
    console.print(goals)


def main(argv: list[str] | None = None) -> int:
    """Run both simulators and print the comparison (a table, or one JSON object with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sims", type=int, default=100_000, help="trials simulated by trialdesk per run")
    parser.add_argument(
        "--rpact-sims",
        type=int,
        default=100_000,
        help="trials simulated by rpact (default as many as trialdesk's, for equally precise powers)",
    )
    parser.add_argument("--scr-sims", type=int, default=100_000, help="SCR-ESCC-01 trials (2 workers)")
    parser.add_argument("--seed", type=int, default=20_260_101)
    parser.add_argument(
        "--workers", type=int, default=2, help="trialdesk worker processes of the parallel runs"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=7,
        help="timed runs of each; the best is reported (about 1 s a run; 7 steady it on a shared host)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    args = parser.parse_args(argv)
    result = measure(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
