"""Simulation batches on a Dask distributed cluster give exactly the local result for the same seed.

The cluster is a ``distributed.LocalCluster`` of two separate worker processes on 127.0.0.1, as a
real cluster would run them (plans and outcomes cross process boundaries by pickling).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from trialdesk.entrypoints.cli.simulate import simulate_command
from trialdesk.protocols import load_registry
from trialdesk.stats.simulation import (
    DaskExecutor,
    LocalExecutor,
    TrialOutcomes,
    build_plan,
    load_scenario,
    run_simulation,
)

distributed = pytest.importorskip("distributed")

SCENARIOS = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


@pytest.fixture(scope="module")
def cluster_address() -> Iterator[str]:
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    ) as cluster:
        yield cluster.scheduler_address


def test_dask_run_equals_local_run(cluster_address: str) -> None:
    protocol = load_registry().get("scr-escc-01")
    plan = build_plan(protocol, load_scenario(SCENARIOS / "scr-escc-01-alternative.yaml"))
    seen: list[int] = []
    remote = run_simulation(
        plan,
        1200,
        seed=77,
        executor=DaskExecutor(cluster_address),
        batch_size=200,
        progress=lambda d, t: seen.append(d),
    )
    local = run_simulation(plan, 1200, seed=77, executor=LocalExecutor(1), batch_size=200)
    for f in fields(TrialOutcomes):
        np.testing.assert_array_equal(getattr(remote, f.name), getattr(local, f.name), err_msg=f.name)
    assert seen[-1] == 1200 and len(seen) == 6


def test_cli_with_dask_address_matches_local_workers(cluster_address: str) -> None:
    app = typer.Typer()
    app.command("simulate")(simulate_command)
    app.command("noop")(lambda: None)
    runner = CliRunner()
    scenario = str(SCENARIOS / "ivo-shfrt-2l-alternative.yaml")
    common = ["simulate", "ivo-shfrt-2l", "--scenario", scenario, "--sims", "1500", "--seed", "5", "--json"]
    on_dask = runner.invoke(app, [*common, "--dask", cluster_address])
    local = runner.invoke(app, [*common, "--workers", "2"])
    assert on_dask.exit_code == 0, on_dask.output
    assert local.exit_code == 0, local.output
    assert json.loads(on_dask.stdout) == json.loads(local.stdout)


def test_unreachable_scheduler_is_a_clean_error() -> None:
    protocol = load_registry().get("ivo-shfrt-2l")
    plan = build_plan(protocol, load_scenario(SCENARIOS / "ivo-shfrt-2l-null.yaml"))
    with pytest.raises(Exception, match="dask: cannot connect to the Dask scheduler"):
        run_simulation(plan, 10, seed=1, executor=DaskExecutor("tcp://127.0.0.1:9", timeout_seconds=1.0))
