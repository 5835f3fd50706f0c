"""Case report form pages of a subject: the list of the protocol's forms with the records saved and
the visits each may be filled at, and one record's entry page generated from the form definition.

The entry page posts to the same service as the JSON API (:func:`trialdesk.services.forms.save_record`
inside :func:`trialdesk.entrypoints.api.deps.run`): the server validates and names each field at
fault, shown beside the field with everything typed kept; a change of a saved value asks for the
reason. Inputs are named ``v.<field id>`` (and ``u.<field id>`` for a number's unit) so no field id
of a protocol can collide with the page's own inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import ReasonRequired
from trialdesk.adapters.db.models import FormRecord
from trialdesk.domain.forms import Entry, FormDefinition, FormField, FormRecordInvalid
from trialdesk.domain.forms.units import UNITS, display_unit
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, can
from trialdesk.entrypoints.api.deps import ProtocolDep, run
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.entrypoints.web.pages.subject_view import visit_label
from trialdesk.entrypoints.web.render import FORM_ERROR, FormErrors, language_of, render
from trialdesk.entrypoints.web.session import CSRF_FIELD, PageActor, csrf_protect
from trialdesk.services import forms, queries
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import TRIAL_ERRORS, NotFound, describe
from trialdesk.services.forms import FillableVisit

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
FORMS = "/trials/{protocol_id}/subjects/{subject_id}/forms"
VALUE, UNIT = "v.", "u."


def _visit_name(visit: FillableVisit, tr: Translator) -> str:
    return visit_label(visit.scheduled, tr) if visit.scheduled else tr.gettext("Screening")


def visit_kind_words(tr: Translator) -> dict[str, str]:
    """The visit kinds a form is filled at, in the page's language."""
    return {
        "screening": tr.gettext("screening visit"),
        "cycle": tr.gettext("each cycle"),
        "radiotherapy": tr.gettext("radiotherapy start"),
        "tumour_assessment": tr.gettext("tumour assessments"),
        "end_of_treatment": tr.gettext("end of treatment"),
        "safety_follow_up": tr.gettext("safety follow-up"),
        "survival": tr.gettext("survival follow-up"),
    }


@dataclass(frozen=True)
class FormListing:
    """One form of the index page: its records and the subject's visits it may be filled at."""

    form: FormDefinition
    records: list[FormRecord]
    visits: list[tuple[str, str]]
    next_repeat: int
    kinds: str


def _listing(
    protocol: Protocol, records: list[FormRecord], visits: list[FillableVisit], tr: Translator
) -> list[FormListing]:
    listings = []
    words = visit_kind_words(tr)
    for form in protocol.forms:
        own = [r for r in records if r.form_id == form.id]
        where = [(v.visit_id, _visit_name(v, tr)) for v in visits if v.kind in form.visits]
        log_repeats = [r.repeat_index for r in own if r.visit_id is None]
        kinds = ", ".join(words[kind] for kind in form.visits)
        listings.append(FormListing(form, own, where, max(log_repeats, default=0) + 1, kinds))
    return listings


@router.get(FORMS, response_class=HTMLResponse)
def forms_index(request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int) -> HTMLResponse:
    """The protocol's forms with the subject's saved records and where each may be filled."""
    tr = Translator(language_of(request))

    def work(session: Session) -> dict[str, Any]:
        subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
        records = forms.subject_records(session, actor, protocol, subject_id)
        visits = forms.fillable_visits(session, actor, protocol, subject_id)
        return {"subject": subject, "listings": _listing(protocol, records, visits, tr)}

    context = run(request, actor.username, work, write=False)
    context.update(protocol=protocol, can_enter=can(actor.role, Capability.ENTER_DATA))
    context["saved"] = request.query_params.get("saved", "")
    return render(request, "forms/index.html", context)


