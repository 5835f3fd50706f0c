"""Set-wise eligibility: a protocol's criteria compiled to Polars expressions over a whole registry.

The per-patient evaluator (:mod:`trialdesk.domain.eligibility.evaluator`) builds one Python object per
patient; pre-screening a registry of a million patients (``trialdesk prescreen``) evaluates each
criterion once for every patient as a column operation instead. The verdicts are the SAME as the
per-patient evaluator's, criterion by criterion (``tests/unit/eligibility/test_columnar_agreement.py``,
a Hypothesis property over generated populations with missing data and unit variety), because both
read the same rules, thresholds and unit tables:

* units: :data:`trialdesk.domain.labs.units.TESTS` (an unknown unit or an impossible value makes the
  latest result unusable: ``unknown``, never coerced, never replaced by an older result);
* comparisons: 10 significant digits on both sides (``compare_values``; Polars ``round_sig_figs``);
* dates: the most recent result on or before the evaluation date, same day the later row, within the
  protocol's ``lab_validity_days``; age in completed years (29 February birthdays as ``age_in_years``).

Polars is used here as NumPy is in ``stats``: a computation library, no I/O (the frames are read by
:mod:`trialdesk.adapters.bulk_fhir`).

**Computable criteria** are those whose data a registry extract carries (:func:`is_computable`): age,
coded diagnosis fields, ECOG and expected survival, labs (absolute or x ULN), Cockcroft-Gault,
recorded findings, prior therapy, investigational drugs, ``any_of`` of these, and attestations
(always ``needs_attestation``: nobody has attested before consent) and consent (always ``unknown``:
pre-screening happens before consent). Prior-line failure, measurable disease, PG-SGA and other
malignancies are not computed: they stay ``unknown`` ("to be checked at screening") and never exclude.

The registry layout (one frame per table; ``pid`` is the patient's row number in
``patients``, 0, 1, 2..., which the engine uses as a direct index):

* ``patients``: pid, patient_id, sex, birth_date, histology, confirmation, stage, m_stage,
  setting (list of str);
* ``observations``: pid, seq (row order, ties on a date: the higher wins), code (a
  :data:`~trialdesk.domain.labs.catalogue.LabTest`, ``ecog``, ``weight_kg`` or
  ``expected_survival_months``), value (null: unusable, e.g. a weight in an unknown unit), unit, uln,
  date;
* ``findings``: pid, code, present (bool; one row per patient and code);
* ``therapies``: pid, modality (a therapy modality, or ``none`` for an explicit "no prior therapy"
  statement), for_esophageal_cancer (bool or null), start_date, end_date;
* ``exposures``: pid, last_dose_date (null: an explicit "no investigational drug" statement).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from trialdesk.domain.common import Comparison
from trialdesk.domain.eligibility.evaluator import CG_MAX_AGE_YEARS, Status
from trialdesk.domain.eligibility.rules import (
    AgeRule,
    AnyOfRule,
    AttestationRule,
    CodedRule,
    ConsentRule,
    CreatinineClearanceRule,
    Criterion,
    FindingAbsentRule,
    LabRule,
    NoPriorTherapyRule,
    NoRecentInvestigationalDrugRule,
    NumericRule,
    Rule,
)
from trialdesk.domain.labs.catalogue import LAB_TESTS, LabTest
from trialdesk.domain.labs.units import CREATININE_UMOL_PER_MG_DL, TESTS, normalise_unit, to_canonical
from trialdesk.domain.measures import COCKCROFT_GAULT_FEMALE_FACTOR
from trialdesk.domain.protocol.model import Protocol

MET: Final = 0
NOT_MET: Final = 1
UNKNOWN: Final = 2
NEEDS_ATTESTATION: Final = 3
STATUS_NAMES: Final[tuple[Status, ...]] = ("met", "not_met", "unknown", "needs_attestation")
"""Status codes of the result columns (UInt8) -> the evaluator's status names."""

SCALAR_CODES: Final = ("ecog", "weight_kg", "expected_survival_months")
"""Observation codes with one current value (the latest on or before the date, no validity window)."""
OBSERVATION_CODES: Final = frozenset((*LAB_TESTS, *SCALAR_CODES))
OBSERVATION_CODE: Final = pl.Enum(sorted(OBSERVATION_CODES))
"""The dtype of ``observations.code`` (one byte per row instead of a string)."""
SIG_DIGITS: Final = 10
"""Significant digits both sides of a comparison are rounded to (as ``evaluator.compare_values``)."""

SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "patients": {
        "pid": pl.UInt32,
        "patient_id": pl.Utf8,
        "sex": pl.Utf8,
        "birth_date": pl.Date,
        "histology": pl.Utf8,
        "confirmation": pl.Utf8,
        "stage": pl.Utf8,
        "m_stage": pl.Utf8,
        "setting": pl.List(pl.Utf8),
    },
    "observations": {
        "pid": pl.UInt32,
        "seq": pl.UInt32,
        "code": OBSERVATION_CODE,
        "value": pl.Float64,
        "unit": pl.Utf8,
        "uln": pl.Float64,
        "date": pl.Date,
    },
    "findings": {"pid": pl.UInt32, "code": pl.Utf8, "present": pl.Boolean},
    "therapies": {
        "pid": pl.UInt32,
        "modality": pl.Utf8,
        "for_esophageal_cancer": pl.Boolean,
        "start_date": pl.Date,
        "end_date": pl.Date,
    },
    "exposures": {"pid": pl.UInt32, "last_dose_date": pl.Date},
}
"""Column -> dtype of each registry frame (see the module docstring)."""


@dataclass(frozen=True)
class Registry:
    """A registry extract as frames in the layout of :data:`SCHEMAS`."""

    patients: pl.DataFrame
    observations: pl.DataFrame
    findings: pl.DataFrame
    therapies: pl.DataFrame
    exposures: pl.DataFrame

    def __post_init__(self) -> None:
        for name, schema in SCHEMAS.items():
            frame: pl.DataFrame = getattr(self, name)
            wrong = {c: str(frame.schema.get(c)) for c, t in schema.items() if frame.schema.get(c) != t}
            if wrong:
                raise ValueError(f"registry table {name}: columns with a wrong or no dtype: {wrong}")
        pid = self.patients["pid"]
        if not pid.equals(pl.int_range(0, pid.len(), dtype=pl.UInt32, eager=True).alias("pid")):
            raise ValueError("registry table patients: pid must be the row number (0, 1, 2...)")

    @property
    def size(self) -> int:
        """Number of patients."""
        return self.patients.height


def is_computable(rule: Rule) -> bool:
    """Whether the columnar engine computes ``rule`` from a registry extract (see module docstring)."""
    if isinstance(rule, AnyOfRule):
        return all(is_computable(sub) for sub in rule.rules)
    return type(rule) in _COMPILERS


# ---------------------------------------------------------------- the per-patient working frame


def _status(known: pl.Expr, ok: pl.Expr) -> pl.Expr:
    return pl.when(known.not_()).then(UNKNOWN).when(ok).then(MET).otherwise(NOT_MET)


def _sig(value: float) -> float:
    return float(f"{value:.{SIG_DIGITS}g}")


def _compare(value: pl.Expr, op: Comparison, threshold: pl.Expr | float) -> pl.Expr:
    left = value.round_sig_figs(SIG_DIGITS)
    right = threshold.round_sig_figs(SIG_DIGITS) if isinstance(threshold, pl.Expr) else _sig(threshold)
    if op == ">=":
        return left >= right
    if op == ">":
        return left > right
    if op == "<=":
        return left <= right
    return left < right


def _age(on: dt.date) -> pl.Expr:
    """Completed years on ``on`` (a birthday counts from that day; 29 February -> 1 March)."""
    birth = pl.col("birth_date")
    before_birthday = (pl.lit(on.month * 100 + on.day)) < (
        birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day()
    )
    return pl.lit(on.year) - birth.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32)


def _latest(registry: Registry, on: dt.date, codes: set[str]) -> pl.DataFrame:
    """The latest observation per patient and code on or before ``on`` (same date: the higher seq).

    One pass: the (date, seq) key's maximum over each patient's code (no sort of the whole table).
    """
    key = pl.col("date").cast(pl.Int64) * (1 << 32) + pl.col("seq").cast(pl.Int64)
    obs = registry.observations.lazy().filter(pl.col("date") <= on, pl.col("code").is_in(sorted(codes)))
    latest = obs.filter(key == key.max().over("pid", "code"))
    return latest.select("pid", "code", "value", "unit", "uln", "date").collect()


