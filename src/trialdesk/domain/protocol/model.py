"""Pydantic model of a protocol specification file (YAML).

A protocol file holds everything that distinguishes one trial from another: identifiers, design
(phases, arms, allocation, target sizes, gates), interventions, eligibility criteria, endpoints,
stopping rules, safety monitoring, tumour-assessment rules and the sample-size assumptions. The
engine reads only this model, so a third trial is a new file, not new code.

Values that the seed documents leave open are :class:`Parameter` objects whose ``provenance`` is
``"default"`` and whose ``rationale`` documents the choice; values the seed states have
provenance ``"seed"`` and name the seed passage. The format is documented in
``docs/protocol-format.md``.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, model_validator

from trialdesk.domain.checks.model import CheckRule, check_rules
from trialdesk.domain.common import FrozenModel
from trialdesk.domain.eligibility.rules import (
    AnyOfRule,
    Criterion,
    FindingAbsentRule,
    Rule,
)
from trialdesk.domain.forms.model import FormDefinition, check_forms
from trialdesk.domain.plausibility import ImplausibleValue
from trialdesk.domain.protocol.consent import ConsentVersion, ConsentVersions, default_consent_versions
from trialdesk.domain.protocol.parameters import Parameter, Provenance
from trialdesk.domain.protocol.schedule import VisitSchedule
from trialdesk.domain.protocol.translations import LanguageCode, ProtocolTranslation
from trialdesk.domain.radiobiology import TimeFactor
from trialdesk.domain.sdv import SdvPlan

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
DOSE_UNITS = ("mg", "mg/kg", "mg/m2", "AUC")
"""Drug dose units: flat mg, per kg body weight, per m2 BSA (Mosteller), carboplatin AUC (Calvert)."""


class SizeRange(FrozenModel):
    """Planned number of subjects (inclusive range; ``min == max`` for a fixed size)."""

    min: int = Field(ge=1)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> SizeRange:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


MAX_DISPENSING_UNIT_LENGTH = 16
"""The longest dispensing unit name (``vial``, ``tablet``): the width of the dispensing log's column."""


class Dispensing(FrozenModel):
    """How an investigational product is dispensed and counted: the unit (``vial``) and the strength,
    the mg of drug in one unit. The units a dose needs are ``ceil(dose mg / strength_mg)``
    (:func:`trialdesk.domain.dispensing.units_for_dose`)."""

    unit: Parameter[str]
    strength_mg: Parameter[float]

    @model_validator(mode="after")
    def _sane(self) -> Dispensing:
        if not 0 < len(self.unit.value.strip()) <= MAX_DISPENSING_UNIT_LENGTH:
            raise ValueError(f"dispensing unit must be 1-{MAX_DISPENSING_UNIT_LENGTH} characters")
        if not 0 < self.strength_mg.value <= 100_000:
            raise ValueError("dispensing strength_mg must be a positive mg per unit (at most 100 g)")
        return self


class DrugIntervention(FrozenModel):
    """A systemic drug: dose, route and cycle length (dose values the seed omits are defaults).

    ``investigational`` marks an investigational product (IP), the drug whose supply the trial
    accounts for unit by unit (ICH E6(R2) 4.6: receipt, dispensing, return and reconciliation at each
    site); an IP needs its ``dispensing`` unit and strength. A drug without ``investigational`` is
    not an IP (standard of care supplied by the hospital)."""

    kind: Literal["drug"]
    id: str = Field(pattern=ID_PATTERN)
    name: str
    drug_class: str
    dose: Parameter[float | None]
    route: Literal["IV", "oral", "SC"]
    cycle_days: Parameter[int]
    max_cycles: Parameter[int | None]
    dose_tolerance: Parameter[float] | None = Field(
        default=None,
        description="Relative deviation of a given dose from the planned one that needs no reason "
        "(default 0.10)",
    )
    investigational: Parameter[bool] | None = Field(
        default=None, description="Whether the drug is an investigational product (dispensing log)"
    )
    dispensing: Dispensing | None = Field(
        default=None, description="Dispensing unit and strength (mg per unit) of an investigational product"
    )

    @property
    def is_investigational_product(self) -> bool:
        """Whether the trial keeps a dispensing log and reconciliation of this drug."""
        return self.investigational is not None and self.investigational.value

    @model_validator(mode="after")
    def _ip_has_dispensing(self) -> DrugIntervention:
        if self.is_investigational_product and self.dispensing is None:
            raise ValueError(f"intervention '{self.id}': an investigational product needs 'dispensing'")
        return self

    @model_validator(mode="after")
    def _dose_unit_known(self) -> DrugIntervention:
        if self.dose.value is not None and self.dose.unit not in DOSE_UNITS:
            known = ", ".join(DOSE_UNITS)
            raise ValueError(f"intervention '{self.id}': dose unit '{self.dose.unit}' is not one of {known}")
        if self.dose_tolerance is not None and not 0 < self.dose_tolerance.value < 1:
            raise ValueError(f"intervention '{self.id}': dose_tolerance must be between 0 and 1")
        return self


