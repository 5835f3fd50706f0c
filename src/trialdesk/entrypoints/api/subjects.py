"""Subject API under ``/api/trials/{protocol_id}/subjects``: screen, attest, enrol, status,
randomize (adverse events: ``safety.py``). Another site's subject answers 404 (no existence leak)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.entrypoints.api.bounds import MAP_MAX, TEXT_MAX, Code, Name, Secret, Text
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.entrypoints.api.schemas import EnrolmentSignatureOut, RandomizedOut, SubjectOut, subject_out
from trialdesk.services import enrolment, randomization, signatures, subjects
from trialdesk.services.actors import visible_subject
from trialdesk.services.errors import NotFound
from trialdesk.services.follow_up import FollowUp, record_follow_up

router = APIRouter(prefix="/api/trials/{protocol_id}", tags=["subjects"])


class ScreenIn(BaseModel):
    site_code: Code
    patient: dict[str, Any] = Field(description="trialdesk patient JSON or a FHIR R4 Bundle")


class RecordIn(BaseModel):
    patient: dict[str, Any]
    reason: str = Field(min_length=3, max_length=TEXT_MAX)


class AttestIn(BaseModel):
    criterion_id: Code
    answer: bool
    reason: Text | None = Field(default=None, description="Required when changing an earlier answer")


class EnrolIn(BaseModel):
    consent_date: dt.date
    password: Secret = Field(description="The investigator re-enters their password to sign")
    meaning: Text = "I confirm this patient is eligible and consented, and I enrol them"


class StatusIn(BaseModel):
    status: Code
    reason: str = Field(min_length=3, max_length=TEXT_MAX)
    date: dt.date | None = Field(
        default=None, description="Clinical date of the change (default today; for 'died', the death date)"
    )


class FollowUpIn(BaseModel):
    treatment_start_date: dt.date | None = None
    treatment_end_date: dt.date | None = Field(
        default=None,
        description="Only the recorded value (or nothing): POST .../end-of-treatment records the end",
    )
    discontinuation_reason: Text | None = Field(
        default=None,
        description="Only the recorded value (or nothing): the end of treatment's detail sets it",
    )
    new_anticancer_therapy_date: dt.date | None = None
    last_known_alive_date: dt.date | None = None
    death_date: dt.date | None = None
    reason: Text | None = Field(default=None, description="Required when correcting a stored date")


class RandomizeIn(BaseModel):
    strata: dict[Code, Name] = Field(
        default_factory=dict, max_length=MAP_MAX, description="Stratification factor levels"
    )


@router.post("/subjects", response_model=SubjectOut, status_code=201)
def screen(body: ScreenIn, actor: CurrentActor, protocol: ProtocolDep, request: Request) -> SubjectOut:
    """Screen a patient at a site: stores the record and the criterion-by-criterion evaluation."""

    def work(session: Session) -> SubjectOut:
        outcome = subjects.screen(session, actor, protocol, body.site_code, body.patient)
        return subject_out(outcome.subject, outcome.evaluation)

    return run(request, actor.username, work)


@router.get("/subjects", response_model=list[SubjectOut], responses=PAGINATED)
def list_subjects(
    actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[SubjectOut]:
    """Subjects the user may see, by id, one page at a time (``limit``/``offset``; total in
    ``X-Total-Count``)."""

    def work(session: Session) -> list[SubjectOut]:
        found, total = subjects.subject_page(
            session, actor, protocol.id, limit=page.limit, offset=page.offset
        )
        page.set_total(total)
        return [subject_out(x) for x in found]

    return run(request, actor.username, work, write=False)


@router.get("/subjects/{subject_id}", response_model=SubjectOut)
def get_subject(subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request) -> SubjectOut:
    """One subject with their latest eligibility evaluation."""

    def work(session: Session) -> SubjectOut:
        subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
        return subject_out(subject, subjects.latest_evaluation(session, subject.id))

    return run(request, actor.username, work, write=False)


@router.get("/subjects/{subject_id}/enrolment-signature", response_model=EnrolmentSignatureOut)
def enrolment_signature(subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request) -> Any:
    """The subject's signed enrolment: signer, time, meaning and the evidence signed (criteria, consent,
    the attestations with the users who made them); 404 before enrolment."""

    def work(session: Session) -> Any:
        subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
        found = signatures.enrolment_signature(session, subject.id)
        if found is None:
            raise NotFound(f"subject {subject_id} has no signed enrolment")
        return found

    return run(request, actor.username, work, write=False)


@router.put("/subjects/{subject_id}/record", response_model=SubjectOut)
def update_record(
    subject_id: int, body: RecordIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> SubjectOut:
    """Correct a screening subject's data (reason required) and re-evaluate."""

    def work(session: Session) -> SubjectOut:
        outcome = subjects.update_record(session, actor, protocol, subject_id, body.patient)
        return subject_out(outcome.subject, outcome.evaluation)

    return run(request, actor.username, work, reason=body.reason)


@router.post("/subjects/{subject_id}/attestations", response_model=SubjectOut)
def attest(
    subject_id: int, body: AttestIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> SubjectOut:
    """An investigator records the answer to a judgement criterion; eligibility is re-evaluated."""

    def work(session: Session) -> SubjectOut:
        outcome = subjects.attest(session, actor, protocol, subject_id, body.criterion_id, body.answer)
        return subject_out(outcome.subject, outcome.evaluation)

    return run(request, actor.username, work, reason=body.reason)


@router.post("/subjects/{subject_id}/enrol", response_model=SubjectOut)
def enrol(
    subject_id: int, body: EnrolIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> SubjectOut:
    """Enrol an eligible, consented subject; signed by an investigator (password re-entered)."""

    def work(session: Session) -> SubjectOut:
        subject = enrolment.enrol(
            session,
            actor,
            protocol,
            subject_id,
            consent_date=body.consent_date,
            password=body.password,
            meaning=body.meaning,
        )
        return subject_out(subject, subjects.latest_evaluation(session, subject.id))

    return run(request, actor.username, work, reason="enrolment")


@router.post("/subjects/{subject_id}/status", response_model=SubjectOut)
def change_status(
    subject_id: int, body: StatusIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> SubjectOut:
    """Move a subject along the lifecycle; a transition the lifecycle forbids is a 409 naming the rule."""
    return run(
        request,
        actor.username,
        lambda s: subject_out(
            enrolment.change_status(s, actor, protocol, subject_id, body.status, body.reason, body.date)
        ),
        reason=body.reason,
    )


@router.put("/subjects/{subject_id}/follow-up", response_model=SubjectOut)
def follow_up(
    subject_id: int, body: FollowUpIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> SubjectOut:
    """Treatment start/end (with discontinuation reason), new anti-cancer therapy, last known alive, death."""
    data = FollowUp(**body.model_dump(exclude={"reason"}))
    return run(
        request,
        actor.username,
        lambda s: subject_out(record_follow_up(s, actor, protocol, subject_id, data)),
        reason=body.reason,
    )


@router.post("/subjects/{subject_id}/randomize", response_model=RandomizedOut)
def randomize(
    subject_id: int, body: RandomizeIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> dict[str, Any]:
    """Assign the next slot of the subject's stratum, atomically (phase IIb only)."""

    def work(session: Session) -> dict[str, Any]:
        allocation = randomization.randomize(session, actor, protocol, subject_id, body.strata)
        return {
            "subject_id": allocation.subject_id,
            "arm": allocation.arm_id,
            "stratum": allocation.stratum,
            "strata_values": allocation.strata_values,
            "allocated_at": allocation.allocated_at.isoformat(),
        }

    return run(request, actor.username, work, reason="randomization")
