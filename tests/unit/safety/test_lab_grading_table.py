"""Every row of the CTCAE v5.0 lab grading table, at and beside each of its limits.

Expected grades are written out by hand from the CTCAE v5.0 criteria (NCI, 27 Nov 2017) in SI units,
reading "< A - B" as B <= value < A and "> A - B" as A < value <= B (clinical-reference 3.2), and
include the admiral / PharmaForest fixtures. ``test_every_row_is_exercised`` proves that each row of
the data file gives the grade in at least one case, so a row cannot be added untested.
"""

from __future__ import annotations

import pytest

from trialdesk.domain.safety.ctcae import LabGrade, LabGradingTable, LabReferences, grade_lab_value
from trialdesk.domain.units import to_canonical

ANEMIA = "Anemia"
WBC = "White blood cell decreased"
ANC = "Neutrophil count decreased"
LYM = "Lymphocyte count decreased"
PLT = "Platelet count decreased"
ALT = "Alanine aminotransferase increased"
AST = "Aspartate aminotransferase increased"
BILI = "Blood bilirubin increased"
CREAT = "Creatinine increased"
ALB = "Hypoalbuminemia"

# (term, value in canonical unit, LLN, ULN, baseline, expected grade)
CASES: list[tuple[str, float, float | None, float | None, float | None, int | None]] = [
    # Anemia, Hb g/L: gr1 <LLN-100, gr2 <100-80, gr3 <80
    (ANEMIA, 120.0, 120, None, None, 0),
    (ANEMIA, 119.9, 120, None, None, 1),
    (ANEMIA, 100.0, 120, None, None, 1),
    (ANEMIA, 99.9, 120, None, None, 2),
    (ANEMIA, 99.0, 120, None, None, 2),  # clinical-reference fixture
    (ANEMIA, 80.0, 120, None, None, 2),
    (ANEMIA, 79.9, 120, None, None, 3),
    (ANEMIA, 79.0, 120, None, None, 3),  # fixture
    (ANEMIA, 40.0, None, None, None, 3),  # absolute rows need no LLN
    # WBC 10^9/L: gr1 <LLN-3.0, gr2 <3.0-2.0, gr3 <2.0-1.0, gr4 <1.0
    (WBC, 4.0, 4.0, None, None, 0),
    (WBC, 3.99, 4.0, None, None, 1),
    (WBC, 3.0, 4.0, None, None, 1),
    (WBC, 2.99, 4.0, None, None, 2),
    (WBC, 2.0, 4.0, None, None, 2),
    (WBC, 1.99, 4.0, None, None, 3),
    (WBC, 1.0, 4.0, None, None, 3),
    (WBC, 0.99, 4.0, None, None, 4),
    # Neutrophils 10^9/L: 1.5 / 1.0 / 0.5
    (ANC, 2.0, 2.0, None, None, 0),
    (ANC, 1.99, 2.0, None, None, 1),
    (ANC, 1.5, 2.0, None, None, 1),  # fixture: 1.5 with LLN 2.0 -> 1
    (ANC, 1.49, 2.0, None, None, 2),  # fixture
    (ANC, 1.0, 2.0, None, None, 2),  # exactly 1.0 is grade 2
    (ANC, 0.999, 2.0, None, None, 3),
    (ANC, 0.5, 2.0, None, None, 3),
    (ANC, 0.49, 2.0, None, None, 4),
    # Lymphocytes 10^9/L: 0.8 / 0.5 / 0.2
    (LYM, 1.1, 1.1, None, None, 0),
    (LYM, 1.09, 1.1, None, None, 1),
    (LYM, 0.8, 1.1, None, None, 1),
    (LYM, 0.79, 1.1, None, None, 2),
    (LYM, 0.5, 1.1, None, None, 2),
    (LYM, 0.49, 1.1, None, None, 3),
    (LYM, 0.2, 1.1, None, None, 3),
    (LYM, 0.19, 1.1, None, None, 4),
    # Platelets 10^9/L: 75 / 50 / 25
    (PLT, 150.0, 150, None, None, 0),
    (PLT, 149.0, 150, None, None, 1),
    (PLT, 75.0, 150, None, None, 1),
    (PLT, 74.9, 150, None, None, 2),  # fixture
    (PLT, 50.0, 150, None, None, 2),
    (PLT, 49.9, 150, None, None, 3),
    (PLT, 25.0, 150, None, None, 3),  # fixture
    (PLT, 24.9, 150, None, None, 4),  # fixture
    # ALT U/L, ULN 40, normal baseline (30): >ULN-3x, >3-5x, >5-20x, >20x ULN
    (ALT, 40.0, None, 40, 30, 0),
    (ALT, 40.1, None, 40, 30, 1),
    (ALT, 120.0, None, 40, 30, 1),  # fixture: 3.0 x ULN is grade 1 (upper bound inclusive)
    (ALT, 121.0, None, 40, 30, 2),  # fixture
    (ALT, 200.0, None, 40, 30, 2),
    (ALT, 200.1, None, 40, 30, 3),
    (ALT, 800.0, None, 40, 30, 3),
    (ALT, 800.1, None, 40, 30, 4),
    # ALT, abnormal baseline 80 (ULN 40): 1.5-3x, >3-5x, >5-20x, >20x baseline
    (ALT, 119.0, None, 40, 80, 0),  # fixture: below 1.5 x baseline although > ULN
    (ALT, 120.0, None, 40, 80, 1),  # fixture: exactly 1.5 x baseline
    (ALT, 240.0, None, 40, 80, 1),
    (ALT, 241.0, None, 40, 80, 2),  # fixture
    (ALT, 400.0, None, 40, 80, 2),
    (ALT, 401.0, None, 40, 80, 3),
    (ALT, 1600.0, None, 40, 80, 3),
    (ALT, 1601.0, None, 40, 80, 4),
    # AST: same criteria as ALT, ULN 35; normal baseline 20, abnormal baseline 50
    (AST, 35.0, None, 35, 20, 0),
    (AST, 35.1, None, 35, 20, 1),
    (AST, 105.0, None, 35, 20, 1),
    (AST, 105.1, None, 35, 20, 2),
    (AST, 175.0, None, 35, 20, 2),
    (AST, 175.1, None, 35, 20, 3),
    (AST, 700.0, None, 35, 20, 3),
    (AST, 700.1, None, 35, 20, 4),
    (AST, 74.9, None, 35, 50, 0),
    (AST, 75.0, None, 35, 50, 1),
    (AST, 150.0, None, 35, 50, 1),
    (AST, 150.1, None, 35, 50, 2),
    (AST, 250.0, None, 35, 50, 2),
    (AST, 250.1, None, 35, 50, 3),
    (AST, 1000.0, None, 35, 50, 3),
    (AST, 1000.1, None, 35, 50, 4),
    # Bilirubin umol/L, ULN 20, normal baseline 10: >ULN-1.5x, >1.5-3x, >3-10x, >10x ULN
    (BILI, 20.0, None, 20, 10, 0),
    (BILI, 20.1, None, 20, 10, 1),
    (BILI, 30.0, None, 20, 10, 1),
    (BILI, 30.1, None, 20, 10, 2),
    (BILI, 60.0, None, 20, 10, 2),
    (BILI, 60.1, None, 20, 10, 3),
    (BILI, 200.0, None, 20, 10, 3),
    (BILI, 200.1, None, 20, 10, 4),
    # Bilirubin, abnormal baseline 30 (ULN 20): >1.0-1.5x, >1.5-3x, >3-10x, >10x baseline
    (BILI, 30.0, None, 20, 30, 0),  # at baseline: no grade although > ULN
    (BILI, 30.1, None, 20, 30, 1),
    (BILI, 45.0, None, 20, 30, 1),
    (BILI, 45.1, None, 20, 30, 2),
    (BILI, 90.0, None, 20, 30, 2),
    (BILI, 90.1, None, 20, 30, 3),
    (BILI, 300.0, None, 20, 30, 3),
    (BILI, 300.1, None, 20, 30, 4),
    # Creatinine umol/L: admiral v5 fixtures (AVAL, BASE, ULN) -> grade (clinical-reference 3.2)
    (CREAT, 241.0, None, 40, 241, 4),
    (CREAT, 240.0, None, 40, 230, 3),
    (CREAT, 121.0, None, 40, 120, 3),
    (CREAT, 120.0, None, 40, 119, 2),
    (CREAT, 61.0, None, 40, 60, 2),
    (CREAT, 60.0, None, 40, 60, 1),
    (CREAT, 41.0, None, 40, 41, 1),
    (CREAT, 40.0, None, 40, 40, 0),
    (CREAT, 42.0, None, 40, 6, 3),
    (CREAT, 42.0, None, 40, 13.9, 3),  # 3 x 13.9 = 41.7 < 42 (needs the rounding)
    (CREAT, 42.0, None, 40, 14, 2),  # 3 x 14 = 42, not > 42
    (CREAT, 42.1, None, 40, 28, 2),
    # Creatinine ULN-only rows (no baseline recorded), ULN 100
    (CREAT, 100.0, None, 100, None, 0),
    (CREAT, 100.1, None, 100, None, 1),
    (CREAT, 150.0, None, 100, None, 1),
    (CREAT, 150.1, None, 100, None, 2),
    (CREAT, 300.0, None, 100, None, 2),
    (CREAT, 300.1, None, 100, None, 3),
    (CREAT, 600.0, None, 100, None, 3),
    (CREAT, 600.1, None, 100, None, 4),
    # trialdesk's choice: at or below the ULN no grade, even > 1.5 x baseline (admiral would say 2)
    (CREAT, 65.0, None, 100, 40, 0),
    (CREAT, 100.0, None, 100, 20, 0),
    # Albumin g/L: gr1 <LLN-30, gr2 <30-20, gr3 <20
    (ALB, 35.0, 35, None, None, 0),
    (ALB, 34.9, 35, None, None, 1),
    (ALB, 30.0, 35, None, None, 1),
    (ALB, 29.9, 35, None, None, 2),
    (ALB, 29.0, 35, None, None, 2),  # fixture
    (ALB, 20.0, 35, None, None, 2),
    (ALB, 19.9, 35, None, None, 3),
    (ALB, 19.0, 35, None, None, 3),  # fixture
]