class RadiotherapyIntervention(FrozenModel):
    """A radiotherapy course: dose per fraction (Gy), number of fractions, technique and target."""

    kind: Literal["radiotherapy"]
    id: str = Field(pattern=ID_PATTERN)
    name: str
    rt_type: Literal["SHFRT", "HFRT", "LDRT", "CFRT", "SBRT"]
    target: str = Field(description="What is irradiated, e.g. 'primary tumour and involved nodes'")
    technique: Parameter[str]
    dose_per_fraction_gy: Parameter[float]
    fractions: Parameter[int]
    timing: Parameter[str]

    @property
    def total_dose_gy(self) -> float:
        """Prescribed total physical dose in Gy (dose per fraction x fractions)."""
        return self.dose_per_fraction_gy.value * self.fractions.value


Intervention = DrugIntervention | RadiotherapyIntervention


def _rt_default(value: float, unit: str | None, rationale: str) -> Parameter[float]:
    return Parameter[float](value=value, unit=unit, provenance="default", rationale=rationale)


class RtTimeCorrection(FrozenModel):
    """Whether RT deliveries also report the BED10/EQD2(10) corrected for tumour repopulation during
    the overall treatment time, and its parameters (:mod:`trialdesk.domain.radiobiology`, Fowler 1989:
    BED - ln 2 (T - Tk) / (alpha Tpot) beyond the kick-off Tk). The corrected values are shown beside
    the uncorrected ones, never instead of them; the deviation classes do not use them."""

    enabled: Parameter[bool] = Field(
        default_factory=lambda: Parameter[bool](
            value=False,
            provenance="default",
            rationale="Off unless the protocol switches it on: the correction is a model whose parameters "
            "are uncertain (Fowler 1989).",
        )
    )
    alpha: Parameter[float] = Field(
        default_factory=lambda: _rt_default(
            0.3, "Gy^-1", "Fowler, Br J Radiol 1989;62:679-694: alpha of squamous carcinoma."
        )
    )
    tk_days: Parameter[float] = Field(
        default_factory=lambda: _rt_default(
            21, "days", "Fowler 1989: kick-off of accelerated repopulation (21-28 days, Withers 1988)."
        )
    )
    tpot_days: Parameter[float] = Field(
        default_factory=lambda: _rt_default(
            3, "days", "Fowler 1989: potential doubling time of squamous carcinoma clonogens."
        )
    )

    @model_validator(mode="after")
    def _plausible(self) -> RtTimeCorrection:
        try:
            self._factor()
        except ImplausibleValue as exc:  # named by the radiobiology field; say the file's key
            key = {"tk": "tk_days", "tpot": "tpot_days"}.get(exc.field, exc.field)
            raise ValueError(f"{key}: {exc.reason}") from exc
        return self

    def _factor(self) -> TimeFactor:
        return TimeFactor(self.alpha.value, self.tk_days.value, self.tpot_days.value)

    @property
    def factor(self) -> TimeFactor | None:
        """The repopulation parameters when the correction is enabled, else ``None``."""
        return self._factor() if self.enabled.value else None


class RtQuality(FrozenModel):
    """Radiotherapy quality thresholds: a delivered total dose more than ``dose_minor`` (relative)
    from the prescription, or an overall treatment time prolonged more than
    ``prolongation_minor_days``, is a minor deviation; beyond the ``major`` limits a major one
    (the usual RTOG/EORTC quality-assurance grading)."""

    dose_minor: Parameter[float] = Field(
        default_factory=lambda: _rt_default(0.05, None, "RT QA grading: a total dose 5-10% off is minor.")
    )
    dose_major: Parameter[float] = Field(
        default_factory=lambda: _rt_default(0.10, None, "RT QA grading: more than 10% off is major.")
    )
    prolongation_minor_days: Parameter[float] = Field(
        default_factory=lambda: _rt_default(5, "days", "Treatment time prolonged by 6-10 days is minor.")
    )
    prolongation_major_days: Parameter[float] = Field(
        default_factory=lambda: _rt_default(
            10, "days", "Treatment time prolonged by more than 10 days is major."
        )
    )

    time_correction: RtTimeCorrection = Field(default_factory=RtTimeCorrection)

    @model_validator(mode="after")
    def _ordered(self) -> RtQuality:
        if not 0 < self.dose_minor.value < self.dose_major.value < 1:
            raise ValueError("rt_quality: 0 < dose_minor < dose_major < 1")
        if not 0 <= self.prolongation_minor_days.value < self.prolongation_major_days.value <= 60:
            raise ValueError("rt_quality: 0 <= prolongation_minor_days < prolongation_major_days <= 60")
        return self


class Arm(FrozenModel):
    """A treatment arm; ``interventions`` are the components attributed separately for AEs."""

    id: str = Field(pattern=ID_PATTERN)
    label: str
    role: Literal["experimental", "control"]
    description: str
    interventions: list[str] = Field(min_length=1)


class StratificationFactor(FrozenModel):
    """A randomization stratification factor with its levels."""

    id: str = Field(pattern=ID_PATTERN)
    label: str
    levels: list[str] = Field(min_length=2)
    provenance: Provenance
    rationale: str


