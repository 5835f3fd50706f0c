"""Simulation scenario: the "true" world a virtual trial runs in (YAML or JSON, validated by pydantic).

A scenario holds what the protocol cannot know: how fast patients arrive, the true event-time
distribution of every arm, the true run-in toxicity rate, dropout, and when the data are cut off.
Everything the protocol does know (phases, arms, allocation ratio, run-in size and stopping rule,
imaging interval, alpha) is read from the protocol; a scenario may override sizes, the imaging
interval and alpha. The format is documented in ``docs/simulation.md``.

All durations are in months (a month is 365.25 / 12 = 30.4375 days); rates are per month.
Bad values raise :class:`ScenarioError` naming the field, e.g.
``arms.A.hazard_ratio: must be greater than 0``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trialdesk.stats.errors import DesignInputError

DAYS_PER_MONTH = 365.25 / 12.0
"""Days in the average Gregorian month; weeks are converted as ``weeks * 7 / DAYS_PER_MONTH``."""


class ScenarioError(DesignInputError):
    """A scenario value that cannot be simulated; ``parameter`` is the dotted field path."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exponential(_Model):
    """Exponential event times: give ``median_months`` or ``hazard_per_month`` (= ln 2 / median)."""

    distribution: Literal["exponential"]
    median_months: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    hazard_per_month: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_parameter(self) -> Exponential:
        if (self.median_months is None) == (self.hazard_per_month is None):
            raise ValueError("give exactly one of median_months or hazard_per_month")
        return self

    @property
    def hazard(self) -> float:
        """Event hazard per month."""
        if self.hazard_per_month is not None:
            return self.hazard_per_month
        assert self.median_months is not None
        return math.log(2.0) / self.median_months


class Weibull(_Model):
    """Weibull event times ``S(t) = exp(-ln 2 (t / median)^shape)`` (median in months, shape > 0)."""

    distribution: Literal["weibull"]
    median_months: float = Field(gt=0, allow_inf_nan=False)
    shape: float = Field(gt=0, allow_inf_nan=False)


class PiecewiseExponential(_Model):
    """Piecewise-constant hazard: ``hazards_per_month[j]`` applies from ``starts_months[j]`` on.

    ``starts_months`` begins at 0 and increases; the last hazard (which lasts for ever) must be > 0.
    As rpact's ``piecewiseSurvivalTime`` (list form).
    """

    distribution: Literal["piecewise_exponential"]
    starts_months: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(min_length=1)
    hazards_per_month: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> PiecewiseExponential:
        if len(self.starts_months) != len(self.hazards_per_month):
            raise ValueError("starts_months and hazards_per_month must have the same length")
        if self.starts_months[0] != 0:
            raise ValueError("starts_months must begin at 0")
        if any(b <= a for a, b in zip(self.starts_months, self.starts_months[1:], strict=False)):
            raise ValueError("starts_months must be strictly increasing")
        if self.hazards_per_month[-1] <= 0:
            raise ValueError("the last hazard must be greater than 0 (every patient has an event eventually)")
        return self


class ProportionalHazards(_Model):
    """``hazard_ratio`` (> 0) times the hazard of arm ``relative_to``: ``S(t) = S_ref(t)^hazard_ratio``."""

    relative_to: str
    hazard_ratio: float = Field(gt=0, allow_inf_nan=False)


ArmDistribution = Annotated[Exponential | Weibull | PiecewiseExponential, Field(discriminator="distribution")]
ArmSpec = ArmDistribution | ProportionalHazards


class Accrual(_Model):
    """Patient arrival, as a Poisson process or uniformly over a duration.

    * ``sites`` x ``rate_per_site`` patients per month (Poisson arrivals), or
    * ``duration_months``: every planned patient (run-in and main phase) enters uniformly at random
      over this period (rpact's ``accrualTime`` with ``maxNumberOfSubjects``).
    """

    sites: int | None = Field(default=None, ge=1)
    rate_per_site: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    duration_months: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_model(self) -> Accrual:
        poisson = self.sites is not None or self.rate_per_site is not None
        if poisson and self.duration_months is not None:
            raise ValueError("give either sites and rate_per_site, or duration_months, not both")
        if poisson and (self.sites is None or self.rate_per_site is None):
            raise ValueError("a Poisson accrual needs both sites and rate_per_site")
        if not poisson and self.duration_months is None:
            raise ValueError("give sites and rate_per_site, or duration_months")
        return self


