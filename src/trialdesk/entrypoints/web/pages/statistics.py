"""Statistician pages: allocation lists (generate, list, view: each view audited), the design check
and background simulations of the operating characteristics with a progress bar.

Every page calls the services the API and the CLI call: :mod:`trialdesk.services.randomization` and
:mod:`trialdesk.services.allocation_lists` (as ``/api/trials/{id}/randomization-lists``),
:func:`trialdesk.stats.design_check.check_report` (as ``trialdesk design check``) and
:mod:`trialdesk.services.simulations` over the simulator of ``trialdesk simulate``.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.entrypoints.api.deps import protocol_of, run
from trialdesk.entrypoints.api.trials import ListIn
from trialdesk.entrypoints.web.pages.ops_common import FormValues, number, translator
from trialdesk.entrypoints.web.render import FORM_ERROR, FormErrors, render
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import allocation_lists, randomization
from trialdesk.services.actors import Actor
from trialdesk.services.errors import TRIAL_ERRORS, NotFound
from trialdesk.services.simulations import MAX_SIMS, SimulationJobs, plan_from_form, scenario_fields
from trialdesk.stats.design_check import check_report
from trialdesk.stats.errors import DesignInputError
from trialdesk.stats.simulation.calibration import (
    SINGLE_ARM_METHODS,
    OneSampleTypeOneError,
    design_from_protocol,
    one_sample_type_one_error,
)

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
_JOBS_LOCK = threading.Lock()
DESIGN_DEFAULTS = {"sims": "10000", "seed": "2015"}
"""The design page's calibration run: fewer trials than the CLI's default, for a quick page."""


class SimulateIn(BaseModel):
    """The simulation form's run settings (the scenario fields are checked by the scenario model)."""

    sims: int = Field(ge=1, le=MAX_SIMS)
    seed: int = Field(ge=0)


class CalibrationIn(BaseModel):
    """The design page's calibration run of the one-sample log-rank test (as ``--sims``/``--seed``)."""

    sims: int = Field(ge=1000, le=MAX_SIMS)
    seed: int = Field(ge=0)


def jobs_of(request: Request) -> SimulationJobs:
    """The server's simulation registry (created on first use, kept in the application state)."""
    state = request.app.state
    with _JOBS_LOCK:
        if getattr(state, "simulations", None) is None:
            state.simulations = SimulationJobs()
    jobs: SimulationJobs = state.simulations
    return jobs


# ------------------------------------------------------------------------------------ allocation lists


def _lists_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    lists = run(
        request, actor.username, lambda s: allocation_lists.list_summaries(s, actor, protocol), write=False
    )
    context = {
        "protocol": protocol,
        "lists": lists,
        "errors": errors.by_field if errors else {},
        "values": values or {"slots_per_stratum": "40"},
    }
    return render(
        request,
        "statistics/allocation_lists.html",
        context,
        status_code=errors.status_code if errors else 200,
    )


@router.get("/trials/{protocol_id}/allocation-lists", response_class=HTMLResponse)
def allocation_lists_page(request: Request, actor: PageActor, protocol_id: str) -> HTMLResponse:
    """The trial's allocation lists (hashes and slots by stratum) and the form to generate one."""
    actor.require(Capability.VIEW_ALLOCATION_LIST)
    return _lists_page(request, actor, protocol_of(request, protocol_id))


@router.post("/trials/{protocol_id}/allocation-lists", response_model=None)
def generate_list(request: Request, actor: PageActor, protocol_id: str, values: FormValues) -> Response:
    """Generate the stratified permuted-block list (the API's rules and errors), then show it."""
    actor.require(Capability.GENERATE_RANDOMIZATION_LIST)
    protocol = protocol_of(request, protocol_id)
    fields = {"slots_per_stratum", "seed_hex"}
    try:
        seed_hex = values.get("seed_hex", "").strip() or None
        body = ListIn.model_validate(
            {"slots_per_stratum": values.get("slots_per_stratum"), "seed_hex": seed_hex}
        )
        list_id = run(
            request,
            actor.username,
            lambda s: (
                randomization.generate_list(
                    s, actor, protocol, slots_per_stratum=body.slots_per_stratum, seed_hex=body.seed_hex
                ).id
            ),
        )
    except ValidationError as exc:
        return _lists_page(request, actor, protocol, FormErrors.from_validation(exc), values)
    except TRIAL_ERRORS as exc:
        return _lists_page(request, actor, protocol, FormErrors.from_error(exc, fields), values)
    return RedirectResponse(f"/trials/{protocol.id}/allocation-lists/{list_id}", status_code=303)


@router.get("/trials/{protocol_id}/allocation-lists/{list_id}", response_class=HTMLResponse)
def view_list(request: Request, actor: PageActor, protocol_id: str, list_id: int) -> HTMLResponse:
    """One list with its seed and every slot's arm (statistician only); the view is audited."""
    protocol = protocol_of(request, protocol_id)
    lists = run(request, actor.username, lambda s: allocation_lists.allocation_lists(s, actor, protocol))
    chosen = next((item for item in lists if item["id"] == list_id), None)
    if chosen is None:
        raise NotFound(f"allocation list {list_id} of {protocol.id} not found")
    return render(request, "statistics/allocation_list.html", {"protocol": protocol, "list": chosen})


# ------------------------------------------------------------------------------------------ design