class Allocation(FrozenModel):
    """How subjects of a randomized phase are allocated to arms."""

    method: Literal["permuted_blocks", "minimization"]
    ratio: dict[str, int] = Field(description="Arm id -> allocation weight, e.g. {A: 1, B: 1}")
    block_sizes: list[int] = Field(default_factory=lambda: [2, 4])
    stratify_by_site: bool = True
    stratification_factors: list[StratificationFactor] = Field(default_factory=list)
    minimization_p: float = Field(default=0.8, gt=0.5, le=1.0, description="Pocock-Simon biased-coin p")

    @model_validator(mode="after")
    def _blocks_fit_ratio(self) -> Allocation:
        if any(w < 1 for w in self.ratio.values()):
            raise ValueError("allocation weights must be positive integers")
        unit = sum(self.ratio.values())
        for size in self.block_sizes:
            if size < unit or size % unit:
                raise ValueError(f"block size {size} is not a multiple of the allocation ratio total {unit}")
        return self


class Phase(FrozenModel):
    """A trial phase (single-arm, run-in or randomized) with its arms and planned size."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    kind: Literal["single_arm", "run_in", "randomized"]
    arms: list[str] = Field(min_length=1)
    target_size: SizeRange
    allocation: Allocation | None = None

    @model_validator(mode="after")
    def _allocation_matches_kind(self) -> Phase:
        if self.kind == "randomized":
            if self.allocation is None:
                raise ValueError(f"randomized phase '{self.id}' needs an 'allocation'")
            if sorted(self.allocation.ratio) != sorted(self.arms):
                ratio_arms, phase_arms = sorted(self.allocation.ratio), sorted(self.arms)
                raise ValueError(f"allocation ratio arms {ratio_arms} differ from phase arms {phase_arms}")
        else:
            if self.allocation is not None:
                raise ValueError(f"{self.kind} phase '{self.id}' must not have an 'allocation'")
            if len(self.arms) != 1:
                raise ValueError(f"{self.kind} phase '{self.id}' must have exactly one arm")
        return self


class PhaseGate(FrozenModel):
    """The passage from one phase to the next (seed 002: run-in -> randomized).

    The gate opens only when none of ``stopping_rules`` is met and, if ``requires_signed_review``,
    a safety reviewer has signed the decision.
    """

    from_phase: str
    to_phase: str
    requires_signed_review: bool = True
    stopping_rules: list[str] = Field(default_factory=list)
    observation_window_days: Parameter[int] = Field(
        default_factory=lambda: Parameter[int](
            value=90,
            unit="days",
            provenance="default",
            rationale=(
                "Each subject of the phase before the gate must be followed this long from treatment "
                "start (or have died) before the gate may be signed open: 90 days is the RTOG/EORTC "
                "boundary of acute radiation toxicity, when fatal pneumonitis, fistula and bleeding of "
                "RT with PD-1 and chemotherapy typically arise."
            ),
        ),
        description="DLT/observation window before the gate may be signed open (days from treatment start)",
    )

    @model_validator(mode="after")
    def _window_positive(self) -> PhaseGate:
        if not 1 <= self.observation_window_days.value <= 730:
            raise ValueError("observation_window_days must be between 1 and 730 days")
        return self


class Design(FrozenModel):
    """Overall design: phases, arms, gates, centres and duration."""

    type: Literal["single_arm", "run_in_then_randomized", "randomized"]
    centres: Literal["single", "multi"]
    target_enrolment: Parameter[int]
    study_duration_months: Parameter[int | None]
    arms: list[Arm] = Field(min_length=1)
    phases: list[Phase] = Field(min_length=1)
    gates: list[PhaseGate] = Field(default_factory=list)


class AttributionPolicy(FrozenModel):
    """Which investigator attribution levels count as treatment-related (per component)."""

    related_levels: list[Literal["unrelated", "unlikely", "possible", "probable", "definite"]] = Field(
        default_factory=lambda: ["possible", "probable", "definite"]  # type: ignore[arg-type]
    )


class LabGradingPolicy(FrozenModel):
    """Protocol options of the CTCAE v5.0 lab grading (``docs/safety.md``); all off by default, which is
    the CTCAE v5.0 text as pharmaverse admiral implements it. A protocol file that does not set
    ``lab_grading`` gets the defaults."""

    creatinine_requires_above_uln: bool = Field(
        default=False,
        description=(
            "Creatinine increased: never grade a value at or below the ULN, even when it is > 1.5 x "
            "baseline (CTCAE v5.0 grades it 2 or 3 through the baseline criteria)"
        ),
    )

    def enabled(self) -> frozenset[str]:
        """The names of the options switched on (the ``option`` names of the lab grading table)."""
        return frozenset(name for name, value in self.model_dump().items() if value is True)


class EventCountCondition(FrozenModel):
    """Which adverse events a stopping rule counts (subjects with at least one such event)."""

    min_grade: int = Field(ge=1, le=5)
    treatment_related: bool
    population_phase: str = Field(description="Only subjects enrolled in this phase count")


class StoppingRule(FrozenModel):
    """A rule that stops (or pauses, or warns) when ``threshold`` or more subjects have the event."""

    id: str = Field(pattern=ID_PATTERN)
    description: str
    source: str = Field(description="Seed passage the rule implements")
    counts: EventCountCondition
    threshold: int = Field(ge=1, description="Rule is met when the count is >= threshold")
    action: Literal["terminate", "pause", "warn"]


class ToxicityMonitoring(FrozenModel):
    """Continuous DSMB-style monitoring of a toxicity rate: a warning boundary, never an auto-stop.

    Beta-binomial: warn when P(rate > ``max_acceptable_rate`` | data) > ``posterior_threshold`` under a
    Beta(``prior_a``, ``prior_b``) prior.
    """

    id: str = Field(pattern=ID_PATTERN)
    description: str
    min_grade: int = Field(ge=1, le=5)
    treatment_related: bool
    method: Literal["beta_binomial"]
    max_acceptable_rate: Parameter[float]
    prior_a: Parameter[float]
    prior_b: Parameter[float]
    posterior_threshold: Parameter[float]
    min_subjects: Parameter[int]


class Endpoint(FrozenModel):
    """A primary or secondary endpoint with its definition."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    role: Literal["primary", "secondary"]
    type: Literal["time_to_event", "binary", "safety"]
    definition: str
    origin: Literal["enrolment", "randomization", "first_response"] | None = None
    events: list[Literal["progression", "death"]] = Field(default_factory=list)
    phases: list[str] = Field(min_length=1, description="Phases whose subjects form the analysis population")
    compare_arms: bool = False

    @model_validator(mode="after")
    def _tte_fields(self) -> Endpoint:
        if self.type == "time_to_event" and (self.origin is None or not self.events):
            raise ValueError(f"time-to-event endpoint '{self.id}' needs 'origin' and 'events'")
        return self


