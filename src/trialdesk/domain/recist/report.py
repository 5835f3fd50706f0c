"""Results of a response derivation: one record per time point and the patient-level summary."""

from __future__ import annotations

import datetime as dt

from trialdesk.domain.common import FrozenModel
from trialdesk.domain.recist.new_lesions import NewLesionStatus
from trialdesk.domain.recist.settings import ResponseSettings, Rules
from trialdesk.domain.recist.timepoint import NonTargetResponse, TargetResponse


class TimePointResponse(FrozenModel):
    """One follow-up time point.

    ``sum_mm`` is the target sum of diameters (``None`` when a target was not assessed; the sum of
    those measured is ``measured_sum_mm``); percentages are relative to the baseline sum and to the
    nadir before this time point. ``target`` / ``non_target`` are ``None`` without such disease at
    baseline. ``overall`` uses RECIST 1.1 names (CR, PR, SD, NON-CR/NON-PD, PD, NE) or iRECIST
    names (iCR, iPR, iSD, NON-iCR/NON-iUPD, iUPD, iCPD, NE).
    """

    date: dt.date
    sum_mm: float | None
    measured_sum_mm: float | None
    pct_from_baseline: float | None
    pct_from_nadir: float | None
    nadir_mm: float | None
    missing_targets: list[str]
    target: TargetResponse | None
    non_target: NonTargetResponse | None
    new_lesion: NewLesionStatus
    new_target_som_mm: float | None = None
    overall: str
    notes: list[str]


class Recist11Summary(FrozenModel):
    """The RECIST 1.1 result reported beside an iRECIST derivation (Seymour 2017)."""

    best_overall_response: str
    progression_date: dt.date | None


class ResponseReport(FrozenModel):
    """Patient-level result: time points, best overall response and the dates endpoints need.

    ``progression_date`` is the PFS event date: the first PD under RECIST 1.1 (dated back to the
    first scan of a confirmed equivocal new lesion); under iRECIST the iUPD date of a confirmed
    iCPD. ``unconfirmed_progression_date`` is an iUPD still awaiting confirmation at the last
    assessment. ``response_start_date`` is the first documented CR/PR of the best response (start of
    the duration of response, RECIST 1.1 s4.5).
    """

    rules: Rules
    settings: ResponseSettings
    baseline_date: dt.date
    baseline_sum_mm: float | None
    time_points: list[TimePointResponse]
    best_overall_response: str
    best_overall_response_date: dt.date | None
    confirmed: bool | None
    response_start_date: dt.date | None
    progression_date: dt.date | None
    unconfirmed_progression_date: dt.date | None = None
    recist11: Recist11Summary | None = None
