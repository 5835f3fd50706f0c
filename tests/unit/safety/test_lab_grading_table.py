"""Every row of the CTCAE v5.0 lab grading table, at and beside each of its limits.

Expected grades are written out by hand from the CTCAE v5.0 criteria (NCI, 27 Nov 2017) in SI units
(and in the mmol/L / mg/dL units CTCAE writes for Anemia, calcium and magnesium), reading "< A - B" as
B <= value < A and "> A - B" as A < value <= B (clinical-reference 3.2), and include the admiral /
PharmaForest fixtures. Outside reference for every limit: pharmaverse/admiral
``data-raw/adlb_grading/ncictcaev5.json`` (the source of ``atoxgr_criteria_ctcv5``), TERM and
GRADE_1..GRADE_4 text with the implemented GRADE_n_CODE. ``test_every_row_is_exercised`` proves that
each row of the data file gives the grade in at least one case, so a row cannot be added untested.
"""

from __future__ import annotations

import pytest

from trialdesk.domain.labs.units import to_canonical
from trialdesk.domain.protocol.model import LabGradingPolicy
from trialdesk.domain.safety.ctcae import (
    LabGrade,
    LabGradingTable,
    LabReferences,
    grade_lab_value,
    grade_result,
)
from trialdesk.protocols import load_registry

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
ALP = "Alkaline phosphatase increased"
GGT = "GGT increased"
HYPONA = "Hyponatremia"
HYPERNA = "Hypernatremia"
HYPOK = "Hypokalemia"
HYPERK = "Hyperkalemia"
HYPOCA = "Hypocalcemia@calcium_corrected"
HYPOCA_ION = "Hypocalcemia@calcium_ionized"
HYPERCA = "Hypercalcemia@calcium_corrected"
HYPERCA_ION = "Hypercalcemia@calcium_ionized"
HYPOMG = "Hypomagnesemia"

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
    (CREAT, 100.0, None, 100, None, None),  # at the ULN: only "> 1.5 x baseline" could grade it, BASE missing
    (CREAT, 100.1, None, 100, None, 1),
    (CREAT, 150.0, None, 100, None, 1),
    (CREAT, 150.1, None, 100, None, 2),
    (CREAT, 300.0, None, 100, None, 2),
    (CREAT, 300.1, None, 100, None, 3),
    (CREAT, 600.0, None, 100, None, 3),
    (CREAT, 600.1, None, 100, None, 4),
    # CTCAE v5.0 text and admiral: the baseline criteria apply at or below the ULN too
    # (clinical-reference 3.2: AVAL 65, BASE 40, ULN 100 -> 2)
    (CREAT, 65.0, None, 100, 40, 2),  # "> 1.5 - 3.0 x baseline"
    (CREAT, 60.0, None, 100, 40, 0),  # exactly 1.5 x baseline: not > 1.5
    (CREAT, 100.0, None, 100, 20, 3),  # "> 3.0 x baseline", at the ULN
    (CREAT, 120.0, None, 100, 40, 2),  # worse of ULN (grade 1) and baseline (3 x 40 = 120: grade 2)
    # Albumin g/L: gr1 <LLN-30, gr2 <30-20, gr3 <20
    (ALB, 35.0, 35, None, None, 0),
    (ALB, 34.9, 35, None, None, 1),
    (ALB, 30.0, 35, None, None, 1),
    (ALB, 29.9, 35, None, None, 2),
    (ALB, 29.0, 35, None, None, 2),  # fixture
    (ALB, 20.0, 35, None, None, 2),
    (ALB, 19.9, 35, None, None, 3),
    (ALB, 19.0, 35, None, None, 3),  # fixture
    # Alkaline phosphatase increased, U/L, ULN 120, normal baseline 80 (admiral ncictcaev5.json):
    # ">ULN - 2.5 x ULN", ">2.5 - 5.0 x ULN", ">5.0 - 20.0 x ULN", ">20.0 x ULN" if baseline was normal
    (ALP, 120.0, None, 120, 80, 0),
    (ALP, 120.1, None, 120, 80, 1),
    (ALP, 300.0, None, 120, 80, 1),
    (ALP, 300.1, None, 120, 80, 2),
    (ALP, 600.0, None, 120, 80, 2),
    (ALP, 600.1, None, 120, 80, 3),
    (ALP, 2400.0, None, 120, 80, 3),
    (ALP, 2400.1, None, 120, 80, 4),
    # ALP, abnormal baseline 200 (ULN 120): "2.0 - 2.5 x baseline" (admiral: >= 2.0 x BASE),
    # ">2.5 - 5.0 x baseline", ">5.0 - 20.0 x baseline", ">20.0 x baseline"
    (ALP, 399.0, None, 120, 200, 0),
    (ALP, 400.0, None, 120, 200, 1),
    (ALP, 500.0, None, 120, 200, 1),
    (ALP, 500.1, None, 120, 200, 2),
    (ALP, 1000.0, None, 120, 200, 2),
    (ALP, 1000.1, None, 120, 200, 3),
    (ALP, 4000.0, None, 120, 200, 3),
    (ALP, 4000.1, None, 120, 200, 4),
    # GGT increased, U/L, ULN 60, normal baseline 30: same ULN multiples as ALP
    (GGT, 60.0, None, 60, 30, 0),
    (GGT, 60.1, None, 60, 30, 1),
    (GGT, 150.0, None, 60, 30, 1),
    (GGT, 150.1, None, 60, 30, 2),
    (GGT, 300.0, None, 60, 30, 2),
    (GGT, 300.1, None, 60, 30, 3),
    (GGT, 1200.0, None, 60, 30, 3),
    (GGT, 1200.1, None, 60, 30, 4),
    # GGT, abnormal baseline 100 (ULN 60): "2.0 - 2.5 x baseline", admiral strictly > 2.0 x BASE
    (GGT, 150.0, None, 60, 100, 0),  # above the ULN but below 2 x baseline
    (GGT, 200.0, None, 60, 100, 0),
    (GGT, 200.1, None, 60, 100, 1),
    (GGT, 250.0, None, 60, 100, 1),
    (GGT, 250.1, None, 60, 100, 2),
    (GGT, 500.0, None, 60, 100, 2),
    (GGT, 500.1, None, 60, 100, 3),
    (GGT, 2000.0, None, 60, 100, 3),
    (GGT, 2000.1, None, 60, 100, 4),
]