class LesionCounting(FrozenModel):
    """How lymph nodes count as lesions (RECIST 1.1 standard: each node is a lesion).

    Seed 000 inclusion c: all positive regional nodes together are ONE lesion
    (``regional_nodes: single_lesion``); non-regional metastatic nodes count one per station
    (``non_regional_nodes: per_station``).
    """

    regional_nodes: Literal["per_node", "single_lesion"] = "per_node"
    non_regional_nodes: Literal["per_node", "per_station"] = "per_node"
    source: str = "RECIST 1.1 (standard)"


_ABSCOPAL_SOURCE = (
    "RECIST 1.1 s4.3.1 partial-response threshold applied to the non-irradiated target lesions, as "
    "radio-immunotherapy trials report the out-of-field response (Theelen 2019 PEMBRO-RT, JAMA Oncol "
    "5:1276; Welsh 2020, J Immunother Cancer 8:e001001)"
)


class AbscopalRule(FrozenModel):
    """The out-of-field ("abscopal") response rule: the sum of diameters of the non-irradiated target
    lesions at least ``min_decrease`` (a fraction) below its baseline sum; ``confirmation``: confirmed
    by a later assessment (``None``: as the protocol's ``confirmation_required``)."""

    min_decrease: Parameter[float] = Field(
        default_factory=lambda: Parameter[float](
            value=0.30, provenance="default", rationale=f"A >= 30% decrease: {_ABSCOPAL_SOURCE}."
        )
    )
    confirmation: Parameter[bool] | None = None

    @model_validator(mode="after")
    def _decrease_range(self) -> AbscopalRule:
        if not 0 < self.min_decrease.value <= 1:
            value = self.min_decrease.value
            raise ValueError(f"abscopal min_decrease {value} is outside (0, 1] (0.30 = 30%)")
        return self


class TumourAssessment(FrozenModel):
    """Tumour-response rule set and schedule (RECIST 1.1, Eisenhauer 2009; iRECIST, Seymour 2017)."""

    criteria: Literal["recist1.1"] = "recist1.1"
    irecist: bool = Field(description="Also derive iRECIST responses (immunotherapy trials)")
    confirmation_required: Parameter[bool]
    confirmation_min_days: Parameter[int]
    sd_min_days: Parameter[int]
    imaging_interval_weeks: Parameter[int]
    baseline_window_days: Parameter[int]
    lesion_counting: LesionCounting = Field(default_factory=LesionCounting)
    abscopal: AbscopalRule = Field(default_factory=AbscopalRule)


class SampleSize(FrozenModel):
    """The design assumptions behind the target size, for ``trialdesk design check``."""

    method: Literal["exponential_single_arm", "wu2015", "schoenfeld", "freedman"]
    endpoint: str
    parameters: dict[str, Parameter[float]]
    dropout: Parameter[float]


NoAssessmentRule = Literal["censor_at_origin", "censor_at_origin_unless_early_death"]
"""How PFS treats a subject without an (adequate) tumour assessment: always censored at the origin,
or censored at the origin unless death falls within ``early_death_window_intervals`` imaging intervals."""

