"""Inputs and outputs of endpoint derivation (in the spirit of CDISC ADaM ADTTE / ADRS).

Input: one :class:`SubjectEndpointData` per subject, as the trial database knows it. Output: an
:class:`AnalysisDataset` with one :class:`TimeToEventRecord` per subject and time-to-event parameter
(PFS, OS, DOR, TTR) and one :class:`ResponseRecord` per subject. Every time-to-event record names the
rule that produced its date (``rule``), as ADTTE's ``EVNTDESC`` / ``CNSDTDSC`` do.

Times: ``aval_days`` is the number of days from ``start_date`` to ``event_or_censor_date``;
``aval_months = aval_days / 30.4375`` (365.25 / 12 days per month).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.recist import Assessment, Baseline, ResponseReport

DAYS_PER_MONTH = 30.4375
"""Average days per month (365.25 / 12): ``aval_months = aval_days / DAYS_PER_MONTH``."""

TteParam = Literal["PFS", "OS", "DOR", "TTR"]


class TumourData(FrozenModel):
    """A subject's tumour assessments as recorded: the RECIST baseline and every follow-up scan.

    The derivation runs the RECIST 1.1 / iRECIST engine on the scans dated on or before the data
    cut-off, so a report at a cut-off never depends on later scans (confirmation, back-dating of an
    equivocal new lesion).
    """

    baseline: Baseline
    assessments: list[Assessment] = Field(default_factory=list)


class SubjectEndpointData(FrozenModel):
    """What endpoint derivation needs to know about one enrolled subject (all dates calendar dates).

    * ``origin_date``: the time-zero of PFS and OS: enrolment (single-arm / run-in) or randomization.
    * ``strata``: randomization stratification factor id -> level (e.g. ``{"ecog": "0"}``).
    * ``treatment_start`` / ``treatment_end``: first and last dose (``None``: not treated / ongoing);
      ``off_treatment_reason`` why treatment ended.
    * ``tumour``: baseline and follow-up scans (``None``: no baseline tumour assessment).
    * ``death_date``, ``last_known_alive_date``: for OS.
    * ``new_anticancer_therapy_date``: start of the first subsequent anticancer therapy.
    * ``discontinuation_date`` / ``discontinuation_reason``: end of study participation.
    * ``baseline_characteristics``: e.g. ``{"age_years": 63, "sex": "male", "ecog": "1"}``.
    """

    subject_id: str = Field(min_length=1)
    arm: str
    phase_id: str
    strata: dict[str, str] = Field(default_factory=dict)
    site: str | None = None
    origin_date: dt.date
    treatment_start: dt.date | None = None
    treatment_end: dt.date | None = None
    off_treatment_reason: str | None = None
    baseline_characteristics: dict[str, str | float | int | None] = Field(default_factory=dict)
    tumour: TumourData | None = None
    death_date: dt.date | None = None
    last_known_alive_date: dt.date | None = None
    new_anticancer_therapy_date: dt.date | None = None
    discontinuation_date: dt.date | None = None
    discontinuation_reason: str | None = None

    @model_validator(mode="after")
    def _dates_ordered(self) -> SubjectEndpointData:
        if self.treatment_start and self.treatment_end and self.treatment_end < self.treatment_start:
            raise ValueError(f"subject {self.subject_id}: treatment_end is before treatment_start")
        if self.death_date and self.death_date < self.origin_date:
            raise ValueError(f"subject {self.subject_id}: death_date is before origin_date")
        if self.death_date and self.last_known_alive_date and self.last_known_alive_date > self.death_date:
            raise ValueError(f"subject {self.subject_id}: last_known_alive_date is after death_date")
        return self


class TimeToEventRecord(FrozenModel):
    """One subject's value of one time-to-event parameter (an ADTTE row).

    ``aval_days`` (days) and ``aval_months`` (months, days / 30.4375) run from ``start_date`` to
    ``event_or_censor_date``; ``event`` is ``True`` for an event, ``False`` for a censored time;
    ``rule`` says which rule produced the date, e.g. ``"event: RECIST progression"`` or
    ``"censored: new anticancer therapy before progression"``.
    """

    subject_id: str
    arm: str
    phase_id: str
    param: TteParam
    start_date: dt.date
    event_or_censor_date: dt.date
    aval_days: int = Field(ge=0)
    aval_months: float = Field(ge=0)
    event: bool
    rule: str


class ResponseRecord(FrozenModel):
    """One subject's best overall response (an ADRS BOR row).

    ``bor``: RECIST 1.1 (CR, PR, SD, NON-CR/NON-PD, PD, NE) or iRECIST names, ``MISSING`` without a
    post-baseline assessment, ``NO BASELINE`` without a baseline assessment. ``responder``: CR/PR,
    confirmed when the protocol requires confirmation. ``disease_control``: CR, PR, SD or
    NON-CR/NON-PD (SD meeting the protocol's minimum duration).
    """

    subject_id: str
    arm: str
    phase_id: str
    bor: str
    confirmed: bool | None
    responder: bool
    disease_control: bool
    response_start_date: dt.date | None = None
    progression_date: dt.date | None = None


class AnalysisDataset(FrozenModel):
    """Everything derived at one data cut-off: time-to-event and response records, plus each subject's
    RECIST report computed from the scans on or before the cut-off (for waterfall and spider plots).
    Subjects whose origin is after the cut-off are left out (``excluded_after_cutoff``)."""

    cutoff: dt.date
    time_to_event: list[TimeToEventRecord]
    responses: list[ResponseRecord]
    reports: dict[str, ResponseReport] = Field(default_factory=dict)
    subjects: list[SubjectEndpointData] = Field(default_factory=list)
    excluded_after_cutoff: list[str] = Field(default_factory=list)

    def records(self, param: TteParam) -> list[TimeToEventRecord]:
        """The time-to-event records of one parameter, in subject order."""
        return [record for record in self.time_to_event if record.param == param]

    def subject(self, subject_id: str) -> SubjectEndpointData:
        """The (cut-off-truncated) input of one subject (``KeyError`` if unknown)."""
        for subject in self.subjects:
            if subject.subject_id == subject_id:
                return subject
        raise KeyError(subject_id)