# (term, unit (None: the canonical unit), value, LLN, ULN, baseline, expected grade); limits from the
# CTCAE v5.0 text as in pharmaverse/admiral data-raw/adlb_grading/ncictcaev5.json (SI) and the CTCAE
# mg/dL and mmol/L limits written in the same criterion.
ELECTROLYTE_CASES: list[
    tuple[str, str | None, float, float | None, float | None, float | None, int | None]
] = [
    # Anemia in mmol/L (CTCAE's own limits, not 100 g/L converted): "<LLN - 6.2 mmol/L",
    # "<6.2 - 4.9 mmol/L", "<4.9 mmol/L"
    (ANEMIA, "mmol/L", 8.0, 8.0, None, None, 0),
    (ANEMIA, "mmol/L", 7.9, 8.0, None, None, 1),
    (ANEMIA, "mmol/L", 6.2, 8.0, None, None, 1),  # 6.2 mmol/L = 99.9 g/L would be grade 2 if converted
    (ANEMIA, "mmol/L", 6.1, 8.0, None, None, 2),
    (ANEMIA, "mmol/L", 4.9, 8.0, None, None, 2),
    (ANEMIA, "mmol/L", 4.8, 8.0, None, None, 3),
    # Hyponatremia mmol/L, LLN 135: "<LLN - 130", "125-129 and asymptomatic" (2) / "125-129 symptomatic"
    # (3): not assignable from the value -> None; "120-124 regardless of symptoms" (3); "<120" (4)
    (HYPONA, None, 135.0, 135, 145, None, 0),
    (HYPONA, None, 134.9, 135, 145, None, 1),
    (HYPONA, None, 130.0, 135, 145, None, 1),
    (HYPONA, None, 129.0, 135, 145, None, None),
    (HYPONA, None, 125.0, 135, 145, None, None),
    (HYPONA, None, 124.9, 135, 145, None, 3),
    (HYPONA, None, 120.0, 135, 145, None, 3),
    (HYPONA, None, 119.9, 135, 145, None, 4),
    # Hypernatremia, ULN 145: ">ULN - 150", ">150 - 155", ">155 - 160", ">160 mmol/L"
    (HYPERNA, None, 145.0, 135, 145, None, 0),
    (HYPERNA, None, 145.1, 135, 145, None, 1),
    (HYPERNA, None, 150.0, 135, 145, None, 1),
    (HYPERNA, None, 150.1, 135, 145, None, 2),
    (HYPERNA, None, 155.0, 135, 145, None, 2),
    (HYPERNA, None, 155.1, 135, 145, None, 3),
    (HYPERNA, None, 160.0, 135, 145, None, 3),
    (HYPERNA, None, 160.1, 135, 145, None, 4),
    # Hypokalemia, LLN 3.5: "<LLN - 3.0" (1; grade 2 "Symptomatic with <LLN - 3.0" is clinical),
    # "<3.0 - 2.5" (3), "<2.5" (4)
    (HYPOK, None, 3.5, 3.5, 5.1, None, 0),
    (HYPOK, None, 3.49, 3.5, 5.1, None, 1),
    (HYPOK, None, 3.0, 3.5, 5.1, None, 1),
    (HYPOK, None, 2.99, 3.5, 5.1, None, 3),
    (HYPOK, None, 2.5, 3.5, 5.1, None, 3),
    (HYPOK, None, 2.49, 3.5, 5.1, None, 4),
    # Hyperkalemia, ULN 5.1: ">ULN - 5.5", ">5.5 - 6.0", ">6.0 - 7.0", ">7.0 mmol/L"
    (HYPERK, None, 5.1, 3.5, 5.1, None, 0),
    (HYPERK, None, 5.11, 3.5, 5.1, None, 1),
    (HYPERK, None, 5.5, 3.5, 5.1, None, 1),
    (HYPERK, None, 5.51, 3.5, 5.1, None, 2),
    (HYPERK, None, 6.0, 3.5, 5.1, None, 2),
    (HYPERK, None, 6.01, 3.5, 5.1, None, 3),
    (HYPERK, None, 7.0, 3.5, 5.1, None, 3),
    (HYPERK, None, 7.01, 3.5, 5.1, None, 4),
    # Hypocalcemia, corrected serum calcium mmol/L, LLN 2.15: "<LLN - 2.0", "<2.0 - 1.75",
    # "<1.75 - 1.5", "<1.5 mmol/L"
    (HYPOCA, None, 2.15, 2.15, 2.6, None, 0),
    (HYPOCA, None, 2.14, 2.15, 2.6, None, 1),
    (HYPOCA, None, 2.0, 2.15, 2.6, None, 1),
    (HYPOCA, None, 1.99, 2.15, 2.6, None, 2),
    (HYPOCA, None, 1.75, 2.15, 2.6, None, 2),
    (HYPOCA, None, 1.74, 2.15, 2.6, None, 3),
    (HYPOCA, None, 1.5, 2.15, 2.6, None, 3),
    (HYPOCA, None, 1.49, 2.15, 2.6, None, 4),
    # ... in mg/dL, LLN 8.6: "<LLN - 8.0", "<8.0 - 7.0", "<7.0 - 6.0", "<6.0 mg/dL"
    (HYPOCA, "mg/dL", 8.6, 8.6, 10.2, None, 0),
    (HYPOCA, "mg/dL", 8.5, 8.6, 10.2, None, 1),
    (HYPOCA, "mg/dL", 8.0, 8.6, 10.2, None, 1),  # = 1.996 mmol/L: grade 2 if converted
    (HYPOCA, "mg/dL", 7.99, 8.6, 10.2, None, 2),
    (HYPOCA, "mg/dL", 7.0, 8.6, 10.2, None, 2),
    (HYPOCA, "mg/dL", 6.99, 8.6, 10.2, None, 3),
    (HYPOCA, "mg/dL", 6.0, 8.6, 10.2, None, 3),
    (HYPOCA, "mg/dL", 5.99, 8.6, 10.2, None, 4),
    # Hypocalcemia, ionized calcium, LLN 1.15: "<LLN - 1.0", "<1.0 - 0.9", "<0.9 - 0.8", "<0.8 mmol/L"
    (HYPOCA_ION, None, 1.15, 1.15, 1.3, None, 0),
    (HYPOCA_ION, None, 1.14, 1.15, 1.3, None, 1),
    (HYPOCA_ION, None, 1.0, 1.15, 1.3, None, 1),
    (HYPOCA_ION, None, 0.99, 1.15, 1.3, None, 2),
    (HYPOCA_ION, None, 0.9, 1.15, 1.3, None, 2),
    (HYPOCA_ION, None, 0.89, 1.15, 1.3, None, 3),
    (HYPOCA_ION, None, 0.8, 1.15, 1.3, None, 3),
    (HYPOCA_ION, None, 0.79, 1.15, 1.3, None, 4),
    # Hypercalcemia, corrected, ULN 2.6: ">ULN - 2.9", ">2.9 - 3.1", ">3.1 - 3.4", ">3.4 mmol/L"
    (HYPERCA, None, 2.6, 2.15, 2.6, None, 0),
    (HYPERCA, None, 2.61, 2.15, 2.6, None, 1),
    (HYPERCA, None, 2.9, 2.15, 2.6, None, 1),
    (HYPERCA, None, 2.91, 2.15, 2.6, None, 2),
    (HYPERCA, None, 3.1, 2.15, 2.6, None, 2),
    (HYPERCA, None, 3.11, 2.15, 2.6, None, 3),
    (HYPERCA, None, 3.4, 2.15, 2.6, None, 3),
    (HYPERCA, None, 3.41, 2.15, 2.6, None, 4),
    # ... in mg/dL, ULN 10.2: ">ULN - 11.5", ">11.5 - 12.5", ">12.5 - 13.5", ">13.5 mg/dL"
    (HYPERCA, "mg/dL", 10.2, 8.6, 10.2, None, 0),
    (HYPERCA, "mg/dL", 10.3, 8.6, 10.2, None, 1),
    (HYPERCA, "mg/dL", 11.5, 8.6, 10.2, None, 1),
    (HYPERCA, "mg/dL", 11.6, 8.6, 10.2, None, 2),  # = 2.894 mmol/L: grade 1 if converted
    (HYPERCA, "mg/dL", 12.5, 8.6, 10.2, None, 2),
    (HYPERCA, "mg/dL", 12.6, 8.6, 10.2, None, 3),
    (HYPERCA, "mg/dL", 13.5, 8.6, 10.2, None, 3),
    (HYPERCA, "mg/dL", 13.6, 8.6, 10.2, None, 4),
    # Hypercalcemia, ionized, ULN 1.3: ">ULN - 1.5", ">1.5 - 1.6", ">1.6 - 1.8", ">1.8 mmol/L"
    (HYPERCA_ION, None, 1.3, 1.15, 1.3, None, 0),
    (HYPERCA_ION, None, 1.31, 1.15, 1.3, None, 1),
    (HYPERCA_ION, None, 1.5, 1.15, 1.3, None, 1),
    (HYPERCA_ION, None, 1.51, 1.15, 1.3, None, 2),
    (HYPERCA_ION, None, 1.6, 1.15, 1.3, None, 2),
    (HYPERCA_ION, None, 1.61, 1.15, 1.3, None, 3),
    (HYPERCA_ION, None, 1.8, 1.15, 1.3, None, 3),
    (HYPERCA_ION, None, 1.81, 1.15, 1.3, None, 4),
    # Hypomagnesemia mmol/L, LLN 0.66: "<LLN - 0.5", "<0.5 - 0.4", "<0.4 - 0.3", "<0.3 mmol/L"
    (HYPOMG, None, 0.66, 0.66, 1.07, None, 0),
    (HYPOMG, None, 0.65, 0.66, 1.07, None, 1),
    (HYPOMG, None, 0.5, 0.66, 1.07, None, 1),
    (HYPOMG, None, 0.49, 0.66, 1.07, None, 2),
    (HYPOMG, None, 0.4, 0.66, 1.07, None, 2),
    (HYPOMG, None, 0.39, 0.66, 1.07, None, 3),
    (HYPOMG, None, 0.3, 0.66, 1.07, None, 3),
    (HYPOMG, None, 0.29, 0.66, 1.07, None, 4),
    # ... in mg/dL, LLN 1.7: "<LLN - 1.2", "<1.2 - 0.9", "<0.9 - 0.7", "<0.7 mg/dL"
    (HYPOMG, "mg/dL", 1.7, 1.7, 2.6, None, 0),
    (HYPOMG, "mg/dL", 1.6, 1.7, 2.6, None, 1),
    (HYPOMG, "mg/dL", 1.2, 1.7, 2.6, None, 1),  # = 0.494 mmol/L: grade 2 if converted
    (HYPOMG, "mg/dL", 1.19, 1.7, 2.6, None, 2),
    (HYPOMG, "mg/dL", 0.9, 1.7, 2.6, None, 2),
    (HYPOMG, "mg/dL", 0.89, 1.7, 2.6, None, 3),
    (HYPOMG, "mg/dL", 0.7, 1.7, 2.6, None, 3),
    (HYPOMG, "mg/dL", 0.69, 1.7, 2.6, None, 4),
]