_FDA_2018 = "FDA 2018 'Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics'"


class AnalysisPlan(FrozenModel):
    """Endpoint-derivation and analysis rules (statistical analysis plan), each a :class:`Parameter`.

    PFS censoring follows FDA (2018) "Clinical Trial Endpoints for the Approval of Cancer Drugs and
    Biologics", appendix on PFS censoring: new anticancer therapy before a documented
    progression, an event after two or more missed assessments, no baseline or no post-baseline
    assessment. Every default here is documented in ``docs/analysis.md``.
    """

    response_rules: Parameter[Literal["recist1.1", "irecist"]] = Field(
        default_factory=lambda: Parameter[Literal["recist1.1", "irecist"]](
            value="recist1.1",
            provenance="default",
            rationale="PFS, ORR and DOR per RECIST 1.1 (the seeds name RECIST 1.1); iRECIST is exploratory.",
        )
    )
    censor_at_new_anticancer_therapy: Parameter[bool] = Field(
        default_factory=lambda: Parameter[bool](
            value=True,
            provenance="default",
            rationale=f"{_FDA_2018}: new anticancer treatment before documented progression - censored "
            "at the last adequate assessment on or before the start of the new treatment.",
        )
    )
    max_missed_assessments: Parameter[int] = Field(
        default_factory=lambda: Parameter[int](
            value=2,
            provenance="default",
            rationale=f"{_FDA_2018}: death or progression after two or more missed assessments - censored "
            "at the last adequate assessment. An event is 'after N missed' when it falls more than N "
            "imaging intervals plus the visit window after the last adequate assessment.",
        )
    )
    assessment_window_days: Parameter[int] = Field(
        default_factory=lambda: Parameter[int](
            value=7,
            unit="days",
            provenance="default",
            rationale="Visit window of a scheduled tumour assessment (+/- 1 week), to count missed ones.",
        )
    )
    no_baseline_assessment: Parameter[NoAssessmentRule] = Field(
        default_factory=lambda: Parameter[NoAssessmentRule](
            value="censor_at_origin",
            provenance="default",
            rationale=f"{_FDA_2018}: no baseline tumour assessment - censored at randomization.",
        )
    )
    no_post_baseline_assessment: Parameter[NoAssessmentRule] = Field(
        default_factory=lambda: Parameter[NoAssessmentRule](
            value="censor_at_origin_unless_early_death",
            provenance="default",
            rationale=f"{_FDA_2018}: no adequate post-baseline assessment and no death - censored at "
            "randomization; a death within two imaging intervals of the origin is still an event.",
        )
    )
    early_death_window_intervals: Parameter[int] = Field(
        default_factory=lambda: Parameter[int](
            value=2,
            provenance="default",
            rationale="A death without a post-baseline assessment is a PFS event when it falls within 2 "
            "imaging intervals (plus the visit window) of the origin, as for missed assessments.",
        )
    )
    landmarks_months: Parameter[list[float]] = Field(
        default_factory=lambda: Parameter[list[float]](
            value=[6.0, 12.0],
            unit="months",
            provenance="default",
            rationale="6- and 12-month PFS/OS rates, the usual landmarks of ESCC phase II reports.",
        )
    )
    km_conf_type: Parameter[Literal["log", "log-log", "plain"]] = Field(
        default_factory=lambda: Parameter[Literal["log", "log-log", "plain"]](
            value="log-log",
            provenance="default",
            rationale="Brookmeyer-Crowley median CI on the log-log scale (SAS PROC LIFETEST default, usual "
            "in oncology reports); R survfit's default is 'log'.",
        )
    )
    historical_median_pfs_months: Parameter[float | None] = Field(
        default_factory=lambda: Parameter[float | None](
            value=None,
            unit="months",
            provenance="default",
            rationale="No historical control: no one-sample log-rank test.",
        )
    )
    historical_weibull_shape: Parameter[float] = Field(
        default_factory=lambda: Parameter[float](
            value=1.0,
            provenance="default",
            rationale="Exponential historical control (Weibull shape 1), as in the sample-size calculation.",
        )
    )
    logrank_strata: Parameter[list[str]] = Field(
        default_factory=lambda: Parameter[list[str]](
            value=[],
            provenance="default",
            rationale="Unstratified log-rank unless the protocol names randomization strata to stratify by.",
        )
    )

    @model_validator(mode="after")
    def _sane(self) -> AnalysisPlan:
        if self.max_missed_assessments.value < 1:
            raise ValueError("analysis.max_missed_assessments must be at least 1")
        if self.assessment_window_days.value < 0 or self.early_death_window_intervals.value < 0:
            raise ValueError("analysis windows must not be negative")
        if any(m <= 0 for m in self.landmarks_months.value):
            raise ValueError("analysis.landmarks_months must be positive")
        median = self.historical_median_pfs_months.value
        if median is not None and median <= 0:
            raise ValueError("analysis.historical_median_pfs_months must be positive")
        if self.historical_weibull_shape.value <= 0:
            raise ValueError("analysis.historical_weibull_shape must be positive")
        return self


