"""SDTM DM, DS and SE from the subject, site and allocation rows and the demographics form (SDTMIG v3.4).

DM has one row per screened subject (screen failures with ARMNRS); DS holds the consent and
randomization milestones, the screen failure and the coded end of treatment and end of study; SE the
trial elements (TE, TA) each subject passed through with their dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from trialdesk.analysis.cdisc.model import Dataset, Row, iso, number_sequence, study_day
from trialdesk.analysis.cdisc.records import TrialRecords
from trialdesk.analysis.cdisc.sdtm import (
    SEX,
    arm_label,
    as_date,
    base_row,
    epoch,
    identifiers,
    reference_start,
    var,
)
from trialdesk.analysis.cdisc.trial_design import FOLLOW_UP_ELEMENT, SCREENING_ELEMENT, treatment_element
from trialdesk.domain.disposition import CDISC_TERMS


def _sex(records: TrialRecords, subject: Row) -> str:
    demographics = records.subject_form(int(subject["id"]), "demographics")
    raw = demographics.values.get("sex") if demographics else None
    raw = raw or (subject.get("patient_record") or {}).get("sex")
    return SEX.get(str(raw).lower(), "U") if raw else "U"


def _birth_date(records: TrialRecords, subject: Row) -> dt.date | None:
    demographics = records.subject_form(int(subject["id"]), "demographics")
    raw = demographics.values.get("birth_date") if demographics else None
    return as_date(raw or (subject.get("patient_record") or {}).get("birth_date"))


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
            base_row(records, "DM", sid)
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
                "ARM": arm_label(records.protocol, arm),
                "ACTARMCD": arm if treated else None,
                "ACTARM": arm_label(records.protocol, arm) if treated else None,
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
                base_row(records, "DS", sid)
                | {
                    "DSTERM": term,
                    "DSDECOD": decod,
                    "DSCAT": cat,
                    "DSSCAT": scat,
                    "EPOCH": epoch(records, sid, day),
                    "DSSTDTC": iso(day),
                    "DSSTDY": study_day(day, reference_start(records, sid)),
                }
            )
    number_sequence(data, "DSSEQ", ("DSSTDTC", "DSDECOD"))
    return data


SE_VARIABLES = (
    *identifiers("SE"),
    var("ETCD", "Element Code", origin="Derived", required=True, method="TE.ETCD of the element"),
    var("ELEMENT", "Description of Element", origin="Derived", method="TE.ELEMENT of the element"),
    var(
        "TAETORD",
        "Planned Order of Element within Arm",
        "integer",
        "Derived",
        method="TA.TAETORD of the element in the subject's arm; null for a subject assigned to no arm",
    ),
    var("EPOCH", "Epoch", origin="Derived", codelist="EPOCH", method="TA.EPOCH of the element"),
    var(
        "SESTDTC",
        "Start Date/Time of Element",
        required=True,
        origin="Derived",
        method="SCRN: informed consent (else the screening date); TRTn: first dose (RFXSTDTC); "
        "FU: last dose (RFXENDTC), the end of the treatment element",
    ),
    var(
        "SEENDTC",
        "End Date/Time of Element",
        origin="Derived",
        method="The start of the next element (no gaps, SDTMIG v3.4 SE assumption 8); SCRN of a subject "
        "never treated: enrolment or screen failure; FU: end of study, death or last known alive, at "
        "the cut-off at the latest; null while the element goes on",
    ),
    var("SESTDY", "Study Day of Start of Element", "integer", "Derived", method="SESTDTC - RFSTDTC (+1)"),
    var("SEENDY", "Study Day of End of Element", "integer", "Derived", method="SEENDTC - RFSTDTC (+1)"),
)

Element = tuple[str, str, int | None, str, dt.date, dt.date | None]
"""(ETCD, ELEMENT, TAETORD, EPOCH, start, end) of one element a subject passed through."""


def subject_elements(records: TrialRecords, subject: Row) -> list[Element]:
    """The elements of TE that ``subject`` passed through, in order, contiguous (each one ends when the
    next starts, SDTMIG v3.4 SE assumption 8): screening from informed consent (else the screening
    date), the arm's treatment from the first dose to the last, follow-up from the last dose to the
    end of study, death or last known alive (at the cut-off at the latest). An element still going on
    has no end; a subject with neither consent nor screening date has none."""
    begun = as_date(subject.get("consent_date")) or as_date(subject.get("screening_date"))
    if begun is None:
        return []
    arm = subject.get("arm_id")
    first, last = as_date(subject.get("treatment_start_date")), as_date(subject.get("treatment_end_date"))
    if arm is not None and first is not None:  # treated
        screening_end: dt.date | None = first
    elif subject.get("status") == "screen_failed":
        screening_end = as_date(subject.get("status_date")) or as_date(subject.get("screening_date"))
    else:
        screening_end = as_date(subject.get("enrolled_at"))  # enrolled, not yet treated; else screening
    order = 1 if arm is not None else None  # TAETORD only within the subject's arm (assumption 6)
    elements: list[Element] = [(SCREENING_ELEMENT, "Screening", order, "SCREENING", begun, screening_end)]
    if arm is not None and first is not None:
        code, name = treatment_element(records.protocol, str(arm))
        elements.append((code, name, 2, "TREATMENT", first, last))
        if last is not None:
            elements.append(
                (FOLLOW_UP_ELEMENT, "Follow-up", 3, "FOLLOW-UP", last, _rfpendt(subject, records.cutoff))
            )
    return elements


def se(records: TrialRecords) -> Dataset:
    """Subject elements: the elements of TE each subject passed through, with their dates."""
    data = Dataset(
        "SE",
        "Subject Elements",
        "SDTM",
        "SPECIAL PURPOSE",
        "One record per actual Element per subject",
        ("STUDYID", "USUBJID", "ETCD", "SESTDTC"),
        SE_VARIABLES,
        [],
        "Source: subjects (consent, screening, enrolment, first and last dose, end of study) and the "
        "protocol's arms (TE, TA).",
    )
    for subject in records.subjects:
        sid = int(subject["id"])
        reference = reference_start(records, sid)
        for order, (code, name, planned, epoch_name, start, end) in enumerate(
            subject_elements(records, subject), start=1
        ):
            data.rows.append(
                base_row(records, "SE", sid)
                | {
                    "SESEQ": order,  # chronological within the subject (assumption 5)
                    "ETCD": code,
                    "ELEMENT": name,
                    "TAETORD": planned,
                    "EPOCH": epoch_name,
                    "SESTDTC": iso(start),
                    "SEENDTC": iso(end),
                    "SESTDY": study_day(start, reference),
                    "SEENDY": study_day(end, reference),
                }
            )
    data.rows.sort(key=lambda r: (str(r["USUBJID"]), int(r["SESEQ"])))
    return data
