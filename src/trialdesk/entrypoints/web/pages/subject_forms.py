"""The data-entry forms of the subject page: adverse event, lab result and the confirmation of its
proposed CTCAE grade, tumour baseline and follow-up assessment, treatment and follow-up dates, status
change.

Each form is parsed with the JSON API's own request model (the same validation messages) and calls
the same service as the API inside :func:`trialdesk.entrypoints.api.deps.run`. A refusal re-renders
the subject page with the message beside the field and everything typed kept, with the error's HTTP
status; a success goes back to the subject page (post/redirect/get) at the saved section.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.datastructures import FormData
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import ReasonRequired
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.safety.adverse_event import AdverseEventInput
from trialdesk.entrypoints.api.deps import ProtocolDep, run
from trialdesk.entrypoints.api.safety import AdverseEventIn, ConfirmIn, LabIn
from trialdesk.entrypoints.api.subjects import FollowUpIn, StatusIn
from trialdesk.entrypoints.api.treatment import AdministrationIn, FractionIn, VisitIn
from trialdesk.entrypoints.api.tumour import AssessmentIn, BaselineIn
from trialdesk.entrypoints.web.pages.subject import subject_page
from trialdesk.entrypoints.web.render import FORM_ERROR, FormErrors
from trialdesk.entrypoints.web.session import CSRF_FIELD, PageActor, csrf_protect
from trialdesk.services import adverse_events, calendar, enrolment, exposure, labs, radiotherapy, tumour
from trialdesk.services.actors import Actor
from trialdesk.services.errors import TRIAL_ERRORS, NotFound, TrialError, describe
from trialdesk.services.exposure import AdministrationInput
from trialdesk.services.follow_up import FollowUp, record_follow_up
from trialdesk.services.labs import LabInput

M = TypeVar("M", bound=BaseModel)
router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
SUBJECT = "/trials/{protocol_id}/subjects/{subject_id}"
LIST_FIELDS = frozenset({"sae_criteria"})
CHECKBOXES = frozenset({"free_text", "baseline_condition", "is_baseline"})


@dataclass(frozen=True)
class Submission:
    """One submitted form of the subject page: who, where, which form and what was typed."""

    request: Request
    actor: Actor
    protocol: Protocol
    subject_id: int
    form: str
    values: dict[str, Any]

    @property
    def page(self) -> str:
        return f"/trials/{self.protocol.id}/subjects/{self.subject_id}"


async def _submission(
    request: Request, actor: Actor, protocol: Protocol, subject_id: int, form: str
) -> Submission:
    data: FormData = await request.form()
    values: dict[str, Any] = {}
    for key, value in data.multi_items():
        if key == CSRF_FIELD or not isinstance(value, str):
            continue
        if key in LIST_FIELDS:
            values.setdefault(key, []).append(value)
        else:
            values[key] = value.strip()
    return Submission(request, actor, protocol, subject_id, form, values)


async def _refused(sub: Submission, errors: FormErrors) -> Response:
    return await run_in_threadpool(
        subject_page,
        sub.request,
        sub.actor,
        sub.protocol,
        sub.subject_id,
        form=sub.form,
        errors=errors,
        values=sub.values,
    )


def _errors(exc: TrialError, fields: frozenset[str] | set[str], pattern: str) -> FormErrors:
    """The refusal beside the form's field: the service's field name with its path prefix
    (``pattern``: ``results[0].``, ``assessments[2].``) taken off; otherwise on the whole form."""
    answer = describe(exc)
    name = re.sub(pattern, "", answer.field) if answer.field and pattern else answer.field
    if name and name in fields:
        return FormErrors({name: answer.message}, answer.status_code)
    return FormErrors.from_error(exc)


async def _save(
    sub: Submission,
    work: Callable[[Session], object],
    fields: frozenset[str],
    *,
    reason: str | None = None,
    prefix: str = "",
    anchor: str = "",
) -> Response:
    """Run the service; refused: the page again with the error beside its field (``prefix``: the
    pattern of the service's path before the form's field names); done: back to the page at ``anchor``."""
    try:
        await run_in_threadpool(run, sub.request, sub.actor.username, work, reason=reason)
    except TRIAL_ERRORS as exc:
        if isinstance(exc, NotFound):
            raise
        return await _refused(sub, _errors(exc, fields, prefix))
    except ReasonRequired as exc:  # a correction of recorded data without its reason
        key = "reason" if "reason" in fields else FORM_ERROR
        return await _refused(sub, FormErrors({key: str(exc)}, 422))
    target = f"{sub.page}?saved={sub.form}#{anchor or sub.form}"
    return RedirectResponse(target, status_code=303)


def _parsed(model: type[M], payload: Mapping[str, Any]) -> M | FormErrors:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        return FormErrors.from_validation(exc)


def _optional(values: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The named fields, an empty one as ``None`` (the API's 'not given')."""
    return {name: values.get(name) or None for name in names}


def _checked(values: Mapping[str, Any], name: str) -> bool:
    return name in values and values[name] not in ("", "off")


