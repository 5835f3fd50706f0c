"""A subject's visit calendar from the stored record (read use case).

The facts come from the subject row (arm, treatment start/end, death) and its tumour assessments
(dates, and the first RECIST progression by the protocol's response rules); the rules are
:mod:`trialdesk.domain.calendar`'s. Subjects without a treatment start have no calendar yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.models import (
    DrugAdministration,
    RtFraction,
    Subject,
    TumourAssessment,
    VisitRecord,
)
from trialdesk.domain.calendar import ScheduledVisit, SubjectCourse, calendar
from trialdesk.domain.endpoints.derivation import DerivationRules
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.recist import assess_response
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_event_date, check_free_text
from trialdesk.services.errors import Conflict, InvalidInput, NotFound
from trialdesk.services.subjects import list_subjects
from trialdesk.services.trial_data import tumour_data


def _progression(session: Session, protocol: Protocol, subject: Subject) -> dt.date | None:
    tumour = tumour_data(session, subject.id)
    if tumour is None:
        return None
    rules = DerivationRules.from_protocol(protocol)
    report = assess_response(tumour.baseline, tumour.assessments, rules.settings, rules.response_rules)
    return report.progression_date


def course_of(session: Session, protocol: Protocol, subject: Subject) -> SubjectCourse:
    """What the calendar of ``subject`` depends on; :class:`Conflict` before treatment starts."""
    if subject.treatment_start_date is None or subject.arm_id is None:
        raise Conflict(
            f"subject {subject.screening_number} has no treatment start yet: the calendar starts with it",
            rule="calendar_needs_treatment_start",
        )
    arm = next(a for a in protocol.design.arms if a.id == subject.arm_id)
    scans = session.scalars(select(TumourAssessment.date).where(TumourAssessment.subject_id == subject.id))
    doses = session.scalars(
        select(DrugAdministration).where(
            DrugAdministration.subject_id == subject.id, DrugAdministration.given_dose_mg > 0
        )
    ).all()
    cycles: dict[int, dt.date] = {}
    for dose in doses:
        cycles[dose.cycle] = min(dose.date, cycles.get(dose.cycle, dose.date))
    records = session.scalars(select(VisitRecord).where(VisitRecord.subject_id == subject.id)).all()
    first_fractions = session.execute(
        select(RtFraction.intervention, func.min(RtFraction.date))
        .where(RtFraction.subject_id == subject.id)
        .group_by(RtFraction.intervention)
    ).all()
    done = {f"RT-{course}": day for course, day in first_fractions}  # a course starts with its first fraction
    done.update({r.visit_id: r.date for r in records if r.status == "done" and r.date is not None})
    return SubjectCourse(
        arm_interventions=tuple(arm.interventions),
        treatment_start=subject.treatment_start_date,
        treatment_end=subject.treatment_end_date,
        last_dose=max((d.date for d in doses), default=None),
        progression=_progression(session, protocol, subject),
        death=subject.death_date,
        cycles_given=cycles,
        assessments=sorted(scans),
        visits_done=done,
        visits_missed={r.visit_id: r.reason or "" for r in records if r.status == "missed"},
        visits_not_required=frozenset(r.visit_id for r in records if r.status == "not_required"),
    )


def calendar_of(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> list[ScheduledVisit]:
    """The calendar of a subject the actor may see (404 otherwise), as of the trial clock's today."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    return calendar(protocol, course_of(session, protocol, subject), clock.today())


def subject_calendar(
    session: Session, actor: Actor | None, protocol: Protocol, screening_number: str
) -> tuple[Subject, list[ScheduledVisit]]:
    """The subject and its calendar as of the trial clock's today. ``actor`` None: a command-line
    operator with database access; otherwise the subject must be visible to the actor (404)."""
    subject = subject_repository.find_by_screening_number(session, protocol.id, screening_number)
    if subject is None:
        raise NotFound(f"no subject with screening number {screening_number} in {protocol.id}")
    if actor is not None:
        subject = visible_subject(session, actor, subject.id, protocol_id=protocol.id)
    return subject, calendar(protocol, course_of(session, protocol, subject), clock.today())


VisitOutcome = Literal["done", "missed", "not_required"]


def record_visit(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    visit_id: str,
    outcome: VisitOutcome,
    date: dt.date | None,
    reason: str | None,
) -> VisitRecord:
    """Record what happened to a scheduled visit: done on a date (a date outside the window needs a
    reason), missed or not required (with the reason)."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    visits = {v.visit_id: v for v in calendar(protocol, course_of(session, protocol, subject), clock.today())}
    visit = visits.get(visit_id)
    if visit is None:
        raise InvalidInput(f"'{visit_id}' is not a visit of this subject's calendar", field="visit_id")
    check_free_text("reason", reason)
    reason = reason.strip() if reason and reason.strip() else None
    if outcome == "done":
        if date is None:
            raise InvalidInput("a visit done needs its date", field="date")
        check_event_date(subject, "date", date, after_start=True)
        if not visit.in_window(date) and reason is None:
            raise InvalidInput(
                f"{date} is outside the window of {visit.label} "
                f"({visit.window_start} to {visit.window_end}): give the reason",
                field="reason",
            )
    else:
        if reason is None:
            raise InvalidInput(f"a visit {outcome.replace('_', ' ')} needs the reason", field="reason")
        date = None
    row = session.scalars(
        select(VisitRecord).where(VisitRecord.subject_id == subject.id, VisitRecord.visit_id == visit_id)
    ).one_or_none()
    if row is None:
        row = VisitRecord(
            subject_id=subject.id, visit_id=visit_id, entered_by=actor.username, created_at=clock.now()
        )
        session.add(row)
    row.status, row.date, row.reason = outcome, date, reason
    session.flush()
    return row


@dataclass(frozen=True)
class DueVisit:
    """A visit due soon or overdue, for the site's list."""

    subject_id: int
    screening_number: str
    site_id: int
    visit: ScheduledVisit


def due_visits(session: Session, actor: Actor, protocol: Protocol, within_days: int = 7) -> list[DueVisit]:
    """Visits of the subjects the user may see that are overdue (window passed, not done) or planned
    within the next ``within_days`` days, in date order."""
    if not 0 <= within_days <= 90:
        raise InvalidInput("within_days must be 0-90", field="within_days")
    today = clock.today()
    horizon = today + dt.timedelta(days=within_days)
    due: list[DueVisit] = []
    for subject in list_subjects(session, actor, protocol.id):
        if subject.treatment_start_date is None or subject.arm_id is None:
            continue
        for visit in calendar(protocol, course_of(session, protocol, subject), today):
            if visit.status == "overdue" or (visit.status == "planned" and visit.planned <= horizon):
                due.append(DueVisit(subject.id, subject.screening_number, subject.site_id, visit))
    return sorted(due, key=lambda d: (d.visit.planned, d.screening_number, d.visit.visit_id))
