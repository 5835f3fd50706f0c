"""The subject page's form of the lesions' radiotherapy fields: a checkbox per baseline lesion and its RT
course; the same service as ``PUT /api/.../lesion-rt-fields`` (refusals beside the field)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from trialdesk.entrypoints.api.deps import ProtocolDep
from trialdesk.entrypoints.web.pages.subject_forms import SUBJECT, _save, _submission
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import rt_fields

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
_ROW = re.compile(r"^fields\[(\d+)\]\.lesion_id$")


def field_entries(values: Mapping[str, Any]) -> list[rt_fields.FieldInput]:
    """One entry per lesion row of the form: checked = in the chosen course's field."""
    entries = []
    rows = sorted(int(match.group(1)) for key in values if (match := _ROW.match(key)))
    for index in rows:
        key = f"fields[{index}]"
        in_field = values.get(f"{key}.in_field") == "on"
        course = str(values.get(f"{key}.intervention") or "") or None
        entries.append(
            rt_fields.FieldInput(str(values[f"{key}.lesion_id"]), in_field, course if in_field else None)
        )
    return entries


@router.post(SUBJECT + "/lesion-rt-fields")
async def set_lesion_fields(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """Set which baseline lesions lie in an RT field (a reason once RT and an assessment exist)."""
    sub = await _submission(request, actor, protocol, subject_id, "rt_fields")
    entries = field_entries(sub.values)
    fields = frozenset({"reason", *sub.values})
    return await _save(
        sub,
        lambda s: rt_fields.set_fields(s, actor, protocol, subject_id, entries),
        fields,
        reason=sub.values.get("reason") or None,
        anchor="rt-fields",
    )
