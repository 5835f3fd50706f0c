"""Adverse events: the CTCAE v5.0 record, grade episodes, the SAE reporting clock, safety alerts, and
the live monitor (stopping rules and toxicity boundary) that every AE change re-runs.

The record (one row per *episode*): a CTCAE v5.0 term from the shipped catalogue (or free text,
flagged for coding) with its MedDRA SOC, grade 1-5 (grade 5 needs the death date and is linked to
the subject's death record), onset and resolution dates, SAE criteria (ICH E2A), outcome and action
taken (CDISC AEOUT / AEACN vocabularies, lower case), and the investigator's attribution for EACH
treatment component of the subject's arm on the scale unrelated / unlikely / possible / probable /
definite. "Treatment-related" follows the protocol's ``attribution.related_levels``.

Every insert and update is audited by the database layer; updates need a reason. A grade change is
either an audited update of the episode or a new episode (the previous one ends on the change date).
The maximum grade per term per subject is derived (:func:`max_grades`), never entered.

Alerts (table ``safety_alerts``) go to the safety reviewers and the coordinating centre (the
statistician role): a grade-5 AE at once, an SAE recorded more than 24 h after the site learned of
it, a stopping rule met, a terminated trial whose rule is no longer met (only a signed safety review
can re-open it, see :func:`trialdesk.services.trials.move_phase`), and a toxicity-boundary warning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.ctcae_data import term_catalogue
from trialdesk.adapters.db.audit import as_utc, audit_reason
from trialdesk.adapters.db.models import AdverseEvent, SafetyAlert, Subject
from trialdesk.domain.plausibility import MAX_SHORT_TEXT_LENGTH, ImplausibleValue, check_text
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, Role
from trialdesk.domain.safety.ctcae import max_grade_by_term
from trialdesk.domain.safety.stopping_rules import ATTRIBUTION_LEVELS, StoppingRuleStatus
from trialdesk.domain.safety.toxicity_monitoring import ToxicityStatus, evaluate_toxicity
from trialdesk.domain.trial_phase import PhaseState
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_death, check_event_date, check_free_text, invalid
from trialdesk.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from trialdesk.services.trials import (
    NOT_ENROLLED,
    ae_facts,
    apply_stopping_rules,
    get_trial,
    terminated_by_stopping_rule,
)

SAE_CRITERIA = (
    "death",
    "life_threatening",
    "hospitalization",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
)
"""ICH E2A seriousness criteria (results in death, life-threatening, requires or prolongs
hospitalisation, persistent or significant disability, congenital anomaly, important medical event)."""

OUTCOMES = ("recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal", "unknown")
"""CDISC AEOUT outcome values (RECOVERED/RESOLVED, ... FATAL, UNKNOWN), lower case."""

ACTIONS = (
    "dose_not_changed",
    "dose_reduced",
    "drug_interrupted",
    "drug_withdrawn",
    "not_applicable",
    "unknown",
)
"""CDISC AEACN action taken with study treatment; ``drug_withdrawn`` = AE leading to discontinuation."""

SAE_REPORTING_HOURS = 24
"""An SAE recorded later than this many hours after the site learned of it is flagged late."""

ALERT_RECIPIENTS = ["safety_reviewer", "statistician"]
"""Safety reviewers and the coordinating centre (its statistician)."""

ALERT_READERS = frozenset({Role.SAFETY_REVIEWER, Role.STATISTICIAN, Role.MONITOR})
ALERT_ACKNOWLEDGERS = frozenset({Role.SAFETY_REVIEWER, Role.STATISTICIAN})


@dataclass(frozen=True)
class AdverseEventInput:
    """One AE episode as entered (dates are calendar dates; ``site_aware_at`` a UTC moment).

    ``free_text``: the term is not in the catalogue and is recorded as written, flagged for coding.
    ``sae_criteria``: empty for a non-serious AE; grade 5 adds ``death`` automatically.
    """

    term: str
    grade: int
    onset_date: dt.date
    death_date: dt.date | None = None
    attributions: Mapping[str, str] = field(default_factory=dict)
    free_text: bool = False
    soc: str | None = None
    verbatim: str | None = None
    resolution_date: dt.date | None = None
    sae_criteria: tuple[str, ...] = ()
    site_aware_at: dt.datetime | None = None
    outcome: str | None = None
    action_taken: str | None = None
    baseline_condition: bool = False
    """A condition present before consent (its onset may precede the consent date)."""


@dataclass(frozen=True)
class Coded:
    """The validated, coded form of an :class:`AdverseEventInput`."""

    term: str
    soc: str | None
    needs_coding: bool
    sae_criteria: list[str]
    outcome: str | None
    attributions: dict[str, str]


@dataclass
class AeChange:
    """The result of an AE change: the episode, the stopping-rule statuses, the toxicity monitors and
    the alerts raised by this change."""

    event: AdverseEvent
    statuses: list[StoppingRuleStatus]
    toxicity: list[ToxicityStatus]
    alerts: list[SafetyAlert]


# ---- validation ---------------------------------------------------------------------------------


def _today() -> dt.date:
    return clock.today()


def check_attributions(
    protocol: Protocol, subject: Subject, attributions: Mapping[str, str]
) -> dict[str, str]:
    """Attributions must name components of the subject's arm, each on the five-point scale."""
    if not attributions:
        return {}
    if subject.arm_id is None:
        raise Conflict(
            "attribution needs the subject's arm: the subject is not allocated yet", rule="arm_unknown"
        )
    components = protocol.arm(subject.arm_id).interventions
    for component, level in attributions.items():
        if component not in components:
            raise InvalidInput(
                f"'{component}' is not a treatment component of arm {subject.arm_id} "
                f"({', '.join(components)})",
                field=f"attributions.{component}",
            )
        if level not in ATTRIBUTION_LEVELS:
            raise InvalidInput(
                f"attribution '{level}' is not one of {', '.join(ATTRIBUTION_LEVELS)}",
                field=f"attributions.{component}",
            )
    return dict(attributions)


