"""The safety reviewer's pages: the run-in gate (its evidence and the e-signature that moves the phase)
and the safety alerts with their acknowledgement.

Every page calls the services the JSON API calls (:mod:`trialdesk.entrypoints.api.trials`,
:mod:`trialdesk.entrypoints.api.safety`) with the API's own request models, so a refusal reads the
same in the browser: it is shown beside its field (or above the form) with the typed values kept.
Site roles and the administrator are refused by the services themselves (403 pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, Role, can
from trialdesk.domain.trial_phase import ALLOWED_PHASE_TRANSITIONS, PhaseState
from trialdesk.entrypoints.api.deps import ProtocolDep, run
from trialdesk.entrypoints.api.safety import AcknowledgeIn, alert_out
from trialdesk.entrypoints.api.trials import PhaseMoveIn
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.entrypoints.web.render import FormErrors, language_of, render
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import safety_alerts, trials
from trialdesk.services.actors import Actor
from trialdesk.services.errors import TRIAL_ERRORS, NotAuthenticated
from trialdesk.services.safety_report import REPORT_READERS, TRUE_RATES
from trialdesk.services.trial_state import signed_gate_evidence, trial_state
from trialdesk.stats.stopping_rule import probability_rule_met

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

SIGN_FIELDS = frozenset({"target", "reason", "meaning", "password"})
"""The fields of the signed phase decision (the API's ``PhaseMoveIn`` without the evidence hash)."""
GATE_READERS = frozenset({Role.SAFETY_REVIEWER, Role.STATISTICIAN, Role.MONITOR})
"""Who may read the gate evidence (:func:`trialdesk.services.trial_state.signed_gate_evidence`)."""


@dataclass(frozen=True)
class SafetyLink:
    """A link of the safety pages' own navigation."""

    key: str
    href: str
    label: str


def safety_links(actor: Actor, protocol_id: str, tr: Translator) -> list[SafetyLink]:
    """The safety and report pages of one trial this user's role may open."""
    base = f"/trials/{protocol_id}"
    links = []
    if actor.role in GATE_READERS:
        links.append(SafetyLink("gate", f"{base}/gate", tr.gettext("Run-in gate")))
    if actor.role in safety_alerts.ALERT_READERS:
        links.append(SafetyLink("alerts", f"{base}/alerts", tr.gettext("Safety alerts")))
    if actor.role in REPORT_READERS:
        links.append(SafetyLink("safety-report", f"{base}/safety-report", tr.gettext("Safety report")))
    if can(actor.role, Capability.RUN_ANALYSES):
        links.append(SafetyLink("report", f"{base}/report", tr.gettext("Trial report")))
    return links


def page_frame(request: Request, actor: Actor, protocol: Protocol, current: str) -> dict[str, Any]:
    """The context every safety and report page shares: the trial and its sub-navigation."""
    tr = Translator(language_of(request))
    return {
        "protocol": protocol,
        "tabs": safety_links(actor, protocol.id, tr),
        "current_tab": current,
    }


# ---- the run-in gate ------------------------------------------------------------------------------


def rule_probabilities(protocol: Protocol, rule_ids: list[str]) -> list[dict[str, Any]]:
    """For each stopping rule guarding a gate: the exact probability that it is met at the planned
    run-in sizes, for true per-subject event rates of 1-20 % (the safety report's table)."""
    out = []
    for rule in protocol.stopping_rules:
        if rule.id not in rule_ids:
            continue
        size = protocol.phase(rule.counts.population_phase).target_size
        sizes = sorted({size.min, size.max})
        rows = [
            {"rate": rate, "probabilities": [probability_rule_met(n, rule.threshold, rate) for n in sizes]}
            for rate in TRUE_RATES
        ]
        out.append({"rule_id": rule.id, "threshold": rule.threshold, "sizes": sizes, "rows": rows})
    return out


def decisions(state: str) -> list[str]:
    """The phase states a signed decision may move the trial to from ``state`` (closing the run-in
    for review has its own, unsigned form)."""
    current = PhaseState(state)
    return [
        target.value
        for target in ALLOWED_PHASE_TRANSITIONS[current]
        if not (current == PhaseState.run_in_open and target == PhaseState.run_in_review)
    ]


def _gate_facts(session: Session, actor: Actor, protocol: Protocol) -> tuple[dict[str, Any], dict[str, Any]]:
    return signed_gate_evidence(session, actor, protocol), trial_state(session, protocol)


def gate_context(request: Request, actor: Actor, protocol: Protocol) -> dict[str, Any]:
    """What the gate page shows: the evidence with its SHA-256, the state and its history, the rules'
    operating characteristics and the decisions open to a signer."""
    signed, state = run(request, actor.username, lambda s: _gate_facts(s, actor, protocol), write=False)
    evidence = signed["evidence"]
    gate_rules = [r for gate in protocol.design.gates for r in gate.stopping_rules]
    shown = protocol.localized(language_of(request))  # names and descriptions in the request's language
    descriptions = {r.id: r.description for r in shown.stopping_rules}
    return {
        **page_frame(request, actor, protocol, "gate"),
        "gate_evidence": evidence,  # not "evidence": the template function of that name stays
        "evidence_sha256": signed["evidence_sha256"],
        "state": state,
        "phase_names": {p.id: p.name for p in shown.design.phases},
        "components": {c.id: c.name for c in shown.interventions},
        "grade5": [ae for ae in evidence["adverse_events"] if ae["grade"] == 5],
        "rule_descriptions": descriptions,
        "probabilities": rule_probabilities(protocol, gate_rules),
        "can_sign": can(actor.role, Capability.SIGN_PHASE_GATE),
        "decisions": decisions(evidence["phase_state"]),
        "may_close_for_review": evidence["phase_state"] == PhaseState.run_in_open.value,
    }


def _gate_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    failed_form: str = "",
) -> HTMLResponse:
    context = gate_context(request, actor, protocol)
    tr = Translator(language_of(request))
    typed = {"meaning": default_meaning(tr), **(values or {})}
    status = errors.status_code if errors else 200
    context.update(
        values=typed, errors=errors.by_field if errors else {}, failed_form=failed_form, status=status
    )
    return render(request, "safety/gate.html", context, status_code=status)