class EligibilitySection(FrozenModel):
    """Eligibility criteria and the settings they are evaluated with."""

    lab_validity_days: Parameter[int]
    screening_window_days: Parameter[int] = Field(
        default_factory=lambda: Parameter[int](
            value=28,
            unit="days",
            provenance="default",
            rationale=(
                "A screening verdict is current for as long as its labs are valid: 28 days, the lab "
                "validity of both built-in protocols."
            ),
        ),
        description="Maximum age of the screening verdict at the enrolment date (days)",
    )
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _window_positive(self) -> EligibilitySection:
        if not 1 <= self.screening_window_days.value <= 365:
            raise ValueError("eligibility.screening_window_days must be between 1 and 365 days")
        return self


class Vocabulary(FrozenModel):
    """Codes the protocol's rules and patient records use (each code with a human label)."""

    findings: dict[str, str] = Field(default_factory=dict)
    malignancy_types: dict[str, str] = Field(default_factory=dict)


class Protocol(FrozenModel):
    """A complete protocol specification (see ``docs/protocol-format.md``)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str
    title: str
    short_title: str
    acronym: str | None = None
    registry_ids: list[str] = Field(default_factory=list)
    seed: str = Field(description="The seed document this file implements")
    sponsor: str | None = None
    condition: str
    line_of_therapy: Literal["first", "second", "later"]
    development_phase: Literal["I", "I/II", "II", "II/III", "III"]
    summary: str
    design: Design
    interventions: list[DrugIntervention | RadiotherapyIntervention] = Field(min_length=1)
    eligibility: EligibilitySection
    vocabulary: Vocabulary = Field(default_factory=Vocabulary)
    endpoints: list[Endpoint] = Field(min_length=1)
    attribution: AttributionPolicy = Field(default_factory=AttributionPolicy)
    lab_grading: LabGradingPolicy = Field(default_factory=LabGradingPolicy)
    stopping_rules: list[StoppingRule] = Field(default_factory=list)
    toxicity_monitoring: list[ToxicityMonitoring] = Field(default_factory=list)
    tumour_assessment: TumourAssessment
    sample_size: SampleSize | None = None
    analysis: AnalysisPlan = Field(default_factory=AnalysisPlan)
    visit_schedule: VisitSchedule = Field(default_factory=VisitSchedule)
    rt_quality: RtQuality = Field(default_factory=RtQuality)
    consent_versions: ConsentVersions = Field(default_factory=default_consent_versions)
    forms: list[FormDefinition] = Field(
        default_factory=list,
        description="Case report forms (or in a file named by 'forms_file' beside the protocol file)",
    )
    checks: list[CheckRule] = Field(
        default_factory=list,
        description="Edit checks (or in a file named by 'checks_file' beside the protocol file)",
    )
    sdv_plan: SdvPlan = Field(default_factory=SdvPlan, description="Risk-based source data verification")
    translations: dict[LanguageCode, ProtocolTranslation] = Field(
        default_factory=dict,
        description=(
            "Display texts in other languages by language code, e.g. zh_CN (or in a file named by "
            "'translations_file' beside the protocol file); the English text stays the protocol's own"
        ),
    )

    def localized(self, language: str) -> Protocol:
        """This protocol with its display texts (title, short title, condition, summary, arm labels and
        descriptions, phase names, stratification factor labels, endpoint and intervention names,
        stopping rule and toxicity monitoring descriptions, criterion texts, the investigator's
        questions, the vocabulary's labels) in ``language`` where ``translations`` has them; itself
        when it has none. Ids, rule logic and every other value are unchanged; meant for pages, never
        for rules or reports."""
        translation = self.translations.get(language)
        if translation is None:
            return self
        return _localize(self, translation)

    @model_validator(mode="after")
    def _forms_fit_schedule(self) -> Protocol:
        check_forms(self.forms, self.visit_kinds())
        _known("sdv_plan form", [i.form for i in self.sdv_plan.items if i.form], {f.id for f in self.forms})
        return self

    @model_validator(mode="after")
    def _checks_fit_forms(self) -> Protocol:
        check_rules(self.checks, self.forms)
        return self

    def visit_kinds(self) -> set[str]:
        """The visit kinds this protocol's schedule has (screening, and what the calendar plans)."""
        kinds = {"screening", "tumour_assessment", "end_of_treatment", "survival"}
        if any(isinstance(i, DrugIntervention) for i in self.interventions):
            kinds.add("cycle")
        if self.visit_schedule.radiotherapy:
            kinds.add("radiotherapy")
        if self.visit_schedule.safety_follow_up_days.value:
            kinds.add("safety_follow_up")
        return kinds

    def form(self, form_id: str) -> FormDefinition:
        """Return the form with this id (``KeyError`` if there is none)."""
        for form in self.forms:
            if form.id == form_id:
                return form
        raise KeyError(form_id)

    @model_validator(mode="after")
    def _schedule_radiotherapy_known(self) -> Protocol:
        radiotherapy = {i.id for i in self.interventions if isinstance(i, RadiotherapyIntervention)}
        _known(
            "visit_schedule.radiotherapy intervention",
            [t.intervention for t in self.visit_schedule.radiotherapy],
            radiotherapy,
        )
        return self

    @model_validator(mode="after")
    def _analysis_strata_known(self) -> Protocol:
        factors = {
            factor.id
            for phase in self.design.phases
            if phase.allocation is not None
            for factor in phase.allocation.stratification_factors
        }
        _known("analysis.logrank_strata factor", self.analysis.logrank_strata.value, factors)
        return self

    @model_validator(mode="after")
    def _cross_references(self) -> Protocol:
        _unique("intervention", [i.id for i in self.interventions])
        _unique("arm", [a.id for a in self.design.arms])
        _unique("phase", [p.id for p in self.design.phases])
        _unique("criterion", [c.id for c in self.eligibility.criteria])
        _unique("endpoint", [e.id for e in self.endpoints])
        _unique("stopping rule", [r.id for r in self.stopping_rules])
        interventions = {i.id for i in self.interventions}
        arms = {a.id for a in self.design.arms}
        phases = {p.id for p in self.design.phases}
        for arm in self.design.arms:
            _known(f"arm '{arm.id}' intervention", arm.interventions, interventions)
        for phase in self.design.phases:
            _known(f"phase '{phase.id}' arm", phase.arms, arms)
        rules = {r.id for r in self.stopping_rules}
        for gate in self.design.gates:
            _known("gate phase", [gate.from_phase, gate.to_phase], phases)
            _known("gate stopping rule", gate.stopping_rules, rules)
        for rule in self.stopping_rules:
            _known(f"stopping rule '{rule.id}' phase", [rule.counts.population_phase], phases)
        for endpoint in self.endpoints:
            _known(f"endpoint '{endpoint.id}' phase", endpoint.phases, phases)
        low = sum(p.target_size.min for p in self.design.phases)
        high = sum(p.target_size.max for p in self.design.phases)
        if not low <= self.design.target_enrolment.value <= high:
            raise ValueError(
                f"design.target_enrolment {self.design.target_enrolment.value} is outside the sum of the "
                f"phase target sizes ({low}-{high})"
            )
        if not any(e.role == "primary" for e in self.endpoints):
            raise ValueError("the protocol needs at least one primary endpoint")
        for criterion in self.eligibility.criteria:
            for code in _finding_codes(criterion.rule):
                if code not in self.vocabulary.findings:
                    raise ValueError(
                        f"criterion '{criterion.id}' uses finding '{code}', not listed in vocabulary.findings"
                    )
        return self

    @model_validator(mode="after")
    def _translations_name_known_elements(self) -> Protocol:
        # Last of the validators (pydantic runs them in this order): a protocol whose own ids are
        # wrong is told that first, not that its translations no longer match.
        known = {
            "arms": {a.id for a in self.design.arms},
            "phases": {p.id for p in self.design.phases},
            "stratification_factors": {
                f.id for p in self.design.phases if p.allocation for f in p.allocation.stratification_factors
            },
            "endpoints": {e.id for e in self.endpoints},
            "interventions": {i.id for i in self.interventions},
            "stopping_rules": {r.id for r in self.stopping_rules},
            "toxicity_monitoring": {m.id for m in self.toxicity_monitoring},
            "criteria": {c.id for c in self.eligibility.criteria},
            "questions": {c.id for c in self.eligibility.criteria if c.question is not None},
            "findings": set(self.vocabulary.findings),
            "malignancy_types": set(self.vocabulary.malignancy_types),
        }
        for language, translation in self.translations.items():
            unknown = translation.unknown_ids(known)
            if unknown:
                raise ValueError(
                    f"translations.{language} names what the protocol does not have: {', '.join(unknown)}"
                )
        return self

    def criterion(self, criterion_id: str) -> Criterion:
        """Return the criterion with this id (``KeyError`` if there is none)."""
        for criterion in self.eligibility.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)

    def arm(self, arm_id: str) -> Arm:
        """Return the arm with this id (``KeyError`` if there is none)."""
        for arm in self.design.arms:
            if arm.id == arm_id:
                return arm
        raise KeyError(arm_id)

    def phase(self, phase_id: str) -> Phase:
        """Return the phase with this id (``KeyError`` if there is none)."""
        for phase in self.design.phases:
            if phase.id == phase_id:
                return phase
        raise KeyError(phase_id)

    def intervention(self, intervention_id: str) -> DrugIntervention | RadiotherapyIntervention:
        """Return the intervention with this id (``KeyError`` if there is none)."""
        for intervention in self.interventions:
            if intervention.id == intervention_id:
                return intervention
        raise KeyError(intervention_id)

    def consent_version(self, version: str) -> ConsentVersion:
        """Return the consent-form version with this id (``KeyError`` if there is none)."""
        for consent in self.consent_versions:
            if consent.version == version:
                return consent
        raise KeyError(version)

    def investigational_products(self) -> list[DrugIntervention]:
        """The drugs the trial dispenses and reconciles as investigational products, in file order."""
        return [
            i for i in self.interventions if isinstance(i, DrugIntervention) and i.is_investigational_product
        ]

    def open_parameters(self) -> list[tuple[str, Parameter[object]]]:
        """Every parameter whose value is a documented default (left open by the seed), with its path."""
        found: list[tuple[str, Parameter[object]]] = []
        _collect_defaults(self, "", found)
        return found