def _code_term(data: AdverseEventInput) -> tuple[str, str | None, bool]:
    name = " ".join(data.term.split())
    if not name:
        raise InvalidInput("the AE term is required", field="term")
    entry = term_catalogue().lookup(name)
    if entry is None:
        if not data.free_text:
            raise InvalidInput(
                f"'{name}' is not a CTCAE v5.0 term of the catalogue; set free_text to record it as a "
                "free-text term (flagged for coding)",
                field="term",
            )
        return name, (data.soc.strip() if data.soc and data.soc.strip() else None), True
    if data.grade not in entry.grades:
        raise InvalidInput(
            f"CTCAE v5.0 '{entry.term}' has grade(s) {', '.join(map(str, entry.grades))} only",
            field="grade",
        )
    if data.soc is not None and data.soc.strip() and data.soc.strip() != entry.soc:
        raise InvalidInput(f"'{entry.term}' belongs to SOC '{entry.soc}', not '{data.soc}'", field="soc")
    if entry.other_specify and not (data.verbatim and data.verbatim.strip()):
        raise InvalidInput(f"'{entry.term}' needs the verbatim description of the event", field="verbatim")
    return entry.term, entry.soc, False


def _check_against_subject(data: AdverseEventInput, subject: Subject, today: dt.date) -> None:
    """Onset and resolution are clinical dates not after the subject's death; an onset before the
    consent is accepted only for a condition flagged as present at baseline."""
    check_event_date(subject, "onset_date", data.onset_date)
    if data.resolution_date is not None and data.resolution_date <= today:
        check_event_date(subject, "resolution_date", data.resolution_date, death=data.death_date)
    consent = subject.consent_date
    if consent is not None and data.onset_date < consent and not data.baseline_condition:
        raise InvalidInput(
            f"onset date {data.onset_date} is before the subject's consent {consent}: flag it as a "
            "baseline condition (baseline_condition) if it was present before the study",
            field="onset_date",
        )


