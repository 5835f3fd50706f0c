"""SDTM domains from the trial records (SDTMIG v3.4 variable names and labels).

Sources (each domain's ``comment`` repeats its own): DM and DS from the subject and allocation rows,
EX from drug administrations and radiotherapy fractions, AE (and SUPPAE for the attribution per
treatment component) from adverse events, LB from lab results, VS from the ``vital_signs`` form and
the height/weight of the ``demographics`` form, MH from the ``medical_history`` form, CM from the
``concomitant_medications`` and ``prior_therapies`` forms, TU/TR from the tumour baseline and scans, RS
from the RECIST 1.1 (and, when the protocol derives it, iRECIST) engine run on those scans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from trialdesk.analysis.cdisc.model import (
    Dataset,
    Origin,
    Row,
    Variable,
    VarType,
    iso,
    number_sequence,
    split_text,
    study_day,
)
from trialdesk.analysis.cdisc.records import TrialRecords
from trialdesk.domain.disposition import CDISC_TERMS
from trialdesk.domain.protocol.model import DrugIntervention, Protocol
from trialdesk.domain.recist.settings import Rules
from trialdesk.domain.safety.stopping_rules import is_treatment_related

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


def _base(records: TrialRecords, domain: str, subject_id: int) -> Row:
    return {"STUDYID": records.study_id, "DOMAIN": domain, "USUBJID": records.usubjid(subject_id)}


def _rfstdt(records: TrialRecords, subject_id: int) -> dt.date | None:
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


def _date(value: Any) -> dt.date | None:
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


def _yn(flag: bool | None) -> str | None:
    return None if flag is None else ("Y" if flag else "N")


def _arm_label(protocol: Protocol, arm_id: str | None) -> str | None:
    for arm in protocol.design.arms:
        if arm.id == arm_id:
            return arm.label
    return None


def _sex(records: TrialRecords, subject: Row) -> str:
    demographics = records.subject_form(int(subject["id"]), "demographics")
    raw = demographics.values.get("sex") if demographics else None
    raw = raw or (subject.get("patient_record") or {}).get("sex")
    return SEX.get(str(raw).lower(), "U") if raw else "U"


def _birth_date(records: TrialRecords, subject: Row) -> dt.date | None:
    demographics = records.subject_form(int(subject["id"]), "demographics")
    raw = demographics.values.get("birth_date") if demographics else None
    return _date(raw or (subject.get("patient_record") or {}).get("birth_date"))


def _age(birth: dt.date | None, on: dt.date | None) -> int | None:
    if birth is None or on is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


DM_VARIABLES = (
    *identifiers("DM")[:3],
    var("SUBJID", "Subject Identifier for the Study", required=True, source="subjects.screening_number"),
    var("RFSTDTC", "Subject Reference Start Date/Time", source="subjects.treatment_start_date"),
    var("RFENDTC", "Subject Reference End Date/Time", source="subjects.treatment_end_date"),
    var("RFXSTDTC", "Date/Time of First Study Treatment", source="subjects.treatment_start_date"),
    var("RFXENDTC", "Date/Time of Last Study Treatment", source="subjects.treatment_end_date"),
    var("RFICDTC", "Date/Time of Informed Consent", source="subjects.consent_date"),
    var(
        "RFPENDTC",
        "Date/Time of End of Participation",
        "text",
        "Derived",
        method="End of study date, else death date, else last date known alive (at the cut-off at most)",
    ),
    var("DTHDTC", "Date/Time of Death", source="subjects.death_date"),
    var("DTHFL", "Subject Death Flag", origin="Derived", codelist="NY", method="Y when DTHDTC is present"),
    var("SITEID", "Study Site Identifier", required=True, source="sites.code"),
    var("BRTHDTC", "Date/Time of Birth", source="demographics form birth_date (else the screening record)"),
    var("AGE", "Age", "integer", "Derived", method="Whole years from BRTHDTC to the screening date"),
    var("AGEU", "Age Units", origin="Assigned", codelist="AGEU"),
    var("SEX", "Sex", required=True, codelist="SEX", source="demographics form sex (else screening record)"),
    var("RACE", "Race", codelist="RACE", source="not collected in CDISC race categories: null"),
    var("ARMCD", "Planned Arm Code", origin="Assigned", codelist="ARMCD", source="subjects.arm_id"),
    var("ARM", "Description of Planned Arm", origin="Protocol", source="protocol design.arms label"),
    var(
        "ACTARMCD",
        "Actual Arm Code",
        origin="Derived",
        codelist="ARMCD",
        method="ARMCD when treated, else null (ARMNRS says why)",
    ),
    var("ACTARM", "Description of Actual Arm", origin="Derived", method="ARM when treated"),
    var(
        "ARMNRS",
        "Reason Arm and/or Actual Arm is Null",
        origin="Derived",
        method="SCREEN FAILURE, NOT ASSIGNED (still screening) or ASSIGNED, NOT TREATED",
    ),
    var("COUNTRY", "Country", source="not stored by the product: null"),
    var("DMDTC", "Date/Time of Collection", source="subjects.screening_date"),
)


def _rfpendt(subject: Row, cutoff: dt.date) -> dt.date | None:
    for name in ("end_of_study_date", "death_date", "last_known_alive_date"):
        day = subject.get(name)
        if isinstance(day, dt.date):
            return min(day, cutoff)
    return None


def _arm_null_reason(subject: Row) -> str | None:
    if subject.get("status") == "screen_failed":
        return "SCREEN FAILURE"
    if subject.get("arm_id") is None:
        return "NOT ASSIGNED"
    if subject.get("treatment_start_date") is None:
        return "ASSIGNED, NOT TREATED"
    return None


def dm(records: TrialRecords) -> Dataset:
    """Demographics: one row per screened subject (screen failures with ARMNRS)."""
    rows = []
    for subject in records.subjects:
        sid = int(subject["id"])
        treated = subject.get("treatment_start_date") is not None and subject.get("arm_id") is not None
        birth = _birth_date(records, subject)
        arm = subject.get("arm_id")
        rows.append(
            _base(records, "DM", sid)
            | {
                "SUBJID": str(subject["screening_number"]),
                "RFSTDTC": iso(subject.get("treatment_start_date")),
                "RFENDTC": iso(subject.get("treatment_end_date")),
                "RFXSTDTC": iso(subject.get("treatment_start_date")),
                "RFXENDTC": iso(subject.get("treatment_end_date")),
                "RFICDTC": iso(subject.get("consent_date")),
                "RFPENDTC": iso(_rfpendt(subject, records.cutoff)),
                "DTHDTC": iso(subject.get("death_date")),
                "DTHFL": "Y" if subject.get("death_date") else None,
                "SITEID": str(subject["site_code"]),
                "BRTHDTC": iso(birth),
                "AGE": _age(birth, subject.get("screening_date")),
                "AGEU": "YEARS" if birth else None,
                "SEX": _sex(records, subject),
                "RACE": None,
                "ARMCD": arm,
                "ARM": _arm_label(records.protocol, arm),
                "ACTARMCD": arm if treated else None,
                "ACTARM": _arm_label(records.protocol, arm) if treated else None,
                "ARMNRS": _arm_null_reason(subject),
                "COUNTRY": None,
                "DMDTC": iso(subject.get("screening_date")),
            }
        )
    rows.sort(key=lambda r: r["USUBJID"])
    return Dataset(
        "DM",
        "Demographics",
        "SDTM",
        "SPECIAL PURPOSE",
        "One record per subject",
        ("STUDYID", "USUBJID"),
        DM_VARIABLES,
        rows,
        "Source: subjects, sites, allocations and the demographics form.",
    )


DS_VARIABLES = (
    *identifiers("DS"),
    var(
        "DSTERM",
        "Reported Term for the Disposition Event",
        required=True,
        origin="Derived",
        method="The stored coded reason in words (or the milestone)",
    ),
    var(
        "DSDECOD",
        "Standardized Disposition Term",
        required=True,
        origin="Derived",
        codelist="NCOMPLT",
        method="Stored reason -> NCOMPLT submission value (domain/disposition.CDISC_TERMS)",
    ),
    var("DSCAT", "Category for Disposition Event", origin="Assigned", codelist="DSCAT"),
    var("DSSCAT", "Subcategory for Disposition Event", origin="Assigned"),
    var("EPOCH", "Epoch", origin="Derived", codelist="EPOCH", method="Epoch of DSSTDTC"),
    var("DSSTDTC", "Start Date/Time of Disposition Event", source="subjects / allocations dates"),
    var(
        "DSSTDY",
        "Study Day of Start of Disposition Event",
        "integer",
        "Derived",
        method="DSSTDTC - RFSTDTC + 1 on or after RFSTDTC, else DSSTDTC - RFSTDTC",
    ),
)


def _ds_events(subject: Row) -> Iterable[tuple[str, str, str, str | None, dt.date | None]]:
    """(DSTERM, DSDECOD, DSCAT, DSSCAT, date) of one subject's disposition events."""
    if subject.get("consent_date"):
        yield (
            "INFORMED CONSENT OBTAINED",
            "INFORMED CONSENT OBTAINED",
            "PROTOCOL MILESTONE",
            None,
            subject["consent_date"],
        )
    if subject.get("allocation_date"):
        yield ("RANDOMIZED", "RANDOMIZED", "PROTOCOL MILESTONE", None, subject["allocation_date"])
    if subject.get("status") == "screen_failed":
        yield (
            "SCREEN FAILURE",
            "SCREEN FAILURE",
            "DISPOSITION EVENT",
            "STUDY SCREENING",
            subject.get("status_date") or subject.get("screening_date"),
        )
    reason = subject.get("end_of_treatment_reason")
    if subject.get("treatment_end_date") and reason in CDISC_TERMS:
        yield (
            reason.replace("_", " ").upper(),
            CDISC_TERMS[reason],
            "DISPOSITION EVENT",
            "END OF TREATMENT",
            subject["treatment_end_date"],
        )
    reason = subject.get("end_of_study_reason")
    if subject.get("end_of_study_date") and reason in CDISC_TERMS:
        yield (
            reason.replace("_", " ").upper(),
            CDISC_TERMS[reason],
            "DISPOSITION EVENT",
            "END OF STUDY",
            subject["end_of_study_date"],
        )


