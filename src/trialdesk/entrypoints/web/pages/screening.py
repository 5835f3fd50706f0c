"""Screening pages: the screening form generated from the protocol (live criterion status, import of
a FHIR R4 bundle or patient JSON to prefill), the screening log, a subject's eligibility with the
investigator's attestations, enrolment with the e-signature, and randomization.

Every action calls the same services as the JSON API (``entrypoints/api/subjects.py``); a refused
action is shown beside its field with the typed values kept.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.datastructures import FormData
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.audit import ReasonRequired
from trialdesk.adapters.db.models import Subject
from trialdesk.domain.eligibility.rules import is_attestable
from trialdesk.domain.eligibility.validation import PatientDataError
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, can
from trialdesk.entrypoints.api.deps import ProtocolDep, run
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.entrypoints.web.render import FORM_ERROR, language_of, render
from trialdesk.entrypoints.web.screening_form import (
    Built,
    FormValues,
    ScreeningForm,
    build_form,
    default_units,
    form_from_record,
    form_location,
    record_from_form,
    row_count,
)
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import clock, enrolment, randomization, subjects
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.errors import TRIAL_ERRORS, TrialError, describe
from trialdesk.services.screening import detect_format, screen_data

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

MAX_IMPORT_BYTES = 2_000_000
GROUP_KEYS = ("prior_therapies", "investigational_drug_exposures", "other_malignancies", "lesions")


def _tr(request: Request) -> Translator:
    return Translator(language_of(request))


def _values(form: FormData) -> FormValues:
    """Form data as values: one text per field, a list for the disease-setting checkboxes."""
    values: FormValues = {}
    for key in form:
        items = [v for v in form.getlist(key) if isinstance(v, str)]
        if key == "diagnosis.setting":
            values[key] = items
        elif items:
            values[key] = items[0]
    values.pop("csrf_token", None)
    return values


def _user_sites(session: Session, actor: Actor, protocol_id: str) -> list[tuple[str, str]]:
    """(code, name) of the trial's sites this user works at (all sites for cross-site roles)."""
    sites = []
    for code in subject_repository.site_codes(session, protocol_id):
        site = subject_repository.site_by_code(session, protocol_id, code)
        if site is not None and actor.sees_site(site.id):
            sites.append((site.code, site.name))
    return sites


# ---------------------------------------------------------------- live evaluation


