"""Whole-trial simulation: scenario file -> plan -> batched engine -> operating characteristics.

Pure numerics (no CLI, no I/O besides reading a scenario file). See ``docs/simulation.md``.
"""

from trialdesk.stats.simulation.batching.executors import (
    BATCH_SIZE,
    DaskExecutor,
    LocalExecutor,
    run_simulation,
)
from trialdesk.stats.simulation.engine import simulate_batch
from trialdesk.stats.simulation.plan import EventTimeModel, SimulationPlan, build_plan
from trialdesk.stats.simulation.results import OperatingCharacteristics, TrialOutcomes, summarize
from trialdesk.stats.simulation.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict

__all__ = [
    "BATCH_SIZE",
    "DaskExecutor",
    "EventTimeModel",
    "LocalExecutor",
    "OperatingCharacteristics",
    "Scenario",
    "ScenarioError",
    "SimulationPlan",
    "TrialOutcomes",
    "build_plan",
    "load_scenario",
    "run_simulation",
    "scenario_from_dict",
    "simulate_batch",
    "summarize",
]
