"""SDTM mapping shared by every domain (SDTMIG v3.4 names and labels), and EX and LB.

Here: the controlled values the mapping writes (sex, route, AE outcome, SAE flags, LBTESTCD, VSTESTCD,
non-target states, response categories), the variable helper, the identifiers every subject domain
starts with, EPOCH and study-day helpers, EX (drug administrations and radiotherapy fractions) and LB
(lab results). DM/DS are in ``sdtm_subjects``, AE/SUPPAE in ``sdtm_adverse``, VS/MH/CM in
``sdtm_forms``, TU/TR/RS in ``sdtm_tumour`` and the trial design domains in ``trial_design``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from trialdesk.analysis.cdisc.model import (
    Dataset,
    Origin,
    Row,
    Variable,
    VarType,
    iso,
    number_sequence,
    study_day,
)
from trialdesk.analysis.cdisc.records import TrialRecords
from trialdesk.domain.protocol.model import DrugIntervention, Protocol
from trialdesk.domain.recist.settings import Rules

SEX = {"male": "M", "female": "F"}
ROUTES = {"IV": "INTRAVENOUS", "oral": "ORAL", "SC": "SUBCUTANEOUS"}
AE_OUTCOMES = {
    "recovered": "RECOVERED/RESOLVED",
    "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "recovered_with_sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL",
    "unknown": "UNKNOWN",
}
SAE_FLAGS = {
    "death": "AESDTH",
    "life_threatening": "AESLIFE",
    "hospitalization": "AESHOSP",
    "disability": "AESDISAB",
    "congenital_anomaly": "AESCONG",
    "important_medical_event": "AESMIE",
}
LBTESTCD = {
    "hemoglobin": ("HGB", "Hemoglobin"),
    "wbc": ("WBC", "Leukocytes"),
    "anc": ("NEUT", "Neutrophils"),
    "lymphocytes": ("LYM", "Lymphocytes"),
    "platelets": ("PLAT", "Platelets"),
    "albumin": ("ALB", "Albumin"),
    "alt": ("ALT", "Alanine Aminotransferase"),
    "ast": ("AST", "Aspartate Aminotransferase"),
    "total_bilirubin": ("BILI", "Bilirubin"),
    "creatinine": ("CREAT", "Creatinine"),
    "sodium": ("SODIUM", "Sodium"),
    "potassium": ("K", "Potassium"),
    "calcium_corrected": ("CACRALB", "Calcium Corrected for Albumin"),
    "calcium_ionized": ("CAION", "Calcium, Ionized"),
    "magnesium": ("MG", "Magnesium"),
    "alp": ("ALP", "Alkaline Phosphatase"),
    "ggt": ("GGT", "Gamma Glutamyl Transferase"),
}
"""Product lab code -> (LBTESTCD, LBTEST); LVEF is a cardiac function test, not a lab (left out)."""
VSTESTCD = {
    "height": ("HEIGHT", "Height"),
    "weight": ("WEIGHT", "Weight"),
    "systolic_bp": ("SYSBP", "Systolic Blood Pressure"),
    "diastolic_bp": ("DIABP", "Diastolic Blood Pressure"),
    "heart_rate": ("PULSE", "Pulse Rate"),
    "respiratory_rate": ("RESP", "Respiratory Rate"),
    "temperature": ("TEMP", "Temperature"),
}
VS_UNITS = {"kg": "kg", "cm": "cm", "mm[Hg]": "mmHg", "Cel": "C"}
VS_DEFAULT_UNITS = {
    "height": "cm",
    "weight": "kg",
    "systolic_bp": "mmHg",
    "diastolic_bp": "mmHg",
    "heart_rate": "beats/min",
    "respiratory_rate": "breaths/min",
    "temperature": "C",
}
"""VSSTRESU per test: the form's unit (UCUM) written as the CDISC UNIT submission value."""
NON_TARGET_STATES = {
    "absent": "ABSENT",
    "present": "PRESENT",
    "unequivocal_progression": "UNEQUIVOCAL PROGRESSION",
    "increased": "INCREASED",
}
RESPONSE_CATEGORIES: dict[Rules, str] = {"recist1.1": "RECIST 1.1", "irecist": "iRECIST"}


def var(
    name: str,
    label: str,
    type: VarType = "text",
    origin: Origin = "Collected",
    *,
    codelist: str | None = None,
    required: bool = False,
    source: str | None = None,
    method: str | None = None,
) -> Variable:
    """A variable (short form used by the dataset builders)."""
    return Variable(name, label, type, origin, source, method, codelist, required)


