"""SDTM TU, TR and RS from the stored tumour baseline and scans and the RECIST engine.

TU identifies each lesion (baseline target / non-target, new lesions at follow-up) by ``TULNKID``,
the lesion id of the record; TR holds each measurement and non-target state with the same
``TRLNKID``; RS holds the engine's target, non-target and overall response per time point and the
best overall response, under RECIST 1.1 (``RSCAT`` "RECIST 1.1") and, when the protocol derives it,
iRECIST (``RSCAT`` "iRECIST"), as :func:`trialdesk.domain.recist.engine.assess_response` gives them.
"""

from __future__ import annotations

import datetime as dt

from trialdesk.analysis.cdisc.model import Dataset, Row, iso, number_sequence, study_day
from trialdesk.analysis.cdisc.records import TrialRecords
from trialdesk.analysis.cdisc.sdtm import (
    NON_TARGET_STATES,
    RESPONSE_CATEGORIES,
    base_row,
    identifiers,
    reference_start,
    var,
)
from trialdesk.domain.endpoints.model import TumourData
from trialdesk.domain.recist import ResponseReport
from trialdesk.domain.recist.engine import assess_response
from trialdesk.domain.recist.errors import RecistInputError
from trialdesk.domain.recist.settings import ResponseSettings, Rules

BASELINE_VISIT = "BASELINE"

TU_VARIABLES = (
    *identifiers("TU"),
    var("TULNKID", "Link ID", required=True, source="lesion id of the baseline or new lesion"),
    var("TUTESTCD", "Tumor/Lesion ID Short Name", required=True, origin="Assigned", codelist="TUTESTCD"),
    var("TUTEST", "Tumor/Lesion ID Test Name", required=True, origin="Assigned"),
    var("TUORRES", "Tumor/Lesion ID Result", required=True, source="lesion role (target, non-target) or new"),
    var(
        "TUSTRESC",
        "Tumor/Lesion ID Result Std. Format",
        origin="Derived",
        codelist="TUSTRESC",
        method="TUORRES",
    ),
    var("TULOC", "Location of the Tumor/Lesion", source="lesion site"),
    var("TUMETHOD", "Method of Identification", source="lesion method (baseline lesions)"),
    var("TUEVAL", "Evaluator", origin="Assigned"),
    var("VISIT", "Visit Name", source="tumour_assessments.visit (BASELINE for the baseline)"),
    var("TUDTC", "Date/Time of Tumor/Lesion Identification", source="tumour scan date"),
    var(
        "TUDY", "Study Day of Tumor/Lesion Identification", "integer", "Derived", method="Study day of TUDTC"
    ),
)

TR_VARIABLES = (
    *identifiers("TR"),
    var("TRLNKID", "Link ID", required=True, source="lesion id (links to TU.TULNKID)"),
    var(
        "TRTESTCD",
        "Tumor/Lesion Assessment Short Name",
        required=True,
        origin="Assigned",
        codelist="TRTESTCD",
    ),
    var("TRTEST", "Tumor/Lesion Assessment Test Name", required=True, origin="Assigned"),
    var(
        "TRORRES", "Result or Finding in Original Units", source="tumour baseline diameter / scan measurement"
    ),
    var("TRORRESU", "Original Units", origin="Assigned", codelist="UNIT"),
    var("TRSTRESC", "Character Result/Finding in Std Format", origin="Derived", method="TRORRES"),
    var("TRSTRESN", "Numeric Result/Finding in Standard Units", "float", "Derived", method="TRORRES in mm"),
    var("TRSTRESU", "Standard Units", origin="Assigned", codelist="UNIT"),
    var("TREVAL", "Evaluator", origin="Assigned"),
    var("VISIT", "Visit Name", source="tumour_assessments.visit"),
    var("TRDTC", "Date/Time of Tumor/Lesion Measurement", source="tumour scan date"),
    var("TRDY", "Study Day of Tumor/Lesion Measurement", "integer", "Derived", method="Study day of TRDTC"),
)

RS_VARIABLES = (
    *identifiers("RS"),
    var("RSTESTCD", "Assessment Short Name", required=True, origin="Assigned", codelist="RSTESTCD"),
    var("RSTEST", "Assessment Name", required=True, origin="Assigned"),
    var("RSCAT", "Category for Assessment", required=True, origin="Assigned", codelist="RSCAT"),
    var(
        "RSORRES",
        "Result or Finding in Original Units",
        origin="Derived",
        method="RECIST 1.1 / iRECIST engine (domain/recist) on the stored scans up to the cut-off",
    ),
    var(
        "RSSTRESC",
        "Character Result/Finding in Std Format",
        origin="Derived",
        codelist="ONCRSR",
        method="RSORRES",
    ),
    var("RSEVAL", "Evaluator", origin="Assigned"),
    var("VISIT", "Visit Name", source="tumour_assessments.visit"),
    var("RSDTC", "Date/Time of Assessment", source="tumour scan date"),
    var("RSDY", "Study Day of Assessment", "integer", "Derived", method="Study day of RSDTC"),
)

