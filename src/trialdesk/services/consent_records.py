"""The consent record of the screening consent, written when a subject is screened, its record
corrected, or enrolled (kept apart from :mod:`trialdesk.services.consent`, which reads calendars and
subject lists, so that screening and enrolment can call it without an import cycle)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import ConsentRecord, Subject
from trialdesk.domain.consent import version_on
from trialdesk.domain.eligibility.patient import PatientRecord
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.subjects import SubjectStatus
from trialdesk.services import clock


def screening_consent_date(subject: Subject) -> dt.date | None:
    """The date of the consent given at screening: the enrolment's consent date, else the signed date
    on the screening record (``None`` when the record has no consent yet)."""
    if subject.consent_date is not None:
        return subject.consent_date
    consent = PatientRecord.model_validate(subject.patient_record).consent
    return consent.signed_date if consent is not None else None


def consent_rows(session: Session, subject_id: int) -> list[ConsentRecord]:
    """The subject's stored consents, oldest first."""
    query = select(ConsentRecord).where(ConsentRecord.subject_id == subject_id)
    return sorted(session.scalars(query), key=lambda r: (r.consent_date, r.id))


def record_screening_consent(session: Session, protocol: Protocol, subject: Subject, username: str) -> None:
    """Write (or, while the subject is in screening and it is the only consent, follow a corrected
    screening record to) the consent record of the screening consent: the version in use that day,
    obtained by ``username`` (the staff member who screened the patient). Nothing when the record has
    no consent date or no version is in use that day."""
    day = screening_consent_date(subject)
    version = version_on(protocol.consent_versions, day) if day is not None else None
    if day is None or version is None:
        return
    rows = consent_rows(session, subject.id)
    if not rows:
        row = ConsentRecord(
            subject_id=subject.id,
            version=version.version,
            consent_date=day,
            obtained_by=username,
            entered_by=username,
            created_at=clock.now(),
        )
        session.add(row)
    elif (
        len(rows) == 1
        and subject.status == SubjectStatus.screening.value
        and (rows[0].consent_date, rows[0].version) != (day, version.version)
    ):
        rows[0].consent_date, rows[0].version = day, version.version
    session.flush()
