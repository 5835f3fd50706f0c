"""Use case: a subject's end of treatment (EOT) and end of study (EOS), coded and dated.

The rules are :mod:`trialdesk.domain.disposition`'s; this module gathers the facts they check (treatment
start, last dose or RT fraction, death, enrolment, the AE named), writes the subject row and moves its
status:

* EOT -> ``treatment_end_date`` (the calendar is derived from it, so the remaining treatment visits
  drop and the end-of-treatment, safety and survival visits are dated from it), the coded reason, the
  AE for a toxicity, ``discontinuation_reason`` (the free-text detail, else the reason's words), and a
  subject ``enrolled`` / ``on_treatment`` moves to ``off_treatment`` dated the EOT day (then
  ``follow_up`` by the status route; a subject off treatment stays in survival follow-up);
* EOS -> ``end_of_study_date`` / ``end_of_study_reason`` and the terminal status of the reason
  (:data:`~trialdesk.domain.disposition.EOS_STATUS`) dated the EOS day; a treated subject whose
  treatment had not ended gets the implied EOT the same day.

The first entry is audited with a reason derived from the coded event; correcting a recorded EOT or
EOS needs the user's reason (422 naming ``correction_reason`` otherwise: ``reason`` is the coded reason).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import AdverseEvent, DrugAdministration, RtFraction, Subject
from trialdesk.domain.disposition import (
    CDISC_TERMS,
    EOS_STATUS,
    AdverseEventFact,
    DispositionFacts,
    EndOfStudyReason,
    EndOfTreatmentReason,
    check_end_of_study,
    check_end_of_treatment,
    eos_label,
    eot_label,
)
from trialdesk.domain.plausibility import DatedRecord, ImplausibleValue
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.domain.subjects import SubjectStatus, is_terminal
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_free_text, enrolment_date, invalid
from trialdesk.services.errors import Conflict, InvalidInput

ONGOING_TREATMENT = (SubjectStatus.enrolled.value, SubjectStatus.on_treatment.value)
"""Statuses an EOT moves to ``off_treatment``."""


@dataclass(frozen=True)
class EndOfTreatmentInput:
    """An EOT as entered: date, coded reason, the AE for a toxicity, optional free-text detail."""

    date: dt.date
    reason: EndOfTreatmentReason
    adverse_event_id: int | None = None
    detail: str | None = None


@dataclass(frozen=True)
class EndOfStudyInput:
    """An EOS as entered: date, coded reason, optional free-text detail."""

    date: dt.date
    reason: EndOfStudyReason
    detail: str | None = None


@dataclass(frozen=True)
class Disposition:
    """A subject's EOT and EOS as recorded (``None``: not yet), with the reasons' CDISC terms."""

    subject_id: int
    status: str
    treatment_start_date: dt.date | None
    end_of_treatment_date: dt.date | None
    end_of_treatment_reason: str | None
    end_of_treatment_term: str | None
    end_of_treatment_ae_id: int | None
    discontinuation_detail: str | None
    end_of_study_date: dt.date | None
    end_of_study_reason: str | None
    end_of_study_term: str | None
    in_follow_up: bool


def disposition_of(subject: Subject) -> Disposition:
    """The subject's disposition as stored (``in_follow_up``: enrolled and not yet left the study)."""
    eot, eos = subject.end_of_treatment_reason, subject.end_of_study_reason
    return Disposition(
        subject_id=subject.id,
        status=subject.status,
        treatment_start_date=subject.treatment_start_date,
        end_of_treatment_date=subject.treatment_end_date,
        end_of_treatment_reason=eot,
        end_of_treatment_term=CDISC_TERMS.get(eot) if eot else None,
        end_of_treatment_ae_id=subject.end_of_treatment_ae_id,
        discontinuation_detail=subject.discontinuation_reason,
        end_of_study_date=subject.end_of_study_date,
        end_of_study_reason=eos,
        end_of_study_term=CDISC_TERMS.get(eos) if eos else None,
        in_follow_up=subject.phase_id is not None and not is_terminal(subject.status),
    )


