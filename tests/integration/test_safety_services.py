"""The safety use cases called directly (no HTTP) on each database backend: record an adverse event,
the stopping rule terminating the trial, and opening the run-in gate with a signed review."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import Subject
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.safety.adverse_event import AdverseEventInput
from trialdesk.domain.trial_phase import PhaseTransitionRefused
from trialdesk.protocols import load_registry
from trialdesk.services import admin, clock, trials
from trialdesk.services.actors import SYSTEM_ACTOR, Actor, actor_for
from trialdesk.services.adverse_events import record_adverse_event
from trialdesk.services.errors import describe
from trialdesk.services.signatures import evidence_sha256

TODAY = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)
PASSWORD = "correct-horse-battery"


@dataclass
class Trial:
    """Seed 002 with its 20 run-in subjects enrolled and treated 100 days ago."""

    engine: Engine
    protocol: Protocol
    investigator: Actor
    reviewer: Actor
    subject_ids: list[int]


@pytest.fixture
def trial(engine: Engine) -> Iterator[Trial]:
    registry = load_registry()
    protocol = registry.get("scr-escc-01")
    with clock.pinned_at(TODAY), unit_of_work(engine, SYSTEM_ACTOR, reason="test set-up") as session:
        trials.ensure_trials(session, registry)
        site = admin.add_site(session, None, registry, protocol.id, "SH01", "Shanghai")
        investigator = admin.add_user(
            session,
            None,
            username="inv",
            full_name="Inv",
            role="investigator",
            password=PASSWORD,
            site_ids=[site.id],
        )
        reviewer = admin.add_user(
            session, None, username="safety", full_name="Safety", role="safety_reviewer", password=PASSWORD
        )
        start = TODAY.date() - dt.timedelta(days=100)
        subjects = [
            Subject(
                protocol_id=protocol.id,
                site_id=site.id,
                screening_number=f"S{n:02d}",
                status="on_treatment",
                screening_date=start - dt.timedelta(days=7),
                patient_record={},
                consent_date=start - dt.timedelta(days=7),
                phase_id="iia",
                arm_id="A",
                enrolled_at=TODAY - dt.timedelta(days=101),
                treatment_start_date=start,
                created_at=TODAY - dt.timedelta(days=108),
            )
            for n in range(1, 21)
        ]
        session.add_all(subjects)
        session.flush()
        built = Trial(
            engine,
            protocol,
            actor_for(session, investigator),
            actor_for(session, reviewer),
            [s.id for s in subjects],
        )
    with clock.pinned_at(TODAY):
        yield built


def _grade5(related: str) -> AdverseEventInput:
    onset = TODAY.date() - dt.timedelta(days=20)
    return AdverseEventInput(
        term="Pneumonitis",
        grade=5,
        onset_date=onset,
        death_date=onset + dt.timedelta(days=5),
        attributions={
            "pd1": related,
            "paclitaxel": "unlikely",
            "platinum": "unlikely",
            "ldrt": related,
            "cfrt": "unlikely",
        },
        site_aware_at=TODAY - dt.timedelta(hours=2),
    )


def test_recording_a_grade5_ae_alerts_and_the_second_related_one_terminates_the_trial(trial: Trial) -> None:
    with unit_of_work(trial.engine, "inv") as session:
        first = record_adverse_event(
            session, trial.investigator, trial.protocol, trial.subject_ids[0], _grade5("possible")
        )
        assert [a.kind for a in first.alerts] == ["grade5_ae"]
        assert first.statuses[0].count == 1 and not first.statuses[0].met
        assert trials.get_trial(session, trial.protocol.id).phase_state == "run_in_open"
    with unit_of_work(trial.engine, "inv") as session:
        unrelated = record_adverse_event(
            session, trial.investigator, trial.protocol, trial.subject_ids[1], _grade5("unrelated")
        )
        assert unrelated.statuses[0].count == 1
        second = record_adverse_event(
            session, trial.investigator, trial.protocol, trial.subject_ids[2], _grade5("definite")
        )
        assert second.statuses[0].met
        assert [a.kind for a in second.alerts] == ["grade5_ae", "stopping_rule_met"]
        assert trials.get_trial(session, trial.protocol.id).phase_state == "terminated"
        assert session.get(Subject, trial.subject_ids[2]).death_date == _grade5("definite").death_date  # type: ignore[union-attr]


def _move(session_trial: Trial, target: str, *, signed: bool) -> str:
    with unit_of_work(session_trial.engine, "safety") as session:
        evidence = trials.gate_evidence(session, session_trial.protocol)
        moved = trials.move_phase(
            session,
            session_trial.reviewer,
            session_trial.protocol,
            target,
            reason=f"safety review: move to {target}",
            password=PASSWORD if signed else None,
            meaning="I reviewed the run-in safety data" if signed else None,
            evidence_sha256=evidence_sha256(evidence) if signed else None,
        )
        return moved.phase_state


def test_a_signed_review_opens_the_gate_when_the_run_in_is_followed_and_no_rule_is_met(trial: Trial) -> None:
    with unit_of_work(trial.engine, "inv") as session:
        record_adverse_event(
            session, trial.investigator, trial.protocol, trial.subject_ids[0], _grade5("possible")
        )
    assert _move(trial, "run_in_review", signed=False) == "run_in_review"
    assert _move(trial, "randomized_open", signed=True) == "randomized_open"


def test_the_gate_stays_closed_while_the_stopping_rule_is_met(trial: Trial) -> None:
    with unit_of_work(trial.engine, "inv") as session:
        for subject_id in trial.subject_ids[:2]:
            record_adverse_event(session, trial.investigator, trial.protocol, subject_id, _grade5("probable"))
    with pytest.raises(PhaseTransitionRefused) as refused:
        _move(trial, "run_in_review", signed=True)
    answer = describe(refused.value)
    assert (answer.status_code, answer.rule) == (409, "phase_gate")
    assert "stopping rule of the safety gate is met" in answer.message