def identifiers(domain: str) -> tuple[Variable, ...]:
    """STUDYID, DOMAIN, USUBJID and --SEQ of a subject-level domain."""
    return (
        var("STUDYID", "Study Identifier", origin="Assigned", required=True, source="protocol acronym"),
        var("DOMAIN", "Domain Abbreviation", origin="Assigned", required=True),
        var("USUBJID", "Unique Subject Identifier", origin="Derived", required=True, method="STUDYID-SUBJID"),
        var(
            f"{domain}SEQ",
            "Sequence Number",
            "integer",
            "Derived",
            required=True,
            method=f"1, 2, ... per subject in order of {domain} date and test",
        ),
    )


def base_row(records: TrialRecords, domain: str, subject_id: int) -> Row:
    """STUDYID, DOMAIN and USUBJID of a subject's record in ``domain``."""
    return {"STUDYID": records.study_id, "DOMAIN": domain, "USUBJID": records.usubjid(subject_id)}


def reference_start(records: TrialRecords, subject_id: int) -> dt.date | None:
    """RFSTDTC as a date: the subject's first dose (``None`` when not treated)."""
    value = records.subject(subject_id).get("treatment_start_date")
    return value if isinstance(value, dt.date) else None


def epoch(records: TrialRecords, subject_id: int, day: dt.date | None) -> str | None:
    """EPOCH of a date: SCREENING before the first dose, TREATMENT up to the last dose (or ongoing),
    FOLLOW-UP after it; ``None`` when the date is missing."""
    if day is None:
        return None
    subject = records.subject(subject_id)
    start, end = subject.get("treatment_start_date"), subject.get("treatment_end_date")
    if start is None or day < start:
        return "SCREENING"
    if end is None or day <= end:
        return "TREATMENT"
    return "FOLLOW-UP"


def as_date(value: Any) -> dt.date | None:
    """A date from a date, a date-time or ISO 8601 text (``None`` for anything else)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def yes_no(flag: bool | None) -> str | None:
    """Y / N of a flag (``None`` when unknown)."""
    return None if flag is None else ("Y" if flag else "N")


def arm_label(protocol: Protocol, arm_id: str | None) -> str | None:
    """The protocol's label of an arm (ARM), ``None`` without one."""
    for arm in protocol.design.arms:
        if arm.id == arm_id:
            return arm.label
    return None


EX_VARIABLES = (
    *identifiers("EX"),
    var("EXTRT", "Name of Treatment", required=True, origin="Protocol", source="protocol interventions name"),
    var("EXCAT", "Category of Treatment", origin="Assigned"),
    var("EXDOSE", "Dose", "float", source="drug_administrations.given_dose_mg / rt_fractions.dose_gy"),
    var("EXDOSU", "Dose Units", origin="Assigned", codelist="UNIT"),
    var("EXROUTE", "Route of Administration", origin="Protocol", codelist="ROUTE"),
    var("EXLOC", "Location of Dose Administration", source="rt_fractions.target"),
    var("EXADJ", "Reason for Dose Adjustment", source="drug_administrations.deviation_reason"),
    var("VISIT", "Visit Name", origin="Derived", method="CYCLE n DAY 1 / RT FRACTION n"),
    var("EPOCH", "Epoch", origin="Derived", codelist="EPOCH", method="Epoch of EXSTDTC"),
    var("EXSTDTC", "Start Date/Time of Treatment", source="drug_administrations.date / rt_fractions.date"),
    var("EXENDTC", "End Date/Time of Treatment", source="same day as EXSTDTC"),
    var("EXSTDY", "Study Day of Start of Treatment", "integer", "Derived", method="Study day of EXSTDTC"),
)


def _interventions(protocol: Protocol) -> dict[str, Any]:
    return {i.id: i for i in protocol.interventions}


def ex(records: TrialRecords) -> Dataset:
    """Exposure: every drug administration (dose given, mg) and radiotherapy fraction (Gy)."""
    data = Dataset(
        "EX",
        "Exposure",
        "SDTM",
        "INTERVENTIONS",
        "One record per administration or RT fraction",
        ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
        EX_VARIABLES,
        [],
        "Source: drug_administrations (given dose) and rt_fractions (fraction dose and target).",
    )
    interventions = _interventions(records.protocol)
    for row in records.drug_administrations:
        sid = int(row["subject_id"])
        item = interventions.get(row["agent"])
        route = ROUTES.get(item.route) if isinstance(item, DrugIntervention) else None
        data.rows.append(
            base_row(records, "EX", sid)
            | {
                "EXTRT": item.name if item else row["agent"],
                "EXCAT": "DRUG",
                "EXDOSE": float(row["given_dose_mg"]),
                "EXDOSU": "mg",
                "EXROUTE": route,
                "EXLOC": None,
                "EXADJ": row.get("deviation_reason"),
                "VISIT": f"CYCLE {row['cycle']} DAY 1",
                "EPOCH": epoch(records, sid, row["date"]),
                "EXSTDTC": iso(row["date"]),
                "EXENDTC": iso(row["date"]),
                "EXSTDY": study_day(row["date"], reference_start(records, sid)),
            }
        )
    for row in records.rt_fractions:
        sid = int(row["subject_id"])
        item = interventions.get(row["intervention"])
        data.rows.append(
            base_row(records, "EX", sid)
            | {
                "EXTRT": item.name if item else row["intervention"],
                "EXCAT": "RADIOTHERAPY",
                "EXDOSE": float(row["dose_gy"]),
                "EXDOSU": "Gy",
                "EXROUTE": None,
                "EXLOC": row["target"],
                "EXADJ": None,
                "VISIT": f"RT FRACTION {row['fraction_number']}",
                "EPOCH": epoch(records, sid, row["date"]),
                "EXSTDTC": iso(row["date"]),
                "EXENDTC": iso(row["date"]),
                "EXSTDY": study_day(row["date"], reference_start(records, sid)),
            }
        )
    number_sequence(data, "EXSEQ", ("EXSTDTC", "EXTRT", "VISIT"))
    return data


