"""Use cases of the subject lifecycle: screen, attest, enrol (signed), change status, screening log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import Attestation, EligibilityEvaluation, Site, Subject, Trial, User
from trialdesk.domain.eligibility.evaluator import EligibilityResult, evaluate
from trialdesk.domain.eligibility.patient import Attestation as RecordedAttestation
from trialdesk.domain.eligibility.patient import PatientRecord
from trialdesk.domain.eligibility.validation import PatientDataError
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.domain.subjects import SubjectStatus, TransitionNotAllowed, check_transition
from trialdesk.domain.trial_phase import PhaseState, current_phase, enrolment_allowed
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import Conflict, InvalidInput, NotFound
from trialdesk.services.screening import result_to_json, screen_data
from trialdesk.services.signatures import evidence_sha256, sign
from trialdesk.services.trials import SYSTEM_ACTOR, enrolled_count, get_trial, record_transition


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
    site = session.scalars(
        select(Site).where(Site.protocol_id == protocol.id, Site.code == site_code)
    ).one_or_none()
    if site is None or not actor.sees_site(site.id):
        raise NotFound(f"site '{site_code}' not found in {protocol.id}")
    return site


def _with_attestations(session: Session, subject: Subject) -> PatientRecord:
    """The stored patient record with the investigators' recorded attestations merged in."""
    record = PatientRecord.model_validate(subject.patient_record)
    rows = session.execute(
        select(Attestation, User.full_name, User.role)
        .join(User, User.id == Attestation.attested_by)
        .where(Attestation.subject_id == subject.id)
    )
    answers = dict(record.attestations)
    for att, name, role in rows:
        answers[att.criterion_id] = RecordedAttestation(
            answer=att.answer, by=name, at=att.attested_at, role=role
        )
    return record.model_copy(update={"attestations": answers})


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
    try:
        screening = screen_data(protocol, patient)
    except PatientDataError as exc:
        raise _patient_error(exc) from None
    record = screening.patient
    duplicate = session.scalars(
        select(Subject).where(Subject.protocol_id == protocol.id, Subject.screening_number == record.id)
    ).first()
    if duplicate is not None:
        raise Conflict(
            f"screening number '{record.id}' is already used in {protocol.id}", rule="unique_screening_number"
        )
    subject = Subject(
        protocol_id=protocol.id,
        site_id=site.id,
        screening_number=record.id,
        status=SubjectStatus.screening.value,
        screening_date=screening.result.screening_date,
        patient_record=record.model_dump(mode="json", exclude_none=True),
        created_at=clock.now(),
    )
    session.add(subject)
    session.flush()
    return ScreeningOutcome(subject, _store_evaluation(session, actor, subject, screening.result))


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
    subject.patient_record = screening.patient.model_dump(mode="json", exclude_none=True)
    session.flush()
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
    if criterion.rule.type != "attestation":
        raise InvalidInput(
            f"criterion '{criterion_id}' is computed from data ({criterion.rule.type}), not attested",
            field="criterion_id",
        )
    existing = session.scalars(
        select(Attestation).where(
            Attestation.subject_id == subject.id, Attestation.criterion_id == criterion_id
        )
    ).one_or_none()
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
    session.flush()
    return ScreeningOutcome(subject, evaluate_subject(session, actor, protocol, subject))


def latest_evaluation(session: Session, subject_id: int) -> EligibilityEvaluation | None:
    """The most recent stored evaluation of a subject."""
    return session.scalars(
        select(EligibilityEvaluation)
        .where(EligibilityEvaluation.subject_id == subject_id)
        .order_by(EligibilityEvaluation.id.desc())
        .limit(1)
    ).first()


def _require_status(subject: Subject, status: SubjectStatus, why: str) -> None:
    if subject.status != status.value:
        raise Conflict(f"{why}; subject {subject.id} is '{subject.status}'", rule="subject_status")


def _check_capacity(
    session: Session, protocol: Protocol, trial_override: int, phase_id: str, maximum: int
) -> None:
    count = enrolled_count(session, protocol.id, phase_id)
    if count >= maximum + trial_override:
        raise Conflict(
            f"enrolment limit reached for phase '{phase_id}': {count} of {maximum} enrolled"
            + (f" (+{trial_override} by override)" if trial_override else "")
            + "; an admin may grant an audited over-enrolment override",
            rule="enrolment_limit",
        )


