"""Simulations started from the web pages: a scenario from form fields, and background jobs.

The scenario of ``trialdesk simulate`` is a file; the simulation page asks for the same values as
form fields named by their scenario path (``accrual.duration_months``, ``arms.B.median_months``,
``arms.A.hazard_ratio``, ``run_in.grade5_rate``...), so that a :class:`ScenarioError` naming a field
lands beside that field. The fields offered follow the protocol (its arms, its run-in) and start at the
protocol's own design assumptions (``sample_size``: the alternative it is powered for).

A simulation runs in a background thread of the server (one process, the batches of
:func:`~trialdesk.stats.simulation.batching.executors.run_simulation` in turn) and reports its
progress through the simulator's callback; :class:`SimulationJobs` keeps a bounded registry of jobs
(the oldest finished ones are forgotten, at most :data:`MAX_RUNNING` run at once).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services.actors import Actor
from trialdesk.services.errors import Conflict, InvalidInput, NotFound
from trialdesk.stats.errors import DesignInputError
from trialdesk.stats.simulation.batching.executors import LocalExecutor, run_simulation
from trialdesk.stats.simulation.plan import SimulationPlan, build_plan
from trialdesk.stats.simulation.results import OperatingCharacteristics, summarize
from trialdesk.stats.simulation.scenario import ScenarioError, scenario_from_dict

MAX_SIMS = 100_000
"""The most trials one web simulation may run (the CLI has no limit)."""
MAX_JOBS = 20
"""Jobs the registry remembers (finished ones beyond this are forgotten, oldest first)."""
MAX_RUNNING = 2
"""Simulations that may run at once on the server."""


@dataclass(frozen=True)
class ScenarioField:
    """One scenario value asked on the simulation page.

    ``name`` is the scenario path (the form field's name), ``key`` its last part (what the value is),
    ``arm`` the arm it belongs to, ``unit`` the unit shown beside it, ``default`` the starting value.
    """

    name: str
    key: str
    default: float
    unit: str = ""
    arm: str | None = None
    step: str = "any"


def _parameter(protocol: Protocol, name: str, default: float) -> float:
    size = protocol.sample_size
    if size is None or name not in size.parameters:
        return default
    return float(size.parameters[name].value)


def _arm_fields(protocol: Protocol) -> list[ScenarioField]:
    """The event-time fields of the main phase's arms: a control median and the experimental arm's
    hazard ratio (two arms), or the true median of a single arm."""
    main = next(p for p in protocol.design.phases if p.kind in ("randomized", "single_arm"))
    roles = {arm: protocol.arm(arm).role for arm in main.arms}
    control = next((arm for arm, role in roles.items() if role == "control"), None)
    if control is None or len(main.arms) != 2:
        arm = main.arms[0]
        median = _parameter(protocol, "median1_months", _parameter(protocol, "median0_months", 6.0))
        return [ScenarioField(f"arms.{arm}.median_months", "median_months", median, "months", arm)]
    experimental = next(arm for arm in main.arms if arm != control)
    median = _parameter(protocol, "median_control_months", 6.0)
    ratio = _parameter(protocol, "hazard_ratio", 1.0)
    return [
        ScenarioField(f"arms.{control}.median_months", "median_months", median, "months", control),
        ScenarioField(f"arms.{experimental}.hazard_ratio", "hazard_ratio", ratio, "", experimental),
    ]


def scenario_fields(protocol: Protocol) -> list[ScenarioField]:
    """The scenario values the simulation page asks for ``protocol``, with the protocol's assumptions
    as defaults."""
    fields = [
        ScenarioField(
            "accrual.duration_months",
            "duration_months",
            _parameter(protocol, "accrual_months", 12.0),
            "months",
        ),
        *_arm_fields(protocol),
    ]
    if any(p.kind == "run_in" for p in protocol.design.phases):
        fields += [
            ScenarioField("run_in.grade5_rate", "grade5_rate", 0.05),
            ScenarioField("run_in.observation_months", "observation_months", 2.0, "months"),
        ]
    dropout = float(protocol.sample_size.dropout.value) if protocol.sample_size else 0.0
    fields += [
        ScenarioField("dropout.proportion", "proportion", dropout, "by 12 months"),
        ScenarioField(
            "analysis.cutoff.months_after_last_patient",
            "months_after_last_patient",
            _parameter(protocol, "followup_months", 12.0),
            "months",
        ),
    ]
    return fields


def _number(name: str, text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ScenarioError(name, f"expected a number, got {text.strip()!r}") from None


def _nest(values: Mapping[str, float]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}``."""
    tree: dict[str, Any] = {}
    for name, value in values.items():
        *parents, leaf = name.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def plan_from_form(protocol: Protocol, form: Mapping[str, str]) -> SimulationPlan:
    """The simulation plan of the scenario typed in the form's fields (:func:`scenario_fields`).

    Raises :class:`ScenarioError` naming the field (its scenario path) that is wrong.
    """
    values = {f.name: _number(f.name, form.get(f.name, "")) for f in scenario_fields(protocol)}
    tree = _nest(values)
    for arm, spec in tree["arms"].items():
        if "hazard_ratio" in spec:
            control = next(other for other in tree["arms"] if other != arm)
            spec["relative_to"] = control
        else:
            spec["distribution"] = "exponential"
    tree["protocol"] = protocol.id
    return build_plan(protocol, scenario_from_dict(tree))


@dataclass
class SimulationJob:
    """One background simulation: its progress, then its operating characteristics or its error."""

    id: str
    owner: str
    protocol_id: str
    sims: int
    seed: int
    done: int = 0
    total: int = 0
    status: str = "running"
    result: OperatingCharacteristics | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None

    @property
    def percent(self) -> int:
        """Share of the trials simulated so far (0-100)."""
        return 100 if self.status == "done" else int(100 * self.done / self.total) if self.total else 0


class SimulationJobs:
    """The server's registry of background simulations (thread-safe, bounded)."""

    def __init__(self, max_jobs: int = MAX_JOBS, max_running: int = MAX_RUNNING) -> None:
        self._jobs: OrderedDict[str, SimulationJob] = OrderedDict()
        self._lock = threading.Lock()
        self.max_jobs = max_jobs
        self.max_running = max_running

    def start(self, actor: Actor, plan: SimulationPlan, sims: int, seed: int) -> SimulationJob:
        """Start simulating ``sims`` trials of ``plan`` from ``seed`` in a background thread.

        :class:`InvalidInput` for a number of trials or seed out of range; :class:`Conflict` when
        :data:`MAX_RUNNING` simulations already run.
        """
        actor.require(Capability.RUN_ANALYSES)
        if not 1 <= sims <= MAX_SIMS:
            raise InvalidInput(f"sims must be between 1 and {MAX_SIMS}", field="sims")
        if seed < 0:
            raise InvalidInput("seed must be a whole number >= 0", field="seed")
        job = SimulationJob(secrets.token_hex(8), actor.username, plan.protocol_id, sims, seed, total=sims)
        with self._lock:
            running = sum(1 for j in self._jobs.values() if j.status == "running")
            if running >= self.max_running:
                raise Conflict(
                    f"{running} simulations are already running: wait for one to finish",
                    rule="simulations_busy",
                )
            self._jobs[job.id] = job
            self._forget_oldest()
        thread = threading.Thread(
            target=self._run, args=(job, plan), name=f"simulation-{job.id}", daemon=True
        )
        thread.start()
        return job

    def get(self, actor: Actor, job_id: str) -> SimulationJob:
        """The user's own job ``job_id`` (:class:`NotFound` for another user's or a forgotten one)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.owner != actor.username:
            raise NotFound(f"simulation {job_id} not found (finished simulations are kept for a while)")
        return job

    def _forget_oldest(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status != "running"]
        while len(self._jobs) > self.max_jobs and finished:
            del self._jobs[finished.pop(0)]

    def _run(self, job: SimulationJob, plan: SimulationPlan) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            outcomes = run_simulation(plan, job.sims, job.seed, executor=LocalExecutor(1), progress=progress)
            job.result = summarize(plan, outcomes)
            job.status = "done"
        except DesignInputError as exc:
            job.error = f"{exc.parameter}: {exc.reason}"
            job.status = "failed"
        except Exception as exc:
            job.error = f"the simulation failed: {exc}"
            job.status = "failed"
        job.seconds = time.monotonic() - job.started
