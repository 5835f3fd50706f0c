"""Use cases of enrolment and the subject lifecycle: enrol (signed by an investigator), change a
subject's status, and the admin's audited enrolment-limit override.

Screening and attestation are in :mod:`trialdesk.services.subjects`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import Subject, Trial
from trialdesk.domain.disposition import STATUS_EOS
from trialdesk.domain.eligibility.patient import PatientRecord
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.randomization.errors import IneligibleSubject
from trialdesk.domain.roles import Capability
from trialdesk.domain.subjects import SubjectStatus, TransitionNotAllowed, check_transition
from trialdesk.domain.trial_phase import PhaseState, current_phase, enrolment_allowed
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_event_date, check_free_text
from trialdesk.services.consent_records import record_screening_consent
from trialdesk.services.disposition import EndOfStudyInput, close_study
from trialdesk.services.errors import Conflict, InvalidInput
from trialdesk.services.signatures import evidence_sha256, sign
from trialdesk.services.subjects import attestation_rows, evaluate_subject
from trialdesk.services.trials import SYSTEM_ACTOR, enrolled_count, get_trial, record_transition


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
    record_screening_consent(session, protocol, subject, actor.username)
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
    before screening nor after the death; for ``died`` it is the death date. A study exit (``died``,
    ``withdrawn``, ``lost_to_follow_up``, ``completed``) records the end of study with the matching coded
    reason, by the rules of :func:`trialdesk.services.disposition.close_study` (and the end of treatment
    the same day when the treatment had not ended)."""
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    if target == SubjectStatus.enrolled.value:
        raise Conflict("enrolment is a signed action: use the enrol endpoint", rule="signed_enrolment")
    if target == SubjectStatus.off_treatment.value:
        raise Conflict(
            "the end of treatment is recorded with its date and coded reason (the end-of-treatment "
            "endpoint), which moves the status to off treatment",
            rule="coded_end_of_treatment",
        )
    try:
        check_transition(subject.status, target)
    except TransitionNotAllowed:
        raise  # a domain rule error: mapped to 409 once (services/errors.describe)
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
    exit_reason = STATUS_EOS.get(SubjectStatus(target))
    if exit_reason is not None:  # a study exit is the end of study (and of treatment, when ongoing)
        close_study(session, subject, EndOfStudyInput(day, exit_reason, detail=reason))
    subject.status_date = day
    subject.status = target
    subject.status_reason = reason.strip()
    session.flush()
    return subject


def grant_enrolment_override(session: Session, actor: Actor, protocol: Protocol, additional: int) -> Trial:
    """An admin grants ``additional`` places beyond the planned size (audited with the unit of work's
    reason)."""
    actor.require(Capability.OVERRIDE_ENROLMENT_LIMIT)
    trial = get_trial(session, protocol.id, for_update=True)
    trial.enrolment_override += additional
    session.flush()
    return trial
