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
    AuditRecord,
    EligibilityEvaluation,
    Site,
    Subject,
    TumourAssessment,
    TumourBaseline,
)
from trialdesk.analysis.snapshot import LOST_TO_FOLLOW_UP, WITHDRAWAL, DataIssue, ScreeningRecord
from trialdesk.domain.disposition import eos_label, eot_label
from trialdesk.domain.endpoints.model import SubjectEndpointData, TumourData
from trialdesk.domain.measures import age_in_years
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.recist.io import parse_response_input
from trialdesk.domain.subjects import SubjectStatus
from trialdesk.services.form_baseline import baseline_from_forms

NOT_ENROLLED = (SubjectStatus.screening.value, SubjectStatus.screen_failed.value)
STUDY_EXITS = {
    SubjectStatus.withdrawn.value: WITHDRAWAL,
    SubjectStatus.lost_to_follow_up.value: LOST_TO_FOLLOW_UP,
}
"""Subject statuses that end study participation (other than death) -> CONSORT "left the study" reason."""


def tumour_data(session: Session, subject_id: int) -> TumourData | None:
    """The stored baseline and follow-up scans of a subject (None without a baseline)."""
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
        "Age (years)": age_in_years(dt.date.fromisoformat(birth), subject.screening_date) if birth else None,
        "Sex": record.get("sex"),
        "ECOG performance status": str(record["ecog"]) if record.get("ecog") is not None else None,
        "Stage": diagnosis.get("stage"),
        "Histology": diagnosis.get("histology"),
    }


def _status_dates(session: Session, subject_ids: list[int], statuses: set[str]) -> dict[int, dt.date]:
    """Subject id -> date the subject's status was first set to one of ``statuses`` (the audit trail)."""
    if not subject_ids:
        return {}
    rows = session.execute(
        select(AuditRecord.subject_id, AuditRecord.at)
        .where(
            AuditRecord.table_name == "subjects",
            AuditRecord.field == "status",
            AuditRecord.new_value.in_(statuses),
            AuditRecord.subject_id.in_(subject_ids),
        )
        .order_by(AuditRecord.seq)
    )
    out: dict[int, dt.date] = {}
    for subject_id, at in rows:
        if subject_id is not None and subject_id not in out:
            out[subject_id] = at.date()
    return out


def endpoint_data(session: Session, protocol: Protocol) -> list[SubjectEndpointData]:
    """Every enrolled subject with an arm, as endpoint-derivation input (not-yet-randomized excluded)."""
    return endpoint_data_with_issues(session, protocol)[0]


def endpoint_data_with_issues(
    session: Session, protocol: Protocol
) -> tuple[list[SubjectEndpointData], list[DataIssue], dict[str, dt.date]]:
    """The subjects as :func:`endpoint_data`, the records that could not be read (with the reason) and
    the origin date of each of those records (screening number -> date).

    ``off_treatment_reason`` is the treatment-discontinuation reason (the coded end-of-treatment reason's
    words, else the free text); ``discontinuation_reason`` / ``discontinuation_date`` the end of study
    (the coded EOS reason and date; rows without one: the exit status, dated by the status change's
    clinical date ``status_date``, or, from before it existed, the day the change was recorded in the
    audit trail).
    """
    phases = {p.id: p for p in protocol.design.phases}
    sites = dict(
        session.execute(select(Site.id, Site.code).where(Site.protocol_id == protocol.id)).tuples().all()
    )
    allocations = {
        a.subject_id: a
        for a in session.scalars(select(Allocation).where(Allocation.protocol_id == protocol.id))
    }
    subjects = list(
        session.scalars(
            select(Subject)
            .where(Subject.protocol_id == protocol.id, Subject.status.not_in(NOT_ENROLLED))
            .order_by(Subject.id)
        )
    )
    exits = _status_dates(session, [s.id for s in subjects if s.status in STUDY_EXITS], set(STUDY_EXITS))
    from_forms = baseline_from_forms(session, protocol, [s.id for s in subjects])
    exits.update({s.id: s.status_date for s in subjects if s.status in STUDY_EXITS and s.status_date})
    out: list[SubjectEndpointData] = []
    issues: list[DataIssue] = []
    origins: dict[str, dt.date] = {}
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
        try:
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
                    off_treatment_reason=_off_treatment_reason(subject),
                    baseline_characteristics=_characteristics(subject) | from_forms.get(subject.id, {}),
                    tumour=tumour_data(session, subject.id),
                    death_date=subject.death_date,
                    last_known_alive_date=subject.last_known_alive_date,
                    new_anticancer_therapy_date=subject.new_anticancer_therapy_date,
                    discontinuation_date=subject.end_of_study_date or exits.get(subject.id),
                    discontinuation_reason=_study_exit_reason(subject),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
            origins[subject.screening_number] = origin
            issues.append(
                DataIssue(
                    subject_id=subject.screening_number,
                    phase_id=subject.phase_id,
                    arm=subject.arm_id,
                    reason=f"record not readable: {_first_line(exc)}",
                )
            )
    return out, issues, origins


