"""Data-management pages of issue 14: freezes and locks of a trial (``/trials/{id}/locks``), SDV
progress per site (``/trials/{id}/sdv``), a subject's SDV checklist (one checkbox per planned field)
and the casebook sign-off (an htmx fragment of the subject page).

Each form calls the same service as the JSON API inside :func:`trialdesk.entrypoints.api.deps.run`;
a refusal shows the page again with the service's message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, can
from trialdesk.entrypoints.api.deps import ProtocolDep, run
from trialdesk.entrypoints.api.locks import LockIn, ReasonIn
from trialdesk.entrypoints.web.pages.ops_common import FormValues
from trialdesk.entrypoints.web.render import FormErrors, render
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import locks, sdv, signoff
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import TRIAL_ERRORS, InvalidInput
from trialdesk.services.locks import LockRequest

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
LOCKS = "/trials/{protocol_id}/locks"
SUBJECT_SDV = "/trials/{protocol_id}/subjects/{subject_id}/sdv"
SIGNOFF = "/trials/{protocol_id}/subjects/{subject_id}/signoff"
LOCK_FIELDS = frozenset(LockIn.model_fields)
STEPS: dict[str, Callable[..., Any]] = {
    "lift": locks.lift_freeze,
    "unlock-request": locks.request_unlock,
    "unlock-release": locks.release_unlock,
}
"""The step forms of a lock's row, by path segment."""


def _errors(exc: Exception, fields: frozenset[str] = frozenset()) -> FormErrors:
    if isinstance(exc, ValidationError):
        return FormErrors.from_validation(exc)
    assert isinstance(exc, TRIAL_ERRORS)
    return FormErrors.from_error(exc, fields)


def locks_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    *,
    errors: FormErrors | None = None,
    values: Any = None,
) -> HTMLResponse:
    """The trial's freezes and locks with the forms the user's role may use."""
    found = run(request, actor.username, lambda s: locks.list_locks(s, actor, protocol.id), write=False)
    context = {
        "protocol": protocol,
        "locks": found,
        "can_freeze": can(actor.role, Capability.FREEZE_DATA),
        "can_lock": can(actor.role, Capability.LOCK_DATA),
        "can_unlock": can(actor.role, Capability.UNLOCK_DATA),
        "errors": errors.by_field if errors else {},
        "values": values or {},
        "saved": request.query_params.get("saved", ""),
    }
    return render(request, "sdvlock/locks.html", context, status_code=errors.status_code if errors else 200)


@router.get(LOCKS, response_class=HTMLResponse)
def locks_view(request: Request, actor: PageActor, protocol: ProtocolDep) -> HTMLResponse:
    """Freezes and locks of the trial."""
    return locks_page(request, actor, protocol)


@router.post(LOCKS, response_model=None)
def create_lock_form(
    request: Request, actor: PageActor, protocol: ProtocolDep, values: FormValues
) -> Response:
    """Freeze or lock data (the form's empty fields are absent, as in the API's JSON)."""
    try:
        body = LockIn.model_validate({k: v.strip() for k, v in values.items() if v.strip()})
        wanted = LockRequest(**body.model_dump())
        run(
            request, actor.username, lambda s: locks.create(s, actor, protocol.id, wanted), reason=body.reason
        )
    except (ValidationError, *TRIAL_ERRORS) as exc:
        return locks_page(request, actor, protocol, errors=_errors(exc, LOCK_FIELDS), values=dict(values))
    return RedirectResponse(f"/trials/{protocol.id}/locks?saved=1", status_code=303)


@router.post(LOCKS + "/{lock_id}/{step}", response_model=None)
def lock_step_form(
    request: Request, actor: PageActor, protocol: ProtocolDep, lock_id: int, step: str, values: FormValues
) -> Response:
    """Lift a freeze, or request or release an unlock, with a reason."""
    action = STEPS.get(step)
    try:
        if action is None:
            raise InvalidInput(f"unknown step '{step}'", field="step")
        body = ReasonIn.model_validate({"reason": values.get("reason", "")})
        run(
            request,
            actor.username,
            lambda s: action(s, actor, protocol.id, lock_id, body.reason),
            reason=body.reason,
        )
    except (ValidationError, *TRIAL_ERRORS) as exc:
        return locks_page(request, actor, protocol, errors=_errors(exc))
    return RedirectResponse(f"/trials/{protocol.id}/locks?saved=1", status_code=303)