_Described = TypeVar(
    "_Described", Endpoint, DrugIntervention, RadiotherapyIntervention, StoppingRule, ToxicityMonitoring
)


def _retexted(items: list[_Described], texts: dict[str, str], field: str) -> list[_Described]:
    """``items`` with ``field`` replaced by ``texts[item.id]`` where ``texts`` has the item."""
    return [
        item if item.id not in texts else item.model_copy(update={field: texts[item.id]}) for item in items
    ]


def _localized_arm(arm: Arm, t: ProtocolTranslation) -> Arm:
    text = t.arms.get(arm.id)
    if text is None:
        return arm
    update = {k: v for k, v in (("label", text.label), ("description", text.description)) if v is not None}
    return arm.model_copy(update=update)


def _localized_phase(phase: Phase, t: ProtocolTranslation) -> Phase:
    update: dict[str, object] = {}
    if phase.id in t.phases:
        update["name"] = t.phases[phase.id]
    if phase.allocation is not None:
        factors = [
            f
            if f.id not in t.stratification_factors
            else f.model_copy(update={"label": t.stratification_factors[f.id]})
            for f in phase.allocation.stratification_factors
        ]
        update["allocation"] = phase.allocation.model_copy(update={"stratification_factors": factors})
    return phase.model_copy(update=update)