def _check_dates(data: AdverseEventInput, subject: Subject) -> None:
    today = _today()
    if data.onset_date > today:
        raise InvalidInput(f"onset date {data.onset_date} is in the future", field="onset_date")
    _check_against_subject(data, subject, today)
    if data.resolution_date is not None:
        if data.resolution_date < data.onset_date:
            raise InvalidInput(
                f"resolution date {data.resolution_date} is before the onset date {data.onset_date}",
                field="resolution_date",
            )
        if data.resolution_date > today:
            raise InvalidInput(
                f"resolution date {data.resolution_date} is in the future", field="resolution_date"
            )
    if data.grade == 5 and data.death_date is None:
        raise InvalidInput("a grade-5 AE (death) needs the death date", field="death_date")
    if data.grade < 5 and data.death_date is not None:
        raise InvalidInput("only a grade-5 AE has a death date", field="death_date")
    if data.death_date is not None:
        if data.death_date < data.onset_date:
            raise InvalidInput(
                f"death date {data.death_date} is before the onset date {data.onset_date}", field="death_date"
            )
        if data.death_date > today:
            raise InvalidInput(f"death date {data.death_date} is in the future", field="death_date")
        if subject.death_date is not None and subject.death_date != data.death_date:
            raise InvalidInput(
                f"death date {data.death_date} differs from the subject's death record "
                f"({subject.death_date})",
                field="death_date",
            )


def _check_seriousness(data: AdverseEventInput) -> tuple[list[str], str | None]:
    for criterion in data.sae_criteria:
        if criterion not in SAE_CRITERIA:
            raise InvalidInput(
                f"'{criterion}' is not an SAE criterion ({', '.join(SAE_CRITERIA)})", field="sae_criteria"
            )
    criteria = sorted(set(data.sae_criteria) | ({"death"} if data.grade == 5 else set()))
    if "death" in criteria and data.grade < 5:
        raise InvalidInput("the SAE criterion 'death' means a grade-5 AE", field="sae_criteria")
    if data.outcome is not None and data.outcome not in OUTCOMES:
        raise InvalidInput(f"outcome '{data.outcome}' is not one of {', '.join(OUTCOMES)}", field="outcome")
    outcome = data.outcome if data.outcome is not None or data.grade < 5 else "fatal"
    if (outcome == "fatal") != (data.grade == 5):
        raise InvalidInput("outcome 'fatal' goes with grade 5 and only with grade 5", field="outcome")
    if data.action_taken is not None and data.action_taken not in ACTIONS:
        raise InvalidInput(
            f"action taken '{data.action_taken}' is not one of {', '.join(ACTIONS)}", field="action_taken"
        )
    if criteria and data.site_aware_at is None:
        raise InvalidInput(
            "a serious AE needs the moment the site learned of it (site_aware_at) for the 24 h clock",
            field="site_aware_at",
        )
    if data.site_aware_at is not None:
        aware = as_utc(data.site_aware_at)
        if aware > clock.now() + dt.timedelta(minutes=5):
            raise InvalidInput(f"site_aware_at {aware.isoformat()} is in the future", field="site_aware_at")
        if aware.date() < data.onset_date:
            raise InvalidInput("the site cannot learn of an AE before its onset", field="site_aware_at")
    return criteria, outcome


def validate(protocol: Protocol, subject: Subject, data: AdverseEventInput) -> Coded:
    """Validate one AE episode; each problem is an :class:`InvalidInput` naming the field."""
    if isinstance(data.grade, bool) or not isinstance(data.grade, int) or not 1 <= data.grade <= 5:
        raise InvalidInput(f"grade {data.grade} is outside CTCAE grades 1-5", field="grade")
    try:
        check_text("term", data.term, MAX_SHORT_TEXT_LENGTH)
        check_text("verbatim", data.verbatim)
        check_text("soc", data.soc, MAX_SHORT_TEXT_LENGTH)
    except ImplausibleValue as exc:
        raise invalid(exc) from None
    term, soc, needs_coding = _code_term(data)
    _check_dates(data, subject)
    criteria, outcome = _check_seriousness(data)
    attributions = check_attributions(protocol, subject, data.attributions)
    return Coded(term, soc, needs_coding, criteria, outcome, attributions)


# ---- recording ------------------------------------------------------------------------------------


def _enrolled_subject(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> Subject:
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id, for_update=True)
    if subject.phase_id is None:
        raise Conflict("adverse events are recorded for enrolled subjects", rule="subject_status")
    return subject


