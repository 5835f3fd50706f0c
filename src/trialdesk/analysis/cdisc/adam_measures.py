"""ADaM ADLB and ADEX: laboratory values with their CTCAE grade, and exposure (ADaMIG v1.3 BDS).

Every row names its source (``SRCDOM``/``SRCSEQ``) or, for a per-subject total, its rule (``DRVRULE``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from trialdesk.analysis.cdisc.adam import source_variables, subject_part, subject_variables
from trialdesk.analysis.cdisc.model import Dataset, Row, study_day
from trialdesk.analysis.cdisc.sdtm import as_date, var


def adlb(
    sdtm: Mapping[str, Dataset], adsl_data: Dataset, grades: Mapping[str, tuple[int | None, str | None]]
) -> Dataset:
    """Lab analysis: AVAL in the canonical unit, baseline and change, ATOXGR from the product's CTCAE
    lab grading (``grades``: LBSPID -> (grade, CTCAE term), computed by the grading the lab service uses)."""
    lb = sdtm["LB"]
    subjects = {r["USUBJID"]: r for r in adsl_data.rows}
    baselines: dict[tuple[str, str], float] = {}
    for row in sorted(lb.rows, key=lambda r: (r["LBDTC"] or "", r["LBSEQ"])):
        if row.get("LBBLFL") == "Y":
            baselines[(row["USUBJID"], row["LBTESTCD"])] = row["LBSTRESN"]
    rows = []
    for row in lb.rows:
        if row["USUBJID"] not in subjects:
            continue
        part = subject_part(subjects, row["USUBJID"])
        base = baselines.get((row["USUBJID"], row["LBTESTCD"]))
        grade, term = grades.get(row["LBSPID"], (None, None))
        day = as_date(row["LBDTC"])
        rows.append(
            part
            | {
                "PARAMCD": row["LBTESTCD"],
                "PARAM": f"{row['LBTEST']} ({row['LBSTRESU']})",
                "AVAL": row["LBSTRESN"],
                "ADT": day,
                "ADY": study_day(day, part["TRTSDT"]),
                "ABLFL": row.get("LBBLFL"),
                "BASE": base,
                "CHG": None if base is None or row.get("LBBLFL") == "Y" else row["LBSTRESN"] - base,
                "ANRLO": row.get("LBSTNRLO"),
                "ANRHI": row.get("LBSTNRHI"),
                "ATOXGR": None if grade is None else str(grade),
                "ATOXGRN": grade,
                "ATOXDSC": term,
                "SRCDOM": "LB",
                "SRCSEQ": row["LBSEQ"],
            }
        )
    variables = (
        *subject_variables(adsl_data),
        var("PARAMCD", "Parameter Code", origin="Derived", required=True, method="LB.LBTESTCD"),
        var("PARAM", "Parameter", origin="Derived", required=True, method="LBTEST (LBSTRESU)"),
        var("AVAL", "Analysis Value", "float", "Derived", method="LB.LBSTRESN"),
        var("ADT", "Analysis Date", "date", "Derived", method="LB.LBDTC as a date"),
        var("ADY", "Analysis Relative Day", "integer", "Derived", method="ADT - TRTSDT (+1 on or after)"),
        var("ABLFL", "Baseline Record Flag", origin="Derived", codelist="NY", method="LB.LBBLFL"),
        var(
            "BASE",
            "Baseline Value",
            "float",
            "Derived",
            method="AVAL of the last baseline-flagged record of the test",
        ),
        var("CHG", "Change from Baseline", "float", "Derived", method="AVAL - BASE on post-baseline records"),
        var("ANRLO", "Analysis Normal Range Lower Limit", "float", "Derived", method="LB.LBSTNRLO"),
        var("ANRHI", "Analysis Normal Range Upper Limit", "float", "Derived", method="LB.LBSTNRHI"),
        var(
            "ATOXGR",
            "Analysis Toxicity Grade",
            origin="Derived",
            codelist="AETOXGR",
            method="CTCAE v5.0 grade of the value against its LLN/ULN and the subject's baseline "
            "(domain/safety/ctcae.grade_result, the product's lab grading); highest over the test's terms; "
            "null for baseline records and ungradable values",
        ),
        var("ATOXGRN", "Analysis Toxicity Grade (N)", "integer", "Derived", method="ATOXGR as a number"),
        var("ATOXDSC", "Analysis Toxicity Description", origin="Derived", method="CTCAE term of ATOXGR"),
        *source_variables(),
    )
    rows.sort(key=lambda r: (r["USUBJID"], r["PARAMCD"], r["SRCSEQ"]))
    return Dataset(
        "ADLB",
        "Laboratory Analysis Dataset",
        "ADaM",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter per analysis date",
        ("STUDYID", "USUBJID", "PARAMCD", "ADT"),
        variables,
        rows,
        "Source: SDTM LB, ADSL and the product's CTCAE v5.0 lab grading.",
    )


def adex(sdtm: Mapping[str, Dataset], adsl_data: Dataset) -> Dataset:
    """Exposure: each administration / fraction (from EX) and per subject and treatment the total dose
    and the number of administrations (``DRVRULE`` names the sum)."""
    ex = sdtm["EX"]
    subjects = {r["USUBJID"]: r for r in adsl_data.rows}
    rows: list[Row] = []
    totals: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for row in ex.rows:
        if row["USUBJID"] not in subjects:
            continue
        part = subject_part(subjects, row["USUBJID"])
        day = as_date(row["EXSTDTC"])
        unit = row["EXDOSU"]
        rows.append(
            part
            | {
                "PARAMCD": "DOSE",
                "PARAM": f"Dose administered ({unit})",
                "PARCAT1": row["EXTRT"],
                "AVAL": row["EXDOSE"],
                "ADT": day,
                "ADY": study_day(day, part["TRTSDT"]),
                "SRCDOM": "EX",
                "SRCSEQ": row["EXSEQ"],
                "DRVRULE": None,
            }
        )
        totals[(row["USUBJID"], row["EXTRT"], unit)].append(row)
    for (usubjid, treatment, unit), items in totals.items():
        part = subject_part(subjects, usubjid)
        common: dict[str, Any] = part | {
            "PARCAT1": treatment,
            "ADT": None,
            "ADY": None,
            "SRCDOM": "EX",
            "SRCSEQ": None,
        }
        rows.append(
            common
            | {
                "PARAMCD": "TOTDOSE",
                "PARAM": f"Total dose ({unit})",
                "AVAL": float(sum(r["EXDOSE"] for r in items)),
                "DRVRULE": "sum of EXDOSE over EX records",
            }
        )
        rows.append(
            common
            | {
                "PARAMCD": "NADMIN",
                "PARAM": "Number of administrations",
                "AVAL": float(len(items)),
                "DRVRULE": "count of EX records",
            }
        )
    variables = (
        *subject_variables(adsl_data),
        var("PARAMCD", "Parameter Code", origin="Assigned", required=True),
        var("PARAM", "Parameter", origin="Assigned", required=True),
        var("PARCAT1", "Parameter Category 1", origin="Derived", method="EX.EXTRT"),
        var(
            "AVAL",
            "Analysis Value",
            "float",
            "Derived",
            method="DOSE: EX.EXDOSE; TOTDOSE: sum; NADMIN: count",
        ),
        var("ADT", "Analysis Date", "date", "Derived", method="EX.EXSTDTC as a date"),
        var("ADY", "Analysis Relative Day", "integer", "Derived", method="ADT - TRTSDT (+1 on or after)"),
        *source_variables(),
        var("DRVRULE", "Derivation Rule", origin="Assigned"),
    )
    rows.sort(key=lambda r: (r["USUBJID"], str(r["PARCAT1"]), r["PARAMCD"], r["SRCSEQ"] or 0))
    return Dataset(
        "ADEX",
        "Exposure Analysis Dataset",
        "ADaM",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter per administration",
        ("STUDYID", "USUBJID", "PARAMCD", "PARCAT1"),
        variables,
        rows,
        "Source: SDTM EX and ADSL.",
    )
