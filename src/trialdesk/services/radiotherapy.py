"""Use cases of radiotherapy delivery: record a fraction, end a course, and each course's delivery
(dose, overall time, BED/EQD2, deviation class; :mod:`trialdesk.domain.rt_delivery`), with the
BED10/EQD2(10) corrected for repopulation over the delivered overall time beside them when the
protocol's ``rt_quality.time_correction`` is enabled.

A fraction is refused, naming the field, when it cannot be true: a course not in the subject's arm, a
dose outside (0, 2 x the prescribed dose per fraction] (most often cGy typed as Gy), a date in the
future, before enrolment or after death, or a fraction number beyond the prescription plus 5.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import RtCourseOutcome, RtFraction, Subject
from trialdesk.domain.protocol.model import Protocol, RadiotherapyIntervention
from trialdesk.domain.radiobiology import Course
from trialdesk.domain.roles import Capability
from trialdesk.domain.rt_delivery import (
    CourseDelivery,
    DeliveredFraction,
    QualityThresholds,
    summarise_course,
)
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_event_date, check_free_text
from trialdesk.services.errors import Conflict, InvalidInput

EXTRA_FRACTIONS = 5
"""Fraction numbers up to the prescription plus this many (boost or replacement fractions)."""
CourseEnd = Literal["completed", "stopped_early"]


@dataclass(frozen=True)
class FractionInput:
    """One fraction as entered: the course (RT intervention id), its number, date, dose (Gy), target."""

    intervention: str
    fraction_number: int
    date: dt.date
    dose_gy: float
    target: str | None = None


def _course(protocol: Protocol, subject: Subject, intervention: str) -> RadiotherapyIntervention:
    arm = next((a for a in protocol.design.arms if a.id == subject.arm_id), None)
    if arm is None:
        raise Conflict("radiotherapy is recorded for subjects with an arm", rule="subject_status")
    course = next(
        (
            i
            for i in protocol.interventions
            if isinstance(i, RadiotherapyIntervention) and i.id == intervention
        ),
        None,
    )
    if course is None or intervention not in arm.interventions:
        raise InvalidInput(
            f"'{intervention}' is not a radiotherapy course of arm {arm.id}", field="intervention"
        )
    return course


def _check_fraction(course: RadiotherapyIntervention, subject: Subject, data: FractionInput) -> None:
    check_event_date(subject, "date", data.date, after_start=False)
    enrolled = subject.enrolled_at.date() if subject.enrolled_at else None
    if enrolled is not None and data.date < enrolled:
        raise InvalidInput(f"date {data.date} is before the enrolment on {enrolled}", field="date")
    prescribed = course.dose_per_fraction_gy.value
    if not 0 < data.dose_gy <= 2 * prescribed:
        raise InvalidInput(
            f"{data.dose_gy:g} Gy is outside (0, {2 * prescribed:g}] Gy for a {prescribed:g} Gy fraction: "
            "enter Gy, not cGy",
            field="dose_gy",
        )
    limit = course.fractions.value + EXTRA_FRACTIONS
    if not 1 <= data.fraction_number <= limit:
        raise InvalidInput(
            f"fraction number {data.fraction_number} is outside 1-{limit}", field="fraction_number"
        )
    check_free_text("target", data.target)


def record_fraction(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, data: FractionInput
) -> RtFraction:
    """Record (or, with a reason, correct) one delivered fraction."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    course = _course(protocol, subject, data.intervention)
    _check_fraction(course, subject, data)
    row = session.scalars(
        select(RtFraction).where(
            RtFraction.subject_id == subject.id,
            RtFraction.intervention == course.id,
            RtFraction.fraction_number == data.fraction_number,
        )
    ).one_or_none()
    if row is None:
        row = RtFraction(
            subject_id=subject.id,
            intervention=course.id,
            fraction_number=data.fraction_number,
            entered_by=actor.username,
            created_at=clock.now(),
        )
        session.add(row)
    row.date, row.dose_gy = data.date, data.dose_gy
    row.target = (data.target or course.target)[:200]
    session.flush()
    return row


def end_course(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    intervention: str,
    outcome: CourseEnd,
    date: dt.date,
    reason: str | None,
) -> RtCourseOutcome:
    """Record that a course was completed or stopped early (a reason is required to stop early)."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    course = _course(protocol, subject, intervention)
    check_event_date(subject, "date", date)
    check_free_text("reason", reason)
    if outcome == "stopped_early" and not (reason and reason.strip()):
        raise InvalidInput("a course stopped early needs the reason", field="reason")
    row = session.scalars(
        select(RtCourseOutcome).where(
            RtCourseOutcome.subject_id == subject.id, RtCourseOutcome.intervention == course.id
        )
    ).one_or_none()
    if row is None:
        row = RtCourseOutcome(
            subject_id=subject.id, intervention=course.id, entered_by=actor.username, created_at=clock.now()
        )
        session.add(row)
    row.outcome, row.date, row.reason = outcome, date, (reason or "").strip() or None
    session.flush()
    return row


def thresholds(protocol: Protocol) -> QualityThresholds:
    """The protocol's RT quality thresholds."""
    q = protocol.rt_quality
    return QualityThresholds(
        q.dose_minor.value,
        q.dose_major.value,
        int(q.prolongation_minor_days.value),
        int(q.prolongation_major_days.value),
    )


Deliveries = dict[str, tuple[CourseDelivery, list[RtFraction], RtCourseOutcome | None]]


def delivery(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> Deliveries:
    """Each RT course of a subject the actor may see (404 otherwise): summary, fractions, ending."""
    return course_deliveries(
        session, protocol, visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    )


def course_deliveries(
    session: Session, protocol: Protocol, subject: Subject, cutoff: dt.date | None = None
) -> Deliveries:
    """Each RT course of the subject's arm: its delivery summary (fractions on or before ``cutoff``),
    the fractions and how the course ended."""
    arm = next((a for a in protocol.design.arms if a.id == subject.arm_id), None)
    courses = [
        i
        for i in protocol.interventions
        if isinstance(i, RadiotherapyIntervention) and arm is not None and i.id in arm.interventions
    ]
    result: Deliveries = {}
    for course in courses:
        fractions = [
            f
            for f in session.scalars(
                select(RtFraction)
                .where(RtFraction.subject_id == subject.id, RtFraction.intervention == course.id)
                .order_by(RtFraction.fraction_number)
            )
            if cutoff is None or f.date <= cutoff
        ]
        ended = session.scalars(
            select(RtCourseOutcome).where(
                RtCourseOutcome.subject_id == subject.id, RtCourseOutcome.intervention == course.id
            )
        ).one_or_none()
        if ended is not None and cutoff is not None and ended.date > cutoff:
            ended = None
        summary = summarise_course(
            Course(course.fractions.value, course.dose_per_fraction_gy.value),
            [DeliveredFraction(f.date, f.dose_gy, f.target) for f in fractions],
            thresholds(protocol),
            completed=ended is not None or len(fractions) >= course.fractions.value,
            time_factor=protocol.rt_quality.time_correction.factor,
        )
        result[course.id] = (summary, fractions, ended)
    return result
