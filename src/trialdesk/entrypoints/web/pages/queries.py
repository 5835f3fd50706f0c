"""Data query pages (issue 14): a trial's queries (``/trials/{id}/queries``: filters, days open, counts
per site and per form), one query's thread with the moves the user's role allows, the form that
raises a query on a case report form's field, and the subject page's list of the subject's unresolved
queries (an htmx fragment, so the subject page itself stays as it is).

Every form calls :mod:`trialdesk.services.queries` inside :func:`trialdesk.entrypoints.api.deps.run`,
exactly as the JSON API does; a refusal shows the page again with the message beside the field.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.queries import QueryMove, QueryStatus, moves_from
from trialdesk.domain.roles import Capability, can
from trialdesk.entrypoints.api.deps import ProtocolDep, run
from trialdesk.entrypoints.api.queries import QueryId
from trialdesk.entrypoints.web.pages.ops_common import FormValues
from trialdesk.entrypoints.web.render import FormErrors, render
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import queries
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import TRIAL_ERRORS, InvalidInput, NotFound, TrialError
from trialdesk.services.queries import QueryFilter

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
PAGE = "/trials/{protocol_id}/queries"
FILTERS = ("status", "site", "form", "origin")
OPEN_FIELDS = frozenset({"target_table", "target_id", "field", "text"})
MOVE_FIELDS = frozenset({"text", "reason", "data_changed"})


def _filters(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in FILTERS}


def _list_data(session: Session, actor: Actor, protocol: Protocol, chosen: dict[str, str]) -> dict[str, Any]:
    every = queries.list_queries(session, actor, protocol)
    filters = QueryFilter(
        status=chosen["status"] or None,
        site_code=chosen["site"] or None,
        form_id=chosen["form"] or None,
        origin=chosen["origin"] or None,
    )
    return {
        "rows": queries.list_queries(session, actor, protocol, filters),
        "summary": queries.summarize(session, actor, protocol),
        "site_choices": sorted({v.site_code for v in every}),
        "form_choices": sorted({v.query.form_id or v.query.target_table for v in every}),
    }


@router.get(PAGE, response_class=HTMLResponse)
def queries_page(request: Request, actor: PageActor, protocol: ProtocolDep) -> HTMLResponse:
    """The trial's queries the user may see, filtered, with aging and counts per site and per form."""
    chosen = _filters(request)
    try:
        data = run(request, actor.username, lambda s: _list_data(s, actor, protocol, chosen), write=False)
    except InvalidInput as exc:  # an unknown status or origin in the address: show everything, say why
        chosen = dict.fromkeys(FILTERS, "")
        data = run(request, actor.username, lambda s: _list_data(s, actor, protocol, chosen), write=False)
        data["filter_error"] = exc.message
    context = {
        "protocol": protocol,
        "chosen": chosen,
        "statuses": [s.value for s in QueryStatus],
        "filter_error": "",
    }
    context.update(data)
    return render(request, "queries/list.html", context)


def _thread_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    query_id: int,
    form: str = "",
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    thread = run(
        request, actor.username, lambda s: queries.get_thread(s, actor, protocol, query_id), write=False
    )
    context = {
        "protocol": protocol,
        "thread": thread,
        "q": thread.view.query,
        "moves": [m.value for m in moves_from(thread.view.query.status, actor.role)],
        "form": form,
        "errors": errors.by_field if errors else {},
        "values": values or {},
        "saved": request.query_params.get("saved", ""),
    }
    return render(request, "queries/thread.html", context, status_code=errors.status_code if errors else 200)


@router.get(PAGE + "/{query_id}", response_class=HTMLResponse)
def thread_view(request: Request, actor: PageActor, protocol: ProtocolDep, query_id: QueryId) -> HTMLResponse:
    """One query and its thread (another site's query is a 404 page)."""
    return _thread_page(request, actor, protocol, query_id)


