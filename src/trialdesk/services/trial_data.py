"""Read the trial database into the inputs of endpoint derivation and the CONSORT flow.

The database is the source; this module only gathers (no rule lives here): one
:class:`~trialdesk.domain.endpoints.model.SubjectEndpointData` per analysable subject, and the
counts of the CONSORT diagram.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import (
    Allocation,
    EligibilityEvaluation,
    Site,
    Subject,
    TumourAssessment,
    TumourBaseline,
)
from trialdesk.domain.endpoints.model import SubjectEndpointData, TumourData
from trialdesk.domain.measures import age_in_years
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.recist.io import parse_response_input
from trialdesk.domain.subjects import SubjectStatus

NOT_ENROLLED = (SubjectStatus.screening.value, SubjectStatus.screen_failed.value)


def _tumour(session: Session, subject_id: int) -> TumourData | None:
    baseline = session.scalars(
        select(TumourBaseline).where(TumourBaseline.subject_id == subject_id)
    ).one_or_none()
    if baseline is None:
        return None
    rows = session.scalars(
        select(TumourAssessment)
        .where(TumourAssessment.subject_id == subject_id)
        .order_by(TumourAssessment.date)
    )
    parsed = parse_response_input(
        {
            "baseline": {"date": baseline.date.isoformat(), "lesions": baseline.lesions},
            "assessments": [
                {
                    "date": a.date.isoformat(),
                    "measurements": a.measurements,
                    "non_target": a.non_target,
                    "new_lesions": a.new_lesions,
                }
                for a in rows
            ],
        }
    )
    return TumourData(baseline=parsed.baseline, assessments=list(parsed.assessments))


def _characteristics(subject: Subject) -> dict[str, str | float | int | None]:
    record: dict[str, Any] = subject.patient_record
    birth = record.get("birth_date")
    diagnosis = record.get("diagnosis") or {}
    return {
        "age_years": age_in_years(dt.date.fromisoformat(birth), subject.screening_date) if birth else None,
        "sex": record.get("sex"),
        "ecog": str(record["ecog"]) if record.get("ecog") is not None else None,
        "stage": diagnosis.get("stage"),
        "histology": diagnosis.get("histology"),
    }


def endpoint_data(session: Session, protocol: Protocol) -> list[SubjectEndpointData]:
    """Every enrolled subject with an arm, as endpoint-derivation input (not-yet-randomized excluded)."""
    phases = {p.id: p for p in protocol.design.phases}
    sites = dict(
        session.execute(select(Site.id, Site.code).where(Site.protocol_id == protocol.id)).tuples().all()
    )
    allocations = {
        a.subject_id: a
        for a in session.scalars(select(Allocation).where(Allocation.protocol_id == protocol.id))
    }
    out = []
    subjects = session.scalars(
        select(Subject)
        .where(Subject.protocol_id == protocol.id, Subject.status.not_in(NOT_ENROLLED))
        .order_by(Subject.id)
    )
    for subject in subjects:
        if subject.phase_id is None or subject.arm_id is None or subject.enrolled_at is None:
            continue
        allocation = allocations.get(subject.id)
        randomized = phases[subject.phase_id].kind == "randomized"
        if randomized and allocation is None:
            continue
        origin = allocation.allocated_at.date() if randomized and allocation else subject.enrolled_at.date()
        strata = {
            k: str(v) for k, v in (allocation.strata_values if allocation else {}).items() if k != "site"
        }
        out.append(
            SubjectEndpointData(
                subject_id=subject.screening_number,
                arm=subject.arm_id,
                phase_id=subject.phase_id,
                strata=strata,
                site=sites.get(subject.site_id),
                origin_date=origin,
                treatment_start=subject.treatment_start_date,
                treatment_end=subject.treatment_end_date,
                off_treatment_reason=subject.discontinuation_reason,
                baseline_characteristics=_characteristics(subject),
                tumour=_tumour(session, subject.id),
                death_date=subject.death_date,
                last_known_alive_date=subject.last_known_alive_date,
                new_anticancer_therapy_date=subject.new_anticancer_therapy_date,
                discontinuation_reason=subject.discontinuation_reason,
            )
        )
    return out


def consort_counts(session: Session, protocol: Protocol) -> dict[str, Any]:
    """CONSORT flow counts: screened, screen failures by criterion, enrolled/randomized by arm,
    treated, discontinued with reasons."""
    subjects = list(session.scalars(select(Subject).where(Subject.protocol_id == protocol.id)))
    failures: Counter[str] = Counter()
    for subject in subjects:
        if subject.status not in NOT_ENROLLED:
            continue
        latest = session.scalars(
            select(EligibilityEvaluation)
            .where(EligibilityEvaluation.subject_id == subject.id)
            .order_by(EligibilityEvaluation.id.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.verdict == "ineligible":
            failures.update(c["id"] for c in latest.criteria if c["status"] == "not_met")
    enrolled = [s for s in subjects if s.status not in NOT_ENROLLED and s.phase_id]
    allocations = list(session.scalars(select(Allocation).where(Allocation.protocol_id == protocol.id)))
    return {
        "screened": len(subjects),
        "screen_failed": sum(1 for s in subjects if s.status == SubjectStatus.screen_failed.value),
        "screen_failures_by_criterion": dict(failures.most_common()),
        "still_screening": sum(1 for s in subjects if s.status == SubjectStatus.screening.value),
        "enrolled_by_phase": dict(Counter(s.phase_id for s in enrolled if s.phase_id)),
        "enrolled_by_arm": dict(Counter(s.arm_id or "not yet randomized" for s in enrolled)),
        "randomized_by_arm": dict(Counter(a.arm_id for a in allocations)),
        "treated_by_arm": dict(Counter(s.arm_id for s in enrolled if s.treatment_start_date and s.arm_id)),
        "discontinued_by_reason": dict(
            Counter(
                s.discontinuation_reason
                for s in enrolled
                if s.treatment_end_date and s.discontinuation_reason
            )
        ),
    }