def _grade(
    table: LabGradingTable,
    term: str,
    value: float,
    lln: float | None,
    uln: float | None,
    base: float | None,
    *,
    unit: str | None = None,
    base_uln: float | None = None,
    options: frozenset[str] = frozenset(),
) -> LabGrade:
    """Grade with the baseline sample's ULN equal to the result's ULN unless ``base_uln`` is given.

    ``term`` is a CTCAE term name, or ``name@test`` where one term is graded from two tests
    (Hypocalcemia from corrected and from ionized calcium)."""
    name, _, test = term.partition("@")
    refs = LabReferences(lln, uln, base, uln if base_uln is None else base_uln)
    return grade_lab_value(
        table.term(name, test or None), value, refs, table.significant_digits, unit=unit, options=options
    )


@pytest.mark.parametrize(("term", "unit", "value", "lln", "uln", "base", "expected"), ELECTROLYTE_CASES)
def test_electrolytes_and_other_units_at_and_beside_each_ctcae_limit(
    table: LabGradingTable,
    term: str,
    unit: str | None,
    value: float,
    lln: float | None,
    uln: float | None,
    base: float | None,
    expected: int | None,
) -> None:
    """CTCAE v5.0 Hyponatremia, Hypernatremia, Hypokalemia, Hyperkalemia, Hypocalcemia, Hypercalcemia
    (corrected and ionized), Hypomagnesemia and Anemia in mmol/L: every grade limit of the CTCAE text,
    at the limit and just beyond it."""
    assert _grade(table, term, value, lln, uln, base, unit=unit).grade == expected


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
    """Every row of the table gives its grade (or, for a row with a clinical condition, is named in
    ``clinical_grades``) in at least one case of CASES or ELECTROLYTE_CASES."""
    produced = set()
    for term, value, lln, uln, base, _ in CASES:
        result = _grade(table, term, value, lln, uln, base)
        produced.add((result.term, result.grade, result.criterion))
    for term, unit, value, lln, uln, base, _ in ELECTROLYTE_CASES:
        result = _grade(table, term, value, lln, uln, base, unit=unit)
        produced.add((result.term, result.grade, result.criterion))
        for note in result.notes:
            if "only if" in note:
                produced.add((result.term, int(note.split()[1]), note.split("('")[1].split("')")[0]))
    rows = {(t.term, r.grade, r.ctcae) for t in table.terms for r in t.rows}
    assert rows - produced == set()


