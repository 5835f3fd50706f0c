"""ODM export API (issue 16): ``GET /api/trials/{id}/export/odm``, a trial's data as CDISC ODM 1.3.2.

Monitors, data managers and statisticians export every site (or one with ``site``); coordinators and
investigators get their own site's copy only (``site`` may name only a site of theirs); every other
role is refused (administrators read no clinical data). Reading it is audited.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query, Request, Response

from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, run

router = APIRouter(prefix="/api/trials", tags=["data standards"])

ODM_MEDIA_TYPE = "application/xml"


@router.get(
    "/{protocol_id}/export/odm",
    response_class=Response,
    responses={200: {"content": {ODM_MEDIA_TYPE: {}}, "description": "CDISC ODM 1.3.2 XML (schema-valid)"}},
)
def export_odm(
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
    with_audit: bool = Query(False, description="Every value's audit trail as ODM AuditRecords"),
    site: str | None = Query(None, max_length=32, description="Site code: that site's copy only"),
    as_of: dt.date | None = Query(None, description="The database as it stood at the end of this day (UTC)"),
) -> Response:
    """The trial's metadata and clinical data as CDISC ODM 1.3.2; audited as an export read."""
    from trialdesk.services.odm_export import odm_export

    result = run(
        request,
        actor.username,
        lambda s: odm_export(s, actor, protocol, site_code=site, with_audit=with_audit, as_of_day=as_of),
        write=True,
    )
    name = f"{protocol.id}-odm" + (f"-{result.site}" if result.site else "") + ".xml"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(result.content, media_type=ODM_MEDIA_TYPE, headers=headers)
