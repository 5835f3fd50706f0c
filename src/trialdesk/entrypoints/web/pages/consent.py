"""The subject page's informed-consent form: site staff record a consent version the subject signed
(a re-consent), through the same service as the JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from trialdesk.entrypoints.api.consent import ConsentIn
from trialdesk.entrypoints.api.deps import ProtocolDep
from trialdesk.entrypoints.web.pages.subject_forms import (
    SUBJECT,
    _optional,
    _parsed,
    _refused,
    _save,
    _submission,
)
from trialdesk.entrypoints.web.render import FormErrors
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import consent

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
CONSENT_FIELDS = frozenset(ConsentIn.model_fields)


@router.post(SUBJECT + "/consents")
async def record_consent(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """A consent version signed by the subject (who obtained it: a member of the subject's site)."""
    sub = await _submission(request, actor, protocol, subject_id, "consent")
    body = _parsed(ConsentIn, _optional(sub.values, *CONSENT_FIELDS))
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    return await _save(
        sub,
        lambda s: consent.record_consent(s, actor, protocol, subject_id, **body.model_dump()),
        CONSENT_FIELDS,
        anchor="consent",
    )
