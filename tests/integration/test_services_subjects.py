"""Service-level tests of the subject use cases (screen, enrol, randomize), with no HTTP: the
services called with an :class:`Actor` inside a unit of work, on a migrated database of each backend."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select

from tests.integration.api_helpers import PASSWORD, consent_date, enrolment_moment, patient
from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AuditRecord, Subject, Trial, User
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.randomization.errors import AlreadyRandomized
from trialdesk.protocols import load_registry
from trialdesk.protocols.loader import ProtocolRegistry
from trialdesk.services import admin, allocation_lists, clock, enrolment, randomization, subjects
from trialdesk.services.actors import Actor, actor_for
from trialdesk.services.errors import Conflict, NotFound, PermissionDenied, describe
from trialdesk.services.trials import ensure_trials

SCR = "scr-escc-01"
USERS = {
    "coord1": ("coordinator", "S01"),
    "inv1": ("investigator", "S01"),
    "inv2": ("investigator", "S02"),
    "stat": ("statistician", None),
    "admin": ("admin", None),
}


@dataclass
class Trial2:
    engine: Engine
    registry: ProtocolRegistry
    sites: dict[str, int]

    @property
    def protocol(self) -> Protocol:
        return self.registry.get(SCR)

    def actor(self, username: str) -> Actor:
        with unit_of_work(self.engine, None, write=False) as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            return actor_for(session, user)


@pytest.fixture
def trial(engine: Engine) -> Iterator[Trial2]:
    """Seed 002 with sites S01/S02 and one user per role used here."""
    registry = load_registry([])
    sites: dict[str, int] = {}
    with unit_of_work(engine, "bootstrap", reason="start-up") as session:
        ensure_trials(session, registry)
        for code in ("S01", "S02"):
            sites[code] = admin.add_site(session, None, registry, SCR, code, f"Site {code}").id
        for username, (role, site) in USERS.items():
            admin.add_user(
                session,
                None,
                username=username,
                full_name=username.title(),
                role=role,
                password=PASSWORD,
                site_ids=[sites[site]] if site else [],
            )
    yield Trial2(engine, registry, sites)


def _screen(trial: Trial2, number: str) -> int:
    actor = trial.actor("coord1")
    with unit_of_work(trial.engine, actor.username) as session:
        outcome = subjects.screen(session, actor, trial.protocol, "S01", patient(SCR, number))
        return outcome.subject.id


def _attest_all(trial: Trial2, subject_id: int) -> str:
    investigator = trial.actor("inv1")
    verdict = ""
    for criterion_id, answer in patient(SCR, "x", keep_attestations=True)["attestations"].items():
        with unit_of_work(trial.engine, investigator.username) as session:
            outcome = subjects.attest(
                session, investigator, trial.protocol, subject_id, criterion_id, answer["answer"]
            )
            verdict = outcome.evaluation.verdict
    return verdict


def test_screen_stores_the_subject_and_refuses_a_used_screening_number(trial: Trial2) -> None:
    subject_id = _screen(trial, "SCR-001")
    with unit_of_work(trial.engine, None, write=False) as session:
        stored = subject_repository.find_by_screening_number(session, SCR, "SCR-001")
        assert stored is not None and stored.id == subject_id and stored.status == "screening"
        evaluation = subject_repository.latest_evaluation(session, subject_id)
        assert evaluation is not None and evaluation.verdict == "incomplete"
    with pytest.raises(Conflict) as refused:
        _screen(trial, "SCR-001")
    assert refused.value.rule == "unique_screening_number"


def test_another_sites_investigator_does_not_see_the_subject(trial: Trial2) -> None:
    subject_id = _screen(trial, "SCR-002")
    other = trial.actor("inv2")
    with unit_of_work(trial.engine, other.username) as session, pytest.raises(NotFound):
        subjects.attest(session, other, trial.protocol, subject_id, "x", True)
    with unit_of_work(trial.engine, other.username, write=False) as session:
        assert subjects.list_subjects(session, other, SCR) == []


def test_enrol_signs_and_puts_the_subject_in_the_run_in(trial: Trial2) -> None:
    subject_id = _screen(trial, "SCR-003")
    assert _attest_all(trial, subject_id) == "eligible"
    investigator = trial.actor("inv1")
    with clock.pinned_at(enrolment_moment(SCR)), unit_of_work(trial.engine, "inv1", reason="enrol") as s:
        subject = enrolment.enrol(
            s,
            investigator,
            trial.protocol,
            subject_id,
            consent_date=dt.date.fromisoformat(consent_date(SCR)),
            password=PASSWORD,
        )
        assert (subject.status, subject.phase_id, subject.arm_id) == ("enrolled", "iia", "A")


def test_enrolment_override_is_an_admin_use_case(trial: Trial2) -> None:
    with (
        unit_of_work(trial.engine, "coord1", reason="more places") as session,
        pytest.raises(PermissionDenied),
    ):
        enrolment.grant_enrolment_override(session, trial.actor("coord1"), trial.protocol, 2)
    with unit_of_work(trial.engine, "admin", reason="more places please") as session:
        granted = enrolment.grant_enrolment_override(session, trial.actor("admin"), trial.protocol, 2)
        assert granted.enrolment_override == 2


def test_randomize_takes_the_next_slot_once_and_the_list_read_is_audited(trial: Trial2) -> None:
    record = patient(SCR, "IIB-0001")
    record["ecog"] = 0
    with unit_of_work(trial.engine, "bootstrap", reason="test set-up") as session:
        session.get_one(Trial, SCR).phase_state = "randomized_open"
        subject = Subject(
            protocol_id=SCR,
            site_id=trial.sites["S01"],
            screening_number="IIB-0001",
            status="enrolled",
            screening_date=dt.date(2026, 4, 15),
            patient_record=record,
            consent_date=dt.date(2026, 4, 13),
            phase_id="iib",
            enrolled_at=dt.datetime.now(dt.UTC),
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(subject)
        session.flush()
        subject_id = subject.id
    statistician = trial.actor("stat")
    with unit_of_work(trial.engine, "stat") as session:
        randomization.generate_list(session, statistician, trial.protocol, slots_per_stratum=8)
    coordinator = trial.actor("coord1")
    with unit_of_work(trial.engine, "coord1", reason="randomization") as session:
        allocation = randomization.randomize(session, coordinator, trial.protocol, subject_id, {})
        assert allocation.strata_values == {"site": "S01", "ecog": "0"} and allocation.slot_id is not None
    with (
        unit_of_work(trial.engine, "coord1", reason="randomization") as session,
        pytest.raises(AlreadyRandomized) as again,
    ):
        randomization.randomize(session, coordinator, trial.protocol, subject_id, {})
    assert again.value.rule == "AlreadyRandomized" and describe(again.value).status_code == 409
    with unit_of_work(trial.engine, "stat") as session:
        (listed,) = allocation_lists.allocation_lists(session, statistician, trial.protocol)
        assert [s["subject_id"] for s in listed["slots"] if s["subject_id"]] == [subject_id]
    with unit_of_work(trial.engine, None, write=False) as session:
        exports = session.scalars(select(AuditRecord).where(AuditRecord.action == "export")).all()
        assert [(e.table_name, e.record_id, e.username) for e in exports] == [
            ("randomization_lists", SCR, "stat")
        ]
