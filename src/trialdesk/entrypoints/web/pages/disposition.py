"""The subject page's end-of-treatment and end-of-study forms (issue 13).

Each form is parsed with the JSON API's request model and calls the same service
(:mod:`trialdesk.services.disposition`) inside :func:`trialdesk.entrypoints.api.deps.run`, the way the
other subject-page forms do (:mod:`trialdesk.entrypoints.web.pages.subject_forms`): a refusal shows
the page again with the message beside the field, a success goes back to the page's disposition card.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from trialdesk.entrypoints.api.deps import ProtocolDep
from trialdesk.entrypoints.api.disposition import EndOfStudyIn, EndOfTreatmentIn
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
from trialdesk.services import disposition
from trialdesk.services.disposition import EndOfStudyInput, EndOfTreatmentInput

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
EOT_FIELDS = frozenset(EndOfTreatmentIn.model_fields) | {"treatment_start_date"}
EOS_FIELDS = frozenset(EndOfStudyIn.model_fields) | {"death_date"}


@router.post(SUBJECT + "/end-of-treatment")
async def end_of_treatment(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """Record (or correct) the end of treatment: date, coded reason, the AE for a toxicity."""
    sub = await _submission(request, actor, protocol, subject_id, "end_of_treatment")
    body = _parsed(EndOfTreatmentIn, _optional(sub.values, *EndOfTreatmentIn.model_fields))
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    data = EndOfTreatmentInput(body.date, body.reason, body.adverse_event_id, body.detail)
    return await _save(
        sub,
        lambda s: disposition.record_end_of_treatment(s, actor, protocol, subject_id, data),
        EOT_FIELDS,
        reason=body.correction_reason,
        anchor="disposition",
    )


@router.post(SUBJECT + "/end-of-study")
async def end_of_study(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """Record (or correct) the end of study: date and coded reason."""
    sub = await _submission(request, actor, protocol, subject_id, "end_of_study")
    body = _parsed(EndOfStudyIn, _optional(sub.values, *EndOfStudyIn.model_fields))
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    data = EndOfStudyInput(body.date, body.reason, body.detail)
    return await _save(
        sub,
        lambda s: disposition.record_end_of_study(s, actor, protocol, subject_id, data),
        EOS_FIELDS,
        reason=body.correction_reason,
        anchor="disposition",
    )