def default_meaning(tr: Translator) -> str:
    """The meaning of the signature, prefilled in the signer's language (they may reword it)."""
    return tr.gettext(
        "I have reviewed the run-in safety evidence shown on this page and approve this decision."
    )


@router.get("/trials/{protocol_id}/gate", response_class=HTMLResponse)
def gate_page(request: Request, actor: PageActor, protocol: ProtocolDep) -> HTMLResponse:
    """The run-in gate: evidence, rule state, probability table and (for the safety reviewer) the
    e-signature."""
    return _gate_page(request, actor, protocol)


def _move(request: Request, actor: Actor, protocol: Protocol, body: PhaseMoveIn) -> None:
    def work(session: Session) -> None:
        trials.move_phase(
            session,
            actor,
            protocol,
            body.target,
            reason=body.reason,
            password=body.password,
            meaning=body.meaning,
            evidence_sha256=body.evidence_sha256,
        )

    run(request, actor.username, work, reason=body.reason)


def _refusal(exc: Exception, fields: frozenset[str]) -> FormErrors:
    """A refused phase move as form errors: a wrong password belongs beside the password field."""
    if isinstance(exc, ValidationError):
        return FormErrors.from_validation(exc)
    assert isinstance(exc, TRIAL_ERRORS)
    errors = FormErrors.from_error(exc, fields=fields)
    if isinstance(exc, NotAuthenticated) and "password" in fields:
        return FormErrors({"password": exc.message}, errors.status_code)
    return errors