RS_TESTS = {
    "OVRLRESP": "Overall Response",
    "TRGRESP": "Target Response",
    "NTRGRESP": "Non-target Response",
    "BESTRESP": "Best Overall Response",
}


def _visit(records: TrialRecords, subject_id: int, day: dt.date) -> str | None:
    return records.assessment_visits.get(subject_id, {}).get(day)


def _row(records: TrialRecords, domain: str, subject_id: int, day: dt.date, visit: str | None) -> Row:
    prefix = domain
    return base_row(records, domain, subject_id) | {
        "VISIT": visit,
        f"{prefix}DTC": iso(day),
        f"{prefix}DY": study_day(day, reference_start(records, subject_id)),
    }


def tu_tr(records: TrialRecords) -> tuple[Dataset, Dataset]:
    """Tumour identification (TU) and tumour results (TR), linked by lesion id."""
    tu = Dataset(
        "TU",
        "Tumor/Lesion Identification",
        "SDTM",
        "FINDINGS",
        "One record per identified lesion",
        ("STUDYID", "USUBJID", "TULNKID"),
        TU_VARIABLES,
        [],
        "Source: tumour_baselines.lesions (role, site, method) and new lesions of tumour_assessments.",
    )
    tr = Dataset(
        "TR",
        "Tumor/Lesion Results",
        "SDTM",
        "FINDINGS",
        "One record per lesion measurement per visit",
        ("STUDYID", "USUBJID", "TRLNKID", "TRTESTCD", "TRDTC"),
        TR_VARIABLES,
        [],
        "Source: tumour_baselines diameters and tumour_assessments measurements and non-target states.",
    )
    for sid, tumour in sorted(records.tumour.items()):
        _baseline_rows(records, sid, tumour, tu, tr)
        _follow_up_rows(records, sid, tumour, tu, tr)
    number_sequence(tu, "TUSEQ", ("TUDTC", "TULNKID"))
    number_sequence(tr, "TRSEQ", ("TRDTC", "TRLNKID", "TRTESTCD"))
    return tu, tr


def _baseline_rows(records: TrialRecords, sid: int, tumour: TumourData, tu: Dataset, tr: Dataset) -> None:
    day = tumour.baseline.date
    for lesion in tumour.baseline.lesions:
        role = "TARGET" if lesion.role == "target" else "NON-TARGET"
        tu.rows.append(
            _row(records, "TU", sid, day, BASELINE_VISIT)
            | {
                "TULNKID": lesion.id,
                "TUTESTCD": "TUMIDENT",
                "TUTEST": "Tumor Identification",
                "TUORRES": role,
                "TUSTRESC": role,
                "TULOC": lesion.site,
                "TUMETHOD": lesion.method.upper(),
                "TUEVAL": "INVESTIGATOR",
            }
        )
        if lesion.role == "target" and lesion.diameter_mm is not None:
            tr.rows.append(
                _size_row(records, sid, day, BASELINE_VISIT, lesion.id, lesion.nodal, lesion.diameter_mm)
            )
        elif lesion.role != "target":
            tr.rows.append(_state_row(records, sid, day, BASELINE_VISIT, lesion.id, "PRESENT"))


def _size_row(
    records: TrialRecords,
    sid: int,
    day: dt.date,
    visit: str | None,
    lesion_id: str,
    nodal: bool,
    size: object,
) -> Row:
    code, name = ("LPERP", "Longest Perpendicular") if nodal else ("LDIAM", "Longest Diameter")
    if isinstance(size, int | float):
        text, number = f"{float(size):g}", float(size)
    else:
        text, number = "TOO SMALL TO MEASURE", None
    return _row(records, "TR", sid, day, visit) | {
        "TRLNKID": lesion_id,
        "TRTESTCD": code,
        "TRTEST": name,
        "TRORRES": text,
        "TRORRESU": "mm" if number is not None else None,
        "TRSTRESC": text,
        "TRSTRESN": number,
        "TRSTRESU": "mm" if number is not None else None,
        "TREVAL": "INVESTIGATOR",
    }