def preview(protocol: Protocol, form: ScreeningForm, values: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate the typed values with the domain evaluator (nothing stored): per-criterion results,
    the verdict and, when the record cannot be evaluated, the problems. Attestations that came in an
    imported record are proposals and never count here either."""
    built = record_from_form(form, values)
    record = {k: v for k, v in built.record.items() if k != "attestations"}
    problems = dict(built.errors)
    result = None
    try:
        result = screen_data(protocol, record).result
    except PatientDataError as exc:
        for issue in exc.issues:
            name = form_location(built, issue.location) or FORM_ERROR
            problems.setdefault(name, issue.message)
    criteria = {c.id: c for c in result.criteria} if result else {}
    return {"result": result, "criteria": criteria, "problems": problems, "built": built}


def _proposals(values: Mapping[str, Any]) -> dict[str, Any]:
    try:
        loaded = json.loads(str(values.get("proposals") or "{}"))
    except json.JSONDecodeError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _form_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    values: FormValues,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
    notice: str = "",
) -> HTMLResponse:
    form = build_form(protocol.localized(language_of(request)))  # labels in the page's language
    sites = run(request, actor.username, lambda s: _user_sites(s, actor, protocol.id), write=False)
    values.setdefault("screening_date", clock.today().isoformat())
    for name, unit in default_units(form).items():
        values.setdefault(name, unit)
    if sites:
        values.setdefault("site_code", sites[0][0])
    rows = {key: row_count(values, key) for key in GROUP_KEYS}
    context = {
        "protocol": protocol,
        "form": form,
        "sites": sites,
        "values": values,
        "errors": dict(errors or {}),
        "rows": rows,
        "live": preview(protocol, form, values),
        "proposals": _proposals(values),
        "notice": notice,
    }
    return render(request, "screening/new.html", context, status_code=status_code)


@router.get("/trials/{protocol_id}/screening/new", response_class=HTMLResponse)
def new_screening(request: Request, actor: PageActor, protocol: ProtocolDep) -> HTMLResponse:
    """The screening form of the trial (coordinators and investigators)."""
    actor.require(Capability.SCREEN)
    return _form_page(request, actor, protocol, {})


@router.post("/trials/{protocol_id}/screening/preview", response_class=HTMLResponse)
async def preview_screening(request: Request, actor: PageActor, protocol: ProtocolDep) -> HTMLResponse:
    """The live status of every criterion and the verdict for the typed values (an htmx fragment)."""
    actor.require(Capability.SCREEN)
    values = _values(await request.form())
    form = build_form(protocol.localized(language_of(request)))  # the same names and codes, labels shown
    context = {
        "protocol": protocol,
        "form": form,
        "live": preview(protocol, form, values),
        "proposals": _proposals(values),
    }
    return render(request, "screening/_live.html", context)


@router.post("/trials/{protocol_id}/screening/new", response_model=None)
async def submit_screening(request: Request, actor: PageActor, protocol: ProtocolDep) -> Response:
    """Screen the patient through the same service as ``POST /api/trials/{id}/subjects``; an ineligible
    patient is recorded as a screen failure naming the failed criteria."""
    actor.require(Capability.SCREEN)
    values = _values(await request.form())
    added = values.pop("add_row", None)
    if added in GROUP_KEYS:
        values[f"{added}.rows"] = str(row_count(values, str(added)) + 1)
        return _form_page(request, actor, protocol, values)
    form = build_form(protocol)
    built = record_from_form(form, values)
    if built.errors:
        return _form_page(request, actor, protocol, values, built.errors, 422)
    site_code = str(values.get("site_code") or "")
    try:
        subject_id, verdict, failed = run(
            request, actor.username, lambda s: _screen(s, actor, protocol, site_code, built.record)
        )
    except TRIAL_ERRORS as exc:
        return _form_page(request, actor, protocol, values, _errors_of(exc, built), describe(exc).status_code)
    if verdict == "ineligible":
        reason = "not eligible at screening: " + ", ".join(failed)
        run(
            request,
            actor.username,
            lambda s: enrolment.change_status(s, actor, protocol, subject_id, "screen_failed", reason),
            reason=reason,
        )
    return RedirectResponse(f"/trials/{protocol.id}/subjects/{subject_id}/eligibility", status_code=303)


def _screen(
    session: Session, actor: Actor, protocol: Protocol, site_code: str, record: dict[str, Any]
) -> tuple[int, str, list[str]]:
    outcome = subjects.screen(session, actor, protocol, site_code, record)
    failed = [c["id"] for c in outcome.evaluation.criteria if c["status"] == "not_met"]
    return outcome.subject.id, outcome.evaluation.verdict, failed


def _errors_of(exc: TrialError, built: Built) -> dict[str, str]:
    """A service error beside its form field (``patient.labs[0].date`` -> the lab's date input)."""
    answer = describe(exc)
    if answer.field == "site_code" or "site '" in answer.message:
        return {"site_code": answer.message}
    if answer.rule == "unique_screening_number":
        return {"screening_number": answer.message}
    name = form_location(built, answer.field)
    return {name: answer.message} if name else {FORM_ERROR: answer.cli_message()}


@router.post("/trials/{protocol_id}/screening/import", response_class=HTMLResponse)
async def import_record(
    request: Request, actor: PageActor, protocol: ProtocolDep, record_file: UploadFile | None = None
) -> HTMLResponse:
    """Prefill the screening form from a FHIR R4 bundle or a patient JSON file (nothing is screened)."""
    actor.require(Capability.SCREEN)
    tr = _tr(request)
    data = await record_file.read(MAX_IMPORT_BYTES + 1) if record_file is not None else b""
    try:
        record = _imported(protocol, data)
    except ValueError as exc:
        return _form_page(request, actor, protocol, {}, {"record_file": str(exc)}, 422)
    values = form_from_record(build_form(protocol), record)
    if not values.get("screening_number"):
        values.pop("screening_number", None)
    notice = tr.gettext("The form is filled from the file. Check every value, then screen the patient.")
    return _form_page(request, actor, protocol, values, notice=notice)


def _imported(protocol: Protocol, data: bytes) -> dict[str, Any]:
    """The patient record in an uploaded file; ValueError with a readable reason otherwise."""
    if not data:
        raise ValueError("choose a file: a FHIR R4 Bundle or a trialdesk patient JSON file")
    if len(data) > MAX_IMPORT_BYTES:
        raise ValueError(f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB")
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a JSON file: {exc}") from None
    try:
        detect_format(parsed)
        screening = screen_data(protocol, parsed, None if _dated(parsed) else clock.today())
    except PatientDataError as exc:
        raise ValueError(str(exc)) from None
    record: dict[str, Any] = screening.patient.model_dump(mode="json", exclude_none=True)
    return record


def _dated(parsed: Any) -> bool:
    """Whether a patient JSON file gives its screening date (a FHIR bundle is screened as of today
    unless the import finds one)."""
    return isinstance(parsed, dict) and bool(parsed.get("screening_date"))


# ---------------------------------------------------------------- screening log


@router.get("/trials/{protocol_id}/screening-log", response_class=HTMLResponse)
def screening_log(request: Request, actor: PageActor, protocol: ProtocolDep) -> HTMLResponse:
    """Every screened patient the user may see, the verdict, failed criteria and failure counts."""

    def work(session: Session) -> tuple[dict[str, Any], dict[int, str]]:
        log = subjects.screening_log(session, actor, protocol.id)
        codes = {
            row["site_id"]: subject_repository.site_code(session, row["site_id"]) for row in log["subjects"]
        }
        return log, codes

    log, site_codes = run(request, actor.username, work, write=False)
    criteria = {c.id: c for c in protocol.localized(language_of(request)).eligibility.criteria}
    context = {"protocol": protocol, "log": log, "site_codes": site_codes, "criteria": criteria}
    return render(request, "screening/log.html", context)


# ---------------------------------------------------------------- eligibility and attestation


def _subject_context(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> dict[str, Any]:
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    evaluation = subjects.latest_evaluation(session, subject.id)
    attested = {row[0]: row for row in subjects.attestation_rows(session, subject.id)}
    allocation = subject_repository.allocation_of(session, subject.id)
    return {
        "subject": _subject_view(subject),
        "evaluation": evaluation,
        "attested": attested,
        "allocation": allocation,
        "site_code": subject_repository.site_code(session, subject.site_id),
    }


def _subject_view(subject: Subject) -> dict[str, Any]:
    """What the pages show of a subject (plain values, read inside the unit of work)."""
    record = subject.patient_record or {}
    return {
        "id": subject.id,
        "screening_number": subject.screening_number,
        "status": subject.status,
        "status_reason": subject.status_reason,
        "screening_date": subject.screening_date,
        "consent_date": subject.consent_date,
        "record_consent": (record.get("consent") or {}).get("signed_date"),
        "phase_id": subject.phase_id,
        "arm_id": subject.arm_id,
        "site_id": subject.site_id,
        "proposed": dict(subject.proposed_attestations or {}),
    }


def _eligibility_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = run(
        request, actor.username, lambda s: _subject_context(s, actor, protocol, subject_id), write=False
    )
    may_attest = can(actor.role, Capability.ATTEST) and context["subject"]["status"] == "screening"
    attestable = {c.id for c in protocol.eligibility.criteria if is_attestable(c.rule)}
    context.update(
        {
            "protocol": protocol,
            # shown in the request's language: the criteria's texts and the investigator's questions
            "criteria": {c.id: c for c in protocol.localized(language_of(request)).eligibility.criteria},
            "attestable": attestable,
            "may_attest": may_attest,
            "may_enrol": can(actor.role, Capability.SIGN_ENROLMENT),
            "errors": dict(errors or {}),
            "values": dict(values or {}),
        }
    )
    return render(request, "screening/eligibility.html", context, status_code=status_code)


@router.get("/trials/{protocol_id}/subjects/{subject_id}/eligibility", response_class=HTMLResponse)
def eligibility(request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int) -> HTMLResponse:
    """The stored evaluation, criterion by criterion; attestation controls for the site's investigator."""
    return _eligibility_page(request, actor, protocol, subject_id)


@router.post("/trials/{protocol_id}/subjects/{subject_id}/eligibility", response_model=None)
async def attest(request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int) -> Response:
    """Record the investigator's answer to one judgement criterion (``subjects.attest``)."""
    values = _values(await request.form())
    criterion_id = str(values.get("criterion_id") or "")
    answer = values.get(f"answer.{criterion_id}")
    reason = str(values.get(f"reason.{criterion_id}") or "").strip() or None
    field = f"answer.{criterion_id}"
    if answer not in ("yes", "no"):
        message = _tr(request).gettext("Choose yes or no.")
        return _eligibility_page(request, actor, protocol, subject_id, {field: message}, values, 422)
    try:
        run(
            request,
            actor.username,
            lambda s: subjects.attest(s, actor, protocol, subject_id, criterion_id, answer == "yes"),
            reason=reason,
        )
    except TRIAL_ERRORS as exc:
        errors = {field: describe(exc).message}
        return _eligibility_page(
            request, actor, protocol, subject_id, errors, values, describe(exc).status_code
        )
    except ReasonRequired:
        message = _tr(request).gettext("Changing an answer needs the reason for the change.")
        errors = {f"reason.{criterion_id}": message}
        return _eligibility_page(request, actor, protocol, subject_id, errors, values, 422)
    url = f"/trials/{protocol.id}/subjects/{subject_id}/eligibility#criterion-{criterion_id}"
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- enrolment with e-signature


def signature_meaning(tr: Translator, consent_date: str, phase: str) -> str:
    """The meaning of the enrolment signature, stated in words (and stored with the signature)."""
    return tr.gettext(
        "I confirm this patient meets all eligibility criteria and consented on %(date)s, and I enrol "
        "them in %(phase)s.",
        date=consent_date,
        phase=phase,
    )


def _enrol_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = run(
        request, actor.username, lambda s: _subject_context(s, actor, protocol, subject_id), write=False
    )
    shown = dict(values or {})
    shown.setdefault("consent_date", context["subject"]["record_consent"] or "")
    context.update(
        {
            "protocol": protocol,
            "values": shown,
            "errors": dict(errors or {}),
            "may_enrol": can(actor.role, Capability.SIGN_ENROLMENT),
            "meaning": signature_meaning(_tr(request), shown["consent_date"] or "-", protocol.short_title),
        }
    )
    return render(request, "screening/enrol.html", context, status_code=status_code)


@router.get("/trials/{protocol_id}/subjects/{subject_id}/enrol", response_class=HTMLResponse)
def enrol_page(request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int) -> HTMLResponse:
    """The enrolment form: the evidence, the meaning of the signature, the password."""
    return _enrol_page(request, actor, protocol, subject_id)


@router.post("/trials/{protocol_id}/subjects/{subject_id}/enrol", response_model=None)
async def enrol(request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int) -> Response:
    """Enrol through ``enrolment.enrol`` (as the API): the investigator signs with their password."""
    values = _values(await request.form())
    consent_text = str(values.get("consent_date") or "")
    password = str(values.pop("password", "") or "")
    tr = _tr(request)
    try:
        consent = dt.date.fromisoformat(consent_text) if consent_text else None
    except ValueError:
        consent = None
    if consent is None:
        errors = {"consent_date": tr.gettext("Give the consent date (YYYY-MM-DD).")}
        return _enrol_page(request, actor, protocol, subject_id, values, errors, 422)
    meaning = signature_meaning(tr, consent.isoformat(), protocol.short_title)
    try:
        run(
            request,
            actor.username,
            lambda s: enrolment.enrol(
                s, actor, protocol, subject_id, consent_date=consent, password=password, meaning=meaning
            ),
            reason="enrolment",
        )
    except TRIAL_ERRORS as exc:
        answer = describe(exc)
        key = (
            "password"
            if answer.status_code == 401
            else answer.field
            if answer.field == "consent_date"
            else FORM_ERROR
        )
        return _enrol_page(
            request, actor, protocol, subject_id, values, {key: answer.message}, answer.status_code
        )
    return RedirectResponse(f"/trials/{protocol.id}/subjects/{subject_id}/enrol", status_code=303)


# ---------------------------------------------------------------- randomization


def _randomize_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    def work(session: Session) -> dict[str, Any]:
        context = _subject_context(session, actor, protocol, subject_id)
        strata: dict[str, str] = {}
        problem = ""
        if context["allocation"] is None:
            try:
                strata = randomization.derived_strata(session, actor, protocol, subject_id)
            except TRIAL_ERRORS as exc:
                problem = describe(exc).message
        return {**context, "strata": strata, "strata_problem": problem}

    context = run(request, actor.username, work, write=False)
    shown = protocol.localized(language_of(request))  # the factors' labels in the page's language
    phase = next((p for p in shown.design.phases if p.kind == "randomized"), None)
    factors = (
        {f.id: f.label for f in phase.allocation.stratification_factors} if phase and phase.allocation else {}
    )
    context.update(
        {
            "protocol": protocol,
            "factors": factors,
            "errors": dict(errors or {}),
            "may_randomize": can(actor.role, Capability.RANDOMIZE),
            "sees_arm": can(actor.role, Capability.READ_SUBJECTS),
        }
    )
    return render(request, "screening/randomize.html", context, status_code=status_code)


@router.get("/trials/{protocol_id}/subjects/{subject_id}/randomize", response_class=HTMLResponse)
def randomize_page(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> HTMLResponse:
    """The confirmation step: the strata the server derives from the record, then the button."""
    return _randomize_page(request, actor, protocol, subject_id)


@router.post("/trials/{protocol_id}/subjects/{subject_id}/randomize", response_model=None)
def randomize(request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int) -> Response:
    """Randomize through ``randomization.randomize`` (as the API); the strata are derived on the server,
    never sent by the browser."""
    try:
        run(
            request,
            actor.username,
            lambda s: randomization.randomize(s, actor, protocol, subject_id, {}),
            reason="randomization",
        )
    except TRIAL_ERRORS as exc:
        answer = describe(exc)
        return _randomize_page(
            request, actor, protocol, subject_id, {FORM_ERROR: answer.message}, answer.status_code
        )
    return RedirectResponse(f"/trials/{protocol.id}/subjects/{subject_id}/randomize", status_code=303)
