"""Informed consent: each subject's signed consent-form versions, re-consent to a new version, and the
list of re-consents due at the user's sites.

The rules are :mod:`trialdesk.domain.consent`'s (ICH E6(R2) 4.8.2 and 4.8.8). The screening consent
(the signed date on the screening record, kept as :attr:`Subject.consent_date` at enrolment) counts as
the version in use that day: its :class:`ConsentRecord` is written when the subject is screened (the
staff member who screened the patient obtained it), and subjects screened before consent records
existed get it back-filled when read. A re-consent is recorded by site staff of the subject's site,
naming who obtained it (a user of that site with a site role); the server checks the version is the
form in use on the consent date and the date itself (not in the future, not after death or the
subject's withdrawal, not before the screening consent).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.models import ConsentRecord, Subject, User, UserSite
from trialdesk.domain.calendar import ScheduledVisit, calendar
from trialdesk.domain.consent import (
    ReconsentDue,
    SignedConsent,
    VisitOccasion,
    reconsent_due,
    version_on,
    visits_without_reconsent,
)
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import SITE_ROLES, Capability, is_site_limited
from trialdesk.domain.subjects import is_terminal
from trialdesk.services import clock
from trialdesk.services.actors import SYSTEM_ACTOR, Actor, visible_subject
from trialdesk.services.calendar import course_of
from trialdesk.services.clinical_dates import check_event_date
from trialdesk.services.consent_records import consent_rows, record_screening_consent, screening_consent_date
from trialdesk.services.errors import Conflict, InvalidInput
from trialdesk.services.subjects import list_subjects


@dataclass(frozen=True)
class ConsentEntry:
    """One consent of a subject as listed: ``screening`` for the consent given at screening;
    ``stored`` False for a screening consent back-filled from the subject row (no record yet)."""

    version: str
    consent_date: dt.date
    obtained_by: str | None
    obtained_by_name: str | None
    entered_by: str | None
    screening: bool
    stored: bool


@dataclass(frozen=True)
class SubjectConsents:
    """A subject's consents (oldest first) and the re-consent due, if any."""

    subject: Subject
    consents: list[ConsentEntry]
    due: ReconsentDue | None
    due_visit: ScheduledVisit | None = None
    """The calendar visit re-consent is due at (for its name in the page's language)."""


@dataclass(frozen=True)
class DueReconsent:
    """A subject of the user's sites who must sign the current consent version."""

    subject_id: int
    screening_number: str
    site_code: str
    due: ReconsentDue
    visit: ScheduledVisit | None = None


def _entries(session: Session, protocol: Protocol, subject: Subject) -> list[ConsentEntry]:
    """The stored consents, or the back-filled screening consent when none is stored."""
    day = screening_consent_date(subject)
    rows = consent_rows(session, subject.id)
    if rows:
        users = select(User.username, User.full_name).where(User.username.in_({r.obtained_by for r in rows}))
        names: dict[str, str] = {username: name for username, name in session.execute(users)}
        return [
            ConsentEntry(
                r.version,
                r.consent_date,
                r.obtained_by,
                names.get(r.obtained_by),
                r.entered_by,
                r is rows[0] and r.consent_date == day,
                True,
            )
            for r in rows
        ]
    version = version_on(protocol.consent_versions, day) if day is not None else None
    if day is None or version is None:
        return []
    return [ConsentEntry(version.version, day, None, None, None, True, False)]


# ---- re-consent due ---------------------------------------------------------------------------


def in_study(subject: Subject) -> bool:
    """Whether the subject is still in the study (not in a final status, no end of study)."""
    return not is_terminal(subject.status) and subject.end_of_study_date is None


def _occasion(visit: ScheduledVisit) -> VisitOccasion | None:
    if visit.status == "done" and visit.done_on is not None:
        return VisitOccasion(visit.visit_id, visit.label, visit.done_on, True)
    if visit.status in ("planned", "overdue"):
        return VisitOccasion(visit.visit_id, visit.label, visit.planned, False, visit.status == "overdue")
    return None


def _calendar(session: Session, protocol: Protocol, subject: Subject) -> list[ScheduledVisit]:
    """The subject's calendar (none before treatment starts)."""
    if subject.treatment_start_date is None or subject.arm_id is None:
        return []
    return calendar(protocol, course_of(session, protocol, subject), clock.today())


def _occasions(visits: list[ScheduledVisit]) -> list[VisitOccasion]:
    """The calendar's visits done or still open."""
    return [o for o in map(_occasion, visits) if o is not None]


def _signed(entries: list[ConsentEntry]) -> list[SignedConsent]:
    return [SignedConsent(e.version, e.consent_date) for e in entries]


def _due(
    session: Session, protocol: Protocol, subject: Subject, entries: list[ConsentEntry]
) -> tuple[ReconsentDue | None, ScheduledVisit | None]:
    """Re-consent due for a subject still in the study, with the calendar visit it is due at (the
    calendar is read only when re-consent is due)."""
    today = clock.today()
    if not in_study(subject) or reconsent_due(protocol.consent_versions, _signed(entries), [], today) is None:
        return None, None
    visits = _calendar(session, protocol, subject)
    due = reconsent_due(protocol.consent_versions, _signed(entries), _occasions(visits), today)
    at = next((v for v in visits if due and due.visit and v.visit_id == due.visit.visit_id), None)
    return due, at