def _code_columns(part: pl.DataFrame, code: str) -> pl.LazyFrame:
    """The latest ``code`` per patient (``part``: its rows of :func:`_latest`): value, uln, date and
    (labs) canonical value and usability.

    A lab value is usable when its unit is one the domain's unit table knows for the test and it is
    finite, not negative and within the test's plausibility range once converted (as
    ``plausibility_problem``); the factors come from :data:`~trialdesk.domain.labs.units.TESTS`.
    """
    units = part["unit"].drop_nulls().unique().to_list()
    lazy = part.lazy().drop("code")
    if code in LAB_TESTS:
        spec = TESTS[code]
        factors = {unit: spec.factors.get(normalise_unit(unit)) for unit in units}
        factor = pl.col("unit").replace_strict(factors, default=None, return_dtype=pl.Float64)
        canonical = pl.col("value") * factor
        low, high = spec.plausible
        usable = (
            factor.is_not_null()
            & pl.col("value").is_finite()
            & (pl.col("value") >= 0)
            & (canonical >= low)
            & (canonical <= high)
        )
        lazy = lazy.with_columns(canonical.alias("canonical"), usable.fill_null(False).alias("usable"))
    lazy = lazy.drop("unit")
    return lazy.rename({c: f"{code}__{c}" for c in lazy.collect_schema().names() if c != "pid"})


def _spread(n: int, part: pl.DataFrame, prefix: str = "") -> dict[str, pl.Series]:
    """``part`` (at most one row per pid) as full-length columns indexed by pid, null elsewhere: a
    left join on the dense patient number without hashing (``pid`` is the patients' row number)."""
    index = part["pid"]
    columns: dict[str, pl.Series] = {}
    for name in part.columns:
        if name == "pid":
            continue
        full = pl.Series(prefix + name, [None] * min(n, 1), dtype=part[name].dtype)
        if n > 1:
            full = full.extend_constant(None, n - 1)
        columns[prefix + name] = full.scatter(index, part[name]) if part.height else full
    return columns


def _wide(registry: Registry, on: dt.date, criteria: list[Criterion]) -> pl.DataFrame:
    """One row per patient (row number = pid) with every column the criteria read."""
    rules = [r for c in criteria for r in _flatten(c.rule)]
    codes: set[str] = {r.test for r in rules if isinstance(r, LabRule)}
    codes |= {r.field for r in rules if isinstance(r, NumericRule)}
    if any(isinstance(r, CreatinineClearanceRule) for r in rules):
        codes |= {"creatinine", "weight_kg"}
    n = registry.size
    birth = pl.col("birth_date")
    columns: dict[str, pl.Series] = {}
    latest = _latest(registry, on, codes)
    parts = latest.partition_by("code", as_dict=True, maintain_order=False)
    empty = latest.clear()
    for code in sorted(codes):
        columns |= _spread(n, _code_columns(parts.get((code,), empty), code).collect())
    finding_codes = sorted({f for r in rules if isinstance(r, FindingAbsentRule) for f in r.findings})
    findings = registry.findings.filter(pl.col("code").is_in(finding_codes))
    by_code = findings.partition_by("code", as_dict=True, maintain_order=False)
    for code in finding_codes:
        part = by_code.get((code,), findings.clear()).select("pid", pl.col("present").alias(code))
        columns |= _spread(n, part, "finding__")
    columns |= _spread(n, _therapy_columns(registry, _therapy_rules(rules), on).collect())
    dose = pl.col("last_dose_date")
    exposures = registry.exposures.lazy().filter(dose.is_null() | (dose <= on)).group_by("pid")
    recorded = exposures.agg(pl.lit(True).alias("exposures__recorded"), dose.max().alias("exposures__last"))
    columns |= _spread(n, recorded.collect())
    return registry.patients.with_columns(pl.when(birth <= on).then(birth).alias("birth_date"), **columns)


def _wanted(rule: NoPriorTherapyRule) -> list[str]:
    wanted = set(rule.modalities)
    if wanted & {"chemotherapy", "radiotherapy"}:
        wanted.add("chemoradiotherapy")
    return sorted(wanted)


def _therapy_rules(rules: list[Rule]) -> list[NoPriorTherapyRule]:
    return [r for r in rules if isinstance(r, NoPriorTherapyRule)]


