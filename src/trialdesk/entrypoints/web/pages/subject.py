"""The trial page (its subjects and the trial's pages a role may open) and the subject page (timeline
and data-entry forms), with the htmx fragments the forms use: CTCAE term search as you type, a
term's grade definitions, a lab test's units and new lesion rows. The forms' POST handlers are in
:mod:`trialdesk.entrypoints.web.pages.subject_forms`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.domain.protocol.model import DrugIntervention, Protocol, RadiotherapyIntervention
from trialdesk.domain.roles import Capability, can
from trialdesk.domain.safety.adverse_event import ACTIONS, OUTCOMES, SAE_CRITERIA
from trialdesk.domain.safety.stopping_rules import ATTRIBUTION_LEVELS
from trialdesk.domain.subjects import status_change_targets
from trialdesk.entrypoints.api.deps import ProtocolDep, run
from trialdesk.entrypoints.api.pagination import DEFAULT_LIMIT
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.entrypoints.web.pages import subject_view as view
from trialdesk.entrypoints.web.pages.consent_view import consent_context
from trialdesk.entrypoints.web.pages.rt_field_view import rt_fields_context
from trialdesk.entrypoints.web.render import FormErrors, language_of, render
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import clock, subjects
from trialdesk.services.actors import Actor
from trialdesk.services.exposure import DEVIATION_REASONS
from trialdesk.services.odm_export import own_site_codes
from trialdesk.services.subject_record import SubjectRecord, TreatmentView, subject_record, treatment_view

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
SUBJECTS_PER_PAGE = DEFAULT_LIMIT
"""Rows of the trial page's subject list (the API's default page)."""
FOLLOW_UP_FIELDS = (
    "treatment_start_date",
    "new_anticancer_therapy_date",
    "last_known_alive_date",
    "death_date",
)


def _trial_rows(
    session: Session, actor: Actor, protocol: Protocol, tr: Translator, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the subjects this user may see (from ``offset``, by id) and how many there are."""
    codes: dict[int, str] = {}
    rows = []
    found, total = subjects.subject_page(session, actor, protocol.id, limit=SUBJECTS_PER_PAGE, offset=offset)
    for subject in found:
        if subject.site_id not in codes:
            codes[subject.site_id] = subject_repository.site_code(session, subject.site_id)
        rows.append(
            {
                "id": subject.id,
                "number": subject.screening_number,
                "site": codes[subject.site_id],
                "status": view.status_label(subject.status, tr),
                "phase": subject.phase_id or "",
                "arm": subject.arm_id or "",
                "screened": subject.screening_date,
            }
        )
    return rows, total


def _pager(protocol_id: str, offset: int, shown: int, total: int) -> dict[str, Any]:
    """Where this page of the subject list starts and ends, and the links to its neighbours."""
    base = f"/trials/{protocol_id}"
    previous = max(offset - SUBJECTS_PER_PAGE, 0)
    return {
        "first": offset + 1,
        "last": offset + shown,
        "total": total,
        "prev": (f"{base}?offset={previous}" if previous else base) if offset > 0 else None,
        "next": f"{base}?offset={offset + SUBJECTS_PER_PAGE}" if offset + SUBJECTS_PER_PAGE < total else None,
    }


@router.get("/trials/{protocol_id}", response_class=HTMLResponse)
def trial_page(
    request: Request,
    actor: PageActor,
    protocol: ProtocolDep,
    offset: int = Query(0, ge=0, le=2**31 - 1, description="Subjects to skip (pages of 100)"),
) -> HTMLResponse:
    """The trial's subjects this user may see (100 per page, by id), and the trial's pages this role
    may open."""
    tr = Translator(language_of(request))
    (rows, total), own_sites = run(
        request,
        actor.username,
        lambda s: (_trial_rows(s, actor, protocol, tr, offset), own_site_codes(s, actor, protocol)),
        write=False,
    )
    context = {
        "protocol": protocol,
        "rows": rows,
        "pager": _pager(protocol.id, offset, len(rows), total),
        "links": view.trial_links(actor, protocol, tr, own_sites),
        "arm_shown": view.sees_arm(actor),
    }
    return render(request, "subject/trial.html", context)