def read_disposition(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> Disposition:
    """The disposition of a subject the actor may see."""
    return disposition_of(visible_subject(session, actor, subject_id, protocol_id=protocol.id))


def _last_treatment(session: Session, subject: Subject) -> DatedRecord | None:
    dose = session.scalar(
        select(func.max(DrugAdministration.date)).where(
            DrugAdministration.subject_id == subject.id, DrugAdministration.given_dose_mg > 0
        )
    )
    fraction = session.scalar(select(func.max(RtFraction.date)).where(RtFraction.subject_id == subject.id))
    records = [DatedRecord("last dose", dose) if dose else None]
    records.append(DatedRecord("last RT fraction", fraction) if fraction else None)
    known = [r for r in records if r is not None]
    return max(known, key=lambda r: r.date) if known else None


def facts_of(session: Session, subject: Subject) -> DispositionFacts:
    """What the disposition rules check against, from the stored record."""
    enrolled = enrolment_date(subject)
    if subject.phase_id is None or enrolled is None:
        raise Conflict(
            "end of treatment and end of study are recorded for enrolled subjects", rule="subject_status"
        )
    return DispositionFacts(
        today=clock.today(),
        enrolment=enrolled,
        treatment_start=subject.treatment_start_date,
        last_treatment=_last_treatment(session, subject),
        death=subject.death_date,
        end_of_treatment=subject.treatment_end_date,
        end_of_study=subject.end_of_study_date,
    )


def _adverse_event(session: Session, subject: Subject, ae_id: int | None) -> AdverseEventFact | None:
    if ae_id is None:
        return None
    ae = session.get(AdverseEvent, ae_id)
    if ae is None or ae.subject_id != subject.id:
        raise InvalidInput(f"adverse event {ae_id} is not one of this subject's", field="adverse_event_id")
    return AdverseEventFact(ae.id, ae.onset_date)


def _require_reason_for_correction(session: Session, recorded: bool, what: str) -> None:
    if recorded and not (session.info.get("reason") or "").strip():
        raise InvalidInput(
            f"correcting the recorded {what} needs a reason (correction_reason)", field="correction_reason"
        )


def _set_end_of_treatment(
    subject: Subject, day: dt.date, reason: EndOfTreatmentReason, ae_id: int | None, detail: str | None
) -> None:
    subject.treatment_end_date = day
    subject.end_of_treatment_reason = reason.value
    subject.end_of_treatment_ae_id = ae_id
    subject.discontinuation_reason = (detail or "").strip() or eot_label(reason)


def record_end_of_treatment(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, data: EndOfTreatmentInput
) -> Subject:
    """Record (or, with a reason, correct) the end of treatment; 422 naming the field otherwise."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    check_free_text("detail", data.detail)
    facts = facts_of(session, subject)
    ae = _adverse_event(session, subject, data.adverse_event_id)
    try:
        check_end_of_treatment(data.date, data.reason, facts, ae)
    except ImplausibleValue as exc:
        raise invalid(exc) from None
    _require_reason_for_correction(session, subject.end_of_treatment_reason is not None, "end of treatment")
    with audit_reason(session, f"end of treatment: {CDISC_TERMS[data.reason]}", keep_given=True):
        _set_end_of_treatment(subject, data.date, data.reason, data.adverse_event_id, data.detail)
        if subject.status in ONGOING_TREATMENT:
            subject.status = SubjectStatus.off_treatment.value
            subject.status_date = data.date
            subject.status_reason = f"end of treatment: {eot_label(data.reason)}"
        session.flush()
    return subject


def close_study(session: Session, subject: Subject, data: EndOfStudyInput) -> None:
    """Apply an EOS to ``subject`` (the rules, the implied EOT, the terminal status), unflushed."""
    try:
        implied = check_end_of_study(data.date, data.reason, facts_of(session, subject))
    except ImplausibleValue as exc:
        raise invalid(exc) from None
    if implied is not None:
        _set_end_of_treatment(subject, data.date, implied, None, None)
    subject.end_of_study_date = data.date
    subject.end_of_study_reason = data.reason.value
    subject.status = EOS_STATUS[data.reason].value
    subject.status_date = data.date
    subject.status_reason = (data.detail or "").strip() or f"end of study: {eos_label(data.reason)}"


def record_end_of_study(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, data: EndOfStudyInput
) -> Subject:
    """Record (or, with a reason, correct) the end of study; 422 naming the field otherwise."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    check_free_text("detail", data.detail)
    recorded = subject.end_of_study_reason is not None
    if not recorded and is_terminal(subject.status) and subject.status != EOS_STATUS[data.reason].value:
        raise Conflict(
            f"subject {subject.screening_number} is '{subject.status}': an end of study for "
            f"'{CDISC_TERMS[data.reason]}' contradicts it (correct the status first)",
            rule="subject_status",
        )
    _require_reason_for_correction(session, recorded, "end of study")
    with audit_reason(session, f"end of study: {CDISC_TERMS[data.reason]}", keep_given=True):
        close_study(session, subject, data)
        session.flush()
    return subject
