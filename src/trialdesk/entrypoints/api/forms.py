"""Case report forms API: a protocol's form definitions, and a subject's form records by visit.

``PUT /api/trials/{protocol_id}/subjects/{subject_id}/forms/{form_id}?visit=C2&repeat=1`` saves the
full record (values not sent are removed); the server validates it against the protocol's form and
names the field at fault (422). Changing a saved value needs ``reason``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import FormRecord
from trialdesk.domain.forms import Entry
from trialdesk.entrypoints.api.bounds import Code, Text
from trialdesk.entrypoints.api.deps import CurrentActor, ProtocolDep, protocol_of, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.services import forms
from trialdesk.services.forms import FormRecordView

router = APIRouter(prefix="/api", tags=["case report forms"])

Scalar = int | float | Text | bool | None
FORM_FIELDS_MAX = 200
"""Most fields one form record may carry in a request (the largest built-in form has about 20)."""


class ValueIn(BaseModel):
    value: Scalar = Field(description="Number, text, ISO date, code or true/false; null clears the field")
    unit: str | None = Field(default=None, max_length=32, description="UCUM unit; omitted: the field's unit")


class RecordIn(BaseModel):
    values: dict[Code, ValueIn | Scalar] = Field(
        max_length=FORM_FIELDS_MAX,
        description="Field id -> value, or {value, unit} for a number in another unit of the same dimension",
    )
    status: Literal["incomplete", "complete"] = Field(
        default="complete", description="complete: required fields must be given"
    )
    reason: str | None = Field(default=None, max_length=2000, description="Required to change a saved value")


class ValueOut(BaseModel):
    value: Any
    unit: str | None


class RecordSummaryOut(BaseModel):
    id: int
    form_id: str
    visit_id: str | None
    repeat: int
    status: str
    entered_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class RecordOut(RecordSummaryOut):
    subject_id: int
    values: dict[str, ValueOut]


def _summary(row: FormRecord) -> RecordSummaryOut:
    return RecordSummaryOut(
        id=row.id,
        form_id=row.form_id,
        visit_id=row.visit_id,
        repeat=row.repeat_index,
        status=row.status,
        entered_by=row.entered_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def record_out(view: FormRecordView) -> RecordOut:
    values = {k: ValueOut(value=v.value, unit=v.unit) for k, v in view.values.items()}
    return RecordOut(**_summary(view.record).model_dump(), subject_id=view.record.subject_id, values=values)


def _entries(body: RecordIn) -> dict[str, Entry]:
    return {
        field_id: Entry(given.value, given.unit) if isinstance(given, ValueIn) else Entry(given)
        for field_id, given in body.values.items()
    }


VISIT = Query(None, max_length=32, description="Visit id (SCR, C1, EOT...); none for a log form")
REPEAT = Query(1, ge=1, le=forms.MAX_REPEATS, description="Which record of a repeating form")


@router.get("/protocols/{protocol_id}/forms", response_model=list[dict[str, Any]], responses=PAGINATED)
def form_definitions(protocol_id: str, request: Request, page: PageDep) -> list[dict[str, Any]]:
    """The protocol's case report forms: fields, types, units, ranges, code lists, show_if, visits."""
    return page.window([form.model_dump(mode="json") for form in protocol_of(request, protocol_id).forms])


@router.get(
    "/trials/{protocol_id}/subjects/{subject_id}/forms",
    response_model=list[RecordSummaryOut],
    responses=PAGINATED,
)
def subject_forms(
    subject_id: int, actor: CurrentActor, protocol: ProtocolDep, request: Request, page: PageDep
) -> list[RecordSummaryOut]:
    """Every form record saved for the subject."""
    return page.window(
        run(
            request,
            actor.username,
            lambda s: [_summary(r) for r in forms.subject_records(s, actor, protocol, subject_id)],
            write=False,
        )
    )


@router.get("/trials/{protocol_id}/subjects/{subject_id}/forms/{form_id}", response_model=RecordOut)
def get_form_record(
    subject_id: int,
    form_id: str,
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
    visit: str | None = VISIT,
    repeat: int = REPEAT,
) -> RecordOut:
    """The subject's record of a form at a visit, with its values (404 when none is saved)."""

    def work(session: Session) -> RecordOut:
        view = forms.get_record(session, actor, protocol, subject_id, form_id, visit_id=visit, repeat=repeat)
        return record_out(view)

    return run(request, actor.username, work, write=False)


@router.put("/trials/{protocol_id}/subjects/{subject_id}/forms/{form_id}", response_model=RecordOut)
def save_form_record(
    subject_id: int,
    form_id: str,
    body: RecordIn,
    actor: CurrentActor,
    protocol: ProtocolDep,
    request: Request,
    visit: str | None = VISIT,
    repeat: int = REPEAT,
) -> RecordOut:
    """Save the subject's record of a form at a visit: validated against the protocol's form; the
    field at fault is named (422); a change of a saved value needs the reason."""
    entries = _entries(body)

    def work(session: Session) -> RecordOut:
        view = forms.save_record(
            session,
            actor,
            protocol,
            subject_id,
            form_id,
            entries,
            visit_id=visit,
            repeat=repeat,
            status=body.status,
        )
        return record_out(view)

    return run(request, actor.username, work, reason=body.reason)
