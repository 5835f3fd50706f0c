"""The site pharmacy's investigational-product page (``/trials/{id}/ip``): the reconciliation by site
and lot with each subject's units against the doses given, the forms to record a receipt, a
dispensation and a return, and the dispensing log; and the subject page's list of the subject's
dispensations (an htmx fragment, so the subject page itself stays as it is).

Each form is parsed with the JSON API's request model and calls :mod:`trialdesk.services.dispensing`
inside :func:`trialdesk.entrypoints.api.deps.run`, exactly as the API does; a refusal shows the page
again with the message beside the field and what was typed kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import ReasonRequired
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, can
from trialdesk.entrypoints.api.deps import ProtocolDep, run
from trialdesk.entrypoints.api.dispensing import DispenseIn, ReceiptIn, ReturnIn
from trialdesk.entrypoints.web.pages.ops_common import FormValues
from trialdesk.entrypoints.web.render import FormErrors, render
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import dispensing, subjects
from trialdesk.services.actors import Actor
from trialdesk.services.dispensing import DispenseInput, ReceiptInput, ReturnInput
from trialdesk.services.errors import TRIAL_ERRORS, NotFound

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
PAGE = "/trials/{protocol_id}/ip"
LOG_ROWS = 50
"""The dispensing log on the page lists the latest 50 dispensations."""
RECEIPT_FIELDS = frozenset(ReceiptIn.model_fields)
DISPENSE_FIELDS = frozenset(DispenseIn.model_fields) | {"subject_id"}
RETURN_FIELDS = frozenset(ReturnIn.model_fields)


def _page_data(session: Session, actor: Actor, protocol: Protocol) -> dict[str, Any]:
    """The reconciliation, the log and the forms' choices of the sites the user may see."""
    receipts, log = dispensing.site_log(session, actor, protocol)
    codes = dispensing.site_codes(session, protocol)
    products = {d.id for d in protocol.investigational_products()}
    candidates = [
        (str(s.id), f"{s.screening_number} ({codes[s.site_id]})")
        for s in subjects.list_subjects(session, actor, protocol.id)
        if s.enrolled_at is not None
        and s.arm_id is not None
        and products & set(protocol.arm(s.arm_id).interventions)
    ]
    return {
        "found": dispensing.reconcile(session, actor, protocol),
        "receipts": [(r, codes[r.site_id]) for r in receipts],
        "log": log[:LOG_ROWS],
        "log_total": len(log),
        "site_choices": [(code, code) for site_id, code in sorted(codes.items()) if actor.sees_site(site_id)],
        "subject_choices": candidates,
    }