def _choices(tr: Translator) -> dict[str, list[tuple[str, str]]]:
    """The coded answers of the forms with their words (the codes are the domain's vocabularies)."""
    sae = {
        "death": tr.gettext("results in death"),
        "life_threatening": tr.gettext("life-threatening"),
        "hospitalization": tr.gettext("requires or prolongs hospitalisation"),
        "disability": tr.gettext("persistent or significant disability"),
        "congenital_anomaly": tr.gettext("congenital anomaly"),
        "important_medical_event": tr.gettext("important medical event"),
    }
    outcomes = {
        "recovered": tr.gettext("recovered"),
        "recovering": tr.gettext("recovering"),
        "not_recovered": tr.gettext("not recovered"),
        "recovered_with_sequelae": tr.gettext("recovered with sequelae"),
        "fatal": tr.gettext("fatal"),
        "unknown": tr.gettext("unknown"),
    }
    actions = {
        "dose_not_changed": tr.gettext("dose not changed"),
        "dose_reduced": tr.gettext("dose reduced"),
        "drug_interrupted": tr.gettext("treatment interrupted"),
        "drug_withdrawn": tr.gettext("treatment withdrawn"),
        "not_applicable": tr.gettext("not applicable"),
        "unknown": tr.gettext("unknown"),
    }
    levels = {
        "unrelated": tr.gettext("unrelated"),
        "unlikely": tr.gettext("unlikely"),
        "possible": tr.gettext("possible"),
        "probable": tr.gettext("probable"),
        "definite": tr.gettext("definite"),
    }
    non_target = {
        "present": tr.gettext("present"),
        "absent": tr.gettext("absent"),
        "unequivocal_progression": tr.gettext("unequivocal progression"),
        "increased": tr.gettext("increased since the previous assessment"),
    }
    return {
        "sae": [(code, sae.get(code, code)) for code in SAE_CRITERIA],
        "outcomes": [("", "-"), *((code, outcomes.get(code, code)) for code in OUTCOMES)],
        "actions": [("", "-"), *((code, actions.get(code, code)) for code in ACTIONS)],
        "levels": [("", tr.gettext("not assessed")), *((c, levels.get(c, c)) for c in ATTRIBUTION_LEVELS)],
        "non_target": [("", tr.gettext("not evaluated")), *non_target.items()],
        "roles": [("target", tr.gettext("target")), ("non_target", tr.gettext("non-target"))],
        "yes_no": [("no", tr.gettext("no")), ("yes", tr.gettext("yes"))],
    }


def _defaults(record: SubjectRecord) -> dict[str, dict[str, Any]]:
    """The values each form starts with (the follow-up form shows the stored dates)."""
    subject = record.subject
    follow_up = {name: view_value(getattr(subject, name)) for name in FOLLOW_UP_FIELDS}
    return {"follow_up": follow_up}


def view_value(value: object) -> str:
    """A stored value as a form field shows it."""
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _row_count(values: Mapping[str, Any], prefix: str, minimum: int) -> int:
    indices = [
        int(key[len(prefix) + 1 : key.index("]")])
        for key in values
        if key.startswith(prefix + "[") and key[len(prefix) + 1 : key.index("]")].isdigit()
    ]
    return max([minimum, *(i + 1 for i in indices)])