def ds(records: TrialRecords) -> Dataset:
    """Disposition: consent and randomization milestones, screen failure, end of treatment and study."""
    data = Dataset(
        "DS",
        "Disposition",
        "SDTM",
        "EVENTS",
        "One record per disposition status or protocol milestone",
        ("STUDYID", "USUBJID", "DSDECOD", "DSSTDTC"),
        DS_VARIABLES,
        [],
        "Source: subjects (consent, screen failure, coded end of treatment and end of study) "
        "and allocations.",
    )
    for subject in records.subjects:
        sid = int(subject["id"])
        for term, decod, cat, scat, day in _ds_events(subject):
            data.rows.append(
                _base(records, "DS", sid)
                | {
                    "DSTERM": term,
                    "DSDECOD": decod,
                    "DSCAT": cat,
                    "DSSCAT": scat,
                    "EPOCH": epoch(records, sid, day),
                    "DSSTDTC": iso(day),
                    "DSSTDY": study_day(day, _rfstdt(records, sid)),
                }
            )
    number_sequence(data, "DSSEQ", ("DSSTDTC", "DSDECOD"))
    return data


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
            _base(records, "EX", sid)
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
                "EXSTDY": study_day(row["date"], _rfstdt(records, sid)),
            }
        )
    for row in records.rt_fractions:
        sid = int(row["subject_id"])
        item = interventions.get(row["intervention"])
        data.rows.append(
            _base(records, "EX", sid)
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
                "EXSTDY": study_day(row["date"], _rfstdt(records, sid)),
            }
        )
    number_sequence(data, "EXSEQ", ("EXSTDTC", "EXTRT", "VISIT"))
    return data