def _prefixed(values: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """The non-empty fields named ``prefix.<key>`` as ``{key: value}``."""
    return {k[len(prefix) + 1 :]: str(v) for k, v in values.items() if k.startswith(prefix + ".") and v}


# ---- adverse events and labs ----------------------------------------------------------------------

AE_FIELDS = frozenset(AdverseEventIn.model_fields) | {"term", "grade"}


def _ae_payload(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "term": values.get("term", ""),
        "grade": values.get("grade") or None,
        "onset_date": values.get("onset_date") or None,
        **_optional(values, "death_date", "resolution_date", "site_aware_at", "outcome", "action_taken"),
        **_optional(values, "verbatim"),
        "attributions": _prefixed(values, "attributions"),
        "free_text": _checked(values, "free_text"),
        "sae_criteria": list(values.get("sae_criteria", [])),
        "baseline_condition": _checked(values, "baseline_condition"),
    }


@router.post(SUBJECT + "/adverse-events")
async def record_ae(request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int) -> Response:
    """Record an adverse event episode (attribution by an investigator)."""
    sub = await _submission(request, actor, protocol, subject_id, "ae")
    body = _parsed(AdverseEventIn, _ae_payload(sub.values))
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    data = AdverseEventInput(**{**body.model_dump(), "sae_criteria": tuple(body.sae_criteria)})
    fields = AE_FIELDS | {f"attributions.{c}" for c in _prefixed(sub.values, "attributions")}
    return await _save(
        sub,
        lambda s: adverse_events.record_adverse_event(s, actor, protocol, subject_id, data),
        fields,
        anchor="adverse-events",
    )


LAB_FIELDS = frozenset(LabIn.model_fields)


@router.post(SUBJECT + "/labs")
async def record_lab(request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int) -> Response:
    """Record one lab result; the page then shows its proposed CTCAE grade to confirm."""
    sub = await _submission(request, actor, protocol, subject_id, "lab")
    payload = {
        **_optional(sub.values, "test", "value", "unit", "collected_date", "lln", "uln"),
        "is_baseline": _checked(sub.values, "is_baseline"),
    }
    body = _parsed(LabIn, payload)
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    item = LabInput(**body.model_dump())
    return await _save(
        sub,
        lambda s: labs.record_results(s, actor, protocol, subject_id, [item]),
        LAB_FIELDS,
        prefix=r"^results\[0\]\.",
        anchor="labs",
    )


@router.post(SUBJECT + "/labs/{lab_result_id}/confirm")
async def confirm_lab(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int, lab_result_id: int
) -> Response:
    """An investigator confirms a lab result's proposed grade into an adverse event."""
    sub = await _submission(request, actor, protocol, subject_id, "confirm")
    body = _parsed(ConfirmIn, {"term": sub.values.get("term") or None, "attributions": {}})
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    term = body.term
    return await _save(
        sub,
        lambda s: labs.confirm_proposal(s, actor, protocol, lab_result_id, term=term),
        frozenset(),
        anchor="labs",
    )


# ---- tumour assessments ---------------------------------------------------------------------------


def _number(text: str) -> float | str | None:
    """A typed size as a number; anything else as typed (the RECIST engine names the field)."""
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _rows(values: Mapping[str, Any], prefix: str) -> dict[int, dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    for key, value in values.items():
        found = re.fullmatch(re.escape(prefix) + r"\[(\d+)\]\.(\w+)", key)
        if found:
            rows.setdefault(int(found.group(1)), {})[found.group(2)] = str(value)
    return rows


def _lesions(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    lesions = []
    for _, row in sorted(_rows(values, "lesions").items()):
        if not any(row.get(k) for k in ("id", "site", "diameter_mm")):
            continue
        nodal = row.get("nodal") == "yes"
        lesion = {
            "id": row.get("id", ""),
            "site": row.get("site", ""),
            "nodal": nodal,
            "role": row.get("role", "target"),
            "diameter_mm": _number(row.get("diameter_mm", "")),
        }
        if nodal:
            lesion["regional_node"] = True
        lesions.append(lesion)
    return lesions


@router.post(SUBJECT + "/tumour-baseline")
async def record_baseline(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """Record (or correct, with a reason) the baseline lesions; the responses are recomputed."""
    sub = await _submission(request, actor, protocol, subject_id, "baseline")
    payload = {"date": sub.values.get("date") or None, "lesions": _lesions(sub.values)}
    body = _parsed(BaselineIn, {**payload, "reason": sub.values.get("reason") or None})
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    fields = frozenset({"date", "reason"}) | {k for k in sub.values if k.startswith("lesions[")}
    return await _save(
        sub,
        lambda s: tumour.set_baseline(s, actor, protocol, subject_id, body.date, body.lesions),
        fields,
        reason=body.reason,
        prefix=r"^baseline\.",
        anchor="tumour",
    )


def _new_lesions(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for _, row in sorted(_rows(values, "new_lesions").items()):
        if not row.get("id") and not row.get("site"):
            continue
        lesion: dict[str, Any] = {"id": row.get("id", ""), "site": row.get("site", "")}
        lesion["equivocal"] = row.get("equivocal") == "yes"
        if row.get("diameter_mm"):
            lesion["diameter_mm"] = _number(row["diameter_mm"])
        found.append(lesion)
    return found


@router.post(SUBJECT + "/tumour-assessments")
async def record_visit(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """Record (or correct, with a reason) a visit's assessment; the responses are recomputed."""
    sub = await _submission(request, actor, protocol, subject_id, "visit")
    measurements = {k: _number(v) for k, v in _prefixed(sub.values, "measurements").items()}
    payload = {
        "date": sub.values.get("date") or None,
        "measurements": measurements,
        "non_target": _prefixed(sub.values, "non_target"),
        "new_lesions": _new_lesions(sub.values),
        "reason": sub.values.get("reason") or None,
    }
    body = _parsed(AssessmentIn, payload)
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    visit = str(sub.values.get("visit", ""))

    def work(session: Session) -> object:
        return tumour.record_assessment(
            session,
            actor,
            protocol,
            subject_id,
            visit=visit,
            date=body.date,
            measurements=body.measurements,
            non_target=body.non_target,
            new_lesions=body.new_lesions,
        )

    fields = frozenset({"date", "visit", "reason"}) | set(sub.values)
    return await _save(
        sub, work, fields, reason=body.reason, prefix=r"^assessments\[\d+\]\.", anchor="tumour"
    )


# ---- follow-up and status -------------------------------------------------------------------------

FOLLOW_UP_FIELDS = frozenset(FollowUpIn.model_fields)


@router.post(SUBJECT + "/follow-up")
async def record_dates(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """Treatment start/end, new anti-cancer therapy, last known alive, death."""
    sub = await _submission(request, actor, protocol, subject_id, "follow_up")
    body = _parsed(FollowUpIn, _optional(sub.values, *FOLLOW_UP_FIELDS))
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    data = FollowUp(**body.model_dump(exclude={"reason"}))
    return await _save(
        sub,
        lambda s: record_follow_up(s, actor, protocol, subject_id, data),
        FOLLOW_UP_FIELDS,
        reason=body.reason,
        anchor="follow-up",
    )


@router.post(SUBJECT + "/status")
async def change_status(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """Move the subject along the lifecycle, with the date and the reason."""
    sub = await _submission(request, actor, protocol, subject_id, "status")
    payload = {"status": sub.values.get("status", ""), **_optional(sub.values, "reason", "date")}
    body = _parsed(StatusIn, payload)
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    return await _save(
        sub,
        lambda s: enrolment.change_status(
            s, actor, protocol, subject_id, body.status, body.reason, body.date
        ),
        frozenset({"status", "reason", "date", "death_date"}),
        reason=body.reason,
        anchor="status",
    )


# ---- treatment given and visits -------------------------------------------------------------------

DOSE_FIELDS = frozenset(AdministrationIn.model_fields)
FRACTION_FIELDS = frozenset(FractionIn.model_fields)
VISIT_FIELDS = frozenset(VisitIn.model_fields) | {"visit_id"}


@router.post(SUBJECT + "/administrations")
async def record_dose(request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int) -> Response:
    """One dose of one agent; the server derives the planned dose."""
    sub = await _submission(request, actor, protocol, subject_id, "dose")
    body = _parsed(AdministrationIn, _optional(sub.values, *DOSE_FIELDS))
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    data = AdministrationInput(**body.model_dump(exclude={"reason"}))
    return await _save(
        sub,
        lambda s: exposure.record_administration(s, actor, protocol, subject_id, data),
        DOSE_FIELDS,
        reason=body.reason,
        anchor="treatment",
    )


@router.post(SUBJECT + "/rt-fractions")
async def record_fraction(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """One radiotherapy fraction delivered (Gy)."""
    sub = await _submission(request, actor, protocol, subject_id, "fraction")
    body = _parsed(FractionIn, _optional(sub.values, *FRACTION_FIELDS))
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    data = radiotherapy.FractionInput(**body.model_dump(exclude={"reason"}))
    return await _save(
        sub,
        lambda s: radiotherapy.record_fraction(s, actor, protocol, subject_id, data),
        FRACTION_FIELDS,
        reason=body.reason,
        anchor="treatment",
    )


@router.post(SUBJECT + "/visits")
async def record_visit_outcome(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """A scheduled visit done, missed or not required."""
    sub = await _submission(request, actor, protocol, subject_id, "visit_outcome")
    body = _parsed(VisitIn, _optional(sub.values, "status", "date", "reason"))
    if isinstance(body, FormErrors):
        return await _refused(sub, body)
    visit_id = str(sub.values.get("visit_id", ""))
    return await _save(
        sub,
        lambda s: calendar.record_visit(
            s, actor, protocol, subject_id, visit_id, body.status, body.date, body.reason
        ),
        VISIT_FIELDS,
        reason=body.reason,
        anchor="treatment",
    )
