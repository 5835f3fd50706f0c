"""Source data verification API (issue 14): a subject's planned SDV items and their states, the
monitor's verification of a field or a whole record, progress per site, and the data team's listings."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.services import listings, sdv
from trialdesk.services.sdv import SdvItem

router = APIRouter(prefix="/api", tags=["data management"])


class SdvItemOut(BaseModel):
    subject_id: int
    table: str
    record_id: str
    field: str
    label: str
    current_sha256: str
    state: str = Field(description="verified, unverified, or changed (since verification: verify again)")
    verified_by: str | None
    verified_at: dt.datetime | None


class VerifyIn(BaseModel):
    table: str = Field(max_length=64, description="form_records, adverse_events, tumour_assessments...")
    record_id: str = Field(max_length=64)
    field: str = Field(default="*", max_length=64, description="A planned field, or * for the whole record")


class SiteProgressOut(BaseModel):
    site_code: str
    planned: int
    verified: int
    changed: int
    percent: float


def items_out(items: list[SdvItem]) -> list[SdvItemOut]:
    """The API view of SDV items."""
    return [SdvItemOut(**item.__dict__) for item in items]


@router.get(
    "/trials/{protocol_id}/subjects/{subject_id}/sdv", response_model=list[SdvItemOut], responses=PAGINATED
)
def subject_sdv(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[SdvItemOut]:
    """The subject's planned SDV items (risk-based plan of the protocol) and their states."""
    work = lambda s: items_out(sdv.subject_items(s, actor, protocol, subject_id))  # noqa: E731
    return page.window(run(request, actor.username, work, write=False))


@router.post("/trials/{protocol_id}/subjects/{subject_id}/sdv", response_model=list[SdvItemOut])
def verify(
    subject_id: int, body: VerifyIn, actor: CurrentActor, protocol: ProtocolDep, request: Request
) -> list[SdvItemOut]:
    """Verify a planned field, or every planned field of a record (monitor); the value hash is stored."""

    def work(session: Session) -> list[SdvItemOut]:
        return items_out(
            sdv.verify(session, actor, protocol, subject_id, body.table, body.record_id, body.field)
        )

    return run(request, actor.username, work)


@router.get("/trials/{protocol_id}/sdv/progress", response_model=list[SiteProgressOut], responses=PAGINATED)
def sdv_progress(
    actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[SiteProgressOut]:
    """SDV progress per site: planned items, verified, changed since verification, percent verified."""

    def work(session: Session) -> list[SiteProgressOut]:
        return [
            SiteProgressOut(
                site_code=p.site_code,
                planned=p.planned,
                verified=p.verified,
                changed=p.changed,
                percent=p.percent,
            )
            for p in sdv.progress(session, actor, protocol)
        ]

    return page.window(run(request, actor.username, work, write=False))


@router.get(
    "/trials/{protocol_id}/listings.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "One CSV per form, queries, SDV"}},
)
def data_listings(actor: CurrentActor, protocol: ProtocolDep, request: Request) -> Response:
    """The data team's listings as a ZIP of CSV files (monitor, data manager); audited as a read."""
    files = run(request, actor.username, lambda s: listings.listings(s, actor, protocol), write=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
    headers = {"Content-Disposition": f'attachment; filename="listings-{protocol.id}.zip"'}
    return Response(buffer.getvalue(), media_type="application/zip", headers=headers)
