"""Use cases of screening: screen a patient, correct the record, attest a judgement criterion,
re-evaluate eligibility, list the trial's subjects and the screening log.

Enrolment (signed), status changes and the enrolment-limit override are in
:mod:`trialdesk.services.enrolment`; storage queries in :mod:`trialdesk.adapters.db.subjects`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import Attestation, EligibilityEvaluation, Site, Subject
from trialdesk.adapters.db.subjects import AttestationRow
from trialdesk.domain.eligibility.evaluator import EligibilityResult, evaluate
from trialdesk.domain.eligibility.patient import Attestation as RecordedAttestation
from trialdesk.domain.eligibility.patient import PatientRecord
from trialdesk.domain.eligibility.rules import is_attestable
from trialdesk.domain.eligibility.validation import PatientDataError
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, is_site_limited
from trialdesk.domain.subjects import SubjectStatus
from trialdesk.domain.trial_phase import PhaseState
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.consent_records import record_screening_consent
from trialdesk.services.errors import Conflict, InvalidInput, NotFound
from trialdesk.services.screening import result_to_json, screen_data
from trialdesk.services.trials import get_trial


@dataclass(frozen=True)
class ScreeningOutcome:
    """A subject with the evaluation just stored."""

    subject: Subject
    evaluation: EligibilityEvaluation


def _patient_error(exc: PatientDataError) -> InvalidInput:
    first = exc.issues[0] if exc.issues else None
    return InvalidInput(
        str(exc), field=f"patient.{first.location}" if first and first.location else "patient"
    )


def _site_for(session: Session, actor: Actor, protocol: Protocol, site_code: str) -> Site:
    site = subject_repository.site_by_code(session, protocol.id, site_code)
    if site is None or not actor.sees_site(site.id):
        raise NotFound(f"site '{site_code}' not found in {protocol.id}")
    return site


def _with_attestations(session: Session, subject: Subject) -> PatientRecord:
    """The stored patient record with ONLY the attestations investigators recorded through
    :func:`attest` (who and when from the user table); answers that came inside a submitted record
    are proposals (:attr:`Subject.proposed_attestations`) and never count."""
    record = PatientRecord.model_validate(subject.patient_record)
    answers = {
        criterion_id: RecordedAttestation(answer=answer, by=f"{name} ({username})", at=at, role=role)
        for criterion_id, answer, name, username, role, at in attestation_rows(session, subject.id)
    }
    return record.model_copy(update={"attestations": answers})


def attestation_rows(session: Session, subject_id: int) -> list[AttestationRow]:
    """(criterion, answer, full name, username, role, when) of each recorded attestation."""
    return subject_repository.attestation_rows(session, subject_id)


def _split_proposals(actor: Actor, record: PatientRecord) -> tuple[PatientRecord, dict[str, Any] | None]:
    """Take the attestations out of a submitted record: they are kept as proposals, shown as such,
    and count only once an investigator of the subject's site attests through :func:`attest`."""
    if not record.attestations:
        return record, None
    proposals = {
        criterion_id: {
            "answer": claimed.answer,
            "claimed_by": claimed.by,
            "claimed_at": claimed.at.isoformat(),
            "claimed_role": claimed.role,
            "submitted_by": actor.username,
            "submitted_at": clock.now().isoformat(),
        }
        for criterion_id, claimed in sorted(record.attestations.items())
    }
    return record.model_copy(update={"attestations": {}}), proposals


def _require_trial_open(session: Session, protocol: Protocol, what: str) -> None:
    trial = get_trial(session, protocol.id)
    if trial.phase_state == PhaseState.terminated.value:
        raise Conflict(
            f"{what} is closed: the trial is terminated ({trial.state_reason})", rule="trial_terminated"
        )


def _store_evaluation(
    session: Session, actor: Actor, subject: Subject, result: EligibilityResult
) -> EligibilityEvaluation:
    evaluation = EligibilityEvaluation(
        subject_id=subject.id,
        protocol_version=result.protocol_version,
        verdict=result.verdict,
        criteria=result_to_json(result)["criteria"],
        evaluated_at=clock.now(),
        evaluated_by=actor.user_id,
    )
    session.add(evaluation)
    session.flush()
    return evaluation


def evaluate_subject(
    session: Session, actor: Actor, protocol: Protocol, subject: Subject
) -> EligibilityEvaluation:
    """Re-evaluate eligibility from the stored record and attestations, and store the evaluation."""
    try:
        result = evaluate(protocol, _with_attestations(session, subject), subject.screening_date)
    except PatientDataError as exc:
        raise _patient_error(exc) from None
    return _store_evaluation(session, actor, subject, result)


def screen(
    session: Session, actor: Actor, protocol: Protocol, site_code: str, patient: Any
) -> ScreeningOutcome:
    """Register a screened patient at a site and store the criterion-by-criterion evaluation.

    ``patient`` is trialdesk patient JSON or a FHIR R4 Bundle (parsed JSON).
    """
    actor.require(Capability.SCREEN)
    site = _site_for(session, actor, protocol, site_code)
    _require_trial_open(session, protocol, "screening")
    try:
        screening = screen_data(protocol, patient)
    except PatientDataError as exc:
        raise _patient_error(exc) from None
    record, proposals = _split_proposals(actor, screening.patient)
    if subject_repository.find_by_screening_number(session, protocol.id, record.id) is not None:
        # The same answer whichever site holds the number: nothing about another site's subject leaks.
        raise Conflict(
            f"screening number '{record.id}' is not available in this trial: give the next number of "
            "your site's screening log",
            rule="unique_screening_number",
        )
    subject = Subject(
        protocol_id=protocol.id,
        site_id=site.id,
        screening_number=record.id,
        status=SubjectStatus.screening.value,
        screening_date=screening.result.screening_date,
        patient_record=record.model_dump(mode="json", exclude_none=True),
        created_at=clock.now(),
        proposed_attestations=proposals,
    )
    session.add(subject)
    session.flush()
    record_screening_consent(session, protocol, subject, actor.username)
    return ScreeningOutcome(subject, evaluate_subject(session, actor, protocol, subject))