AE_VARIABLES = (
    *identifiers("AE"),
    var("AESPID", "Sponsor-Defined Identifier", origin="Assigned", source="adverse_events.id"),
    var(
        "AETERM",
        "Reported Term for the Adverse Event",
        required=True,
        source="adverse_events.verbatim (else term)",
    ),
    var("AEDECOD", "Dictionary-Derived Term", required=True, source="adverse_events.term (CTCAE v5.0 term)"),
    var("AEBODSYS", "Body System or Organ Class", source="adverse_events.soc (CTCAE v5.0 SOC)"),
    var(
        "AESEV",
        "Severity/Intensity",
        origin="Derived",
        codelist="AESEV",
        method="CTCAE grade 1 MILD, 2 MODERATE, 3-5 SEVERE",
    ),
    var("AETOXGR", "Standard Toxicity Grade", codelist="AETOXGR", source="adverse_events.grade"),
    var("AESER", "Serious Event", codelist="NY", source="adverse_events.serious"),
    *(
        var(flag, label, codelist="NY", source="adverse_events.sae_criteria")
        for flag, label in (
            ("AESDTH", "Results in Death"),
            ("AESLIFE", "Is Life Threatening"),
            ("AESHOSP", "Requires or Prolongs Hospitalization"),
            ("AESDISAB", "Persist or Signif Disability/Incapacity"),
            ("AESCONG", "Congenital Anomaly or Birth Defect"),
            ("AESMIE", "Other Medically Important Serious Event"),
        )
    ),
    var(
        "AEREL",
        "Causality",
        origin="Derived",
        codelist="AEREL",
        method="RELATED when any component is attributed at a level the protocol counts as related "
        "(domain/safety/stopping_rules.is_treatment_related); per component in SUPPAE",
    ),
    var("AEACN", "Action Taken with Study Treatment", codelist="ACN", source="adverse_events.action_taken"),
    var("AEOUT", "Outcome of Adverse Event", codelist="OUT", source="adverse_events.outcome"),
    var("EPOCH", "Epoch", origin="Derived", codelist="EPOCH", method="Epoch of AESTDTC"),
    var("AESTDTC", "Start Date/Time of Adverse Event", required=True, source="adverse_events.onset_date"),
    var("AEENDTC", "End Date/Time of Adverse Event", source="adverse_events.resolution_date"),
    var("AESTDY", "Study Day of Start of Adverse Event", "integer", "Derived", method="Study day of AESTDTC"),
)