def _apply(event: AdverseEvent, data: AdverseEventInput, coded: Coded) -> None:
    event.term = coded.term
    event.soc = coded.soc
    event.verbatim = data.verbatim.strip() if data.verbatim and data.verbatim.strip() else None
    event.needs_coding = coded.needs_coding
    event.grade = data.grade
    event.onset_date = data.onset_date
    event.resolution_date = data.resolution_date
    event.death_date = data.death_date
    event.serious = bool(coded.sae_criteria)
    event.sae_criteria = coded.sae_criteria
    event.site_aware_at = as_utc(data.site_aware_at) if data.site_aware_at is not None else None
    event.outcome = coded.outcome
    event.action_taken = data.action_taken
    event.attributions = coded.attributions
    event.baseline_condition = data.baseline_condition or None


def _link_death(session: Session, subject: Subject, event: AdverseEvent) -> None:
    if event.death_date is not None and subject.death_date is None:
        check_death(session, subject, "death_date", event.death_date)
        with audit_reason(session, f"death recorded by grade-5 adverse event {event.id}", keep_given=True):
            subject.death_date = event.death_date
            session.flush()


def raise_alert(
    session: Session,
    protocol_id: str,
    kind: str,
    message: str,
    *,
    subject_id: int | None = None,
    ae_id: int | None = None,
) -> SafetyAlert:
    """Store an alert for the safety reviewers and the coordinating centre (audited insert)."""
    alert = SafetyAlert(
        protocol_id=protocol_id,
        kind=kind,
        subject_id=subject_id,
        adverse_event_id=ae_id,
        message=message,
        recipients=list(ALERT_RECIPIENTS),
        created_at=clock.now(),
    )
    session.add(alert)
    session.flush()
    return alert


def _event_alerts(
    session: Session, protocol: Protocol, subject: Subject, event: AdverseEvent
) -> list[SafetyAlert]:
    alerts = []
    if event.grade == 5:
        alerts.append(
            raise_alert(
                session,
                protocol.id,
                "grade5_ae",
                f"grade-5 AE '{event.term}' of subject {subject.screening_number} "
                f"(death {event.death_date}); "
                f"attribution: {_attribution_text(event)}",
                subject_id=subject.id,
                ae_id=event.id,
            )
        )
    if event.serious and event.site_aware_at is not None:
        delay = as_utc(event.created_at) - as_utc(event.site_aware_at)
        late = delay > dt.timedelta(hours=SAE_REPORTING_HOURS)
        event.sae_reported_late = late
        session.flush()
        if late:
            alerts.append(
                raise_alert(
                    session,
                    protocol.id,
                    "sae_late",
                    f"SAE '{event.term}' of subject {subject.screening_number} recorded "
                    f"{delay.total_seconds() / 3600:.1f} h after the site learned of it "
                    f"(limit {SAE_REPORTING_HOURS} h)",
                    subject_id=subject.id,
                    ae_id=event.id,
                )
            )
    return alerts


def _attribution_text(event: AdverseEvent) -> str:
    if not event.attributions:
        return "not yet assessed"
    return ", ".join(f"{c} {level}" for c, level in sorted(event.attributions.items()))


def subjects_at_risk(session: Session, protocol_id: str) -> int:
    """Enrolled subjects of the trial (the denominator of the toxicity monitors)."""
    return int(
        session.scalar(
            select(func.count(Subject.id)).where(
                Subject.protocol_id == protocol_id,
                Subject.phase_id.is_not(None),
                Subject.status.not_in(NOT_ENROLLED),
            )
        )
        or 0
    )


def toxicity_status(session: Session, protocol: Protocol) -> list[ToxicityStatus]:
    """The state of every continuous toxicity monitor of the protocol (warnings only)."""
    if not protocol.toxicity_monitoring:
        return []
    facts = ae_facts(session, protocol.id)
    at_risk = subjects_at_risk(session, protocol.id)
    return [evaluate_toxicity(m, facts, at_risk, protocol.attribution) for m in protocol.toxicity_monitoring]


def _open_alert_exists(session: Session, protocol_id: str, kind: str, message: str | None = None) -> bool:
    query = select(SafetyAlert.id).where(
        SafetyAlert.protocol_id == protocol_id,
        SafetyAlert.kind == kind,
        SafetyAlert.acknowledged_at.is_(None),
    )
    if message is not None:
        query = query.where(SafetyAlert.message == message)
    return session.scalars(query).first() is not None