@router.get("/trials/{protocol_id}/sdv", response_class=HTMLResponse)
def sdv_progress_view(request: Request, actor: PageActor, protocol: ProtocolDep) -> HTMLResponse:
    """SDV progress per site."""
    found = run(request, actor.username, lambda s: sdv.progress(s, actor, protocol), write=False)
    return render(request, "sdvlock/progress.html", {"protocol": protocol, "sites": found})


def subject_sdv_page(
    request: Request, actor: Actor, protocol: Protocol, subject_id: int, errors: FormErrors | None = None
) -> HTMLResponse:
    """A subject's SDV checklist: every planned field with its state, a checkbox to verify it."""

    def work(session: Session) -> dict[str, Any]:
        subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
        return {"subject": subject, "items": sdv.subject_items(session, actor, protocol, subject_id)}

    context = {
        "protocol": protocol,
        **run(request, actor.username, work, write=False),
        "can_verify": can(actor.role, Capability.VERIFY_SOURCE),
        "errors": errors.by_field if errors else {},
        "saved": request.query_params.get("saved", ""),
    }
    return render(
        request, "sdvlock/subject_sdv.html", context, status_code=errors.status_code if errors else 200
    )


@router.get(SUBJECT_SDV, response_class=HTMLResponse)
def subject_sdv_view(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> HTMLResponse:
    """The subject's SDV checklist."""
    return subject_sdv_page(request, actor, protocol, subject_id)


@router.post(SUBJECT_SDV, response_model=None)
async def subject_sdv_form(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> Response:
    """Verify the checked fields (each checkbox value is table|record id|field)."""
    form = await request.form()
    chosen = [str(v).split("|", 2) for v in form.getlist("item") if str(v).count("|") == 2]

    def work(session: Session) -> None:
        if not chosen:
            raise InvalidInput("check at least one field to verify", field="item")
        for table, record_id, field in chosen:
            sdv.verify(session, actor, protocol, subject_id, table, record_id, field)

    try:
        run(request, actor.username, work)
    except TRIAL_ERRORS as exc:
        return subject_sdv_page(request, actor, protocol, subject_id, FormErrors.from_error(exc))
    return RedirectResponse(f"/trials/{protocol.id}/subjects/{subject_id}/sdv?saved=1", status_code=303)


def signoff_fragment(
    request: Request, actor: Actor, protocol: Protocol, subject_id: int, errors: FormErrors | None = None
) -> HTMLResponse:
    """The subject's sign-off status, and the signing form for an investigator."""
    found = run(
        request, actor.username, lambda s: signoff.status(s, actor, protocol.id, subject_id), write=False
    )
    context = {
        "protocol": protocol,
        "subject_id": subject_id,
        "found": found,
        "can_sign": can(actor.role, Capability.SIGN_CASEBOOK),
        "errors": errors.by_field if errors else {},
    }
    return render(
        request, "sdvlock/_signoff.html", context, status_code=errors.status_code if errors else 200
    )


@router.get(SIGNOFF, response_class=HTMLResponse)
def signoff_view(request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int) -> HTMLResponse:
    """The sign-off section (loaded by the subject page)."""
    return signoff_fragment(request, actor, protocol, subject_id)


@router.post(SIGNOFF, response_model=None)
def signoff_form(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int, values: FormValues
) -> Response:
    """Sign the casebook as shown (password re-entered)."""
    password, shown = values.get("password", ""), values.get("data_sha256", "")
    try:
        run(
            request,
            actor.username,
            lambda s: signoff.sign(s, actor, protocol.id, subject_id, password=password, shown_sha256=shown),
        )
    except TRIAL_ERRORS as exc:
        return signoff_fragment(
            request, actor, protocol, subject_id, FormErrors.from_error(exc, {"password"})
        )
    return RedirectResponse(f"/trials/{protocol.id}/subjects/{subject_id}#signoff", status_code=303)