def subject_consents(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> SubjectConsents:
    """A subject's consents and the re-consent due (404 for a subject the actor may not see)."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    entries = _entries(session, protocol, subject)
    return SubjectConsents(subject, entries, *_due(session, protocol, subject, entries))


def reconsents_due(session: Session, actor: Actor, protocol: Protocol) -> list[DueReconsent]:
    """Subjects the user may see who must sign the current consent version, overdue first, then by
    the date of the visit they are due at."""
    codes: dict[int, str] = {}
    due: list[DueReconsent] = []
    for subject in list_subjects(session, actor, protocol.id):
        found, visit = _due(session, protocol, subject, _entries(session, protocol, subject))
        if found is None:
            continue
        if subject.site_id not in codes:
            codes[subject.site_id] = subject_repository.site_code(session, subject.site_id)
        due.append(DueReconsent(subject.id, subject.screening_number, codes[subject.site_id], found, visit))
    never = dt.date.max
    return sorted(
        due,
        key=lambda d: (not d.due.overdue, d.due.visit.date if d.due.visit else never, d.screening_number),
    )


def consent_deviations(session: Session, protocol: Protocol, subject: Subject) -> list[tuple[dt.date, str]]:
    """(date, description) of each visit done without the re-consent the protocol required that day
    (a derived protocol deviation, one per consent version)."""
    entries = _entries(session, protocol, subject)
    first = min((e.consent_date for e in entries), default=None)
    if first is None or all(v.effective_date <= first for v in protocol.consent_versions):
        return []  # no version came into use after the first consent: the calendar need not be read
    done = [o for o in _occasions(_calendar(session, protocol, subject)) if o.done]
    return [
        (
            visit.date,
            f"{visit.label} done on {visit.date} without re-consent to consent version {version.version} "
            f"(in use from {version.effective_date})",
        )
        for visit, version in visits_without_reconsent(protocol.consent_versions, _signed(entries), done)
    ]


# ---- recording a consent ----------------------------------------------------------------------


def site_staff(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> list[tuple[str, str]]:
    """(username, full name) of the active coordinators and investigators of the subject's site: who
    may have obtained a consent."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    query = (
        select(User.username, User.full_name)
        .join(UserSite, UserSite.user_id == User.id)
        .where(
            UserSite.site_id == subject.site_id,
            User.active.is_(True),
            User.role.in_([role.value for role in SITE_ROLES]),
        )
        .order_by(User.full_name, User.username)
    )
    return [(username, name) for username, name in session.execute(query)]


def _check_obtained_by(session: Session, subject: Subject, username: str) -> User:
    """The staff member who obtained the consent: an active user with a site role at the subject's site."""
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    member = user is not None and session.get(UserSite, (user.id, subject.site_id)) is not None
    if user is None or not user.active or not is_site_limited(user.role) or not member:
        raise InvalidInput(
            f"'{username}' is not a coordinator or investigator of the subject's site: the consent is "
            "obtained by site staff",
            field="obtained_by",
        )
    return user


def _check_version(protocol: Protocol, version: str, consent_date: dt.date) -> None:
    known = [v.version for v in protocol.consent_versions]
    if version not in known:
        raise InvalidInput(
            f"consent version '{version}' is not a version of this protocol (known: {', '.join(known)})",
            field="version",
        )
    in_use = version_on(protocol.consent_versions, consent_date)
    if in_use is None or in_use.version != version:
        current = f"version {in_use.version} (from {in_use.effective_date})" if in_use else "no version"
        raise InvalidInput(
            f"consent version '{version}' is not the form in use on {consent_date}: {current} is",
            field="version",
        )


def _check_date(subject: Subject, consent_date: dt.date) -> None:
    check_event_date(subject, "consent_date", consent_date)
    first = screening_consent_date(subject)
    if first is None:
        raise Conflict(
            "the subject has no screening consent on record: record it on the screening record first",
            rule="screening_consent_first",
        )
    if consent_date < first:
        raise InvalidInput(
            f"consent date {consent_date} is before the screening consent of {first}: a re-consent "
            "follows it",
            field="consent_date",
        )
    left = subject.status_date or subject.end_of_study_date
    if not in_study(subject) and left is not None and consent_date > left:
        raise InvalidInput(
            f"consent date {consent_date} is after the subject left the study ({subject.status}, {left})",
            field="consent_date",
        )


def record_consent(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    *,
    version: str,
    consent_date: dt.date,
    obtained_by: str,
) -> ConsentEntry:
    """Site staff record a consent form version the subject signed (a re-consent), audited; the
    person who entered it is the signed-in user."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    _check_version(protocol, version, consent_date)
    _check_date(subject, consent_date)
    user = _check_obtained_by(session, subject, obtained_by)
    entries = _entries(session, protocol, subject)
    if any(e.version == version for e in entries):
        raise Conflict(
            f"the subject has signed consent version '{version}' already", rule="consent_version_signed"
        )
    if entries and not entries[0].stored:  # keep the back-filled screening consent with the re-consent
        record_screening_consent(session, protocol, subject, SYSTEM_ACTOR)
    row = ConsentRecord(
        subject_id=subject.id,
        version=version,
        consent_date=consent_date,
        obtained_by=user.username,
        entered_by=actor.username,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return ConsentEntry(version, consent_date, user.username, user.full_name, actor.username, False, True)