@router.post("/trials/{protocol_id}/gate", response_class=HTMLResponse)
def sign_gate(
    request: Request,
    actor: PageActor,
    protocol: ProtocolDep,
    target: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    meaning: Annotated[str, Form(max_length=500)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    evidence_sha256: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """A signed phase decision (password re-entered, meaning stated, bound to the evidence shown)."""
    values = {"target": target, "reason": reason, "meaning": meaning}
    try:
        body = PhaseMoveIn(
            target=target, reason=reason, password=password, meaning=meaning, evidence_sha256=evidence_sha256
        )
        _move(request, actor, protocol, body)
    except (ValidationError, *TRIAL_ERRORS) as exc:
        errors = _refusal(exc, SIGN_FIELDS)
        return _gate_page(request, actor, protocol, values=values, errors=errors, failed_form="sign")
    return RedirectResponse(f"/trials/{protocol.id}/gate?moved={target}", status_code=303)


@router.post("/trials/{protocol_id}/gate/review", response_class=HTMLResponse)
def close_for_review(
    request: Request,
    actor: PageActor,
    protocol: ProtocolDep,
    review_reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Close the run-in for the safety review (no enrolment meanwhile); no signature needed."""
    target = PhaseState.run_in_review.value
    try:
        _move(request, actor, protocol, PhaseMoveIn(target=target, reason=review_reason))
    except (ValidationError, *TRIAL_ERRORS) as exc:
        found = _refusal(exc, frozenset({"reason"}))
        errors = FormErrors(
            {("review_reason" if k == "reason" else k): v for k, v in found.by_field.items()},
            found.status_code,
        )
        values = {"review_reason": review_reason}
        return _gate_page(request, actor, protocol, values=values, errors=errors, failed_form="review")
    return RedirectResponse(f"/trials/{protocol.id}/gate?moved={target}", status_code=303)


# ---- safety alerts --------------------------------------------------------------------------------


def _alerts_page(
    request: Request,
    actor: Actor,
    protocol: Protocol,
    show: str,
    *,
    failed_alert: int | None = None,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    open_only = show != "all"
    alerts = run(
        request,
        actor.username,
        lambda s: [
            alert_out(a)
            for a in safety_alerts.list_alerts(s, actor, protocol_id=protocol.id, open_only=open_only)
        ],
        write=False,
    )
    context = {
        **page_frame(request, actor, protocol, "alerts"),
        "alerts": alerts,
        "show": "open" if open_only else "all",
        "may_acknowledge": actor.role in safety_alerts.ALERT_ACKNOWLEDGERS,
        "failed_alert": failed_alert,
        "values": values or {},
        "errors": errors.by_field if errors else {},
    }
    return render(request, "safety/alerts.html", context, status_code=errors.status_code if errors else 200)


@router.get("/trials/{protocol_id}/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, actor: PageActor, protocol: ProtocolDep, show: str = "open"
) -> HTMLResponse:
    """The trial's safety alerts (open ones first; ``show=all`` with the acknowledged)."""
    return _alerts_page(request, actor, protocol, show)


@router.post("/trials/{protocol_id}/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(
    request: Request,
    actor: PageActor,
    protocol: ProtocolDep,
    alert_id: int,
    note: Annotated[str, Form(max_length=2000)] = "",
    show: Annotated[str, Form(max_length=10)] = "open",
) -> Response:
    """Acknowledge one alert with a note (audited), as ``POST /api/alerts/{id}/acknowledge`` does."""
    try:
        body = AcknowledgeIn(note=note)
        run(
            request,
            actor.username,
            lambda s: safety_alerts.acknowledge_alert(s, actor, alert_id, body.note),
            reason=f"alert acknowledged: {body.note}",
        )
    except (ValidationError, *TRIAL_ERRORS) as exc:
        errors = _refusal(exc, frozenset({"note"}))
        return _alerts_page(
            request, actor, protocol, show, failed_alert=alert_id, values={"note": note}, errors=errors
        )
    return RedirectResponse(
        f"/trials/{protocol.id}/alerts?show={show}&acknowledged={alert_id}", status_code=303
    )
