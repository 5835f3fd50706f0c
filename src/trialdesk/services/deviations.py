"""Protocol deviations: derived from the data and recorded by staff, listed per site.

Derived (computed every time, never stored, so they follow corrections of the data):

* ``visit_window``: a visit done out of its window (minor), ``missed_visit``: a visit missed (minor);
* ``dose``: a dose given outside the agent's tolerance (minor; an omission is also listed);
* ``radiotherapy``: an RT course classified as a minor or major deviation (:mod:`rt_delivery`);
* ``stratification``: an allocation whose stratum differs from the subject's record now (major);
* ``over_enrolment``: a subject enrolled beyond the phase's maximum size by the admin's override;
* ``consent``: a visit done without the re-consent a new consent version required (major;
  :mod:`trialdesk.services.consent`).

Recorded: any other deviation (eligibility, consent, procedures...) with its severity, date,
description and the action taken, entered by site staff or a monitor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.models import DrugAdministration, ProtocolDeviation, Subject
from trialdesk.domain.calendar import calendar
from trialdesk.domain.dosing import DEFAULT_TOLERANCE, needs_reason
from trialdesk.domain.protocol.model import DrugIntervention, Protocol
from trialdesk.domain.roles import Capability, Role
from trialdesk.services import clock, consent, radiotherapy
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.calendar import course_of
from trialdesk.services.clinical_dates import check_event_date, check_free_text
from trialdesk.services.errors import Conflict, InvalidInput, PermissionDenied
from trialdesk.services.randomization import record_level
from trialdesk.services.subjects import list_subjects

Severity = Literal["minor", "major"]
CATEGORIES = ("eligibility", "consent", "procedure", "visit_window", "dose", "radiotherapy", "other")
RECORDERS = frozenset({Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR})


@dataclass(frozen=True)
class Deviation:
    """One protocol deviation of a subject (``source``: derived from the data or recorded)."""

    subject_id: int
    screening_number: str
    site_code: str
    date: dt.date
    category: str
    severity: Severity
    description: str
    source: Literal["derived", "recorded"]
    action_taken: str | None = None


def _visit_deviations(
    session: Session, protocol: Protocol, subject: Subject
) -> list[tuple[dt.date, str, Severity, str]]:
    if subject.treatment_start_date is None or subject.arm_id is None:
        return []
    found: list[tuple[dt.date, str, Severity, str]] = []
    course = course_of(session, protocol, subject)
    for visit in calendar(protocol, course, clock.today()):
        if visit.status == "done" and visit.out_of_window and visit.done_on is not None:
            text = f"{visit.label} done on {visit.done_on}, window {visit.window_start} to {visit.window_end}"
            found.append((visit.done_on, "visit_window", "minor", text))
        elif visit.status == "missed":
            found.append(
                (visit.planned, "missed_visit", "minor", f"{visit.label} (planned {visit.planned}) missed")
            )
    return found


def _dose_deviations(
    session: Session, protocol: Protocol, subject: Subject
) -> list[tuple[dt.date, str, Severity, str]]:
    drugs = {i.id: i for i in protocol.interventions if isinstance(i, DrugIntervention)}
    found: list[tuple[dt.date, str, Severity, str]] = []
    rows = session.scalars(select(DrugAdministration).where(DrugAdministration.subject_id == subject.id))
    for row in rows:
        drug = drugs.get(row.agent)
        tolerance = drug.dose_tolerance.value if drug and drug.dose_tolerance else DEFAULT_TOLERANCE
        if needs_reason(row.planned_dose_mg, row.given_dose_mg, tolerance):
            text = (
                f"{row.agent} cycle {row.cycle}: {row.given_dose_mg:g} mg given, {row.planned_dose_mg:g} mg "
                f"planned ({row.deviation_reason or 'no reason'})"
            )
            found.append((row.date, "dose", "minor", text))
    return found


def _rt_deviations(
    session: Session, protocol: Protocol, subject: Subject
) -> list[tuple[dt.date, str, Severity, str]]:
    found: list[tuple[dt.date, str, Severity, str]] = []
    for course_id, (summary, _, ended) in radiotherapy.course_deliveries(session, protocol, subject).items():
        if summary.classification in ("minor", "major"):
            when = summary.last or (ended.date if ended else clock.today())
            text = (
                f"{course_id}: {summary.dose_gy:g} of {summary.prescribed_dose_gy:g} Gy "
                f"({summary.dose_deviation:+.0%}), "
                f"treatment time prolonged {summary.prolongation_days or 0} days"
            )
            severity: Severity = "major" if summary.classification == "major" else "minor"
            found.append((when, "radiotherapy", severity, text))
    return found


def _stratum_deviations(session: Session, subject: Subject) -> list[tuple[dt.date, str, Severity, str]]:
    allocation = subject_repository.allocation_of(session, subject.id)
    if allocation is None:
        return []
    found: list[tuple[dt.date, str, Severity, str]] = []
    for factor, level in sorted(allocation.strata_values.items()):
        if factor == "site":
            continue
        now = record_level(subject.patient_record, factor)
        if now is not None and now != str(level):
            text = f"randomized in stratum {factor}={level}; the record now says {factor}={now}"
            found.append((allocation.allocated_at.date(), "stratification", "major", text))
    return found


def _consent_deviations(
    session: Session, protocol: Protocol, subject: Subject
) -> list[tuple[dt.date, str, Severity, str]]:
    """Visits done without the re-consent a new consent version required (major: ICH E6(R2) 4.8.2)."""
    return [
        (day, "consent", "major", text)
        for day, text in consent.consent_deviations(session, protocol, subject)
    ]


def _over_enrolment(session: Session, protocol: Protocol, subjects: list[Subject]) -> dict[int, str]:
    """Subjects enrolled beyond their phase's maximum (only possible through the admin's override)."""
    everyone = subject_repository.list_by_protocol(session, protocol.id)
    wanted = {s.id for s in subjects}
    flagged: dict[int, str] = {}
    for phase in protocol.design.phases:
        enrolled = sorted(
            (s for s in everyone if s.phase_id == phase.id),
            key=lambda s: (s.enrolled_at or dt.datetime.max.replace(tzinfo=dt.UTC), s.id),
        )
        for s in enrolled[phase.target_size.max :]:
            if s.id in wanted:
                flagged[s.id] = (
                    f"enrolled beyond phase {phase.id}'s maximum of {phase.target_size.max} by override"
                )
    return flagged


def recorded(subject: Subject, site_code: str, row: ProtocolDeviation) -> Deviation:
    """A recorded deviation as listed."""
    severity: Severity = "major" if row.severity == "major" else "minor"
    return Deviation(
        subject.id,
        subject.screening_number,
        site_code,
        row.date,
        row.category,
        severity,
        row.description,
        "recorded",
        row.action_taken,
    )


def deviation_listing(session: Session, actor: Actor, protocol: Protocol) -> list[Deviation]:
    """Every deviation of the subjects the user may see, by site, subject and date."""
    actor.require(Capability.READ_SUBJECTS)
    return deviations_of(session, protocol, list_subjects(session, actor, protocol.id))


def deviations_of(session: Session, protocol: Protocol, subjects: list[Subject]) -> list[Deviation]:
    """Every deviation of the enrolled ones among ``subjects`` (no access check: callers filter)."""
    subjects = [s for s in subjects if s.phase_id is not None]
    sites = {s.site_id: subject_repository.site_code(session, s.site_id) for s in subjects}
    over = _over_enrolment(session, protocol, subjects)
    listing: list[Deviation] = []
    for subject in subjects:
        derived = (
            _visit_deviations(session, protocol, subject)
            + _dose_deviations(session, protocol, subject)
            + _rt_deviations(session, protocol, subject)
            + _stratum_deviations(session, subject)
            + [
                (d, "consent", "major", text)
                for d, text in consent.consent_deviations(session, protocol, subject)
            ]
        )
        if subject.id in over and subject.enrolled_at is not None:
            derived.append((subject.enrolled_at.date(), "over_enrolment", "major", over[subject.id]))
        for date, category, severity, text in derived:
            listing.append(
                Deviation(
                    subject.id,
                    subject.screening_number,
                    sites[subject.site_id],
                    date,
                    category,
                    severity,
                    text,
                    "derived",
                )
            )
        for row in session.scalars(
            select(ProtocolDeviation).where(ProtocolDeviation.subject_id == subject.id)
        ):
            listing.append(
                Deviation(
                    subject.id,
                    subject.screening_number,
                    sites[subject.site_id],
                    row.date,
                    row.category,
                    "major" if row.severity == "major" else "minor",
                    row.description,
                    "recorded",
                    row.action_taken,
                )
            )
    return sorted(listing, key=lambda d: (d.site_code, d.screening_number, d.date, d.category))


def record_deviation(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    *,
    category: str,
    severity: Severity,
    date: dt.date,
    description: str,
    action_taken: str | None,
) -> Deviation:
    """Site staff or a monitor record a deviation the data cannot show (audited)."""
    if actor.role not in RECORDERS:
        raise PermissionDenied(
            f"role '{actor.role}' may not record protocol deviations", rule="record_deviation"
        )
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    if subject.phase_id is None:
        raise Conflict("deviations are recorded for enrolled subjects", rule="subject_status")
    if category not in CATEGORIES:
        raise InvalidInput(f"category '{category}' is not one of {', '.join(CATEGORIES)}", field="category")
    check_event_date(subject, "date", date)
    check_free_text("description", description)
    check_free_text("action_taken", action_taken)
    if len(description.strip()) < 5:
        raise InvalidInput("describe the deviation (at least 5 characters)", field="description")
    row = ProtocolDeviation(
        subject_id=subject.id,
        category=category,
        severity=severity,
        date=date,
        description=description.strip(),
        action_taken=(action_taken or "").strip() or None,
        entered_by=actor.username,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return recorded(subject, subject_repository.site_code(session, subject.site_id), row)