LB_VARIABLES = (
    *identifiers("LB"),
    var("LBSPID", "Sponsor-Defined Identifier", origin="Assigned", source="lab_results.id"),
    var(
        "LBTESTCD",
        "Lab Test or Examination Short Name",
        required=True,
        origin="Assigned",
        codelist="LBTESTCD",
    ),
    var("LBTEST", "Lab Test or Examination Name", required=True, origin="Assigned", codelist="LBTEST"),
    var("LBORRES", "Result or Finding in Original Units", source="lab_results.value"),
    var("LBORRESU", "Original Units", source="lab_results.unit (UCUM)"),
    var("LBORNRLO", "Reference Range Lower Limit in Orig Unit", source="lab_results.lln"),
    var("LBORNRHI", "Reference Range Upper Limit in Orig Unit", source="lab_results.uln"),
    var("LBSTRESC", "Character Result/Finding in Std Format", origin="Derived", method="LBSTRESN as text"),
    var(
        "LBSTRESN",
        "Numeric Result/Finding in Standard Units",
        "float",
        "Derived",
        method="Value converted to the test's canonical unit (domain/labs/units.py)",
    ),
    var("LBSTRESU", "Standard Units", origin="Derived", method="The test's canonical UCUM unit"),
    var(
        "LBSTNRLO",
        "Normal Range Lower Limit-Std Units",
        "float",
        "Derived",
        method="LLN in the canonical unit",
    ),
    var(
        "LBSTNRHI",
        "Normal Range Upper Limit-Std Units",
        "float",
        "Derived",
        method="ULN in the canonical unit",
    ),
    var("LBBLFL", "Baseline Flag", codelist="NY", source="lab_results.is_baseline"),
    var("EPOCH", "Epoch", origin="Derived", codelist="EPOCH", method="Epoch of LBDTC"),
    var("LBDTC", "Date/Time of Specimen Collection", source="lab_results.collected_date"),
    var("LBDY", "Study Day of Specimen Collection", "integer", "Derived", method="Study day of LBDTC"),
)


def _num_text(value: Any) -> str | None:
    return None if value is None else f"{float(value):g}"


def lb(records: TrialRecords, canonical_units: Callable[[str], str]) -> Dataset:
    """Laboratory results as entered and in the canonical unit (``canonical_units``: test -> unit)."""
    data = Dataset(
        "LB",
        "Laboratory Test Results",
        "SDTM",
        "FINDINGS",
        "One record per lab test per specimen",
        ("STUDYID", "USUBJID", "LBTESTCD", "LBDTC"),
        LB_VARIABLES,
        [],
        "Source: lab_results (entered or imported; canonical unit from domain/labs/units.py). LVEF is not a "
        "laboratory test and is left out.",
    )
    for row in records.lab_results:
        if row["test"] not in LBTESTCD:
            continue
        sid = int(row["subject_id"])
        code, name = LBTESTCD[row["test"]]
        data.rows.append(
            base_row(records, "LB", sid)
            | {
                "LBSPID": str(row["id"]),
                "LBTESTCD": code,
                "LBTEST": name,
                "LBORRES": _num_text(row["value"]),
                "LBORRESU": row["unit"],
                "LBORNRLO": _num_text(row.get("lln")),
                "LBORNRHI": _num_text(row.get("uln")),
                "LBSTRESC": _num_text(row["value_canonical"]),
                "LBSTRESN": float(row["value_canonical"]),
                "LBSTRESU": canonical_units(row["test"]),
                "LBSTNRLO": row.get("lln_canonical"),
                "LBSTNRHI": row.get("uln_canonical"),
                "LBBLFL": "Y" if row.get("is_baseline") else None,
                "EPOCH": epoch(records, sid, row["collected_date"]),
                "LBDTC": iso(row["collected_date"]),
                "LBDY": study_day(row["collected_date"], reference_start(records, sid)),
            }
        )
    number_sequence(data, "LBSEQ", ("LBDTC", "LBTESTCD", "LBSPID"))
    return data
