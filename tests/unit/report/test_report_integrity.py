"""The report never crashes on accepted data, and its safety tables read as the issue asks: percentages,
four-decimal probabilities, human group labels, attributions per component (CTCAE v5.0 grading)."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests.unit.endpoints.helpers import day, protocol, scan, subject
from trialdesk.adapters.report import render_report, report_content
from trialdesk.adapters.report.safety import probability, safety_report_tables
from trialdesk.analysis.snapshot import ScreeningRecord, build_snapshot
from trialdesk.domain.recist import Assessment
from trialdesk.stats.stopping_rule import probability_rule_met

SCR = "scr-escc-01"


def test_a_record_that_cannot_be_derived_is_listed_and_the_rest_of_the_report_is_built() -> None:
    """A scan measuring a lesion that is not in the RECIST 1.1 baseline (RECIST 1.1 section 4.3: the
    target lesions are fixed at baseline) cannot be derived: the subject goes to the data-issues
    appendix with the reason, counts in CONSORT as allocated but not analysed, and the report renders."""
    stray = Assessment.model_validate(
        {"date": day(42), "measurements": {"T9": 10.0}, "non_target": {"NT1": "present"}, "new_lesions": []}
    )
    subjects = [subject("S1", scans=[scan(42, 30.0)]), subject("S2", scans=[stray])]
    snapshot = build_snapshot(protocol(), day(100), subjects, screened=2, screen_failures={})
    (issue,) = snapshot.data_issues
    assert issue.subject_id == "S2" and "'T9' is not a baseline lesion" in issue.reason
    (arm,) = snapshot.consort.arms
    assert (arm.allocated, arm.not_derivable, arm.analysed) == (2, 1, 1)
    assert snapshot.consort.arithmetic_errors() == []
    content = report_content(snapshot)
    appendix = content.sections[-1]
    assert appendix.title == "Data issues"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render_report(snapshot, "pdf"))).pages)
    assert "Records that could not be derived" in text and "S2" in text


def test_subjects_enrolled_after_the_cutoff_and_late_screening_are_not_counted() -> None:
    """Cut-off rule (docs/analysis.md): a record counts only if its clinical date is on or before the
    cut-off; seed 002's phase IIb subject enrolled but randomized after the cut-off is 'not randomized'."""
    p = protocol(SCR)
    screening = [
        ScreeningRecord(subject_id="A", screening_date=day(-10), phase_id="iia", enrolment_date=day(0)),
        ScreeningRecord(
            subject_id="B",
            screening_date=day(-5),
            phase_id="iib",
            enrolment_date=day(5),
            randomization_date=day(60),
        ),
        ScreeningRecord(
            subject_id="C", screening_date=day(20), screen_failure_date=day(80), failed_criteria=["x"]
        ),
        ScreeningRecord(subject_id="D", screening_date=day(200)),
    ]
    a = subject("A", arm="A", phase_id="iia")
    b = subject("B", arm="B", phase_id="iib", origin_date=day(60), treatment_start=day(61))
    at_30 = build_snapshot(p, day(30), [a, b], screening=screening).consort
    assert (at_30.screened, at_30.screen_failed, at_30.still_screening, at_30.enrolled) == (3, 0, 1, 2)
    assert at_30.not_randomized == {"iib": 1} and [x.arm for x in at_30.arms] == ["A"]
    at_100 = build_snapshot(p, day(100), [a, b], screening=screening).consort
    assert (at_100.screened, at_100.screen_failed, at_100.still_screening, at_100.enrolled) == (3, 1, 0, 2)
    assert at_100.not_randomized == {} and at_100.screen_failures == {"x": 1}
    assert at_30.arithmetic_errors() == at_100.arithmetic_errors() == []


def test_safety_tables_show_percentages_four_decimal_probabilities_and_human_labels() -> None:
    """Seed 002 run-in stopping rule (>= 2 grade-5 TRAEs among the run-in subjects): exact binomial
    P(X >= 2 | n = 20, p = 0.05) = 0.264 (clinical-reference.md, operating characteristics of the
    SCR-ESCC-01 stopping rule), printed with four decimals; AE counts
    as n (%) of the exposed subjects; group iia/A printed as 'Phase IIa: Arm A (experimental)'."""
    p = protocol(SCR)
    tables = {
        "exposure": [
            {"group": "iia/A", "enrolled": 6, "exposed": 4, "treatment_started": 4, "deaths": 1},
            {"group": "Total", "enrolled": 6, "exposed": 4, "treatment_started": 4, "deaths": 1},
        ],
        "ae_by_soc_term_all_cause": [
            {
                "soc": "All SOCs",
                "term": "Any adverse event",
                "iia/A any": 1,
                "iia/A 1-2": 0,
                "iia/A 3-4": 0,
                "iia/A 5": 1,
                "Total any": 1,
                "Total 1-2": 0,
                "Total 3-4": 0,
                "Total 5": 1,
            },
        ],
        "deaths": [
            {
                "subject": "SCR-001",
                "group": "iia/A",
                "death_date": "2025-03-01",
                "cause": "Death NOS",
                "attribution": "pd1: probable; ldrt: unlikely",
                "treatment_related": True,
            },
        ],
        "stopping_rule_probabilities": [
            {
                "rule_id": "runin-grade5-trae",
                "n_basis": "planned minimum",
                "n": 20,
                "threshold": 2,
                "true_rate": 0.05,
                "probability": round(probability_rule_met(20, 2, 0.05), 4),
            },
        ],
    }
    out = {t.title: t for t in safety_report_tables(tables, p)}
    exposure = out["Subjects enrolled and exposed, by group"]
    assert exposure.rows[0][0] == "Phase IIa: Arm A (experimental)" and "iia/A" not in str(exposure.rows)
    soc = next(
        t for t in out.values() if t.title.startswith("AEs by SOC and term") and "Phase IIa" in t.title
    )
    assert "(N = 4 exposed)" in soc.title and [c.replace("\xa0", " ") for c in soc.rows[0][2:]] == [
        "1 (25.0)",
        "0 (0.0)",
        "0 (0.0)",
        "1 (25.0)",
    ]
    (death,) = out["Deaths, with cause and attribution"].rows
    assert "Anti-PD-1 antibody: probable" in death[4] and death[5] == "yes"
    (prob,) = out["Exact binomial probability of meeting each stopping rule"].rows
    assert prob[-1] == "0.2642" and abs(float(prob[-1]) - 0.264) < 5e-4 and prob[-2] == "5%"
    assert probability(0.25) == "0.2500"  # trailing zeros kept: always four decimals