def test_the_required_terms_are_graded(table: LabGradingTable) -> None:
    """Issue 10 adds the CTCAE v5.0 terms platinum, taxane and PD-1 regimens need."""
    assert {t.term for t in table.terms} == {ANEMIA, WBC, ANC, LYM, PLT, ALT, AST, BILI, CREAT, ALB} | {
        ALP,
        GGT,
        HYPONA,
        HYPERNA,
        HYPOK,
        HYPERK,
        "Hypocalcemia",
        "Hypercalcemia",
        HYPOMG,
    }
    assert {t.term for t in table.terms if t.baseline_dependent} == {ALT, AST, BILI, ALP, GGT}


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


def test_creatinine_at_or_below_uln_is_graded_from_baseline_by_default(table: LabGradingTable) -> None:
    """CTCAE v5.0 Creatinine increased grade 2 ">1.5 - 3.0 x baseline" holds at or below the ULN (admiral
    ncictcaev5.json GRADE_2_CODE: ``AVAL > 1.5 * BASE`` with no ULN condition): 65, BASE 40, ULN 100."""
    result = _grade(table, CREAT, 65.0, None, 100, 40)
    assert (result.grade, result.criterion, result.notes) == (2, ">1.5 - 3.0 x baseline", ())


def test_creatinine_requires_above_uln_option_restores_the_old_rule(table: LabGradingTable) -> None:
    """Protocol option lab_grading.creatinine_requires_above_uln: no grade at or below the ULN, and the
    notes name the option; above the ULN the baseline criteria still apply."""
    option = frozenset({"creatinine_requires_above_uln"})
    result = _grade(table, CREAT, 65.0, None, 100, 40, options=option)
    assert result.grade == 0
    assert any("creatinine_requires_above_uln" in note for note in result.notes)
    assert _grade(table, CREAT, 100.0, None, 100, 20, options=option).grade == 0
    assert _grade(table, CREAT, 100.1, None, 100, 20, options=option).grade == 3  # > 3.0 x baseline


