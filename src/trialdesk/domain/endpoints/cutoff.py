"""Data cut-off: what the trial database knew on the cut-off date, and nothing after it.

Every date after the cut-off is dropped (a death, a scan, a new therapy, the end of treatment); a
subject whose origin is after the cut-off is not in the analysis at all. A subject known alive after
the cut-off (or who died after it) is known alive *at* the cut-off. The result depends only on the
input and the cut-off date, so re-running an analysis at the same cut-off gives the same numbers.
"""

from __future__ import annotations

import datetime as dt

from trialdesk.domain.endpoints.model import SubjectEndpointData, TumourData


def apply_cutoff(subject: SubjectEndpointData, cutoff: dt.date) -> SubjectEndpointData | None:
    """The subject as known on ``cutoff`` (``None`` when the origin date is after it)."""
    if subject.origin_date > cutoff:
        return None
    tumour = _tumour_at(subject.tumour, cutoff)
    treatment_start = _on_or_before(subject.treatment_start, cutoff)
    ended = (
        treatment_start is not None and subject.treatment_end is not None and subject.treatment_end <= cutoff
    )
    died = subject.death_date is not None and subject.death_date <= cutoff
    alive_after = (subject.death_date is not None and not died) or (
        subject.last_known_alive_date is not None and subject.last_known_alive_date >= cutoff
    )
    if alive_after:
        last_alive: dt.date | None = cutoff
    else:
        last_alive = subject.last_known_alive_date
    discontinued = subject.discontinuation_date is None or subject.discontinuation_date <= cutoff
    return subject.model_copy(
        update={
            "tumour": tumour,
            "treatment_start": treatment_start,
            "treatment_end": subject.treatment_end if ended else None,
            "off_treatment_reason": subject.off_treatment_reason if ended else None,
            "death_date": subject.death_date if died else None,
            "last_known_alive_date": last_alive,
            "new_anticancer_therapy_date": _on_or_before(subject.new_anticancer_therapy_date, cutoff),
            "discontinuation_date": subject.discontinuation_date if discontinued else None,
            "discontinuation_reason": subject.discontinuation_reason if discontinued else None,
        }
    )


def _on_or_before(date: dt.date | None, cutoff: dt.date) -> dt.date | None:
    return date if date is not None and date <= cutoff else None


def _tumour_at(tumour: TumourData | None, cutoff: dt.date) -> TumourData | None:
    if tumour is None or tumour.baseline.date > cutoff:
        return None
    kept = [assessment for assessment in tumour.assessments if assessment.date <= cutoff]
    return TumourData(baseline=tumour.baseline, assessments=kept)
