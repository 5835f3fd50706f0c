"""Use cases of the lesions' radiotherapy fields: which baseline lesion lies in which RT field (course
and target), and the in-field / out-of-field (abscopal) response derived from them
(:mod:`trialdesk.domain.recist.field_response`).

The flags are set when RT is planned. They may be set and changed freely while the subject has had no
RT fraction or no follow-up tumour assessment; once both exist, any change (a new flag included) alters
responses already derived and is a correction that needs a reason. A flag names a baseline lesion of
the subject; an in-field lesion names a radiotherapy intervention of the subject's arm and, when given,
that course's protocol target (the course's target by default).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import LesionRtField, RtFraction, Subject, TumourAssessment, TumourBaseline
from trialdesk.domain.protocol.model import Protocol, RadiotherapyIntervention
from trialdesk.domain.recist.engine import assess_response
from trialdesk.domain.recist.errors import RecistInputError
from trialdesk.domain.recist.field_response import FieldResponse, FieldRule, field_response
from trialdesk.domain.recist.io import parse_response_input
from trialdesk.domain.recist.settings import ResponseSettings
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_free_text
from trialdesk.services.errors import Conflict, InvalidInput
from trialdesk.services.tumour import engine_input

PLANNING_REASON = "RT field planning (before RT and the first follow-up assessment)"
"""The audit reason of a change made while the flags are still open (no reason is asked then)."""


@dataclass(frozen=True)
class FieldInput:
    """One lesion's flag as entered: in an RT field or not, and which course (and target)."""

    lesion_id: str
    in_field: bool
    intervention: str | None = None
    target: str | None = None


def rt_courses(protocol: Protocol, subject: Subject) -> list[RadiotherapyIntervention]:
    """The radiotherapy interventions of the subject's arm (none without an arm)."""
    arm = next((a for a in protocol.design.arms if a.id == subject.arm_id), None)
    if arm is None:
        return []
    return [
        i
        for i in protocol.interventions
        if isinstance(i, RadiotherapyIntervention) and i.id in arm.interventions
    ]


def _baseline(session: Session, subject: Subject) -> TumourBaseline | None:
    return session.scalars(
        select(TumourBaseline).where(TumourBaseline.subject_id == subject.id)
    ).one_or_none()


def _assessments(session: Session, subject: Subject) -> list[TumourAssessment]:
    return list(session.scalars(select(TumourAssessment).where(TumourAssessment.subject_id == subject.id)))


def _rows(session: Session, subject: Subject) -> dict[str, LesionRtField]:
    rows = session.scalars(select(LesionRtField).where(LesionRtField.subject_id == subject.id))
    return {row.lesion_id: row for row in rows}


def locked(session: Session, subject: Subject) -> bool:
    """Whether the flags are fixed: the subject has both an RT fraction and a follow-up assessment."""
    fraction = session.scalars(
        select(RtFraction.id).where(RtFraction.subject_id == subject.id).limit(1)
    ).first()
    if fraction is None:
        return False
    return bool(_assessments(session, subject))


def _check_entry(
    index: int, entry: FieldInput, lesion_ids: set[str], courses: Sequence[RadiotherapyIntervention]
) -> tuple[str | None, str | None]:
    """The (intervention, target) to store for a valid entry; 422 naming the field otherwise."""
    field = f"fields[{index}]"
    if entry.lesion_id not in lesion_ids:
        raise InvalidInput(
            f"lesion '{entry.lesion_id}' is not a baseline lesion of this subject", field=f"{field}.lesion_id"
        )
    if not entry.in_field:
        if entry.intervention or entry.target:
            raise InvalidInput(
                "a lesion outside every RT field has no course or target", field=f"{field}.intervention"
            )
        return None, None
    course = next((c for c in courses if c.id == entry.intervention), None)
    if course is None:
        known = ", ".join(c.id for c in courses) or "none"
        raise InvalidInput(
            f"'{entry.intervention}' is not a radiotherapy course of the subject's arm (courses: {known})",
            field=f"{field}.intervention",
        )
    check_free_text(f"{field}.target", entry.target)
    target = (entry.target or "").strip() or course.target
    if target.casefold() != course.target.casefold():
        raise InvalidInput(
            f"'{target}' is not the protocol's target of {course.id} ('{course.target}')",
            field=f"{field}.target",
        )
    return course.id, course.target