class RunIn(_Model):
    """The safety run-in: true probability that a patient has the event the stopping rule counts.

    ``grade5_rate`` is the per-patient probability of a treatment-related grade-5 AE (the event of
    the SCR-ESCC-01 rule). Each such event happens uniformly within ``observation_months`` after the
    patient starts; the run-in stops as soon as the k-th event happens, and the randomized phase
    opens ``observation_months`` after the last run-in patient started (0: events are known at entry).
    The run-in size is the protocol's largest planned size unless ``sample_sizes`` overrides it.
    """

    grade5_rate: float = Field(ge=0, le=1, allow_inf_nan=False)
    observation_months: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class Dropout(_Model):
    """Exponential loss to follow-up: ``proportion`` in [0, 1) lost by ``by_months`` (rpact's
    ``dropoutRate1/2`` and ``dropoutTime``); hazard ``-ln(1 - proportion) / by_months``."""

    proportion: float = Field(ge=0, lt=1, allow_inf_nan=False)
    by_months: float = Field(default=12.0, gt=0, allow_inf_nan=False)

    @property
    def hazard(self) -> float:
        """Dropout hazard per month."""
        return -math.log1p(-self.proportion) / self.by_months


class Assessment(_Model):
    """When progression is seen.

    With ``interval_censoring`` (the default) progression is observed only at the first scheduled
    assessment at or after it happens (every ``interval_weeks`` from randomization / enrolment;
    default: the protocol's imaging interval), and a censored patient is censored at the last
    assessment before dropout or cut-off. A share ``death_share`` of the PFS events are deaths,
    observed on the day they happen. ``interval_censoring: false`` observes every event exactly.
    """

    interval_censoring: bool = True
    interval_weeks: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    death_share: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)


class Cutoff(_Model):
    """Data cut-off of the (main) analysis: after ``events`` PFS events are observed, or
    ``months_after_last_patient`` months after the last patient enters."""

    events: int | None = Field(default=None, ge=1)
    months_after_last_patient: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_rule(self) -> Cutoff:
        if (self.events is None) == (self.months_after_last_patient is None):
            raise ValueError("give exactly one of events or months_after_last_patient")
        return self


class Analysis(_Model):
    """The main analysis: cut-off and one-sided alpha.

    ``alpha`` defaults to ``sample_size.alpha / sided`` of the protocol. For a single-arm phase the
    historical control of the one-sample log-rank test defaults to the protocol's ``median0_months``
    (and Weibull ``shape``, default 1).
    """

    cutoff: Cutoff | None = None
    alpha: float | None = Field(default=None, gt=0, lt=1, allow_inf_nan=False)
    historical_median_months: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    historical_shape: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class Scenario(_Model):
    """A complete simulation scenario (see ``docs/simulation.md``)."""

    protocol: str | None = Field(default=None, description="Protocol id this scenario is written for")
    description: str = ""
    accrual: Accrual
    arms: dict[str, ArmSpec] = Field(min_length=1)
    run_in: RunIn | None = None
    dropout: Dropout | None = None
    assessment: Assessment = Field(default_factory=Assessment)
    analysis: Analysis = Field(default_factory=Analysis)
    sample_sizes: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict, description="Phase id -> number of patients (default: the protocol maximum)"
    )

    @field_validator("arms")
    @classmethod
    def _references(cls, arms: dict[str, ArmSpec]) -> dict[str, ArmSpec]:
        for arm_id, spec in arms.items():
            if isinstance(spec, ProportionalHazards):
                ref = arms.get(spec.relative_to)
                if ref is None:
                    raise ValueError(
                        f"arm '{arm_id}' is relative_to '{spec.relative_to}', which is not an arm"
                    )
                if isinstance(ref, ProportionalHazards):
                    raise ValueError(f"arm '{arm_id}' is relative_to '{spec.relative_to}', itself relative")
        return arms


def _field_path(loc: tuple[int | str, ...]) -> str:
    """Dotted field path from a pydantic location, without union/discriminator tags."""
    tags = {"Exponential", "Weibull", "PiecewiseExponential", "ProportionalHazards", "function-after"}
    parts: list[str] = []
    for part in loc:
        text = str(part)
        if text in tags or text.startswith(("function-", "ArmDistribution")) or "[" in text:
            continue
        if text in ("exponential", "weibull", "piecewise_exponential") and parts and parts[-2:-1] == ["arms"]:
            continue
        parts.append(f"[{text}]" if isinstance(part, int) else text)
    return ".".join(parts).replace(".[", "[") or "scenario"


def scenario_from_dict(data: Any) -> Scenario:
    """Validate a parsed scenario; the first problem becomes a :class:`ScenarioError` naming the field."""
    if not isinstance(data, dict):
        raise ScenarioError("scenario", "the file must hold a mapping of scenario fields")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # With an arm union, prefer the message of the branch the user meant (not 'missing' noise).
        noise = ("extra_forbidden", "union_tag_invalid", "union_tag_not_found")
        specific = [e for e in errors if e["type"] not in (*noise, "missing")]
        missing = [e for e in errors if e["type"] == "missing"]
        first = (specific or missing or errors)[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ScenarioError(_field_path(tuple(first["loc"])), message) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a ``.yaml``/``.yml`` or ``.json`` file and validate it."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError("scenario", f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(
            "scenario", f"{file} is not valid {file.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from None
    return scenario_from_dict(data)
