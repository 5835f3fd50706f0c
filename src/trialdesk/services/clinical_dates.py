"""The subject's recorded clinical events, and the date checks every capture use case applies.

One home for "a date that cannot be true": the follow-up, adverse-event, lab and tumour use cases call
:func:`check_event_date` (or :func:`check_death`) before anything is stored, and ``trialdesk data
check`` (:func:`find_violations`) applies the same rules to rows stored before the checks existed.
The rules themselves are pure (:mod:`trialdesk.domain.plausibility`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import (
    AdverseEvent,
    ConsentRecord,
    DrugAdministration,
    LabResultRow,
    RtFraction,
    Subject,
    TumourAssessment,
    TumourBaseline,
)
from trialdesk.domain.disposition import StoredDisposition, stored_violations
from trialdesk.domain.plausibility import (
    DatedRecord,
    ImplausibleValue,
    check_baseline_window,
    check_clinical_date,
    check_death_date,
    check_text,
)
from trialdesk.domain.protocol.model import Protocol
from trialdesk.services import clock
from trialdesk.services.errors import InvalidInput
from trialdesk.services.exports import audited_export


def invalid(exc: ImplausibleValue) -> InvalidInput:
    """The 422 of an implausible value, naming its field."""
    return InvalidInput(f"{exc.field}: {exc.reason}", field=exc.field)


def check_free_text(field: str, text: str | None) -> None:
    """422 when a free-text field (a reason, a note) is longer than the documented maximum."""
    try:
        check_text(field, text)
    except ImplausibleValue as exc:
        raise invalid(exc) from None


def enrolment_date(subject: Subject) -> dt.date | None:
    """The date the subject was enrolled (the signed enrolment's trial-clock date)."""
    return subject.enrolled_at.date() if subject.enrolled_at is not None else None


def start_of_follow_up(subject: Subject) -> DatedRecord | None:
    """What follow-up dates may not precede: the treatment start, else the enrolment date."""
    if subject.treatment_start_date is not None:
        return DatedRecord("treatment start", subject.treatment_start_date)
    enrolled = enrolment_date(subject)
    return DatedRecord("enrolment", enrolled) if enrolled is not None else None


def recorded_events(session: Session, subject: Subject) -> list[DatedRecord]:
    """Every dated clinical event recorded for the subject other than the death itself."""
    events: list[DatedRecord] = []
    for name, label in (
        ("treatment_start_date", "treatment start"),
        ("treatment_end_date", "treatment end"),
        ("new_anticancer_therapy_date", "new anti-cancer therapy"),
        ("last_known_alive_date", "last known alive date"),
    ):
        value = getattr(subject, name)
        if value is not None:
            events.append(DatedRecord(label, value))
    for ae in session.scalars(select(AdverseEvent).where(AdverseEvent.subject_id == subject.id)):
        events.append(DatedRecord(f"adverse event {ae.id} ({ae.term}) onset", ae.onset_date))
        if ae.resolution_date is not None and ae.grade < 5:
            events.append(DatedRecord(f"adverse event {ae.id} ({ae.term}) resolution", ae.resolution_date))
    for lab in session.scalars(select(LabResultRow).where(LabResultRow.subject_id == subject.id)):
        events.append(DatedRecord(f"lab result {lab.id} ({lab.test})", lab.collected_date))
    for baseline in session.scalars(select(TumourBaseline).where(TumourBaseline.subject_id == subject.id)):
        events.append(DatedRecord("tumour baseline assessment", baseline.date))
    for scan in session.scalars(select(TumourAssessment).where(TumourAssessment.subject_id == subject.id)):
        events.append(DatedRecord(f"tumour assessment '{scan.visit}'", scan.date))
    doses = select(DrugAdministration).where(DrugAdministration.subject_id == subject.id)
    for dose in session.scalars(doses):
        events.append(DatedRecord(f"{dose.agent} cycle {dose.cycle} dose", dose.date))
    fractions = select(RtFraction).where(RtFraction.subject_id == subject.id)
    for fraction in session.scalars(fractions):
        events.append(
            DatedRecord(f"{fraction.intervention} fraction {fraction.fraction_number}", fraction.date)
        )
    for consent in session.scalars(select(ConsentRecord).where(ConsentRecord.subject_id == subject.id)):
        events.append(DatedRecord(f"consent version {consent.version} signed", consent.consent_date))
    return events


def check_event_date(
    subject: Subject, field: str, value: dt.date, *, after_start: bool = False, death: dt.date | None = None
) -> None:
    """422 unless ``value`` is a clinical date (not before 1900, not in the future), not after the
    subject's death (``death`` overrides the stored death date when both change together) and, with
    ``after_start``, not before the treatment start / enrolment."""
    try:
        check_clinical_date(
            field,
            value,
            today=clock.today(),
            death_date=death if death is not None else subject.death_date,
            not_before=start_of_follow_up(subject) if after_start else None,
        )
    except ImplausibleValue as exc:
        raise invalid(exc) from None


def check_death(session: Session, subject: Subject, field: str, death: dt.date) -> None:
    """422 unless ``death`` is a clinical date with no recorded event after it (the event is named)."""
    try:
        check_death_date(field, death, recorded_events(session, subject), today=clock.today())
    except ImplausibleValue as exc:
        raise invalid(exc) from None


def check_tumour_baseline(protocol: Protocol, subject: Subject, field: str, baseline: dt.date) -> None:
    """The baseline scan is a clinical date within the protocol's baseline window before treatment
    start (RECIST 1.1 section 3.3); without a recorded treatment start, not later than today."""
    check_event_date(subject, field, baseline)
    if subject.treatment_start_date is not None:
        try:
            check_baseline_window(
                field,
                baseline,
                subject.treatment_start_date,
                protocol.tumour_assessment.baseline_window_days.value,
            )
        except ImplausibleValue as exc:
            raise invalid(exc) from None


@dataclass(frozen=True)
class Violation:
    """A stored row that breaks a date or value rule (found by ``trialdesk data check``)."""

    protocol_id: str
    subject: str
    record: str
    field: str
    reason: str


def _subject_row_violations(subject: Subject, events: list[DatedRecord]) -> Iterator[ImplausibleValue]:
    if subject.status == "died" and subject.death_date is None:
        yield ImplausibleValue("death_date", "status 'died' without a death date")
    if subject.death_date is not None:
        try:
            check_death_date("death_date", subject.death_date, events, today=clock.today())
        except ImplausibleValue as exc:
            yield exc
    start, end = subject.treatment_start_date, subject.treatment_end_date
    if start is not None and end is not None and end < start:
        yield ImplausibleValue("treatment_end_date", f"{end} is before the treatment start {start}")
    yield from stored_violations(
        StoredDisposition(
            subject.status,
            end,
            subject.end_of_treatment_reason,
            subject.end_of_study_date,
            subject.end_of_study_reason,
            subject.death_date,
        )
    )


_AFTER_START_LABELS = ("last known alive date", "new anti-cancer therapy", "treatment end")


def _event_violations(
    protocol: Protocol, subject: Subject, events: list[DatedRecord]
) -> Iterator[tuple[str, ImplausibleValue]]:
    start = start_of_follow_up(subject)
    for event in events:
        after_start = event.label.startswith("tumour assessment") or event.label in _AFTER_START_LABELS
        try:
            check_clinical_date(
                "date", event.date, today=clock.today(), not_before=start if after_start else None
            )
        except ImplausibleValue as exc:
            yield event.label, exc
        if event.label == "tumour baseline assessment" and subject.treatment_start_date is not None:
            window = protocol.tumour_assessment.baseline_window_days.value
            try:
                check_baseline_window("date", event.date, subject.treatment_start_date, window)
            except ImplausibleValue as exc:
                yield event.label, exc


def _consent_violations(session: Session, subject: Subject) -> Iterator[tuple[str, ImplausibleValue]]:
    if subject.consent_date is None:
        return
    for ae in session.scalars(select(AdverseEvent).where(AdverseEvent.subject_id == subject.id)):
        if ae.onset_date < subject.consent_date and not ae.baseline_condition:
            yield (
                f"adverse event {ae.id} ({ae.term})",
                ImplausibleValue(
                    "onset_date",
                    f"{ae.onset_date} is before consent {subject.consent_date} and the AE is not flagged "
                    "as a baseline condition",
                ),
            )


def _subject_violations(session: Session, protocol: Protocol, subject: Subject) -> Iterator[Violation]:
    events = recorded_events(session, subject)
    found: list[tuple[str, ImplausibleValue]] = [
        ("subject", e) for e in _subject_row_violations(subject, events)
    ]
    found += _event_violations(protocol, subject, events)
    found += _consent_violations(session, subject)
    for record, exc in found:
        yield Violation(protocol.id, subject.screening_number, record, exc.field, exc.reason)


def find_violations(session: Session, protocol: Protocol) -> list[Violation]:
    """Every stored row of the trial that breaks a date rule (reported, never altered)."""
    subjects = session.scalars(
        select(Subject).where(Subject.protocol_id == protocol.id).order_by(Subject.id)
    ).all()
    return [v for subject in subjects for v in _subject_violations(session, protocol, subject)]


def data_check(session: Session, protocol: Protocol) -> list[Violation]:
    """``trialdesk data check``: :func:`find_violations`, the read audited as an export."""
    violations = find_violations(session, protocol)
    audited_export(
        session, "data_check", protocol.id, reason=f"data check read: {len(violations)} violation(s)"
    )
    return violations