def subject_context(
    record: SubjectRecord, actor: Actor, protocol: Protocol, tr: Translator, values: Mapping[str, Any]
) -> dict[str, Any]:
    """What the subject page shows besides the form state."""
    subject = record.subject
    arm_shown = view.sees_arm(actor)
    components = protocol.arm(subject.arm_id).interventions if subject.arm_id else []
    targets = [s.value for s in status_change_targets(subject.status)]
    term, grades = view.grade_definitions(str(values.get("term", "")), tr)
    lab_test = str(values.get("test", "")) or view.lab_tests()[0][0]
    choices = _choices(tr)
    return {
        "protocol": protocol,
        "record": record,
        "subject": subject,
        "arm_shown": arm_shown,
        "timeline": view.timeline(record, tr, arm_shown),
        "components": components,
        "can_enter": can(actor.role, Capability.ENTER_DATA),
        "can_attest": can(actor.role, Capability.ATTEST),
        "can_enrol": can(actor.role, Capability.SIGN_ENROLMENT) and subject.status == "screening",
        "can_randomize": can(actor.role, Capability.RANDOMIZE)
        and subject.phase_id is not None
        and subject.arm_id is None,
        "status_label": view.status_label(subject.status, tr),
        "verdict": view.verdict_label(record.evaluation.verdict, tr) if record.evaluation else "",
        "status_targets": [(code, view.status_label(code, tr)) for code in targets],
        "choices": choices,
        "words": {name: dict(options) for name, options in choices.items()}
        | {
            "new_lesion": {
                "yes": tr.gettext("yes"),
                "no": tr.gettext("no"),
                "equivocal": tr.gettext("equivocal"),
            }
        },
        "term": term,
        "grades": grades,
        "lab_tests": view.lab_tests(),
        "lab_units": view.lab_units(lab_test),
        "lab_name": view.lab_name,
        "proposals": record.proposals,
        "responses": view.response_rows(record.responses),
        "baseline_rows": _row_count(values, "lesions", 3),
        "new_lesion_rows": _row_count(values, "new_lesions", 1),
        "target_lesions": [
            les for les in (record.baseline.lesions if record.baseline else []) if les.get("role") == "target"
        ],
        "non_target_lesions": [
            les for les in (record.baseline.lesions if record.baseline else []) if les.get("role") != "target"
        ],
        "defaults": _defaults(record),
    }


CALENDAR_WEEKS_AHEAD = 12
"""The subject page lists past visits and those of the next 12 weeks; later ones are folded away."""


def treatment_context(
    treatment: TreatmentView, record: SubjectRecord, protocol: Protocol, tr: Translator
) -> dict[str, Any]:
    """The calendar, doses and radiotherapy section of the subject page, with its forms' choices."""
    arm = protocol.arm(record.subject.arm_id) if record.subject.arm_id else None
    components = set(arm.interventions) if arm else set()
    shown = protocol.localized(tr.language)  # the agents' names in the request's language
    drugs = [i for i in shown.interventions if isinstance(i, DrugIntervention) and i.id in components]
    courses = [
        i for i in shown.interventions if isinstance(i, RadiotherapyIntervention) and i.id in components
    ]
    open_visits = [v for v in treatment.calendar if v.status in ("planned", "overdue")]
    horizon = clock.today() + dt.timedelta(weeks=CALENDAR_WEEKS_AHEAD)
    return {
        "treatment": treatment,
        "calendar_now": [v for v in treatment.calendar if v.planned <= horizon],
        "calendar_later": [v for v in treatment.calendar if v.planned > horizon],
        "calendar_weeks": CALENDAR_WEEKS_AHEAD,
        "visit_label": lambda visit: view.visit_label(visit, tr),
        "dose_agents": [(d.id, f"{d.name} ({d.dose.value:g} {d.dose.unit})") for d in drugs if d.dose.value],
        "rt_courses": [
            (c.id, f"{c.name} ({c.fractions.value} x {c.dose_per_fraction_gy.value:g} Gy)") for c in courses
        ],
        "visit_choices": [
            (v.visit_id, f"{view.visit_label(v, tr)} ({v.planned.isoformat()})") for v in open_visits
        ],
        "visit_status_words": view.visit_status_words(tr),
        "visit_outcomes": [
            ("done", tr.gettext("done")),
            ("missed", tr.gettext("missed")),
            ("not_required", tr.gettext("not required")),
        ],
        "deviation_reasons": [("", tr.gettext("(as planned)"))]
        + [(r, view.deviation_reason_word(r, tr)) for r in DEVIATION_REASONS],
        "ae_choices": [("", "")]
        + [(str(e.id), f"{e.term} ({e.onset_date.isoformat()})") for e in record.events],
        "rt_class_words": view.rt_class_words(tr),
    }


