"""Use cases of tumour-assessment capture: baseline and follow-up assessments per subject and
visit, responses recomputed by the RECIST 1.1 / iRECIST engine whenever the data change (stored,
audited), and investigator overrides shown beside the computed value, never replacing it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import audit_reason
from trialdesk.adapters.db.models import (
    ResponseEvaluation,
    ResponseOverride,
    Subject,
    TumourAssessment,
    TumourBaseline,
)
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.recist.best_response import BestCategory
from trialdesk.domain.recist.engine import assess_response
from trialdesk.domain.recist.errors import RecistInputError
from trialdesk.domain.recist.io import parse_response_input, report_to_dict
from trialdesk.domain.recist.irecist import IrecistResponse
from trialdesk.domain.recist.settings import ResponseSettings, Rules
from trialdesk.domain.recist.timepoint import OverallResponse
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_event_date, check_free_text, check_tumour_baseline
from trialdesk.services.errors import Conflict, InvalidInput, NotFound

RECOMPUTE_REASON = "recomputed: tumour data changed"


def _rule_sets(protocol: Protocol) -> list[Rules]:
    return ["recist1.1", "irecist"] if protocol.tumour_assessment.irecist else ["recist1.1"]


def engine_input(baseline: TumourBaseline, assessments: list[TumourAssessment]) -> dict[str, Any]:
    """The response engine's input (the documented JSON format) from the stored rows, by date."""
    return {
        "baseline": {"date": baseline.date.isoformat(), "lesions": baseline.lesions},
        "assessments": [
            {
                "date": a.date.isoformat(),
                "measurements": a.measurements,
                "non_target": a.non_target,
                "new_lesions": a.new_lesions,
            }
            for a in sorted(assessments, key=lambda a: a.date)
        ],
    }


def _recist_error(exc: RecistInputError) -> InvalidInput:
    return InvalidInput(f"{exc.field}: {exc.reason}", field=exc.field)


def _check(protocol: Protocol, data: dict[str, Any]) -> None:
    """Validate the data through the engine before anything is stored (nothing is half-written)."""
    try:
        parsed = parse_response_input(data)
        assess_response(
            parsed.baseline,
            parsed.assessments,
            ResponseSettings.from_tumour_assessment(protocol.tumour_assessment),
        )
    except RecistInputError as exc:
        raise _recist_error(exc) from None


def recompute(session: Session, protocol: Protocol, subject: Subject) -> list[ResponseEvaluation]:
    """Derive the responses under every rule set of the protocol and store them (audited)."""
    baseline = session.scalars(
        select(TumourBaseline).where(TumourBaseline.subject_id == subject.id)
    ).one_or_none()
    if baseline is None:
        return []
    assessments = list(
        session.scalars(select(TumourAssessment).where(TumourAssessment.subject_id == subject.id))
    )
    data = engine_input(baseline, assessments)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    parsed = parse_response_input(data)
    settings = ResponseSettings.from_tumour_assessment(protocol.tumour_assessment)
    stored = []
    with audit_reason(session, RECOMPUTE_REASON, keep_given=True):
        for rules in _rule_sets(protocol):
            report = assess_response(parsed.baseline, parsed.assessments, settings, rules)
            stored.append(
                _store(
                    session,
                    subject.id,
                    rules,
                    report_to_dict(report),
                    digest,
                    report.best_overall_response,
                    report.progression_date,
                )
            )
    return stored


def _store(
    session: Session,
    subject_id: int,
    rules: str,
    result: dict[str, Any],
    digest: str,
    bor: str,
    progression: dt.date | None,
) -> ResponseEvaluation:
    row = session.scalars(
        select(ResponseEvaluation).where(
            ResponseEvaluation.subject_id == subject_id, ResponseEvaluation.rules == rules
        )
    ).one_or_none()
    now = clock.now()
    if row is None:
        row = ResponseEvaluation(
            subject_id=subject_id,
            rules=rules,
            result=result,
            inputs_sha256=digest,
            best_overall_response=bor,
            progression_date=progression,
            computed_at=now,
        )
        session.add(row)
    elif row.inputs_sha256 != digest:
        row.result, row.inputs_sha256, row.computed_at = result, digest, now
        row.best_overall_response, row.progression_date = bor, progression
    session.flush()
    return row