def _severity(grade: int) -> str:
    return {1: "MILD", 2: "MODERATE"}.get(grade, "SEVERE")


def ae(records: TrialRecords) -> tuple[Dataset, Dataset]:
    """Adverse events (one row per episode) and SUPPAE (attribution to each treatment component)."""
    data = Dataset(
        "AE",
        "Adverse Events",
        "SDTM",
        "EVENTS",
        "One record per adverse event episode",
        ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC"),
        AE_VARIABLES,
        [],
        "Source: adverse_events (CTCAE v5.0 term and grade; each grade change a new episode).",
    )
    policy = records.protocol.attribution
    supp: list[tuple[int, Row]] = []
    for row in records.adverse_events:
        sid = int(row["subject_id"])
        criteria = set(row.get("sae_criteria") or [])
        serious = row.get("serious")
        verbatim = split_text(str(row.get("verbatim") or row["term"]))
        data.rows.append(
            _base(records, "AE", sid)
            | {
                "AESPID": str(row["id"]),
                "AETERM": verbatim[0],
                "AEDECOD": row["term"],
                "AEBODSYS": row.get("soc"),
                "AESEV": _severity(int(row["grade"])),
                "AETOXGR": str(row["grade"]),
                "AESER": _yn(serious),
            }
            | {
                flag: (("Y" if key in criteria else "N") if serious else None)
                for key, flag in SAE_FLAGS.items()
            }
            | {
                "AEREL": "RELATED" if is_treatment_related(_Attributed(row), policy) else "NOT RELATED",
                "AEACN": _upper(row.get("action_taken")),
                "AEOUT": AE_OUTCOMES.get(str(row.get("outcome"))),
                "EPOCH": epoch(records, sid, row["onset_date"]),
                "AESTDTC": iso(row["onset_date"]),
                "AEENDTC": iso(row.get("resolution_date")),
                "AESTDY": study_day(row["onset_date"], _rfstdt(records, sid)),
            }
        )
        supp.extend((int(row["id"]), qualifier) for qualifier in _attributions(records.protocol, row))
        supp.extend(
            (
                int(row["id"]),
                {"QNAM": f"AETERM{n}", "QLABEL": f"Reported Term for the AE, part {n + 1}", "QVAL": piece},
            )
            for n, piece in enumerate(verbatim[1:], start=1)
        )
    number_sequence(data, "AESEQ", ("AESTDTC", "AEDECOD", "AESPID"))
    return data, _suppae(records, data, supp)