def monitor(
    session: Session, protocol: Protocol
) -> tuple[list[StoppingRuleStatus], list[ToxicityStatus], list[SafetyAlert]]:
    """Re-run the stopping rules (which drive the phase machine through
    :func:`trialdesk.services.trials.apply_stopping_rules`) and the toxicity monitors after an AE change,
    and raise the alerts the change calls for."""
    before = get_trial(session, protocol.id).phase_state
    statuses = apply_stopping_rules(session, protocol)
    trial = get_trial(session, protocol.id)
    alerts: list[SafetyAlert] = []
    if trial.phase_state == PhaseState.terminated.value and before != trial.phase_state:
        alerts.append(raise_alert(session, protocol.id, "stopping_rule_met", trial.state_reason))
    elif (
        trial.phase_state == PhaseState.terminated.value
        and not any(s.met for s in statuses if s.action == "terminate")
        and terminated_by_stopping_rule(session, protocol.id)
        and not _open_alert_exists(session, protocol.id, "stopping_rule_no_longer_met")
    ):
        met = "; ".join(f"{s.rule_id}: {s.count} < {s.threshold}" for s in statuses)
        alerts.append(
            raise_alert(
                session,
                protocol.id,
                "stopping_rule_no_longer_met",
                f"the stopping rule that terminated the trial is no longer met ({met}); the trial stays "
                "terminated until a signed safety review moves it to run_in_review",
            )
        )
    toxicity = toxicity_status(session, protocol)
    for status in toxicity:
        if status.warning:
            message = (
                f"toxicity monitor '{status.monitor_id}': {status.events} of {status.n} subjects, "
                f"P(rate > {status.max_acceptable_rate:g}) = {status.posterior_probability:.3f} > "
                f"{status.posterior_threshold:g} (warning, not a stop)"
            )
            if not _open_alert_exists(session, protocol.id, "toxicity_warning", message):
                alerts.append(raise_alert(session, protocol.id, "toxicity_warning", message))
    return statuses, toxicity, alerts


def record_adverse_event(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    subject_id: int,
    data: AdverseEventInput,
    *,
    lab_result_id: int | None = None,
) -> AeChange:
    """Record an AE episode, link a death, raise alerts and re-run the monitor at once
    (``lab_result_id``: the lab result whose grade proposal an investigator confirmed)."""
    actor.require(Capability.ENTER_DATA)
    if data.attributions:
        actor.require(Capability.ATTEST)
    subject = _enrolled_subject(session, actor, protocol, subject_id)
    coded = validate(protocol, subject, data)
    now = clock.now()
    event = AdverseEvent(
        subject_id=subject.id, created_at=now, recorded_by=actor.username, lab_result_id=lab_result_id
    )
    _apply(event, data, coded)
    return _finish_new(session, protocol, subject, event)


def _finish_new(session: Session, protocol: Protocol, subject: Subject, event: AdverseEvent) -> AeChange:
    session.add(event)
    session.flush()
    _link_death(session, subject, event)
    alerts = _event_alerts(session, protocol, subject, event)
    statuses, toxicity, more = monitor(session, protocol)
    return AeChange(event, statuses, toxicity, alerts + more)


def _input_of(event: AdverseEvent) -> AdverseEventInput:
    return AdverseEventInput(
        term=event.term,
        grade=event.grade,
        onset_date=event.onset_date,
        death_date=event.death_date,
        attributions=dict(event.attributions or {}),
        free_text=bool(event.needs_coding),
        soc=event.soc,
        verbatim=event.verbatim,
        resolution_date=event.resolution_date,
        sae_criteria=tuple(event.sae_criteria or ()),
        site_aware_at=event.site_aware_at,
        outcome=event.outcome,
        action_taken=event.action_taken,
        baseline_condition=bool(event.baseline_condition),
    )


def get_event(
    session: Session, actor: Actor, protocol: Protocol, ae_id: int, *, for_update: bool = False
) -> AdverseEvent:
    """An AE the actor may see (404 otherwise, also for another trial's AE)."""
    query = select(AdverseEvent).where(AdverseEvent.id == ae_id)
    if for_update:
        query = query.with_for_update()
    event = session.scalars(query).one_or_none()
    if event is None:
        raise NotFound(f"adverse event {ae_id} not found")
    visible_subject(session, actor, event.subject_id, protocol_id=protocol.id)
    return event