def test_the_table_options_are_protocol_lab_grading_fields(table: LabGradingTable) -> None:
    """Every ``option`` of the table is a field of the protocol's ``lab_grading`` settings, off by
    default, and neither shipped protocol switches it on."""
    assert table.options() == set(LabGradingPolicy.model_fields)
    assert LabGradingPolicy().enabled() == frozenset()
    registry = load_registry()
    for protocol_id in ("ivo-shfrt-2l", "scr-escc-01"):
        assert registry.get(protocol_id).lab_grading.enabled() == frozenset()
    assert LabGradingPolicy(creatinine_requires_above_uln=True).enabled() == {"creatinine_requires_above_uln"}


# ---- abnormal baseline: the baseline sample's own ULN (admiral BNRIND) ---------------------------


@pytest.mark.parametrize(
    ("term", "value", "uln", "base", "base_uln", "status", "expected"),
    [
        # ALT ">3.0 - 5.0 x ULN if baseline was normal": baseline 50 was normal against its own ULN 60,
        # although above the later ULN 40 -> 130 > 3 x 40 is grade 2 (as abnormal it would be 1)
        (ALT, 130.0, 40, 50, 60, "normal", 2),
        # ALT "1.5 - 3.0 x baseline if baseline was abnormal": baseline 50 > its ULN 40, later ULN 60:
        # 70 < 1.5 x 50 -> 0 (the ULN rows would give 1)
        (ALT, 70.0, 60, 50, 40, "abnormal", 0),
        (ALT, 75.0, 60, 50, 40, "abnormal", 1),
        # Blood bilirubin "> 1.0 - 1.5 x baseline if baseline was abnormal": baseline 25 > its ULN 21
        (BILI, 30.0, 34, 25, 21, "abnormal", 1),
        (BILI, 30.0, 21, 25, 34, "normal", 1),  # ">ULN - 1.5 x ULN": 30 > 21
        # Alkaline phosphatase "2.0 - 2.5 x baseline if baseline was abnormal": baseline 150 > its ULN 130
        (ALP, 299.0, 150, 150, 130, "abnormal", 0),
        (ALP, 300.0, 150, 150, 130, "abnormal", 1),
        # GGT ">2.5 - 5.0 x ULN if baseline was normal": baseline 70 within its ULN 73; later ULN 55
        (GGT, 140.0, 55, 70, 73, "normal", 2),
    ],
)
def test_abnormal_baseline_is_judged_on_the_baseline_samples_own_uln(
    table: LabGradingTable,
    term: str,
    value: float,
    uln: float,
    base: float,
    base_uln: float,
    status: str,
    expected: int,
) -> None:
    result = _grade(table, term, value, None, uln, base, base_uln=base_uln)
    assert (result.baseline_status, result.grade) == (status, expected)


