"""Adverse events as use cases: recording an episode, correcting it, a new episode on a grade change,
the investigator's attribution, and reading a subject's episodes.

The record, its vocabularies and its validation are the domain's
(:mod:`trialdesk.domain.safety.adverse_event`); this module loads the subject, calls the validation,
stores the episode (:mod:`trialdesk.adapters.db.adverse_events`), links a grade-5 AE to the subject's
death record, raises the episode's alerts (:mod:`trialdesk.services.safety_alerts`) and re-runs the
safety monitor at once (:mod:`trialdesk.services.safety_monitor`).

Every insert and update is audited by the database layer; updates need a reason. A grade change is
either an audited update of the episode or a new episode (the previous one ends on the change date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from trialdesk.adapters.ctcae_data import term_catalogue
from trialdesk.adapters.db import adverse_events as ae_store
from trialdesk.adapters.db.audit import as_utc, audit_reason
from trialdesk.adapters.db.models import AdverseEvent, SafetyAlert, Subject
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.domain.safety import adverse_event as ae_rules
from trialdesk.domain.safety.adverse_event import AdverseEventInput, Coded, SubjectFacts
from trialdesk.domain.safety.stopping_rules import StoppingRuleStatus
from trialdesk.domain.safety.toxicity_monitoring import ToxicityStatus
from trialdesk.services import clock
from trialdesk.services.actors import Actor, visible_subject
from trialdesk.services.clinical_dates import check_death
from trialdesk.services.errors import Conflict, InvalidInput, NotFound
from trialdesk.services.safety_alerts import event_alerts
from trialdesk.services.safety_monitor import monitor


@dataclass
class AeChange:
    """The result of an AE change: the episode, the stopping-rule statuses, the toxicity monitors and
    the alerts raised by this change."""

    event: AdverseEvent
    statuses: list[StoppingRuleStatus]
    toxicity: list[ToxicityStatus]
    alerts: list[SafetyAlert]


def subject_facts(subject: Subject) -> SubjectFacts:
    """What AE validation needs to know about ``subject``."""
    return SubjectFacts(
        consent_date=subject.consent_date, death_date=subject.death_date, arm_id=subject.arm_id
    )


def validate(protocol: Protocol, subject: Subject, data: AdverseEventInput) -> Coded:
    """Validate one AE episode against the catalogue, the subject and the trial clock."""
    return ae_rules.validate(
        protocol,
        subject_facts(subject),
        data,
        catalogue=term_catalogue(),
        today=clock.today(),
        now=clock.now(),
    )


def _monitored(
    session: Session, protocol: Protocol, event: AdverseEvent, alerts: list[SafetyAlert]
) -> AeChange:
    result = monitor(session, protocol)
    return AeChange(event, result.statuses, result.toxicity, alerts + result.alerts)


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
    ae_store.add(session, event)
    _link_death(session, subject, event)
    return _monitored(session, protocol, event, event_alerts(session, protocol.id, subject, event))


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
    event = ae_store.get(session, ae_id, for_update=for_update)
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
        alerts = event_alerts(session, protocol.id, subject, event)
    return _monitored(session, protocol, event, alerts)


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
    if ae_store.has_continuation(session, previous.id):
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
    event.attributions = ae_rules.check_attributions(protocol, subject.arm_id, attributions)
    event.updated_at = clock.now()
    session.flush()
    return _monitored(session, protocol, event, [])


# ---- reading ------------------------------------------------------------------------------------


def subject_events(session: Session, actor: Actor, protocol: Protocol, subject_id: int) -> list[AdverseEvent]:
    """A subject's AE episodes in recording order."""
    subject = visible_subject(session, actor, subject_id, protocol_id=protocol.id)
    return ae_store.of_subject(session, subject.id)


def subject_max_grades(
    session: Session, actor: Actor, protocol: Protocol, subject_id: int
) -> list[dict[str, Any]]:
    """Per term of a subject: the maximum grade over all episodes (all-cause and treatment-related)."""
    return ae_rules.max_grades(subject_events(session, actor, protocol, subject_id), protocol.attribution)
