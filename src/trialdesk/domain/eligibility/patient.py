"""The patient record screened for eligibility (the trialdesk patient JSON format).

The JSON Schema ``src/trialdesk/schemas/patient.schema.json`` is generated from :class:`PatientRecord`
and documented in ``docs/patient-format.md``.

Missing data is represented, never defaulted:

* an optional field that is absent (``null``) is *unknown*;
* for history lists (``prior_therapies``, ``investigational_drug_exposures``,
  ``other_malignancies``) an ABSENT key means unknown, an EMPTY list means "explicitly none";
* ``findings`` holds explicit presence (``true``) or absence (``false``) per code; a code that is
  not recorded is unknown.

Structural checks (types, ranges, required keys) happen here; checks that need the screening date
or the protocol (dates in the future, units, plausibility, vocabulary) are in
:mod:`trialdesk.domain.eligibility.validation`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from trialdesk.domain.common import FrozenModel, Sex
from trialdesk.domain.eligibility.rules import TherapyModality
from trialdesk.domain.labs.result import LabResult
from trialdesk.domain.measures import PG_SGA_MAX_TOTAL, PgSgaComponents
from trialdesk.domain.recist.measurability import BaselineLesion

SCHEMA_VERSION: Literal["1.0"] = "1.0"


class Diagnosis(FrozenModel):
    """The index cancer: histology, how it was confirmed, stage and disease setting."""

    histology: str | None = Field(
        default=None,
        description="Histology code, e.g. escc, escc_mixed, adenocarcinoma, other",
        min_length=1,
    )
    confirmation: Literal["histology", "cytology", "clinical"] | None = Field(
        default=None, description="How the diagnosis was confirmed"
    )
    stage: str | None = Field(default=None, description="Overall stage, e.g. IVB", min_length=1)
    m_stage: str | None = Field(default=None, description="M category, e.g. M0, M1", min_length=1)
    setting: list[str] | None = Field(
        default=None,
        description="Disease settings: unresectable_locally_advanced, postoperative_recurrent, metastatic",
    )


class PriorTherapy(FrozenModel):
    """One prior anti-tumour therapy (a line of systemic therapy, surgery, radiotherapy...).

    ``line`` numbers systemic lines; when absent, systemic therapies are numbered by start date.
    ``progression_date`` is when progression was documented on or after this therapy.
    """

    line: int | None = Field(default=None, ge=1)
    modality: TherapyModality
    intent: Literal["definitive", "palliative", "neoadjuvant", "adjuvant", "curative", "other"] | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    outcome: Literal["progression", "intolerance", "completed", "ongoing"] | None = None
    progression_date: dt.date | None = None
    for_esophageal_cancer: bool | None = Field(
        default=None, description="Given for the esophageal cancer (false: for another cancer)"
    )

    @model_validator(mode="after")
    def _dates_ordered(self) -> PriorTherapy:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        if self.start_date and self.progression_date and self.progression_date < self.start_date:
            raise ValueError(
                f"progression_date {self.progression_date} is before start_date {self.start_date}"
            )
        return self


class InvestigationalDrugExposure(FrozenModel):
    """Participation in another drug trial: the date of the last investigational dose."""

    last_dose_date: dt.date
    trial: str | None = Field(default=None, description="Trial name or registry id, for the record")


class OtherMalignancy(FrozenModel):
    """A malignancy other than the index esophageal cancer (type codes: protocol vocabulary)."""

    type: str = Field(min_length=1)
    diagnosis_date: dt.date | None = None
    status: Literal["cured", "active"] | None = None
    synchronous: bool = Field(default=False, description="A synchronous second primary cancer")


class PgSga(FrozenModel):
    """Scored PG-SGA (Ottery): either the component scores (preferred) or the total, not both."""

    total: int | None = Field(default=None, ge=0, le=PG_SGA_MAX_TOTAL)
    components: PgSgaComponents | None = None
    date: dt.date | None = None

    @model_validator(mode="after")
    def _one_form(self) -> PgSga:
        if (self.total is None) == (self.components is None):
            raise ValueError("give exactly one of 'total' or 'components'")
        return self


class Consent(FrozenModel):
    """Signed informed consent."""

    signed_date: dt.date


class Attestation(FrozenModel):
    """An investigator's recorded answer to an attestation criterion's question."""

    answer: bool
    by: str = Field(min_length=1, description="Who answered (name or identifier)")
    at: dt.datetime = Field(description="When the answer was recorded")
    role: str | None = Field(default=None, description="e.g. investigator, responsible_physician")


class PatientRecord(FrozenModel):
    """A patient's screening data (trialdesk patient JSON format, schema version 1.0)."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    id: str = Field(min_length=1, description="Screening identifier (no direct identifiers)")
    sex: Sex | None = None
    birth_date: dt.date | None = None
    screening_date: dt.date | None = Field(default=None, description="Evaluation date; overridable by --at")
    weight_kg: float | None = Field(default=None, gt=0, le=400, description="Actual body weight (kg)")
    diagnosis: Diagnosis = Field(default_factory=Diagnosis)
    ecog: int | None = Field(default=None, ge=0, le=5, description="ECOG performance status 0-5")
    expected_survival_months: float | None = Field(default=None, ge=0, le=600)
    labs: list[LabResult] = Field(default_factory=list)
    prior_therapies: list[PriorTherapy] | None = Field(default=None, description="absent: unknown; []: none")
    investigational_drug_exposures: list[InvestigationalDrugExposure] | None = Field(
        default=None, description="absent: unknown; []: none"
    )
    other_malignancies: list[OtherMalignancy] | None = Field(
        default=None, description="absent: unknown; []: none"
    )
    findings: dict[str, bool] = Field(
        default_factory=dict, description="finding code -> present (true) / absent (false)"
    )
    lesions: list[BaselineLesion] | None = Field(
        default=None, description="Baseline lesions; absent: unknown"
    )
    pg_sga: PgSga | None = None
    consent: Consent | None = None
    attestations: dict[str, Attestation] = Field(default_factory=dict, description="criterion id -> answer")
