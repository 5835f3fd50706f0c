"""CTCAE v5.0 (NCI, 27 Nov 2017): the adverse-event term catalogue and the lab-based grading engine.

Both are *data* (``domain/safety/data/*.yaml``, read by :mod:`trialdesk.adapters.ctcae_data`); this
module holds their validated models and the pure rules that use them. No file I/O here.

Lab grading semantics (CTCAE v5.0 as implemented by admiral, ``pharmaverse/admiral:
data-raw/adlb_grading/ncictcaev5.json`` and the vignette ``lab_grading.Rmd``):

* A CTCAE range "< A - B" means ``B <= value < A``; "> A - B" means ``A < value <= B``. Each grading
  row therefore lists its bounds with the exact operator CTCAE writes (``<``, ``<=``, ``>``, ``>=``).
* Both sides of every comparison are rounded to ``significant_digits`` significant digits first
  (admiral compares ``signif(x, signif_dig)``), so ``3 x 13.9`` is 41.7, not 41.699999999999996.
* A row that needs a reference (LLN, ULN, baseline) that is missing cannot be evaluated; grade 1 of
  the "decreased" terms needs the LLN, but grades 2-4 are absolute and still apply.
* The grade is the highest grade whose row holds (creatinine: the worse of its ULN-based and
  baseline-based criteria). No row holding -> grade 0.
* Baseline-dependent terms (ALT, AST, bilirubin, ALP, GGT): the baseline is *abnormal* when the
  baseline sample is above **its own** ULN, the reference range in force when it was taken (admiral:
  ``BNRIND == "HIGH"``), never the later result's ULN. Rows marked ``baseline: abnormal`` then replace
  the ULN-based rows. A baseline that is not recorded, or recorded without its ULN, is *unknown*: the
  normal-baseline (ULN) rows are used, as admiral does for a missing ``BNRIND``, and ``notes`` says so.
* Creatinine follows the CTCAE v5.0 text literally, as admiral does: grades 2-3 are the worse of the
  ULN and the baseline criteria, so a value at or below the ULN can be graded 2 or 3 from the baseline.
* A bound may carry ``option``: a trialdesk rule not written in CTCAE that a protocol may switch on
  (``lab_grading`` in the protocol file; e.g. ``creatinine_requires_above_uln``). Off, the bound is
  ignored; on, a row that fails only on such a bound is reported in ``notes`` with the bound's
  ``choice`` text.
* A row may carry ``clinical``: a condition CTCAE ties to the row beyond the value ("symptomatic",
  "asymptomatic"). Such a row is never assigned from the value alone; when its value range holds, the
  result lists its grade in ``clinical_grades`` and ``notes``. If only such rows hold (Hyponatremia
  125-129 mmol/L: grade 2 if asymptomatic, 3 if symptomatic) the grade is ``None``. admiral assumes the
  worst case there (Hyponatremia 3, Hypokalemia 2); trialdesk leaves it to the investigator.
* Units: rows are written in the test's canonical (SI) unit. Where CTCAE writes its own limits in
  another unit that are not exact conversions (Hb 6.2 / 4.9 mmol/L, calcium 8.0 mg/dL, magnesium
  1.2 mg/dL), the term lists that unit in ``other_units`` and each absolute bound gives its limit there
  (``in_units``); a value in that unit is graded against those CTCAE limits, not converted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.labs.catalogue import LabTest
from trialdesk.domain.labs.units import normalise_unit, to_canonical

GRADES: tuple[int, ...] = (1, 2, 3, 4, 5)
"""CTCAE v5.0 grades: 1 mild, 2 moderate, 3 severe, 4 life-threatening, 5 death related to the AE."""

Reference = Literal["absolute", "LLN", "ULN", "BASE"]
Operator = Literal["<", "<=", ">", ">="]
BaselineStatus = Literal["normal", "abnormal", "unknown", "not_used"]


# ---- the term catalogue ------------------------------------------------------------------------


class CtcaeTerm(FrozenModel):
    """One CTCAE v5.0 term: name, MedDRA system organ class, the grades the term has, and tags.

    ``grades`` lists only the grades CTCAE defines for the term (an em dash in CTCAE means the grade
    does not exist, e.g. Alopecia has grades 1-2 only). ``other_specify`` terms ("... - Other,
    specify") need the verbatim description of the event.
    """

    term: str = Field(min_length=2)
    soc: str = Field(min_length=3)
    grades: list[int] = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    other_specify: bool = False

    @model_validator(mode="after")
    def _grades_valid(self) -> CtcaeTerm:
        if any(g not in GRADES for g in self.grades) or sorted(set(self.grades)) != self.grades:
            raise ValueError(f"term '{self.term}': grades must be distinct, ascending values 1-5")
        return self


class TermCatalogue(FrozenModel):
    """The AE term dictionary shipped with the product (CTCAE v5.0 names and SOCs)."""

    version: str
    source: str
    terms: list[CtcaeTerm] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_terms(self) -> TermCatalogue:
        seen: set[str] = set()
        for term in self.terms:
            key = term_key(term.term)
            if key in seen:
                raise ValueError(f"duplicate term '{term.term}'")
            seen.add(key)
        return self

    def lookup(self, name: str) -> CtcaeTerm | None:
        """The catalogue term spelled ``name`` (case and surrounding spaces ignored), or ``None``."""
        key = term_key(name)
        return next((term for term in self.terms if term_key(term.term) == key), None)

    def socs(self) -> list[str]:
        """The system organ classes used by the catalogue, sorted."""
        return sorted({term.soc for term in self.terms})


def term_key(name: str) -> str:
    """Normalised key of a term name: lower case, single spaces."""
    return " ".join(name.split()).lower()


# ---- the lab grading table -------------------------------------------------------------------


class Bound(FrozenModel):
    """``value <op> factor x reference`` (``reference: absolute`` -> ``value <op> factor``), in the
    canonical unit of the test.

    ``in_units`` gives an absolute limit as CTCAE writes it in another unit (Anemia: 100 g/L is
    6.2 mmol/L). ``option`` names a protocol lab-grading option (a trialdesk rule CTCAE does not
    write) that switches the bound on; ``choice`` says what it means, for the proposal's notes.
    """

    op: Operator
    ref: Reference
    factor: float = Field(gt=0)
    in_units: dict[str, float] = Field(default_factory=dict)
    option: str | None = None
    choice: str | None = None

    @model_validator(mode="after")
    def _option_explained(self) -> Bound:
        if (self.option is None) != (self.choice is None):
            raise ValueError("a bound's 'option' and 'choice' go together")
        if self.in_units and self.ref != "absolute":
            raise ValueError("'in_units' is only for absolute bounds")
        return self


class GradeRow(FrozenModel):
    """One grade of one lab term: the CTCAE v5.0 text and its bounds (all must hold)."""

    grade: int = Field(ge=1, le=5)
    ctcae: str = Field(min_length=3, description="The CTCAE v5.0 criterion, as written")
    baseline: Literal["any", "normal", "abnormal"] = "any"
    clinical: str | None = Field(
        default=None, description="Clinical condition of the row beyond the value (never assumed)"
    )
    bounds: list[Bound] = Field(min_length=1)


class LabGradingTerm(FrozenModel):
    """A lab-based CTCAE term with its grading rows (values in ``unit``, the canonical unit)."""

    term: str
    soc: str
    test: LabTest
    direction: Literal["decreased", "increased"]
    unit: str
    other_units: list[str] = Field(default_factory=list)
    baseline_dependent: bool = False
    notes: str = ""
    rows: list[GradeRow] = Field(min_length=1)

    @model_validator(mode="after")
    def _limits_in_every_unit(self) -> LabGradingTerm:
        for row in self.rows:
            for bound in row.bounds:
                if bound.ref != "absolute":
                    continue
                if set(bound.in_units) != set(self.other_units):
                    raise ValueError(
                        f"'{self.term}' grade {row.grade}: absolute bound {bound.op} {bound.factor} must "
                        f"give its limit in each of {self.other_units} (in_units), and only those"
                    )
        return self

    def grading_unit(self, unit: str | None) -> str | None:
        """The unit ``unit`` is graded in: ``None`` for the canonical unit, the ``other_units`` entry it
        spells, or ``None`` too when CTCAE writes no limits in it (the value is then converted)."""
        if unit is None:
            return None
        key = normalise_unit(unit)
        return next((other for other in self.other_units if normalise_unit(other) == key), None)


class LabGradingTable(FrozenModel):
    """The whole lab grading table (``ctcae_v5_lab_grading.yaml``)."""

    version: str
    source: str
    significant_digits: int = Field(ge=6, le=15)
    terms: list[LabGradingTerm] = Field(min_length=1)

    def for_test(self, test: str) -> list[LabGradingTerm]:
        """The terms graded from ``test`` (e.g. ``alt`` -> Alanine aminotransferase increased)."""
        return [term for term in self.terms if term.test == test]

    def term(self, name: str, test: str | None = None) -> LabGradingTerm:
        """The grading term named ``name`` (graded from ``test`` when given: Hypocalcemia is graded
        from corrected and from ionized calcium); ``KeyError`` if none."""
        for term in self.terms:
            if term_key(term.term) == term_key(name) and (test is None or term.test == test):
                return term
        raise KeyError(name if test is None else f"{name} ({test})")

    def options(self) -> set[str]:
        """The protocol lab-grading options the table's bounds refer to."""
        return {b.option for t in self.terms for r in t.rows for b in r.bounds if b.option is not None}


@dataclass(frozen=True)
class LabReferences:
    """The references one result is graded against, all in the unit of the graded value.

    ``lln``/``uln``: the result's own reference range. ``baseline``: the subject's baseline value of the
    same test (``None`` when not recorded); ``baseline_uln``: the ULN of the baseline sample, the range
    in force when it was taken, which alone decides whether the baseline was abnormal (admiral BNRIND).
    """

    lln: float | None = None
    uln: float | None = None
    baseline: float | None = None
    baseline_uln: float | None = None


@dataclass(frozen=True)
class LabGrade:
    """The proposed CTCAE grade of one lab value for one term.

    ``grade`` is 0 (no CTCAE grade) to 4, or ``None`` when the value cannot be graded from the value
    alone (a reference it needs is missing, or only rows with a clinical condition hold).
    ``criterion`` is the CTCAE text of the row that gave the grade. ``clinical_grades`` are higher
    grades the value allows only with clinical information (e.g. "symptomatic"). ``unit`` is the unit
    the value was graded in.
    """

    term: str
    soc: str
    grade: int | None
    criterion: str | None
    baseline_status: BaselineStatus
    notes: tuple[str, ...] = ()
    clinical_grades: tuple[int, ...] = ()
    unit: str = ""


def significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits (admiral's ``signif``)."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")


def _holds(value: float, op: Operator, limit: float) -> bool:
    if op == "<":
        return value < limit
    if op == "<=":
        return value <= limit
    if op == ">":
        return value > limit
    return value >= limit


def _limit(bound: Bound, refs: LabReferences, unit: str | None = None) -> float | None:
    if bound.ref == "absolute":
        return bound.factor if unit is None else bound.in_units[unit]
    reference = {"LLN": refs.lln, "ULN": refs.uln, "BASE": refs.baseline}[bound.ref]
    return None if reference is None else bound.factor * reference


RowOutcome = Literal["holds", "fails", "unknown", "fails_by_choice"]


def _row_outcome(
    row: GradeRow, value: float, refs: LabReferences, digits: int, unit: str | None, options: frozenset[str]
) -> tuple[RowOutcome, str]:
    unknown = False
    choices: list[str] = []
    for bound in row.bounds:
        if bound.option is not None and bound.option not in options:
            continue
        limit = _limit(bound, refs, unit)
        if limit is None:
            unknown = True
            continue
        if not _holds(significant(value, digits), bound.op, significant(limit, digits)):
            if bound.choice is None:
                return "fails", ""
            choices.append(bound.choice)
    if choices:  # the row cannot hold whatever the missing references are
        return ("fails", "") if unknown else ("fails_by_choice", choices[0])
    if unknown:
        return "unknown", ""
    return "holds", ""


def baseline_status(term: LabGradingTerm, refs: LabReferences, digits: int = 12) -> BaselineStatus:
    """Whether the baseline of a baseline-dependent term was normal or abnormal (above the ULN of the
    baseline sample itself, ``refs.baseline_uln``; admiral BNRIND = HIGH). ``unknown`` when the
    baseline or its ULN is not recorded; the later result's ULN is never used for this."""
    if not term.baseline_dependent:
        return "not_used"
    if refs.baseline is None or refs.baseline_uln is None:
        return "unknown"
    high = significant(refs.baseline, digits) > significant(refs.baseline_uln, digits)
    return "abnormal" if high else "normal"


def _applies(row: GradeRow, status: BaselineStatus) -> bool:
    if row.baseline == "any":
        return True
    if row.baseline == "abnormal":
        return status == "abnormal"
    return status != "abnormal"


def grade_lab_value(
    term: LabGradingTerm,
    value: float,
    refs: LabReferences,
    digits: int,
    *,
    unit: str | None = None,
    options: frozenset[str] = frozenset(),
) -> LabGrade:
    """Propose the CTCAE v5.0 grade of ``value`` for ``term``.

    ``value`` and ``refs`` are in the term's canonical unit, or, with ``unit``, in one of the term's
    ``other_units`` (graded against the limits CTCAE writes in that unit; any other unit is a
    ``ValueError`` naming it). ``options``: the protocol lab-grading options switched on.

    Examples (clinical-reference 3.2, admiral fixtures): neutrophils 1.0 x10^9/L -> 2 and 0.999 -> 3;
    ALT 120 U/L, ULN 40, normal baseline -> 1 and 121 -> 2; ALT 119 with an abnormal baseline of 80
    -> 0, 120 -> 1; creatinine 42 umol/L, baseline 13.9, ULN 40 -> 3; creatinine 65 umol/L, baseline
    40, ULN 100 -> 2 (0 with ``creatinine_requires_above_uln``); Hb 6.1 mmol/L -> 2.
    """
    grading_unit = term.grading_unit(unit)
    if unit is not None and grading_unit is None and normalise_unit(unit) != normalise_unit(term.unit):
        known = ", ".join([term.unit, *term.other_units])
        raise ValueError(f"unit '{unit}': CTCAE v5.0 '{term.term}' is graded in {known}")
    status = baseline_status(term, refs, digits)
    notes: list[str] = []
    if status == "unknown":
        why = "baseline not recorded" if refs.baseline is None else "baseline recorded without its ULN"
        notes.append(f"{why}: graded with the normal-baseline (ULN) criteria")
    if grading_unit is not None:
        notes.append(f"graded in {grading_unit} against the CTCAE v5.0 {grading_unit} limits")
    best: GradeRow | None = None
    unknown_rows: list[GradeRow] = []
    clinical_rows: list[GradeRow] = []
    for row in term.rows:
        if not _applies(row, status):
            continue
        outcome, choice = _row_outcome(row, value, refs, digits, grading_unit, options)
        if outcome == "holds" and row.clinical is not None:
            clinical_rows.append(row)
        elif outcome == "holds" and (best is None or row.grade > best.grade):
            best = row
        elif outcome == "unknown":
            unknown_rows.append(row)
        elif outcome == "fails_by_choice":
            notes.append(f"grade {row.grade} criterion '{row.ctcae}' not applied: {choice}")
    best_grade = 0 if best is None else best.grade
    clinical = [row for row in clinical_rows if row.grade > best_grade]
    for row in clinical:
        notes.append(
            f"grade {row.grade} only if {row.clinical} ('{row.ctcae}'): clinical information, "
            "not assignable from the value alone"
        )
    clinical_grades = tuple(sorted({row.grade for row in clinical}))
    missing = [row for row in unknown_rows if row.grade > best_grade]
    if missing:
        needed = sorted(
            {b.ref for row in missing for b in row.bounds if _limit(b, refs, grading_unit) is None}
        )
        notes.append(
            f"{', '.join(needed)} missing: grade(s) {', '.join(str(r.grade) for r in missing)} "
            "could not be evaluated"
        )
    ungradable = best is None and bool(missing or clinical)
    return LabGrade(
        term=term.term,
        soc=term.soc,
        grade=None if ungradable else best_grade,
        criterion=None if best is None else best.ctcae,
        baseline_status=status,
        notes=tuple(notes),
        clinical_grades=clinical_grades,
        unit=grading_unit or term.unit,
    )


def grade_result(
    table: LabGradingTable,
    test: LabTest,
    value: float,
    refs: LabReferences,
    *,
    unit: str | None = None,
    options: frozenset[str] = frozenset(),
) -> list[LabGrade]:
    """Grade one lab result for every term of ``table`` graded from ``test`` (usually one term).

    ``value`` and ``refs`` are in ``unit`` (``None``: the canonical unit). A term with CTCAE limits of
    its own in ``unit`` (``other_units``) is graded in it; otherwise value and references are converted
    to the canonical unit (:func:`trialdesk.domain.labs.units.to_canonical`, ``UnitError`` for an unknown
    unit) and graded there.
    """
    grades = []
    for term in table.for_test(test):
        if unit is None or term.grading_unit(unit) is not None:
            grades.append(
                grade_lab_value(term, value, refs, table.significant_digits, unit=unit, options=options)
            )
            continue
        canonical = LabReferences(
            *(
                None if x is None else to_canonical(test, x, unit)
                for x in (refs.lln, refs.uln, refs.baseline, refs.baseline_uln)
            )
        )
        value_canonical = to_canonical(test, value, unit)
        grades.append(
            grade_lab_value(term, value_canonical, canonical, table.significant_digits, options=options)
        )
    return grades


def max_grade_by_term(events: Iterable[tuple[str, int]]) -> dict[str, int]:
    """The maximum grade per term (key: the term as first written) of ``(term, grade)`` pairs.

    The maximum grade per term per subject is derived this way and never entered.
    """
    best: dict[str, tuple[str, int]] = {}
    for name, grade in events:
        key = term_key(name)
        if key not in best or grade > best[key][1]:
            best[key] = (best.get(key, (name, 0))[0], grade)
    return dict(best.values())