def _enrolled_subject(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> Subject:
    actor.require(Capability.ENTER_DATA)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    if subject.phase_id is None:
        raise Conflict("tumour assessments are recorded for enrolled subjects", rule="subject_status")
    return subject


def set_baseline(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    date: dt.date,
    lesions: list[dict[str, Any]],
) -> list[ResponseEvaluation]:
    """Record (or, with a reason, correct) the baseline lesions; responses are recomputed."""
    subject = _enrolled_subject(session, actor, protocol, subject_id)
    check_tumour_baseline(protocol, subject, "date", date)
    existing = session.scalars(
        select(TumourBaseline).where(TumourBaseline.subject_id == subject.id)
    ).one_or_none()
    assessments = list(
        session.scalars(select(TumourAssessment).where(TumourAssessment.subject_id == subject.id))
    )
    candidate = TumourBaseline(subject_id=subject.id, date=date, lesions=lesions, created_at=clock.now())
    _check(protocol, engine_input(candidate, assessments))
    if existing is None:
        session.add(candidate)
    else:
        existing.date, existing.lesions = date, lesions
    session.flush()
    return recompute(session, protocol, subject)


def record_assessment(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    *,
    visit: str,
    date: dt.date,
    measurements: dict[str, Any],
    non_target: dict[str, Any],
    new_lesions: list[dict[str, Any]],
) -> list[ResponseEvaluation]:
    """Record a visit's assessment, or correct it (reason required); responses are recomputed."""
    subject = _enrolled_subject(session, actor, protocol, subject_id)
    if not visit.strip():
        raise InvalidInput("the visit label is required", field="visit")
    if len(visit) > 64:
        raise InvalidInput(f"the visit label has {len(visit)} characters (at most 64)", field="visit")
    check_event_date(subject, "date", date, after_start=True)
    baseline = session.scalars(
        select(TumourBaseline).where(TumourBaseline.subject_id == subject.id)
    ).one_or_none()
    if baseline is None:
        raise Conflict("record the baseline tumour assessment first", rule="baseline_first")
    others = [
        a
        for a in session.scalars(select(TumourAssessment).where(TumourAssessment.subject_id == subject.id))
        if a.visit != visit
    ]
    existing = session.scalars(
        select(TumourAssessment).where(
            TumourAssessment.subject_id == subject.id, TumourAssessment.visit == visit
        )
    ).one_or_none()
    candidate = TumourAssessment(
        subject_id=subject.id,
        visit=visit,
        date=date,
        measurements=measurements,
        non_target=non_target,
        new_lesions=new_lesions,
        created_at=clock.now(),
    )
    _check(protocol, engine_input(baseline, [*others, candidate]))
    if existing is None:
        session.add(candidate)
    else:
        existing.date, existing.measurements = date, measurements
        existing.non_target, existing.new_lesions = non_target, new_lesions
    session.flush()
    return recompute(session, protocol, subject)


def override(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    *,
    rules: str,
    target: str,
    value: str,
    reason: str,
) -> ResponseOverride:
    """An investigator records an override of a computed response, with a reason, kept beside it."""
    actor.require(Capability.ATTEST)
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    check_free_text("reason", reason)
    if len(reason.strip()) < 5:
        raise InvalidInput("an override needs a reason (at least 5 characters)", field="reason")
    _check_override_value(rules, target, value)
    evaluation = session.scalars(
        select(ResponseEvaluation).where(
            ResponseEvaluation.subject_id == subject.id, ResponseEvaluation.rules == rules
        )
    ).one_or_none()
    if evaluation is None:
        raise NotFound(f"no computed {rules} response for subject {subject_id}")
    computed = _computed_value(evaluation.result, target)
    row = ResponseOverride(
        subject_id=subject.id,
        rules=rules,
        target=target,
        computed_value=computed,
        override_value=value.strip(),
        reason=reason.strip(),
        overridden_by=actor.user_id,
        overridden_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def override_codes(rules: str, target: str) -> tuple[str, ...]:
    """The response codes an override may give: RECIST 1.1 time-point responses (section 4.3,
    table 1-2) or best overall responses (section 4.4); iRECIST responses (Seymour 2017, table 2)."""
    if rules == "irecist":
        return get_args(IrecistResponse)
    if target == "best_overall_response":
        return tuple(code for code in get_args(BestCategory) if code != "MISSING")
    return get_args(OverallResponse)


def _check_override_value(rules: str, target: str, value: str) -> None:
    if rules not in get_args(Rules):
        raise InvalidInput(f"unknown rule set '{rules}' (known: {', '.join(get_args(Rules))})", field="rules")
    codes = override_codes(rules, target)
    if value.strip() not in codes:
        raise InvalidInput(f"'{value}' is not a {rules} response code ({', '.join(codes)})", field="value")


def _computed_value(result: dict[str, Any], target: str) -> str | None:
    if target == "best_overall_response":
        return str(result["best_overall_response"])
    if target.startswith("time_point:"):
        day = target.removeprefix("time_point:")
        for point in result["time_points"]:
            if point["date"] == day:
                return str(point["overall"])
        raise InvalidInput(f"no time point dated {day}", field="target")
    raise InvalidInput("target must be 'best_overall_response' or 'time_point:YYYY-MM-DD'", field="target")


def response_view(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> dict[str, Any]:
    """Computed responses per rule set, each with the investigator overrides shown beside it."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    evaluations = session.scalars(
        select(ResponseEvaluation).where(ResponseEvaluation.subject_id == subject.id)
    )
    overrides = list(
        session.scalars(
            select(ResponseOverride)
            .where(ResponseOverride.subject_id == subject.id)
            .order_by(ResponseOverride.id)
        )
    )
    out: dict[str, Any] = {"subject_id": subject.id, "responses": {}}
    for evaluation in evaluations:
        out["responses"][evaluation.rules] = {
            "computed": evaluation.result,
            "computed_at": evaluation.computed_at.isoformat(),
            "overrides": [
                {
                    "target": o.target,
                    "computed_value": o.computed_value,
                    "override_value": o.override_value,
                    "reason": o.reason,
                    "by": o.overridden_by,
                    "at": o.overridden_at.isoformat(),
                }
                for o in overrides
                if o.rules == evaluation.rules
            ],
        }
    return out