def _require_reason(session: Session) -> None:
    reason = session.info.get("reason")
    if not reason or len(str(reason).strip()) < 3:
        raise InvalidInput("changing an adverse event needs a reason", field="reason")


UPDATABLE = frozenset(
    {
        "term",
        "grade",
        "onset_date",
        "death_date",
        "free_text",
        "soc",
        "verbatim",
        "resolution_date",
        "sae_criteria",
        "site_aware_at",
        "outcome",
        "action_taken",
    }
)


def update_adverse_event(
    session: Session, actor: Actor, protocol: Protocol, ae_id: int, changes: Mapping[str, Any]
) -> AeChange:
    """Correct or update an AE episode (e.g. its grade, resolution, outcome); audited with the reason.

    Attribution has its own use case (:func:`update_attributions`, investigators only).
    """
    actor.require(Capability.ENTER_DATA)
    _require_reason(session)
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(unknown)} here", field=unknown[0])
    event = get_event(session, actor, protocol, ae_id, for_update=True)
    subject = _enrolled_subject(session, actor, protocol, event.subject_id)
    values = dict(changes)
    if "sae_criteria" in values:
        values["sae_criteria"] = tuple(values["sae_criteria"] or ())
    data = replace(_input_of(event), **values)
    was_grade5, was_serious = event.grade == 5, bool(event.serious)
    coded = validate(protocol, subject, data)
    _apply(event, data, coded)
    event.updated_at = clock.now()
    session.flush()
    _link_death(session, subject, event)
    alerts: list[SafetyAlert] = []
    if (event.grade == 5 and not was_grade5) or (event.serious and not was_serious):
        alerts = _event_alerts(session, protocol, subject, event)
    statuses, toxicity, more = monitor(session, protocol)
    return AeChange(event, statuses, toxicity, alerts + more)


def start_new_episode(
    session: Session,
    actor: Actor,
    protocol: Protocol,
    ae_id: int,
    *,
    grade: int,
    change_date: dt.date,
    death_date: dt.date | None = None,
    sae_criteria: tuple[str, ...] = (),
    site_aware_at: dt.datetime | None = None,
) -> AeChange:
    """A grade change as a new episode: the current episode ends on ``change_date`` (outcome
    ``recovering`` for a lower grade, ``not_recovered`` for a higher one) and a new episode of the same
    term, attribution and action starts that day. Reason required (the old episode is updated)."""
    actor.require(Capability.ENTER_DATA)
    _require_reason(session)
    previous = get_event(session, actor, protocol, ae_id, for_update=True)
    subject = _enrolled_subject(session, actor, protocol, previous.subject_id)
    continued = session.scalars(
        select(AdverseEvent.id).where(AdverseEvent.previous_episode_id == previous.id)
    )
    if continued.first() is not None:
        raise Conflict(
            f"adverse event {ae_id} already continues in a later episode", rule="episode_continued"
        )
    if previous.grade == 5 or previous.resolution_date is not None:
        raise Conflict(f"adverse event {ae_id} has ended; record a new adverse event", rule="episode_ended")
    if grade == previous.grade:
        raise InvalidInput(f"the new episode must change the grade (now {grade})", field="grade")
    if change_date < previous.onset_date:
        raise InvalidInput(
            f"the grade change on {change_date} is before the episode's onset {previous.onset_date}",
            field="change_date",
        )
    data = replace(
        _input_of(previous),
        grade=grade,
        onset_date=change_date,
        death_date=death_date,
        resolution_date=None,
        sae_criteria=sae_criteria,
        site_aware_at=site_aware_at,
        outcome=None,
    )
    coded = validate(protocol, subject, data)
    previous.resolution_date = change_date
    previous.outcome = "recovering" if grade < previous.grade else "not_recovered"
    previous.updated_at = clock.now()
    session.flush()
    event = AdverseEvent(
        subject_id=subject.id,
        created_at=clock.now(),
        recorded_by=actor.username,
        previous_episode_id=previous.id,
        lab_result_id=None,
    )
    _apply(event, data, coded)
    return _finish_new(session, protocol, subject, event)