def _errors(exc: TrialError, fields: frozenset[str]) -> FormErrors:
    if isinstance(exc, NotFound) and exc.field is None:
        raise exc
    return FormErrors.from_error(exc, fields)


@router.post(PAGE + "/{query_id}/{move}", response_model=None)
def move_form(
    request: Request,
    actor: PageActor,
    protocol: ProtocolDep,
    query_id: QueryId,
    move: str,
    values: FormValues,
) -> Response:
    """Answer, close, re-open or cancel the query; refused: the thread again with the reason shown."""
    try:
        chosen = QueryMove(move)
    except ValueError:
        raise NotFound(f"no query action '{move}'") from None
    text = values.get("text", "")

    def work(session: Session) -> object:
        if chosen is QueryMove.ANSWER:
            changed = values.get("data_changed") == "1"
            return queries.answer_query(session, actor, protocol, query_id, text, data_changed=changed)
        return queries.move_query(session, actor, protocol, query_id, chosen, text)

    try:
        run(request, actor.username, work, reason=f"query {chosen.value}")
    except TRIAL_ERRORS as exc:
        errors = _errors(exc, MOVE_FIELDS)
        if "reason" in errors.by_field:
            errors.by_field["text"] = errors.by_field.pop("reason")
        return _thread_page(request, actor, protocol, query_id, chosen.value, errors, dict(values))
    return RedirectResponse(f"/trials/{protocol.id}/queries/{query_id}?saved={chosen.value}", status_code=303)


@router.post(PAGE, response_model=None)
def open_form(request: Request, actor: PageActor, protocol: ProtocolDep, values: FormValues) -> Response:
    """Raise a query (from a case report form's page); refused: the raise page with the reason."""
    typed = {key: values.get(key, "").strip() for key in OPEN_FIELDS}

    def work(session: Session) -> int:
        view = queries.open_query(
            session,
            actor,
            protocol,
            target_table=typed["target_table"],
            target_id=typed["target_id"],
            field_name=typed["field"] or None,
            text=typed["text"],
        )
        return view.query.id

    try:
        query_id = run(request, actor.username, work, reason="query opened")
    except TRIAL_ERRORS as exc:
        return _raise_page(request, actor, protocol, typed, _errors(exc, OPEN_FIELDS))
    return RedirectResponse(f"/trials/{protocol.id}/queries/{query_id}?saved=open", status_code=303)


def _raise_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    typed: dict[str, str],
    errors: FormErrors | None = None,
) -> HTMLResponse:
    context = {
        "protocol": protocol,
        "values": typed,
        "errors": errors.by_field if errors else {},
        "tables": sorted(queries.TARGET_TABLES),
        "can_raise": can(actor.role, Capability.RAISE_QUERY),
    }
    return render(request, "queries/raise.html", context, status_code=errors.status_code if errors else 200)


@router.get(PAGE + "-new", response_class=HTMLResponse)
def raise_view(request: Request, actor: PageActor, protocol: ProtocolDep) -> HTMLResponse:
    """The form to raise a query, prefilled from the address (``target_table``, ``target_id``, ``field``)."""
    typed = {key: request.query_params.get(key, "")[:64] for key in OPEN_FIELDS - {"text"}}
    return _raise_page(request, actor, protocol, typed)


@router.get("/trials/{protocol_id}/subjects/{subject_id}/queries", response_class=HTMLResponse)
def subject_queries(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> HTMLResponse:
    """The subject's unresolved queries (the subject page loads this list; another site's subject is 404)."""

    def work(session: Session) -> list[queries.QueryView]:
        visible_subject(session, actor, subject_id, protocol_id=protocol.id)
        return queries.open_queries_of_subject(session, actor, protocol, subject_id)

    rows = run(request, actor.username, work, write=False)
    context = {"protocol": protocol, "rows": rows, "subject_id": subject_id}
    if request.headers.get("HX-Request"):
        return render(request, "queries/_subject_list.html", context)
    return render(request, "queries/subject_queries.html", context)