def _therapy_columns(registry: Registry, rules: list[NoPriorTherapyRule], on: dt.date) -> pl.LazyFrame:
    """Per patient: whether a therapy history is recorded, and per no-prior-therapy rule (numbered in
    ``rules`` order) whether a therapy counts against it or its indication is not recorded. Therapies
    starting after ``on`` are not seen."""
    start = pl.col("start_date")
    therapies = registry.therapies.lazy().filter(start.is_null() | (start <= on))
    aggs = [pl.lit(True).alias("therapies__recorded")]
    for i, rule in enumerate(rules):
        in_scope = pl.col("modality").is_in(_wanted(rule))
        if rule.indication == "esophageal_cancer":
            counted = in_scope & (pl.col("for_esophageal_cancer") == True)  # noqa: E712 (null stays null)
            undetermined = in_scope & pl.col("for_esophageal_cancer").is_null()
        else:
            counted, undetermined = in_scope, pl.lit(False)
        aggs.append(counted.fill_null(False).any().alias(f"therapies__{i}__counted"))
        aggs.append(undetermined.fill_null(False).any().alias(f"therapies__{i}__undetermined"))
    return therapies.group_by("pid").agg(aggs)


def _flatten(rule: Rule) -> list[Rule]:
    if isinstance(rule, AnyOfRule):
        return [r for sub in rule.rules for r in _flatten(sub)]
    return [rule]


# ---------------------------------------------------------------- one compiler per rule type


class _Compiler:
    """Compiles rules to status expressions over the working frame (columns named by ``_wide``)."""

    def __init__(self, on: dt.date, validity_days: int, therapy_rules: list[NoPriorTherapyRule]) -> None:
        self.on = on
        self.validity_days = validity_days
        self._therapy_rules = {id(rule): i for i, rule in enumerate(therapy_rules)}

    def compile(self, rule: Rule, criterion_id: str) -> pl.Expr:
        return _COMPILERS[type(rule)](self, rule, criterion_id)

    def therapy_rule_number(self, rule: NoPriorTherapyRule) -> int:
        return self._therapy_rules[id(rule)]


def _c_age(c: _Compiler, rule: AgeRule, _: str) -> pl.Expr:
    age = _age(c.on)
    ok = pl.lit(True)
    if rule.min_years is not None:
        ok = ok & (age >= rule.min_years)
    if rule.max_years is not None:
        ok = ok & (age <= rule.max_years)
    return _status(pl.col("birth_date").is_not_null(), ok)


def _c_coded(c: _Compiler, rule: CodedRule, _: str) -> pl.Expr:
    name = rule.field.split(".", 1)[1]
    if name == "setting":
        hits = pl.col(name).list.eval(pl.element().is_in(rule.allowed)).list.any()
        return _status(pl.col(name).is_not_null(), hits)
    return _status(pl.col(name).is_not_null(), pl.col(name).is_in(rule.allowed))


def _c_numeric(c: _Compiler, rule: NumericRule, _: str) -> pl.Expr:
    value = pl.col(f"{rule.field}__value")
    return _status(value.is_not_null(), _compare(value, rule.op, rule.value))


def _lab_known(c: _Compiler, test: LabTest) -> pl.Expr:
    """A usable latest result of ``test`` within the validity window."""
    age_days = (pl.lit(c.on) - pl.col(f"{test}__date")).dt.total_days()
    return pl.col(f"{test}__usable").fill_null(False) & (age_days <= c.validity_days)


def _c_lab(c: _Compiler, rule: LabRule, _: str) -> pl.Expr:
    test = rule.test
    known = _lab_known(c, test)
    if rule.times_uln is not None:
        uln = pl.col(f"{test}__uln")
        limit = pl.lit(rule.times_uln) * uln
        return _status(known & uln.is_not_null(), _compare(pl.col(f"{test}__value"), rule.op, limit))
    assert rule.value is not None and rule.unit is not None
    threshold = to_canonical(test, rule.value, rule.unit)
    return _status(known, _compare(pl.col(f"{test}__canonical"), rule.op, threshold))