def _state_row(
    records: TrialRecords, sid: int, day: dt.date, visit: str | None, lesion_id: str, state: str
) -> Row:
    return _row(records, "TR", sid, day, visit) | {
        "TRLNKID": lesion_id,
        "TRTESTCD": "TUMSTATE",
        "TRTEST": "Tumor State",
        "TRORRES": state,
        "TRORRESU": None,
        "TRSTRESC": state,
        "TRSTRESN": None,
        "TRSTRESU": None,
        "TREVAL": "INVESTIGATOR",
    }


def _follow_up_rows(records: TrialRecords, sid: int, tumour: TumourData, tu: Dataset, tr: Dataset) -> None:
    nodal = {lesion.id: lesion.nodal for lesion in tumour.baseline.lesions}
    for assessment in tumour.assessments:
        day = assessment.date
        visit = _visit(records, sid, day)
        for lesion_id, size in assessment.measurements.items():
            if size is not None:
                tr.rows.append(
                    _size_row(records, sid, day, visit, lesion_id, nodal.get(lesion_id, False), size)
                )
        for lesion_id, state in assessment.non_target.items():
            if state is not None:
                tr.rows.append(_state_row(records, sid, day, visit, lesion_id, NON_TARGET_STATES[state]))
        for new in assessment.new_lesions:
            result = "NEW"
            tu.rows.append(
                _row(records, "TU", sid, day, visit)
                | {
                    "TULNKID": new.id,
                    "TUTESTCD": "TUMIDENT",
                    "TUTEST": "Tumor Identification",
                    "TUORRES": result,
                    "TUSTRESC": result,
                    "TULOC": new.site,
                    "TUMETHOD": None,
                    "TUEVAL": "INVESTIGATOR",
                }
            )
            tr.rows.append(_state_row(records, sid, day, visit, new.id, "PRESENT"))


def response_reports(
    records: TrialRecords, settings: ResponseSettings
) -> tuple[dict[tuple[int, Rules], ResponseReport], list[str]]:
    """(subject id, rules) -> the engine's report, for RECIST 1.1 and (when the protocol derives it)
    iRECIST, and the subjects whose scans the engine refused (with the reason)."""
    rule_sets: list[Rules] = (
        ["recist1.1", "irecist"] if records.protocol.tumour_assessment.irecist else ["recist1.1"]
    )
    reports: dict[tuple[int, Rules], ResponseReport] = {}
    refused: list[str] = []
    for sid, tumour in sorted(records.tumour.items()):
        for rules in rule_sets:
            try:
                reports[(sid, rules)] = assess_response(tumour.baseline, tumour.assessments, settings, rules)
            except RecistInputError as exc:
                refused.append(f"{records.usubjid(sid)} ({RESPONSE_CATEGORIES[rules]}): {exc}")
    return reports, refused


def rs(
    records: TrialRecords, reports: dict[tuple[int, Rules], ResponseReport], refused: list[str]
) -> Dataset:
    """Disease response per time point (target, non-target, overall) and the best overall response."""
    comment = "Source: the RECIST 1.1 / iRECIST engine on tumour_baselines and tumour_assessments."
    if refused:
        comment += " Not derivable: " + "; ".join(refused)
    data = Dataset(
        "RS",
        "Disease Response and Clin Classification",
        "SDTM",
        "FINDINGS",
        "One record per response assessment per visit per category",
        ("STUDYID", "USUBJID", "RSCAT", "RSTESTCD", "RSDTC"),
        RS_VARIABLES,
        [],
        comment,
    )
    for (sid, rules), report in sorted(reports.items()):
        category = RESPONSE_CATEGORIES[rules]
        for point in report.time_points:
            visit = _visit(records, sid, point.date)
            for code, value in (
                ("TRGRESP", point.target),
                ("NTRGRESP", point.non_target),
                ("OVRLRESP", point.overall),
            ):
                if value is not None:
                    data.rows.append(_rs_row(records, sid, point.date, visit, category, code, value))
        if report.time_points and report.best_overall_response_date is not None:
            day = report.best_overall_response_date
            data.rows.append(
                _rs_row(
                    records,
                    sid,
                    day,
                    _visit(records, sid, day),
                    category,
                    "BESTRESP",
                    report.best_overall_response,
                )
            )
    number_sequence(data, "RSSEQ", ("RSCAT", "RSDTC", "RSTESTCD"))
    return data


def _rs_row(
    records: TrialRecords, sid: int, day: dt.date, visit: str | None, category: str, code: str, value: str
) -> Row:
    return _row(records, "RS", sid, day, visit) | {
        "RSTESTCD": code,
        "RSTEST": RS_TESTS[code],
        "RSCAT": category,
        "RSORRES": value,
        "RSSTRESC": value,
        "RSEVAL": "INVESTIGATOR",
    }