def _grade(
    table: LabGradingTable, term: str, value: float, lln: float | None, uln: float | None, base: float | None
) -> LabGrade:
    return grade_lab_value(table.term(term), value, LabReferences(lln, uln, base), table.significant_digits)


@pytest.mark.parametrize(("term", "value", "lln", "uln", "base", "expected"), CASES)
def test_grade_at_and_beside_each_limit(
    table: LabGradingTable,
    term: str,
    value: float,
    lln: float | None,
    uln: float | None,
    base: float | None,
    expected: int | None,
) -> None:
    assert _grade(table, term, value, lln, uln, base).grade == expected


def test_every_row_is_exercised(table: LabGradingTable) -> None:
    produced = set()
    for term, value, lln, uln, base, _ in CASES:
        result = _grade(table, term, value, lln, uln, base)
        produced.add((result.term, result.grade, result.criterion))
    rows = {(t.term, r.grade, r.ctcae) for t in table.terms for r in t.rows}
    assert rows - produced == set()


def test_the_ten_required_terms_are_graded(table: LabGradingTable) -> None:
    assert {t.term for t in table.terms} == {ANEMIA, WBC, ANC, LYM, PLT, ALT, AST, BILI, CREAT, ALB}
    assert {t.term for t in table.terms if t.baseline_dependent} == {ALT, AST, BILI}