def _c_creatinine_clearance(c: _Compiler, rule: CreatinineClearanceRule, _: str) -> pl.Expr:
    age = _age(c.on).cast(pl.Float64)
    weight = pl.col("weight_kg__value")
    creatinine_mg_dl = pl.col("creatinine__canonical") / CREATININE_UMOL_PER_MG_DL
    clearance = (pl.lit(140.0) - age) * weight / (pl.lit(72.0) * creatinine_mg_dl)
    clearance = (
        pl.when(pl.col("sex") == "female")
        .then(clearance * COCKCROFT_GAULT_FEMALE_FACTOR)
        .otherwise(clearance)
    )
    known = (
        pl.col("birth_date").is_not_null()
        & pl.col("sex").is_not_null()
        & weight.is_not_null()
        & _lab_known(c, "creatinine")
    )
    in_range = (age > 0) & (age < CG_MAX_AGE_YEARS)
    return _status(known & in_range, _compare(clearance, rule.op, rule.value))


def _c_finding_absent(c: _Compiler, rule: FindingAbsentRule, _: str) -> pl.Expr:
    columns = [pl.col(f"finding__{code}") for code in rule.findings]
    present = pl.any_horizontal(col.fill_null(False) for col in columns)
    all_recorded = pl.all_horizontal(col.is_not_null() for col in columns)
    status = pl.when(present).then(NOT_MET).when(all_recorded).then(MET).otherwise(UNKNOWN)
    if rule.applies_to_sex is None:
        return status
    other_sex = pl.col("sex").is_not_null() & (pl.col("sex") != rule.applies_to_sex)
    return pl.when(other_sex).then(MET).otherwise(status)


def _c_attestation(c: _Compiler, rule: AttestationRule, _: str) -> pl.Expr:
    return pl.lit(NEEDS_ATTESTATION)


def _c_consent(c: _Compiler, rule: ConsentRule, _: str) -> pl.Expr:
    return pl.lit(UNKNOWN)


def _c_no_prior_therapy(c: _Compiler, rule: NoPriorTherapyRule, _: str) -> pl.Expr:
    i = c.therapy_rule_number(rule)
    recorded = pl.col("therapies__recorded").fill_null(False)
    counted = pl.col(f"therapies__{i}__counted").fill_null(False)
    undetermined = pl.col(f"therapies__{i}__undetermined").fill_null(False)
    return (
        pl.when(recorded.not_())
        .then(UNKNOWN)
        .when(counted)
        .then(NOT_MET)
        .when(undetermined)
        .then(UNKNOWN)
        .otherwise(MET)
    )


def _c_no_recent_investigational_drug(c: _Compiler, rule: NoRecentInvestigationalDrugRule, _: str) -> pl.Expr:
    since = c.on - dt.timedelta(days=rule.window_days)
    recent = pl.col("exposures__last").is_not_null() & (pl.col("exposures__last") >= since)
    return _status(pl.col("exposures__recorded").fill_null(False), recent.not_())


def _c_any_of(c: _Compiler, rule: AnyOfRule, criterion_id: str) -> pl.Expr:
    parts = [c.compile(sub, criterion_id) for sub in rule.rules]
    any_met = pl.any_horizontal(p == MET for p in parts)
    all_not_met = pl.all_horizontal(p == NOT_MET for p in parts)
    any_unknown = pl.any_horizontal(p == UNKNOWN for p in parts)
    return (
        pl.when(any_met)
        .then(MET)
        .when(all_not_met)
        .then(NOT_MET)
        .when(any_unknown)
        .then(UNKNOWN)
        .otherwise(NEEDS_ATTESTATION)
    )


_COMPILERS: dict[type[Any], Callable[[_Compiler, Any, str], pl.Expr]] = {
    AgeRule: _c_age,
    CodedRule: _c_coded,
    NumericRule: _c_numeric,
    LabRule: _c_lab,
    CreatinineClearanceRule: _c_creatinine_clearance,
    FindingAbsentRule: _c_finding_absent,
    AttestationRule: _c_attestation,
    ConsentRule: _c_consent,
    NoPriorTherapyRule: _c_no_prior_therapy,
    NoRecentInvestigationalDrugRule: _c_no_recent_investigational_drug,
    AnyOfRule: _c_any_of,
}


# ---------------------------------------------------------------- evaluation, funnel, candidates


