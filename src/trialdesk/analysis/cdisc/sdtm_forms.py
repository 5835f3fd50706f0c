"""SDTM VS, MH and CM from the case report forms (``form_records`` / ``form_values``).

The product keeps vital signs, medical history and medications in forms of the protocol's forms file
(``protocols/forms/*.forms.yaml``): VS from ``vital_signs`` (one row per measured field) plus the height
and weight of ``demographics``; MH from ``medical_history``; CM from ``concomitant_medications`` and the
systemic regimens of ``prior_therapies``. A protocol without such a form gives an empty domain.
"""

from __future__ import annotations

from trialdesk.analysis.cdisc.model import Dataset, iso, number_sequence, study_day
from trialdesk.analysis.cdisc.records import TrialRecords
from trialdesk.analysis.cdisc.sdtm import (
    VS_DEFAULT_UNITS,
    VSTESTCD,
    as_date,
    base_row,
    epoch,
    identifiers,
    reference_start,
    var,
)

VS_VARIABLES = (
    *identifiers("VS"),
    var("VSTESTCD", "Vital Signs Test Short Name", required=True, origin="Assigned", codelist="VSTESTCD"),
    var("VSTEST", "Vital Signs Test Name", required=True, origin="Assigned", codelist="VSTEST"),
    var("VSORRES", "Result or Finding in Original Units", source="form vital_signs / demographics field"),
    var("VSORRESU", "Original Units", origin="Assigned", codelist="UNIT", source="the form field's unit"),
    var("VSSTRESC", "Character Result/Finding in Std Format", origin="Derived", method="VSORRES"),
    var(
        "VSSTRESN",
        "Numeric Result/Finding in Standard Units",
        "float",
        "Derived",
        method="VSORRES as a number",
    ),
    var("VSSTRESU", "Standard Units", origin="Assigned", codelist="UNIT"),
    var("VISIT", "Visit Name", source="form_records.visit_id"),
    var("EPOCH", "Epoch", origin="Derived", codelist="EPOCH", method="Epoch of VSDTC"),
    var(
        "VSDTC", "Date/Time of Measurements", source="vital_signs.measured_on (demographics: screening date)"
    ),
    var("VSDY", "Study Day of Vital Signs", "integer", "Derived", method="Study day of VSDTC"),
)


def vs(records: TrialRecords) -> Dataset:
    """Vital signs from the vital-signs form and the height and weight recorded at screening."""
    data = Dataset(
        "VS",
        "Vital Signs",
        "SDTM",
        "FINDINGS",
        "One record per vital sign measurement per visit",
        ("STUDYID", "USUBJID", "VSTESTCD", "VSDTC"),
        VS_VARIABLES,
        [],
        "Source: form_records of the vital_signs form and height/weight of the demographics form.",
    )
    sources = [(r, as_date(r.values.get("measured_on"))) for r in records.form_records("vital_signs")]
    for record in records.form_records("demographics"):
        screening = records.subject(record.subject_id).get("screening_date")
        sources.append((record, screening))
    for record, day in sources:
        sid = record.subject_id
        for field, (code, name) in VSTESTCD.items():
            value = record.values.get(field)
            if value is None or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            unit = VS_DEFAULT_UNITS[field]
            data.rows.append(
                base_row(records, "VS", sid)
                | {
                    "VSTESTCD": code,
                    "VSTEST": name,
                    "VSORRES": f"{value:g}",
                    "VSORRESU": unit,
                    "VSSTRESC": f"{value:g}",
                    "VSSTRESN": float(value),
                    "VSSTRESU": unit,
                    "VISIT": record.visit_id,
                    "EPOCH": epoch(records, sid, day),
                    "VSDTC": iso(day),
                    "VSDY": study_day(day, reference_start(records, sid)),
                }
            )
    number_sequence(data, "VSSEQ", ("VSDTC", "VSTESTCD"))
    return data


MH_VARIABLES = (
    *identifiers("MH"),
    var("MHTERM", "Reported Term for the Medical History", required=True, source="medical_history.condition"),
    var("MHSTDTC", "Start Date/Time of Medical History Event", source="medical_history.start_date"),
    var("MHENDTC", "End Date/Time of Medical History Event", source="medical_history.end_date"),
    var(
        "MHENRTPT",
        "End Relative to Reference Time Point",
        origin="Derived",
        method="ONGOING when the form's ongoing is true",
    ),
    var("MHENTPT", "End Reference Time Point", origin="Assigned"),
)


