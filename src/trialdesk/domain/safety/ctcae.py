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
* Baseline-dependent terms (ALT, AST, bilirubin): the baseline is *abnormal* when it is above the ULN
  (admiral uses ``BNRIND == "HIGH"``, the same thing when the ULN is the one used here); rows marked
  ``baseline: abnormal`` then replace the ULN-based rows. An unknown baseline falls back to the
  normal-baseline (ULN) rows and the result says so in ``notes``.
* A bound may carry ``choice``: a trialdesk decision not written in CTCAE (creatinine at or below the
  ULN, see ``docs/safety.md``). When a row fails only on such a bound, the result names the choice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.eligibility.rules import LabTest

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
    canonical unit of the test. ``choice`` marks a trialdesk decision that CTCAE does not write."""

    op: Operator
    ref: Reference
    factor: float = Field(gt=0)
    choice: str | None = None


class GradeRow(FrozenModel):
    """One grade of one lab term: the CTCAE v5.0 text and its bounds (all must hold)."""

    grade: int = Field(ge=1, le=5)
    ctcae: str = Field(min_length=3, description="The CTCAE v5.0 criterion, as written")
    baseline: Literal["any", "normal", "abnormal"] = "any"
    bounds: list[Bound] = Field(min_length=1)


class LabGradingTerm(FrozenModel):
    """A lab-based CTCAE term with its grading rows (values in ``unit``, the canonical unit)."""

    term: str
    soc: str
    test: LabTest
    direction: Literal["decreased", "increased"]
    unit: str
    baseline_dependent: bool = False
    notes: str = ""
    rows: list[GradeRow] = Field(min_length=1)


class LabGradingTable(FrozenModel):
    """The whole lab grading table (``ctcae_v5_lab_grading.yaml``)."""

    version: str
    source: str
    significant_digits: int = Field(ge=6, le=15)
    terms: list[LabGradingTerm] = Field(min_length=1)

    def for_test(self, test: str) -> list[LabGradingTerm]:
        """The terms graded from ``test`` (e.g. ``alt`` -> Alanine aminotransferase increased)."""
        return [term for term in self.terms if term.test == test]

    def term(self, name: str) -> LabGradingTerm:
        """The grading term named ``name`` (``KeyError`` if none)."""
        for term in self.terms:
            if term_key(term.term) == term_key(name):
                return term
        raise KeyError(name)


@dataclass(frozen=True)
class LabReferences:
    """The references one result is graded against, all in the test's canonical unit.

    ``baseline`` is the subject's baseline value of the same test (``None`` when not recorded).
    """

    lln: float | None = None
    uln: float | None = None
    baseline: float | None = None


@dataclass(frozen=True)
class LabGrade:
    """The proposed CTCAE grade of one lab value for one term.

    ``grade`` is 0 (no CTCAE grade) to 4, or ``None`` when the value cannot be graded (a reference
    it needs is missing). ``criterion`` is the CTCAE text of the row that gave the grade.
    """

    term: str
    soc: str
    grade: int | None
    criterion: str | None
    baseline_status: BaselineStatus
    notes: tuple[str, ...] = ()


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


def _limit(bound: Bound, refs: LabReferences) -> float | None:
    if bound.ref == "absolute":
        return bound.factor
    reference = {"LLN": refs.lln, "ULN": refs.uln, "BASE": refs.baseline}[bound.ref]
    return None if reference is None else bound.factor * reference


RowOutcome = Literal["holds", "fails", "unknown", "fails_by_choice"]


def _row_outcome(row: GradeRow, value: float, refs: LabReferences, digits: int) -> tuple[RowOutcome, str]:
    unknown = False
    choices: list[str] = []
    for bound in row.bounds:
        limit = _limit(bound, refs)
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


def baseline_status(term: LabGradingTerm, refs: LabReferences) -> BaselineStatus:
    """Whether the baseline of a baseline-dependent term is normal (<= ULN) or abnormal (> ULN)."""
    if not term.baseline_dependent:
        return "not_used"
    if refs.baseline is None or refs.uln is None:
        return "unknown"
    return "abnormal" if refs.baseline > refs.uln else "normal"


def _applies(row: GradeRow, status: BaselineStatus) -> bool:
    if row.baseline == "any":
        return True
    if row.baseline == "abnormal":
        return status == "abnormal"
    return status != "abnormal"


def grade_lab_value(term: LabGradingTerm, value: float, refs: LabReferences, digits: int) -> LabGrade:
    """Propose the CTCAE v5.0 grade of ``value`` (canonical unit) for ``term``.

    Examples (clinical-reference 3.2, admiral fixtures): neutrophils 1.0 x10^9/L -> 2 and 0.999 -> 3;
    ALT 120 U/L, ULN 40, normal baseline -> 1 and 121 -> 2; ALT 119 with an abnormal baseline of 80
    -> 0, 120 -> 1; creatinine 42 umol/L, baseline 13.9, ULN 40 -> 3.
    """
    status = baseline_status(term, refs)
    notes: list[str] = []
    if status == "unknown":
        notes.append("baseline not recorded: graded with the normal-baseline (ULN) criteria")
    best: GradeRow | None = None
    unknown_rows: list[GradeRow] = []
    for row in term.rows:
        if not _applies(row, status):
            continue
        outcome, choice = _row_outcome(row, value, refs, digits)
        if outcome == "holds" and (best is None or row.grade > best.grade):
            best = row
        elif outcome == "unknown":
            unknown_rows.append(row)
        elif outcome == "fails_by_choice":
            notes.append(f"grade {row.grade} criterion '{row.ctcae}' not applied: {choice}")
    best_grade = 0 if best is None else best.grade
    missing = [row for row in unknown_rows if row.grade > best_grade]
    if missing:
        needed = sorted({b.ref for row in missing for b in row.bounds if _limit(b, refs) is None})
        notes.append(
            f"{', '.join(needed)} missing: grade(s) {', '.join(str(r.grade) for r in missing)} "
            "could not be evaluated"
        )
        if best is None:
            return LabGrade(term.term, term.soc, None, None, status, tuple(notes))
    return LabGrade(
        term=term.term,
        soc=term.soc,
        grade=best_grade,
        criterion=None if best is None else best.ctcae,
        baseline_status=status,
        notes=tuple(notes),
    )


def grade_result(table: LabGradingTable, test: str, value: float, refs: LabReferences) -> list[LabGrade]:
    """Grade one lab result for every term of ``table`` graded from ``test`` (usually one term)."""
    return [grade_lab_value(term, value, refs, table.significant_digits) for term in table.for_test(test)]


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
