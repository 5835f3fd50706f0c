"""The tri-state eligibility evaluator: a protocol's criteria against one patient record.

Each criterion evaluates to

* ``met``: the eligibility requirement is satisfied (for an exclusion: the patient is free of it);
* ``not_met``: it is not (the patient is ineligible);
* ``unknown``: data are missing; ``missing`` names what;
* ``needs_attestation``: a judgement the seed leaves to the investigator and no answer is recorded.

Verdict: ``ineligible`` if any criterion is ``not_met``; else ``incomplete`` if any is ``unknown``
or ``needs_attestation``; else ``eligible``.

Everything is evaluated at the screening date: age from the birth date, the most recent lab result
on or before that date and within the protocol's ``lab_validity_days``, look-back windows for
trials and malignancies. One small function per rule type (``_EVALUATORS``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from dateutil.relativedelta import relativedelta
from pydantic import Field

from trialdesk.domain.common import Comparison, FrozenModel, compare
from trialdesk.domain.eligibility.patient import Attestation, PatientRecord, PriorTherapy
from trialdesk.domain.eligibility.rules import (
    AgeRule,
    AnyOfRule,
    AttestationRule,
    CodedRule,
    ConsentRule,
    CreatinineClearanceRule,
    Criterion,
    FindingAbsentRule,
    FirstLineFailureRule,
    LabRule,
    MeasurableDiseaseRule,
    NoOtherMalignancyRule,
    NoPriorTherapyRule,
    NoRecentInvestigationalDrugRule,
    NumericRule,
    Rule,
    ScoreRule,
)
from trialdesk.domain.eligibility.validation import check_patient, screening_date_of
from trialdesk.domain.labs.catalogue import LabTest
from trialdesk.domain.labs.result import LabResult, age_in_days, latest_result, within_validity
from trialdesk.domain.labs.units import (
    UnitError,
    canonical_unit,
    fmt,
    plausibility_problem,
    test_label,
    to_canonical,
)
from trialdesk.domain.measures import age_in_years, cockcroft_gault, pg_sga_total
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.recist.measurability import count_measurable_lesions

Status = Literal["met", "not_met", "unknown", "needs_attestation"]
Verdict = Literal["eligible", "ineligible", "incomplete"]

CG_MAX_AGE_YEARS = 140
"""Cockcroft-Gault is defined for 0 < age < 140 years (the formula's (140 - age) factor)."""

SYSTEMIC_MODALITIES = frozenset({"chemotherapy", "immunotherapy", "targeted_therapy", "chemoradiotherapy"})
"""Modalities that make up a line of systemic therapy (seed 000 inclusion b)."""


class CriterionResult(FrozenModel):
    """The evaluation of one criterion."""

    id: str
    source: str
    kind: Literal["inclusion", "exclusion"]
    text: str
    status: Status
    evidence: str
    missing: list[str] = Field(default_factory=list)


class EligibilityResult(FrozenModel):
    """The evaluation of every criterion of a protocol for one patient, and the verdict."""

    protocol_id: str
    protocol_version: str
    patient_id: str
    screening_date: dt.date
    verdict: Verdict
    criteria: list[CriterionResult]


@dataclass(frozen=True)
class Outcome:
    """A rule's status, the evidence behind it and (for ``unknown``) what is missing."""

    status: Status
    evidence: str
    missing: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Context:
    """What a rule is evaluated against."""

    protocol: Protocol
    patient: PatientRecord
    on: dt.date
    criterion_id: str

    @property
    def lab_validity_days(self) -> int:
        return self.protocol.eligibility.lab_validity_days.value


def _unknown(evidence: str, *missing: str) -> Outcome:
    return Outcome("unknown", evidence, tuple(missing))


def _decide(ok: bool, met_text: str, not_met_text: str) -> Outcome:
    return Outcome("met", met_text) if ok else Outcome("not_met", not_met_text)


def _sig(value: float) -> float:
    """Round to 10 significant digits so that e.g. 1.5 x 1.2 equals 1.8 (as admiral's ``signif``)."""
    return float(f"{value:.10g}")


def compare_values(value: float, op: Comparison, threshold: float) -> bool:
    """``value op threshold`` after removing floating-point noise (boundaries follow the sign)."""
    return compare(_sig(value), op, _sig(threshold))


def _against(text: str, ok: bool, op: Comparison, threshold: str) -> Outcome:
    return _decide(ok, f"{text} {op} {threshold}", f"{text}, not {op} {threshold}")


# ---------------------------------------------------------------- demographics, coded, numeric


def _age(rule: AgeRule, ctx: Context) -> Outcome:
    birth = ctx.patient.birth_date
    if birth is None:
        return _unknown("birth date not recorded", "birth_date")
    age = age_in_years(birth, ctx.on)
    low, high = rule.min_years, rule.max_years
    if low is not None and high is not None:
        bounds = f"{low}-{high}"
    else:
        bounds = f">= {low}" if low is not None else f"<= {high}"
    ok = (low is None or age >= low) and (high is None or age <= high)
    text = f"age {age} y on {ctx.on} (born {birth})"
    return _decide(ok, f"{text}, within {bounds}", f"{text}, not within {bounds}")


def _coded(rule: CodedRule, ctx: Context) -> Outcome:
    name = rule.field.split(".", 1)[1]
    value: str | list[str] | None = getattr(ctx.patient.diagnosis, name)
    allowed = ", ".join(rule.allowed)
    if value is None:
        return _unknown(f"{rule.field} not recorded", rule.field)
    if isinstance(value, list):
        hits = [v for v in value if v in rule.allowed]
        shown = ", ".join(value) or "none"
        return _decide(
            bool(hits), f"{name} {shown} (allowed: {allowed})", f"{name} {shown}, none of: {allowed}"
        )
    return _decide(
        value in rule.allowed,
        f"{name} {value} (allowed: {allowed})",
        f"{name} {value}, not one of: {allowed}",
    )


_NUMERIC_LABELS = {"ecog": "ECOG", "expected_survival_months": "expected survival (months)"}


def _numeric(rule: NumericRule, ctx: Context) -> Outcome:
    value: float | None = getattr(ctx.patient, rule.field)
    label = _NUMERIC_LABELS[rule.field]
    if value is None:
        return _unknown(f"{label} not recorded", rule.field)
    return _against(
        f"{label} {fmt(value)}", compare_values(value, rule.op, rule.value), rule.op, fmt(rule.value)
    )


# ---------------------------------------------------------------- labs and creatinine clearance


def latest_lab(ctx: Context, test: LabTest) -> tuple[LabResult | None, Outcome | None]:
    """The most recent ``test`` result on or before the screening date, within the validity window.

    Returns ``(result, None)`` or ``(None, unknown outcome naming what is missing)``. Results on the
    same day: the last one listed wins.
    """
    label = test_label(test)
    window = ctx.lab_validity_days
    latest = latest_result(ctx.patient.labs, test, ctx.on)
    if latest is None:
        return None, _unknown(f"no {label} result", f"labs: {test} within {window} days before {ctx.on}")
    if not within_validity(latest.date, ctx.on, window):
        age_days = age_in_days(latest.date, ctx.on)
        return None, _unknown(
            f"latest {label} result ({latest.date}) is {age_days} days old; validity {window} days",
            f"labs: {test} within {window} days before {ctx.on}",
        )
    # A screened record never gets here with an unknown unit or an impossible value (check_patient
    # refuses it); a registry extract does (trialdesk prescreen): such a value is unknown, never
    # coerced and never replaced by an older result.
    try:
        problem = plausibility_problem(test, latest.value, latest.unit)
    except UnitError as exc:
        problem = str(exc)
    if problem is not None:
        return None, _unknown(
            f"latest {label} result ({latest.date}) cannot be used: {problem}",
            f"labs: {test} in a known unit, within {window} days before {ctx.on}",
        )
    return latest, None


def _lab_text(lab: LabResult) -> str:
    shown = f"{test_label(lab.test)} {fmt(lab.value)} {lab.unit}"
    if to_canonical(lab.test, 1.0, lab.unit) != 1.0:
        canonical = to_canonical(lab.test, lab.value, lab.unit)
        shown += f" (= {fmt(canonical)} {canonical_unit(lab.test)})"
    return shown


def _lab(rule: LabRule, ctx: Context) -> Outcome:
    lab, missing = latest_lab(ctx, rule.test)
    if lab is None:
        assert missing is not None
        return missing
    if rule.times_uln is not None:
        if lab.uln is None:
            return _unknown(
                f"{_lab_text(lab)}: no upper limit of normal recorded",
                f"labs: {rule.test} uln (reference range high) of the {lab.date} result",
            )
        limit = rule.times_uln * lab.uln
        text = f"{_lab_text(lab)} ({fmt(lab.value / lab.uln)} x ULN {fmt(lab.uln)} {lab.unit})"
        return _dated(
            _against(
                text, compare_values(lab.value, rule.op, limit), rule.op, f"{fmt(rule.times_uln)} x ULN"
            ),
            lab,
        )
    assert rule.value is not None and rule.unit is not None
    value = to_canonical(rule.test, lab.value, lab.unit)
    threshold = to_canonical(rule.test, rule.value, rule.unit)
    threshold_text = f"{fmt(threshold)} {canonical_unit(rule.test)}"
    return _dated(
        _against(_lab_text(lab), compare_values(value, rule.op, threshold), rule.op, threshold_text), lab
    )


def _dated(outcome: Outcome, lab: LabResult) -> Outcome:
    return Outcome(outcome.status, f"{outcome.evidence} (result of {lab.date})", outcome.missing)


def _creatinine_clearance(rule: CreatinineClearanceRule, ctx: Context) -> Outcome:
    patient = ctx.patient
    lab, lab_missing = latest_lab(ctx, "creatinine")
    missing: list[str] = []
    if patient.birth_date is None:
        missing.append("birth_date")
    if patient.sex is None:
        missing.append("sex")
    if patient.weight_kg is None:
        missing.append("weight_kg")
    if lab_missing is not None:
        missing.extend(lab_missing.missing)
    if (
        missing
        or lab is None
        or patient.birth_date is None
        or patient.sex is None
        or patient.weight_kg is None
    ):
        return _unknown("Cockcroft-Gault needs " + ", ".join(missing), *missing)
    age = age_in_years(patient.birth_date, ctx.on)
    if not 0 < age < CG_MAX_AGE_YEARS:
        return _unknown(f"age {age} y is outside the Cockcroft-Gault formula's range", "birth_date")
    creatinine = to_canonical("creatinine", lab.value, lab.unit)
    clearance = cockcroft_gault(age, patient.weight_kg, creatinine, patient.sex)
    text = (
        f"CrCl {fmt(round(clearance, 1))} mL/min (Cockcroft-Gault: {patient.sex}, {age} y, "
        f"{fmt(patient.weight_kg)} kg, creatinine {fmt(creatinine)} umol/L of {lab.date})"
    )
    return _against(
        text, compare_values(clearance, rule.op, rule.value), rule.op, f"{fmt(rule.value)} mL/min"
    )


# ---------------------------------------------------------------- findings, attestation, consent


def _finding_absent(rule: FindingAbsentRule, ctx: Context) -> Outcome:
    sex = ctx.patient.sex
    if rule.applies_to_sex is not None and sex is not None and sex != rule.applies_to_sex:
        return Outcome("met", f"not applicable ({sex}; applies to {rule.applies_to_sex} patients)")
    recorded = ctx.patient.findings
    present = [code for code in rule.findings if recorded.get(code) is True]
    absent = [code for code in rule.findings if recorded.get(code) is False]
    unrecorded = [code for code in rule.findings if code not in recorded]
    if present:
        return Outcome("not_met", "present: " + ", ".join(present))
    if not unrecorded:
        return Outcome("met", "recorded absent: " + ", ".join(absent))
    missing = [f"findings.{code}" for code in unrecorded]
    if rule.applies_to_sex is not None and sex is None:
        missing.append("sex")
    return _unknown("not recorded: " + ", ".join(unrecorded), *missing)


def _yes_no(answer: bool) -> str:
    return "yes" if answer else "no"


def _answered(answer: Attestation) -> str:
    """An investigator's recorded answer: what, who (role) and when."""
    role = f" ({answer.role})" if answer.role else ""
    return f"'{_yes_no(answer.answer)}' by {answer.by}{role} at {answer.at.isoformat(timespec='minutes')}"


def _attestation(rule: AttestationRule, ctx: Context) -> Outcome:
    answer = ctx.patient.attestations.get(ctx.criterion_id)
    if answer is None:
        return Outcome(
            "needs_attestation",
            f"investigator to answer: {rule.question.strip()}",
            (f"attestations.{ctx.criterion_id}",),
        )
    text = _answered(answer)
    return _decide(
        answer.answer == rule.satisfied_when,
        f"{text}",
        f"{text}; required '{_yes_no(rule.satisfied_when)}'",
    )


def _consent(rule: ConsentRule, ctx: Context) -> Outcome:
    consent = ctx.patient.consent
    if consent is None:
        return _unknown("no signed informed consent recorded", "consent.signed_date")
    return _decide(
        consent.signed_date <= ctx.on,
        f"informed consent signed {consent.signed_date}",
        f"informed consent signed {consent.signed_date}, after the screening date {ctx.on}",
    )


# ---------------------------------------------------------------- treatment history


def _therapy_text(therapy: PriorTherapy) -> str:
    line = f"line {therapy.line} " if therapy.line else ""
    intent = f"{therapy.intent} " if therapy.intent else ""
    period = f" {therapy.start_date or '?'} to {therapy.end_date or '?'}"
    return f"{line}{intent}{therapy.modality}{period}"


def _line_failure(rule: FirstLineFailureRule, index: int, therapy: PriorTherapy) -> Outcome:
    """Whether one systemic therapy failed: progression or intolerance (seed 000 inclusion b)."""
    where = f"prior_therapies[{index}]"
    text = _therapy_text(therapy)
    if therapy.for_esophageal_cancer is False:
        return Outcome("not_met", f"{text}: given for another cancer")
    if therapy.for_esophageal_cancer is None:
        return _unknown(f"{text}: indication not recorded", f"{where}.for_esophageal_cancer")
    if therapy.outcome == "intolerance":
        return Outcome("met", f"{text}: intolerance")
    if therapy.modality == "chemoradiotherapy" and therapy.intent == "definitive":
        return _ccrt_failure(rule, where, therapy, text)
    if therapy.outcome == "progression" or therapy.progression_date is not None:
        return Outcome("met", f"{text}: progression {therapy.progression_date or '(date not recorded)'}")
    if therapy.outcome is None:
        return _unknown(f"{text}: outcome not recorded", f"{where}.outcome")
    return Outcome("not_met", f"{text}: {therapy.outcome}, no progression or intolerance")


def _ccrt_failure(rule: FirstLineFailureRule, where: str, therapy: PriorTherapy, text: str) -> Outcome:
    """Definitive CCRT fails when progression occurs during it or within the window after its end."""
    window = rule.ccrt_progression_window_months
    progression = therapy.progression_date
    if progression is None:
        if therapy.outcome == "progression":
            return _unknown(f"{text}: progression date not recorded", f"{where}.progression_date")
        if therapy.outcome is None:
            return _unknown(f"{text}: outcome not recorded", f"{where}.outcome")
        return Outcome("not_met", f"{text}: {therapy.outcome}, no progression recorded")
    if therapy.end_date is None:
        if therapy.outcome == "ongoing":
            return Outcome("met", f"{text}: progression {progression} during CCRT")
        return _unknown(f"{text}: end date not recorded", f"{where}.end_date")
    limit = therapy.end_date + relativedelta(months=window)
    if progression <= therapy.end_date:
        return Outcome("met", f"{text}: progression {progression} during CCRT")
    return _decide(
        progression <= limit,
        f"{text}: progression {progression}, within {window} months after CCRT (by {limit})",
        f"{text}: progression {progression}, later than {window} months after CCRT ({limit})",
    )


Assessed = tuple[int | None, int, PriorTherapy, Outcome]
"""``(line, index, therapy, failure outcome)`` of one systemic therapy; ``line`` None: not known."""


def _numbered_lines(rule: FirstLineFailureRule, therapies: list[PriorTherapy]) -> list[Assessed]:
    """Systemic therapies with their line numbers and failure outcomes (seed 000 inclusion b).

    Recorded ``line`` numbers are used as given (a therapy without one, when others have one, has an
    unknown line). When no systemic therapy carries a line number and all have a start date, they are
    numbered by start date, skipping what is not a line: therapy given for another cancer and
    definitive CCRT that did not fail (progression more than the window after it). A therapy whose
    line status cannot be told (indication not recorded, definitive CCRT with an undetermined
    outcome) leaves the numbers after it unknown.
    """
    systemic = [(i, t) for i, t in enumerate(therapies) if t.modality in SYSTEMIC_MODALITIES]
    assessed = [(i, t, _line_failure(rule, i, t)) for i, t in systemic]
    if any(t.line is not None for _, t, _ in assessed) or not all(t.start_date for _, t, _ in assessed):
        return [(t.line, i, t, o) for i, t, o in assessed]
    ordered = sorted(assessed, key=lambda a: (a[1].start_date or dt.date.min, a[0]))
    numbered: list[Assessed] = []
    number: int | None = 0
    for i, t, outcome in ordered:
        definitive_ccrt = t.modality == "chemoradiotherapy" and t.intent == "definitive"
        if t.for_esophageal_cancer is False or (definitive_ccrt and outcome.status == "not_met"):
            continue
        if number is not None:
            number += 1
        else:  # unknown because of an earlier therapy, which names what is missing
            missing = outcome.missing if outcome.status == "unknown" else ()
            outcome = Outcome("unknown", f"{_therapy_text(t)}: line depends on an earlier therapy", missing)
        numbered.append((number, i, t, outcome))
        if t.for_esophageal_cancer is None or (definitive_ccrt and outcome.status == "unknown"):
            number = None
    return numbered


def _combined(outcomes: list[Outcome], nothing: str) -> Outcome:
    """``met`` if any outcome is met, else ``unknown`` if any is unknown, else ``not_met``."""
    for status in ("met", "unknown"):
        chosen = [o for o in outcomes if o.status == status]
        if chosen:
            missing = tuple(m for o in chosen for m in o.missing)
            return Outcome(status, "; ".join(o.evidence for o in chosen), missing)
    return Outcome("not_met", "; ".join(o.evidence for o in outcomes) or nothing)


def _prior_line_failure(rule: FirstLineFailureRule, ctx: Context) -> Outcome:
    """Seed 000 inclusion b: "progressed on or is intolerant to first-line systemic therapy. For
    patients who received definitive concurrent chemoradiotherapy (CCRT), disease progression during
    or within 6 months post-treatment is considered first-line treatment failure".

    Reading for patients who also failed a later line: the seed describes a second-line study but
    does not exclude later lines explicitly, so it is the investigator's call (``needs_attestation``
    until answered; a later line whose outcome is not recorded makes the criterion ``unknown``).
    """
    therapies = ctx.patient.prior_therapies
    if therapies is None:
        return _unknown("prior therapy history not recorded", "prior_therapies")
    lines = _numbered_lines(rule, therapies)
    target = [o for line, _, _, o in lines if line == rule.line]
    target += [
        _unknown(f"{_therapy_text(t)}: line number not known", f"prior_therapies[{i}].line")
        for line, i, t, o in lines
        if line is None and o.status != "unknown" and t.for_esophageal_cancer is not False
    ]
    target += [o for line, _, _, o in lines if line is None and o.status == "unknown"]
    first = _combined(target, f"no line-{rule.line} systemic therapy recorded")
    if first.status != "met":
        return first
    later = [o for line, _, _, o in lines if line is not None and line > rule.line]
    failed = [o for o in later if o.status == "met"]
    if not failed:
        undetermined = [o for o in later if o.status == "unknown"]
        if undetermined:
            return _unknown(
                f"{first.evidence}; whether a later line also failed is not known: "
                + "; ".join(o.evidence for o in undetermined),
                *(m for o in undetermined for m in o.missing),
            )
        return first
    evidence = f"{len(failed) + 1} failed lines: {first.evidence}; " + "; ".join(o.evidence for o in failed)
    answer = ctx.patient.attestations.get(ctx.criterion_id)
    if answer is None:
        return Outcome(
            "needs_attestation",
            f"{evidence}; investigator to answer: {rule.later_lines_question.strip()}",
            (f"attestations.{ctx.criterion_id}",),
        )
    text = f"{evidence}; {_answered(answer)}"
    return _decide(answer.answer, text, f"{text}; required 'yes'")


def _no_prior_therapy(rule: NoPriorTherapyRule, ctx: Context) -> Outcome:
    therapies = ctx.patient.prior_therapies
    if therapies is None:
        return _unknown("prior therapy history not recorded", "prior_therapies")
    wanted = set(rule.modalities)
    if wanted & {"chemotherapy", "radiotherapy"}:
        wanted.add("chemoradiotherapy")
    scope = "for esophageal cancer" if rule.indication == "esophageal_cancer" else "for any cancer"
    counted: list[str] = []
    undetermined: list[str] = []
    for i, therapy in enumerate(therapies):
        if therapy.modality not in wanted:
            continue
        if rule.indication == "esophageal_cancer" and therapy.for_esophageal_cancer is not True:
            if therapy.for_esophageal_cancer is None:
                undetermined.append(f"prior_therapies[{i}].for_esophageal_cancer")
            continue
        counted.append(_therapy_text(therapy))
    if counted:
        return Outcome("not_met", f"prior therapy {scope}: " + "; ".join(counted))
    if undetermined:
        return _unknown("indication of a prior therapy not recorded", *undetermined)
    return Outcome("met", f"no prior {', '.join(rule.modalities)} {scope} ({len(therapies)} other record(s))")


def _no_recent_investigational_drug(rule: NoRecentInvestigationalDrugRule, ctx: Context) -> Outcome:
    exposures = ctx.patient.investigational_drug_exposures
    if exposures is None:
        return _unknown("other drug-trial participation not recorded", "investigational_drug_exposures")
    since = ctx.on - dt.timedelta(days=rule.window_days)
    recent = [e for e in exposures if e.last_dose_date >= since]
    if recent:
        last = max(e.last_dose_date for e in recent)
        return Outcome(
            "not_met",
            f"investigational drug last dosed {last} ({(ctx.on - last).days} days before screening; "
            f"window {rule.window_days} days)",
        )
    if exposures:
        last = max(e.last_dose_date for e in exposures)
        return Outcome(
            "met", f"last investigational dose {last}, more than {rule.window_days} days before {ctx.on}"
        )
    return Outcome("met", "no investigational drug exposure")


def _no_other_malignancy(rule: NoOtherMalignancyRule, ctx: Context) -> Outcome:
    """Seed 002 exclusion 12: "synchronous second primary cancer and a history of malignancy within the
    past 5 years (excluding completely cured cervical carcinoma in situ or basal cell or squamous cell
    skin carcinoma)".

    Per malignancy, in this order:

    * an excepted type recorded ``cured`` (completely cured) is ignored, whenever diagnosed;
    * an ``active`` malignancy excludes, whenever diagnosed (an older one still active is a
      synchronous second primary);
    * one that is synchronous or diagnosed within ``lookback_years`` (on or after screening date -
      ``lookback_years``) excludes whatever its status when its type is not excepted; an excepted
      type there excludes unless completely cured, so with its status not recorded it is unknown;
    * without a diagnosis date it is unknown (the date decides the look-back);
    * an older one whose current status is not recorded is unknown; an older one recorded cured is
      ignored.
    """
    malignancies = ctx.patient.other_malignancies
    if malignancies is None:
        return _unknown("history of other malignancies not recorded", "other_malignancies")
    years = rule.lookback_years
    since = ctx.on - relativedelta(years=years)
    excluding: list[str] = []
    undetermined: list[str] = []
    missing: list[str] = []
    ignored: list[str] = []
    for i, m in enumerate(malignancies):
        where = f"other_malignancies[{i}]"
        excepted = m.type in rule.exceptions
        diagnosed = f" diagnosed {m.diagnosis_date}" if m.diagnosis_date else " (diagnosis date not recorded)"
        recent = m.synchronous or (m.diagnosis_date is not None and m.diagnosis_date >= since)
        kind = "synchronous second primary " if m.synchronous else ""
        if excepted and m.status == "cured":
            ignored.append(f"{m.type}{diagnosed}, completely cured (excepted)")
        elif m.status == "active":
            excluding.append(f"active {kind}{m.type}{diagnosed}")
        elif recent and not excepted:
            window = "synchronous" if m.synchronous else f"within {years} years"
            excluding.append(f"{kind}{m.type}{diagnosed} ({window}; excludes whatever its status)")
        elif recent:
            undetermined.append(
                f"{kind}{m.type}{diagnosed}: excepted only if completely cured; cure not recorded"
            )
            missing.append(f"{where}.status")
        elif m.diagnosis_date is None:
            undetermined.append(f"{m.type}: diagnosis date not recorded (look-back {years} years)")
            missing.append(f"{where}.diagnosis_date")
            if m.status is None:
                missing.append(f"{where}.status")
        elif m.status is None:
            undetermined.append(f"{m.type}{diagnosed} (before {since}): current status not recorded")
            missing.append(f"{where}.status")
        else:
            ignored.append(f"{m.type}{diagnosed} (before {since}), {m.status}")
    if excluding:
        return Outcome("not_met", "; ".join(excluding))
    if missing:
        return _unknown("; ".join(undetermined), *missing)
    return Outcome("met", "; ".join(ignored) if ignored else "no other malignancy")


# ---------------------------------------------------------------- scores, imaging, combinations


def _score(rule: ScoreRule, ctx: Context) -> Outcome:
    """PG-SGA (seed 002 exclusion 6, "PG-SGA score >= 9") dated within the screening window.

    The window is the protocol's ``lab_validity_days`` (screening data, 28 days in both built-in
    protocols): a score dated more than that many days before the screening date, or undated, cannot
    show the patient's state at screening and is ``unknown``, whatever its value.
    """
    pg_sga = ctx.patient.pg_sga
    if pg_sga is None:
        return _unknown("PG-SGA not recorded", "pg_sga")
    window = ctx.lab_validity_days
    wanted = f"pg_sga: a score dated within {window} days before {ctx.on}"
    if pg_sga.components is not None:
        c = pg_sga.components
        total = pg_sga_total(c)
        text = (
            f"PG-SGA {total} (boxes 1-4: {c.box1}+{c.box2}+{c.box3}+{c.box4}, "
            f"worksheets 2-4: {c.worksheet2}+{c.worksheet3}+{c.worksheet4})"
        )
    else:
        assert pg_sga.total is not None
        total = pg_sga.total
        text = f"PG-SGA total {total}"
    if pg_sga.date is None:
        return _unknown(f"{text}: date not recorded (screening window {window} days)", "pg_sga.date")
    if not within_validity(pg_sga.date, ctx.on, window):
        age_days = age_in_days(pg_sga.date, ctx.on)
        return _unknown(
            f"{text} of {pg_sga.date} is {age_days} days old; screening window {window} days", wanted
        )
    outcome = _against(text, compare_values(total, rule.op, rule.value), rule.op, fmt(rule.value))
    return Outcome(outcome.status, f"{outcome.evidence} (scored {pg_sga.date})")


def _measurable_disease(rule: MeasurableDiseaseRule, ctx: Context) -> Outcome:
    lesions = ctx.patient.lesions
    if lesions is None:
        return _unknown("baseline lesions not recorded", "lesions")
    counting = ctx.protocol.tumour_assessment.lesion_counting
    count = count_measurable_lesions(lesions, counting)
    text = (
        f"{count} measurable lesion(s) of {len(lesions)} recorded "
        f"(regional nodes: {counting.regional_nodes}, non-regional nodes: {counting.non_regional_nodes})"
    )
    return _against(text, count >= rule.min_lesions, ">=", str(rule.min_lesions))


def _any_of(rule: AnyOfRule, ctx: Context) -> Outcome:
    """Tri-state OR: met if any part is met; not met only if all are not met; else unknown/attestation."""
    parts = [evaluate_rule(sub, ctx) for sub in rule.rules]
    evidence = " OR ".join(f"[{p.status}] {p.evidence}" for p in parts)
    statuses = {p.status for p in parts}
    if "met" in statuses:
        return Outcome("met", evidence)
    if statuses == {"not_met"}:
        return Outcome("not_met", evidence)
    status: Status = "unknown" if "unknown" in statuses else "needs_attestation"
    return Outcome(status, evidence, tuple(m for p in parts if p.status != "not_met" for m in p.missing))


_EVALUATORS: dict[type[Any], Callable[[Any, Context], Outcome]] = {
    AgeRule: _age,
    CodedRule: _coded,
    NumericRule: _numeric,
    LabRule: _lab,
    CreatinineClearanceRule: _creatinine_clearance,
    FindingAbsentRule: _finding_absent,
    AttestationRule: _attestation,
    FirstLineFailureRule: _prior_line_failure,
    NoPriorTherapyRule: _no_prior_therapy,
    NoRecentInvestigationalDrugRule: _no_recent_investigational_drug,
    NoOtherMalignancyRule: _no_other_malignancy,
    ScoreRule: _score,
    MeasurableDiseaseRule: _measurable_disease,
    ConsentRule: _consent,
    AnyOfRule: _any_of,
}


def evaluate_rule(rule: Rule, ctx: Context) -> Outcome:
    """Evaluate one rule (dispatch on its type)."""
    return _EVALUATORS[type(rule)](rule, ctx)


def evaluate_criterion(
    criterion: Criterion, protocol: Protocol, patient: PatientRecord, on: dt.date
) -> CriterionResult:
    """Evaluate one criterion of ``protocol`` for ``patient`` on the date ``on``."""
    outcome = evaluate_rule(criterion.rule, Context(protocol, patient, on, criterion.id))
    return CriterionResult(
        id=criterion.id,
        source=criterion.source,
        kind=criterion.kind,
        text=criterion.text,
        status=outcome.status,
        evidence=outcome.evidence,
        missing=list(outcome.missing),
    )


def verdict_of(statuses: list[Status]) -> Verdict:
    """``ineligible`` if any not met; else ``incomplete`` if any unknown or unattested; else ``eligible``."""
    if "not_met" in statuses:
        return "ineligible"
    if any(s in ("unknown", "needs_attestation") for s in statuses):
        return "incomplete"
    return "eligible"


def evaluate(protocol: Protocol, patient: PatientRecord, at: dt.date | None = None) -> EligibilityResult:
    """Screen ``patient`` against every criterion of ``protocol``.

    ``at`` overrides the record's ``screening_date``. Raises
    :class:`~trialdesk.domain.eligibility.validation.PatientDataError` when the record holds
    impossible values or data dated after the screening date (nothing is guessed).
    """
    on = screening_date_of(patient, at)
    check_patient(patient, protocol, on)
    results = [evaluate_criterion(c, protocol, patient, on) for c in protocol.eligibility.criteria]
    return EligibilityResult(
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        patient_id=patient.id,
        screening_date=on,
        verdict=verdict_of([r.status for r in results]),
        criteria=results,
    )
