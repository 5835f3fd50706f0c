"""Use cases of the subject lifecycle: screen, attest, enrol (signed), change status, screening log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import Attestation, EligibilityEvaluation, Site, Subject, Trial, User
from trialdesk.domain.eligibility.evaluator import EligibilityResult, evaluate
from trialdesk.domain.eligibility.patient import Attestation as RecordedAttestation
from trialdesk.domain.eligibility.patient import PatientRecord
from trialdesk.domain.eligibility.rules import is_attestable
from trialdesk.domain.eligibility.validation import PatientDataError
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.randomization.errors import IneligibleSubject
from trialdesk.domain.roles import Capability
from trialdesk.domain.subjects import SubjectStatus, check_transition
from trialdesk.domain.trial_phase import PhaseState, current_phase, enrolment_allowed
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_event_date, check_free_text
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
    """The stored patient record with ONLY the attestations investigators recorded through
    :func:`attest` (who and when from the user table); answers that came inside a submitted record
    are proposals (:attr:`Subject.proposed_attestations`) and never count."""
    record = PatientRecord.model_validate(subject.patient_record)
    answers = {
        criterion_id: RecordedAttestation(answer=answer, by=f"{name} ({username})", at=at, role=role)
        for criterion_id, answer, name, username, role, at in attestation_rows(session, subject.id)
    }
    return record.model_copy(update={"attestations": answers})


def attestation_rows(session: Session, subject_id: int) -> list[tuple[str, bool, str, str, str, dt.datetime]]:
    """(criterion, answer, full name, username, role, when) of each recorded attestation."""
    rows = session.execute(
        select(
            Attestation.criterion_id,
            Attestation.answer,
            User.full_name,
            User.username,
            User.role,
            Attestation.attested_at,
        )
        .join(User, User.id == Attestation.attested_by)
        .where(Attestation.subject_id == subject_id)
        .order_by(Attestation.criterion_id)
    )
    return [tuple(row) for row in rows]


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
    duplicate = session.scalars(
        select(Subject.id).where(Subject.protocol_id == protocol.id, Subject.screening_number == record.id)
    ).first()
    if duplicate is not None:
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
    check_transition(subject.status, SubjectStatus.enrolled)
    today = clock.today()
    if consent_date > today:
        raise InvalidInput(f"consent date {consent_date} is in the future", field="consent_date")
    if consent_date > subject.screening_date:
        raise InvalidInput(
            f"consent date {consent_date} is after the screening date {subject.screening_date}: "
            "consent comes first",
            field="consent_date",
        )
    _check_consent_on_record(subject, consent_date)
    _check_screening_current(protocol, subject, today)
    evaluation = evaluate_subject(session, actor, protocol, subject)
    if evaluation.verdict != "eligible":
        failing = [c["id"] for c in evaluation.criteria if c["status"] != "met"]
        raise IneligibleSubject(f"subject is {evaluation.verdict}, not eligible: {', '.join(failing)}")
    phase = current_phase(protocol, trial.phase_state)
    if phase is None:
        raise Conflict("no phase is open for enrolment", rule="enrolment_closed")
    _check_capacity(session, protocol, trial.enrolment_override, phase.id, phase.target_size.max)
    evidence = {
        "subject": subject.screening_number,
        "verdict": evaluation.verdict,
        "criteria": evaluation.criteria,
        "consent_date": consent_date.isoformat(),
        "screening_date": subject.screening_date.isoformat(),
        "phase": phase.id,
        "attestations": [
            {"criterion": c, "answer": a, "by": f"{name} ({username})", "role": role, "at": at.isoformat()}
            for c, a, name, username, role, at in attestation_rows(session, subject.id)
        ],
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


def _check_consent_on_record(subject: Subject, consent_date: dt.date) -> None:
    """The consent date given at enrolment must be the signed consent on the subject's record."""
    consent = PatientRecord.model_validate(subject.patient_record).consent
    if consent is None:
        raise Conflict(
            "the subject's record has no signed consent: record the consent before enrolling",
            rule="consent_on_record",
        )
    if consent.signed_date != consent_date:
        raise Conflict(
            f"consent date {consent_date} differs from the signed consent on the record "
            f"({consent.signed_date})",
            rule="consent_on_record",
        )


def _check_screening_current(protocol: Protocol, subject: Subject, enrolment_date: dt.date) -> None:
    """The screening verdict must be no older than the protocol's screening window at enrolment."""
    window = protocol.eligibility.screening_window_days.value
    age = (enrolment_date - subject.screening_date).days
    if age > window:
        raise Conflict(
            f"the screening of {subject.screening_date} is {age} days old at the enrolment date "
            f"{enrolment_date}; the protocol's screening window is {window} days: screen the patient again",
            rule="screening_window",
        )


def _close_run_in(session: Session, trial: Trial, phase_id: str, size: int) -> None:
    reason = f"run-in phase '{phase_id}' reached its planned maximum of {size} subjects: safety review"
    record_transition(session, trial, PhaseState.run_in_review, reason, SYSTEM_ACTOR, None)


def change_status(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    target: str,
    reason: str,
    on: dt.date | None = None,
) -> Subject:
    """Move a subject along the lifecycle (the allowed transitions are enforced, 409 otherwise).

    ``on`` is the clinical date of the change (default: today on the trial clock): a clinical date not
    before screening nor after the death; for ``died`` it is the death date."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    if target == SubjectStatus.enrolled.value:
        raise Conflict("enrolment is a signed action: use the enrol endpoint", rule="signed_enrolment")
    try:
        check_transition(subject.status, target)
    except ValueError:
        raise InvalidInput(f"unknown status '{target}'", field="status") from None
    check_free_text("reason", reason)
    if len(reason.strip()) < 3:
        raise InvalidInput("a status change needs a reason", field="reason")
    if target == SubjectStatus.died.value and subject.death_date is None:
        raise InvalidInput(
            "status 'died' needs the death date: record it in the follow-up first", field="death_date"
        )
    day = subject.death_date if target == SubjectStatus.died.value else (on or clock.today())
    assert day is not None  # a death date is required above
    check_event_date(subject, "date", day)
    if day < subject.screening_date:
        raise InvalidInput(f"date: {day} is before the screening {subject.screening_date}", field="date")
    subject.status_date = day
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