def set_fields(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, entries: Sequence[FieldInput]
) -> list[LesionRtField]:
    """Set the RT-field flags of baseline lesions (audited; a reason once the flags are fixed)."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    baseline = _baseline(session, subject)
    if baseline is None:
        raise Conflict("record the baseline tumour assessment first", rule="baseline_first")
    if not entries:
        raise InvalidInput("give at least one lesion's flag", field="fields")
    courses = rt_courses(protocol, subject)
    if not courses:
        which = f"arm {subject.arm_id}" if subject.arm_id else "the subject (no arm yet)"
        raise Conflict(f"{which} has no radiotherapy course", rule="no_rt_course")
    lesion_ids = {str(lesion.get("id")) for lesion in baseline.lesions}
    ids = [entry.lesion_id for entry in entries]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a lesion is listed twice", field="fields")
    checked = [_check_entry(i, entry, lesion_ids, courses) for i, entry in enumerate(entries)]
    rows = _rows(session, subject)
    changes = [
        (entry, course, target)
        for entry, (course, target) in zip(entries, checked, strict=True)
        if _differs(rows.get(entry.lesion_id), entry.in_field, course, target)
    ]
    if changes and locked(session, subject) and not (session.info.get("reason") or "").strip():
        raise InvalidInput(
            "the subject has had radiotherapy and a follow-up assessment: changing a lesion's RT field "
            "is a correction and needs a reason",
            field="reason",
        )
    with audit_reason(session, PLANNING_REASON, keep_given=True):
        for entry, course, target in changes:
            _store(session, actor, subject, rows.get(entry.lesion_id), entry, course, target)
        session.flush()
    return sorted(_rows(session, subject).values(), key=lambda row: row.lesion_id)


def _differs(row: LesionRtField | None, in_field: bool, course: str | None, target: str | None) -> bool:
    return row is None or (row.in_field, row.intervention, row.target) != (in_field, course, target)


def _store(
    session: Session,
    actor: Actor,
    subject: Subject,
    row: LesionRtField | None,
    entry: FieldInput,
    course: str | None,
    target: str | None,
) -> None:
    if row is None:
        row = LesionRtField(
            subject_id=subject.id,
            lesion_id=entry.lesion_id,
            entered_by=actor.username,
            created_at=clock.now(),
        )
        session.add(row)
    row.in_field, row.intervention, row.target = entry.in_field, course, target


def subject_field_response(
    session: Session, protocol: Protocol, subject: Subject, cutoff: dt.date | None = None
) -> FieldResponse | None:
    """The subject's in-field / out-of-field response from the assessments on or before ``cutoff``
    (``None`` without a baseline or any flag)."""
    baseline = _baseline(session, subject)
    rows = _rows(session, subject)
    if baseline is None or not rows or (cutoff is not None and baseline.date > cutoff):
        return None
    settings = ResponseSettings.from_tumour_assessment(protocol.tumour_assessment)
    visits = [a for a in _assessments(session, subject) if cutoff is None or a.date <= cutoff]
    try:
        parsed = parse_response_input(engine_input(baseline, visits))
        report = assess_response(parsed.baseline, parsed.assessments, settings)
    except RecistInputError:
        return None
    return field_response(
        parsed.baseline,
        parsed.assessments,
        {lesion_id: row.in_field for lesion_id, row in rows.items()},
        FieldRule.from_tumour_assessment(protocol.tumour_assessment),
        too_small_mm=settings.too_small_mm,
        progression_date=report.progression_date,
    )


def field_view(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> dict[str, Any]:
    """Each baseline lesion with its flag, the courses of the arm, whether flags are fixed, the response."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    baseline = _baseline(session, subject)
    rows = _rows(session, subject)
    lesions = []
    for lesion in baseline.lesions if baseline is not None else []:
        row = rows.get(str(lesion.get("id")))
        lesions.append(
            {
                "lesion_id": str(lesion.get("id")),
                "site": lesion.get("site"),
                "role": lesion.get("role"),
                "nodal": bool(lesion.get("nodal")),
                "diameter_mm": lesion.get("diameter_mm"),
                "in_field": row.in_field if row else None,
                "intervention": row.intervention if row else None,
                "target": row.target if row else None,
                "entered_by": row.entered_by if row else None,
            }
        )
    response = subject_field_response(session, protocol, subject)
    return {
        "subject_id": subject.id,
        "locked": locked(session, subject),
        "courses": [{"id": c.id, "name": c.name, "target": c.target} for c in rt_courses(protocol, subject)],
        "lesions": lesions,
        "field_response": response.model_dump(mode="json") if response is not None else None,
    }


FIELD_RESPONSE_TITLE = "In-field and out-of-field (abscopal) response"


def _share(count: int, total: int) -> str:
    return f"{count} of {total} ({100 * count / total:.0f}%)" if total else "-"


def _median(values: Sequence[float | None]) -> str:
    present = [v for v in values if v is not None]
    return f"{statistics.median(present):+.1f}%" if present else "-"


def field_response_rows(
    session: Session, protocol: Protocol, by_arm: Mapping[str, Sequence[Subject]], cutoff: dt.date
) -> list[dict[str, str]]:
    """The report's table by arm: subjects with flagged lesions and with non-irradiated target lesions,
    out-of-field (abscopal) responses among the latter, in-field responses (best subset response CR or
    PR) among subjects with irradiated target lesions, and the median best % change of each subset's
    sum (assessments on or before ``cutoff``; an arm without flagged lesions has no row)."""
    rows: list[dict[str, str]] = []
    for arm in protocol.design.arms:
        responses = [subject_field_response(session, protocol, s, cutoff) for s in by_arm.get(arm.id, [])]
        found = [r for r in responses if r is not None]
        if not found:
            continue
        outside = [r for r in found if r.out_of_field.lesions]
        inside = [r for r in found if r.in_field.lesions]
        rows.append(
            {
                "Arm": arm.id,
                "Subjects with flagged lesions": str(len(found)),
                "Out-of-field responses": _share(sum(r.abscopal == "yes" for r in outside), len(outside)),
                "In-field responses (CR/PR)": _share(
                    sum(r.in_field.best_response in ("CR", "PR") for r in inside), len(inside)
                ),
                "Best change in field, median": _median([r.in_field.best_pct_from_baseline for r in inside]),
                "Best change out of field, median": _median(
                    [r.out_of_field.best_pct_from_baseline for r in outside]
                ),
            }
        )
    return rows