def _design_page(
    request: Request,
    protocol: Protocol,
    values: dict[str, str],
    test: OneSampleTypeOneError | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    try:
        report: dict[str, Any] | None = check_report(protocol)
        problem = None
    except DesignInputError as exc:
        report, problem = None, f"{exc.parameter}: {exc.reason}"
    context = {
        "protocol": protocol,
        "report": report,
        "problem": problem,
        "single_arm": report is not None and report["method"] in SINGLE_ARM_METHODS,
        "test": test,
        "values": values,
        "errors": errors.by_field if errors else {},
        "number": number,
    }
    return render(
        request, "statistics/design.html", context, status_code=errors.status_code if errors else 200
    )


@router.get("/trials/{protocol_id}/design", response_class=HTMLResponse)
def design_page(request: Request, actor: PageActor, protocol_id: str) -> HTMLResponse:
    """The sample size recomputed from the protocol's assumptions beside the phase targets."""
    actor.require(Capability.RUN_ANALYSES)
    return _design_page(request, protocol_of(request, protocol_id), dict(DESIGN_DEFAULTS))


@router.post("/trials/{protocol_id}/design", response_class=HTMLResponse)
def design_calibration(
    request: Request, actor: PageActor, protocol_id: str, values: FormValues
) -> HTMLResponse:
    """The design check with the simulated type I error and power of the one-sample log-rank test
    (standard and calibrated critical value) of a single-arm design."""
    actor.require(Capability.RUN_ANALYSES)
    protocol = protocol_of(request, protocol_id)
    try:
        body = CalibrationIn.model_validate(values)
        test = one_sample_type_one_error(design_from_protocol(protocol), n_sims=body.sims, seed=body.seed)
    except ValidationError as exc:
        return _design_page(request, protocol, values, errors=FormErrors.from_validation(exc))
    except DesignInputError as exc:
        key = exc.parameter if exc.parameter in ("sims", "seed") else FORM_ERROR
        return _design_page(request, protocol, values, errors=FormErrors({key: exc.reason}))
    return _design_page(request, protocol, values, test=test)


# -------------------------------------------------------------------------------------- simulation


def _simulate_page(
    request: Request, protocol: Protocol, values: dict[str, str], errors: FormErrors | None = None
) -> HTMLResponse:
    context = {
        "protocol": protocol,
        "fields": scenario_fields(protocol),
        "values": values,
        "errors": errors.by_field if errors else {},
        "max_sims": MAX_SIMS,
    }
    return render(
        request, "statistics/simulate.html", context, status_code=errors.status_code if errors else 200
    )


@router.get("/trials/{protocol_id}/simulate", response_class=HTMLResponse)
def simulate_page(request: Request, actor: PageActor, protocol_id: str) -> HTMLResponse:
    """The simulation form, filled with the protocol's design assumptions."""
    actor.require(Capability.RUN_ANALYSES)
    protocol = protocol_of(request, protocol_id)
    values = {f.name: f"{f.default:g}" for f in scenario_fields(protocol)}
    return _simulate_page(request, protocol, {"sims": "1000", "seed": "1", **values})


@router.post("/trials/{protocol_id}/simulate", response_model=None)
def start_simulation(request: Request, actor: PageActor, protocol_id: str, values: FormValues) -> Response:
    """Start the simulation in the background and go to its progress page."""
    actor.require(Capability.RUN_ANALYSES)
    protocol = protocol_of(request, protocol_id)
    fields = {"sims", "seed", *(f.name for f in scenario_fields(protocol))}
    try:
        body = SimulateIn.model_validate(values)
        plan = plan_from_form(protocol, values)
        job = jobs_of(request).start(actor, plan, body.sims, body.seed)
    except ValidationError as exc:
        return _simulate_page(request, protocol, values, FormErrors.from_validation(exc))
    except DesignInputError as exc:
        key = exc.parameter if exc.parameter in fields else FORM_ERROR
        message = exc.reason if key != FORM_ERROR else f"{exc.parameter}: {exc.reason}"
        return _simulate_page(request, protocol, values, FormErrors({key: message}))
    except TRIAL_ERRORS as exc:
        return _simulate_page(request, protocol, values, FormErrors.from_error(exc, fields))
    return RedirectResponse(f"/trials/{protocol.id}/simulate/{job.id}", status_code=303)


def _job_context(request: Request, actor: Actor, protocol: Protocol, job_id: str) -> dict[str, Any]:
    job = jobs_of(request).get(actor, job_id)
    if job.protocol_id != protocol.id:
        raise NotFound(f"simulation {job_id} not found")
    return {"protocol": protocol, "job": job, "number": number, "tr": translator(request)}


@router.get("/trials/{protocol_id}/simulate/{job_id}", response_class=HTMLResponse)
def simulation_page(request: Request, actor: PageActor, protocol_id: str, job_id: str) -> HTMLResponse:
    """A simulation's page: the progress bar while it runs, then its operating characteristics."""
    actor.require(Capability.RUN_ANALYSES)
    context = _job_context(request, actor, protocol_of(request, protocol_id), job_id)
    return render(request, "statistics/simulation.html", context)


@router.get("/trials/{protocol_id}/simulate/{job_id}/progress", response_class=HTMLResponse)
def simulation_progress(request: Request, actor: PageActor, protocol_id: str, job_id: str) -> HTMLResponse:
    """The progress fragment htmx polls every second (it stops polling once the job has ended)."""
    actor.require(Capability.RUN_ANALYSES)
    context = _job_context(request, actor, protocol_of(request, protocol_id), job_id)
    return render(request, "statistics/simulation_status.html", context)