def evaluate_registry(protocol: Protocol, registry: Registry, on: dt.date) -> pl.DataFrame:
    """Every criterion of ``protocol`` for every patient of ``registry`` on the date ``on``.

    Returns one row per patient: ``pid``, ``patient_id`` and one UInt8 status column per criterion id
    (codes :data:`MET`, :data:`NOT_MET`, :data:`UNKNOWN`, :data:`NEEDS_ATTESTATION`; names in
    :data:`STATUS_NAMES`), in protocol order. A criterion that is not computable is ``UNKNOWN``.
    Data dated after ``on`` are not seen (observations, therapies started, investigational doses);
    a birth date after ``on`` is not used.
    """
    criteria = list(protocol.eligibility.criteria)
    computable = [c for c in criteria if is_computable(c.rule)]
    rules = [r for c in computable for r in _flatten(c.rule)]
    compiler = _Compiler(on, protocol.eligibility.lab_validity_days.value, _therapy_rules(rules))
    statuses = [
        (compiler.compile(c.rule, c.id) if is_computable(c.rule) else pl.lit(UNKNOWN))
        .cast(pl.UInt8)
        .alias(c.id)
        for c in criteria
    ]
    return _wide(registry, on, computable).select("pid", "patient_id", *statuses)


@dataclass(frozen=True)
class FunnelStep:
    """One criterion of the funnel, in protocol order.

    ``excluded`` patients are not met on this criterion and on no earlier one (so the steps add up
    to the patients excluded); ``not_met`` counts every patient not met on it, whatever the others;
    ``remaining`` patients are still in after this step.
    """

    criterion_id: str
    source: str
    computable: bool
    excluded: int
    not_met: int
    unknown: int
    needs_attestation: int
    remaining: int


def funnel(protocol: Protocol, statuses: pl.DataFrame) -> list[FunnelStep]:
    """The exclusion funnel of :func:`evaluate_registry`'s result, in protocol order."""
    ids = [c.id for c in protocol.eligibility.criteria]
    counts = statuses.select(
        *(
            pl.col(i).eq(s).sum().alias(f"{i}__{s}")
            for i in ids
            for s in (NOT_MET, UNKNOWN, NEEDS_ATTESTATION)
        ),
        *(
            (
                pl.col(i).eq(NOT_MET) & ~pl.any_horizontal(pl.col(e).eq(NOT_MET) for e in ids[:k])
                if k
                else pl.col(i).eq(NOT_MET)
            )
            .sum()
            .alias(f"{i}__first")
            for k, i in enumerate(ids)
        ),
    ).row(0, named=True)
    steps: list[FunnelStep] = []
    remaining = statuses.height
    for criterion in protocol.eligibility.criteria:
        excluded = int(counts[f"{criterion.id}__first"])
        remaining -= excluded
        steps.append(
            FunnelStep(
                criterion_id=criterion.id,
                source=criterion.source,
                computable=is_computable(criterion.rule),
                excluded=excluded,
                not_met=int(counts[f"{criterion.id}__{NOT_MET}"]),
                unknown=int(counts[f"{criterion.id}__{UNKNOWN}"]),
                needs_attestation=int(counts[f"{criterion.id}__{NEEDS_ATTESTATION}"]),
                remaining=remaining,
            )
        )
    return steps


def candidates(protocol: Protocol, statuses: pl.DataFrame) -> pl.DataFrame:
    """Patients not excluded by any criterion, with what is still open.

    Columns: ``patient_id``, ``pending_data`` and ``pending_attestation`` (criterion ids, protocol
    order, ``;``-separated; not-computable criteria are in ``pending_data``), ``n_pending``.
    """
    ids = [c.id for c in protocol.eligibility.criteria]
    alive = statuses.filter(~pl.any_horizontal(pl.col(i).eq(NOT_MET) for i in ids))

    def listed(code: int) -> pl.Expr:
        return pl.concat_str(
            [pl.when(pl.col(i).eq(code)).then(pl.lit(i)) for i in ids], separator=";", ignore_nulls=True
        )

    pending = sum(
        (pl.col(i).is_in([UNKNOWN, NEEDS_ATTESTATION]).cast(pl.UInt32) for i in ids), pl.lit(0, pl.UInt32)
    )
    return alive.select(
        "patient_id",
        listed(UNKNOWN).alias("pending_data"),
        listed(NEEDS_ATTESTATION).alias("pending_attestation"),
        pending.alias("n_pending"),
    )