def test_baseline_without_its_uln_is_unknown_and_says_so(table: LabGradingTable) -> None:
    """A baseline recorded without its reference range cannot be judged abnormal: the later result's ULN
    is not used for it; the ULN criteria apply and the notes say why."""
    refs = LabReferences(uln=40, baseline=80, baseline_uln=None)
    result = grade_lab_value(table.term(ALT), 119.0, refs, table.significant_digits)
    assert (result.baseline_status, result.grade) == ("unknown", 1)
    assert result.notes[0].startswith("baseline recorded without its ULN")


def test_creatinine_missing_baseline_uses_uln_and_flags_it(table: LabGradingTable) -> None:
    result = _grade(table, CREAT, 120.0, None, 100, None)
    assert result.grade == 1
    assert any("BASE missing" in note for note in result.notes)


def test_conventional_units_reach_the_same_grade(table: LabGradingTable) -> None:
    hb = to_canonical("hemoglobin", 7.9, "g/dL")
    assert _grade(table, ANEMIA, hb, 120, None, None).grade == 3
    bili = to_canonical("total_bilirubin", 1.8, "mg/dL")  # 30.78 umol/L, ULN 1.2 mg/dL = 20.52
    assert _grade(table, BILI, bili, None, to_canonical("total_bilirubin", 1.2, "mg/dL"), None).grade == 1