def subject_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    *,
    form: str = "",
    errors: FormErrors | None = None,
    values: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    """The subject page; ``form`` names the form whose ``errors`` and typed ``values`` are shown."""
    tr = Translator(language_of(request))
    typed = dict(values or {})
    record, treatment = run(
        request,
        actor.username,
        lambda s: (
            subject_record(s, actor, protocol, subject_id),
            treatment_view(s, actor, protocol, subject_id),
        ),
        write=False,
    )
    context = subject_context(record, actor, protocol, tr, typed)
    context.update(treatment_context(treatment, record, protocol, tr))
    context.update(consent_context(request, actor, protocol, subject_id, tr))
    context.update(rt_fields_context(request, actor, protocol, subject_id, tr))
    context.update(
        form=form,
        errors=errors.by_field if errors else {},
        values=typed,
        saved=request.query_params.get("saved", ""),
    )
    return render(request, "subject/subject.html", context, status_code=errors.status_code if errors else 200)


@router.get("/trials/{protocol_id}/subjects/{subject_id}", response_class=HTMLResponse)
def subject_detail(
    request: Request, actor: PageActor, protocol: ProtocolDep, subject_id: int
) -> HTMLResponse:
    """The subject page: timeline and forms (another site's subject is a 404 page)."""
    return subject_page(request, actor, protocol, subject_id)


# ---- htmx fragments -------------------------------------------------------------------------------


@router.get("/trials/{protocol_id}/ctcae-terms", response_class=HTMLResponse)
def ctcae_terms(request: Request, actor: PageActor, protocol: ProtocolDep, term: str = "") -> HTMLResponse:
    """The CTCAE terms matching what was typed (search as you type)."""
    tr = Translator(language_of(request))
    context = {"protocol": protocol, "found": view.search_terms(term[:100], tr), "query": term[:100]}
    return render(request, "subject/_term_results.html", context)


@router.get("/trials/{protocol_id}/ctcae-grades", response_class=HTMLResponse)
def ctcae_grades(
    request: Request, actor: PageActor, protocol: ProtocolDep, term: str = "", grade: str = ""
) -> HTMLResponse:
    """The term field with the chosen term, and the grade selector with the term's grade definitions."""
    tr = Translator(language_of(request))
    found, grades = view.grade_definitions(term[:200], tr)
    values = {"term": found.term if found else term[:200], "grade": grade}
    context = {"protocol": protocol, "term": found, "grades": grades, "values": values, "errors": {}}
    return render(request, "subject/_term_block.html", {**context, "chosen": found is not None})


@router.get("/trials/{protocol_id}/lab-units", response_class=HTMLResponse)
def lab_units(request: Request, actor: PageActor, protocol: ProtocolDep, test: str = "") -> HTMLResponse:
    """The unit selector of a lab test."""
    context = {"lab_units": view.lab_units(test[:40]), "values": {}, "errors": {}}
    return render(request, "subject/_lab_unit.html", context)


@router.get("/trials/{protocol_id}/lesion-row", response_class=HTMLResponse)
def lesion_row(
    request: Request, actor: PageActor, protocol: ProtocolDep, kind: str = "baseline", index: int = 0
) -> HTMLResponse:
    """One more empty lesion row (``kind``: baseline lesion or new lesion) and the next add button."""
    tr = Translator(language_of(request))
    context = {
        "protocol": protocol,
        "kind": "new" if kind == "new" else "baseline",
        "index": max(0, min(index, 49)),
        "choices": _choices(tr),
        "values": {},
        "errors": {},
        "oob": True,
    }
    return render(request, "subject/_lesion_row.html", context)
