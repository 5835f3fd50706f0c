"""Informed-consent API: a subject's signed consent versions and re-consent, and the re-consents due
at the user's sites."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.domain.consent import ReconsentDue
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.services import consent
from trialdesk.services.consent import ConsentEntry

router = APIRouter(prefix="/api/trials/{protocol_id}", tags=["informed consent"])


class ConsentIn(BaseModel):
    version: str = Field(max_length=32, description="Consent-form version signed (a protocol version)")
    consent_date: dt.date = Field(description="Date the subject signed (not in the future)")
    obtained_by: str = Field(
        max_length=64, description="Username of the site coordinator or investigator who obtained it"
    )


class ConsentOut(BaseModel):
    version: str
    consent_date: dt.date
    obtained_by: str | None
    obtained_by_name: str | None
    entered_by: str | None
    screening: bool = Field(description="The consent given at screening")
    stored: bool = Field(description="False: a screening consent back-filled from the subject's record")


class ReconsentOut(BaseModel):
    version: str = Field(description="The version the subject must sign")
    effective_date: dt.date
    latest_signed: str | None
    visit_id: str | None = Field(description="The visit re-consent is due at (None: next contact)")
    visit_label: str | None
    due_date: dt.date | None
    overdue: bool


class VersionOut(BaseModel):
    version: str
    effective_date: dt.date
    provenance: str
    summary: str | None


class SubjectConsentsOut(BaseModel):
    versions: list[VersionOut]
    consents: list[ConsentOut]
    reconsent: ReconsentOut | None


class DueReconsentOut(ReconsentOut):
    subject_id: int
    screening_number: str
    site_code: str


def consent_out(entry: ConsentEntry) -> ConsentOut:
    return ConsentOut.model_validate(entry, from_attributes=True)


def reconsent_out(due: ReconsentDue) -> ReconsentOut:
    visit = due.visit
    return ReconsentOut(
        version=due.version,
        effective_date=due.effective_date,
        latest_signed=due.latest_signed,
        visit_id=visit.visit_id if visit else None,
        visit_label=visit.label if visit else None,
        due_date=visit.date if visit else None,
        overdue=due.overdue,
    )


@router.get("/subjects/{subject_id}/consents", response_model=SubjectConsentsOut)
def subject_consents(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> SubjectConsentsOut:
    """The protocol's consent versions, the subject's consents and the re-consent due (if any)."""

    def work(session: Session) -> SubjectConsentsOut:
        found = consent.subject_consents(session, actor, protocol, subject_id)
        return SubjectConsentsOut(
            versions=[VersionOut.model_validate(v, from_attributes=True) for v in protocol.consent_versions],
            consents=[consent_out(e) for e in found.consents],
            reconsent=reconsent_out(found.due) if found.due else None,
        )

    return run(request, actor.username, work, write=False)


@router.post("/subjects/{subject_id}/consents", response_model=ConsentOut, status_code=201)
def record_consent(
    subject_id: int, body: ConsentIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> ConsentOut:
    """Record a consent version the subject signed (site staff of the subject's site)."""
    return run(
        request,
        actor.username,
        lambda s: consent_out(consent.record_consent(s, actor, protocol, subject_id, **body.model_dump())),
    )


@router.get("/reconsent-due", response_model=list[DueReconsentOut], responses=PAGINATED)
def reconsent_due(
    actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[DueReconsentOut]:
    """Subjects who must sign the current consent version (site staff: their sites; monitor: all),
    overdue first."""

    def work(session: Session) -> list[DueReconsentOut]:
        return [
            DueReconsentOut(
                **reconsent_out(d.due).model_dump(),
                subject_id=d.subject_id,
                screening_number=d.screening_number,
                site_code=d.site_code,
            )
            for d in consent.reconsents_due(session, actor, protocol)
        ]

    return page.window(run(request, actor.username, work, write=False))
