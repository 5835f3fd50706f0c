"""ADaM ADSL and ADAE from the SDTM domains (ADaMIG v1.3 names); ADLB and ADEX are in ``adam_measures``,
ADRS and ADTTE in ``adam_efficacy``.

Every row names its source: ``SRCDOM``/``SRCSEQ`` (the SDTM domain and --SEQ it comes from) or, for a
row summarising several records, ``DRVRULE`` (the rule that made it). ADaM dates are numeric dates
(``date`` variables, SAS dates in XPORT).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from trialdesk.analysis.cdisc.model import Dataset, Row, Variable, study_day
from trialdesk.analysis.cdisc.sdtm import as_date, var
from trialdesk.domain.protocol.model import Protocol

ADSL_KEEP = ("STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "ARM", "ACTARM")
"""DM variables copied to ADSL (and the subject-level ones ADAE, ADLB, ADEX carry)."""
SUBJECT_VARS = ("STUDYID", "USUBJID", "SITEID", "ARM", "ACTARM", "TRTSDT", "TRTEDT")


def source_variables() -> tuple[Variable, ...]:
    """SRCDOM and SRCSEQ: the SDTM domain and --SEQ an ADaM row comes from."""
    return (
        var("SRCDOM", "Source Data", origin="Assigned", required=True),
        var("SRCSEQ", "Source Sequence Number", "integer", "Derived", method="--SEQ of the source record"),
    )


def _copied(dataset: Dataset, names: tuple[str, ...]) -> tuple[Variable, ...]:
    out = []
    for name in names:
        original = dataset.variable(name)
        out.append(
            var(
                name,
                original.label,
                original.type,
                "Predecessor",
                codelist=original.codelist,
                required=original.required,
                source=f"{dataset.name}.{name}",
            )
        )
    return tuple(out)


def _flag(value: bool) -> str:
    return "Y" if value else "N"


def adsl(
    protocol: Protocol, sdtm: Mapping[str, Dataset], subjects: Mapping[str, Row], analysed: set[str]
) -> Dataset:
    """Subject-level analysis dataset: one row per enrolled subject (DM row with an arm).

    ``subjects``: USUBJID -> the subject's record (phase, allocation date, end-of-study reason);
    ``analysed``: USUBJIDs in the efficacy analysis at the cut-off (ITTFL)."""
    dm = sdtm["DM"]
    ex_subjects = {row["USUBJID"] for row in sdtm["EX"].rows}
    dm_vars = _copied(dm, ADSL_KEEP)
    variables = (
        *dm_vars,
        var("PHASEID", "Protocol Phase of Enrolment", origin="Assigned", source="subjects.phase_id"),
        var("TRT01P", "Planned Treatment for Period 01", origin="Derived", method="DM.ARM"),
        var("TRT01A", "Actual Treatment for Period 01", origin="Derived", method="DM.ACTARM"),
        var(
            "TRTSDT", "Date of First Exposure to Treatment", "date", "Derived", method="DM.RFXSTDTC as a date"
        ),
        var(
            "TRTEDT", "Date of Last Exposure to Treatment", "date", "Derived", method="DM.RFXENDTC as a date"
        ),
        var("RANDDT", "Date of Randomization", "date", "Derived", method="DS RANDOMIZED DSSTDTC"),
        var(
            "ITTFL",
            "Intent-To-Treat Population Flag",
            origin="Derived",
            required=True,
            codelist="NY",
            method="Y when the subject is in the efficacy analysis at the cut-off (enrolled with an arm)",
        ),
        var(
            "SAFFL",
            "Safety Population Flag",
            origin="Derived",
            required=True,
            codelist="NY",
            method="Y when the subject received any study treatment (EX record or first-dose date)",
        ),
        var("DTHFL", "Subject Died Flag", origin="Derived", codelist="NY", method="DM.DTHFL"),
        var("DTHDT", "Date of Death", "date", "Derived", method="DM.DTHDTC as a date"),
        var(
            "EOSSTT",
            "End of Study Status",
            origin="Derived",
            method="COMPLETED / DISCONTINUED from DS END OF STUDY, else ONGOING",
        ),
        var(
            "DCSREAS",
            "Reason for Discontinuation from Study",
            origin="Derived",
            method="DS END OF STUDY DSDECOD",
        ),
        var("EOSDT", "End of Study Date", "date", "Derived", method="DS END OF STUDY DSSTDTC"),
        var("SRCDOM", "Source Data", origin="Assigned", required=True),
    )
    eos = {r["USUBJID"]: r for r in sdtm["DS"].rows if r.get("DSSCAT") == "END OF STUDY"}
    rows = []
    for row in dm.rows:
        if row.get("ARMCD") is None:
            continue
        usubjid = row["USUBJID"]
        subject = subjects.get(usubjid, {})
        end = eos.get(usubjid)
        treated = usubjid in ex_subjects or row.get("RFXSTDTC") is not None
        rows.append(
            {name: row.get(name) for name in ADSL_KEEP}
            | {
                "PHASEID": subject.get("phase_id"),
                "TRT01P": row.get("ARM"),
                "TRT01A": row.get("ACTARM"),
                "TRTSDT": as_date(row.get("RFXSTDTC")),
                "TRTEDT": as_date(row.get("RFXENDTC")),
                "RANDDT": subject.get("allocation_date"),
                "ITTFL": _flag(usubjid in analysed),
                "SAFFL": _flag(treated),
                "DTHFL": row.get("DTHFL"),
                "DTHDT": as_date(row.get("DTHDTC")),
                "EOSSTT": "ONGOING"
                if end is None
                else ("COMPLETED" if end["DSDECOD"] == "COMPLETED" else "DISCONTINUED"),
                "DCSREAS": None if end is None or end["DSDECOD"] == "COMPLETED" else end["DSDECOD"],
                "EOSDT": as_date(end["DSSTDTC"]) if end else None,
                "SRCDOM": "DM",
            }
        )
    return Dataset(
        "ADSL",
        "Subject-Level Analysis Dataset",
        "ADaM",
        "SUBJECT LEVEL ANALYSIS DATASET",
        "One record per subject",
        ("STUDYID", "USUBJID"),
        variables,
        rows,
        "Enrolled subjects (DM rows with an arm); screen failures stay in DM only.",
    )


def subject_part(adsl_rows: Mapping[str, Row], usubjid: str) -> Row:
    """The ADSL variables every other ADaM dataset carries, of one subject."""
    row = adsl_rows[usubjid]
    return {name: row.get(name) for name in SUBJECT_VARS}


def subject_variables(adsl_data: Dataset) -> tuple[Variable, ...]:
    """The metadata of those ADSL variables (origin Predecessor)."""
    return _copied(adsl_data, SUBJECT_VARS)


def treatment_emergent(
    start: dt.date | None, first: dt.date | None, last: dt.date | None, window_days: int
) -> bool:
    """TRTEMFL rule: onset on or after the first dose and no later than ``window_days`` after the last
    dose (no last dose: still on treatment); nothing is treatment-emergent before a first dose."""
    if start is None or first is None or start < first:
        return False
    return last is None or start <= last + dt.timedelta(days=window_days)


def adae(protocol: Protocol, sdtm: Mapping[str, Dataset], adsl_data: Dataset) -> Dataset:
    """Adverse events with TRTEMFL and the worst grade per subject and term (AOCCPFL-like ``WORSTFL``)."""
    window = max(protocol.visit_schedule.safety_follow_up_days.value or [0])
    ae = sdtm["AE"]
    subjects = {r["USUBJID"]: r for r in adsl_data.rows}
    rows: list[Row] = []
    for row in ae.rows:
        if row["USUBJID"] not in subjects:
            continue
        part = subject_part(subjects, row["USUBJID"])
        start = as_date(row["AESTDTC"])
        rows.append(
            part
            | {
                "AESEQ": row["AESEQ"],
                "AETERM": row["AETERM"],
                "AEDECOD": row["AEDECOD"],
                "AEBODSYS": row["AEBODSYS"],
                "AESER": row["AESER"],
                "AEREL": row["AEREL"],
                "AETOXGR": row["AETOXGR"],
                "ATOXGRN": int(row["AETOXGR"]),
                "ASTDT": start,
                "AENDT": as_date(row.get("AEENDTC")),
                "ASTDY": study_day(start, part["TRTSDT"]),
                "TRTEMFL": _flag(treatment_emergent(start, part["TRTSDT"], part["TRTEDT"], window)),
                "WORSTFL": None,
                "SRCDOM": "AE",
                "SRCSEQ": row["AESEQ"],
            }
        )
    worst: dict[tuple[str, str], Row] = {}
    for row in rows:
        if row["TRTEMFL"] != "Y":
            continue
        key = (row["USUBJID"], row["AEDECOD"])
        best = worst.get(key)
        if best is None or (row["ATOXGRN"], -row["AESEQ"]) > (best["ATOXGRN"], -best["AESEQ"]):
            worst[key] = row
    for row in worst.values():
        row["WORSTFL"] = "Y"
    variables = (
        *subject_variables(adsl_data),
        *_copied(ae, ("AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESER", "AEREL", "AETOXGR")),
        var("ATOXGRN", "Analysis Toxicity Grade (N)", "integer", "Derived", method="AETOXGR as a number"),
        var("ASTDT", "Analysis Start Date", "date", "Derived", method="AESTDTC as a date"),
        var("AENDT", "Analysis End Date", "date", "Derived", method="AEENDTC as a date"),
        var(
            "ASTDY",
            "Analysis Start Relative Day",
            "integer",
            "Derived",
            method="ASTDT - TRTSDT (+1 on or after)",
        ),
        var(
            "TRTEMFL",
            "Treatment Emergent Analysis Flag",
            origin="Derived",
            required=True,
            codelist="NY",
            method=f"Y when ASTDT >= TRTSDT and ASTDT <= TRTEDT + {window} days (the protocol's last safety "
            "follow-up), or TRTEDT is missing",
        ),
        var(
            "WORSTFL",
            "Worst Grade per Subject and Term Flag",
            origin="Derived",
            codelist="NY",
            method="Y on the treatment-emergent record of highest ATOXGRN per USUBJID and AEDECOD "
            "(first AESEQ on ties)",
        ),
        *source_variables(),
    )
    return Dataset(
        "ADAE",
        "Adverse Events Analysis Dataset",
        "ADaM",
        "OCCURRENCE DATA STRUCTURE",
        "One record per subject per adverse event episode",
        ("STUDYID", "USUBJID", "AESEQ"),
        variables,
        sorted(rows, key=lambda r: (r["USUBJID"], r["AESEQ"])),
        "Source: SDTM AE and ADSL.",
    )