def test_missing_lln_prevents_grade_1_but_not_grade_2(table: LabGradingTable) -> None:
    unknown = _grade(table, ANC, 1.7, None, None, None)
    assert unknown.grade is None and "LLN missing" in unknown.notes[0]
    assert _grade(table, ANC, 1.2, None, None, None).grade == 2


def test_missing_uln_makes_alt_ungradable(table: LabGradingTable) -> None:
    result = _grade(table, ALT, 500.0, None, None, 30)
    assert result.grade is None and result.baseline_status == "unknown"


def test_unknown_baseline_falls_back_to_uln_criteria_and_says_so(table: LabGradingTable) -> None:
    result = _grade(table, ALT, 119.0, None, 40, None)
    assert result.grade == 1 and result.baseline_status == "unknown"
    assert "baseline not recorded" in result.notes[0]


def test_abnormal_baseline_alt_and_bilirubin_use_the_baseline_rows(table: LabGradingTable) -> None:
    alt = _grade(table, ALT, 241.0, None, 40, 80)
    assert (alt.grade, alt.baseline_status, alt.criterion) == (
        2,
        "abnormal",
        ">3.0 - 5.0 x baseline if baseline was abnormal",
    )
    bili = _grade(table, BILI, 45.1, None, 20, 30)
    assert (bili.grade, bili.baseline_status) == (2, "abnormal")
    # the same value against a normal baseline is graded on the ULN: 45.1 > 2.25 x ULN -> 2
    assert _grade(table, BILI, 45.1, None, 20, 15).baseline_status == "normal"


def test_creatinine_choice_is_named_in_the_notes(table: LabGradingTable) -> None:
    result = _grade(table, CREAT, 65.0, None, 100, 40)
    assert result.grade == 0
    assert any("trialdesk requires creatinine > ULN" in note for note in result.notes)


def test_creatinine_missing_baseline_uses_uln_and_flags_it(table: LabGradingTable) -> None:
    result = _grade(table, CREAT, 120.0, None, 100, None)
    assert result.grade == 1
    assert any("BASE missing" in note for note in result.notes)


def test_conventional_units_reach_the_same_grade(table: LabGradingTable) -> None:
    hb = to_canonical("hemoglobin", 7.9, "g/dL")
    assert _grade(table, ANEMIA, hb, 120, None, None).grade == 3
    bili = to_canonical("total_bilirubin", 1.8, "mg/dL")  # 30.78 umol/L, ULN 1.2 mg/dL = 20.52
    assert _grade(table, BILI, bili, None, to_canonical("total_bilirubin", 1.2, "mg/dL"), None).grade == 1
