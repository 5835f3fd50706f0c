"""Simulations started from the web pages: the scenario fields follow the protocol and name the field
that is wrong; the background registry runs a job to the end, keeps each user's jobs to themself and
stays bounded."""

from __future__ import annotations

import threading
import time

import pytest

from trialdesk.domain.roles import Role
from trialdesk.protocols.loader import load_registry
from trialdesk.services.actors import Actor
from trialdesk.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from trialdesk.services.simulations import SimulationJob, SimulationJobs, plan_from_form, scenario_fields
from trialdesk.stats.simulation.plan import SimulationPlan
from trialdesk.stats.simulation.scenario import ScenarioError

REGISTRY = load_registry()
STAT = Actor(1, "stat", "Stat", Role.STATISTICIAN, frozenset())
OTHER = Actor(2, "stat2", "Stat 2", Role.STATISTICIAN, frozenset())


def _defaults(protocol_id: str) -> dict[str, str]:
    return {f.name: f"{f.default:g}" for f in scenario_fields(REGISTRY.get(protocol_id))}


def test_fields_follow_the_protocol_and_start_at_its_assumptions() -> None:
    scr = _defaults("scr-escc-01")
    assert scr["arms.B.median_months"] == "6" and scr["arms.A.hazard_ratio"] == "0.667"
    assert scr["accrual.duration_months"] == "24" and "run_in.grade5_rate" in scr
    ivo = _defaults("ivo-shfrt-2l")
    assert ivo["arms.ivo-shfrt.median_months"] == "6" and "run_in.grade5_rate" not in ivo
    plan = plan_from_form(REGISTRY.get("scr-escc-01"), scr)
    assert plan.design == "two_arm" and plan.run_in_rate == 0.05


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("arms.A.hazard_ratio", "0", "greater than 0"),
        ("dropout.proportion", "1.5", "less than 1"),
        ("accrual.duration_months", "soon", "expected a number"),
    ],
)
def test_a_wrong_value_names_its_field(name: str, value: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        plan_from_form(REGISTRY.get("scr-escc-01"), {**_defaults("scr-escc-01"), name: value})
    assert caught.value.parameter == name and reason in caught.value.reason


def _wait(job: SimulationJob) -> None:
    for _ in range(200):
        if job.status != "running":
            return
        time.sleep(0.02)


def test_a_job_runs_in_the_background_and_belongs_to_its_user() -> None:
    jobs = SimulationJobs()
    plan = plan_from_form(REGISTRY.get("ivo-shfrt-2l"), _defaults("ivo-shfrt-2l"))
    job = jobs.start(STAT, plan, 1200, 5)
    _wait(job)
    assert job.status == "done" and job.done == 1200 and job.percent == 100
    assert job.result is not None and job.result.n_sims == 1200
    assert jobs.get(STAT, job.id) is job
    with pytest.raises(NotFound):
        jobs.get(OTHER, job.id)
    with pytest.raises(InvalidInput):
        jobs.start(STAT, plan, 0, 5)
    with pytest.raises(PermissionDenied):
        jobs.start(Actor(3, "coord", "C", Role.COORDINATOR, frozenset([1])), plan, 10, 1)


def test_the_registry_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def slow_run(self: SimulationJobs, job: SimulationJob, plan: SimulationPlan) -> None:
        release.wait(5)
        job.status = "done"

    monkeypatch.setattr(SimulationJobs, "_run", slow_run)
    jobs = SimulationJobs(max_jobs=3, max_running=2)
    plan = plan_from_form(REGISTRY.get("ivo-shfrt-2l"), _defaults("ivo-shfrt-2l"))
    first, second = jobs.start(STAT, plan, 10, 1), jobs.start(STAT, plan, 10, 2)
    with pytest.raises(Conflict):
        jobs.start(STAT, plan, 10, 3)  # two already run
    release.set()
    for job in (first, second):
        _wait(job)
    later = []
    for seed in range(4):
        later.append(jobs.start(STAT, plan, 10, seed))
        _wait(later[-1])
    with pytest.raises(NotFound):
        jobs.get(STAT, first.id)  # forgotten, oldest first
    assert jobs.get(STAT, later[-1].id).status == "done"