def ip_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    *,
    form: str = "",
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The IP page; ``form`` names the refused form whose ``errors`` and typed ``values`` are shown."""
    data = run(request, actor.username, lambda s: _page_data(s, actor, protocol), write=False)
    products = protocol.investigational_products()
    context = {
        "protocol": protocol,
        **data,
        "products": [
            (d.id, f"{d.name} ({d.dispensing.strength_mg.value:g} mg / {d.dispensing.unit.value})")
            for d in products
            if d.dispensing is not None
        ],
        "can_enter": can(actor.role, Capability.ENTER_DATA),
        "form": form,
        "errors": errors.by_field if errors else {},
        "values": values or {},
        "saved": request.query_params.get("saved", ""),
    }
    return render(request, "dispensing/ip.html", context, status_code=errors.status_code if errors else 200)


@router.get(PAGE, response_class=HTMLResponse)
def ip_view(request: Request, actor: PageActor, protocol: ProtocolDep) -> HTMLResponse:
    """The investigational-product page of the sites the user may see."""
    return ip_page(request, actor, protocol)


def _typed(values: dict[str, str]) -> dict[str, str]:
    """The form's non-empty fields (an empty optional field is absent, as in the API's JSON)."""
    return {key: value.strip() for key, value in values.items() if value.strip()}


def _model(model: type[BaseModel], values: dict[str, str]) -> Any:
    return model.model_validate(_typed(values))


def _refused(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    form: str,
    values: dict[str, str],
    exc: Exception,
    fields: frozenset[str],
) -> Response:
    """The page again with the refusal beside its field (another site's record stays a 404 page)."""
    if isinstance(exc, ValidationError):
        errors = FormErrors.from_validation(exc)
    else:
        assert isinstance(exc, TRIAL_ERRORS)
        if isinstance(exc, NotFound):
            raise exc
        errors = FormErrors.from_error(exc, fields)
    return ip_page(request, actor, protocol, form=form, errors=errors, values=dict(values))


def _saved(protocol: Protocol, what: str) -> RedirectResponse:
    return RedirectResponse(f"/trials/{protocol.id}/ip?saved={what}#{what}", status_code=303)


@router.post(PAGE + "/receipts", response_model=None)
def receipt_form(request: Request, actor: PageActor, protocol: ProtocolDep, values: FormValues) -> Response:
    """Record a shipment received by one of the user's sites."""
    try:
        body: ReceiptIn = _model(ReceiptIn, values)
        data = ReceiptInput(**body.model_dump())
        run(request, actor.username, lambda s: dispensing.record_receipt(s, actor, protocol, data))
    except (ValidationError, *TRIAL_ERRORS) as exc:
        return _refused(request, actor, protocol, "receipt", values, exc, RECEIPT_FIELDS)
    return _saved(protocol, "receipt")


@router.post(PAGE + "/dispensations", response_model=None)
def dispense_form(request: Request, actor: PageActor, protocol: ProtocolDep, values: FormValues) -> Response:
    """Record units of a lot dispensed for a subject of the user's sites."""
    chosen = values.get("subject_id", "").strip()
    if not chosen.isdigit():
        errors = FormErrors({"subject_id": "choose the subject"})
        return ip_page(request, actor, protocol, form="dispense", errors=errors, values=dict(values))
    try:
        body: DispenseIn = _model(DispenseIn, {k: v for k, v in values.items() if k != "subject_id"})
        data = DispenseInput(**body.model_dump())
        run(request, actor.username, lambda s: dispensing.dispense(s, actor, protocol, int(chosen), data))
    except (ValidationError, *TRIAL_ERRORS) as exc:
        return _refused(request, actor, protocol, "dispense", values, exc, DISPENSE_FIELDS)
    return _saved(protocol, "dispense")


@router.post(PAGE + "/dispensations/{dispensation_id}/return", response_model=None)
def return_form(
    request: Request, actor: PageActor, protocol: ProtocolDep, dispensation_id: int, values: FormValues
) -> Response:
    """Record the units of a dispensation returned unused (a correction needs the reason)."""
    form = f"return-{dispensation_id}"
    try:
        body: ReturnIn = _model(ReturnIn, values)
        data = ReturnInput(body.quantity_returned, body.returned_date)
        run(
            request,
            actor.username,
            lambda s: dispensing.record_return(s, actor, protocol, dispensation_id, data),
            reason=body.reason,
        )
    except (ValidationError, *TRIAL_ERRORS) as exc:
        return _refused(request, actor, protocol, form, values, exc, RETURN_FIELDS)
    except ReasonRequired as exc:
        errors = FormErrors({"reason": str(exc)})
        return ip_page(request, actor, protocol, form=form, errors=errors, values=dict(values))
    return _saved(protocol, "log")


@router.get("/trials/{protocol_id}/subjects/{subject_id}/dispensing", response_class=HTMLResponse)
def subject_dispensing(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> HTMLResponse:
    """The subject's dispensations (the subject page loads this list; another site's subject is 404)."""
    rows = run(
        request,
        actor.username,
        lambda s: dispensing.subject_dispensations(s, actor, protocol, subject_id),
        write=False,
    )
    context = {"protocol": protocol, "rows": rows, "subject_id": subject_id}
    if request.headers.get("HX-Request"):
        return render(request, "dispensing/_subject_list.html", context)
    return render(request, "dispensing/subject_dispensing.html", context)  # without JavaScript: a page