def _off_treatment_reason(subject: Subject) -> str | None:
    """The CONSORT "discontinued treatment" reason: the coded EOT reason's words, else the free text."""
    if subject.end_of_treatment_reason:
        return eot_label(subject.end_of_treatment_reason)
    return subject.discontinuation_reason


def _study_exit_reason(subject: Subject) -> str | None:
    """The CONSORT "left the study" reason: the coded EOS reason's words, else the exit status's."""
    if subject.end_of_study_reason:
        return eos_label(subject.end_of_study_reason)
    return STUDY_EXITS.get(subject.status)


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else type(exc).__name__


def screening_records(session: Session, protocol: Protocol) -> list[ScreeningRecord]:
    """One :class:`ScreeningRecord` per screened patient: screening, enrolment (consent date, else the
    enrolment timestamp's date), randomization and screen-failure dates, and the criteria not met."""
    subjects = list(
        session.scalars(select(Subject).where(Subject.protocol_id == protocol.id).order_by(Subject.id))
    )
    allocations = {
        a.subject_id: a.allocated_at.date()
        for a in session.scalars(select(Allocation).where(Allocation.protocol_id == protocol.id))
    }
    labels = {c.id: f"{c.id}: {c.text.strip()}" for c in protocol.eligibility.criteria}
    records = []
    for subject in subjects:
        enrolled = subject.status not in NOT_ENROLLED and subject.enrolled_at is not None
        failure_date: dt.date | None = None
        failed: list[str] = []
        if subject.status == SubjectStatus.screen_failed.value:
            latest = session.scalars(
                select(EligibilityEvaluation)
                .where(EligibilityEvaluation.subject_id == subject.id)
                .order_by(EligibilityEvaluation.id.desc())
                .limit(1)
            ).first()
            failure_date = subject.status_date or (
                latest.evaluated_at.date() if latest is not None else subject.screening_date
            )
            if latest is not None and latest.verdict == "ineligible":
                failed = [labels.get(c["id"], c["id"]) for c in latest.criteria if c["status"] == "not_met"]
        records.append(
            ScreeningRecord(
                subject_id=subject.screening_number,
                screening_date=subject.screening_date,
                phase_id=subject.phase_id if enrolled else None,
                enrolment_date=(
                    subject.enrolled_at.date() if enrolled and subject.enrolled_at is not None else None
                ),
                randomization_date=allocations.get(subject.id),
                screen_failure_date=failure_date,
                failed_criteria=failed,
            )
        )
    return records


def consort_counts(session: Session, protocol: Protocol) -> dict[str, Any]:
    """CONSORT flow counts: screened, screen failures by criterion, enrolled/randomized by arm,
    treated, discontinued treatment and left the study with their (coded) reasons."""
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
            Counter(reason for s in enrolled if s.treatment_end_date and (reason := _off_treatment_reason(s)))
        ),
        "left_study_by_reason": dict(
            Counter(reason for s in enrolled if s.end_of_study_date and (reason := _study_exit_reason(s)))
        ),
    }