def mh(records: TrialRecords) -> Dataset:
    """Medical history from the repeating medical-history form."""
    data = Dataset(
        "MH",
        "Medical History",
        "SDTM",
        "EVENTS",
        "One record per medical history event",
        ("STUDYID", "USUBJID", "MHTERM", "MHSTDTC"),
        MH_VARIABLES,
        [],
        "Source: form_records of the medical_history form (log form, one record per condition).",
    )
    for record in records.form_records("medical_history"):
        condition = record.values.get("condition")
        if not condition:
            continue
        ongoing = record.values.get("ongoing") is True
        data.rows.append(
            base_row(records, "MH", record.subject_id)
            | {
                "MHTERM": str(condition),
                "MHSTDTC": iso(as_date(record.values.get("start_date"))),
                "MHENDTC": iso(as_date(record.values.get("end_date"))),
                "MHENRTPT": "ONGOING" if ongoing else None,
                "MHENTPT": "SCREENING" if ongoing else None,
            }
        )
    number_sequence(data, "MHSEQ", ("MHSTDTC", "MHTERM"))
    return data


CM_VARIABLES = (
    *identifiers("CM"),
    var(
        "CMTRT",
        "Reported Name of Drug, Med, or Therapy",
        required=True,
        source="concomitant_medications.name / prior_therapies.regimen",
    ),
    var("CMCAT", "Category for Medication", origin="Assigned"),
    var("CMCLASCD", "Medication Class Code", source="concomitant_medications.atc_code (WHO ATC)"),
    var("CMINDC", "Indication", source="concomitant_medications.indication"),
    var("CMSTDTC", "Start Date/Time of Medication", source="the form's start_date"),
    var("CMENDTC", "End Date/Time of Medication", source="stop_date / end_date"),
    var("CMENRTPT", "End Relative to Reference Time Point", origin="Derived", method="ONGOING when ongoing"),
    var("CMENTPT", "End Reference Time Point", origin="Assigned"),
)


def cm(records: TrialRecords) -> Dataset:
    """Concomitant medications and prior systemic anticancer regimens."""
    data = Dataset(
        "CM",
        "Concomitant/Prior Medications",
        "SDTM",
        "INTERVENTIONS",
        "One record per medication",
        ("STUDYID", "USUBJID", "CMTRT", "CMSTDTC"),
        CM_VARIABLES,
        [],
        "Source: form_records of the concomitant_medications form and regimens of the prior_therapies form.",
    )
    for record in records.form_records("concomitant_medications"):
        if not record.values.get("name"):
            continue
        ongoing = record.values.get("ongoing") is True
        data.rows.append(
            base_row(records, "CM", record.subject_id)
            | {
                "CMTRT": str(record.values["name"]),
                "CMCAT": "CONCOMITANT MEDICATION",
                "CMCLASCD": record.values.get("atc_code"),
                "CMINDC": record.values.get("indication"),
                "CMSTDTC": iso(as_date(record.values.get("start_date"))),
                "CMENDTC": iso(as_date(record.values.get("stop_date"))),
                "CMENRTPT": "ONGOING" if ongoing else None,
                "CMENTPT": "END OF STUDY" if ongoing else None,
            }
        )
    for record in records.form_records("prior_therapies"):
        if not record.values.get("regimen"):
            continue
        data.rows.append(
            base_row(records, "CM", record.subject_id)
            | {
                "CMTRT": str(record.values["regimen"]),
                "CMCAT": "PRIOR ANTICANCER THERAPY",
                "CMCLASCD": None,
                "CMINDC": None,
                "CMSTDTC": iso(as_date(record.values.get("start_date"))),
                "CMENDTC": iso(as_date(record.values.get("end_date"))),
                "CMENRTPT": None,
                "CMENTPT": None,
            }
        )
    number_sequence(data, "CMSEQ", ("CMSTDTC", "CMTRT"))
    return data