def update_attributions(
    session: Session, actor: Actor, protocol: Protocol, ae_id: int, attributions: Mapping[str, str]
) -> AeChange:
    """An investigator changes an AE's attribution (reason required); the monitor re-runs at once.

    A downgrade never re-opens a terminated trial by itself: the monitor raises a
    ``stopping_rule_no_longer_met`` alert, and only a signed safety review re-opens the trial.
    """
    actor.require(Capability.ATTEST)
    _require_reason(session)
    event = get_event(session, actor, protocol, ae_id, for_update=True)
    subject = visible_subject(session, actor, event.subject_id, protocol_id=protocol.id)
    event.attributions = check_attributions(protocol, subject, attributions)
    event.updated_at = clock.now()
    session.flush()
    statuses, toxicity, alerts = monitor(session, protocol)
    return AeChange(event, statuses, toxicity, alerts)


# ---- reading ------------------------------------------------------------------------------------


def subject_events(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> list[AdverseEvent]:
    """A subject's AE episodes in recording order."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    return list(
        session.scalars(
            select(AdverseEvent).where(AdverseEvent.subject_id == subject.id).order_by(AdverseEvent.id)
        )
    )


def is_related(event: AdverseEvent, protocol: Protocol) -> bool:
    """Whether any component is attributed at a level the protocol counts as treatment-related."""
    related = set(protocol.attribution.related_levels)
    return any(level in related for level in (event.attributions or {}).values())


def max_grades(events: list[AdverseEvent], protocol: Protocol) -> list[dict[str, Any]]:
    """Per term: the maximum grade over all episodes (all-cause and treatment-related), derived."""
    all_cause = max_grade_by_term((e.term, e.grade) for e in events)
    related = max_grade_by_term((e.term, e.grade) for e in events if is_related(e, protocol))
    soc = {e.term: e.soc for e in events}
    episodes = {term: sum(1 for e in events if e.term == term) for term in all_cause}
    return [
        {
            "term": term,
            "soc": soc.get(term),
            "max_grade": grade,
            "max_grade_related": related.get(term),
            "episodes": episodes[term],
        }
        for term, grade in sorted(all_cause.items())
    ]


# ---- alerts ---------------------------------------------------------------------------------------


def list_alerts(
    session: Session, actor: Actor, *, protocol_id: str | None = None, open_only: bool = False
) -> list[SafetyAlert]:
    """Alerts for safety reviewers, the coordinating centre (statistician) and monitors."""
    if actor.role not in ALERT_READERS:
        raise PermissionDenied(f"role '{actor.role}' may not read safety alerts", rule="read_alerts")
    query = select(SafetyAlert).order_by(SafetyAlert.id)
    if protocol_id is not None:
        query = query.where(SafetyAlert.protocol_id == protocol_id)
    if open_only:
        query = query.where(SafetyAlert.acknowledged_at.is_(None))
    return list(session.scalars(query))


def acknowledge_alert(session: Session, actor: Actor, alert_id: int, note: str) -> SafetyAlert:
    """A safety reviewer or the coordinating centre acknowledges an alert (audited, with the note)."""
    if actor.role not in ALERT_ACKNOWLEDGERS:
        raise PermissionDenied(
            f"role '{actor.role}' may not acknowledge safety alerts", rule="acknowledge_alerts"
        )
    check_free_text("note", note)
    if len(note.strip()) < 3:
        raise InvalidInput("acknowledging an alert needs a note (at least 3 characters)", field="note")
    alert = session.scalars(
        select(SafetyAlert).where(SafetyAlert.id == alert_id).with_for_update()
    ).one_or_none()
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    if alert.acknowledged_at is not None:
        raise Conflict(
            f"alert {alert_id} was acknowledged by {alert.acknowledged_by} already", rule="alert_acknowledged"
        )
    with audit_reason(session, f"alert acknowledged: {note.strip()}", keep_given=True):
        alert.acknowledged_at = clock.now()
        alert.acknowledged_by = actor.username
        alert.acknowledgement_note = note.strip()
        session.flush()
    return alert