def update_record(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, patient: Any
) -> ScreeningOutcome:
    """Replace a screening subject's data (reason required) and re-evaluate."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    _require_status(subject, SubjectStatus.screening, "screening data can be changed only during screening")
    try:
        screening = screen_data(protocol, patient, subject.screening_date)
    except PatientDataError as exc:
        raise _patient_error(exc) from None
    if screening.patient.id != subject.screening_number:
        raise InvalidInput("the record's id must stay the subject's screening number", field="patient.id")
    record, proposals = _split_proposals(actor, screening.patient)
    subject.patient_record = record.model_dump(mode="json", exclude_none=True)
    if proposals:
        subject.proposed_attestations = {**(subject.proposed_attestations or {}), **proposals}
    session.flush()
    record_screening_consent(session, protocol, subject, actor.username)
    return ScreeningOutcome(subject, evaluate_subject(session, actor, protocol, subject))


def attest(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, criterion_id: str, answer: bool
) -> ScreeningOutcome:
    """An investigator records (or, with a reason, changes) the answer to a judgement criterion."""
    actor.require(Capability.ATTEST)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    _require_status(subject, SubjectStatus.screening, "attestations are recorded during screening")
    try:
        criterion = protocol.criterion(criterion_id)
    except KeyError:
        raise InvalidInput(f"unknown criterion '{criterion_id}'", field="criterion_id") from None
    if not is_attestable(criterion.rule):
        raise InvalidInput(
            f"criterion '{criterion_id}' is computed from data ({criterion.rule.type}), not attested",
            field="criterion_id",
        )
    existing = subject_repository.attestation(session, subject.id, criterion_id)
    now = clock.now()
    if existing is None:
        session.add(
            Attestation(
                subject_id=subject.id,
                criterion_id=criterion_id,
                answer=answer,
                attested_by=actor.user_id,
                attested_at=now,
            )
        )
    else:
        existing.answer, existing.attested_by, existing.attested_at = answer, actor.user_id, now
    if subject.proposed_attestations and criterion_id in subject.proposed_attestations:
        # The investigator has answered: the proposal is settled (its text stays in the audit trail).
        with audit_reason(
            session, f"proposal for '{criterion_id}' settled by the investigator", keep_given=True
        ):
            subject.proposed_attestations = {
                k: v for k, v in subject.proposed_attestations.items() if k != criterion_id
            } or None
            session.flush()
    session.flush()
    return ScreeningOutcome(subject, evaluate_subject(session, actor, protocol, subject))


def latest_evaluation(session: Session, subject_id: int) -> EligibilityEvaluation | None:
    """The most recent stored evaluation of a subject."""
    return subject_repository.latest_evaluation(session, subject_id)


def _require_status(subject: Subject, status: SubjectStatus, why: str) -> None:
    if subject.status != status.value:
        raise Conflict(f"{why}; subject {subject.id} is '{subject.status}'", rule="subject_status")


def list_subjects(session: Session, actor: Actor, protocol_id: str) -> list[Subject]:
    """The subjects of a trial that this user may see."""
    actor.require(Capability.READ_SUBJECTS)
    subjects = subject_repository.list_by_protocol(session, protocol_id)
    return [s for s in subjects if actor.sees_site(s.site_id)]


def subject_page(
    session: Session, actor: Actor, protocol_id: str, *, limit: int, offset: int
) -> tuple[list[Subject], int]:
    """One page (``limit`` rows from ``offset``, in id order) of the subjects of a trial that this user
    may see, and how many they may see in all; the site rule is applied in the database query, so no
    page holds another site's subject and the total counts only visible ones."""
    actor.require(Capability.READ_SUBJECTS)
    sites = actor.site_ids if is_site_limited(actor.role) else None
    return subject_repository.page_by_protocol(session, protocol_id, sites, limit=limit, offset=offset)


def screening_log(session: Session, actor: Actor, protocol_id: str) -> dict[str, Any]:
    """Every screened patient with the latest verdict and, for failures, the failing criteria."""
    subjects = list_subjects(session, actor, protocol_id)
    rows = []
    reasons: dict[str, int] = {}
    for subject in subjects:
        evaluation = latest_evaluation(session, subject.id)
        failing = [c for c in (evaluation.criteria if evaluation else []) if c["status"] == "not_met"]
        for criterion in failing:
            reasons[criterion["id"]] = reasons.get(criterion["id"], 0) + 1
        rows.append(
            {
                "subject_id": subject.id,
                "screening_number": subject.screening_number,
                "site_id": subject.site_id,
                "screening_date": subject.screening_date.isoformat(),
                "status": subject.status,
                "verdict": evaluation.verdict if evaluation else None,
                "failed_criteria": [
                    {"id": c["id"], "source": c["source"], "evidence": c["evidence"]} for c in failing
                ],
            }
        )
    return {
        "protocol": protocol_id,
        "screened": len(rows),
        "subjects": rows,
        "screen_failures_by_criterion": dict(sorted(reasons.items())),
    }