class _Attributed:
    def __init__(self, row: Row) -> None:
        self.attributions: dict[str, Any] | None = row.get("attributions")


def _upper(value: Any) -> str | None:
    if value is None:
        return None
    return {"dose_not_changed": "DOSE NOT CHANGED", "not_applicable": "NOT APPLICABLE"}.get(
        str(value), str(value).replace("_", " ").upper()
    )


SUPP_VARIABLES = (
    var("STUDYID", "Study Identifier", origin="Assigned", required=True),
    var("RDOMAIN", "Related Domain Abbreviation", origin="Assigned", required=True),
    var("USUBJID", "Unique Subject Identifier", origin="Derived", required=True, method="STUDYID-SUBJID"),
    var("IDVAR", "Identifying Variable", origin="Assigned"),
    var("IDVARVAL", "Identifying Variable Value", origin="Derived", method="The parent record's --SEQ"),
    var("QNAM", "Qualifier Variable Name", origin="Assigned", required=True),
    var("QLABEL", "Qualifier Variable Label", origin="Assigned", required=True),
    var("QVAL", "Data Value", required=True, source="adverse_events.attributions / adverse_events.verbatim"),
    var("QORIG", "Origin", origin="Assigned", required=True),
)


def _attributions(protocol: Protocol, row: Row) -> list[Row]:
    """SUPPAE qualifiers of one AE's attribution per treatment component: AERELn, n the component's
    order in the protocol's interventions."""
    names = {i.id: i.name for i in protocol.interventions}
    out = []
    for component, level in sorted((row.get("attributions") or {}).items()):
        index = list(names).index(component) + 1 if component in names else 0
        out.append(
            {
                "QNAM": f"AEREL{index}",
                "QLABEL": f"Causality: {names.get(component, component)}"[:40],
                "QVAL": str(level).upper(),
            }
        )
    return out


def _suppae(records: TrialRecords, parent: Dataset, items: list[tuple[int, Row]]) -> Dataset:
    seq = {row["AESPID"]: row for row in parent.rows}
    rows = []
    for ae_id, item in items:
        parent_row = seq[str(ae_id)]
        rows.append(
            {
                "STUDYID": records.study_id,
                "RDOMAIN": "AE",
                "USUBJID": parent_row["USUBJID"],
                "IDVAR": "AESEQ",
                "IDVARVAL": str(parent_row["AESEQ"]),
                "QORIG": "CRF",
            }
            | item
        )
    rows.sort(key=lambda r: (r["USUBJID"], int(r["IDVARVAL"]), r["QNAM"]))
    return Dataset(
        "SUPPAE",
        "Supplemental Qualifiers for AE",
        "SDTM",
        "RELATIONSHIP",
        "One record per IDVARVAL per QNAM",
        ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        SUPP_VARIABLES,
        rows,
        "Investigator attribution of each AE to each treatment component (AERELn: "
        "n is the component's order in the protocol's interventions); AETERM1, AETERM2, ...: the reported "
        "term's characters after the first 200 (SDTMIG v3.4 s4.5.3.2).",
    )


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
            _base(records, "LB", sid)
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
                "LBDY": study_day(row["collected_date"], _rfstdt(records, sid)),
            }
        )
    number_sequence(data, "LBSEQ", ("LBDTC", "LBTESTCD", "LBSPID"))
    return data
