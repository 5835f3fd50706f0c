"""``trialdesk simulate``: operating characteristics of a protocol under a scenario, by simulation.

Thin layer over :mod:`trialdesk.stats.simulation`: load the protocol and the scenario file, compile
the plan, run the batches (here, in a local process pool or on a Dask cluster) with a Rich progress
bar, and render the operating characteristics with their Monte Carlo standard errors (or
``--json``). Bad input is a one-line error naming the option or the scenario field (exit code 2).
See ``docs/simulation.md``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from trialdesk.entrypoints.cli.output import console, err_console, fail, print_json
from trialdesk.entrypoints.cli.protocol import get_protocol
from trialdesk.stats.errors import DesignInputError

if TYPE_CHECKING:
    from trialdesk.stats.simulation.batching.executors import BatchExecutor
    from trialdesk.stats.simulation.results import Distribution, Estimate, OperatingCharacteristics

# The simulator (NumPy kernels, process pools, Dask) is imported inside the command (issue 17).

_OPTIONS = {"sims": "--sims", "seed": "--seed", "workers": "--workers", "dask": "--dask"}


def _executor(workers: int | None, dask: str | None) -> BatchExecutor:
    from trialdesk.stats.simulation.batching.executors import DaskExecutor, LocalExecutor, default_workers

    if workers is not None and dask is not None:
        fail("--workers/--dask: give one of them, not both")
    if dask is not None:
        return DaskExecutor(dask)
    try:
        return LocalExecutor(default_workers() if workers is None else workers)
    except DesignInputError as exc:
        fail(f"--workers: {exc.reason}")


def _est(e: Estimate | None, digits: int = 4) -> str:
    if e is None or not math.isfinite(e.value):
        return "-"
    se = f" (MC SE {e.mc_se:.{digits}f})" if math.isfinite(e.mc_se) else ""
    return f"{e.value:.{digits}f}{se}"


def _dist(d: Distribution | None, digits: int = 1) -> str:
    if d is None or not math.isfinite(d.mean):
        return "-"
    q = d.quantiles
    return (
        f"mean {d.mean:.{digits}f} (MC SE {d.mc_se:.{digits + 1}f}), SD {d.sd:.{digits}f}; "
        f"5/50/95% {q['5%']:.{digits}f} / {q['50%']:.{digits}f} / {q['95%']:.{digits}f}"
    )


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _render(oc: OperatingCharacteristics, seed: int, seconds: float) -> None:
    null = oc.true_hazard_ratio is not None and math.isclose(oc.true_hazard_ratio, 1.0)
    label = "type I error" if null else "power"
    test = "phase log-rank" if oc.test == "logrank" else "one-sample log-rank (success)"
    table = Table(title=f"{oc.protocol_id}: {oc.n_sims:,} simulated trials (seed {seed})", show_header=False)
    table.add_column("quantity")
    table.add_column("estimate")
    if oc.p_run_in_stop is not None:
        table.add_row("P(run-in terminates)", _est(oc.p_run_in_stop))
        table.add_row("run-in patients", _dist(oc.run_in_patients))
    table.add_row(f"{label}, {test}, one-sided alpha {oc.alpha:g}", _est(oc.p_reject))
    if oc.p_reject_given_analysed is not None:
        table.add_row(f"{label} among trials passing the run-in", _est(oc.p_reject_given_analysed))
    if oc.analytic_power is not None:
        table.add_row("Schoenfeld (1983) analytic power at the planned events", _num(oc.analytic_power))
    table.add_row("trial duration (months)", _dist(oc.duration_months))
    table.add_row("patients", _dist(oc.patients))
    table.add_row("events at the analysis", _dist(oc.events))
    table.add_row("true hazard ratio", _num(oc.true_hazard_ratio, 3))
    table.add_row("estimated hazard ratio (geometric mean)", _num(oc.hazard_ratio_geometric_mean, 3))
    table.add_row("bias of log hazard ratio", _est(oc.log_hazard_ratio_bias))
    for m in oc.medians:
        table.add_row(
            f"median PFS arm {m.arm} (months)",
            f"true {m.true_median:.2f}, estimate {_num(m.mean_estimate, 2)}, bias {_est(m.bias, 3)}, "
            f"reached in {m.p_reached:.1%}",
        )
    console.print(table)
    console.print(f"{oc.n_sims:,} trials in {seconds:.2f} s ({seconds / oc.n_sims * 1e6:.1f} µs per trial)")


def simulate_command(
    protocol_id: str = typer.Argument(
        ..., metavar="PROTOCOL_ID", help="Protocol id (see `trialdesk protocol list`)"
    ),
    scenario: Path = typer.Option(..., "--scenario", help="Scenario file (YAML or JSON), docs/simulation.md"),
    sims: int = typer.Option(10_000, "--sims", help="Number of simulated trials"),
    seed: int = typer.Option(1, "--seed", help="Random seed (>= 0); same seed, same numbers"),
    workers: int | None = typer.Option(
        None, "--workers", help="Local worker processes (default: the CPUs available)"
    ),
    dask: str | None = typer.Option(
        None, "--dask", help="Run the batches on this Dask scheduler, e.g. tcp://127.0.0.1:8786"
    ),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable JSON output"),
) -> None:
    """Simulate complete virtual trials of PROTOCOL_ID under a scenario; report operating characteristics.

    Run-in stopping, the randomized log-rank test (or the one-sample test of a single-arm trial),
    trial duration, patients, hazard-ratio and median-PFS bias, each with its Monte Carlo SE.
    """
    from trialdesk.stats.simulation.batching.executors import run_simulation
    from trialdesk.stats.simulation.plan import build_plan
    from trialdesk.stats.simulation.results import summarize
    from trialdesk.stats.simulation.scenario import ScenarioError, load_scenario

    protocol = get_protocol(protocol_id)
    try:
        plan = build_plan(protocol, load_scenario(scenario))
    except ScenarioError as exc:
        fail(f"--scenario {scenario}: {exc.parameter}: {exc.reason}")
    executor = _executor(workers, dask)
    started = time.perf_counter()
    try:
        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=json_output,
        ) as bar:
            task = bar.add_task("simulate", total=sims)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            outcomes = run_simulation(plan, sims, seed, executor=executor, progress=progress)
    except DesignInputError as exc:
        fail(f"{_OPTIONS.get(exc.parameter, exc.parameter)}: {exc.reason}")
    seconds = time.perf_counter() - started
    oc = summarize(plan, outcomes)
    if json_output:
        data: dict[str, Any] = {"seed": seed, "scenario": str(scenario), **oc.to_dict()}
        print_json(data)
        return
    _render(oc, seed, seconds)
