"""A subject's visit calendar from the stored record (read use case).

The facts come from the subject row (arm, treatment start/end, death) and its tumour assessments
(dates, and the first RECIST progression by the protocol's response rules); the rules are
:mod:`trialdesk.domain.calendar`'s. Subjects without a treatment start have no calendar yet.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.models import Subject, TumourAssessment
from trialdesk.domain.calendar import ScheduledVisit, SubjectCourse, calendar
from trialdesk.domain.endpoints.derivation import DerivationRules
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.recist import assess_response
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import Conflict, NotFound
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
    return SubjectCourse(
        arm_interventions=tuple(arm.interventions),
        treatment_start=subject.treatment_start_date,
        treatment_end=subject.treatment_end_date,
        progression=_progression(session, protocol, subject),
        death=subject.death_date,
        assessments=sorted(scans),
    )


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
