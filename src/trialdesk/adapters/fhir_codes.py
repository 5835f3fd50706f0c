"""Code systems, codes and extension URLs used to read FHIR R4 screening bundles.

Standard systems (LOINC, UCUM, HL7 terminology) are used where a standard code exists; the
``urn:trialdesk:*`` systems are local code systems for concepts without a standard code (protocol
finding codes, disease setting, PG-SGA components...). ``docs/patient-format.md`` documents the
mapping resource by resource.
"""

from __future__ import annotations

from typing import Final

from trialdesk.domain.labs.catalogue import LabTest

# ---- standard code systems
LOINC: Final = "http://loinc.org"
SNOMED_CT: Final = "http://snomed.info/sct"
UCUM: Final = "http://unitsofmeasure.org"
CONDITION_VERIFICATION: Final = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CLINICAL: Final = "http://terminology.hl7.org/CodeSystem/condition-clinical"

# ---- LOINC codes
LOINC_LABS: Final[dict[str, LabTest]] = {
    "718-7": "hemoglobin",  # Hemoglobin [Mass/volume] in Blood
    "6690-2": "wbc",  # Leukocytes [#/volume] in Blood by Automated count
    "751-8": "anc",  # Neutrophils [#/volume] in Blood by Automated count
    "731-0": "lymphocytes",  # Lymphocytes [#/volume] in Blood by Automated count
    "777-3": "platelets",  # Platelets [#/volume] in Blood by Automated count
    "1751-7": "albumin",  # Albumin [Mass/volume] in Serum or Plasma
    "1742-6": "alt",  # Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma
    "1920-8": "ast",  # Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma
    "1975-2": "total_bilirubin",  # Bilirubin.total [Mass/volume] in Serum or Plasma
    "14631-6": "total_bilirubin",  # Bilirubin.total [Moles/volume] in Serum or Plasma
    "2160-0": "creatinine",  # Creatinine [Mass/volume] in Serum or Plasma
    "14682-9": "creatinine",  # Creatinine [Moles/volume] in Serum or Plasma
    "10230-1": "lvef",  # Left ventricular Ejection fraction
    "59260-0": "hemoglobin",  # Hemoglobin [Moles/volume] in Blood
    "2951-2": "sodium",  # Sodium [Moles/volume] in Serum or Plasma
    "2823-3": "potassium",  # Potassium [Moles/volume] in Serum or Plasma
    "29265-6": "calcium_corrected",  # Calcium [Moles/volume] corrected for albumin in Serum or Plasma
    "1994-3": "calcium_ionized",  # Calcium.ionized [Moles/volume] in Blood
    "19123-9": "magnesium",  # Magnesium [Mass/volume] in Serum or Plasma
    "6768-6": "alp",  # Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma
    "2324-2": "ggt",  # Gamma glutamyl transferase [Enzymatic activity/volume] in Serum or Plasma
}
LOINC_ECOG: Final = "89247-1"  # ECOG Performance Status score
LOINC_BODY_WEIGHT: Final = "29463-7"  # Body weight

# ---- local (trialdesk) code systems
TD_OBSERVATION: Final = "urn:trialdesk:observation"
"""Observation codes without a standard: expected-survival-months, pg-sga, baseline-lesion."""
OBS_EXPECTED_SURVIVAL: Final = "expected-survival-months"
OBS_PG_SGA: Final = "pg-sga"
OBS_BASELINE_LESION: Final = "baseline-lesion"
PG_SGA_COMPONENTS: Final = ("box1", "box2", "box3", "box4", "worksheet2", "worksheet3", "worksheet4")
LESION_COMPONENTS: Final = ("nodal", "regional-node", "station", "diameter", "method", "slice-thickness")

TD_HISTOLOGY: Final = "urn:trialdesk:histology"
TD_CONFIRMATION: Final = "urn:trialdesk:diagnosis-confirmation"
TD_STAGE: Final = "urn:trialdesk:stage"
TD_M_STAGE: Final = "urn:trialdesk:m-stage"
TD_SETTING: Final = "urn:trialdesk:disease-setting"
TD_FINDING: Final = "urn:trialdesk:finding"
TD_MALIGNANCY: Final = "urn:trialdesk:malignancy-type"
TD_THERAPY: Final = "urn:trialdesk:therapy-modality"
TD_MEDICATION_CATEGORY: Final = "urn:trialdesk:medication-category"
INVESTIGATIONAL_PRODUCT: Final = "investigational-product"
NONE_RECORDED: Final = "none"
"""Code of an explicit 'none' statement (refuted Condition / not-done Procedure / not-taken medication)."""

ATTESTATION_QUESTIONNAIRE: Final = "urn:trialdesk:questionnaire:eligibility-attestation"

# ---- extensions
EXT_BASE: Final = "urn:trialdesk:extension:"
EXT_THERAPY_LINE: Final = EXT_BASE + "therapy-line"  # valueInteger
EXT_THERAPY_INTENT: Final = EXT_BASE + "therapy-intent"  # valueCode
EXT_THERAPY_OUTCOME: Final = EXT_BASE + "therapy-outcome"  # valueCode
EXT_PROGRESSION_DATE: Final = EXT_BASE + "progression-date"  # valueDate
EXT_FOR_ESOPHAGEAL_CANCER: Final = EXT_BASE + "for-esophageal-cancer"  # valueBoolean
EXT_SYNCHRONOUS: Final = EXT_BASE + "synchronous"  # valueBoolean
EXT_ATTESTATION_ROLE: Final = EXT_BASE + "attestation-role"  # valueString

# ---- value sets mapped to the domain
GENDER_TO_SEX: Final = {"male": "male", "female": "female"}
CLINICAL_STATUS_TO_MALIGNANCY: Final[dict[str, str | None]] = {
    "active": "active",
    "recurrence": "active",
    "relapse": "active",
    "resolved": "cured",
    # remission / inactive do not say "completely cured": the status stays unknown
    "remission": None,
    "inactive": None,
}
WEIGHT_UNITS_TO_KG: Final = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237}