def enrol(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    *,
    consent_date: dt.date,
    password: str,
    meaning: str = "I confirm this patient is eligible and consented, and I enrol them",
) -> Subject:
    """An investigator enrols an eligible, consented subject, signing with their password."""
    actor.require(Capability.SIGN_ENROLMENT)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    trial = get_trial(session, protocol.id, for_update=True)
    if not enrolment_allowed(trial.phase_state):
        raise Conflict(
            f"enrolment is closed: the trial is '{trial.phase_state}' ({trial.state_reason})",
            rule="enrolment_closed",
        )
    try:
        check_transition(subject.status, SubjectStatus.enrolled)
    except TransitionNotAllowed as exc:
        raise Conflict(str(exc), rule=exc.rule) from None
    today = clock.today()
    if consent_date > today:
        raise InvalidInput(f"consent date {consent_date} is in the future", field="consent_date")
    if consent_date > subject.screening_date:
        raise InvalidInput(
            f"consent date {consent_date} is after the screening date {subject.screening_date}: "
            "consent comes first",
            field="consent_date",
        )
    evaluation = evaluate_subject(session, actor, protocol, subject)
    if evaluation.verdict != "eligible":
        failing = [c["id"] for c in evaluation.criteria if c["status"] != "met"]
        raise Conflict(
            f"subject is {evaluation.verdict}, not eligible: {', '.join(failing)}", rule="IneligibleSubject"
        )
    phase = current_phase(protocol, trial.phase_state)
    if phase is None:
        raise Conflict("no phase is open for enrolment", rule="enrolment_closed")
    _check_capacity(session, protocol, trial.enrolment_override, phase.id, phase.target_size.max)
    evidence = {
        "subject": subject.screening_number,
        "verdict": evaluation.verdict,
        "criteria": evaluation.criteria,
        "consent_date": consent_date.isoformat(),
        "phase": phase.id,
    }
    sign(
        session,
        actor,
        password=password,
        meaning=meaning,
        evidence=evidence,
        shown_evidence_sha256=evidence_sha256(evidence),
        protocol_id=protocol.id,
        subject_id=subject.id,
    )
    subject.status = SubjectStatus.enrolled.value
    subject.consent_date = consent_date
    subject.phase_id = phase.id
    subject.arm_id = phase.arms[0] if phase.kind != "randomized" else None
    subject.enrolled_at = clock.now()
    session.flush()
    if phase.kind == "run_in" and enrolled_count(session, protocol.id, phase.id) >= phase.target_size.max:
        _close_run_in(session, trial, phase.id, phase.target_size.max)
    return subject


def _close_run_in(session: Session, trial: Trial, phase_id: str, size: int) -> None:
    reason = f"run-in phase '{phase_id}' reached its planned maximum of {size} subjects: safety review"
    record_transition(session, trial, PhaseState.run_in_review, reason, SYSTEM_ACTOR, None)


def change_status(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int, target: str, reason: str
) -> Subject:
    """Move a subject along the lifecycle (the allowed transitions are enforced, 409 otherwise)."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    if target == SubjectStatus.enrolled.value:
        raise Conflict("enrolment is a signed action: use the enrol endpoint", rule="signed_enrolment")
    try:
        check_transition(subject.status, target)
    except TransitionNotAllowed as exc:
        raise Conflict(str(exc), rule=exc.rule) from None
    except ValueError:
        raise InvalidInput(f"unknown status '{target}'", field="status") from None
    if len(reason.strip()) < 3:
        raise InvalidInput("a status change needs a reason", field="reason")
    subject.status = target
    subject.status_reason = reason.strip()
    session.flush()
    return subject


def list_subjects(session: Session, actor: Actor, protocol_id: str) -> list[Subject]:
    """The subjects of a trial that this user may see."""
    actor.require(Capability.READ_SUBJECTS)
    query = select(Subject).where(Subject.protocol_id == protocol_id).order_by(Subject.id)
    return [s for s in session.scalars(query) if actor.sees_site(s.site_id)]


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