def test_hyponatremia_125_129_is_not_assignable_from_the_value(table: LabGradingTable) -> None:
    """CTCAE v5.0 Hyponatremia: "125-129 mmol/L and asymptomatic" is grade 2, "125-129 mmol/L symptomatic"
    grade 3. The value alone cannot choose (admiral assumes symptomatic, 3): no grade, both named."""
    result = _grade(table, HYPONA, 127.0, 135, 145, None)
    assert (result.grade, result.clinical_grades) == (None, (2, 3))
    assert any("grade 3 only if symptomatic" in note for note in result.notes)


def test_hypokalemia_grade_2_needs_symptoms(table: LabGradingTable) -> None:
    """CTCAE v5.0 Hypokalemia grade 2 "Symptomatic with <LLN - 3.0 mmol/L; intervention indicated" shares
    grade 1's range: the value gives grade 1 and names grade 2 as clinical (admiral assumes 2)."""
    result = _grade(table, HYPOK, 3.2, 3.5, 5.1, None)
    assert (result.grade, result.criterion, result.clinical_grades) == (1, "<LLN - 3.0 mmol/L", (2,))


def test_sodium_grades_both_terms(table: LabGradingTable) -> None:
    """One sodium result is graded for CTCAE Hyponatremia and Hypernatremia (grade 4 ">160 mmol/L")."""
    grades = grade_result(table, "sodium", 161.0, LabReferences(lln=135, uln=145))
    assert [(g.term, g.grade) for g in grades] == [(HYPONA, 0), (HYPERNA, 4)]


def test_hemoglobin_mmol_per_l_uses_ctcae_mmol_limits_not_a_conversion(table: LabGradingTable) -> None:
    """CTCAE v5.0 Anemia grade 1 "<LLN - 6.2 mmol/L": Hb 6.2 mmol/L is grade 1, although 6.2 mmol/L is
    99.9 g/L (< 100 g/L, grade 2) when converted (16.1145 g/L per mmol/L); g/dL is converted exactly."""
    by_mmol = grade_result(table, "hemoglobin", 6.2, LabReferences(lln=8.0), unit="mmol/L")[0]
    assert (by_mmol.grade, by_mmol.unit) == (1, "mmol/L")
    assert to_canonical("hemoglobin", 6.2, "mmol/L") < 100
    by_g_dl = grade_result(table, "hemoglobin", 9.9, LabReferences(lln=12.0), unit="g/dL")[0]
    assert (by_g_dl.grade, by_g_dl.unit) == (2, "g/L")  # "<10.0 - 8.0 g/dL"


def test_unit_without_ctcae_limits_is_refused_by_the_term(table: LabGradingTable) -> None:
    """grade_lab_value grades only in the canonical unit or a unit CTCAE writes limits in."""
    with pytest.raises(ValueError, match=r"unit 'mg/dL': CTCAE v5.0 'Hypocalcemia' is graded in mmol/L"):
        grade_lab_value(table.term("Hypocalcemia", "calcium_ionized"), 4.0, LabReferences(), 12, unit="mg/dL")