def _localized_criterion(criterion: Criterion, t: ProtocolTranslation) -> Criterion:
    if criterion.id in t.criteria:
        criterion = criterion.model_copy(update={"text": t.criteria[criterion.id]})
    question = t.questions.get(criterion.id)
    return criterion if question is None else criterion.asking(question)


def _localize(protocol: Protocol, t: ProtocolTranslation) -> Protocol:
    """A copy of ``protocol`` with the texts ``t`` gives (see :meth:`Protocol.localized`)."""
    design = protocol.design.model_copy(
        update={
            "arms": [_localized_arm(a, t) for a in protocol.design.arms],
            "phases": [_localized_phase(p, t) for p in protocol.design.phases],
        }
    )
    eligibility = protocol.eligibility.model_copy(
        update={"criteria": [_localized_criterion(c, t) for c in protocol.eligibility.criteria]}
    )
    titles = {
        "title": t.title,
        "short_title": t.short_title,
        "condition": t.condition,
        "summary": t.summary,
    }
    vocabulary = protocol.vocabulary.model_copy(
        update={
            "findings": {
                code: t.findings.get(code, label) for code, label in protocol.vocabulary.findings.items()
            },
            "malignancy_types": {
                code: t.malignancy_types.get(code, label)
                for code, label in protocol.vocabulary.malignancy_types.items()
            },
        }
    )
    return protocol.model_copy(
        update={
            **{name: value for name, value in titles.items() if value is not None},
            "design": design,
            "eligibility": eligibility,
            "vocabulary": vocabulary,
            "endpoints": _retexted(protocol.endpoints, t.endpoints, "name"),
            "interventions": _retexted(protocol.interventions, t.interventions, "name"),
            "stopping_rules": _retexted(protocol.stopping_rules, t.stopping_rules, "description"),
            "toxicity_monitoring": _retexted(
                protocol.toxicity_monitoring, t.toxicity_monitoring, "description"
            ),
        }
    )


def _unique(what: str, ids: list[str]) -> None:
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    if duplicates:
        raise ValueError(f"duplicate {what} id(s): {', '.join(duplicates)}")


def _known(what: str, refs: list[str], known: set[str]) -> None:
    for ref in refs:
        if ref not in known:
            raise ValueError(f"{what} '{ref}' is not defined (known: {', '.join(sorted(known))})")


def _finding_codes(rule: Rule) -> list[str]:
    if isinstance(rule, FindingAbsentRule):
        return list(rule.findings)
    if isinstance(rule, AnyOfRule):
        return [code for sub in rule.rules for code in _finding_codes(sub)]
    return []


def _collect_defaults(node: object, path: str, found: list[tuple[str, Parameter[object]]]) -> None:
    if isinstance(node, Parameter):
        if node.provenance == "default":
            found.append((path, node))
        return
    if isinstance(node, ConsentVersion):
        if node.provenance == "default":
            when = node.effective_date.isoformat()
            found.append((path, Parameter(value=when, provenance="default", rationale=node.rationale)))
        return
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            _collect_defaults(getattr(node, name), f"{path}.{name}" if path else name, found)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            ident = getattr(item, "id", getattr(item, "version", None))
            _collect_defaults(item, f"{path}[{ident if ident is not None else index}]", found)
    elif isinstance(node, dict):
        for key, item in node.items():
            _collect_defaults(item, f"{path}.{key}", found)