def _shown(value: Any) -> str:
    """A stored JSON value as an input shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass(frozen=True)
class FieldView:
    """One field of the entry page: the definition, its label and hint in the page's language, the
    options of a code list or boolean, and the units a number may be typed in."""

    field: FormField
    name: str
    label: str
    hint: str | None
    options: list[tuple[str, str]]
    units: list[tuple[str, str]]
    unit: str


def _hint(field: FormField, tr: Translator) -> str | None:
    hints = []
    if field.range is not None:
        hints.append(tr.gettext("plausible range %(range)s", range=field.range.describe()))
    if field.show_if:
        hints.append(tr.gettext("only when %(condition)s", condition=field.show_if))
    if field.pattern_hint:
        hints.append(tr.gettext(field.pattern_hint))
    if field.help:
        hints.append(tr.gettext(field.help))
    return "; ".join(hints) or None


def _options(field: FormField, tr: Translator) -> list[tuple[str, str]]:
    if field.type == "boolean":
        return [("", "—"), ("true", tr.gettext("yes")), ("false", tr.gettext("no"))]
    return [("", "—")] + [(c.code, tr.gettext(c.label)) for c in field.codes or ()]


def field_views(form: FormDefinition, tr: Translator) -> list[FieldView]:
    """The entry page's fields, labels and code labels in the page's language (the built-in forms'
    labels are in the catalogue; a label it lacks shows in the protocol's words)."""
    return [
        FieldView(
            f,
            f"{VALUE}{f.id}",
            tr.gettext(f.label),
            _hint(f, tr),
            _options(f, tr),
            _unit_options(f),
            display_unit(f.unit),
        )
        for f in form.fields
    ]


def _unit_options(field: FormField) -> list[tuple[str, str]]:
    """The units a number may be typed in: the field's own first, then those of its dimension."""
    if field.unit is None:
        return []
    dimension = UNITS[field.unit].dimension
    others = [code for code, unit in UNITS.items() if unit.dimension == dimension and code != field.unit]
    return [(field.unit, display_unit(field.unit))] + [(code, display_unit(code)) for code in others]


def _entry_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    form: FormDefinition,
    where: tuple[str | None, int],
    typed: Mapping[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    visit_id, repeat = where
    tr = Translator(language_of(request))

    def work(session: Session) -> dict[str, Any]:
        subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
        try:
            view = forms.get_record(
                session, actor, protocol, subject_id, form.id, visit_id=visit_id, repeat=repeat
            )
        except NotFound:
            view = None
        visits = {
            v.visit_id: _visit_name(v, tr)
            for v in forms.fillable_visits(session, actor, protocol, subject_id)
        }
        on_record = queries.open_queries_on_record(session, actor, protocol, view.record) if view else {}
        return {
            "subject": subject,
            "view": view,
            "visit_name": visits.get(visit_id or "", visit_id or ""),
            "field_queries": on_record,
        }

    context = run(request, actor.username, work, write=False)
    view = context["view"]
    stored = {f"{VALUE}{k}": _shown(v.value) for k, v in view.values.items()} if view else {}
    context.update(
        protocol=protocol,
        form=form,
        visit_id=visit_id,
        repeat=repeat,
        values=dict(typed) if typed is not None else stored,
        errors=errors.by_field if errors else {},
        fields=field_views(form, tr),
        can_enter=can(actor.role, Capability.ENTER_DATA),
        can_raise=can(actor.role, Capability.RAISE_QUERY),
    )
    return render(request, "forms/entry.html", context, status_code=errors.status_code if errors else 200)


VISIT = Query(None, max_length=32)
REPEAT = Query(1, ge=1, le=forms.MAX_REPEATS)


@router.get(FORMS + "/{form_id}", response_class=HTMLResponse)
def form_entry(
    request: Request,
    actor: PageActor,
    protocol: ProtocolDep,
    subject_id: int,
    form_id: str,
    visit: str | None = VISIT,
    repeat: int = REPEAT,
) -> HTMLResponse:
    """One record of a form: the saved values (empty for a new record), editable for site staff."""
    form = forms.form_of(protocol, form_id)
    return _entry_page(request, actor, protocol, subject_id, form, (visit or None, repeat))


def _typed_value(field: FormField, raw: str) -> object:
    """The JSON value a typed string stands for (left as text when it does not parse: the server's
    validation then names the field and the reason)."""
    converters: dict[str, Any] = {"integer": int, "decimal": float}
    if field.type in converters:
        try:
            return converters[field.type](raw)
        except ValueError:
            try:
                return float(raw)
            except ValueError:
                return raw
    if field.type == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def _entries(form: FormDefinition, typed: Mapping[str, str]) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for field in form.fields:
        raw = typed.get(f"{VALUE}{field.id}", "")
        if raw:
            unit = typed.get(f"{UNIT}{field.id}") or None
            entries[field.id] = Entry(_typed_value(field, raw), unit)
    return entries


def _refusal(exc: Exception) -> FormErrors:
    if isinstance(exc, FormRecordInvalid):
        return FormErrors({f"{VALUE}{i.field}": i.message for i in exc.issues}, 422)
    if isinstance(exc, ReasonRequired):
        return FormErrors({"reason": str(exc)}, 422)
    answer = describe(exc)  # type: ignore[arg-type]
    key = "reason" if answer.field == "reason" else FORM_ERROR
    return FormErrors({key: answer.cli_message()}, answer.status_code)


@router.post(FORMS + "/{form_id}")
async def save_form(
    request: Request,
    actor: PageActor,
    protocol: ProtocolDep,
    subject_id: int,
    form_id: str,
    visit: str | None = VISIT,
    repeat: int = REPEAT,
) -> Response:
    """Save the record; refused: the page again with each error beside its field."""
    form = forms.form_of(protocol, form_id)
    data = await request.form()
    typed = {k: v.strip() for k, v in data.items() if isinstance(v, str) and k != CSRF_FIELD}
    entries = _entries(form, typed)
    status: forms.RecordStatus = "incomplete" if typed.get("draft") else "complete"
    reason = typed.get("reason") or None

    def work(session: Session) -> object:
        return forms.save_record(
            session,
            actor,
            protocol,
            subject_id,
            form.id,
            entries,
            visit_id=visit or None,
            repeat=repeat,
            status=status,
        )

    try:
        await run_in_threadpool(run, request, actor.username, work, reason=reason)
    except (*TRIAL_ERRORS, ReasonRequired) as exc:
        if isinstance(exc, NotFound):
            raise
        return await run_in_threadpool(
            _entry_page,
            request,
            actor,
            protocol,
            subject_id,
            form,
            (visit or None, repeat),
            typed,
            _refusal(exc),
        )
    target = f"/trials/{protocol.id}/subjects/{subject_id}/forms?saved={form.id}#{form.id}"
    return RedirectResponse(target, status_code=303)
