"""SQLAlchemy 2 ORM models of the trial database.

The schema is created by Alembic migrations (``migrations/versions``), never by ``create_all``.
Models that carry trial data inherit :class:`Audited`: every insert, update and delete of their
rows is written to the append-only, hash-chained audit log by :mod:`trialdesk.adapters.db.audit`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of all tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Audited:
    """Mixin: changes to rows of this model are audited field by field."""

    __audit_exclude__: ClassVar[frozenset[str]] = frozenset()


class Site(Audited, Base):
    """A participating centre of one trial."""

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("protocol_id", "code", name="uq_site_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class User(Audited, Base):
    """A person using the system, with one role; site roles are limited to their sites."""

    __tablename__ = "users"
    __audit_exclude__ = frozenset({"password_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Set by an administrator's password reset: the user must choose a new password before anything else."""
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class UserSite(Audited, Base):
    """Membership of a user in a site."""

    __tablename__ = "user_sites"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)


class AuthToken(Base):
    """A short-lived bearer token; only its SHA-256 is stored."""

    __tablename__ = "auth_tokens"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """A failed sign-in for a username (known or not): enough of them in the lock-out window lock that
    username for a while. Not audited as a row (the audit trail records each failure as a security
    event); rows older than the window are deleted."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username", "username", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Trial(Audited, Base):
    """A loaded protocol's running state: its phase state machine and why it is there."""

    __tablename__ = "trials"

    protocol_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    protocol_version: Mapped[str] = mapped_column(String(32))
    phase_state: Mapped[str] = mapped_column(String(32))
    state_reason: Mapped[str] = mapped_column(Text)
    enrolment_override: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Subject(Audited, Base):
    """A screened patient and, once enrolled, a trial subject."""

    __tablename__ = "subjects"
    __table_args__ = (
        UniqueConstraint("protocol_id", "screening_number", name="uq_subject_screening_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    screening_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    screening_date: Mapped[date] = mapped_column(Date)
    patient_record: Mapped[dict[str, Any]] = mapped_column(JSON)
    consent_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    phase_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    arm_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    treatment_start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    treatment_end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    discontinuation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    end_of_treatment_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """Coded reason treatment ended (progression, toxicity, withdrawal, investigator decision, completed);
    ``discontinuation_reason`` holds the free-text detail."""
    end_of_treatment_ae_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The adverse event that ended treatment, when the reason is toxicity."""
    end_of_study_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_of_study_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """Coded reason the subject left the study (death, consent withdrawn, lost to follow-up, study
    terminated, completed); a subject off treatment stays in survival follow-up until then."""
    new_anticancer_therapy_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_known_alive_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    death_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    """Clinical date of the latest status change (e.g. the day consent was withdrawn)."""
    proposed_attestations: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """Attestations that came inside a submitted record (criterion id -> answer, claimed by, claimed at,
    submitted by): shown as proposals until an investigator attests; never counted by the verdict."""


class EligibilityEvaluation(Audited, Base):
    """One stored evaluation of a subject's eligibility, criterion by criterion."""

    __tablename__ = "eligibility_evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    protocol_version: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str] = mapped_column(String(16))
    criteria: Mapped[list[Any]] = mapped_column(JSON)
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    evaluated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Attestation(Audited, Base):
    """An investigator's recorded answer to a judgement criterion (who, when, answer)."""

    __tablename__ = "attestations"
    __table_args__ = (UniqueConstraint("subject_id", "criterion_id", name="uq_attestation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    criterion_id: Mapped[str] = mapped_column(String(64))
    answer: Mapped[bool] = mapped_column(Boolean)
    attested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    attested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Signature(Audited, Base):
    """An electronic signature: who, when, what it means, bound to a hash of the evidence shown."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    protocol_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), nullable=True)
    meaning: Mapped[str] = mapped_column(Text)
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    evidence: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    """The evidence as signed (its SHA-256 is ``evidence_sha256``)."""


class RandomizationList(Audited, Base):
    """A pre-generated allocation list (stratified permuted blocks); never shown to site roles."""

    __tablename__ = "randomization_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64), index=True)
    phase_id: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(32))
    seed_hex: Mapped[str] = mapped_column(String(128))
    seed_sha256: Mapped[str] = mapped_column(String(64))
    list_sha256: Mapped[str] = mapped_column(String(64))
    slots_per_stratum: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AllocationSlot(Audited, Base):
    """One slot of a randomization list; ``subject_id`` is set once, atomically, when used."""

    __tablename__ = "allocation_slots"
    __table_args__ = (UniqueConstraint("list_id", "stratum", "sequence", name="uq_slot_sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("randomization_lists.id"), index=True)
    stratum: Mapped[str] = mapped_column(String(255))
    sequence: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(Integer)
    block_size: Mapped[int] = mapped_column(Integer)
    arm_id: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), unique=True, nullable=True)


class StratumCounter(Base):
    """Next unused slot per (list, stratum): one atomic UPDATE ... RETURNING claims a slot."""

    __tablename__ = "stratum_counters"

    list_id: Mapped[int] = mapped_column(ForeignKey("randomization_lists.id"), primary_key=True)
    stratum: Mapped[str] = mapped_column(String(255), primary_key=True)
    next_sequence: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)


class Allocation(Audited, Base):
    """A subject's allocation to an arm, with the stratum values used; one per subject."""

    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), unique=True)
    protocol_id: Mapped[str] = mapped_column(String(64), index=True)
    phase_id: Mapped[str] = mapped_column(String(32))
    arm_id: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(32))
    stratum: Mapped[str] = mapped_column(String(255))
    strata_values: Mapped[dict[str, Any]] = mapped_column(JSON)
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_slots.id"), unique=True, nullable=True)
    allocated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    allocated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class AdverseEvent(Audited, Base):
    """One episode of an adverse event (CTCAE v5.0 term and grade, dates, SAE criteria, outcome,
    action taken and the investigator's attribution per treatment component of the subject's arm).

    A grade change is either an audited update of this row (reason required) or a new episode whose
    ``previous_episode_id`` points here. The maximum grade per term is derived, never stored.
    """

    __tablename__ = "adverse_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    term: Mapped[str] = mapped_column(String(200))
    grade: Mapped[int] = mapped_column(Integer)
    onset_date: Mapped[date] = mapped_column(Date)
    death_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    attributions: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    soc: Mapped[str | None] = mapped_column(String(120), nullable=True)
    verbatim: Mapped[str | None] = mapped_column(Text, nullable=True)
    needs_coding: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    resolution_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    serious: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    sae_criteria: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    site_aware_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sae_reported_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action_taken: Mapped[str | None] = mapped_column(String(32), nullable=True)
    previous_episode_id: Mapped[int | None] = mapped_column(ForeignKey("adverse_events.id"), nullable=True)
    lab_result_id: Mapped[int | None] = mapped_column(ForeignKey("lab_results.id"), nullable=True)
    recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    baseline_condition: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """A condition present before consent (medical history / baseline sign), so its onset may precede
    the consent date; every other AE starts on or after consent."""


class PhaseTransition(Audited, Base):
    """A move of the trial's phase state machine, with its reason and (where needed) signature."""

    __tablename__ = "phase_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64), index=True)
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signatures.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by_user: Mapped[str] = mapped_column(String(64))


class AuditRecord(Base):
    """One append-only audit row, chained to the previous one by SHA-256 (see ``audit``)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    field: Mapped[str | None] = mapped_column(String(64), nullable=True)
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    subject_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """Single row holding the chain head; locking it serializes audit writers."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class TumourBaseline(Audited, Base):
    """A subject's baseline tumour assessment: lesions with role, site and size (RECIST 1.1 s3-4)."""

    __tablename__ = "tumour_baselines"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), unique=True)
    date: Mapped[date] = mapped_column(Date)
    lesions: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TumourAssessment(Audited, Base):
    """One follow-up tumour assessment of a subject at a visit (measurements as entered)."""

    __tablename__ = "tumour_assessments"
    __table_args__ = (UniqueConstraint("subject_id", "visit", name="uq_assessment_visit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    visit: Mapped[str] = mapped_column(String(64))
    date: Mapped[date] = mapped_column(Date)
    measurements: Mapped[dict[str, Any]] = mapped_column(JSON)
    non_target: Mapped[dict[str, Any]] = mapped_column(JSON)
    new_lesions: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ResponseEvaluation(Audited, Base):
    """The computed responses of a subject under one rule set, recomputed whenever the data change."""

    __tablename__ = "response_evaluations"
    __table_args__ = (UniqueConstraint("subject_id", "rules", name="uq_response_rules"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    rules: Mapped[str] = mapped_column(String(16))
    best_overall_response: Mapped[str | None] = mapped_column(String(32), nullable=True)
    progression_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ResponseOverride(Audited, Base):
    """An investigator's override of a computed response, shown beside it (never replacing it)."""

    __tablename__ = "response_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    rules: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(64))
    computed_value: Mapped[str | None] = mapped_column(String(32), nullable=True)
    override_value: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    overridden_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    overridden_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LabResultRow(Audited, Base):
    """A laboratory result entered or imported for a subject: as entered (value, unit, LLN/ULN in that
    unit) and in the test's canonical unit; ``is_baseline`` marks the pre-treatment reference.

    The stored row; the lab-result value type is :class:`trialdesk.domain.labs.result.LabResult`."""

    __tablename__ = "lab_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    test: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    lln: Mapped[float | None] = mapped_column(Float, nullable=True)
    uln: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_canonical: Mapped[float] = mapped_column(Float)
    lln_canonical: Mapped[float | None] = mapped_column(Float, nullable=True)
    uln_canonical: Mapped[float | None] = mapped_column(Float, nullable=True)
    collected_date: Mapped[date] = mapped_column(Date)
    is_baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16))
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SafetyAlert(Audited, Base):
    """A safety alert for the safety reviewers and the coordinating centre (grade-5 AE, late SAE,
    stopping rule met or no longer met, toxicity boundary crossed); acknowledging it is audited."""

    __tablename__ = "safety_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), nullable=True, index=True)
    adverse_event_id: Mapped[int | None] = mapped_column(ForeignKey("adverse_events.id"), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    recipients: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledgement_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class DrugAdministration(Audited, Base):
    """One dose of a drug given to a subject (a cycle's day-1 administration of one agent).

    ``planned_dose_mg`` is derived by the server from the protocol's dose and the body size recorded
    with the administration (Mosteller BSA, Calvert), never taken from the client."""

    __tablename__ = "drug_administrations"
    __table_args__ = (UniqueConstraint("subject_id", "agent", "cycle", name="uq_administration_cycle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    agent: Mapped[str] = mapped_column(String(64))
    cycle: Mapped[int] = mapped_column(Integer)
    date: Mapped[date] = mapped_column(Date)
    height_cm: Mapped[float | None] = mapped_column(Float, nullable=True)
    weight_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    planned_dose_mg: Mapped[float] = mapped_column(Float)
    given_dose_mg: Mapped[float] = mapped_column(Float)
    deviation_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    deviation_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    adverse_event_id: Mapped[int | None] = mapped_column(ForeignKey("adverse_events.id"), nullable=True)
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VisitRecord(Audited, Base):
    """What happened to one scheduled visit of a subject's calendar: done (with the date), missed or
    not required (with the reason)."""

    __tablename__ = "visit_records"
    __table_args__ = (UniqueConstraint("subject_id", "visit_id", name="uq_visit_record"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    visit_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    date: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RtFraction(Audited, Base):
    """One radiotherapy fraction delivered: course (the protocol's RT intervention), number, date and
    dose (Gy) to a target."""

    __tablename__ = "rt_fractions"
    __table_args__ = (
        UniqueConstraint("subject_id", "intervention", "fraction_number", name="uq_rt_fraction_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    intervention: Mapped[str] = mapped_column(String(64))
    fraction_number: Mapped[int] = mapped_column(Integer)
    date: Mapped[date] = mapped_column(Date)
    dose_gy: Mapped[float] = mapped_column(Float)
    target: Mapped[str] = mapped_column(String(200))
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RtCourseOutcome(Audited, Base):
    """How a radiotherapy course ended: completed, or stopped early (date and reason)."""

    __tablename__ = "rt_course_outcomes"
    __table_args__ = (UniqueConstraint("subject_id", "intervention", name="uq_rt_course_outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    intervention: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProtocolDeviation(Audited, Base):
    """A protocol deviation recorded by site staff or a monitor (derived deviations are computed from
    the data, not stored)."""

    __tablename__ = "protocol_deviations"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    action_taken: Mapped[str | None] = mapped_column(Text, nullable=True)
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsentRecord(Audited, Base):
    """One informed-consent form version signed by a subject: date and the staff member who obtained it."""

    __tablename__ = "consent_records"
    __table_args__ = (UniqueConstraint("subject_id", "version", name="uq_consent_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    consent_date: Mapped[date] = mapped_column(Date)
    obtained_by: Mapped[str] = mapped_column(String(64))
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IpReceipt(Audited, Base):
    """A shipment of investigational product received by a site pharmacy: lot, expiry, quantity."""

    __tablename__ = "ip_receipts"
    __table_args__ = (Index("ix_ip_receipts_protocol_site", "protocol_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    agent: Mapped[str] = mapped_column(String(64))
    lot_number: Mapped[str] = mapped_column(String(64))
    expiry_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16))
    received_date: Mapped[date] = mapped_column(Date)
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IpDispensation(Audited, Base):
    """Investigational product dispensed for a subject (lot, expiry, quantity) and what came back unused."""

    __tablename__ = "ip_dispensations"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    agent: Mapped[str] = mapped_column(String(64))
    cycle: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lot_number: Mapped[str] = mapped_column(String(64))
    expiry_date: Mapped[date] = mapped_column(Date)
    dispensed_date: Mapped[date] = mapped_column(Date)
    quantity_dispensed: Mapped[int] = mapped_column(Integer)
    quantity_returned: Mapped[int | None] = mapped_column(Integer, nullable=True)
    returned_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    unit: Mapped[str] = mapped_column(String(16))
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LesionRtField(Audited, Base):
    """Whether a baseline tumour lesion lies in a radiotherapy field (and which course and target), fixed
    when RT is planned; the RECIST engine reports irradiated and non-irradiated lesions apart."""

    __tablename__ = "lesion_rt_fields"
    __table_args__ = (UniqueConstraint("subject_id", "lesion_id", name="uq_lesion_rt_field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    lesion_id: Mapped[str] = mapped_column(String(64))
    in_field: Mapped[bool] = mapped_column(Boolean)
    intervention: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FormRecord(Audited, Base):
    """One case report form filled for a subject at a visit (``visit_id`` None: a log form), the
    ``repeat_index``-th of a repeating form; ``status`` incomplete or complete. ``updated_at`` is not
    audited (the audit row of each value change carries its own time)."""

    __tablename__ = "form_records"
    __audit_exclude__ = frozenset({"updated_at"})
    __table_args__ = (
        CheckConstraint("repeat_index >= 1", name="ck_form_records_repeat_index"),
        Index(
            "uq_form_records_key",
            "subject_id",
            "form_id",
            text("coalesce(visit_id, '')"),
            "repeat_index",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    form_id: Mapped[str] = mapped_column(String(64))
    visit_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    repeat_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    entered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FormValue(Audited, Base):
    """One field's value of a form record, as JSON text (dates ISO), in the field's unit."""

    __tablename__ = "form_values"
    __table_args__ = (UniqueConstraint("record_id", "field_id", name="uq_form_values_field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("form_records.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    field_id: Mapped[str] = mapped_column(String(64))
    value_json: Mapped[str] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(32), nullable=True)
    entered_by: Mapped[str] = mapped_column(String(64))


class DataQuery(Audited, Base):
    """A question on a field (or a whole record) of a subject's data: opened by a monitor, a data
    manager or an edit check (``origin`` system, with ``check_id``/``check_version`` and the
    idempotency ``system_key``), answered by the site, closed, re-opened or cancelled by the monitor or
    data manager. ``target_table``/``target_id``/``field`` name the value questioned."""

    __tablename__ = "data_queries"
    __table_args__ = (
        UniqueConstraint("system_key", name="uq_data_queries_system_key"),
        Index("ix_data_queries_protocol_status", "protocol_id", "status"),
        Index("ix_data_queries_target", "target_table", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    target_table: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(64), nullable=True)
    form_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    visit_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    origin: Mapped[str] = mapped_column(String(16))
    check_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    check_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    system_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QueryMessage(Audited, Base):
    """One message of a query's thread: the opening question, an answer, a closing or re-opening note."""

    __tablename__ = "query_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("data_queries.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SdvMark(Audited, Base):
    """A monitor's source data verification of one field (``field`` "*": the whole record), bound to the
    SHA-256 of the value verified: a later change of the value makes it unverified again."""

    __tablename__ = "sdv_marks"
    __table_args__ = (UniqueConstraint("target_table", "target_id", "field", name="uq_sdv_marks_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    target_table: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(64))
    value_sha256: Mapped[str] = mapped_column(String(64))
    verified_by: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CasebookSignoff(Audited, Base):
    """The investigator's sign-off of a subject's casebook: an e-signature bound to the SHA-256 of the
    data signed; any later change of that data invalidates it (``invalidated_at``)."""

    __tablename__ = "casebook_signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signatures.id"))
    data_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    invalidated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    invalidation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class DataLock(Audited, Base):
    """A freeze or lock of trial data: ``scope`` form_record, subject, cutoff (all data up to a date) or
    database; a freeze stops entry until it is lifted with a reason, a lock stops every change and is
    released only by two people of two unlocking roles, each with a reason (a request, then a release).
    ``content_sha256`` is the hash of the data locked (the report built from it says so)."""

    __tablename__ = "data_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), nullable=True, index=True)
    form_record_id: Mapped[int | None] = mapped_column(ForeignKey("form_records.id"), nullable=True)
    cutoff_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    release_requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    release_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    release_request_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    release_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
